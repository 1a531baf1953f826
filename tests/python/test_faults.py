"""The fault matrix: what the warehouse does with damaged or unusual input.

Every case runs dbt on a COPY of small demo data (tmp_path) with the fault put
in, and asserts on the exact message or audit / quarantine row it produces: a
clear error naming the file or column and what to do, or a row in
``audit.load_audit`` / ``audit.source_reconciliation`` with the reason; never a
silent drop and never a hang (every dbt run has a timeout, every test a
pytest-timeout).

=============================  =====================================================
fault                          outcome asserted
=============================  =====================================================
corrupt parquet file           build fails: DuckDB "No magic bytes found at end of
                               file '<file>'" + BUTTER advice (re-download / move)
truncated file                 same, for the truncated file
column missing (first file)    staging compile error naming folder and column
column missing (later file)    DuckDB "schema mismatch ... column "val_loss" ...
                               could not be found in file "<file>"" + BUTTER advice
S3 endpoint never answers      each request fails after BUTTER_HTTP_TIMEOUT (2 s):
                               "IO Error: Timeout was reached ... <endpoint>"
sweep folder missing           build OK; log line; audit row 0 files + note
empty folder                   build OK; log line; audit row 0 files + note
extra column                   build OK; audit note names column and file
float64 arrays                 build OK; staging warning + audit note (cast on read)
spellings mixed by folder      build OK; same marts; copies agree across spellings
run_id in two folders, values  build OK (warn); the differing copy is quarantined
  differ                       with its reason; source_reconciliation row
NULL partition value           build OK (warn); audit counts and names it; the
                               differing copy quarantined
(no fault)                     clean demo: every row accounted for, no note
=============================  =====================================================

Faults that stop the build are put in four different folders of one copy and
found by one dbt run over those folders' staging models and their data tests
(dbt runs every node it can, so each fault gives its own message on its own
node); the S3 case has its own run. Faults the build survives are put into one
other copy, each in its own folder so none can mask another, and checked on one
full ``dbt build``: the 2-core CI budget does not allow a build per case.

``BUTTER:`` advice lines come from the on-run-end hook
``butter_report_failures`` (macros/audit/butter_failure_report.sql). Damaged
rows (NULL keys, NULL or short arrays) are not build-stopping faults: they are
quarantined (tests/python/test_quarantine.py).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from butter_warehouse import contract
from butter_warehouse.contract import SUMMARY_FOLDERS

from conftest import DbtResult, run_dbt
from s3_emulator import dead_s3_endpoint

pytestmark = [pytest.mark.slow]

#: the smallest demo with every sweep and trap (~87 experiments, 171 runs, 10 epochs)
SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}
DBT_TIMEOUT = 240  # seconds for one dbt command; far above what these need

# --- helpers -----------------------------------------------------------------------------


def parquet_files(root: Path, folder: str) -> list[Path]:
    """Data files of a folder, in the order DuckDB's glob lists them (sorted)."""
    return sorted((root / folder).rglob("*.parquet"))


def read_file(path: Path) -> pa.Table:
    """One parquet file as written (no hive columns from its path)."""
    return pq.ParquetFile(path).read()


def rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(read_file(path)), path)


def folder_rows(root: Path, folder: str) -> int:
    """Rows of a folder's parquet files, from their footers (pyarrow)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in parquet_files(root, folder))


def copy_demo(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def audit(db_path: Path) -> dict[str, dict]:
    """``audit.load_audit`` as {folder: {column: value}}."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute("select * from audit.load_audit")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def query(db_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def butter_lines(result: DbtResult) -> list[str]:
    """The ``BUTTER:`` lines of a dbt run (log prefix removed)."""
    return [line[line.index("BUTTER"):] for line in result.output.splitlines() if "BUTTER" in line]


def run_select(root: Path | str, workdir: Path, *args: str, extra_env: dict | None = None) -> DbtResult:
    return run_dbt(list(args), data_root=root, workdir=workdir, extra_env=extra_env, timeout=DBT_TIMEOUT)


@pytest.fixture(scope="module")
def published(demo_root: Callable[..., Path]) -> Path:
    return demo_root("published", **SIZES)


@pytest.fixture(scope="module")
def framework(demo_root: Callable[..., Path]) -> Path:
    return demo_root("framework", **SIZES)


# --- no fault: the clean demo build -------------------------------------------------------------


@pytest.mark.timeout(600)
def test_clean_demo_build_audit_reconciles(built_warehouse: Callable[[str], DbtResult], demo_root: Callable[..., Path]) -> None:
    """The default demo, built once for the session: every folder read, every row accounted for."""
    result = built_warehouse("published")
    root = demo_root("published")
    assert re.search(r"PASS load_audit__counts_reconcile ", result.output), result
    rows = audit(result.db_path)
    assert len(rows) == len(contract.FOLDERS)  # one row per folder of the contract, present or not
    for folder, row in rows.items():
        if folder not in contract.LAYOUT_FOLDERS["template"]:  # the current release's: not in this root
            assert (row["files_read"], row["rows_read"], row["rows_published"]) == (0, 0, 0), row
            continue
        files = parquet_files(root, folder)
        # counted from the footers, and checked here with pyarrow
        assert (row["files_read"], row["rows_read"]) == (len(files), folder_rows(root, folder)) != (0, 0), row
        assert row["rows_read"] == row["rows_in_staging"], row
        assert row["rows_in_staging"] == row["rows_published"] + row["rows_duplicate_of_other_folder"], row
        assert (row["rows_quarantined"], row["quarantine_reasons"], row["rows_unaccounted"]) == (0, None, 0), row
        assert (row["files_unread"], row["rows_null_partition"], row["note"]) == (0, 0, None), row
        # the all-sweeps folders are read, every sweep folder holds copies of them
        if folder in ("all_runs", "complete_summary"):
            assert row["rows_published"] == row["rows_read"], row
        else:
            assert row["rows_duplicate_of_other_folder"] == row["rows_read"], row
    runs, experiments = query(
        result.db_path,
        "select (select count(*) from marts.run_best_epochs), "
        "(select count(*) from marts.experiment_summary where has_published_summary)",
    )[0]
    assert (runs, experiments) == (rows["all_runs"]["rows_published"], rows["complete_summary"]["rows_published"])


# --- faults that stop the build ---------------------------------------------------------------
#
# Four faults in four folders of ONE copy, one dbt run over those folders' staging
# models (and their data tests, which scan the files): dbt runs every node it can,
# so each fault produces its own message on its own node.

CORRUPT_FOLDER = "complete_summary"
TRUNCATED_FOLDER = "primary_sweep_summary"
MISSING_IN_FIRST_FOLDER = "batch_size_sweep_runs"
MISSING_IN_LATER_FOLDER = "primary_sweep_runs"


@pytest.fixture(scope="module")
def unreadable(published: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, DbtResult]:
    root = copy_demo(published, tmp_path_factory.mktemp("h6-unreadable") / "data")
    facts: dict = {"root": root}

    # not parquet at all (same size), and an interrupted download (first half only)
    bad = facts["corrupt"] = parquet_files(root, CORRUPT_FOLDER)[-1]
    bad.write_bytes(b"this is not parquet\n" * (bad.stat().st_size // 20 + 1))
    bad = facts["truncated"] = parquet_files(root, TRUNCATED_FOLDER)[-1]
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])

    # `seed` missing from the first file (whose schema staging reads) ...
    rewrite(parquet_files(root, MISSING_IN_FIRST_FOLDER)[0], lambda t: t.drop_columns(["seed"]))
    # ... and `val_loss` missing from the last file only (found when the data is scanned)
    files = parquet_files(root, MISSING_IN_LATER_FOLDER)
    facts["missing_first"], facts["missing_bad"] = files[0], files[-1]
    rewrite(files[-1], lambda t: t.drop_columns(["val_loss"]))

    models = [f"stg_butter__{folder}" for folder in (
        CORRUPT_FOLDER, TRUNCATED_FOLDER, MISSING_IN_FIRST_FOLDER, MISSING_IN_LATER_FOLDER)]
    result = run_select(root, root.parent / "work", "build", "--select", *models)
    return facts, result


def folder_error(result: DbtResult, root: Path, folder: str) -> str:
    """The compile error staging raises for a folder the file inventory found errors in."""
    start = result.output.find(f"BUTTER folder '{root}/{folder}/' cannot be read as published (")
    assert start >= 0, result
    return result.output[start:start + 4000]


@pytest.mark.timeout(300)
def test_corrupt_file_stops_the_build_naming_the_file(unreadable: tuple[dict, DbtResult]) -> None:
    """Found by the inventory scan (footer read once), before any model reads the folder."""
    facts, result = unreadable
    assert not result.ok, result
    error = folder_error(result, facts["root"], CORRUPT_FOLDER)
    assert f"'{facts['corrupt']}' is not a readable parquet file (" in error, error
    assert "Download that file again, or move it out of the data root to build without it." in error, error


@pytest.mark.timeout(300)
def test_truncated_file_stops_the_build_naming_the_file(unreadable: tuple[dict, DbtResult]) -> None:
    facts, result = unreadable
    error = folder_error(result, facts["root"], TRUNCATED_FOLDER)
    assert f"'{facts['truncated']}' is not a readable parquet file (" in error, error


@pytest.mark.timeout(300)
def test_missing_column_in_first_file_stops_the_build_naming_the_file(unreadable: tuple[dict, DbtResult]) -> None:
    """`seed` missing from the first file of a folder (whose schema DuckDB would take)."""
    facts, result = unreadable
    first = parquet_files(facts["root"], MISSING_IN_FIRST_FOLDER)[0]
    error = folder_error(result, facts["root"], MISSING_IN_FIRST_FOLDER)
    assert (
        f"column 'seed' (or 'seed') is missing from 1 file(s) of '{facts['root']}/{MISSING_IN_FIRST_FOLDER}', "
        f"e.g. '{first}', although the other files have it: the folder mixes exports of different schemas."
    ) in error, error


@pytest.mark.timeout(300)
def test_column_missing_from_one_file_stops_the_build_naming_file_and_column(
    unreadable: tuple[dict, DbtResult]
) -> None:
    facts, result = unreadable
    error = folder_error(result, facts["root"], MISSING_IN_LATER_FOLDER)
    assert (
        f"column 'val_loss' (or 'test_loss') is missing from 1 file(s) of '{facts['root']}/{MISSING_IN_LATER_FOLDER}', "
        f"e.g. '{facts['missing_bad']}'"
    ) in error, error


@pytest.mark.timeout(240)
def test_unanswering_s3_endpoint_fails_in_bounded_time(tmp_path: Path) -> None:
    """A socket that accepts connections and never answers: each request times out after 2 s."""
    with dead_s3_endpoint("silent", http_timeout=2, http_retries=0) as s3:
        started = time.monotonic()
        result = run_dbt(
            ["build", "--select", "stg_butter__all_runs", "stg_butter__complete_summary"],
            data_root=s3.data_root, workdir=tmp_path / "work", extra_env=s3.env, timeout=150,
        )
        elapsed = time.monotonic() - started
    assert not result.ok, result
    assert elapsed < 150  # a hang guard (dbt's own start-up takes most of it on a loaded machine)
    # the inventory scan lists the folders first (pyarrow, same timeout) and stops the run
    assert (
        f"the data root '{s3.data_root}' could not be listed (When listing objects under key "
        f"'{s3.prefix}/all_runs/' in bucket '{s3.bucket}'"
    ) in result.output, result
    assert "Timeout was reached" in result.output, result
    assert "BUTTER_HTTP_TIMEOUT / BUTTER_HTTP_RETRIES bound how long each request waits." in result.output, result


# --- faults the build survives: one copy, one full build ------------------------------------
#
# Each fault in its own folder, so that none can mask another.


MISSING_FOLDER = "regularization_sweep_runs"
EMPTY_FOLDER = "30k_epoch_sweep_summary"
EXTRA_COLUMN_FOLDER = "primary_sweep_runs"
RETYPED_FOLDER = "learning_rate_sweep_runs"
DUPLICATE_FOLDER = "label_noise_sweep_runs"
NULL_PARTITION_FOLDER = "batch_size_sweep_summary"
FRAMEWORK_FOLDERS = ["all_runs", "complete_summary"]


@pytest.fixture(scope="module")
def survivable(
    published: Path, framework: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict, DbtResult]:
    base = tmp_path_factory.mktemp("h6-survivable")
    root = copy_demo(published, base / "data")
    facts: dict = {"rows": {folder: folder_rows(published, folder) for folder in ("all_runs", "complete_summary")}}

    # mixed spellings: the two all-sweeps folders in the framework spelling (test_loss,
    # kernel_regularizer_type, ...), every sweep folder in the published one
    for folder in FRAMEWORK_FOLDERS:
        shutil.rmtree(root / folder)
        shutil.copytree(framework / folder, root / folder)

    # a sweep folder missing, and one present with only its _common_metadata
    facts["missing_rows"] = folder_rows(root, MISSING_FOLDER)
    shutil.rmtree(root / MISSING_FOLDER)
    for path in parquet_files(root, EMPTY_FOLDER):
        path.unlink()
    assert (root / EMPTY_FOLDER / "_common_metadata").exists()

    # an extra column in the last file of a folder (DuckDB's glob schema comes from the first)
    extra_file = parquet_files(root, EXTRA_COLUMN_FOLDER)[-1]
    rewrite(extra_file, lambda t: t.append_column("extra_note", pa.array(["re-export"] * t.num_rows)))
    facts["extra_file"] = extra_file

    # float64 arrays (a re-export with other types) in every file of a folder
    def to_float64(table: pa.Table) -> pa.Table:
        for name in ("val_loss", "loss"):
            index = table.schema.get_field_index(name)
            table = table.set_column(index, name, table[name].cast(pa.list_(pa.float64())))
        return table

    retyped = parquet_files(root, RETYPED_FOLDER)
    for path in retyped:
        rewrite(path, to_float64)
    facts["retyped_files"] = retyped

    # a run_id in two folders with different values: its copy in a sweep folder gets another seed
    dup_file = parquet_files(root, DUPLICATE_FOLDER)[-1]
    table = read_file(dup_file)
    facts["duplicate_run_id"] = table["run_id"][0].as_py()
    facts["duplicate_file"] = dup_file
    seeds = table["seed"].to_pylist()
    facts["duplicate_seed"] = seeds[0]
    seeds[0] += 1_000_000
    rewrite(dup_file, lambda t: t.set_column(t.schema.get_field_index("seed"), "seed", pa.array(seeds, pa.int64())))

    # a NULL partition value where BUTTER has none: one leaf of a summary folder under depth=NULL
    leaf = next(p.parent for p in parquet_files(root, NULL_PARTITION_FOLDER) if p.parent.name.startswith("depth="))
    null_leaf = leaf.with_name("depth=__HIVE_DEFAULT_PARTITION__")
    leaf.rename(null_leaf)
    facts["null_partition_file"] = next(null_leaf.glob("*.parquet"))
    facts["null_partition_experiments"] = read_file(facts["null_partition_file"])["experiment_id"].to_pylist()

    # a file of all_runs downloaded twice: the same runs in a second file of the same leaf
    original = parquet_files(root, "all_runs")[0]
    twice = original.with_name("part-0 (1).parquet")
    shutil.copy(original, twice)
    facts["twice"] = (original, twice, read_file(original)["run_id"].to_pylist())

    # complete_summary gives experiments another learning_rate (partition folder) than their runs:
    # (a) experiments whose sweep-folder copies agree with the runs, (b) experiments with no other copy
    holders: dict[int, set[str]] = {}
    for folder in SUMMARY_FOLDERS:
        for path in parquet_files(root, folder):
            for eid in read_file(path)["experiment_id"].to_pylist():
                holders.setdefault(eid, set()).add(folder)
    with_runs = {e for path in parquet_files(root, "all_runs") for e in read_file(path)["experiment_id"].to_pylist()}
    leaves: dict[str, list] = {"agreeing_copy": [], "only_copy": []}
    for path in parquet_files(root, "complete_summary"):
        eids = read_file(path)["experiment_id"].to_pylist()
        others = [holders[e] - {"complete_summary"} for e in eids]
        if "learning_rate=0.1/" in str(path) or not set(eids) <= with_runs:
            continue
        # (sweep copies outside the folders other cases check, so each case stays on its own)
        avoid = {NULL_PARTITION_FOLDER, "primary_sweep_summary", "learning_rate_sweep_summary"}
        if all(o and not o & avoid for o in others) and not leaves["agreeing_copy"]:
            leaves["agreeing_copy"] = [path, {e: sorted(o)[0] for e, o in zip(eids, others, strict=True)}]
        elif all(not o for o in others) and not leaves["only_copy"]:
            leaves["only_copy"] = [path, {e: None for e in eids}]
    for case, (path, eids) in leaves.items():
        moved = Path(re.sub(r"learning_rate=[^/]+/", "learning_rate=0.1/", str(path)))
        moved.parent.mkdir(parents=True)
        path.rename(moved)
        facts[case] = (moved, eids)

    result = run_dbt(["build"], data_root=root, workdir=base / "work", timeout=DBT_TIMEOUT + 120)
    return root, facts, result


@pytest.mark.timeout(480)
def test_survivable_faults_build_and_reconcile(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, _, result = survivable
    assert result.ok, result
    assert re.search(r"Done\. PASS=\d+ WARN=\d+ ERROR=0 SKIP=0 ", result.output), result
    assert re.search(r"PASS load_audit__counts_reconcile ", result.output), result
    assert re.search(r"PASS load_audit__runs_cover_run_best_epochs ", result.output), result
    assert re.search(r"PASS load_audit__summaries_cover_experiment_summary ", result.output), result
    rows = audit(result.db_path)
    assert len(rows) == len(contract.FOLDERS)  # one row per folder of the contract, present or not
    for row in rows.values():
        assert row["rows_read"] == row["rows_in_staging"], row
        assert row["rows_in_staging"] == (
            row["rows_published"] + row["rows_duplicate_of_other_folder"] + row["rows_quarantined"]
        ), row
        assert row["rows_unaccounted"] == 0, row


@pytest.mark.timeout(480)
def test_missing_sweep_folder_is_skipped_and_audited(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = survivable
    assert facts["missing_rows"] > 0
    assert (
        f"BUTTER: no parquet files under '{root}/{MISSING_FOLDER}/': folder '{MISSING_FOLDER}' is skipped "
        f"and stg_butter__{MISSING_FOLDER} is empty. Download the folder or point butter_data_root / "
        "BUTTER_DATA_ROOT at the data root that holds it."
    ) in result.output, result
    row = audit(result.db_path)[MISSING_FOLDER]
    assert (row["files_read"], row["rows_read"], row["rows_in_staging"]) == (0, 0, 0)
    assert row["note"] == (
        f"folder absent: no file under {root}/{MISSING_FOLDER}/, so it was skipped and its staging view is "
        "empty; download it or point BUTTER_DATA_ROOT at a data root that holds it"
    )
    # its runs are all in all_runs, so the marts lose nothing
    runs = query(result.db_path, "select count(*) from marts.run_best_epochs")[0][0]
    assert runs == facts["rows"]["all_runs"]


@pytest.mark.timeout(480)
def test_empty_folder_is_skipped_and_audited(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, _, result = survivable
    assert f"BUTTER: no parquet files under '{root}/{EMPTY_FOLDER}/'" in result.output, result
    row = audit(result.db_path)[EMPTY_FOLDER]
    assert (row["files_read"], row["rows_read"], row["rows_in_staging"]) == (0, 0, 0)
    assert row["note"] == (
        "folder holds no parquet data file (only 1 other file(s), e.g. _common_metadata), so it was "
        "skipped and its staging view is empty; download its data files"
    )


@pytest.mark.timeout(480)
def test_extra_column_is_reported_and_not_staged(survivable: tuple[Path, dict, DbtResult]) -> None:
    _, facts, result = survivable
    row = audit(result.db_path)[EXTRA_COLUMN_FOLDER]
    assert row["note"] == (
        f"column extra_note is outside the BUTTER schema and not staged (1 file(s), e.g. {facts['extra_file']})"
    )
    assert row["rows_quarantined"] == 0 and row["rows_read"] == row["rows_in_staging"] > 0
    columns = [r[0] for r in query(result.db_path, f"describe staging.stg_butter__{EXTRA_COLUMN_FOLDER}")]
    assert "extra_note" not in columns


@pytest.mark.timeout(480)
def test_retyped_arrays_are_cast_and_reported(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = survivable
    files = facts["retyped_files"]
    # staging (which reads the first file's schema) warns ...
    assert (
        f"BUTTER warning: '{root}/{RETYPED_FOLDER}/' column 'val_loss' is double[], expected float[]; "
        "values are cast to float[]."
    ) in result.output, result
    # ... and the audit reports the inventory's finding (every file stores the same other type)
    row = audit(result.db_path)[RETYPED_FOLDER]
    assert row["note"] == (
        f"column loss is stored as list<double>, expected list<float>: values are cast on read ({len(files)} "
        f"file(s), e.g. {files[0]}); column val_loss is stored as list<double>, expected list<float>: values "
        f"are cast on read ({len(files)} file(s), e.g. {files[0]})"
    )
    # cast, not dropped: every row is a duplicate of its all_runs copy
    assert row["rows_duplicate_of_other_folder"] == row["rows_read"] > 0
    types = dict(query(result.db_path, f"select column_name, data_type from information_schema.columns "
                                        f"where table_name = 'stg_butter__{RETYPED_FOLDER}'"))
    assert types["test_loss"] == "FLOAT[]"


@pytest.mark.timeout(480)
def test_mixed_spellings_build_the_same_marts(survivable: tuple[Path, dict, DbtResult]) -> None:
    _, facts, result = survivable
    rows = audit(result.db_path)
    expected = facts["rows"]
    # framework-spelled all-sweeps folders published, published-spelled sweep copies agree with them
    # (but for the complete_summary copies that disagree with their runs while a sweep copy agrees)
    assert rows["all_runs"]["rows_published"] == expected["all_runs"]
    disagreeing = len(facts["agreeing_copy"][1])
    assert rows["complete_summary"]["rows_published"] == expected["complete_summary"] - disagreeing
    for folder in ["primary_sweep_runs", "300_epoch_sweep_runs", "primary_sweep_summary", "learning_rate_sweep_summary"]:
        assert rows[folder]["rows_duplicate_of_other_folder"] == rows[folder]["rows_read"] > 0, rows[folder]
    runs, experiments = query(
        result.db_path,
        "select (select count(*) from marts.run_best_epochs), "
        "(select count(*) from marts.experiment_summary where has_published_summary)",
    )[0]
    assert (runs, experiments) == (expected["all_runs"], expected["complete_summary"])


@pytest.mark.timeout(480)
def test_run_duplicated_with_different_values_is_quarantined(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = survivable
    run_id = facts["duplicate_run_id"]
    row = audit(result.db_path)[DUPLICATE_FOLDER]
    assert row["rows_quarantined"] == 1, row
    assert row["quarantine_reasons"] == (
        "differs from the copy read from all_runs, which is published instead (see "
        "audit.source_reconciliation): 1 row(s)"
    )
    [(difference, detail)] = query(
        result.db_path,
        f"select difference, detail from audit.source_reconciliation where entity_id = '{run_id}'",
    )
    assert difference == "run_copies_disagree"
    assert detail.startswith(
        f"copies in all_runs, {DUPLICATE_FOLDER} differ in experiment, hyperparameters, flags, seed or times; "
        f"read from all_runs: {root}/all_runs/"
    ), detail
    assert detail.endswith(f", differing: {DUPLICATE_FOLDER}: {facts['duplicate_file']}"), detail
    # the all_runs copy (original seed) is the one published
    assert query(result.db_path, f"select count(*) from marts.run_best_epochs where run_id = '{run_id}'") == [(1,)]
    assert query(
        result.db_path, f"select seed, source_folder from intermediate.int_runs_deduplicated where run_id = '{run_id}'"
    ) == [(facts["duplicate_seed"], "all_runs")]


@pytest.mark.timeout(480)
def test_null_partition_value_is_reported_not_dropped(survivable: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = survivable
    rows = audit(result.db_path)
    row = rows[NULL_PARTITION_FOLDER]
    n = len(facts["null_partition_experiments"])
    assert row["rows_null_partition"] == n > 0
    assert row["note"] == (
        f"rows with a NULL partition value (__HIVE_DEFAULT_PARTITION__ or the text NULL) in depth: {n}, "
        f"e.g. {facts['null_partition_file']}"
    )
    # the NULL-depth copy disagrees with the runs (and complete_summary): quarantined, the good copy published
    assert row["rows_quarantined"] == n
    assert row["quarantine_reasons"] == (
        "hyperparameters differ from the experiment's runs (the runs win; the copy read from complete_summary "
        f"is published; see audit.source_reconciliation): {n} row(s)"
    )
    assert re.search(r"WARN \d+ load_audit__no_unexpected_null_partition", result.output), result
    # the legitimate NULL partition (unregularized: kernel_regularizer.type) is neither flagged nor dropped
    assert rows["all_runs"]["rows_null_partition"] == 0
    unregularized = query(
        result.db_path, "select count(*) from staging.stg_butter__all_runs where kernel_regularizer_type is null"
    )[0][0]
    on_disk = sum(
        pq.ParquetFile(f).metadata.num_rows
        for f in parquet_files(root, "all_runs")
        if "kernel_regularizer_type=__HIVE_DEFAULT_PARTITION__" in str(f)
    )
    assert unregularized == on_disk > 0


@pytest.mark.timeout(480)
def test_run_twice_in_one_folder_is_read_once_and_quarantined(survivable: tuple[Path, dict, DbtResult]) -> None:
    """A re-downloaded file: both files named, one copy read, the other quarantined."""
    _, facts, result = survivable
    original, twice, run_ids = facts["twice"]
    row = audit(result.db_path)["all_runs"]
    assert row["rows_quarantined"] == len(run_ids) > 0, row
    assert (
        "a second copy in the same folder (another file holds the same run_id; both files are named in "
        f"audit.source_reconciliation): {len(run_ids)} row(s)"
    ) in row["quarantine_reasons"], row
    found = query(
        result.db_path,
        "select entity_id, detail from audit.source_reconciliation "
        "where difference = 'run_duplicated_within_folder' order by entity_id",
    )
    assert [r[0] for r in found] == sorted(run_ids)
    for _, detail in found:
        assert f"all_runs: {twice}" in detail and f"all_runs: {original}" in detail, detail
    counts = query(result.db_path, "select run_id, count(*) from marts.run_best_epochs "
                                   f"where run_id in ({', '.join(repr(r) for r in run_ids)}) group by run_id")
    assert sorted(counts) == sorted((r, 1) for r in run_ids)


@pytest.mark.timeout(480)
def test_summary_disagreeing_with_runs_loses_to_an_agreeing_copy(survivable: tuple[Path, dict, DbtResult]) -> None:
    """complete_summary says learning_rate 0.1, the runs and a sweep copy say otherwise: the runs win."""
    _, facts, result = survivable
    moved, read_from = facts["agreeing_copy"]
    for eid, folder in read_from.items():
        assert query(
            result.db_path,
            "select detail from audit.source_reconciliation "
            f"where difference = 'experiment_summary_disagrees_with_runs' and experiment_id = {eid}",
        ) == [(
            f"hyperparameters in complete_summary differ from the experiment's runs; the agreeing copy in "
            f"{folder} is published, the others are quarantined",
        )]
        published, runs = query(
            result.db_path,
            # the mart holds the published decimal as DOUBLE, the runs the float32: compare as float32
            f"select (select cast(learning_rate as float) from marts.experiment_summary where experiment_id = {eid}), "
            f"(select min(learning_rate) from intermediate.int_runs_deduplicated where experiment_id = {eid})",
        )[0]
        assert published == runs != 0.1
    reasons = audit(result.db_path)["complete_summary"]["quarantine_reasons"]
    for folder in set(read_from.values()):
        n = sum(1 for f in read_from.values() if f == folder)
        assert (
            f"hyperparameters differ from the experiment's runs (the runs win; the copy read from {folder} is "
            f"published; see audit.source_reconciliation): {n} row(s)"
        ) in reasons, reasons


@pytest.mark.timeout(480)
def test_summary_disagreeing_with_runs_without_other_copy_is_reported(
    survivable: tuple[Path, dict, DbtResult]
) -> None:
    """Only complete_summary holds the experiment: it is published, and the difference reported."""
    _, facts, result = survivable
    _, eids = facts["only_copy"]
    found = query(
        result.db_path,
        "select experiment_id, detail from audit.source_reconciliation "
        f"where difference = 'experiment_summary_disagrees_with_runs' and experiment_id in ({', '.join(map(str, eids))})",
    )
    assert sorted(found) == sorted(
        (eid, "hyperparameters in complete_summary differ from the experiment's runs; no summary copy agrees, "
              "so complete_summary is published as is")
        for eid in eids
    )
    assert re.search(r"WARN \d+ source_reconciliation__summaries_agree_with_runs", result.output), result
