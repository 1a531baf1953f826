"""The fault matrix, part 4 (issue 17): a data root that changes, holds special files or glob characters.

======================================  ===============================================================
fault                                   outcome asserted
======================================  ===============================================================
file rewritten after the scan           not published: "the data root ... changed during the build",
  (NULL and zero elements, real dbt)      naming the file; the published warehouse unchanged
file added / removed after the scan     the same, naming the file as added / removed
FIFO named part-1.parquet               scan ends at once: error naming it, never opened; build refused
FIFO with another name                  a warning naming it; the scan goes on
{ } [ ] * ? in the data root path       refused before dbt, naming the path and the characters
scan records each file's identity       size:mtime_ns:inode of the file on disk
parquet file named 000001_0             read by the scan, listed by the drift check (no "changed during
                                          the build"), copied and re-encoded by download (issue 29)
extra partition level version=2         a scan error naming the folder (not a binder error in DuckDB)
======================================  ===============================================================
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_reliability as matrix
from test_reliability import Published, assert_refused, butter, butter_env, copy_demo, output, parquet_files, rewrite

from butter_warehouse import cli, dbt_runner, drift, inventory
from butter_warehouse.context import Context

published = matrix.published
shared_tmp = matrix.shared_tmp
small_demo = matrix.small_demo


def poison(path: Path) -> None:
    """NULL and zero elements in every test-loss array of a file (what the scan refuses)."""
    def change(table: pa.Table) -> pa.Table:
        name = "val_loss" if "val_loss" in table.column_names else "test_loss"
        field = table.schema.field(name)
        values = [[None] + [0.0] * (len(v) - 1) for v in table[name].to_pylist()]
        return table.set_column(table.schema.get_field_index(name), field, pa.array(values, field.type))
    rewrite(path, change)


def build_in_process(monkeypatch: pytest.MonkeyPatch, root: Path, published: Published, work: Path,
                     before_dbt: Callable[[], None], real_dbt: bool) -> int:
    """``butter build --skip-docs`` in this process; ``before_dbt`` runs after the scan, before dbt reads."""
    for key, value in butter_env(root, published.path, work).items():
        monkeypatch.setenv(key, value)
    original = dbt_runner.run_dbt

    def run_dbt(ctx: Context, *args: str, **kwargs: Any) -> int:
        before_dbt()
        return original(ctx, *args, **kwargs) if real_dbt else 0

    monkeypatch.setattr(dbt_runner, "run_dbt", run_dbt)
    return cli.main(["build", "--skip-docs"])


# --- the data root changes during the build ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_file_rewritten_after_the_scan_is_not_published(monkeypatch: pytest.MonkeyPatch, published: Published,
                                                        shared_tmp: Path, small_demo: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    bad = parquet_files(root, "all_runs")[3]
    code = build_in_process(monkeypatch, root, published, shared_tmp, lambda: poison(bad), real_dbt=True)
    captured = capsys.readouterr()
    assert code != 0, captured.out
    assert f"BUTTER: the data root {root} changed during the build (changed: {bad}): the warehouse may hold data " \
        "the scan never checked." in captured.err, captured.err
    assert f"build failed (exit {code}): {published.path} was left as it was" in captured.out
    assert published.unchanged()


@pytest.mark.parametrize("change", ["added", "removed", "changed"])
def test_file_added_removed_or_changed_after_the_scan_is_named(monkeypatch: pytest.MonkeyPatch,
                                                               published: Published, shared_tmp: Path,
                                                               small_demo: Path, change: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    first = parquet_files(root, "primary_sweep_runs")[0]
    named = first.with_name("part-extra.parquet") if change == "added" else first

    def act() -> None:
        if change == "added":
            shutil.copy(first, named)
        elif change == "removed":
            first.unlink()
        else:
            poison(first)

    code = build_in_process(monkeypatch, root, published, shared_tmp, act, real_dbt=False)
    err = capsys.readouterr().err
    assert code == 3
    assert f"the data root {root} changed during the build ({change}: {named}): " in err, err
    assert "Build again once nothing writes to the data root; the new build is not published." in err
    assert published.unchanged()


def test_scan_records_each_files_identity(shared_tmp: Path, small_demo: Path) -> None:
    out = shared_tmp / "inventory"
    proc = butter("scan", "--out", str(out), env=butter_env(small_demo, shared_tmp / "w.duckdb", shared_tmp))
    assert proc.returncode == 0, output(proc)
    files = pq.read_table(out / inventory.FILES).to_pylist()
    assert files
    for entry in files:
        st = os.stat(entry["path"])
        assert entry["file_identity"] == f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    assert drift.check(str(small_demo), out) is None


# --- files that are not regular files --------------------------------------------------------


@pytest.mark.timeout(120)
def test_fifo_named_parquet_is_refused_without_opening_it(published: Published, shared_tmp: Path,
                                                          small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    fifo = parquet_files(root, "all_runs")[0].parent / "part-1.parquet"
    os.mkfifo(fifo)
    scan = butter("scan", "--out", str(shared_tmp / "inv"), env=butter_env(root, published.path, shared_tmp),
                  timeout=60)
    message = (f"BUTTER scan error: '{fifo}' is a FIFO (named pipe), not a regular file: it is not opened (reading "
               "it could block the build). Move it out of the data root.")
    assert scan.returncode == 1 and message in output(scan), output(scan)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp), timeout=60)
    assert_refused(proc, message, published)


def test_fifo_with_another_name_is_a_warning(shared_tmp: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, shared_tmp / "data")
    fifo = root / "all_runs" / "notes.pipe"
    os.mkfifo(fifo)
    proc = butter("scan", "--out", str(shared_tmp / "inv"), env=butter_env(root, shared_tmp / "w.duckdb", shared_tmp),
                  timeout=60)
    assert proc.returncode == 0, output(proc)
    assert f"BUTTER scan warning: '{fifo}' is a FIFO (named pipe), not a regular file" in output(proc)


# --- glob characters in the data root ---------------------------------------------------------


@pytest.mark.parametrize(("name", "shown"), [
    ("demo{x}", "{ }"), ("demo{", "{"), ("demo[1]", "[ ]"), ("demo*", "*"), ("demo?", "?"),
])
def test_glob_characters_in_the_data_root_are_refused(published: Published, shared_tmp: Path, small_demo: Path,
                                                      name: str, shown: str) -> None:
    root = copy_demo(small_demo, shared_tmp / name)
    proc = butter("build", "--skip-docs", env=butter_env(root, published.path, shared_tmp))
    assert_refused(proc, (
        f"BUTTER scan error: data root '{root}' contains {shown}: DuckDB's reader takes these as glob characters "
        "(and dbt '{' as a format field), so it would read other folders or none."
    ), published)


# --- issue 29: one definition of a parquet file; an unknown partition level -------------------------


def test_parquet_file_not_named_parquet_is_read_and_unchanged_to_the_drift_check(tmp_path: Path,
                                                                                  small_demo: Path) -> None:
    """``000001_0`` (a part named by another writer) is a data file to the scan, the drift check, the
    download and the landing alike: the drift check after the scan finds no change."""
    from butter_warehouse import download, storage

    root = copy_demo(small_demo, tmp_path / "root")
    first = parquet_files(root, "complete_summary")[0]
    renamed = first.with_name("000001_0")
    first.rename(renamed)
    (renamed.parent / "_SUCCESS").write_bytes(b"")
    inv = inventory.scan(str(root))
    assert not inv.errors and str(renamed) in {f.path for f in inv.files}
    scanned = {f.path: str(f.identity) for f in inv.files}
    assert drift.changes(scanned, drift.current(str(root))) == {}
    assert storage.is_data_file(str(renamed), renamed.stat().st_size)
    assert not storage.is_data_file(str(renamed.parent / "_SUCCESS"), 0)
    out = tmp_path / "copy"
    assert not download.download(str(root), out, download.Selection.parse(folders=["complete_summary"]),
                                 concurrency=2, progress=False, log=lambda line: None).failed
    copied = out / renamed.relative_to(root)
    assert copied.read_bytes() == renamed.read_bytes()
    zstd = tmp_path / "zstd"  # re-encoded as a data file, as the landing for Spark does
    download.download(str(root), zstd, download.Selection.parse(folders=["complete_summary"]), concurrency=2,
                      encoding="zstd", progress=False, log=lambda line: None)
    assert pq.ParquetFile(zstd / renamed.relative_to(root)).metadata.row_group(0).column(0).compression == "ZSTD"


def test_unknown_partition_level_is_a_scan_error_naming_the_folder(tmp_path: Path, small_demo: Path) -> None:
    root = copy_demo(small_demo, tmp_path / "root")
    leaf = parquet_files(root, "complete_summary")[0].parent
    extra = leaf / "version=2"
    extra.mkdir()
    parquet_files(root, "complete_summary")[0].rename(extra / "part-0.parquet")
    errors = [p.problem for p in inventory.scan(str(root)).errors]
    assert errors == [f"partition folder '{extra}' has an unknown partition level 'version=2': the SQL reader "
                      "would add it as a column the models do not have (a binder error inside the build). Move its "
                      "files up to the published partition folders, or out of the data root."], errors
