"""One file inventory of a BUTTER data root: what is on disk, read once.

``butter scan`` (and ``butter build``, before it starts dbt) lists every file
under each published folder *independently of the SQL reader* (local: walks
the folders following symbolic links and checks that each can be read; S3:
lists the prefix), reads each parquet footer ONCE and records per file: path,
folder, partition values (as text), rows, row groups, bytes, column names and
stored arrow types. It checks that against the contract
(:mod:`butter_warehouse.contract`) and writes three parquet files into one
folder, which dbt reads (``BUTTER_INVENTORY``):

``files.parquet``     one row per parquet data file
``folders.parquet``   one row per published folder (present, files, rows)
``problems.parquet``  one row per finding: ``error`` stops the build, ``warning``
                      is reported (and shown in ``audit.load_audit``)

Errors (the build refuses to start):

* the data root is missing, not a folder, or holds none of the published
  folders / no runs folder and no ``complete_summary``;
* a folder or file the build user cannot read, a folder linked by a symbolic
  link (DuckDB's ``**`` glob does not follow it, so its files would silently
  not be read), a parquet file whose footer cannot be read;
* a partition value that does not parse as its contract type
  (``depth=2.6``, ``depth=-1``, ``learning_rate=abc``);
* files of one folder storing one column with different types (DuckDB reads
  every file with the first file's types: integer arrays in the first file
  would round every other file's floats);
* a ``.parquet`` name that is not a regular file (a FIFO, socket or device:
  opening it could block the build forever); it is never opened. Other
  special files are warnings;
* a data root whose path holds ``{ } [ ] * ?``: DuckDB's reader would take
  them as glob characters (and dbt ``{`` as a format field).

NULL elements inside per-epoch arrays are data (NREL's export holds them:
"no value at this epoch"); a NULL, empty or short array damages only its row,
which the build quarantines (macros/intermediate/butter_damage.sql).

Each file's identity (local: size, modification time in ns and inode; S3:
size and last-modified time) is recorded in ``files.parquet``
(``file_identity``), so a build can check that nothing it read changed
(:mod:`butter_warehouse.drift`).


What is a data file: every file that is parquet by its magic bytes (``PAR1``
at start and end), whatever its name. Files named ``*.parquet`` are read by
the folder's glob; parquet files with other names (``part-1.PARQUET``,
Hive's ``000001_0``) are recorded too and staging reads them by name. Files
whose name starts with ``_`` or ``.`` and does not end in ``.parquet``
(``_common_metadata``, ``_metadata``, ``.crc``) are metadata, as Spark, Hive
and pyarrow treat them, and with every non-parquet file count as
``other_files``.

Partition values: ``__HIVE_DEFAULT_PARTITION__`` (the published NULL) and
the text ``NULL`` (any case; DuckDB reads it as NULL, and staging makes Spark
do the same) are NULL; the literal is reported. A partition column also
stored inside a file must hold the folder's value: the folder's value is
used (as DuckDB, Spark and pyarrow read hive partitions) and every row whose
file value differs is recorded (``partition_conflicts.parquet``, a row of
``audit.source_reconciliation``) and reported.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import contract, settings
from .errors import InputError
from .storage import is_parquet_file, is_s3, normalize_root, s3_filesystem  # noqa: F401 - also inventory's names for them

FILES = "files.parquet"
FOLDERS = "folders.parquet"
PROBLEMS = "problems.parquet"
PARTITION_CONFLICTS = "partition_conflicts.parquet"


class ScanError(InputError):
    """The data root cannot be built from; the message says why and what to do."""


@dataclass
class FileEntry:
    path: str
    folder: str
    kind: str
    partition_values: dict[str, str]
    rows: int
    row_groups: int
    bytes: int
    column_names: list[str]
    column_types: list[str]
    null_partition_columns: str | None = None
    identity: str | None = None  # size:mtime_ns:inode (local) or size:mtime_ns (S3)


@dataclass
class FolderState:
    folder: str
    kind: contract.Kind
    folder_path: str
    present: bool = False
    parquet_files: int = 0
    other_files: int = 0
    rows: int = 0


@dataclass
class Problem:
    severity: str  # "error" or "warning"
    folder: str | None
    path: str | None
    problem: str
    #: problems of one group are one line on the terminal (each is still its folder's row)
    group: str | None = None

    def line(self) -> str:
        return f"BUTTER scan {self.severity}: {self.problem}"


@dataclass
class PartitionConflict:
    """One row whose file stores a partition column with another value than its folder."""
    folder: str
    kind: str
    path: str
    entity_id: str | None
    experiment_id: int | None
    column: str
    folder_value: str  # key=value as in the path
    file_value: str | None


@dataclass
class Inventory:
    root: str
    files: list[FileEntry] = field(default_factory=list)
    folders: dict[str, FolderState] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    partition_conflicts: list[PartitionConflict] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def error(self, problem: str, folder: str | None = None, path: str | None = None) -> None:
        self.problems.append(Problem("error", folder, path, problem))

    def warning(self, problem: str, folder: str | None = None, path: str | None = None,
                group: str | None = None) -> None:
        self.problems.append(Problem("warning", folder, path, problem, group))


# --- the contract, as the scan needs it ---------------------------------------------------


def _by_spelling(kind: contract.Kind) -> dict[str, contract.Column]:
    """Every stored name (either spelling) of a folder kind -> its contract column."""
    names: dict[str, contract.Column] = {}
    for col in contract.columns(kind):
        for name in (col.published, col.framework):
            if name is not None:
                names[name] = col
    return names


def type_text(arrow_type: pa.DataType) -> str:
    """An arrow type as text, list item names left out (``list<float>``)."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"list<{type_text(arrow_type.value_type)}>"
    return str(arrow_type)


def _is_array(col: contract.Column) -> bool:
    return pa.types.is_list(col.arrow)


_UNSIGNED = re.compile(r"^[0-9]+$")


def is_null_partition(value: str) -> bool:
    """A partition value read as NULL: the published ``__HIVE_DEFAULT_PARTITION__``,
    or the text ``NULL`` in any case (DuckDB's hive reader reads it as NULL;
    staging makes Spark, which keeps it as text, do the same)."""
    return value == contract.HIVE_NULL or value.upper() == "NULL"


def partition_problem(name: str, value: str, col: contract.Column) -> str | None:
    """Why a partition value does not parse as its contract type (None: it does)."""
    if is_null_partition(value):
        return None
    arrow = col.arrow
    if pa.types.is_string(arrow):
        return None if value else "is empty"
    if pa.types.is_unsigned_integer(arrow):
        if not _UNSIGNED.match(value):
            return f"is not a whole number >= 0 ({name} is {arrow})"
        if int(value) >= 2 ** arrow.bit_width:
            return f"is out of range for {arrow}"
        return None
    if pa.types.is_integer(arrow):
        return None if re.match(r"^-?[0-9]+$", value) else f"is not a whole number ({name} is {arrow})"
    if pa.types.is_floating(arrow):
        try:
            number = float(value)
        except ValueError:
            return f"is not a number ({name} is {arrow})"
        if not math.isfinite(number) or number < 0:
            return f"is not a finite number >= 0 ({name} is {arrow})"
        return None
    return None


# --- file systems ---------------------------------------------------------------------------


#: characters DuckDB's reader takes as a glob (and dbt ``{`` as a format field)
GLOB_CHARACTERS = "{}[]*?"


def check_root_characters(root: str) -> None:
    """Refuse a data root whose path the SQL reader would not read as written."""
    found = "".join(dict.fromkeys(c for c in root if c in GLOB_CHARACTERS))
    if found:
        raise ScanError(
            f"data root '{root}' contains {' '.join(found)}: DuckDB's reader takes these as glob characters "
            "(and dbt '{' as a format field), so it would read other folders or none. Rename the folder, or "
            "link it from a path without them (ln -s) and set BUTTER_DATA_ROOT to that path."
        )


def local_identity(st: os.stat_result) -> str:
    """What changes when a local file is rewritten or replaced."""
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def special_kind(mode: int) -> str:
    """What a file that is not a regular file is (for messages)."""
    return next((name for test, name in _SPECIAL if test(mode)), "not a regular file")


# --- the scan ---------------------------------------------------------------------------------


def _partitions(relative_dir: str) -> list[tuple[str, str]]:
    parts = []
    for segment in relative_dir.replace("\\", "/").split("/"):
        if "=" in segment:
            key, value = segment.split("=", 1)
            parts.append((key, value))
    return parts


def _local_listing(inv: Inventory, state: FolderState) -> Iterable[tuple[str, int, str]]:
    """(path, bytes, identity) of every regular file below a local folder,
    following links; unreadable or linked folders, unreadable files and
    ``.parquet`` names that are not regular files (never opened) are errors."""
    base = state.folder_path

    def onerror(exc: OSError) -> None:
        inv.error(
            f"folder '{exc.filename}' cannot be listed ({exc.strerror}): its files would not be read. "
            "Give the build user read and execute permission on it (chmod -R a+rX) and build again.",
            state.folder,
            exc.filename,
        )

    for dirpath, dirnames, filenames in os.walk(base, onerror=onerror, followlinks=True):
        for name in dirnames:
            sub = os.path.join(dirpath, name)
            if os.path.islink(sub):
                inv.error(
                    f"folder '{sub}' is a symbolic link (to '{os.path.realpath(sub)}'): DuckDB's reader does not "
                    "follow linked folders, so its files would silently not be read. Replace the link with the "
                    "folder itself (copy or move it there) and build again.",
                    state.folder,
                    sub,
                )
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError as exc:
                inv.error(f"file '{path}' cannot be read ({exc.strerror}).", state.folder, path)
                continue
            if not stat.S_ISREG(st.st_mode):
                state.present = True
                message = (f"'{path}' is {special_kind(st.st_mode)}, not a regular file: it is not opened "
                           "(reading it could block the build). Move it out of the data root.")
                if name.endswith(".parquet"):
                    inv.error(message + " The SQL reader would try to read it as parquet.", state.folder, path)
                else:
                    inv.warning(message, state.folder, path)
                continue
            if not os.access(path, os.R_OK):
                inv.error(
                    f"file '{path}' cannot be read by the build user (permission denied): it would not be read. "
                    "Make it readable (chmod a+r) and build again.",
                    state.folder,
                    path,
                )
                continue
            yield path, st.st_size, local_identity(st)


def _s3_listing(inv: Inventory, state: FolderState, filesystem: Any) -> Iterable[tuple[str, int, str]]:
    from pyarrow import fs

    base = state.folder_path[len("s3://"):]
    try:
        infos = filesystem.get_file_info(fs.FileSelector(base, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise ScanError(
            f"the data root '{inv.root}' could not be listed ({exc}). Check BUTTER_DATA_ROOT, BUTTER_S3_ENDPOINT "
            "and the network; BUTTER_HTTP_TIMEOUT / BUTTER_HTTP_RETRIES bound how long each request waits."
        ) from exc
    for info in sorted(infos, key=lambda i: i.path):
        if info.type == fs.FileType.File:
            modified = info.mtime_ns if info.mtime_ns is not None else ""
            yield "s3://" + info.path, int(info.size or 0), f"{int(info.size or 0)}:{modified}"


def _read_footer(path: str, filesystem: Any | None) -> pq.FileMetaData:
    if filesystem is None:
        return pq.read_metadata(path)
    with filesystem.open_input_file(path[len("s3://"):]) as handle:
        return pq.read_metadata(handle)


def _has_parquet_magic(inv: Inventory, state: FolderState, path: str, size: int, filesystem: Any | None) -> bool:
    """``is_parquet_file``, with a file that cannot be read recorded as a scan error."""
    try:
        return is_parquet_file(path, size, filesystem)
    except OSError as exc:
        inv.error(f"file '{path}' cannot be read ({exc}).", state.folder, path)
        return False


def _read_columns(path: str, filesystem: Any | None, columns: list[str]) -> pa.Table:
    if filesystem is None:
        return pq.ParquetFile(path).read(columns=columns)
    with filesystem.open_input_file(path[len("s3://"):]) as handle:
        return pq.ParquetFile(handle).read(columns=columns)


def _check_partition_values(inv: Inventory, state: FolderState, path: str, filesystem: Any | None,
                            schema: pa.Schema, parts: list[tuple[str, str]],
                            by_name: dict[str, contract.Column]) -> None:
    """Partition columns also stored in the file: every row must hold its folder's
    value. Readers use the folder's (DuckDB, Spark and pyarrow alike), so each
    row that differs is recorded as a conflict. Costs nothing for published
    files, which store no partition column."""
    in_path = {by_name[key].name: (key, value) for key, value in parts if key in by_name and by_name[key].partition}
    stored = {by_name[name].name: name for name in schema.names
              if name in by_name and by_name[name].partition and by_name[name].name in in_path}
    if not stored:
        return
    key_name = "run_id" if state.kind == "runs" else "experiment_id"
    ids = [name for name in (key_name, "experiment_id") if name in schema.names]
    try:
        table = _read_columns(path, filesystem, sorted(set(ids) | set(stored.values())))
    except Exception as exc:  # noqa: BLE001 - any unreadable column is the same finding
        inv.error(
            f"'{path}' stores partition column(s) {', '.join(sorted(stored.values()))} that cannot be read ({exc}). "
            "Download that file again, or move it out of the data root to build without it.",
            state.folder,
            path,
        )
        return
    entity_ids = table[key_name].to_pylist() if key_name in ids else [None] * table.num_rows
    experiment_ids = table["experiment_id"].to_pylist() if "experiment_id" in ids else [None] * table.num_rows
    for canonical, name in sorted(stored.items()):
        key, text = in_path[canonical]
        col = by_name[name]
        try:  # compare as the contract type staging casts both to (float32 learning rates, ...)
            folder_value = None if is_null_partition(text) else pa.array([text]).cast(col.arrow)[0].as_py()
            file_values = table[name].cast(col.arrow).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            folder_value = None if is_null_partition(text) else text
            file_values = [None if v is None else str(v) for v in table[name].to_pylist()]
        try:
            file_texts = table[name].cast(pa.string()).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            file_texts = [None if v is None else str(v) for v in table[name].to_pylist()]
        for row, file_value in enumerate(file_values):
            if file_value != folder_value:
                inv.partition_conflicts.append(PartitionConflict(
                    folder=state.folder, kind=state.kind, path=path,
                    entity_id=None if entity_ids[row] is None else str(entity_ids[row]),
                    experiment_id=experiment_ids[row], column=canonical, folder_value=f"{key}={text}",
                    file_value=file_texts[row],
                ))


def _report_partition_conflicts(inv: Inventory, state: FolderState) -> None:
    """One warning per folder and column (shown in audit.load_audit's note)."""
    by_column: dict[str, list[PartitionConflict]] = {}
    for conflict in inv.partition_conflicts:
        if conflict.folder == state.folder:
            by_column.setdefault(conflict.column, []).append(conflict)
    for column, conflicts in sorted(by_column.items()):
        first = min(conflicts, key=lambda c: (c.path, c.entity_id or ""))
        files = len({c.path for c in conflicts})
        inv.warning(
            f"column {column} is stored in {files} file(s) with another value than their partition folder in "
            f"{len(conflicts)} row(s), e.g. '{first.path}' (folder {first.folder_value}, file {column}="
            f"{first.file_value}): the folder's value is used, as DuckDB, Spark and pyarrow read hive "
            "partitions; each row is listed in audit.source_reconciliation (partition_value_differs_from_file)",
            state.folder,
            first.path,
        )


def scan(root: str, env: settings.Settings | Mapping[str, str] | None = None) -> Inventory:
    """Inventory and check a data root (already normalized, see normalize_root).

    On S3 the footers are read by ``BUTTER_S3_CONCURRENCY`` threads (default 32);
    the findings are the same, in the same order, as one at a time. A local root
    written by ``butter download`` with a partial selection gets a note per folder
    saying which partitions it holds (``audit.load_audit.note``)."""
    from .download import partial_notes as download_notes

    cfg = settings.coerce(env)
    check_root_characters(root)
    inv = Inventory(root=root)
    filesystem = s3_filesystem(cfg) if is_s3(root) else None
    concurrency = cfg.s3_concurrency
    partial = {} if filesystem is not None else download_notes(root)
    if filesystem is None:
        if not os.path.exists(root):
            raise ScanError(
                f"data root '{root}' does not exist. Set BUTTER_DATA_ROOT to the folder that holds the BUTTER "
                "folders (all_runs/, complete_summary/, ...); relative paths are taken from where you run butter."
            )
        if not os.path.isdir(root):
            raise ScanError(f"data root '{root}' is not a folder. Set BUTTER_DATA_ROOT to the folder that holds "
                            "the BUTTER folders (all_runs/, complete_summary/, ...).")
        if not os.access(root, os.R_OK | os.X_OK):
            raise ScanError(f"data root '{root}' cannot be read by the build user (permission denied).")

    for folder in contract.FOLDERS:
        kind = contract.folder_kind(folder)
        state = FolderState(folder, kind, f"{root}/{folder}")
        inv.folders[folder] = state
        if filesystem is None:
            if not os.path.exists(state.folder_path):
                continue
            if not os.path.isdir(state.folder_path):
                inv.error(f"'{state.folder_path}' is not a folder.", folder, state.folder_path)
                continue
            if os.path.islink(state.folder_path):
                inv.warning(f"folder '{state.folder_path}' is a symbolic link; it is read through the link.", folder)
            listing = _local_listing(inv, state)
        else:
            listing = _s3_listing(inv, state, filesystem)
        _scan_folder(inv, state, listing, filesystem, concurrency)
        if state.present and state.folder in partial:
            note = partial[state.folder]
            # one terminal line for a whole copy's notes, which differ only by folder name
            inv.warning(note, folder, group=note.replace(f"/{folder} ", "/<folder> ", 1))

    present = [f for f, s in inv.folders.items() if s.present]
    if not present:
        raise ScanError(
            f"data root '{root}' holds none of the published BUTTER folders ({', '.join(contract.FOLDERS[:2])}, "
            "..._sweep_runs/, ..._sweep_summary/). Check BUTTER_DATA_ROOT (a misspelt or empty folder would "
            "publish an empty warehouse)."
        )
    with_data = [f for f in present if inv.folders[f].parquet_files > 0]
    if "complete_summary" not in with_data and not any(f in contract.RUN_FOLDERS for f in with_data):
        raise ScanError(
            f"data root '{root}' has no parquet files in all_runs/, complete_summary/ or any *_sweep_runs/ "
            f"(found: {', '.join(present)}). Download the runs or the complete summary first."
        )
    _check_types(inv)
    return inv


def list_folder(inv: Inventory, state: FolderState, filesystem: Any) -> Iterable[tuple[str, int, str]]:
    """(path, bytes, identity) of the files of one folder (local or S3)."""
    return _local_listing(inv, state) if filesystem is None else _s3_listing(inv, state, filesystem)


def _footers(listing: Iterable[tuple[str, int, str]], filesystem: Any, concurrency: int
             ) -> Iterator[tuple[str, int, str, pq.FileMetaData | Exception | None]]:
    """The listing with each ``*.parquet`` footer read ahead: on S3 by ``concurrency``
    threads in bounded chunks (footer reads are round trips; holding every footer of
    10^5 files at once would not fit), in listing order; locally one at a time when
    needed (a local footer read costs ~0.25 ms)."""
    if filesystem is None or concurrency <= 1:
        for path, size, identity in listing:
            yield path, size, identity, None
        return

    def read(path: str) -> pq.FileMetaData | Exception:
        try:
            return _read_footer(path, filesystem)
        except Exception as exc:  # noqa: BLE001 - reported where the file is scanned
            return exc

    items = list(listing)
    chunk = 8 * concurrency
    with ThreadPoolExecutor(concurrency, thread_name_prefix="butter-scan") as pool:
        for start in range(0, len(items), chunk):
            part = items[start:start + chunk]
            footers = pool.map(lambda item: read(item[0]) if item[0].endswith(".parquet") else None, part)
            for (path, size, identity), meta in zip(part, footers, strict=True):
                yield path, size, identity, meta


def _scan_folder(inv: Inventory, state: FolderState, listing: Iterable[tuple[str, int, str]], filesystem: Any,
                 concurrency: int = 1) -> None:
    by_name = _by_spelling(state.kind)
    partition_cols = {name: col for name, col in by_name.items() if col.partition}
    bad_partitions: set[str] = set()
    literal_nulls: dict[tuple[str, str], set[str]] = {}
    for path, size, identity, footer in _footers(listing, filesystem, concurrency):
        state.present = True
        if not path.endswith(".parquet"):
            # not matched by the folder's `*.parquet` glob: a data file if its bytes say parquet
            # (staging then reads it by name); metadata names (_common_metadata, .crc) never are
            name = path.rsplit("/", 1)[-1]
            if name.startswith(("_", ".")) or not _has_parquet_magic(inv, state, path, size, filesystem):
                state.other_files += 1
                continue
        relative_dir = os.path.dirname(path[len(state.folder_path) + 1:])
        parts = _partitions(relative_dir)
        for key, value in parts:
            col = partition_cols.get(key)
            where = f"{state.folder_path}/{relative_dir}"
            if col is None:
                if where not in bad_partitions:
                    inv.warning(f"partition folder '{where}' has an unknown partition key '{key}'.", state.folder, where)
                    bad_partitions.add(where)
                continue
            if value != contract.HIVE_NULL and is_null_partition(value):
                literal_nulls.setdefault((key, value), set()).add(where)
            reason = partition_problem(key, value, col)
            if reason and where not in bad_partitions:
                bad_partitions.add(where)
                inv.error(
                    f"partition folder '{where}': {key}={value} {reason}. Rename the folder to the published "
                    "value or move it out of the data root.",
                    state.folder,
                    where,
                )
        try:
            if isinstance(footer, Exception):
                raise footer
            meta = footer if footer is not None else _read_footer(path, filesystem)
        except Exception as exc:  # noqa: BLE001 - any unreadable footer is the same finding
            inv.error(
                f"'{path}' is not a readable parquet file ({exc}). Download that file again, or move it out "
                "of the data root to build without it.",
                state.folder,
                path,
            )
            continue
        schema = meta.schema.to_arrow_schema()
        null_parts = [
            partition_cols[key].name for key, value in parts
            if is_null_partition(value) and key in partition_cols
            and partition_cols[key].name != "kernel_regularizer_type"
        ]
        state.parquet_files += 1
        state.rows += meta.num_rows
        inv.files.append(FileEntry(
            path=path, folder=state.folder, kind=state.kind, partition_values=dict(parts),
            rows=meta.num_rows, row_groups=meta.num_row_groups, bytes=size,
            column_names=list(schema.names), column_types=[type_text(t) for t in schema.types],
            null_partition_columns=", ".join(null_parts) or None, identity=identity,
        ))
        _check_partition_values(inv, state, path, filesystem, schema, parts, by_name)
    for (key, value), wheres in sorted(literal_nulls.items()):
        inv.warning(
            f"partition value {key}={value} in {len(wheres)} folder(s), e.g. '{min(wheres)}', is read as NULL "
            f"(the published NULL is {key}={contract.HIVE_NULL}); rename the folder(s) if a value was meant",
            state.folder,
            min(wheres),
        )
    _report_partition_conflicts(inv, state)


def _check_types(inv: Inventory) -> None:
    """Per folder: files that store a column with different types (DuckDB
    would read them all with the first file's types: error), files missing a
    required column (error), files missing an optional column others store
    (warning: read where stored), columns outside the contract or stored with
    another type in every file (warnings: not staged / cast on read)."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for entry in inv.files:
        for name, type_ in zip(entry.column_names, entry.column_types, strict=True):
            seen.setdefault((entry.folder, name), {}).setdefault(type_, []).append(entry.path)
    for folder in contract.FOLDERS:
        files = [f for f in inv.files if f.folder == folder]
        by_name = _by_spelling(contract.folder_kind(folder))
        optional_lacking: dict[tuple[str, ...], list[str]] = {}
        for col in contract.columns(contract.folder_kind(folder)):
            if col.partition:
                continue
            lacking = [f.path for f in files if col.published not in f.column_names
                       and col.framework not in f.column_names]
            if not col.required:
                if lacking and len(lacking) < len(files):
                    optional_lacking.setdefault(tuple(lacking), []).append(col.name)
                continue
            if lacking and len(lacking) < len(files):
                inv.error(
                    f"column '{col.published}' (or '{col.framework}') is missing from {len(lacking)} file(s) of "
                    f"'{inv.root}/{folder}', e.g. '{lacking[0]}', although the other files have it: the folder "
                    "mixes exports of different schemas. Download those file(s) again or keep one export per folder.",
                    folder,
                    lacking[0],
                )
        for lacking_files, names in sorted(optional_lacking.items()):
            inv.warning(
                f"optional column(s) {', '.join(names)} missing from {len(lacking_files)} file(s), e.g. "
                f"{lacking_files[0]}, and stored in the other {len(files) - len(lacking_files)}: read where stored, "
                "NULL in the rows of the file(s) without them",
                folder,
                lacking_files[0],
            )
        for (f, name), by_type in sorted(seen.items()):
            if f != folder:
                continue
            column = by_name.get(name)
            paths = sorted(p for ps in by_type.values() for p in ps)
            if column is None:
                inv.warning(
                    f"column {name} is outside the BUTTER schema and not staged ({len(paths)} file(s), e.g. {paths[0]})",
                    folder, paths[0],
                )
            elif len(by_type) == 1 and next(iter(by_type)) != type_text(column.arrow):
                inv.warning(
                    f"column {name} is stored as {next(iter(by_type))}, expected {type_text(column.arrow)}: values are "
                    f"cast on read ({len(paths)} file(s), e.g. {paths[0]})",
                    folder, paths[0],
                )
    for (folder, name), by_type in sorted(seen.items()):
        if len(by_type) < 2:
            continue
        column = _by_spelling(contract.folder_kind(folder)).get(name)
        expected = type_text(column.arrow) if column else None
        odd = [t for t in by_type if t != expected] if expected in by_type else sorted(by_type)[1:]
        for type_ in odd:
            paths = by_type[type_]
            inv.error(
                f"column '{name}' of '{inv.root}/{folder}' is stored as {type_} in {len(paths)} file(s), e.g. "
                f"'{paths[0]}', but as {', '.join(t for t in sorted(by_type) if t != type_)} in the others"
                + (f" (the published type is {expected})" if expected else "")
                + ": one folder must store one type per column (the reader would take the first file's type "
                "and convert the others). Re-export or download those file(s) again.",
                folder,
                paths[0],
            )


# --- writing and reading -----------------------------------------------------------------


def write(inv: Inventory, out_dir: Path) -> Path:
    """Write the three inventory tables into ``out_dir``; returns it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = pa.table({
        "path": pa.array([f.path for f in inv.files], pa.string()),
        "folder": pa.array([f.folder for f in inv.files], pa.string()),
        "folder_kind": pa.array([f.kind for f in inv.files], pa.string()),
        "partition_values": pa.array([list(f.partition_values.items()) for f in inv.files],
                                     pa.map_(pa.string(), pa.string())),
        "num_rows": pa.array([f.rows for f in inv.files], pa.int64()),
        "num_row_groups": pa.array([f.row_groups for f in inv.files], pa.int64()),
        "num_bytes": pa.array([f.bytes for f in inv.files], pa.int64()),
        "column_names": pa.array([f.column_names for f in inv.files], pa.list_(pa.string())),
        "column_types": pa.array([f.column_types for f in inv.files], pa.list_(pa.string())),
        "null_partition_columns": pa.array([f.null_partition_columns for f in inv.files], pa.string()),
        "file_identity": pa.array([f.identity for f in inv.files], pa.string()),
    })
    states = list(inv.folders.values())
    folders = pa.table({
        "folder": pa.array([s.folder for s in states], pa.string()),
        "folder_kind": pa.array([s.kind for s in states], pa.string()),
        "folder_path": pa.array([s.folder_path for s in states], pa.string()),
        "is_present": pa.array([s.present for s in states], pa.bool_()),
        "parquet_files": pa.array([s.parquet_files for s in states], pa.int64()),
        "other_files": pa.array([s.other_files for s in states], pa.int64()),
        "num_rows": pa.array([s.rows for s in states], pa.int64()),
    })
    problems = pa.table({
        "severity": pa.array([p.severity for p in inv.problems], pa.string()),
        "folder": pa.array([p.folder for p in inv.problems], pa.string()),
        "path": pa.array([p.path for p in inv.problems], pa.string()),
        "problem": pa.array([p.problem for p in inv.problems], pa.string()),
    })
    conflicts = inv.partition_conflicts
    partition_conflicts = pa.table({
        "folder": pa.array([c.folder for c in conflicts], pa.string()),
        "folder_kind": pa.array([c.kind for c in conflicts], pa.string()),
        "path": pa.array([c.path for c in conflicts], pa.string()),
        "entity_id": pa.array([c.entity_id for c in conflicts], pa.string()),
        "experiment_id": pa.array([c.experiment_id for c in conflicts], pa.int64()),
        "column_name": pa.array([c.column for c in conflicts], pa.string()),
        "folder_value": pa.array([c.folder_value for c in conflicts], pa.string()),
        "file_value": pa.array([c.file_value for c in conflicts], pa.string()),
    })
    for table, name in ((files, FILES), (folders, FOLDERS), (problems, PROBLEMS),
                        (partition_conflicts, PARTITION_CONFLICTS)):
        tmp = out_dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, out_dir / name)
    (out_dir / "root.json").write_text(json.dumps({"root": inv.root}))
    return out_dir


# --- the scan inside dbt (a DuckDB function registered by the dbt-duckdb plugin) ------------

_LOCK = threading.Lock()
_DONE: dict[str, str] = {}


def scan_for_dbt(root: str) -> str:
    """Scan ``root`` once per process and write the inventory to a private
    temporary folder; returns that folder. Used when dbt runs without
    ``butter build`` (which passes its own inventory in BUTTER_INVENTORY).
    Problems (root-level ones with no folder) are written for the staging
    models to report: they stop dbt commands that build, and are logged by
    those that only compile (lint, docs, analyses)."""
    root = root.strip().rstrip("/")  # as dbt gives it: inventory paths must match the reader's file names
    with _LOCK:
        if root not in _DONE:
            try:
                inv = scan(root)
            except ScanError as exc:  # recorded: dbt commands that build stop on it, compile/lint go on
                inv = Inventory(root=root)
                for folder in contract.FOLDERS:
                    kind = contract.folder_kind(folder)
                    inv.folders[folder] = FolderState(folder, kind, f"{root}/{folder}")
                inv.error(str(exc))
            out = Path(tempfile.mkdtemp(prefix="butter-inventory-"))
            atexit.register(shutil.rmtree, out, True)
            write(inv, out)
            _DONE[root] = str(out)
        return _DONE[root]


def summary_lines(inv: Inventory) -> list[str]:
    """What the scan found, for the terminal."""
    present = [s for s in inv.folders.values() if s.present]
    lines = [
        f"scanned {inv.root}: {len(inv.files)} parquet files, {sum(s.rows for s in present)} rows in "
        f"{len(present)} of {len(inv.folders)} published folders"
    ]
    absent = [s.folder for s in inv.folders.values() if not s.present]
    if absent:
        lines.append(f"absent (skipped): {', '.join(absent)}")
    groups: dict[str, list[Problem]] = {}
    for p in inv.problems:
        if p.group is not None:
            groups.setdefault(p.group, []).append(p)
    for p in inv.problems:
        members = groups.get(p.group) if p.group is not None else None
        if members is None or len(members) == 1:
            lines.append(p.line())
        elif members[0] is p:
            lines.append(f"BUTTER scan {p.severity}: {p.group} ({len(members)} folders)")
    return lines
