"""Listing a data root's folders for the scan: local walks (links, permissions, special files)
and S3 prefixes, each file with its identity; footers and columns read from either."""

from __future__ import annotations

import io
import os
import re
import stat
import time
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract, storage
from ..s3_get import UnsignedGetter
from .model import ARCHIVE, UNKNOWN, FolderState, Inventory, RootEntry, ScanError

#: characters DuckDB's reader takes as a glob (and dbt ``{`` as a format field)
GLOB_CHARACTERS = "{}[]*?"


def check_root_characters(root: str) -> None:
    """Refuse a data root whose path the SQL reader would not read as written."""
    problem = storage.root_problem(root)
    if problem:
        raise ScanError(f"data root '{root}' {problem}: give it as s3://bucket/prefix (set BUTTER_DATA_ROOT).")
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


def partitions(relative_dir: str) -> list[tuple[str, str]]:
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


def list_folder(inv: Inventory, state: FolderState, filesystem: Any) -> Iterable[tuple[str, int, str]]:
    """(path, bytes, identity) of the files of one folder (local or S3)."""
    return _local_listing(inv, state) if filesystem is None else _s3_listing(inv, state, filesystem)


#: the bytes an unsigned footer read GETs from the end of a remote file: what pyarrow itself reads
#: first for a footer (64 KiB), so a footer up to that size costs one request, a larger one two
FOOTER_TAIL = 64 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class TailBytes(io.RawIOBase):
    """A file of ``size`` bytes of which only the last ones, from ``start``, were fetched: seekable
    over the whole size and readable in the fetched part, as pyarrow's footer reader needs."""

    def __init__(self, size: int, start: int, data: bytes) -> None:
        super().__init__()
        self._size, self._start, self._data, self._pos = size, start, data, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._size, self._pos + len(view))
        if end <= self._pos:
            return 0
        if self._pos < self._start:
            raise OSError(f"bytes {self._pos}-{end - 1} are before the {len(self._data)} fetched from the end")
        chunk = self._data[self._pos - self._start:end - self._start]
        view[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def _extent(headers: dict[str, str], received: int) -> tuple[int, int]:
    """(object size, offset of the bytes received) from a response's Content-Range (a whole
    object, status 200, has none)."""
    match = _CONTENT_RANGE.fullmatch(headers.get("content-range", "").strip())
    if match is None:
        return received, 0
    return int(match.group(3)), int(match.group(1))


def _tail_footer(path: str, getter: UnsignedGetter) -> tuple[pq.FileMetaData, str | None, float | None]:
    """A remote file's footer from unsigned suffix-range GETs (no HEAD): its last FOOTER_TAIL
    bytes, then, for a larger footer, as many as the footer's length says. (footer, ETag,
    Last-Modified) of the first response."""
    bucket, _, key = path[len("s3://"):].partition("/")
    with getter.open(bucket, key, tail=FOOTER_TAIL) as stream:
        etag, modified = storage.stamp(stream)
        headers, data = stream.metadata(), stream.read()
    size, start = _extent(headers, len(data))
    if start > 0 and len(data) >= 8 and data[-4:] == b"PAR1":
        need = int.from_bytes(data[-8:-4], "little") + 8
        if need > len(data):
            with getter.open(bucket, key, tail=need) as stream:
                headers, data = stream.metadata(), stream.read()
            size, start = _extent(headers, len(data))
    return pq.read_metadata(TailBytes(size, start, data)), etag, modified


def read_footer_and_etag(path: str, filesystem: Any,
                         getter: UnsignedGetter | None = None) -> tuple[pq.FileMetaData, str | None]:
    """An S3 file's footer, and its ETag when the file was read within its Last-Modified second
    (``storage.unsettled``: a rewrite of the same size in that second would list the same).
    With ``getter`` (an unsigned source) one suffix-range GET; else pyarrow's HEAD and GET."""
    read_at = time.time()
    if getter is not None:
        meta, etag, modified = _tail_footer(path, getter)
    else:
        with filesystem.open_input_file(path[len("s3://"):]) as handle:
            etag, modified = storage.stamp(handle)
            meta = pq.read_metadata(handle)
    return meta, etag if etag and storage.unsettled(modified, read_at) else None


def read_footer(path: str, filesystem: Any | None, getter: UnsignedGetter | None = None) -> pq.FileMetaData:
    if filesystem is None:
        return pq.read_metadata(path)
    if getter is not None:
        return _tail_footer(path, getter)[0]
    with filesystem.open_input_file(path[len("s3://"):]) as handle:
        return pq.read_metadata(handle)


def is_data_file(inv: Inventory, state: FolderState, path: str, size: int, filesystem: Any | None) -> bool:
    """``storage.is_data_file`` (the one definition of a parquet data file), with a file that
    cannot be read recorded as a scan error. A file not matched by the folder's ``*.parquet``
    glob is a data file when its bytes say parquet (staging then reads it by name)."""
    try:
        return storage.is_data_file(path, size, filesystem)
    except OSError as exc:
        inv.error(f"file '{path}' cannot be read ({exc}).", state.folder, path)
        return False


def read_columns(path: str, filesystem: Any | None, columns: list[str]) -> pa.Table:
    if filesystem is None:
        return pq.ParquetFile(path).read(columns=columns)
    with filesystem.open_input_file(path[len("s3://"):]) as handle:
        return pq.ParquetFile(handle).read(columns=columns)


# --- entries at the data root that are not published folders -------------------------------------


def archive_stem(name: str) -> str | None:
    """The name without its archive suffix (``all_runs.tar.xz`` -> ``all_runs``), or None."""
    suffixes = sorted((s for s in contract.ARCHIVE_SUFFIXES if name.lower().endswith(s)), key=len)
    return name[: -len(suffixes[-1])] if suffixes else None


def root_entry(name: str, path: str, is_folder: bool, folders_here: set[str]) -> RootEntry:
    """An entry at the root that is not a published folder: an archive (by its suffix; of the
    folder its name names, when that is a published folder or a folder beside it) or unknown."""
    stem = None if is_folder else archive_stem(name)
    if stem is not None:
        of = stem if stem in contract.FOLDERS or stem in folders_here else None
        return RootEntry(name, ARCHIVE, path, is_folder, archive_of=of, folder_beside=stem in folders_here)
    return RootEntry(name, UNKNOWN, path, is_folder)


def _count(entry: RootEntry, files: Iterable[tuple[str, int]]) -> RootEntry:
    for name, size in files:
        entry.files += 1
        entry.bytes += size
        entry.parquet_files += name.lower().endswith(".parquet")
    return entry


def _local_root_entries(root: str, known: frozenset[str]) -> list[RootEntry]:
    try:
        listed = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []  # the root itself was checked readable; nothing more to say
    folders_here = {e.name for e in listed if e.is_dir()}
    entries = []
    for item in listed:
        if item.name in contract.FOLDERS or item.name in known:
            continue
        entry = root_entry(item.name, item.path, item.is_dir(), folders_here)
        if entry.is_folder:
            sizes = []
            for dirpath, _dirs, names in os.walk(item.path, followlinks=True):
                for name in names:
                    try:
                        sizes.append((name, os.stat(os.path.join(dirpath, name)).st_size))
                    except OSError:
                        sizes.append((name, 0))
            _count(entry, sizes)
        else:
            try:
                _count(entry, [(item.name, item.stat().st_size)])
            except OSError:
                _count(entry, [(item.name, 0)])
        entries.append(entry)
    return entries


def _s3_root_entries(root: str, filesystem: Any, known: frozenset[str]) -> list[RootEntry]:
    from pyarrow import fs

    base = root[len("s3://"):]
    try:
        listed = filesystem.get_file_info(fs.FileSelector(base, recursive=False, allow_not_found=True))
    except OSError as exc:
        raise ScanError(
            f"the data root '{root}' could not be listed ({exc}). Check BUTTER_DATA_ROOT, BUTTER_S3_ENDPOINT "
            "and the network; BUTTER_HTTP_TIMEOUT / BUTTER_HTTP_RETRIES bound how long each request waits."
        ) from exc
    listed = sorted(listed, key=lambda i: i.path)
    folders_here = {i.base_name for i in listed if i.type == fs.FileType.Directory}
    entries = []
    for info in listed:
        name = info.base_name
        if name in contract.FOLDERS or name in known or info.type not in (fs.FileType.File, fs.FileType.Directory):
            continue
        entry = root_entry(name, "s3://" + info.path, info.type == fs.FileType.Directory, folders_here)
        if entry.is_folder:
            below = filesystem.get_file_info(fs.FileSelector(info.path, recursive=True, allow_not_found=True))
            _count(entry, [(i.base_name, int(i.size or 0)) for i in below if i.type == fs.FileType.File])
        else:
            _count(entry, [(name, int(info.size or 0))])
        entries.append(entry)
    return entries


def root_entries(root: str, filesystem: Any | None, known: frozenset[str]) -> list[RootEntry]:
    """Every folder or file at the data root that is not a published folder, nor one of
    ``known`` (the files butter itself writes there), with its file count and bytes
    (parquet counted by name); archives are recognised by ``contract.ARCHIVE_SUFFIXES``."""
    if filesystem is None:
        return _local_root_entries(root, known)
    return _s3_root_entries(root, filesystem, known)
