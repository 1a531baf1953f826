"""The same warehouse on Spark: `butter build --target spark` and `--target spark_cluster`
equal the DuckDB build.

Two Spark builds (conftest's ``spark_build``), each compared with the DuckDB build of
the same data root, both encoded as NREL's export (Brotli, data page v2,
byte-stream-split), which Spark builds from the zstd copy ``butter build`` lands in
its cache first (Spark's Hadoop has no Brotli codec):

- session, in this process (``--target spark``, dbt-spark's session method): the
  warehouse, built on Spark once, from the faults root of test_read_everything: both
  layouts' folders written from one demo (the current release's all_repetitions/ with
  the Keras array names, complete_executive_summary/, the optimizer sweep, NREL's
  best-point columns; the template's all_runs/, per-sweep runs and summaries in the
  published spelling), every trap of the demo manifest, parquet files with other names,
  a text file in a partition folder, a partition folder spelled NULL, partition values
  stored in files, q1/q3 missing from one file; models, seeds, every unit test, every
  singular data test and one instance of each of the project's generic tests
  (conftest.spark_test_exclusions: the others, and dbt's built-in ones, run on DuckDB
  only; this comparison finds every Spark table equal to DuckDB's, which passes them);
- cluster, on a standalone cluster through its Thrift server (``butter spark-cluster``,
  then ``--target spark_cluster``, dbt-spark's thrift method): the default demo in the
  current release's layout, its staging views and seeds (conftest.CLUSTER_SELECTION:
  the sources registered through the endpoint, the executors reading the landed copy
  and writing the seed tables; the SQL above them is the session build's), read back
  through the endpoint as a BI tool would; the cluster is stopped with Ctrl-C, leaving
  no process behind.

The session build writes each table as parquet under ``<BUTTER_SPARK_WAREHOUSE>/<schema>.db/<table>/``;
those files are read back with DuckDB and every mart and audit table is compared
with DuckDB's by its key: same columns, same keys, integers / text / booleans
exactly (file paths with the landed copy's folder read as the data root's),
floats to 1e-6 relative.

Needs Java and pyspark (``make install-spark``). Without them the test is
skipped, saying which is missing, except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable

import duckdb
import pytest

from butter_warehouse import landing
from butter_warehouse.settings import Settings
from butter_warehouse.spark import UNREADABLE_CODECS

from conftest import PROJECT_ROOT, SparkBuild, cluster_relations

pytestmark = [pytest.mark.slow, pytest.mark.spark]

#: every table of the marts and audit schemas and the columns that key its rows;
#: a table missing here fails the test (a new mart must be compared too)
KEYS: dict[str, tuple[str, ...]] = {
    "marts.experiment_summary": ("experiment_id",),
    "marts.run_best_epochs": ("run_id",),
    "marts.experiment_best_epochs": ("experiment_id",),
    "marts.sweep_comparisons": ("sweep", "experiment_id"),
    "marts.experiment_learning_curves": ("experiment_id", "epoch"),
    "marts.metricflow_time_spine": ("date_day",),
    "audit.load_audit": ("source_folder",),
    "audit.source_reconciliation": ("entity", "entity_id", "experiment_id", "difference", "detail"),
    "audit.best_point_epoch_base": ("experiments_compared",),  # one row
}
REL_TOL = 1e-6
#: columns that describe the build itself (when, which dbt invocation): present on both, not compared
PER_BUILD = {"audit.load_audit": {"audited_at", "invocation_id"}}


def read_table(con: duckdb.DuckDBPyConnection, relation: str,
               paths: tuple[str, str] | None = None) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of a relation; ``paths`` = (landed folder, data root) rewrites the one
    into the other in every text value (where the Spark build read its files)."""
    cursor = con.execute(f"select * from {relation}")
    rows = cursor.fetchall()
    if paths is not None:
        rows = [tuple(replace_text(v, *paths) for v in row) for row in rows]
    return [d[0] for d in cursor.description], rows


def replace_text(value: object, old: str, new: str) -> object:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [replace_text(v, old, new) for v in value]
    if isinstance(value, tuple):
        return tuple(replace_text(v, old, new) for v in value)
    if isinstance(value, dict):
        return {k: replace_text(v, old, new) for k, v in value.items()}
    return value


def same_value(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


def compare(relation: str, duck: tuple[list[str], list[tuple]], spark: tuple[list[str], list[tuple]],
            skip: frozenset[str] = frozenset()) -> list[str]:
    """Differences between two versions of one table, keyed by KEYS[relation] (columns in
    ``skip`` and PER_BUILD are not compared)."""
    (duck_cols, duck_rows), (spark_cols, spark_rows) = duck, spark
    if sorted(duck_cols) != sorted(spark_cols):
        return [f"{relation}: columns differ: only DuckDB {sorted(set(duck_cols) - set(spark_cols))}, "
                f"only Spark {sorted(set(spark_cols) - set(duck_cols))}"]
    keys = KEYS[relation]

    def keyed(cols: list[str], rows: list[tuple]) -> dict[tuple, dict]:
        out: dict[tuple, dict] = {}
        for row in rows:
            record = dict(zip(cols, row, strict=True))
            key = tuple(record[k] for k in keys)
            assert key not in out, f"{relation}: key {key} twice"
            out[key] = record
        return out

    d, s = keyed(duck_cols, duck_rows), keyed(spark_cols, spark_rows)
    problems = [f"{relation}: key {k} only on DuckDB" for k in sorted(d.keys() - s.keys(), key=repr)]
    problems += [f"{relation}: key {k} only on Spark" for k in sorted(s.keys() - d.keys(), key=repr)]
    for key in sorted(d.keys() & s.keys(), key=repr):
        for col in duck_cols:
            if col in PER_BUILD.get(relation, set()) or col in skip:
                continue
            if not same_value(d[key][col], s[key][col]):
                problems.append(f"{relation} {key}: {col} DuckDB {d[key][col]!r} != Spark {s[key][col]!r}")
    return problems


# One class per build: pytest-xdist (`--dist loadscope`) runs each class on one worker,
# so the two Spark builds can run side by side.
class TestSessionBothLayouts:
    @pytest.mark.timeout(2400)  # the Spark build (conftest); ~720 s on a loaded machine
    def test_spark_marts_equal_duckdb(self, spark_build: Callable[[str], SparkBuild]) -> None:
        build = spark_build("session")
        # both layouts' folders are in the root, and Spark published rows from each spelling
        folders = {"all_runs", "all_repetitions", "complete_executive_summary", "optimizer_sweep_summary"}
        assert folders <= {p.name for p in build.root.iterdir()}
        # one dbt command registered the sources (its on-run-start hook) and built
        assert build.output.count("Running with dbt=") == 1, build.output[-3000:]
        assert folders <= set(re.findall(r"BUTTER: registering `butter`\.`(\w+)`", build.output)), build.output[-3000:]
        spark_marts_equal_duckdb(build)


class TestClusterCurrentLayout:
    @pytest.mark.timeout(1200)
    def test_the_endpoint_serves_what_the_cluster_built(self, spark_build: Callable[[str], SparkBuild]) -> None:
        """A reader of the Thrift endpoint (BI, beeline, PyHive) sees every staging view and seed
        the cluster built, with DuckDB's rows (every column but the lists; file paths of the
        landed copy read as the data root's)."""
        build = spark_build("cluster")
        assert build.cluster is not None
        relations = cluster_relations(build.duckdb)
        assert set(build.cluster.endpoint) == set(relations)
        landed = landing.cache_dir(str(build.root), PROJECT_ROOT, "zstd", Settings(s3_cache=str(build.workdir / "cache")))
        con = duckdb.connect(str(build.duckdb.db_path), read_only=True)
        try:
            problems = []
            for relation, columns in sorted(relations.items()):
                duck_rows = con.execute(f"select {', '.join(columns)} from {relation}").fetchall()
                spark_columns, spark_rows = build.cluster.endpoint[relation]
                assert spark_columns == columns, relation
                spark_rows = [tuple(replace_text(v, str(landed), str(build.root)) for v in row) for row in spark_rows]
                if len(spark_rows) != len(duck_rows):
                    problems.append(f"{relation}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} through the endpoint")
                    continue
                for duck_row, spark_row in zip(in_order(duck_rows), in_order(spark_rows), strict=True):
                    differing = [(column, d, s) for column, d, s in zip(columns, duck_row, spark_row, strict=True)
                                 if not same_value(d, s)]
                    if differing:
                        problems.append(f"{relation} {columns[0]} {duck_row[0]}: (column, DuckDB, Spark) {differing}")
                        break
        finally:
            con.close()
        assert any(build.cluster.endpoint[r][1] for r in relations if r.startswith("staging.")), "no staged rows"
        assert not problems, "\n".join(problems)

    def test_the_cluster_stops_with_ctrl_c_leaving_nothing(self, spark_build: Callable[[str], SparkBuild]) -> None:
        """`butter spark-cluster` stops master, worker, executors and Thrift server on Ctrl-C and
        says so; no process runs from its folder afterwards (conftest.processes_under, /proc)."""
        cluster = spark_build("cluster").cluster
        assert cluster is not None
        assert cluster.exit_code == 0, cluster.output[-3000:]
        assert "Spark cluster ready: master spark://127.0.0.1:" in cluster.output
        assert "nothing is left running" in cluster.output, cluster.output[-3000:]
        assert cluster.left_running == []
        logs = {path.name for path in (cluster.directory / "logs").iterdir()}
        assert logs == {"master.log", "worker.log", "thrift-server.log"}
        # the build ran on the cluster: the worker started an executor for the Thrift server,
        # and that executor (its log in the worker's work folder) ran the build's tasks
        assert "launch executor" in (cluster.directory / "logs" / "worker.log").read_text()
        executor_logs = list((cluster.directory / "work").glob("app-*/*/stderr"))
        assert executor_logs and any("Finished task" in log.read_text() for log in executor_logs)


def in_order(rows: list[tuple]) -> list[tuple]:
    """Rows with timestamps as naive UTC (the endpoint's), sorted by every value but the floats
    (those are compared to 1e-6 relative: a float arrives through the endpoint as text)."""
    def value(v: object) -> object:
        if isinstance(v, datetime.datetime) and v.tzinfo is not None:
            return v.astimezone(datetime.UTC).replace(tzinfo=None)
        return v
    normal = [tuple(value(v) for v in row) for row in rows]
    return sorted(normal, key=lambda row: tuple(repr(v) for v in row if not isinstance(v, float)))


def spark_marts_equal_duckdb(build: SparkBuild) -> None:
    """Every mart and audit table of a Spark build equals the DuckDB build of the same root."""
    # NREL's encoding (Brotli): DuckDB reads it as it is; Spark's bundled Hadoop has no
    # Brotli codec, so butter build lands a zstd copy and Spark builds from that.
    root, warehouse, output, duck_build = build.root, build.warehouse, build.output, build.duckdb
    assert landing.first_file_compressed_with(str(root), UNREADABLE_CODECS) is not None
    landed = landing.cache_dir(str(root), PROJECT_ROOT, "zstd", Settings(s3_cache=str(build.workdir / "cache")))
    assert f"landing {root} in {landed}" in output, output[-3000:]
    assert landing.first_file_compressed_with(str(landed), UNREADABLE_CODECS) is None

    con = duckdb.connect(str(duck_build.db_path), read_only=True)
    tables = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'audit') and table_type = 'BASE TABLE'"
        ).fetchall()
    }
    assert tables == set(KEYS), f"tables to compare differ from KEYS: {sorted(tables ^ set(KEYS))}"
    problems: list[str] = []
    spark_con = duckdb.connect()
    for relation in sorted(KEYS):
        schema, name = relation.split(".")
        folder = warehouse / f"{schema}.db" / name
        assert any(folder.glob("*.parquet")), f"Spark wrote no parquet for {relation} under {folder}"
        spark_rows = read_table(spark_con, f"read_parquet('{folder}/*.parquet')", paths=(str(landed), str(root)))
        duck_rows = read_table(con, relation)
        assert duck_rows[1], f"{relation} is empty on DuckDB: nothing would be compared"
        # Spark read the landed copy: each folder's note says so (the only expected difference)
        skip = frozenset({"note"}) if relation == "audit.load_audit" else frozenset()
        problems += compare(relation, duck_rows, spark_rows, skip)
        if skip:
            def notes_of(table: tuple[list[str], list[tuple]]) -> dict[str, str | None]:
                folder, note = table[0].index("source_folder"), table[0].index("note")
                return {row[folder]: row[note] for row in table[1]}

            notes, duck_notes = notes_of(spark_rows), notes_of(duck_rows)
            for source_folder, note in notes.items():
                duck_note = duck_notes[source_folder]
                if note == duck_note and (note is None or note.startswith("folder absent")):
                    continue  # an absent folder: no copy
                # Spark's note is DuckDB's with one more part: the folder is a landed copy
                assert note is not None, (source_folder, duck_note)
                parts = note.split("; ")
                copy = [part for part in parts if part.startswith(f"local copy of {root}/{source_folder} ")]
                assert len(copy) == 1, (source_folder, note)
                rest = "; ".join(part for part in parts if part not in copy)
                assert rest == (duck_note or ""), (source_folder, duck_note, note)
    assert not problems, f"{len(problems)} difference(s):\n" + "\n".join(problems[:60])


def test_compare_finds_differences() -> None:
    """The comparison itself: a float off by more than 1e-6 relative, a text or key change is found."""
    cols = ["sweep", "experiment_id", "loss", "label"]
    duck = (cols, [("lr", 1, 0.5, "a"), ("lr", 2, 1.0, "b")])
    assert compare("marts.sweep_comparisons", duck, (cols, [("lr", 1, 0.5 * (1 + 1e-7), "a"), ("lr", 2, 1.0, "b")])) == []
    assert compare("marts.sweep_comparisons", duck, (cols, [("lr", 1, 0.5 * (1 + 1e-5), "a"), ("lr", 2, 1.0, "b")]))
    assert compare("marts.sweep_comparisons", duck, (cols, [("lr", 1, 0.5, "a"), ("lr", 2, 1.0, "c")]))
    assert compare("marts.sweep_comparisons", duck, (cols, [("lr", 1, 0.5, "a"), ("lr", 3, 1.0, "b")]))
    assert compare("marts.sweep_comparisons", duck, (cols[:3], [("lr", 1, 0.5), ("lr", 2, 1.0)]))
