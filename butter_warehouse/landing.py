"""Landing for ``butter build``: the local copy a build reads instead of its data root.

An ``s3://`` data root is built from a copy landed in ``BUTTER_S3_CACHE`` (default
``data/s3-cache`` in the project), and a local root holding parquet compressed with a
codec the engine cannot read (Brotli on Spark) from a copy re-encoded for it
(``encoding``). The copy is made by ``butter download``'s transfer (``download``):
concurrent, checked, atomic per file, resumable, pruned of files the source no longer
holds. ``land_for_build`` decides whether a build needs a copy and returns the data
root the build reads; ``BUTTER_S3_CACHE=off`` reads the root as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq

from . import contract
from .download import (
    DownloadError,
    RemoteFile,
    Selection,
    Source,
    download,
    downloads,
    folder_lock,
    read_selections,
    write_selections,
)
from .settings import Settings, coerce
from .storage import is_data_file, is_s3, parquet_codecs

#: seconds a landing waits for another one writing the same cache folder (another build of the
#: same root) before it stops with a message
LOCK_WAIT = 600.0


def cache_dir(root: str, project_root: Path, encoding: str, env: Settings | Mapping[str, str] | None = None) -> Path:
    """Where ``butter build`` lands a data root: ``BUTTER_S3_CACHE`` (default ``data/s3-cache``
    in the project) / encoding / bucket / prefix for ``s3://``, / encoding / ``_local`` / path
    for a local root re-encoded for an engine (no bucket name starts with ``_``). ``root`` is
    normalised (``Context.data_root``)."""
    where = root[len("s3://"):] if is_s3(root) else "_local/" + root.lstrip("/")
    return coerce(env).s3_cache_dir(project_root) / encoding / where


def first_file_compressed_with(root: str, codecs: frozenset[str],
                               concurrency: int = 8) -> tuple[str, set[str]] | None:
    """(path, its codecs among ``codecs``) of a parquet file under the local ``root``'s
    published folders with a column chunk compressed by one of ``codecs`` (parquet codec
    names, e.g. BROTLI), or None. Footers are read ``concurrency`` at a time, in listing
    order; the first match ends the search (a root without one has every footer read)."""
    if not codecs:
        return None
    source = Source(root)

    def match(remote: RemoteFile) -> set[str]:
        try:
            if not is_data_file(remote.source, remote.size):
                return set()
            meta = pq.read_metadata(remote.source)
        except Exception:  # noqa: BLE001 - not parquet, or damaged: the scan reports it
            return set()
        return parquet_codecs(meta) & codecs

    step = max(1, concurrency)
    with ThreadPoolExecutor(step) as pool:
        for folder in contract.FOLDERS:
            files = source.list(folder)
            for start in range(0, len(files), step):
                chunk = files[start:start + step]
                for remote, found in zip(chunk, pool.map(match, chunk), strict=True):
                    if found:
                        return remote.source, found
    return None


def land(root: str, project_root: Path, *, encoding: str = "copy",
         env: Settings | Mapping[str, str] | None = None, why: str = "") -> Path:
    """Copy every published folder of the data root ``root`` (``s3://``, or a local root to
    re-encode) into the local cache (concurrently; files already there and unchanged are not
    fetched again; files the source no longer holds are removed) and return the cache folder.
    S3 files are fetched ``BUTTER_S3_CONCURRENCY`` at once; a local root is re-encoded one
    file per core. A local root written by ``butter download`` keeps its record of what
    it holds (a partial download stays named as one). Raises DownloadError when a file
    cannot be landed intact."""
    cfg = coerce(env)
    dest = cache_dir(root, project_root, encoding, cfg)
    concurrency = cfg.s3_concurrency if is_s3(root) else max(1, os.cpu_count() or 1)
    print(f"landing {root} in {dest} ({concurrency} at once"
          + (f", re-encoded as {encoding}" if encoding != "copy" else "") + ")"
          + (why or "; BUTTER_S3_CACHE=off reads S3 directly"), flush=True)
    result = download(root, dest, Selection.parse(), concurrency=concurrency, encoding=encoding, env=cfg,
                      prune=True, lock_wait=LOCK_WAIT)
    print(f"landed: {result.summary(dest)}" + (f"; {result.pruned} file(s) no longer in the source removed"
                                              if result.pruned else ""), flush=True)
    if result.failed:
        raise DownloadError(f"{len(result.failed)} file(s) of {root} could not be landed intact, e.g. "
                            f"{result.failed[0]} (see the errors above); nothing was built")
    recorded = None if is_s3(root) else read_selections(root)
    if recorded is not None:  # the copy holds what the root holds, as the root's own record says
        # (and the entries at the root it did not copy, as this landing listed them: kept on an
        # entry of its own that names no folder)
        mine = [{**d, "selection": {"folders": [], "where": {}}, "complete_selection": False, "listed": {},
                 "arrived": {}} for d in downloads(dest) if d.get("source") == root and d.get("source_root_entries")]
        write_selections(dest, {**recorded, "downloads": [*recorded.get("downloads", []), *mine]})
    return dest


def land_for_build(project_root: Path, root: str, cfg: Settings, encoding: str,
                   unreadable: frozenset[str] = frozenset()) -> str:
    """The data root ``butter build`` reads. An ``s3://`` root is built from a local landed
    copy (``encoding``: zstd for Spark) unless BUTTER_S3_CACHE=off. A local root holding
    parquet compressed with a codec the engine cannot read (``unreadable``: Brotli for
    Spark, whose Hadoop has no Brotli codec) is built from a copy re-encoded as
    ``encoding`` in the same cache. Otherwise, or with BUTTER_S3_CACHE=off (a cluster with
    the Brotli codec reads the root as it is), ``root`` itself. Raises ``DownloadError``
    when landing failed (``cli.guarded``: one line, exit code 2; nothing was built)."""
    why = ""
    if cfg.s3_cache_off:
        return root
    if not is_s3(root):
        found = first_file_compressed_with(root, unreadable) if encoding != "copy" else None
        if found is None:
            return root
        path, codecs = found
        why = (f": {path} is compressed with {'/'.join(sorted(codecs))}, which this engine cannot read; "
               "the copy is kept and refreshed by later builds (BUTTER_S3_CACHE=off: build from the root as it is)")
    return str(land(root, project_root, encoding=encoding, env=cfg, why=why))


@contextmanager
def landed_for_build(project_root: Path, root: str, cfg: Settings, encoding: str,
                     unreadable: frozenset[str] = frozenset()) -> Iterator[str]:
    """``land_for_build`` for the ``with`` block of a whole build: a landed copy is held with a
    shared lock (``download.folder_lock``) until the build ends, so another build's landing of
    the same root waits (up to LOCK_WAIT s) instead of rewriting files this build reads. The
    lock is taken before the scan: the build reads what the copy holds from then on."""
    landed = land_for_build(project_root, root, cfg, encoding, unreadable)
    if landed == root:
        yield landed
        return
    with folder_lock(Path(landed), LOCK_WAIT, shared=True):
        yield landed
