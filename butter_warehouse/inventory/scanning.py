"""The scan: every published folder listed, each parquet footer read once, each file checked."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow.parquet as pq

from .. import contract, settings
from ..s3_get import UnsignedGetter
from ..storage import is_s3, s3_filesystem
from .checks import (
    by_spelling,
    check_partition_values,
    check_types,
    folder_spelling,
    is_null_partition,
    partition_problem,
    report_partition_conflicts,
    type_text,
)
from .listing import (
    check_root_characters,
    is_data_file,
    list_folder,
    partitions,
    read_footer,
    read_footer_and_etag,
    root_entries,
)
from .model import FileEntry, FolderState, Inventory, RootEntry, ScanError


def known_root_files() -> frozenset[str]:
    """The files butter itself writes at a data root (``download.KNOWN_ROOT_FILES``)."""
    from ..download import KNOWN_ROOT_FILES

    return KNOWN_ROOT_FILES


def landed_root_entries(root: str) -> list[RootEntry]:
    """The entries at the root of the source a local copy was downloaded from (butter download
    and the landing of an s3:// build record them): not copied, so reported as not read."""
    from ..download import source_root_entries

    return source_root_entries(root)


def scan(root: str, env: settings.Settings | Mapping[str, str] | None = None) -> Inventory:
    """Inventory and check a data root (already normalised: ``Context.data_root``).

    On S3 the footers are read by ``BUTTER_S3_CONCURRENCY`` threads (default 32);
    the findings are the same, in the same order, as one at a time. A local root
    written by ``butter download`` with a partial selection gets a note per folder
    saying which partitions it holds (``audit.load_audit.note``)."""
    from ..download import partial_notes as download_notes, unfinished as unfinished_downloads

    cfg = settings.coerce(env)
    check_root_characters(root)
    inv = Inventory(root=root)
    filesystem = s3_filesystem(cfg) if is_s3(root) else None
    # an unsigned source (the public bucket): each footer by one suffix-range GET, no HEAD first
    getter = UnsignedGetter(cfg) if filesystem is not None and not cfg.aws_access_key_id else None
    concurrency = cfg.s3_concurrency
    partial = {} if filesystem is not None else download_notes(root)
    for line in [] if filesystem is not None else unfinished_downloads(root):
        inv.error(f"{line}: run the same butter download again to finish it (it resumes where it stopped); "
                  "an unfinished download is not built", None, root)
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
            listing = list_folder(inv, state, None)
        else:
            listing = list_folder(inv, state, filesystem)
        _scan_folder(inv, state, listing, filesystem, concurrency, getter)
        state.spelling = folder_spelling(state.kind, [f for f in inv.files if f.folder == folder])
        if state.present and state.folder in partial:
            note = partial[state.folder]
            # one terminal line for a whole copy's notes, which differ only by folder name
            inv.warning(note, folder, group=note.replace(f"/{folder} ", "/<folder> ", 1))

    inv.root_entries = root_entries(root, filesystem, known_root_files()) + landed_root_entries(root)
    if inv.root_entries:
        inv.warning("not read: " + ", ".join(e.label for e in inv.root_entries), None, root)
    with_data = [f for f, s in inv.folders.items() if s.parquet_files > 0]
    if not with_data:
        present = [f"{f}/" for f, s in inv.folders.items() if s.present]
        other = [e.label for e in inv.root_entries]
        raise ScanError(
            f"data root '{root}' "
            + (f"has no parquet files in any published folder (found: {', '.join(present)})" if present
               else "holds none of the published BUTTER folders (all_runs/ or all_repetitions/, complete_summary/, "
               "complete_executive_summary/, ..._sweep_runs/, ..._sweep_summary/)")
            + (f"; not read: {', '.join(other)}" if other else "")
            + ". Check BUTTER_DATA_ROOT (a misspelt or empty folder would publish an empty warehouse), or download "
            "a runs or summary folder first (butter download)."
        )
    if not any(contract.folder_kind(f) == "runs" for f in with_data):
        summaries = ", ".join(f"{f}/" for f in with_data)
        inv.warning(
            "no runs folder found (no parquet data in all_runs/, all_repetitions/ or any *_sweep_runs/): the "
            "run-level marts are empty (run_best_epochs, and the run parts of experiment_best_epochs and "
            f"experiment_learning_curves); the summary marts are built from {summaries}",
            None, root,
        )
    check_types(inv)
    return inv


def _footers(listing: Iterable[tuple[str, int, str]], filesystem: Any, concurrency: int,
             getter: UnsignedGetter | None = None
             ) -> Iterator[tuple[str, int, str, pq.FileMetaData | Exception | None]]:
    """The listing with each ``*.parquet`` footer read ahead: on S3 by ``concurrency``
    threads in bounded chunks (footer reads are round trips; holding every footer of
    10^5 files at once would not fit), in listing order; locally one at a time when
    needed (a local footer read costs ~0.25 ms)."""
    if filesystem is None or concurrency <= 1:
        for path, size, identity in listing:
            yield path, size, identity, None
        return

    def read(path: str) -> tuple[pq.FileMetaData | Exception, str | None]:
        try:
            return read_footer_and_etag(path, filesystem, getter)
        except Exception as exc:  # noqa: BLE001 - reported where the file is scanned
            return exc, None

    items = list(listing)
    chunk = 8 * concurrency
    with ThreadPoolExecutor(concurrency, thread_name_prefix="butter-scan") as pool:
        for start in range(0, len(items), chunk):
            part = items[start:start + chunk]
            footers = pool.map(lambda item: read(item[0]) if item[0].endswith(".parquet") else (None, None), part)
            for (path, size, identity), (meta, etag) in zip(part, footers, strict=True):
                # read within its Last-Modified second: a same-size rewrite would list the same,
                # so the ETag read with the footer joins the identity (drift.current checks it)
                yield path, size, identity + (f":etag={etag}" if etag else ""), meta


def _scan_folder(inv: Inventory, state: FolderState, listing: Iterable[tuple[str, int, str]], filesystem: Any,
                 concurrency: int = 1, getter: UnsignedGetter | None = None) -> None:
    by_name = by_spelling(state.kind)
    partition_cols = {name: col for name, col in by_name.items() if col.partition}
    bad_partitions: set[str] = set()
    literal_nulls: dict[tuple[str, str], set[str]] = {}
    for path, size, identity, footer in _footers(listing, filesystem, concurrency, getter):
        state.present = True
        if not is_data_file(inv, state, path, size, filesystem):
            state.other_files += 1
            continue
        relative_dir = os.path.dirname(path[len(state.folder_path) + 1:])
        parts = partitions(relative_dir)
        for key, value in parts:
            col = partition_cols.get(key)
            where = f"{state.folder_path}/{relative_dir}"
            if col is None:
                if where not in bad_partitions:
                    inv.error(f"partition folder '{where}' has an unknown partition level '{key}={value}': the SQL "
                              "reader would add it as a column the models do not have (a binder error inside "
                              "the build). Move its files up to the published partition folders, or out of the "
                              "data root.", state.folder, where)
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
            meta = footer if footer is not None else read_footer(path, filesystem, getter)
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
        check_partition_values(inv, state, path, filesystem, schema, parts, by_name)
    for (key, value), wheres in sorted(literal_nulls.items()):
        inv.warning(
            f"partition value {key}={value} in {len(wheres)} folder(s), e.g. '{min(wheres)}', is read as NULL "
            f"(the published NULL is {key}={contract.HIVE_NULL}); rename the folder(s) if a value was meant",
            state.folder,
            min(wheres),
        )
    report_partition_conflicts(inv, state)
