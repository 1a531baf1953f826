"""``butter download`` (issue 18): selection, resume, verification, damaged transfers,
re-encoding; the concurrent scan of S3 equals the scan of the local copy.

Small demo data (the fault matrix's sizes); the S3 cases use the moto emulator on 127.0.0.1.

Issue 29's cases (the fault matrix of downloads):

======================================  ===============================================================
fault                                   outcome asserted
======================================  ===============================================================
download interrupted / a file failed    recorded "interrupted" / "incomplete: files failed" with what
                                        arrived of what was listed; the scan (so the build) refuses,
                                        naming each folder "N of M files"; a rerun resumes, "finished"
two sources into one folder             both recorded; each folder's note names both
key with .., . or an empty segment      refused naming the key, nothing written (download and the
  (S3), s3://b//butter                    landing of build); the scan refuses the root
manifest naming a path outside          pruning does not follow it
misspelt dataset, a filter the data     exit 2, one line naming what matched nothing and the values
  does not hold, no such source, a        the folders have / what the source holds
  published folder as the source
--datasets a --where dataset=b          exit 2: both must hold, no value is in both
a second download into one folder       stops at once naming the first's pid
======================================  ===============================================================
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from butter_warehouse import contract, download, inventory, landing
from butter_warehouse.download import DownloadError, Selection

from s3_emulator import FAKE_KEY_ID, FAKE_SECRET, delay_proxy, s3_emulator

pytestmark = pytest.mark.timeout(300)
SIZES = {"experiments": 20, "runs_per_experiment": 2, "epochs": 10}


@pytest.fixture(scope="module")
def small(demo_root: Callable[..., Path]) -> Path:
    return demo_root("published", **SIZES)


def files_below(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and not p.name.startswith("_butter_download")}


def expected(root: Path, selection: Selection) -> dict[str, bytes]:
    return {rel: data for rel, data in files_below(root).items()
            if rel.split("/", 1)[0] in selection.folders and "/" in rel
            and selection.keeps(rel.split("/", 1)[1])}


@dataclass
class Logged(download.Result):
    """A download's result and the lines it logged."""

    log: list[str] = field(default_factory=list)


def run(source: Path | str, out: Path, selection: Selection, **kwargs: Any) -> Logged:
    lines: list[str] = []
    result = download.download(str(source), out, selection, concurrency=kwargs.pop("concurrency", 8),
                               progress=False, log=lines.append, **kwargs)
    return Logged(**asdict(result), log=lines)


def no_partial_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(download.PART_SUFFIX) or ".butter-part" in p.name]


# --- selection ---------------------------------------------------------------------------------


def test_selection_folders_sweeps_datasets_and_partition_filters(small: Path, tmp_path: Path) -> None:
    dataset = sorted(p.name for p in (small / "all_runs").glob("dataset=*"))[0].split("=", 1)[1]
    selection = Selection.parse(folders=["all_runs,complete_summary"], sweeps=["learning_rate"],
                                datasets=[dataset], where=["depth=2,3"])
    assert selection.folders == ["all_runs", "learning_rate_sweep_runs", "complete_summary",
                                 "learning_rate_sweep_summary"]
    result = run(small, tmp_path / "out", selection)
    got = files_below(tmp_path / "out")
    want = expected(small, selection)
    assert got == want and result.transferred == len(want) and not result.failed
    data = [r for r in got if r.endswith(".parquet")]
    assert data and all(f"dataset={dataset}/" in r and ("/depth=2/" in r or "/depth=3/" in r) for r in data)
    assert {r.split("/")[0] for r in got} == set(selection.folders)
    assert all(f"{f}/_common_metadata" in got for f in selection.folders)  # folder metadata kept
    # numbers match by value, keys of either spelling
    assert Selection.parse(where=["learning_rate=1e-4"]).keeps("dataset=x/learning_rate=0.0001/part-0.parquet")
    assert not Selection.parse(where=["learning_rate=1e-3"]).keeps("dataset=x/learning_rate=0.0001/p.parquet")
    assert Selection.parse().complete and not selection.complete


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"folders": ["all_run"]}, "unknown folder 'all_run'"),
    ({"sweeps": ["lr"]}, "unknown sweep 'lr'"),
    ({"where": ["colour=red"]}, "'colour' is not a partition key"),
    ({"where": ["depth"]}, "expected key=value"),
])
def test_bad_selection_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(DownloadError, match=message):
        Selection.parse(**kwargs)


# --- resume --------------------------------------------------------------------------------------


def test_second_run_transfers_nothing_and_an_interrupted_run_continues(small: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    selection = Selection.parse(folders=["all_runs", "complete_summary"])
    original = download.transfer
    calls = {"n": 0}

    def dies_after_five(*args: Any, **kwargs: Any) -> dict:
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(download, "transfer", dies_after_five)
    with pytest.raises(KeyboardInterrupt):
        run(small, out, selection, concurrency=1)
    monkeypatch.setattr(download, "transfer", original)
    assert no_partial_files(out)
    first = run(small, out, selection)
    want = expected(small, selection)
    assert first.skipped == 5 and first.transferred == len(want) - 5
    assert files_below(out) == want
    again = run(small, out, selection)
    assert (again.transferred, again.transferred_bytes, again.skipped) == (0, 0, len(want))
    assert "downloaded 0 file(s), 0 B" in again.summary(out)
    # a file changed at the source is fetched again
    changed = sorted((small / "all_runs").rglob("*.parquet"))[0]
    record = download.read_manifest(out)[changed.relative_to(small).as_posix()]
    monkeypatch.setattr(download.Source, "list", lambda self, folder: [
        dataclasses.replace(f, identity="other") if f.source == str(changed) else f
        for f in original_list(self, folder)])
    assert run(small, out, selection).transferred == 1 and record["size"] == changed.stat().st_size


original_list = download.Source.list


# --- verification and damaged transfers --------------------------------------------------------


class Truncated:
    """A source stream that ends early (a connection cut mid-body)."""

    def __init__(self, stream: Any) -> None:  # a pyarrow input stream (pyarrow has no type stubs)
        self.stream = stream

    def __enter__(self) -> Truncated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        return data[: len(data) // 2]


def test_truncated_transfer_names_the_file_and_leaves_nothing(small: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    victim = sorted((small / "complete_summary").rglob("*.parquet"))[0]
    opener = download.Source.open
    monkeypatch.setattr(download.Source, "open", lambda self, remote: Truncated(opener(self, remote))
                        if remote.source == str(victim) else opener(self, remote))
    out = tmp_path / "out"
    result = run(small, out, Selection.parse(folders=["complete_summary"]))
    dest = out / victim.relative_to(small)
    assert result.failed == [str(victim)]
    assert any(line.startswith(f"BUTTER download error: {victim}: received ") and "the listing says" in line
               and f"nothing was written to {dest}" in line for line in result.log), result.log
    assert not dest.exists() and no_partial_files(out)
    assert "1 FAILED" in result.summary(out)
    assert victim.relative_to(small).as_posix() not in download.read_manifest(out)
    monkeypatch.setattr(download.Source, "open", opener)
    retry = run(small, out, Selection.parse(folders=["complete_summary"]))
    assert retry.transferred == 1 and dest.read_bytes() == victim.read_bytes()


def test_damaged_file_at_the_source_is_refused(small: Path, tmp_path: Path) -> None:
    source = tmp_path / "src"
    folder = source / "all_runs" / "dataset=x" / "depth=2"
    folder.mkdir(parents=True)
    good = sorted((small / "all_runs").rglob("*.parquet"))[0]
    (folder / "part-0.parquet").write_bytes(good.read_bytes())
    (folder / "part-1.parquet").write_bytes(b"PAR1" + b"\0" * 100 + b"PAR1")  # right size, no footer
    out = tmp_path / "out"
    result = run(source, out, Selection.parse(folders=["all_runs"]))
    bad = folder / "part-1.parquet"
    assert result.failed == [str(bad)] and result.transferred == 1
    assert any(f"{bad}: its parquet footer does not read" in line for line in result.log)
    assert not (out / "all_runs/dataset=x/depth=2/part-1.parquet").exists() and no_partial_files(out)


def test_reencoded_copy_is_zstd_v1_with_the_same_rows(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run(small, out, Selection.parse(folders=["all_runs"]), encoding="zstd")
    assert not result.failed
    for path in sorted((out / "all_runs").rglob("*.parquet"))[:5]:
        copy, original = pq.ParquetFile(path), pq.ParquetFile(small / path.relative_to(out))
        column = copy.metadata.row_group(0).column(copy.metadata.num_columns - 1)
        assert column.compression == "ZSTD" and "BYTE_STREAM_SPLIT" not in column.encodings
        assert copy.read().equals(original.read())
    again = run(small, out, Selection.parse(folders=["all_runs"]), encoding="zstd")
    assert again.transferred == 0


def test_spark_builds_a_local_brotli_root_from_a_zstd_copy(small: Path, demo_root: Callable[..., Path],
                                                           tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A local root in Brotli (NREL's codec) is landed as zstd for an engine that cannot read
    Brotli (Spark); a zstd root, or an engine that reads everything, builds from the root itself."""
    from butter_warehouse.settings import Settings
    from butter_warehouse.spark import UNREADABLE_CODECS

    cfg = Settings(s3_cache=str(tmp_path / "cache"))
    found = landing.first_file_compressed_with(str(small), UNREADABLE_CODECS)
    assert found is not None and found[1] == {"BROTLI"}
    assert "BROTLI" in landing.parquet_codecs(pq.read_metadata(found[0]))
    zstd_root = demo_root("published", compression="zstd", **SIZES)
    assert landing.first_file_compressed_with(str(zstd_root), UNREADABLE_CODECS) is None
    assert landing.land_for_build(tmp_path, str(zstd_root), cfg, "zstd", UNREADABLE_CODECS) == str(zstd_root)
    assert landing.land_for_build(tmp_path, str(small), cfg, "copy") == str(small)
    off = Settings(s3_cache="off")  # a cluster with the Brotli codec reads the root as it is
    assert landing.land_for_build(tmp_path, str(small), off, "zstd", UNREADABLE_CODECS) == str(small)

    landed = landing.land_for_build(tmp_path, str(small), cfg, "zstd", UNREADABLE_CODECS)
    assert landed == str(tmp_path / "cache" / "zstd" / "_local" / str(small).lstrip("/"))
    assert f"{found[0]} is compressed with BROTLI, which this engine cannot read" in capsys.readouterr().out
    originals = sorted(p.relative_to(small) for p in small.rglob("*.parquet"))
    copies = sorted(p.relative_to(landed) for p in Path(landed).rglob("*.parquet"))
    assert copies == originals
    for rel in copies:
        assert landing.parquet_codecs(pq.read_metadata(Path(landed) / rel)) <= {"ZSTD", "UNCOMPRESSED"}, rel
        assert pq.read_metadata(Path(landed) / rel).num_rows == pq.read_metadata(small / rel).num_rows
    # the copy of a Brotli root needs no copy of its own, and a second build re-encodes nothing
    assert landing.land_for_build(tmp_path, landed, cfg, "zstd", UNREADABLE_CODECS) == landed
    assert landing.land_for_build(tmp_path, str(small), cfg, "zstd", UNREADABLE_CODECS) == landed
    assert "landed: downloaded 0 file(s), 0 B" in capsys.readouterr().out
    # the scan of the copy: each folder's note names its source; the terminal gets one line for them all
    inv = inventory.scan(landed)
    notes = {p.folder: p.problem for p in inv.warnings if p.folder is not None and "local copy of" in p.problem}
    present = sorted(f for f, state in inv.folders.items() if state.present)
    assert sorted(notes) == present and all(f"{small}/{f} " in notes[f] for f in present)
    lines = [line for line in inventory.summary_lines(inv) if "local copy of" in line]
    assert lines == [f"BUTTER scan warning: local copy of {small}/<folder> (butter download or the landing of "
                     f"butter build): each file's source path, size and last-modified time are in "
                     f"{landed}/{download.MANIFEST} ({len(present)} folders)"], lines


# --- S3: download and the concurrent scan ----------------------------------------------------


def test_s3_download_resume_and_concurrent_scan_equal_local(small: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with s3_emulator(small, bucket="butter-download", prefix="butter") as bucket, delay_proxy(bucket) as (s3, stats):
        for key, value in s3.env.items():
            monkeypatch.setenv(key, value)
        out = tmp_path / "copy"
        selection = Selection.parse(folders=list(contract.FOLDERS))
        first = run(s3.data_root, out, selection, concurrency=32)
        assert not first.failed and files_below(out) == expected(small, selection)
        assert run(s3.data_root, out, selection).transferred_bytes == 0
        stats.reset()
        remote = inventory.scan(s3.data_root)
        # the scan of an unsigned source reads each footer with one suffix-range GET, no HEAD
        files = [p.relative_to(small).as_posix() for p in small.rglob("*.parquet")]
        per_file = {stats.by_key.get(f"/{s3.bucket}/{s3.prefix}/{rel}", 0) for rel in files}
        assert per_file == {1}, f"requests per parquet file of the scan: {sorted(per_file)}"
        assert stats.total <= 1.5 * len(files), (stats.by_method, len(files))
        # what `butter build --target spark` does with an s3:// root: a zstd copy in the cache
        from butter_warehouse.settings import load
        from butter_warehouse.spark import UNREADABLE_CODECS

        cfg = dataclasses.replace(load(), s3_cache=str(tmp_path / "cache"))
        landed = landing.land_for_build(tmp_path, s3.data_root, cfg, "zstd", UNREADABLE_CODECS)
        assert landed == str(tmp_path / "cache" / "zstd" / "butter-download" / "butter")
        assert sorted(p.relative_to(landed) for p in Path(landed).rglob("*.parquet")) == \
            sorted(p.relative_to(small) for p in small.rglob("*.parquet"))
        assert landing.first_file_compressed_with(landed, UNREADABLE_CODECS) is None
        monkeypatch.setenv("BUTTER_S3_CONCURRENCY", "1")
        one_at_a_time = inventory.scan(s3.data_root)
    local = inventory.scan(str(out))

    def relative(inv: inventory.Inventory) -> list[tuple]:
        return [(f.path.split(inv.root, 1)[1], f.folder, f.partition_values, f.rows, f.row_groups, f.bytes,
                 f.column_names, f.column_types, f.null_partition_columns) for f in inv.files]

    concurrent, sequential = relative(remote), relative(one_at_a_time)
    assert concurrent == sequential  # same findings in the same order
    assert sorted(concurrent) == sorted(relative(local))  # a local walk lists folders in another order
    assert [p.problem for p in remote.problems] == [p.problem for p in one_at_a_time.problems]
    assert [(s.folder, s.present, s.parquet_files, s.rows) for s in remote.folders.values()] == \
        [(s.folder, s.present, s.parquet_files, s.rows) for s in local.folders.values()]


def test_spark_copy_of_a_partial_download_is_named_as_partial(small: Path, tmp_path: Path) -> None:
    """A partial download (Brotli, as NREL's) re-encoded for Spark keeps its audit note: the copy
    holds what the download holds, and the scan says so exactly as it does for the download."""
    from butter_warehouse.settings import Settings
    from butter_warehouse.spark import UNREADABLE_CODECS

    dataset = sorted(p.name for p in (small / "all_runs").glob("dataset=*"))[0].split("=", 1)[1]
    out = tmp_path / "partial"
    assert not run(small, out, Selection.parse(folders=["all_runs"], datasets=[dataset])).failed
    landed = landing.land_for_build(tmp_path, str(out), Settings(s3_cache=str(tmp_path / "cache")), "zstd",
                                     UNREADABLE_CODECS)
    assert landed is not None and landed != str(out)

    def notes(root: str) -> dict[str, str]:
        return {p.folder: p.problem for p in inventory.scan(root).warnings
                if p.folder is not None and "partial download" in p.problem}

    assert notes(str(out)) == notes(landed) and f"dataset={dataset}" in notes(landed)["all_runs"]


def test_partial_download_is_named_in_the_scan(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    dataset = sorted(p.name for p in (small / "all_runs").glob("dataset=*"))[0].split("=", 1)[1]
    run(small, out, Selection.parse(folders=["all_runs", "complete_summary"], datasets=[dataset]))
    inv = inventory.scan(str(out))
    notes = {p.folder: p.problem for p in inv.warnings if "partial download" in p.problem}
    assert set(notes) == {"all_runs", "complete_summary"}
    assert notes["all_runs"] == (f"partial download (butter download from {small}): this folder holds "
                                 f"partitions dataset={dataset} only")
    recorded = json.loads((out / download.SELECTIONS).read_text())
    assert recorded["version"] == download.RECORD_VERSION and len(recorded["downloads"]) == 1
    entry = recorded["downloads"][0]
    assert entry["state"] == "finished" and entry["complete_selection"] is False
    assert entry["listed"] == entry["arrived"] and set(entry["listed"]) == {"all_runs", "complete_summary"}


# --- the command ---------------------------------------------------------------------------------


def test_command_prints_one_summary_line_and_names_bad_settings(small: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from butter_warehouse import cli

    monkeypatch.setenv("BUTTER_PROGRESS", "never")
    out = tmp_path / "out"
    args = ["download", "--source", str(small), "--out", str(out), "--folders", "complete_summary"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("downloaded ") and f"to {out};" in first[0]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("downloaded 0 file(s), 0 B")
    assert cli.main([*args, "--concurrency", "0"]) == 2
    assert "--concurrency must be at least 1" in capsys.readouterr().err
    monkeypatch.setenv("BUTTER_S3_CONCURRENCY", "many")
    assert cli.main(args) == 1
    assert "BUTTER_S3_CONCURRENCY must be a whole number >= 1 (e.g. 32), got 'many'" in capsys.readouterr().err


# --- the current release's folders: the source's root listed once (issue 25) -------------------------


def test_sweeps_optimizer_takes_the_runs_from_the_all_sweeps_folder_the_source_has(demo_root: Callable[..., Path],
                                                                                   tmp_path: Path) -> None:
    current = demo_root(layout="current")
    result = run(current, tmp_path / "out", Selection.parse(sweeps=["optimizer"]))
    assert not result.failed
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == \
        ["all_repetitions", "optimizer_sweep_summary"]
    assert result.missing == ["optimizer_sweep_runs"]
    assert result.log == ["optimizer_sweep_runs/ is not in the source: the optimizer sweep's rows are taken from "
                          "all_repetitions/, which holds every sweep's (narrow it with --where)"]
    assert "; not in the source: optimizer_sweep_runs/" in result.summary(tmp_path / "out")
    # a source with its own runs folder for the sweep (the template) gives that folder only
    template = run(demo_root("published"), tmp_path / "template", Selection.parse(sweeps=["learning_rate"]))
    assert sorted(p.name for p in (tmp_path / "template").iterdir() if p.is_dir()) == \
        ["learning_rate_sweep_runs", "learning_rate_sweep_summary"] and not template.missing and not template.log


def test_s3_root_listed_once_names_missing_folders_and_entries_it_does_not_copy(
        demo_root: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source"
    source.mkdir()
    current = demo_root(layout="current")
    shutil.copytree(current / "complete_executive_summary", source / "complete_executive_summary")
    (source / "extra_folder").mkdir()
    (source / "extra_folder" / "a.parquet").write_bytes(b"PAR1")
    (source / "complete_summary.tar").write_bytes(bytes(10))
    with s3_emulator(source, bucket="butter-layouts", prefix="butter") as s3:
        for key, value in s3.env.items():
            monkeypatch.setenv(key, value)
        remote = inventory.scan(s3.data_root)
        result = run(s3.data_root, tmp_path / "copy", Selection.parse())
    assert result.missing == [f for f in contract.FOLDERS if f != "complete_executive_summary"]
    assert [p.name for p in (tmp_path / "copy").iterdir() if p.is_dir()] == ["complete_executive_summary"]
    labels = "complete_summary.tar (archive of complete_summary/, which is absent), extra_folder/ (1 files, 1 parquet)"
    assert [p.problem for p in remote.warnings if p.folder is None and "not read" in p.problem] == \
        [f"not read: {labels}"]
    local = inventory.scan(str(tmp_path / "copy"))  # the copy names what its source holds and it does not
    named = [p.problem for p in local.warnings if p.folder is None and "not read" in p.problem]
    assert named == [f"not read: complete_summary.tar in {s3.data_root} (archive of complete_summary/, which is "
                     f"absent), extra_folder/ in {s3.data_root} (1 files, 1 parquet)"]


# --- reliability, third pass (issue 29): what a download records, which keys it writes ----------


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (records included) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_interrupted_or_failed_download_is_recorded_unfinished_and_not_built(small: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The record says "in progress" while the transfer runs, what arrived of what was listed when it
    stops; the scan (so the build) refuses it naming the folders and counts until a run finishes it."""
    out = tmp_path / "out"
    selection = Selection.parse(folders=["all_runs", "complete_summary"])
    listed = {f: len([p for p in (small / f).rglob("*") if p.is_file()]) for f in selection.folders}
    original = download.transfer
    seen: list[str] = []

    def dies_after_five(*args: Any, **kwargs: Any) -> dict:
        if len(seen) == 5:
            raise KeyboardInterrupt
        seen.append(download.downloads(out)[0]["state"])  # the record while the transfer runs
        return original(*args, **kwargs)

    monkeypatch.setattr(download, "transfer", dies_after_five)
    with pytest.raises(KeyboardInterrupt):
        run(small, out, selection, concurrency=1)
    monkeypatch.setattr(download, "transfer", original)
    assert seen == ["in progress"] * 5
    [entry] = download.downloads(out)
    assert entry["state"] == "interrupted" and entry["listed"] == listed
    arrived = sum(entry["arrived"].values())  # the files recorded before the interrupt was seen (the 5th may not be)
    assert arrived == len(download.read_manifest(out)) and arrived in (4, 5)
    errors = [p.problem for p in inventory.scan(str(out)).errors]
    assert errors == [f"the butter download from {small} into {out} is interrupted (all_runs/ {arrived} of "
                      f"{listed['all_runs']} files, complete_summary/ 0 of {listed['complete_summary']} files): run "
                      "the same butter download again to finish it (it resumes where it stopped); an unfinished "
                      "download is not built"], errors
    # a transfer that fails leaves the download unfinished too
    victim = sorted((small / "complete_summary").rglob("*.parquet"))[0]
    opener = download.Source.open
    monkeypatch.setattr(download.Source, "open", lambda self, remote: Truncated(opener(self, remote))
                        if remote.source == str(victim) else opener(self, remote))
    failed = run(small, out, selection)
    assert failed.failed == [str(victim)] and download.downloads(out)[0]["state"] == "incomplete: files failed"
    assert "complete_summary/ " in inventory.scan(str(out)).errors[0].problem
    monkeypatch.setattr(download.Source, "open", opener)
    done = run(small, out, selection)  # resumes: only the missing file is fetched
    assert done.transferred == 1 and not done.failed and done.skipped == sum(listed.values()) - 1
    [entry] = download.downloads(out)
    assert entry["state"] == "finished" and entry["arrived"] == entry["listed"] == listed
    assert not inventory.scan(str(out)).errors


def test_two_sources_in_one_folder_are_both_named(small: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(small / "complete_summary", other / "complete_summary")
    out = tmp_path / "out"
    dataset = sorted(p.name for p in (small / "all_runs").glob("dataset=*"))[0].split("=", 1)[1]
    run(small, out, Selection.parse(folders=["complete_summary"], datasets=[dataset]))
    run(other, out, Selection.parse(folders=["complete_summary"]))
    assert [d["source"] for d in download.downloads(out)] == [str(small), str(other)]
    notes = {p.folder: p.problem for p in inventory.scan(str(out)).warnings if "partial download" in p.problem}
    assert notes == {"complete_summary": "partial download (butter download from several sources): this folder "
                     f"holds partitions dataset={dataset} from {small}; the whole folder from {other}"}


@pytest.mark.parametrize("key", ["all_runs/../../evil.parquet", "all_runs//x.parquet", "all_runs/./x.parquet"])
def test_key_leaving_the_folder_is_refused_by_download_and_landing(small: Path, tmp_path: Path, key: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A key with a ``..``, ``.`` or empty segment is refused and named before anything is written,
    by ``butter download`` and by the landing of ``butter build`` (the same code)."""
    from butter_warehouse.settings import Settings

    source = tmp_path / "source"
    part = sorted((small / "complete_summary").rglob("*.parquet"))[0]
    (source / "all_runs").mkdir(parents=True)
    (source / "all_runs" / "p.parquet").write_bytes(part.read_bytes())
    base = tmp_path / "work"
    (base / "evil.parquet").parent.mkdir(parents=True)
    (base / "evil.parquet").write_bytes(b"the user's own file")
    before = tree_bytes(base)
    with s3_emulator(source, bucket="butter-keys", prefix="butter") as s3:
        s3.client().put_object(Bucket="butter-keys", Key=f"butter/{key}", Body=part.read_bytes())
        env = dict(s3.env)
        out = base / "out"
        with pytest.raises(DownloadError) as refused:
            download.download(s3.data_root, out, Selection.parse(folders=["all_runs"]), concurrency=4, env=env,
                              progress=False, log=lambda line: None)
        assert f"{s3.data_root}/{key}" in str(refused.value) and "nothing was downloaded" in str(refused.value)
        cfg = Settings(s3_cache=str(base / "cache"), s3_endpoint=env["BUTTER_S3_ENDPOINT"], s3_url_style="path",
                       s3_use_ssl=False, aws_access_key_id=FAKE_KEY_ID,  # the signed path
                       aws_secret_access_key=FAKE_SECRET)
        with pytest.raises(DownloadError, match=f"{s3.data_root}/{key}".replace(".", r"\.")):
            landing.land_for_build(base, s3.data_root, cfg, "copy")
    assert tree_bytes(base) == before and not (base / "out").exists()


def test_empty_segment_in_the_root_and_pruning_outside_the_folder_are_refused(small: Path, tmp_path: Path) -> None:
    from butter_warehouse.storage import inside, segment_problem

    with pytest.raises(DownloadError, match=r"the source s3://bucket//butter has an empty path segment"):
        download.Source("s3://bucket//butter")
    with pytest.raises(inventory.ScanError, match=r"data root 's3://bucket//butter' has an empty path segment"):
        inventory.scan("s3://bucket//butter")
    assert segment_problem("/etc/passwd") == "is absolute" and segment_problem("a/../b") == "has a '..' segment"
    assert segment_problem("all_runs/dataset=x/p.parquet") is None
    with pytest.raises(ValueError, match="leads outside"):
        (tmp_path / "link").symlink_to(tmp_path.parent)
        inside(tmp_path, "link/x")
    # a manifest naming a path outside the folder (hand-edited, or an older version) is not followed
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.parquet"
    victim.write_bytes(b"not butter's")
    (out / download.MANIFEST).write_text(json.dumps({"path": "all_runs/../../victim.parquet", "size": 12}) + "\n")
    assert download._prune(out, {"all_runs"}, download.read_manifest(out), set()) == 1
    assert victim.read_bytes() == b"not butter's"


@pytest.mark.parametrize(("args", "message"), [
    (["--datasets", "mnsit"], "where dataset=mnsit matches no file in {src}: no selected folder has dataset=mnsit "
                              "(they have "),
    (["--where", "kernel_regularizer.type=none"], "no selected folder has kernel_regularizer.type=none (they have "
                                                  "__HIVE_DEFAULT_PARTITION__"),
    (["--source-is", "missing"], "{src} holds nothing (no such bucket or prefix, or it is empty)"),
    (["--source-is", "all_runs"], "it looks like one published folder; give its parent"),
    (["--datasets", "a", "--where", "dataset=b"], "--where 'dataset=b' and the earlier dataset=a (--datasets or "
                                                  "--where) cannot both hold"),
])
def test_selection_or_source_matching_nothing_exits_2_naming_it(small: Path, tmp_path: Path, args: list[str],
                                                                message: str, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from butter_warehouse import cli

    monkeypatch.setenv("BUTTER_PROGRESS", "never")
    src = small
    if args[0] == "--source-is":
        src = tmp_path / "no-such-folder" if args[1] == "missing" else small / args[1]
        args = []
    out = tmp_path / "out"
    assert cli.main(["download", "--source", str(src), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("butter download: ") and message.format(src=src) in err[-1], err
    assert "Traceback" not in "\n".join(err) and not out.exists()


def test_second_download_into_one_folder_stops_naming_the_first(small: Path, tmp_path: Path) -> None:
    """One writer per download folder (and per landing cache folder: the landing waits for it)."""

    out = tmp_path / "out"
    out.mkdir()
    with download.folder_lock(out), pytest.raises(DownloadError) as refused:
        run(small, out, Selection.parse(folders=["complete_summary"]))
    assert str(refused.value) == (f"another butter download, build landing or build reading its copy "
                                  f"(pid {os.getpid()}) is using {out}; wait for it to finish, then run this again")
    assert sorted(p.name for p in out.iterdir()) == [download.LOCK]
    assert not run(small, out, Selection.parse(folders=["complete_summary"])).failed  # free again


def test_a_build_reading_a_landed_copy_keeps_other_landings_out(small: Path, tmp_path: Path) -> None:
    """A build holds its landed copy (landing.landed_for_build, shared) until it ends: a landing
    or download into that folder waits and then stops; another reader shares it."""
    from butter_warehouse import landing
    from butter_warehouse.settings import Settings

    cfg = Settings(s3_cache=str(tmp_path / "cache"))
    codecs = frozenset({"BROTLI"})
    with landing.landed_for_build(tmp_path, str(small), cfg, "zstd", codecs) as landed:
        assert landed != str(small) and (Path(landed) / download.LOCK).exists()
        with download.folder_lock(Path(landed), wait=0.0, shared=True):  # another build reading it: shared
            pass
        with pytest.raises(DownloadError, match="is using"):
            run(small, Path(landed), Selection.parse(folders=["complete_summary"]))
    with download.folder_lock(Path(landed)):  # the build ended: writers get it again
        pass


def same_size_parquets() -> tuple[bytes, bytes]:
    """Two different parquet files of the same size (a rewrite S3's listing cannot tell apart)."""
    import io

    import pyarrow as pa

    def parquet(value: int) -> bytes:
        buffer = io.BytesIO()
        pq.write_table(pa.table({"a": [value]}), buffer, compression="none")
        return buffer.getvalue()

    first, second = parquet(1), parquet(2)
    assert len(first) == len(second) and first != second
    return first, second


def test_same_size_rewrite_within_the_listed_second_is_fetched_again_by_its_etag(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3's Last-Modified has whole seconds: a file fetched within its second is checked again by
    its ETag (one HEAD) before it is skipped, so a same-size rewrite in that second is fetched."""


    first, second = same_size_parquets()
    relative = "complete_summary/dataset=x/part-0.parquet"
    source = tmp_path / "source"
    (source / relative).parent.mkdir(parents=True)
    (source / relative).write_bytes(first)
    with s3_emulator(source, bucket="butter-etag", prefix="butter") as s3:
        for key, value in s3.env.items():
            monkeypatch.setenv(key, value)
        out = tmp_path / "out"
        selection = Selection.parse(folders=["complete_summary"])
        assert run(s3.data_root, out, selection).transferred == 1
        record = download.read_manifest(out)[relative]
        assert record["etag"] and record["unsettled"] is True  # fetched within its Last-Modified second
        assert run(s3.data_root, out, selection).transferred == 0  # the same ETag: skipped
        s3.client().put_object(Bucket="butter-etag", Key=f"butter/{relative}", Body=second)
        listed = download.Source.list
        monkeypatch.setattr(download.Source, "list", lambda self, folder: [  # the same listed identity
            dataclasses.replace(f, identity=record["source_identity"]) for f in listed(self, folder)])
        again = run(s3.data_root, out, selection)
    assert again.transferred == 1 and not again.failed
    assert (out / relative).read_bytes() == second


def test_the_drift_check_sees_a_same_size_rewrite_within_the_listed_second_by_its_etag(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BUTTER_S3_CACHE=off (S3 read as it is): the scan records the ETag of a file it read within
    its Last-Modified second, and the drift check compares it again (one HEAD per such file), so
    a same-size rewrite that lists the same is a change; an unchanged file is not."""


    from butter_warehouse import drift, inventory, settings

    first, second = same_size_parquets()
    source = tmp_path / "source"
    for relative in ("complete_summary/dataset=x/part-0.parquet", "complete_summary/dataset=y/part-0.parquet"):
        (source / relative).parent.mkdir(parents=True)
        (source / relative).write_bytes(first)
    with s3_emulator(source, bucket="butter-drift", prefix="butter") as s3:
        cfg = settings.load({**os.environ, **s3.env})
        for relative in ("complete_summary/dataset=x/part-0.parquet", "complete_summary/dataset=y/part-0.parquet"):
            s3.client().put_object(Bucket="butter-drift", Key=f"butter/{relative}", Body=first)  # written just now
        scanned = inventory.scan(s3.data_root, cfg)
        identities = {f.path: f.identity or "" for f in scanned.files}
        assert len(identities) == 2 and all(drift.ETAG in i for i in identities.values()), identities
        assert drift.changes(identities, drift.current(s3.data_root, cfg, identities)) == {}
        rewritten = f"{s3.data_root}/complete_summary/dataset=x/part-0.parquet"
        s3.client().put_object(Bucket="butter-drift", Key="butter/complete_summary/dataset=x/part-0.parquet",
                               Body=second)
        listed = inventory.list_folder
        monkeypatch.setattr(drift.inventory, "list_folder", lambda inv, state, fs: [  # the same listed identity
            (path, size, identities[path].split(drift.ETAG)[0]) for path, size, _ in listed(inv, state, fs)])
        assert drift.changes(identities, drift.current(s3.data_root, cfg, identities)) == {"changed": [rewritten]}


def test_stopped_download_names_its_folder_not_the_warehouse(small: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from butter_warehouse import cli

    def interrupted(*args: Any, **kwargs: Any) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setenv("BUTTER_PROGRESS", "never")
    monkeypatch.setattr(download, "transfer", interrupted)
    out = tmp_path / "out"
    assert cli.main(["download", "--source", str(small), "--out", str(out), "--folders", "complete_summary"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"butter: interrupted; the files that arrived in {out} are kept whole and recorded, none half-written; run "
        "the same download again to resume (until it finishes, a build of that folder refuses).")
    assert download.downloads(out)[0]["state"] == "interrupted"
