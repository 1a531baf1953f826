"""Layouts at the data root (issue 25): no folder skipped in silence; every root builds and says what it found.

=============================================  ==================================================================
root                                           outcome asserted
=============================================  ==================================================================
summaries only (template), an unknown folder,  ``butter build`` passes; one "not read: ..." line naming each entry
  a stray file and all_runs.tar.xz (built)       (counts and bytes from disk); one audit.load_audit row each
                                                 (unknown / archive, why not read); butter's own files unnamed;
                                                 ONE "no runs folder found" line; run marts empty, every
                                                 experiment of complete_summary published; one line per folder
complete_executive_summary/ only (current      ``butter build`` passes, data tests included; its experiments
  layout, built)                                 published; [float32] best points and the missing arrays are no
                                                 finding
tarball beside all_runs/, unknown folder       the scan names both ("archive of all_runs/"); folders.parquet rows
  (scan only)                                    with kind, counts, bytes and why not read
only unknown entries at the root               refused, naming them
spelling of each folder                        published / current / "framework or current" / "mixed: ..."
                                                 naming the columns of each spelling
=============================================  ==================================================================
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from test_reliability import butter, butter_env, output

from butter_warehouse import contract, download, inventory
from butter_warehouse.demo import MANIFEST_NAME
from butter_warehouse.inventory.checks import folder_spelling
from butter_warehouse.inventory.model import FileEntry

pytestmark = pytest.mark.timeout(900)
NO_RUNS = "no runs folder found"


@dataclass(frozen=True)
class Built:
    root: Path
    database: Path
    returncode: int
    output: str

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.sql(sql).fetchall()


def build(root: Path, work: Path) -> Built:
    database = work / "butter.duckdb"
    proc = butter("build", "--skip-docs", env=butter_env(root, database, work), timeout=900)
    return Built(root, database, proc.returncode, output(proc))


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith(("_", ".")))


def experiments_in(folder: Path) -> set[int]:
    return {i for f in data_files(folder) for i in pq.read_table(f, columns=["experiment_id"])["experiment_id"].to_pylist()}


def add_unknown_entries(root: Path, parquet_from: Path) -> dict[str, str]:
    """An unknown folder (a parquet file and a text file), a stray file and an archive of all_runs/ at
    ``root``; their expected labels, counted from disk."""
    extra = root / "extra_folder"
    (extra / "part").mkdir(parents=True)
    shutil.copy(data_files(parquet_from)[0], extra / "part" / "part-0.parquet")
    (extra / "README.txt").write_text("somebody's data\n")
    (root / "all_runs.tar.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(64))
    (root / "notes.md").write_text("notes\n")
    (root / download.SELECTIONS).write_text("{}")  # butter's own record: known, not reported
    files = [p for p in extra.rglob("*") if p.is_file()]
    parquet = [p for p in files if p.name.endswith(".parquet")]
    beside = "" if (root / "all_runs").is_dir() else ", which is absent"
    return {
        "all_runs.tar.xz": f"all_runs.tar.xz (archive of all_runs/{beside})",
        "extra_folder": f"extra_folder/ ({len(files)} files, {len(parquet)} parquet)",
        "notes.md": f"notes.md (file, {(root / 'notes.md').stat().st_size} bytes)",
    }


# --- one build: summaries only, with unknown entries at the root --------------------------------


@pytest.fixture(scope="module")
def summaries_only(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[Built, dict[str, str]]:
    work = tmp_path_factory.mktemp("summaries-only")
    root = work / "data"
    shutil.copytree(demo_root("published"), root)
    for folder in contract.RUN_FOLDERS:
        shutil.rmtree(root / folder, ignore_errors=True)
    labels = add_unknown_entries(root, root / "complete_summary")
    return build(root, work), labels


def test_unknown_entries_are_one_line_and_a_load_audit_row_each(summaries_only: tuple[Built, dict[str, str]]
                                                                ) -> None:
    built, labels = summaries_only
    assert built.returncode == 0, built.output[-6000:]
    line = "BUTTER scan warning: not read: " + ", ".join(labels[name] for name in sorted(labels))
    assert built.output.splitlines().count(line) == 1, built.output[:4000]
    assert MANIFEST_NAME not in built.output and download.SELECTIONS not in built.output
    rows = {r[0]: r[1:] for r in built.query(
        "select source_folder, folder_kind, files_read, rows_read, rows_in_staging, note from audit.load_audit "
        "where folder_kind not in ('runs', 'summary')")}
    assert {name: row[0] for name, row in rows.items()} == {
        "all_runs.tar.xz": "archive", "extra_folder": "unknown", "notes.md": "unknown"}
    assert all(row[1:4] == (0, 0, 0) and row[4].startswith("not read: ") for row in rows.values())
    extra = built.root / "extra_folder"
    files = [p for p in extra.rglob("*") if p.is_file()]
    assert f"a folder with {len(files)} file(s), 1 of them parquet, {sum(p.stat().st_size for p in files)} bytes" \
        in rows["extra_folder"][4]
    assert "an archive of all_runs/" in rows["all_runs.tar.xz"][4]
    assert "unpack the archive into the data root to read it" in rows["all_runs.tar.xz"][4]


def test_summaries_only_root_publishes_the_summary_marts_and_says_the_runs_are_missing(
        summaries_only: tuple[Built, dict[str, str]]) -> None:
    built, _ = summaries_only
    assert built.returncode == 0, built.output[-6000:]
    said = [line for line in built.output.splitlines() if NO_RUNS in line]
    assert len(said) == 1, said
    summaries = [f for f in contract.SUMMARY_FOLDERS if data_files(built.root / f)]
    assert said[0].endswith("the summary marts are built from " + ", ".join(f"{f}/" for f in summaries))
    assert "run_best_epochs" in said[0] and "experiment_learning_curves" in said[0]
    assert built.query("select count(*) from marts.run_best_epochs") == [(0,)]
    published = {r[0] for r in built.query(
        "select experiment_id from marts.experiment_summary where has_published_summary")}
    assert published == set().union(*(experiments_in(built.root / f) for f in summaries))
    # experiment_best_epochs: a row per published experiment, the runs' distributions empty
    assert built.query(
        "select count(*), count(best_test_loss_median), sum(runs_found) from marts.experiment_best_epochs"
    ) == [(len(published), 0, 0)]
    # one line per folder: its files, rows and spelling (counted here from the footers)
    for folder in summaries:
        files = data_files(built.root / folder)
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        assert f"  {folder}/: {len(files)} parquet files, {rows} rows, spelling published" in built.output


# --- one build: complete_executive_summary/ only (current layout) ------------------------------


@pytest.fixture(scope="module")
def executive_only(demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("executive-only")
    root = work / "data"
    root.mkdir()
    shutil.copytree(demo_root(layout="current") / contract.EXECUTIVE_FOLDER, root / contract.EXECUTIVE_FOLDER)
    return build(root, work)


def test_executive_summary_only_root_builds_with_its_data_tests(executive_only: Built) -> None:
    built = executive_only
    assert built.returncode == 0, built.output[-6000:]
    folder = built.root / contract.EXECUTIVE_FOLDER
    files = data_files(folder)
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    assert f"  {contract.EXECUTIVE_FOLDER}/: {len(files)} parquet files, {rows} rows, spelling current" \
        in built.output
    said = [line for line in built.output.splitlines() if NO_RUNS in line]
    assert len(said) == 1 and said[0].endswith(f"built from {contract.EXECUTIVE_FOLDER}/"), said
    # the one-element [float32] best points and the arrays the folder does not keep are no finding
    assert "BUTTER scan warning: column" not in built.output and "BUTTER scan error" not in built.output
    assert {r[0] for r in built.query("select experiment_id from marts.experiment_summary")} == experiments_in(folder)
    assert built.query("select count(*) from marts.run_best_epochs") == [(0,)]


# --- the scan alone ------------------------------------------------------------------------------


def test_tarball_beside_its_folder_and_an_unknown_folder_are_recorded(demo_root: Callable[..., Path],
                                                                     tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_root("published"), root)
    labels = add_unknown_entries(root, root / "all_runs")
    assert labels["all_runs.tar.xz"] == "all_runs.tar.xz (archive of all_runs/)"
    (root / download.MANIFEST).write_text("")
    inv = inventory.scan(str(root))
    assert [p.problem for p in inv.warnings if p.folder is None] == \
        ["not read: " + ", ".join(labels[name] for name in sorted(labels))]
    assert not any(NO_RUNS in p.problem for p in inv.problems)
    folders = {r["folder"]: r for r in pq.read_table(inventory.write(inv, tmp_path / "inv") / inventory.FOLDERS)
               .to_pylist()}
    extra = [p for p in (root / "extra_folder").rglob("*") if p.is_file()]
    assert {k: folders["extra_folder"][k] for k in ("folder_kind", "is_present", "parquet_files", "other_files",
                                                   "num_rows", "num_bytes", "spelling")} == {
        "folder_kind": "unknown", "is_present": True, "parquet_files": 1, "other_files": len(extra) - 1,
        "num_rows": 0, "num_bytes": sum(p.stat().st_size for p in extra), "spelling": None}
    archive = folders["all_runs.tar.xz"]
    assert archive["folder_kind"] == "archive" and archive["num_bytes"] == (root / "all_runs.tar.xz").stat().st_size
    assert "unpack the archive" not in archive["not_read_reason"]  # its folder is beside it
    assert MANIFEST_NAME in download.KNOWN_ROOT_FILES  # the demo states the name; the scan must know it
    for name in (MANIFEST_NAME, download.MANIFEST, download.SELECTIONS):
        assert name not in folders
    assert folders["all_runs"]["spelling"] == "published" and folders["all_runs"]["not_read_reason"] is None


def test_root_with_only_unknown_entries_is_refused_naming_them(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "runs_2024").mkdir(parents=True)
    (root / "runs_2024" / "a.parquet").write_bytes(b"PAR1")
    with pytest.raises(inventory.ScanError) as refused:
        inventory.scan(str(root))
    assert f"data root '{root}' holds none of the published BUTTER folders" in str(refused.value)
    assert "not read: runs_2024/ (1 files, 1 parquet)" in str(refused.value)


def entry(names: list[str], partitions: tuple[str, ...] = ()) -> FileEntry:
    return FileEntry(path="p", folder="f", kind="runs", partition_values={k: "x" for k in partitions}, rows=1,
                     row_groups=1, bytes=1, column_names=names, column_types=["int"] * len(names))


@pytest.mark.parametrize("spelling", contract.SPELLINGS)
def test_spelling_of_each_layouts_files(spelling: contract.Spelling) -> None:
    for kind in ("runs", "summary"):
        schema = contract.file_schema(kind, spelling)
        found = folder_spelling(kind, [entry(schema.names, contract.partition_names(spelling))])
        # the framework's summaries differ from the current release's only by NREL's best-point columns
        assert found == ("framework or current" if (kind, spelling) == ("summary", "framework") else spelling)


def test_mixed_spelling_names_the_columns_of_each(demo_root: Callable[..., Path], tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(demo_root("published"), root)
    framework = data_files(demo_root("framework") / "all_runs")[0]
    target = root / "all_runs" / framework.relative_to(demo_root("framework") / "all_runs")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(framework, target.with_name("part-framework.parquet"))
    inv = inventory.scan(str(root))
    mixed = inv.folders["all_runs"].spelling
    assert mixed is not None and mixed.startswith("mixed: published ("), mixed
    groups = dict(part.split(" (", 1) for part in mixed[len("mixed: "):].split("; "))
    assert "kernel_regularizer.l1" in groups["published"] and "test_loss" in groups["framework"]
    assert "kernel_regularizer_l1" in groups["framework or current"] and "val_loss" in groups["published or current"]
    line = next(x for x in inventory.summary_lines(inv) if x.startswith("  all_runs/: "))
    assert "spelling mixed: published (" in line and " more)" in line  # the terminal abbreviates long lists
    assert inv.folders["primary_sweep_runs"].spelling == "published"
