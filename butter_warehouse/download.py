"""``butter download``: copy the published folders (or a selection) to a local data root.

    butter download --out data/butter                                  # every folder (the whole release: README, size)
    butter download --out data/butter --folders all_runs,complete_summary --datasets mnist
    butter download --out data/butter --sweeps learning_rate --where depth=2,3 --where shape=rectangle
    butter download --out data/zstd --compression zstd                  # re-encoded for Spark

Source: ``--source`` (default: ``BUTTER_DATA_ROOT`` when it is ``s3://``, else
``s3://oedi-data-lake/butter``), read with the S3 settings the scan uses
(``BUTTER_S3_*``, ``BUTTER_HTTP_*``, ``AWS_*``: ``storage.s3_filesystem``); a
local folder works too. The source's root is listed once: the selected folders it
does not have are named in the summary line ("not in the source: ..."), and its
entries that are not published folders (an unknown folder, a tarball) are recorded
for the scan of the copy, which names them as not read. Selection: folders
(``--folders``, ``--sweeps``; default every published folder the source has; a
sweep selects its runs and summary folders, and where the source has no folder of
the sweep's own, e.g. ``--sweeps optimizer`` on the current release, which has no
``optimizer_sweep_runs/``, the all-sweeps folder of that kind it has:
``all_runs/`` or ``all_repetitions/``, ``complete_summary/`` or
``complete_executive_summary/``, said in one line), then hive partition filters (``--datasets mnist`` is ``--where
dataset=mnist``; ``--where key=v1,v2`` keeps files under ``key=v1`` or ``key=v2``;
several ``--where`` must all hold; numbers match by value, ``learning_rate=1e-4``
= ``learning_rate=0.0001``). Files under no folder of a key (a folder's
``_common_metadata``) are kept.

Transfer: ``--concurrency`` (default ``BUTTER_S3_CONCURRENCY``, 32) files at once,
one GET each from an unsigned source (``s3_get``; a HEAD and a GET each through
pyarrow's client with credentials); each is written to
``.<name>.butter-part`` beside its final name, checked (bytes = the listing's
size, the parquet footer reads; re-encoded: the rows of the copy equal the
source's) and only then renamed to its name, atomically. A damaged transfer is
an error naming the file, and its temporary file is removed: nothing
half-written carries a name the build reads. ``_butter_download.jsonl`` in the
out folder records each finished file (source, its size and identity, local
size, encoding); a file is skipped when it is recorded with the same source
identity and its local size matches (or, for plain copies, when its size equals
the source's), so a second run transfers nothing and an interrupted run
continues where it stopped.

``_butter_download.json`` records each source and selection downloaded into the
folder (several are kept side by side): the files its listing held per folder,
the files that arrived, and its state: "in progress" from the start of the
transfer (rewritten every ``RECORD_EVERY`` seconds), then "finished",
"incomplete: files failed" or "interrupted" when it ends. The scan refuses a
root with an entry that is not "finished", naming each folder and how many of
its files arrived (so ``butter build`` builds nothing from it): running the same
download again resumes it. Finished partial selections become a note per folder
in ``audit.load_audit``. ``_butter_download.lock`` is ``flock``-ed while a
download writes the folder: a second download into it stops at once, a second
landing waits.

Refused before anything is written (``DownloadError``, exit 2): a source with an
empty segment (``s3://b//butter``), a key that would leave the out folder (a
``..``, ``.`` or empty segment: ``storage.segment_problem``; every destination
and every pruned path is also proven inside the folder, ``storage.inside``), a
source with none of the selected folders (no such bucket, a published folder
given as the root), a selection whose filter matches no file (naming the values
the folders have; a value of a filter whose other values match is one logged
line), ``--datasets a --where dataset=b`` (every filter must hold).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from . import contract
from .encoding import encoding_options, portable_dictionary_columns
from .errors import InputError
from .progress import Progress, format_duration
from .s3_get import UnsignedGetter
from .settings import Settings, coerce
from .storage import (
    SETTLE_SECONDS,
    etag,
    inside,
    is_data_file,
    is_parquet_file,
    is_s3,
    root_problem,
    s3_filesystem,
    segment_problem,
    stamp,
)

PUBLIC_ROOT = "s3://oedi-data-lake/butter"
MANIFEST = "_butter_download.jsonl"
SELECTIONS = "_butter_download.json"
PART_SUFFIX = ".butter-part"
CHUNK = 1 << 20
#: the files butter itself writes at a data root, never reported as unknown by the scan:
#: ``butter demo``'s manifest (demo.MANIFEST_NAME) and this module's records
LOCK = "_butter_download.lock"
KNOWN_ROOT_FILES = frozenset({"_demo_manifest.json", MANIFEST, SELECTIONS, f".{SELECTIONS}.tmp", LOCK})
#: the version of the record ``_butter_download.json`` (1: a single source's selections, written
#: before the transfer; 2: one entry per source and selection with its state and counts)
RECORD_VERSION = 2
#: how often a running download rewrites its entry's counts (seconds)
RECORD_EVERY = 2.0
ENCODINGS = ("copy", "zstd")


class DownloadError(InputError):
    """A selection or source that cannot be downloaded; the message says why."""

    names_command = True


# --- selection --------------------------------------------------------------------------------


def _split(values: Iterable[str]) -> list[str]:
    return [v.strip() for text in values for v in text.split(",") if v.strip()]


def _partition_keys() -> set[str]:
    return {name for spelling in contract.SPELLINGS for name in contract.partition_names(spelling)}


@dataclass
class Selection:
    """Which folders, and which hive partition values (key -> allowed texts)."""

    folders: list[str]
    where: dict[str, list[str]] = field(default_factory=dict)
    #: the sweeps asked for (``--sweeps``): their folders are in ``folders``; ``resolve`` adds
    #: the all-sweeps folders where the source has no folder of the sweep's own
    sweeps: list[str] = field(default_factory=list)
    #: no folder or sweep was named: every published folder the source has
    all_folders: bool = False

    @classmethod
    def parse(cls, folders: Iterable[str] = (), sweeps: Iterable[str] = (), datasets: Iterable[str] = (),
              where: Iterable[str] = ()) -> Selection:
        chosen: list[str] = []
        sweep_names: list[str] = []
        for folder in _split(folders):
            if folder not in contract.FOLDERS:
                raise DownloadError(f"unknown folder {folder!r}; the published folders are {', '.join(contract.FOLDERS)}")
            chosen.append(folder)
        for sweep in _split(sweeps):
            if sweep not in contract.SWEEPS:
                raise DownloadError(f"unknown sweep {sweep!r}; the sweeps are {', '.join(contract.SWEEPS)}")
            chosen += [f"{sweep}_sweep_runs", f"{sweep}_sweep_summary"]
            sweep_names.append(sweep)
        everything = not chosen
        chosen = [f for f in contract.FOLDERS if f in chosen] or list(contract.FOLDERS)
        filters: dict[str, list[str]] = {}
        if _split(datasets):
            filters["dataset"] = _split(datasets)
        keys = _partition_keys()
        for item in where:
            key, sep, values = item.partition("=")
            key = key.strip()
            if not sep or not key or not _split([values]):
                raise DownloadError(f"--where {item!r}: expected key=value[,value...], e.g. dataset=mnist")
            if key not in keys:
                raise DownloadError(f"--where {item!r}: {key!r} is not a partition key; the keys are "
                                    f"{', '.join(sorted(keys))}")
            wanted = _split([values])
            if key in filters:  # every filter must hold: a key given twice keeps the values both allow
                both = [v for v in filters[key] if any(_same_value(v, w) for w in wanted)]
                if not both:
                    raise DownloadError(f"--where {item!r} and the earlier {key}={','.join(filters[key])} (--datasets "
                                        f"or --where) cannot both hold: no value is in both")
                wanted = both
            filters[key] = wanted
        return cls(chosen, filters, list(dict.fromkeys(sweep_names)), everything)

    def resolve(self, existing: set[str]) -> tuple[Selection, list[str], list[str]]:
        """The selection narrowed to the folders the source has (``existing``: the names of the
        folders at its root); (that selection, the selected folders it lacks, one line per sweep
        whose own folder is missing saying which all-sweeps folder stands in for it). A sweep
        whose runs (summary) folder the source lacks takes its rows from the first all-sweeps
        runs (summary) folder the source has (all_runs/ or all_repetitions/, which are copies of
        each other; complete_summary/, else complete_executive_summary/)."""
        chosen = [f for f in self.folders if f in existing]
        missing = [f for f in self.folders if f not in existing]
        stand_ins: list[str] = []
        for sweep in self.sweeps:
            for own, candidates in (
                (f"{sweep}_sweep_runs", contract.ALL_SWEEPS_RUN_FOLDERS),
                (f"{sweep}_sweep_summary", contract.ALL_SWEEPS_SUMMARY_FOLDERS + (contract.EXECUTIVE_FOLDER,)),
            ):
                if own in existing:
                    continue
                have = [f for f in candidates if f in existing]
                if have:
                    chosen.append(have[0])
                    stand_ins.append(f"{own}/ is not in the source: the {sweep} sweep's rows are taken from {have[0]}/, "
                                     "which holds every sweep's (narrow it with --where)")
                else:
                    missing += [f for f in candidates if f not in missing]
        folders = [f for f in contract.FOLDERS if f in chosen]
        missing = [f for f in contract.FOLDERS if f in missing]
        return Selection(folders, dict(self.where), list(self.sweeps), self.all_folders), missing, stand_ins

    @property
    def complete(self) -> bool:
        return not self.where and (self.all_folders or list(self.folders) == list(contract.FOLDERS))

    def keeps(self, relative: str) -> bool:
        """Whether a path relative to its folder passes every partition filter."""
        segments = dict(s.split("=", 1) for s in relative.split("/")[:-1] if "=" in s)
        for key, allowed in self.where.items():
            other = key.replace(".", "_") if "." in key else key.replace("kernel_regularizer_", "kernel_regularizer.")
            value = segments.get(key, segments.get(other))
            if value is not None and not any(_same_value(value, a) for a in allowed):
                return False
        return True

    def describe(self) -> str:
        folders = ("all folders" if self.all_folders or list(self.folders) == list(contract.FOLDERS)
                   else ", ".join(self.folders))
        where = " and ".join(f"{k}={'|'.join(v)}" for k, v in self.where.items())
        return folders + (f" where {where}" if where else "")

    def as_json(self) -> dict[str, Any]:
        return {"folders": list(self.folders), "where": self.where}


def _same_value(text: str, wanted: str) -> bool:
    if text == wanted:
        return True
    try:
        return float(text) == float(wanted)
    except ValueError:
        return False


# --- source -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteFile:
    folder: str
    relative: str  # below the data root: all_runs/dataset=x/.../part-0.parquet
    source: str  # full source path (s3://... or local)
    size: int
    identity: str  # size:mtime_ns (as the scan records it)


class Source:
    """A data root to read from: ``s3://bucket/prefix`` or a local folder (pyarrow file systems);
    ``root`` as normalised where it was given (``storage.normalize_root``: ``Context.data_root``,
    ``butter download --source``)."""

    def __init__(self, root: str, env: Settings | Mapping[str, str] | None = None) -> None:
        from pyarrow import fs

        self.root = root
        problem = root_problem(root)
        if problem:
            raise DownloadError(f"the source {root} {problem}: give it as s3://bucket/prefix")
        self.getter: UnsignedGetter | None = None
        if is_s3(self.root):
            cfg = coerce(env)
            self.filesystem = s3_filesystem(cfg)
            self.base = self.root[len("s3://"):]
            self.prefix = "s3://"
            if not cfg.aws_access_key_id:  # unsigned: one GET per file, no HEAD first
                self.getter = UnsignedGetter(cfg)
        else:
            self.filesystem = fs.LocalFileSystem()
            self.base = self.root
            self.prefix = ""

    def list(self, folder: str) -> list[RemoteFile]:
        from pyarrow import fs

        base = f"{self.base}/{folder}"
        try:
            infos = self.filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
        except OSError as exc:
            raise DownloadError(f"{self.root}/{folder} could not be listed ({exc}). Check the source, "
                                "BUTTER_S3_ENDPOINT and the network.") from exc
        files = []
        refused = []
        for info in sorted(infos, key=lambda i: i.path):
            if info.type != fs.FileType.File:
                continue
            relative = info.path[len(self.base) + 1:]
            problem = segment_problem(relative)
            if problem:
                refused.append(f"{self.prefix}{info.path} ({problem})")
                continue
            size = int(info.size or 0)
            mtime = info.mtime_ns if info.mtime_ns is not None else ""
            files.append(RemoteFile(folder, relative, self.prefix + info.path, size, f"{size}:{mtime}"))
        if refused:
            more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
            raise DownloadError(f"{len(refused)} key(s) under {self.root}/{folder} cannot be written inside a local "
                                f"folder: {', '.join(refused[:3])}{more}; nothing was downloaded")
        return files

    def root_listing(self) -> tuple[set[str], Sequence[Any]]:
        """The source's root, listed once: (the names of its folders, the entries that are not
        published folders, as ``inventory.RootEntry``: recorded for the scan of the copy)."""
        from pyarrow import fs

        from .inventory.listing import root_entries

        try:
            infos = self.filesystem.get_file_info(fs.FileSelector(self.base, recursive=False, allow_not_found=True))
            entries = root_entries(self.root, self.filesystem if self.prefix else None, KNOWN_ROOT_FILES)
        except OSError as exc:
            raise DownloadError(f"{self.root} could not be listed ({exc}). Check the source, BUTTER_S3_ENDPOINT "
                                "and the network.") from exc
        return {i.base_name for i in infos if i.type == fs.FileType.Directory}, entries

    def open(self, remote: RemoteFile) -> Any:
        """A stream of the whole file: one unsigned GET (``s3_get``) from an unsigned S3 source,
        else pyarrow's client (a HEAD, then one GET for the body; a local file)."""
        path = remote.source[len(self.prefix):]
        if self.getter is not None:
            bucket, _, key = path.partition("/")
            return self.getter.open(bucket, key)
        return self.filesystem.open_input_stream(path)

    def etag(self, remote: RemoteFile) -> str | None:
        """The file's ETag now (one HEAD), or None where the store gives none (a local folder)."""
        return etag(self.filesystem, remote.source[len(self.prefix):])


# --- the manifest ------------------------------------------------------------------------------


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    """{relative path: last record} of the files finished in ``out``."""
    records: dict[str, dict[str, Any]] = {}
    path = out / MANIFEST
    if not path.exists():
        return records
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut by a kill: that file is checked again
            continue
        if isinstance(record, dict) and "path" in record:
            records[record["path"]] = record
    return records


def read_selections(root: str | Path) -> dict[str, Any] | None:
    """``root``'s record of what was downloaded into it (``RECORD_VERSION``), or None. A
    version-1 record (one source, written before its transfer) is read as finished entries."""
    path = Path(root) / SELECTIONS
    if not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        return None
    if not isinstance(recorded, dict):
        return None
    if recorded.get("version") != RECORD_VERSION:
        source = recorded.get("source", "?")
        recorded = {"version": RECORD_VERSION, "downloads": [
            {"source": source, "selection": selection, "complete_selection": bool(recorded.get("complete")),
             "state": "finished", "listed": {}, "arrived": {},
             "source_root_entries": recorded.get("source_root_entries", [])}
            for selection in recorded.get("selections", [])]}
    return recorded


def downloads(root: str | Path) -> list[dict[str, Any]]:
    """The entries of ``root``'s record: one per source and selection downloaded into it."""
    return [d for d in (read_selections(root) or {}).get("downloads", []) if isinstance(d, dict)]


def source_root_entries(root: str) -> list[Any]:
    """The entries at the root of each source ``root`` was downloaded from that are not published
    folders (recorded by ``download``; never copied), as ``inventory.RootEntry`` naming the source."""
    from .inventory.model import RootEntry

    entries = []
    seen: set[tuple[str, str]] = set()
    for item in downloads(root):
        source = item.get("source", "?")
        for entry in item.get("source_root_entries", []):
            key = (source, json.dumps(entry, sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            try:
                entries.append(RootEntry(**{**entry, "listed_at": source}))
            except TypeError:  # a record written by another version: not this one's to report
                continue
    return entries


def _held(selection: Mapping[str, Any]) -> str:
    where = " and ".join(f"{k}={'|'.join(v)}" for k, v in (selection.get("where") or {}).items())
    return f"partitions {where}" if where else "the whole folder"


def unfinished(root: str) -> list[str]:
    """One line per download into ``root`` that has not finished (interrupted, killed or with
    files that failed): its source and, per folder, how many of the listed files arrived."""
    lines = []
    for item in downloads(root):
        if item.get("state") == "finished":
            continue
        listed, arrived = item.get("listed") or {}, item.get("arrived") or {}
        counts = ", ".join(f"{folder}/ {arrived.get(folder, 0):,} of {n:,} files"
                           for folder, n in listed.items() if arrived.get(folder, 0) != n)
        state = item.get("state", "unfinished")
        lines.append(f"the butter download from {item.get('source', '?')} into {root} is {state} "
                     f"({counts or 'no files counted yet'})")
    return lines


def partial_notes(root: str) -> dict[str, str]:
    """{folder: note} for a data root written by ``butter download``: which partitions each
    partial selection holds and from which source, or where a complete copy came from (what
    the scan adds to each folder's ``audit.load_audit`` note)."""
    items = [d for d in downloads(root) if d.get("state") == "finished"]
    if not items:
        return {}
    notes: dict[str, str] = {}
    whole = all(d.get("complete_selection") for d in items)
    if whole:
        sources = list(dict.fromkeys(str(d.get("source", "?")) for d in items))
        return {folder: f"local copy of {' and '.join(f'{s}/{folder}' for s in sources)} (butter download or the "
                f"landing of butter build): each file's source path, size and last-modified time are in "
                f"{root}/{MANIFEST}" for folder in contract.FOLDERS}
    held: dict[str, list[tuple[str, str]]] = {}
    for item in items:
        selection = item.get("selection") or {}
        folders = contract.FOLDERS if item.get("complete_selection") else selection.get("folders", [])
        for folder in folders:
            held.setdefault(folder, []).append((str(item.get("source", "?")), _held(selection)))
    for folder, parts in held.items():
        sources = list(dict.fromkeys(source for source, _ in parts))
        if len(sources) == 1:
            text = f"partial download (butter download from {sources[0]}): this folder holds " + \
                "; ".join(dict.fromkeys(what for _, what in parts))
        else:
            text = "partial download (butter download from several sources): this folder holds " + \
                "; ".join(f"{what} from {source}" for source, what in dict.fromkeys(parts))
        notes[folder] = text + ("" if any(what == "the whole folder" for _, what in parts) else " only")
    return notes


# --- transfer ---------------------------------------------------------------------------------


class TransferError(Exception):
    """One file could not be transferred intact; the message names it. Internal: ``download``
    records the file as failed and goes on, so it never reaches the user (not a ``ButterError``)."""


def part_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{PART_SUFFIX}")


def _reencode(part: Path, target: Path, kind: contract.Kind, compression: str) -> int:
    """Write ``part``'s rows to ``target`` with the demo's portable writer settings; rows written."""
    source = pq.ParquetFile(part)  # one file, no hive partition columns added
    schema = source.schema_arrow
    writer = pq.ParquetWriter(target, schema, use_dictionary=portable_dictionary_columns(kind, schema.names),
                              use_byte_stream_split=False, **encoding_options(compression, kind))
    try:
        for index in range(source.num_row_groups):
            writer.write_table(source.read_row_group(index))
    finally:
        writer.close()
    rows = pq.read_metadata(target).num_rows
    if rows != source.metadata.num_rows:
        raise TransferError(f"re-encoded copy holds {rows} rows, the source {source.metadata.num_rows}")
    return rows


def transfer(source: Source, remote: RemoteFile, out: Path, encoding: str,
             stop: threading.Event | None = None) -> dict[str, Any]:
    """Fetch one file to ``out`` through a temporary name, check it, rename it; its manifest record."""
    try:
        dest = inside(out, remote.relative)
    except ValueError as exc:
        raise TransferError(f"{remote.source}: not written: {exc}") from None
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    encoded = part.with_name(part.name + ".zstd")
    received = 0
    etag: str | None = None
    modified: float | None = None
    unsettled = False
    try:
        try:
            opened_at = time.time()
            with source.open(remote) as stream, open(part, "wb") as handle:
                etag, modified = stamp(stream)
                unsettled = etag is not None and (modified is None or opened_at < modified + 1 + SETTLE_SECONDS)
                while True:
                    if stop is not None and stop.is_set():
                        raise TransferError("interrupted")
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    handle.write(chunk)
                    received += len(chunk)
        except OSError as exc:
            raise TransferError(f"the transfer failed after {received:,} bytes ({exc})") from exc
        if received != remote.size:
            raise TransferError(f"received {received:,} bytes, the listing says {remote.size:,}")
        data = is_data_file(str(part), received, name=dest.name)
        if data or is_parquet_file(str(part), received):  # data files and parquet metadata (_common_metadata)
            try:
                meta = pq.read_metadata(part)
            except Exception as exc:  # noqa: BLE001 - any unreadable footer is the same finding
                raise TransferError(f"its parquet footer does not read ({exc})") from exc
        final = part
        if data and encoding != "copy" and meta.num_row_groups:
            try:
                _reencode(part, encoded, contract.folder_kind(remote.folder), encoding)
            except TransferError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise TransferError(f"it could not be re-encoded as {encoding} ({exc})") from exc
            final = encoded
        os.replace(final, dest)
        return {"path": remote.relative, "source": remote.source, "source_size": remote.size,
                "source_identity": remote.identity, "size": dest.stat().st_size, "encoding": encoding,
                "etag": etag, "modified": modified, "unsettled": unsettled}
    except TransferError as exc:
        raise TransferError(f"{remote.source}: {exc}; nothing was written to {dest}") from None
    finally:
        for leftover in (part, encoded):
            leftover.unlink(missing_ok=True)


def is_done(remote: RemoteFile, out: Path, record: dict[str, Any] | None, encoding: str,
            source: Source | None = None) -> bool:
    """Whether ``remote`` is already in ``out`` as the source holds it now: recorded with the same
    listed identity and local size, and, when it was fetched within its Last-Modified second
    (``unsettled``), with the ETag the source gives now (one HEAD)."""
    dest = out / remote.relative
    try:
        size = dest.stat().st_size
    except OSError:
        return False
    if record is not None and record.get("source_identity") == remote.identity and record.get("encoding") == encoding:
        if record.get("size") != size:
            return False
        if record.get("unsettled") and record.get("etag") and source is not None:
            try:
                return source.etag(remote) == record["etag"]
            except OSError:
                return False
        return True
    return encoding == "copy" and record is None and size == remote.size


# --- progress ----------------------------------------------------------------------------------


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


class ByteProgress(Progress):
    """Files done of total, bytes done of total, byte rate, time left."""

    def __init__(self, desc: str, files: int, total_bytes: int, **kwargs: Any) -> None:
        super().__init__(desc, files, "file", **kwargs)
        self.total_bytes = total_bytes
        self.bytes = 0

    def add(self, nbytes: int) -> None:
        self.bytes += nbytes
        self.update(1)

    def line(self, *, finished: bool = False) -> str:
        elapsed = self.elapsed
        rate = self.bytes / elapsed if elapsed > 0 else 0.0
        text = (f"{self.desc}: {self.done:,}/{self.total or 0:,} files, {format_bytes(self.bytes)}/"
                f"{format_bytes(self.total_bytes)}, {format_bytes(rate)}/s")
        if finished:
            return text + f", {format_duration(elapsed)}"
        left = (self.total_bytes - self.bytes) / rate if rate > 0 else None
        return text + (f", {format_duration(left)} left" if left is not None else "")


# --- the command -----------------------------------------------------------------------------


@dataclass
class Result:
    listed: int = 0
    listed_bytes: int = 0
    transferred: int = 0
    transferred_bytes: int = 0
    stored_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pruned: int = 0
    #: selected published folders the source does not have
    missing: list[str] = field(default_factory=list)

    def summary(self, out: Path) -> str:
        rate = self.transferred_bytes / self.seconds if self.seconds > 0 else 0.0
        text = (f"downloaded {self.transferred:,} file(s), {format_bytes(self.transferred_bytes)} in "
                f"{self.seconds:.1f} s ({format_bytes(rate)}/s) to {out}; {self.skipped:,} already there "
                f"({format_bytes(self.skipped_bytes)}) of {self.listed:,} selected")
        if self.missing:
            text += f"; not in the source: {', '.join(f + '/' for f in self.missing)}"
        if self.failed:
            text += f"; {len(self.failed)} FAILED (listed above; run again to retry them)"
        return text


def download(source_root: str, out: Path, selection: Selection, *, concurrency: int, encoding: str = "copy",
             env: Settings | Mapping[str, str] | None = None, progress: bool | None = None,
             log: Callable[[str], None] | None = None, prune: bool = False, lock_wait: float = 0.0) -> Result:
    """Copy the selection from ``source_root`` into ``out``; see the module doc. Refuses
    (DownloadError, nothing written) a source or selection that matches no file, a key that
    would leave ``out``, and a folder another download is writing to (after ``lock_wait`` s)."""
    env = coerce(env)
    log = log or (lambda line: print(line, file=sys.stderr))
    if encoding not in ENCODINGS:
        raise DownloadError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    source = Source(source_root, env)
    out = Path(out).resolve()
    if source.prefix == "" and Path(source.root).resolve() == out:
        raise DownloadError(f"the source and the out folder are the same ({out})")
    started = time.monotonic()
    existing, entries = source.root_listing()
    requested = list(selection.folders)
    wanted = selection
    selection, missing, stand_ins = selection.resolve(existing)
    if not selection.folders:
        raise DownloadError(_nothing_there(source.root, existing, requested))
    selected = [f for folder in selection.folders for f in source.list(folder)]
    listing = [f for f in selected if selection.keeps(f.relative[len(f.folder) + 1:])]
    unmatched, refused = _unmatched(selection, selected)
    if refused or not listing:
        raise DownloadError(f"{wanted.describe()} matches no file in {source.root}"
                            + (f": {'; '.join(unmatched)}" if unmatched else "") + "; nothing was downloaded")
    for line in unmatched:  # a value of a filter whose other values match
        log(f"BUTTER download: {line}")
    for line in stand_ins:
        log(line)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out, lock_wait):
        return _download_locked(source, out, selection, listing, entries, missing, requested, started,
                                concurrency=concurrency, encoding=encoding, progress=progress, log=log, prune=prune)


def _nothing_there(root: str, existing: set[str], requested: Sequence[str]) -> str:
    if not existing:
        return (f"{root} holds nothing (no such bucket or prefix, or it is empty): check --source / "
                "BUTTER_DATA_ROOT; nothing was downloaded")
    inner = sorted(existing)
    hint = ""
    if any("=" in name for name in inner):
        hint = " (its folders are partition folders: it looks like one published folder; give its parent)"
    return (f"{root} has none of the selected folders ({', '.join(f + '/' for f in requested)}); it holds "
            f"{', '.join(f + '/' for f in inner[:5])}{' ...' if len(inner) > 5 else ''}{hint}; nothing was downloaded")


def _unmatched(selection: Selection, files: Sequence[RemoteFile]) -> tuple[list[str], bool]:
    """(one text per partition filter value that no listed file of the selected folders carries,
    with the values found there; whether a whole filter matches nothing)."""
    if not selection.where:
        return [], False
    found: dict[str, set[str]] = {}
    for remote in files:
        for segment in remote.relative.split("/")[1:-1]:
            if "=" in segment:
                key, value = segment.split("=", 1)
                found.setdefault(key, set()).add(value)
    texts = []
    refused = False
    for key, allowed in selection.where.items():
        other = key.replace(".", "_") if "." in key else key.replace("kernel_regularizer_", "kernel_regularizer.")
        values = found.get(key, set()) | found.get(other, set())
        if not values:
            continue  # no folder of the selection is partitioned by it: the filter keeps everything
        absent = [value for value in allowed if not any(_same_value(v, value) for v in values)]
        refused = refused or len(absent) == len(allowed)
        shown = sorted(values)
        texts += [f"no selected folder has {key}={value} (they have {', '.join(shown[:8])}"
                  + (" ..." if len(shown) > 8 else "") + ")" for value in absent]
    return texts, refused


class folder_lock:  # noqa: N801 - used as a context manager, like open()
    """``flock`` on ``LOCK`` in a download folder: exclusive for a writer (``butter download``
    and the landing of ``butter build``), ``shared`` for a build reading a landed copy, so no
    landing rewrites it during the build; a lock not granted is waited for ``wait`` seconds,
    then the command stops."""

    def __init__(self, out: Path, wait: float = 0.0, shared: bool = False) -> None:
        self.path = out / LOCK
        self.wait = wait
        self.shared = shared
        self.handle: Any = None

    def __enter__(self) -> folder_lock:
        import fcntl

        self.handle = open(self.path, "a+")
        deadline = time.monotonic() + max(0.0, self.wait)
        while True:
            try:
                fcntl.flock(self.handle, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.handle.seek(0)
                    holder = self.handle.read().strip() or "?"
                    self.handle.close()
                    raise DownloadError(f"another butter download, build landing or build reading its copy "
                                        f"(pid {holder}) is using {self.path.parent}; wait for it to finish, "
                                        "then run this again") from None
                time.sleep(0.2)
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _download_locked(source: Source, out: Path, selection: Selection, listing: list[RemoteFile],
                     entries: Sequence[Any], missing: list[str], requested: list[str], started: float, *,
                     concurrency: int, encoding: str, progress: bool | None, log: Callable[[str], None],
                     prune: bool) -> Result:
    records = read_manifest(out)
    result = Result(listed=len(listing), listed_bytes=sum(f.size for f in listing), missing=missing)
    if prune:  # a folder the source no longer has at all is pruned too
        result.pruned = _prune(out, set(requested) | set(selection.folders), records, {f.relative for f in listing})
    todo = []
    listed: dict[str, int] = {}
    arrived: dict[str, int] = {}
    settled = []
    for remote in listing:
        listed[remote.folder] = listed.get(remote.folder, 0) + 1
        record = records.get(remote.relative)
        if is_done(remote, out, record, encoding, source):
            if record is not None and record.get("unsettled") and isinstance(record.get("modified"), (int, float)) \
                    and time.time() >= record["modified"] + 1 + SETTLE_SECONDS:  # the ETag checked after the window
                settled.append({**record, "unsettled": False})
            result.skipped += 1
            result.skipped_bytes += remote.size
            arrived[remote.folder] = arrived.get(remote.folder, 0) + 1
        else:
            todo.append(remote)
    entry = {"source": source.root, "selection": selection.as_json(), "complete_selection": selection.complete,
             "listed": listed, "source_root_entries": [{k: v for k, v in asdict(e).items() if k != "listed_at"}
                                                      for e in entries]}
    if settled:
        with open(out / MANIFEST, "a") as manifest:
            manifest.writelines(json.dumps(record) + "\n" for record in settled)
    _record(out, {**entry, "state": "in progress", "arrived": arrived})
    stop = threading.Event()
    manifest_lock = threading.Lock()
    state = "interrupted"
    recorded_at = time.monotonic()
    bar = ByteProgress("download", len(todo), sum(f.size for f in todo), enabled=progress)
    try:
        with bar, open(out / MANIFEST, "a") as manifest, ThreadPoolExecutor(max(1, concurrency)) as pool:
            pending: dict[Future, RemoteFile] = {}
            queue = iter(todo)
            try:
                while True:
                    while len(pending) < 2 * max(1, concurrency):
                        queued = next(queue, None)
                        if queued is None:
                            break
                        pending[pool.submit(transfer, source, queued, out, encoding, stop)] = queued
                    if not pending:
                        break
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        remote = pending.pop(future)
                        try:
                            record = future.result()
                        except TransferError as exc:
                            result.failed.append(remote.source)
                            log(f"BUTTER download error: {exc}")
                            bar.update(0)
                            continue
                        with manifest_lock:
                            manifest.write(json.dumps(record) + "\n")
                            manifest.flush()
                        arrived[remote.folder] = arrived.get(remote.folder, 0) + 1
                        result.transferred += 1
                        result.transferred_bytes += remote.size
                        result.stored_bytes += record["size"]
                        bar.add(remote.size)
                    if time.monotonic() - recorded_at > RECORD_EVERY:
                        _record(out, {**entry, "state": "in progress", "arrived": arrived})
                        recorded_at = time.monotonic()
            except BaseException:
                stop.set()
                for future in pending:
                    future.cancel()
                raise
        state = "incomplete: files failed" if result.failed else "finished"
    finally:
        _record(out, {**entry, "state": state, "arrived": arrived})
    result.seconds = time.monotonic() - started
    return result


def _prune(out: Path, folders: set[str], records: dict[str, dict[str, Any]], listed: set[str]) -> int:
    """Delete the files this command wrote earlier (in the manifest) that the source no longer holds,
    each proven inside ``out`` first (a record naming a path outside it is dropped, not followed)."""
    gone = [rel for rel, record in records.items() if not record.get("deleted") and rel not in listed
            and rel.split("/", 1)[0] in folders]
    with open(out / MANIFEST, "a") as manifest:
        for rel in gone:
            records.pop(rel)
            manifest.write(json.dumps({"path": rel, "deleted": True}) + "\n")
            try:
                path = inside(out, rel)
            except ValueError:
                continue
            path.unlink(missing_ok=True)
            parent = path.parent
            while parent != out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    return len(gone)


def _record(out: Path, entry: dict[str, Any]) -> None:
    """Replace, in ``out``'s record, the entry of this source and selection with ``entry`` (the
    entries of other sources and selections are kept: a folder may hold several)."""
    recorded = read_selections(out) or {}
    same = (entry["source"], json.dumps(entry["selection"], sort_keys=True))
    kept = [d for d in recorded.get("downloads", [])
            if (d.get("source"), json.dumps(d.get("selection"), sort_keys=True)) != same]
    write_selections(out, {"version": RECORD_VERSION, "downloads": [*kept, entry]})


def write_selections(out: Path, data: dict[str, Any]) -> None:
    """Replace ``out``'s record of the selections it holds, atomically."""
    tmp = out / f".{SELECTIONS}.tmp"
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, out / SELECTIONS)


def default_source(env: Settings | Mapping[str, str] | None = None) -> str:
    root = coerce(env).data_root or ""
    return root if root.startswith("s3://") else PUBLIC_ROOT
