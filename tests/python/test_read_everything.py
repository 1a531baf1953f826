"""Read every column and every file that is there (issue 16, fault-matrix style).

One copy of small demo data with four faults, each in its own folder so that
none can mask another, checked on one full ``dbt build``. Every expected
value is computed here from the files with pyarrow, never copied from the
warehouse.

=====================================  ==============================================
fault                                  outcome asserted
=====================================  ==============================================
q1/q3 arrays missing from the FIRST    read where present: staged test_loss_q1 equals
  file of complete_summary (framework  the file's values for every other file, NULL
  spelling)                            for the first file's rows only
partition column stored in files with  the folder's value is used; every row whose
  another value (depth, dataset)       file value differs is a row of
                                       audit.source_reconciliation naming the file;
                                       load_audit's note names the file
parquet files named part-1.PARQUET     read: their rows are staged, published in the
  and 000001_0                         marts, and counted by load_audit; a text file
                                       stays an "other file"
shape=NULL (the text, not the          read as NULL and counted in rows_null_partition;
  published __HIVE_DEFAULT_PARTITION__) the note names the spelling
=====================================  ==============================================
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_faults import SIZES, audit, copy_demo, folder_rows, parquet_files, query, read_file, rewrite

from butter_warehouse import contract, inventory
from butter_warehouse.contract import LAYOUT_FOLDERS

from conftest import DbtResult, run_dbt, write_in_spelling

pytestmark = [pytest.mark.slow]

Q_FOLDER = "complete_summary"  # framework spelling: the only one with *_q1 / *_q3
DEPTH_FOLDER = "primary_sweep_runs"
DATASET_FOLDER = "learning_rate_sweep_summary"
UPPER_NAME_FOLDER = "all_runs"
HIVE_NAME_FOLDER = "label_noise_sweep_summary"
NULL_TEXT_FOLDER = "batch_size_sweep_runs"


def data_files(root: Path, folder: str) -> list[Path]:
    """Every parquet data file of a folder by its bytes, whatever its name (metadata names excluded)."""
    found = []
    for path in sorted((root / folder).rglob("*")):
        if path.is_file() and not path.name.startswith(("_", ".")):
            data = path.read_bytes()
            if len(data) >= 12 and data[:4] == b"PAR1" and data[-4:] == b"PAR1":
                found.append(path)
    return found


def partition_value(path: Path, key: str) -> str:
    return next(part.split("=", 1)[1] for part in path.parts if part.startswith(f"{key}="))


def quartile_arrays(table: pa.Table) -> list[str]:
    """The per-epoch quartile arrays of a summary file (``*_q1`` / ``*_q3`` lists; not NREL's
    best-point quartiles, which are numbers)."""
    return [field.name for field in table.schema
            if field.name.endswith(("_q1", "_q3")) and pa.types.is_list(field.type)]


def make_everything(demo_root: Callable[..., Path], base: Path) -> tuple[Path, dict, DbtResult]:
    """The faults root (the module docstring's table) and its ``dbt build``; conftest's session
    fixture ``everything`` calls it once: these tests and the Spark equality test (published
    spelling, built on Spark from a zstd copy of this root) share the root and the build."""
    # NREL's encoding (Brotli) like the rest of the demo; the files rewritten below are pyarrow's
    # default (snappy). The Spark build lands a zstd copy (its bundled Hadoop has no Brotli codec).
    # Both layouts in one root, written from the same demo so that every copy agrees: the current
    # release's folders (all_repetitions/, complete_summary/ and the optimizer sweep in its
    # spelling, the executive summary) and the template's others written from them in the
    # published spelling (all_runs/ and the per-sweep runs folders from all_repetitions/, the
    # per-sweep summaries rewritten): the one Spark build that covers the faults reads both.
    current = demo_root("current", **SIZES)
    root = copy_demo(current, base / "data")
    facts: dict = {}
    runs = current / "all_repetitions"
    for folder in LAYOUT_FOLDERS["template"]:
        if contract.folder_kind(folder) == "runs":
            write_in_spelling(runs, root / folder, "published", contract.folder_sweep(folder))
        elif folder != Q_FOLDER:
            shutil.rmtree(root / folder)
            write_in_spelling(current / folder, root / folder, "published")

    # (1) complete_summary in the framework spelling (the current release's), its FIRST file (whose
    # schema a plain glob read takes) without any *_q1 / *_q3 array; the executive summary's file
    # of the same experiments without its test-loss quartiles too, so that the copies agree
    first = parquet_files(root, Q_FOLDER)[0]
    executive = root / contract.EXECUTIVE_FOLDER / first.relative_to(root / Q_FOLDER)
    for path in (first, executive):
        rewrite(path, lambda t: t.drop_columns(quartile_arrays(t)))
    facts["q_first"] = first

    # (2) partition columns also stored in files: depth in one runs file (one row off by one),
    # dataset in one summary file (every row another dataset)
    path = parquet_files(root, DEPTH_FOLDER)[-1]
    depth = int(partition_value(path, "depth"))
    rows = read_file(path).num_rows
    rewrite(path, lambda t: t.append_column("depth", pa.array([depth + 1] + [depth] * (rows - 1), pa.uint8())))
    facts["depth_file"] = path
    path = parquet_files(root, DATASET_FOLDER)[0]
    rewrite(path, lambda t: t.append_column("dataset", pa.array(["not_" + partition_value(path, "dataset")]
                                                                 * t.num_rows)))
    facts["dataset_file"] = path

    # (3) parquet files with other names: upper-case suffix, Hive-style name; and a text file
    path = parquet_files(root, UPPER_NAME_FOLDER)[-1]
    facts["upper_file"] = path.rename(path.with_name("part-1.PARQUET"))
    path = parquet_files(root, HIVE_NAME_FOLDER)[-1]
    facts["hive_file"] = path.rename(path.with_name("000001_0"))
    (facts["upper_file"].parent / "README.txt").write_text("not data\n")

    # (4) a shape folder spelled NULL (not the published __HIVE_DEFAULT_PARTITION__)
    shape_dir = next(p for p in parquet_files(root, NULL_TEXT_FOLDER)[0].parents if p.name.startswith("shape="))
    facts["null_dir"] = shape_dir.rename(shape_dir.with_name("shape=NULL"))

    result = run_dbt(["build"], data_root=root, workdir=base / "work", timeout=600)
    return root, facts, result


@pytest.mark.timeout(900)
def test_build_reconciles_every_file(everything: tuple[Path, dict, DbtResult]) -> None:
    root, _, result = everything
    assert result.ok, result
    rows = audit(result.db_path)
    for folder, row in rows.items():
        files = data_files(root, folder)
        rows_on_disk = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        # the audit's counts follow the files (by magic bytes), and every row of them is staged
        assert (row["files_read"], row["rows_read"]) == (len(files), rows_on_disk), row
        assert row["rows_in_staging"] == rows_on_disk, row
        assert row["files_unread"] == 0 and row["rows_unaccounted"] == 0, row


@pytest.mark.timeout(900)
def test_optional_columns_missing_from_the_first_file_are_read_where_present(
    everything: tuple[Path, dict, DbtResult]
) -> None:
    root, facts, result = everything
    staged = {
        (eid, file): (q1, q3)
        for eid, file, q1, q3 in query(
            result.db_path,
            f"select experiment_id, source_file, test_loss_q1, train_accuracy_q3 from staging.stg_butter__{Q_FOLDER}",
        )
    }
    present = 0
    for path in parquet_files(root, Q_FOLDER):
        table = read_file(path)
        for i, eid in enumerate(table["experiment_id"].to_pylist()):
            q1, q3 = staged[(eid, str(path))]
            if path == facts["q_first"]:
                assert (q1, q3) == (None, None)
                continue
            present += 1
            for got, name in ((q1, "test_loss_q1"), (q3, "train_accuracy_q3")):
                expected = table[name][i].as_py()
                np.testing.assert_array_equal(
                    np.array(got, dtype=np.float32), np.array(expected, dtype=np.float32), err_msg=f"{path} {eid}"
                )
    assert present > 0
    # the audit note says which columns some files lack (as the scan found them)
    files = parquet_files(root, Q_FOLDER)
    dropped = set(quartile_arrays(read_file(files[1])))
    note = audit(result.db_path)[Q_FOLDER]["note"]
    start = note.index("optional column(s) ") + len("optional column(s) ")
    assert set(note[start:note.index(" missing from ", start)].split(", ")) == dropped, note
    assert (
        f" missing from 1 file(s), e.g. {facts['q_first']}, and stored in the other {len(files) - 1}: read where "
        "stored, NULL in the rows of the file(s) without them"
    ) in note, note
    # ... and they reach the intermediate layer the marts read (the published copy is complete_summary's)
    first_ids = set(read_file(facts["q_first"])["experiment_id"].to_pylist())
    published = query(
        result.db_path,
        "select experiment_id, test_loss_q1 is not null from intermediate.int_experiments_deduplicated "
        f"where experiment_id in ({', '.join(str(e) for e, _ in staged)})",
    )
    assert sorted(published) == sorted((e, e not in first_ids) for e, _ in staged)


@pytest.mark.timeout(900)
def test_partition_value_stored_in_file_that_differs_is_reported_with_the_file(
    everything: tuple[Path, dict, DbtResult]
) -> None:
    root, facts, result = everything
    for folder, path, column, key in (
        (DEPTH_FOLDER, facts["depth_file"], "depth", "run_id"),
        (DATASET_FOLDER, facts["dataset_file"], "dataset", "experiment_id"),
    ):
        table = read_file(path)
        folder_value = partition_value(path, column)
        differing = sorted(
            str(entity) for entity, stored in zip(table[key].to_pylist(), table[column].to_pylist(), strict=True)
            if str(stored) != folder_value
        )
        assert differing, path
        found = query(
            result.db_path,
            "select entity_id, detail from audit.source_reconciliation "
            f"where difference = 'partition_value_differs_from_file' and detail like '%{path}%' order by entity_id",
        )
        assert [r[0] for r in found] == differing
        for _, detail in found:
            assert detail.startswith(f"file {path} stores {column} = ") and (
                f" but its partition folder says {column}={folder_value}; the folder's value is used" in detail
            ), detail
        # the folder wins in staging: every row of the file has the folder's value
        values = query(
            result.db_path,
            f"select distinct cast({column} as varchar) from staging.stg_butter__{folder} where source_file = '{path}'",
        )
        assert values == [(folder_value,)]
        note = audit(result.db_path)[folder]["note"]
        assert (
            f"column {column} is stored in 1 file(s) with another value than their partition folder in "
            f"{len(differing)} row(s), e.g. '{path}'"
        ) in note, note
        assert audit(result.db_path)[folder]["rows_quarantined"] == 0
    assert "WARN" in result.output and "source_reconciliation__partitions_agree_with_files" in result.output


@pytest.mark.timeout(900)
def test_parquet_files_with_other_names_are_read_into_the_marts(everything: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = everything
    runs = read_file(facts["upper_file"])["run_id"].to_pylist()
    published = query(
        result.db_path,
        "select run_id, source_file from intermediate.int_runs_deduplicated "
        f"where run_id in ({', '.join(repr(r) for r in runs)})",
    )
    assert sorted(published) == sorted((r, str(facts["upper_file"])) for r in runs)
    in_mart = query(result.db_path, "select count(*) from marts.run_best_epochs "
                                    f"where run_id in ({', '.join(repr(r) for r in runs)})")[0][0]
    assert in_mart == len(runs) > 0
    assert audit(result.db_path)[UPPER_NAME_FOLDER]["rows_published"] == folder_rows(root, UPPER_NAME_FOLDER) + len(runs)

    experiments = read_file(facts["hive_file"])["experiment_id"].to_pylist()
    staged = query(result.db_path, f"select experiment_id from staging.stg_butter__{HIVE_NAME_FOLDER} "
                                   f"where source_file = '{facts['hive_file']}'")
    assert sorted(r[0] for r in staged) == sorted(experiments) and experiments
    row = audit(result.db_path)[HIVE_NAME_FOLDER]
    assert row["rows_duplicate_of_other_folder"] == row["rows_read"]

    # the scan: the renamed files are data, the text file and _common_metadata are not
    inv = inventory.scan(str(root))
    paths = {f.path for f in inv.files}
    assert {str(facts["upper_file"]), str(facts["hive_file"])} <= paths
    other = sum(1 for p in (root / UPPER_NAME_FOLDER).rglob("*") if p.is_file()) - len(data_files(root, UPPER_NAME_FOLDER))
    assert inv.folders[UPPER_NAME_FOLDER].other_files == other == 2  # README.txt, _common_metadata


@pytest.mark.timeout(900)
def test_null_text_partition_is_read_as_null_and_counted(everything: tuple[Path, dict, DbtResult]) -> None:
    root, facts, result = everything
    under = [f for f in data_files(root, NULL_TEXT_FOLDER) if facts["null_dir"] in f.parents]
    n = sum(pq.ParquetFile(f).metadata.num_rows for f in under)
    assert n > 0
    staged = query(result.db_path, f"select count(*) from staging.stg_butter__{NULL_TEXT_FOLDER} where shape is null")
    assert staged == [(n,)]
    row = audit(result.db_path)[NULL_TEXT_FOLDER]
    assert row["rows_null_partition"] == n
    leaves = len({f.parent for f in under})
    assert f"partition value shape=NULL in {leaves} folder(s), e.g. '{facts['null_dir']}/" in row["note"], row["note"]
    assert (
        f"rows with a NULL partition value (__HIVE_DEFAULT_PARTITION__ or the text NULL) in shape: {n}, e.g. "
    ) in row["note"], row["note"]
    # the copies disagree with all_runs (shape NULL): quarantined, the all_runs copy published
    assert row["rows_quarantined"] == n


@pytest.mark.timeout(120)
@pytest.mark.parametrize("where", ["local", "s3"])
def test_scan_classifies_files_by_their_bytes(tmp_path: Path, where: str) -> None:
    """Parquet by magic bytes whatever the name; metadata names and other bytes are other files
    (on S3 the magic bytes are read with two ranged reads)."""
    from s3_emulator import s3_emulator

    leaf = tmp_path / "data" / "all_runs" / "dataset=wine"
    leaf.mkdir(parents=True)
    table = pa.table({"run_id": ["a", "b"]})
    data = {"part-0.parquet": 2, "part-1.PARQUET": 2, "000001_0": 2}
    for name in data:
        pq.write_table(table, leaf / name)
    pq.write_table(table, leaf.parent / "_common_metadata")  # parquet bytes, metadata name
    (leaf / "000002_0").write_bytes(b"PAR1 looks like parquet at the start only")
    (leaf / "README.txt").write_text("not data\n")
    if where == "local":
        inv = inventory.scan(str(tmp_path / "data"), env={})
        prefix = str(tmp_path / "data")
    else:
        with s3_emulator(tmp_path / "data", bucket="butter-i16-read") as s3:
            inv = inventory.scan(s3.data_root, env=s3.env)
            prefix = s3.data_root
    found = {f.path.rsplit("/", 1)[-1]: f.rows for f in inv.files}
    assert found == data
    assert inv.folders["all_runs"].other_files == 3
    assert all(f.path.startswith(f"{prefix}/all_runs/dataset=wine/") for f in inv.files)
