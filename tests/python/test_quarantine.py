"""The fault matrix, part 3 (issue 16): data shaped like NREL's export builds, damaged rows are quarantined.

A copy of the small demo is rewritten the way the real export looks and breaks:
every NaN element of every per-epoch array becomes a NULL element (NREL's
summaries and runs hold NULL elements), and single rows are damaged, each in a
known folder and file. It is built with the real command (``butter build``),
and every build is compared with another build of the same data.

======================================  ===============================================================
case                                    outcome asserted
======================================  ===============================================================
NULL elements instead of NaN            the marts equal those of the NaN data, row for row
short array, one copy of a run          that row quarantined; the run published from its sweep copy
NULL array / empty array, every copy    every copy quarantined; the run is in no mart
NULL run_id in one sweep copy           that row quarantined; the run published from all_runs
summary array too long, every copy      quarantined; the experiment has no published summary
NULL experiment_id, complete_summary    that row quarantined; the summary read from a sweep copy
epochs = 0, arrays empty, every copy    quarantined ("epochs is 0"); the run is in no mart
every damaged row                       a *_damaged row of audit.source_reconciliation naming folder,
                                        file and finding; load_audit.rows_damaged per folder equals
                                        the rows damaged here; the counts reconcile; one summary line
damaged share above the limit           refused naming the folder and both counts; the published
                                        warehouse byte-for-byte unchanged
builds on one checkout                 data root A, then B as a partial download (a sweep's folders
                                        missing, a file in an older version, one file more), B as it
                                        is (another limit), A: each build's test statuses (severities),
                                        audit and marts equal a fresh build's
the decode store across those builds    a build decodes the files the store lacks: all of a new root;
                                        for B completed, the added folders and the rewritten file only
                                        (the removed file's rows leave the store); for A again, none
a store an older project left           the first build starts on one (another decode version, a column
                                        fewer per table): its rows leave, its columns are the project's
--dbt-arg --vars with other vars        one --vars merged with the limit; a different limit refused
1% in dbt_project.yml                   one line naming the file (issue 29)
29 of 100 rows at 0.29 (also .57 .58)   within the limit, in the summary line and the dbt test
======================================  ===============================================================
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from butter_warehouse import project, quarantine
from butter_warehouse.settings import decode_store_beside

from conftest import PROJECT_ROOT

pytestmark = [pytest.mark.slow]

SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}
BUILD_TIMEOUT = 600
#: the limit the damaged data is built with: its small sweep folders hold few rows
LIMIT = "0.5"


# --- running butter ------------------------------------------------------------------------


def butter_build(root: Path, warehouse: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update({
        "BUTTER_DATA_ROOT": str(root),
        "BUTTER_DUCKDB_PATH": str(warehouse),
        "BUTTER_PROJECT_DIR": str(PROJECT_ROOT),
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    })
    return subprocess.run(
        [sys.executable, "-m", "butter_warehouse.cli", "build", "--skip-docs", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )


def text(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def statuses(target: Path) -> dict[str, str]:
    """Every node's status in the last dbt run of a target folder, by node name."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {nodes[r["unique_id"]]["name"]: r["status"] for r in results if r["unique_id"] in nodes}


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def differing_rows(a: Path, b: Path, table: str, where: str = "true", exclude: tuple[str, ...] = ()) -> int:
    """Rows of ``table`` in one warehouse and not the other, both ways (NaN equals NaN)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = 'a' "
            "and table_schema || '.' || table_name = ? order by ordinal_position", [table]).fetchall()
            if c not in exclude]
        select = ", ".join(f'"{c}"' for c in columns)
        return sum(con.execute(
            f"select count(*) from (select {select} from {x}.{table} where {where} "
            f"except all select {select} from {y}.{table} where {where})").fetchall()[0][0]
            for x, y in (("a", "b"), ("b", "a")))


def store_columns(store: Path, model: str) -> list[tuple[str, str]]:
    """(name, type) of each column of a decode store's table."""
    return query(store, "select column_name, data_type from information_schema.columns where table_schema = 'store' "
                        "and table_name = ?", [model])


def decoded(work: Path) -> dict[str, str]:
    """{folder: condition on source_file} of the last build's store models, as dbt ran them:
    ``true`` (every file of the folder), ``false`` (none) or ``source_file in (...)``."""
    found: dict[str, str] = {}
    for model in ("store_run_copies", "store_experiment_copies"):
        sql = (work / "target" / "compiled" / "butter" / "models" / "store" / f"{model}.sql").read_text()
        legs = re.findall(r"'([a-z0-9_]+)' as source_folder,[^;]*?\n\s*from stg_\w+\n\s*where (.*)\n", sql)
        assert legs, model
        found.update(legs)
    return found


def mart_tables(db: Path) -> list[str]:
    return [f"marts.{t}" for (t,) in query(
        db, "select table_name from information_schema.tables where table_schema = 'marts' order by 1")]


# --- rewriting the data the way the real export looks -------------------------------------


def parquet_files(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).rglob("*.parquet"))


def nan_to_null(root: Path) -> int:
    """Every NaN element of every float array -> a NULL element; returns how many."""
    changed = 0
    for path in sorted(root.rglob("*.parquet")):
        table = pq.ParquetFile(path).read()
        touched = False
        for i, column in enumerate(table.schema):
            if not (pa.types.is_list(column.type) and pa.types.is_floating(column.type.value_type)):
                continue
            array = table.column(i).combine_chunks()
            nan = pc.fill_null(pc.is_nan(array.values), False)
            count = pc.sum(nan).as_py() or 0
            if count:
                values = pc.if_else(nan, pa.scalar(None, array.values.type), array.values)
                table = table.set_column(i, column, pa.ListArray.from_arrays(array.offsets, values, mask=array.is_null()))
                changed, touched = changed + count, True
        if touched:
            pq.write_table(table, path)
    return changed


def set_value(path: Path, key: str, key_value: object, column: str, change: Callable[[Any], Any]) -> None:
    """Rewrite one row's ``column`` (the row whose ``key`` is ``key_value``)."""
    table = pq.ParquetFile(path).read()
    values = table[column].to_pylist()
    keys = table[key].to_pylist()
    assert keys.count(key_value) == 1, (path, key_value)
    row = keys.index(key_value)
    values[row] = change(values[row])
    index = table.schema.get_field_index(column)
    field_ = table.schema.field(column)
    pq.write_table(table.set_column(index, field_, pa.array(values, field_.type)), path)


def zero_epochs(path: Path, run_id: str, epochs: int) -> Path:
    """Move one run out of ``path`` into an ``epochs=0`` partition folder beside it, every per-epoch
    array empty (an experiment that trained nothing); the new file."""
    table = pq.ParquetFile(path).read()
    is_run = pc.equal(table["run_id"], run_id)
    row = table.filter(is_run)
    for i, column in enumerate(row.schema):
        if pa.types.is_list(column.type) and column.name != "widths":
            row = row.set_column(i, column, pa.array([[]], column.type))
        elif column.name == "epochs":
            row = row.set_column(i, column, pa.array([0], column.type))
    folder = Path(*["epochs=0" if p == f"epochs={epochs}" else p for p in path.parent.parts])
    assert folder != path.parent, path
    target = folder / "part-zero.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(row, target)
    pq.write_table(table.filter(pc.invert(is_run)), path)
    return target


def copies(root: Path, kind: str, key: str) -> dict[Any, list[tuple[str, Path]]]:
    """Every copy (folder, file) of every key (a run_id text, an experiment_id number) in the runs or
    summary folders."""
    found: dict[Any, list[tuple[str, Path]]] = {}
    suffix = "_runs" if kind == "runs" else "_summary"
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name.endswith(suffix))
    for folder in folders:
        for path in parquet_files(root, folder):
            for value in pq.ParquetFile(path).read(columns=[key])[key].to_pylist():
                found.setdefault(value, []).append((folder, path))
    return found


@dataclass
class Damage:
    """What was damaged where, counted here from the rewrites (not from the warehouse)."""

    root: Path
    null_elements: int = 0
    rows_damaged: Counter = field(default_factory=Counter)  # folder -> damaged rows
    findings: list[tuple[str, Path, str]] = field(default_factory=list)  # folder, file, finding
    runs: dict[str, str] = field(default_factory=dict)  # role -> run_id
    experiments: dict[str, int] = field(default_factory=dict)  # role -> experiment_id

    def hit(self, folder: str, path: Path, finding: str) -> None:
        self.rows_damaged[folder] += 1
        self.findings.append((folder, path, finding))


def damage(root: Path) -> Damage:
    facts = Damage(root, null_elements=nan_to_null(root))
    epochs = SIZES["epochs"]
    run_copies = copies(root, "runs", "run_id")
    # runs held in all_runs and at least one sweep folder, at the base epoch count
    base_epochs = sorted(r for r, c in run_copies.items()
                         if c[0][0] == "all_runs" and len(c) > 1 and all(f"/epochs={epochs}/" in str(f) for _, f in c))
    run_a, run_b, run_c, run_d = base_epochs[0], base_epochs[3], base_epochs[6], base_epochs[9]
    run_z = base_epochs[12]
    facts.runs = {"short_in_all_runs": run_a, "null_array_everywhere": run_b, "empty_array_everywhere": run_c,
                  "null_id_in_sweep": run_d, "zero_epochs_everywhere": run_z}

    folder, path = run_copies[run_a][0]
    set_value(path, "run_id", run_a, "val_loss", lambda v: v[:-1])
    facts.hit(folder, path, f"test_loss has {epochs - 1} values for {epochs} epochs")
    for folder, path in run_copies[run_b]:
        set_value(path, "run_id", run_b, "loss", lambda v: None)
        facts.hit(folder, path, "train_loss is NULL")
    for folder, path in run_copies[run_c]:
        set_value(path, "run_id", run_c, "val_accuracy", lambda v: [])
        facts.hit(folder, path, f"test_accuracy has 0 values for {epochs} epochs")
    folder, path = run_copies[run_d][1]
    set_value(path, "run_id", run_d, "run_id", lambda v: None)
    facts.hit(folder, path, "run_id is NULL")
    for folder, path in run_copies[run_z]:  # issue 29: trained for 0 epochs, every array empty
        facts.hit(folder, zero_epochs(path, run_z, epochs), "epochs is 0")

    summary_copies = copies(root, "summary", "experiment_id")
    shared = sorted(e for e, c in summary_copies.items()
                    if c[0][0] == "complete_summary" and len(c) > 1 and all(f"/epochs={epochs}/" in str(f) for _, f in c))
    experiment_e, experiment_f = shared[0], shared[2]
    facts.experiments = {"long_array_everywhere": experiment_e, "null_id_in_complete_summary": experiment_f}
    for folder, path in summary_copies[experiment_e]:
        set_value(path, "experiment_id", experiment_e, "test_loss_median", lambda v: [*v, 0.5])
        facts.hit(folder, path, f"test_loss_median has {epochs + 1} values for {epochs} epochs")
    folder, path = summary_copies[experiment_f][0]
    set_value(path, "experiment_id", experiment_f, "experiment_id", lambda v: None)
    facts.hit(folder, path, "experiment_id is NULL")
    return facts


# --- the builds ------------------------------------------------------------------------------


@dataclass
class Build:
    proc: subprocess.CompletedProcess[str]
    warehouse: Path  # a copy of the published file right after this build
    status: dict[str, str]
    decoded: dict[str, str]  # what the decode store decoded: decoded(work)
    store: Path  # the decode store it left (a copy)


def build_once(root: Path, published: Path, work: Path, snapshot: Path, *args: str) -> Build:
    proc = butter_build(root, published, work, *args)
    assert proc.returncode == 0, text(proc)[-6000:]
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(published, snapshot)
    store = decode_store_beside(snapshot)
    shutil.copy(decode_store_beside(published), store)
    return Build(proc, snapshot, statuses(work / "target"), decoded(work), store)


@dataclass
class Changes:
    """Root B as a partial download before it was complete: one sweep's folders not there yet
    (``added``), one file in an older version (``rewritten``: a sweep copy of ``run_id`` with twice
    its test loss) and one file more (``removed``: a second copy of a file in its folder)."""

    root: Path
    held: Path
    added: tuple[str, ...]
    rewritten: Path
    run_id: str
    removed: Path
    current_bytes: bytes = b""

    def make(self) -> None:
        self.held.mkdir()
        for folder in self.added:
            shutil.move(self.root / folder, self.held / folder)
        self.current_bytes = self.rewritten.read_bytes()
        set_value(self.rewritten, "run_id", self.run_id, "val_loss", lambda v: [None if x is None else x * 2 for x in v])
        shutil.copy(self.removed.with_name("part-0.parquet"), self.removed)

    def undo(self) -> None:
        """B as it is: the folders added, the file rewritten, the extra file removed."""
        for folder in self.added:
            shutil.move(self.held / folder, self.root / folder)
        self.rewritten.write_bytes(self.current_bytes)
        self.removed.unlink()


def query_file(sql: str) -> tuple:
    row = duckdb.sql(sql).fetchone()
    assert row is not None, sql
    return row


def changes_of(root: Path, held: Path) -> Changes:
    rewritten = next(p for p in parquet_files(root, "learning_rate_sweep_runs") if p.name == "part-0.parquet")
    (run_id,) = query_file(f"select min(run_id) from read_parquet('{rewritten}') where run_id is not null")
    copied = next(p for p in parquet_files(root, "batch_size_sweep_runs") if p.name == "part-0.parquet")
    return Changes(root, held, ("label_noise_sweep_runs", "label_noise_sweep_summary"), rewritten, str(run_id),
                   copied.with_name("part-extra.parquet"))


@pytest.fixture(scope="module")
def roots(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Damage]:
    clean = demo_root("published", **SIZES)
    damaged = tmp_path_factory.mktemp("quarantine") / "data"
    shutil.copytree(clean, damaged)
    return clean, damage(damaged)


@pytest.fixture(scope="module")
def fresh_damaged(roots: tuple[Path, Damage], tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The damaged data built on its own (a fresh target, as from a fresh clone)."""
    work = tmp_path_factory.mktemp("fresh-damaged")
    return build_once(roots[1].root, work / "w" / "butter.duckdb", work, work / "snap.duckdb",
                      "--quarantine-limit", LIMIT)


@dataclass
class Switching:
    first: Build  # root A
    partial: Build  # root B before it was complete (Changes)
    second: Build  # root B as it is, another limit: only the changes are decoded
    third: Build  # root A again: nothing is decoded
    changes: Changes
    store: Path


#: the decode version of the rows an older project left in the store (as_an_older_project)
OLDER_DECODE = "an older project"


def as_an_older_project(store: Path) -> None:
    """The decode store as an older version of the project left it: every row made by another decode,
    and a column fewer in each table (one this project computes), so that the next build both changes
    the tables' columns and deletes those rows, in one transaction per table."""
    with duckdb.connect(str(store)) as con:
        for table, column in (("store_run_copies", "last_train_loss"), ("store_experiment_copies", "learning_curve")):
            con.execute(f"alter table store.{table} drop column {column}")
            con.execute(f"update store.{table} set decode_version = ?", [OLDER_DECODE])


@pytest.fixture(scope="module")
def switching(roots: tuple[Path, Damage], fresh_damaged: Build,
              tmp_path_factory: pytest.TempPathFactory) -> Switching:
    """Four builds of one warehouse with one target folder: root A, on the decode store of B's fresh
    build as an older project left it; B as a partial download, with one file in an older version
    and one file more; B as it is (both with another limit); A."""
    clean, facts = roots
    work = tmp_path_factory.mktemp("switching")
    published = work / "w" / "butter.duckdb"
    published.parent.mkdir()
    store = decode_store_beside(published)
    shutil.copy(fresh_damaged.store, store)
    as_an_older_project(store)
    first = build_once(clean, published, work, work / "snap-1.duckdb")
    changes = changes_of(facts.root, work / "held")
    changes.make()
    try:
        # what the sequence needs of it is the decode store it leaves: models only (no data tests)
        partial = build_once(facts.root, published, work, work / "snap-partial.duckdb", "--quarantine-limit", LIMIT,
                             "--dbt-arg=--exclude", "--dbt-arg=resource_type:test", "--dbt-arg=resource_type:unit_test")
    finally:
        changes.undo()
    second = build_once(facts.root, published, work, work / "snap-2.duckdb", "--quarantine-limit", LIMIT)
    third = build_once(clean, published, work, work / "snap-3.duckdb")
    return Switching(first, partial, second, third, changes, store)


# --- NULL elements are data ------------------------------------------------------------------


@pytest.mark.timeout(1800)
def test_null_elements_build_the_same_marts_as_nan(roots: tuple[Path, Damage], switching: Switching,
                                                  fresh_damaged: Build) -> None:
    _, facts = roots
    assert facts.null_elements > 0
    clean, damaged = switching.first.warehouse, fresh_damaged.warehouse
    gone = [facts.runs["null_array_everywhere"], facts.runs["empty_array_everywhere"],
            facts.runs["zero_epochs_everywhere"]]
    touched = [e for (e,) in query(damaged, "select distinct experiment_id from audit.source_reconciliation "
                                            "where difference in ('run_damaged', 'experiment_damaged') "
                                            "and experiment_id is not null")]
    assert facts.experiments["long_array_everywhere"] in touched
    quoted = ", ".join(f"'{r}'" for r in gone)
    assert differing_rows(clean, damaged, "marts.run_best_epochs", f"run_id not in ({quoted})") == 0
    experiments = ", ".join(str(e) for e in touched)
    for table in ("marts.experiment_summary", "marts.experiment_best_epochs", "marts.experiment_learning_curves"):
        assert differing_rows(clean, damaged, table, f"experiment_id not in ({experiments})") == 0, table


# --- damaged rows ------------------------------------------------------------------------------


@pytest.mark.timeout(900)
def test_every_damaged_row_is_quarantined_with_its_file_and_reason(roots: tuple[Path, Damage],
                                                                   fresh_damaged: Build) -> None:
    _, facts = roots
    details = [d for (d,) in query(fresh_damaged.warehouse, "select detail from audit.source_reconciliation "
                                                             "where difference in ('run_damaged', 'experiment_damaged')")]
    expected = [f"{folder}: {path}: {finding} (quarantined)" for folder, path, finding in facts.findings]
    assert sorted(details) == sorted(expected)


@pytest.mark.timeout(900)
def test_damaged_rows_are_counted_per_folder_and_reconcile(roots: tuple[Path, Damage], fresh_damaged: Build) -> None:
    _, facts = roots
    audit = {folder: (damaged, quarantined, unaccounted, read, staged, published, duplicate)
             for folder, damaged, quarantined, unaccounted, read, staged, published, duplicate in query(
                 fresh_damaged.warehouse,
                 "select source_folder, rows_damaged, rows_quarantined, rows_unaccounted, rows_read, "
                 "rows_in_staging, rows_published, rows_duplicate_of_other_folder from audit.load_audit")}
    assert {f: a[0] for f, a in audit.items() if a[0]} == dict(facts.rows_damaged)
    for folder, (damaged, quarantined, unaccounted, read, staged, published, duplicate) in audit.items():
        assert damaged <= quarantined and unaccounted == 0, folder
        assert read == staged == published + duplicate + quarantined, folder
    assert fresh_damaged.status["load_audit__counts_reconcile"] == "pass"
    assert fresh_damaged.status["load_audit__quarantine_within_limit"] == "pass"
    total = sum(facts.rows_damaged.values())
    assert f"quarantined {total} damaged row(s) (" in text(fresh_damaged.proc)


@pytest.mark.timeout(900)
def test_damaged_copies_give_way_to_sound_ones(roots: tuple[Path, Damage], fresh_damaged: Build) -> None:
    _, facts = roots
    db = fresh_damaged.warehouse
    runs = {r for (r,) in query(db, "select run_id from marts.run_best_epochs")}
    assert facts.runs["short_in_all_runs"] in runs  # read from its sweep copy
    assert facts.runs["null_id_in_sweep"] in runs  # read from all_runs
    assert facts.runs["null_array_everywhere"] not in runs
    assert facts.runs["empty_array_everywhere"] not in runs
    assert facts.runs["zero_epochs_everywhere"] not in runs  # issue 29: epochs = 0 is damage
    located = dict(query(db, "select run_id, read_from_folder from intermediate.int_runs_located where run_id = ?",
                         [facts.runs["short_in_all_runs"]]))
    assert located[facts.runs["short_in_all_runs"]] != "all_runs"
    summaries = dict(query(db, "select experiment_id, has_published_summary from marts.experiment_summary"))
    assert summaries[facts.experiments["long_array_everywhere"]] is False
    assert summaries[facts.experiments["null_id_in_complete_summary"]] is True


@pytest.mark.timeout(900)
def test_damaged_share_above_the_limit_is_refused(roots: tuple[Path, Damage], switching: Switching,
                                                  tmp_path: Path) -> None:
    """The default limit (1% of a folder's rows): the small sweep folders are far above it."""
    _, facts = roots
    published = tmp_path / "w" / "butter.duckdb"
    published.parent.mkdir()
    shutil.copy(switching.first.warehouse, published)
    before = published.read_bytes()
    proc = butter_build(facts.root, published, tmp_path)
    out = text(proc)
    assert proc.returncode != 0, out
    read = dict(query(switching.second.warehouse, "select source_folder, rows_read from audit.load_audit"))
    limit = quarantine.default_limit(project.read_config(PROJECT_ROOT))
    over = [f for f, n in facts.rows_damaged.items() if n > limit * read[f]]
    assert over
    for folder in over:
        assert (f"refused: {facts.rows_damaged[folder]} of the {read[folder]} rows of {folder} are damaged, more "
                f"than the quarantine limit") in out, out
    # the failure report of the test names it too (on-run-end hook)
    assert "BUTTER: test load_audit__quarantine_within_limit failed: " in out, out
    assert "Traceback" not in out
    assert published.read_bytes() == before
    assert not list(published.parent.glob(".build-*"))


def test_quarantine_limit_must_be_a_share(tmp_path: Path) -> None:
    proc = butter_build(tmp_path / "nowhere", tmp_path / "w.duckdb", tmp_path, "--quarantine-limit", "5%")
    assert proc.returncode == 2
    assert "--quarantine-limit must be a number between 0 and 1, not '5%'" in text(proc)
    assert not (tmp_path / "w.duckdb").exists()


# --- every build behaves like a fresh one --------------------------------------------------------


@pytest.mark.timeout(1800)
def test_builds_switching_data_roots_and_vars_equal_fresh_builds(switching: Switching, fresh_damaged: Build) -> None:
    first, second, third = switching.first, switching.second, switching.third
    # the test whose severity a reused parse lost (warn in tests/_tests.yml)
    assert first.status["assert_summary_aggregates_all_runs_present"] == "warn"
    for build, fresh in ((second, fresh_damaged), (third, first)):
        assert build.status == fresh.status
        for table in mart_tables(fresh.warehouse):
            assert differing_rows(build.warehouse, fresh.warehouse, table) == 0, table
        assert differing_rows(build.warehouse, fresh.warehouse, "audit.load_audit",
                              exclude=("audited_at", "invocation_id")) == 0
        assert differing_rows(build.warehouse, fresh.warehouse, "audit.source_reconciliation") == 0


@pytest.mark.timeout(1800)
def test_a_build_decodes_only_what_changed_and_equals_a_fresh_build(switching: Switching,
                                                                   fresh_damaged: Build) -> None:
    """The decode store (macros/store/butter_store.sql): each file decoded once per identity."""
    changes = switching.changes
    # a first build of a root decodes every file of every folder present (one of a fresh warehouse too)
    assert set(switching.first.decoded.values()) == set(fresh_damaged.decoded.values()) == {"true"}
    assert set(switching.partial.decoded) == set(switching.second.decoded) - set(changes.added)
    assert set(switching.partial.decoded.values()) == {"true"}
    # B completed: the added folders whole and the rewritten file alone; the removed one leaves the store
    expected = {folder: "true" for folder in changes.added}
    expected["learning_rate_sweep_runs"] = f"source_file in ('{changes.rewritten}')"
    assert switching.second.decoded == {f: expected.get(f, "false") for f in switching.second.decoded}
    with duckdb.connect(str(switching.store), read_only=True) as con:
        assert con.execute("select count(*) from store.store_run_copies where source_file = ?",
                           [str(changes.removed)]).fetchone() == (0,)
        for model in ("store_run_copies", "store_experiment_copies"):  # one decode version per folder
            assert con.execute(f"select count(*) from (select source_folder from store.{model} group by "
                               "source_folder having count(distinct decode_version) > 1)").fetchone() == (0,), model
    # back on root A every file was in the store: nothing is decoded again
    assert set(switching.third.decoded.values()) == {"false"}
    # the older project's rows (B's) left the store in A's first build, and its columns are the project's
    for model in ("store_run_copies", "store_experiment_copies"):
        assert query(switching.first.store, f"select count(*) filter (where decode_version = ?), count(*) filter "
                     f"(where starts_with(source_file, ?)) from store.{model}",
                     [OLDER_DECODE, f"{changes.root}/"]) == [(0, 0)], model
        # (a column the older store lacked is added last)
        assert sorted(store_columns(switching.first.store, model)) == sorted(store_columns(fresh_damaged.store, model))
    # the older version was read, and so was the current one (the marts equal a fresh build's: above)
    disagrees = "select has_disagreeing_copies from intermediate.int_runs_located where run_id = ?"
    assert query(switching.partial.warehouse, disagrees, [changes.run_id]) == [(True,)]
    assert query(switching.second.warehouse, disagrees, [changes.run_id]) == \
        query(fresh_damaged.warehouse, disagrees, [changes.run_id])
    for table in ("intermediate.int_run_copies_unioned", "intermediate.int_experiment_copies_unioned",
                  "intermediate.int_runs_located", "intermediate.int_experiments_located"):
        assert differing_rows(switching.second.warehouse, fresh_damaged.warehouse, table,
                              exclude=("file_identity",)) == 0, table


# --- issue 29: settings that cannot disagree; the limit compared exactly -------------------------------


def test_dbt_arg_vars_are_merged_with_the_limit_or_refused() -> None:
    config = project.read_config(PROJECT_ROOT)
    default = quarantine.default_limit(config)
    var = quarantine.VAR
    assert quarantine.build_arguments(None, ("--fail-fast",), config) == (default, ("--fail-fast",))
    limit, args = quarantine.build_arguments(0.2, ("--vars", "{other: 1}", "--fail-fast"), config)
    assert limit == 0.2 and args[0] == "--vars" and args[2:] == ("--fail-fast",)
    assert json.loads(args[1]) == {"other": 1, var: 0.2}  # one --vars: dbt keeps only the last
    limit, args = quarantine.build_arguments(None, (f"--vars={{{var}: 0.3, other: x}}",), config)
    assert limit == 0.3 and json.loads(args[1]) == {var: 0.3, "other": "x"}
    assert quarantine.build_arguments(0.3, ("--vars", f"{{{var}: 0.3}}"), config)[0] == 0.3
    for given, message in [
        ((0.2, ("--vars", f"{{{var}: 0.3}}")), f"--quarantine-limit 0.2 and --dbt-arg --vars {var}: 0.3 disagree"),
        ((None, ("--vars", f"{{{var}: 5%}}")), f"--dbt-arg --vars {var} must be a number between 0 and 1, not '5%'"),
        ((None, ("--vars", "[1, 2]")), "--dbt-arg --vars '[1, 2]' is not a YAML mapping"),
        ((None, ("--vars",)), "--dbt-arg --vars needs its value"),
    ]:
        with pytest.raises(quarantine.LimitError) as refused:
            quarantine.build_arguments(*given, config)
        assert message in str(refused.value)


def test_limit_in_dbt_project_yml_is_validated_there() -> None:
    config = {"vars": {quarantine.VAR: "1%"}}
    with pytest.raises(quarantine.LimitError, match=rf"vars\.{quarantine.VAR} in dbt_project.yml must be a number "
                                                    r"between 0 and 1, not '1%'"):
        quarantine.default_limit(config)


@pytest.mark.parametrize(("damaged", "read", "limit", "over"), [
    (29, 100, 0.29, False), (30, 100, 0.29, True), (57, 100, 0.57, False), (58, 100, 0.58, False),
    (59, 100, 0.58, True), (1, 100, 0.01, False), (0, 0, 0.0, False), (1, 1, 0.0, True),
])
def test_limit_is_compared_exactly_in_python_and_in_the_dbt_test(damaged: int, read: int, limit: float,
                                                                  over: bool) -> None:
    """0.29 x 100 is 28.999999999999996 as a double: 29 damaged rows of 100 are within 0.29, in the
    summary line and in the dbt test's comparison (its expression rendered and run in DuckDB)."""
    import re

    import jinja2

    assert quarantine.over_limit(damaged, read, limit) is over
    macro = (PROJECT_ROOT / "macros" / "tests" / "butter_quarantine_within_limit.sql").read_text()
    where = re.search(r"where (rows_damaged > .*)\n", macro)
    assert where is not None
    sql = jinja2.Environment().from_string(where.group(1)).render(limit=limit)
    assert duckdb.sql(f"select {sql} from (select {damaged} as rows_damaged, {read} as rows_read)").fetchone() == \
        (over,)
