"""Did the data root change while a build read it?

The scan records each parquet file's identity (``files.parquet``,
``file_identity``: local size, modification time in ns and inode; S3 size and
last-modified time, plus the ETag of a file read within its Last-Modified second,
which a same-size rewrite in that second would not change: checked again by one
HEAD). Before a build is published the data root is listed again
(no footer is read) and compared: a file rewritten, added or removed since the
scan means the warehouse may hold rows the checks never saw, so the build is
not published.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from . import contract, inventory, settings
from .storage import etag, is_data_file, is_s3, s3_filesystem

#: how an ETag is appended to an S3 identity (inventory.scanning)
ETAG = ":etag="

#: files named per kind of change in the message
SHOWN = 5


def recorded(inventory_dir: Path) -> dict[str, str]:
    """{path: identity} of the parquet files the scan read."""
    table = pq.read_table(inventory_dir / inventory.FILES, columns=["path", "file_identity"])
    return dict(zip(table.column("path").to_pylist(), table.column("file_identity").to_pylist(), strict=True))


def current(root: str, env: settings.Settings | Mapping[str, str] | None = None,
            recorded: Mapping[str, str] | None = None) -> dict[str, str]:
    """{path: identity} of the parquet data files under the published folders now
    (``storage.is_data_file``: the scan's definition, ``000001_0`` included); a file whose
    ``recorded`` identity carries an ETag gets its ETag now (one HEAD)."""
    filesystem = s3_filesystem(settings.coerce(env)) if is_s3(root) else None
    inv = inventory.Inventory(root=root)
    found: dict[str, str] = {}
    for folder in contract.FOLDERS:
        state = inventory.FolderState(folder, contract.folder_kind(folder), f"{root}/{folder}")
        if filesystem is None and not os.path.isdir(state.folder_path):
            continue
        for path, size, identity in inventory.list_folder(inv, state, filesystem):
            try:
                data = is_data_file(path, size, filesystem)
            except OSError:  # cannot be read now: listed, so a file the scan read shows as changed
                data = True
            if data:
                found[path] = identity
    for path, before in (recorded or {}).items():
        if filesystem is not None and ETAG in before and path in found:
            found[path] += f"{ETAG}{etag_now(path, filesystem)}"
    return found


def etag_now(path: str, filesystem: Any) -> str | None:
    try:
        return etag(filesystem, path[len("s3://"):])
    except OSError:
        return None  # gone or unreadable now: shown as changed


def changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, list[str]]:
    """{"changed" | "added" | "removed": [path, ...]} (only kinds that occurred)."""
    found = {
        "changed": sorted(p for p in before.keys() & after.keys() if before[p] != after[p]),
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
    }
    return {kind: paths for kind, paths in found.items() if paths}


def message(root: str, found: Mapping[str, list[str]]) -> str:
    """One line: the data root changed during the build, and which files."""
    parts = []
    for kind, paths in found.items():
        more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
        parts.append(f"{kind}: {', '.join(paths[:SHOWN])}{more}")
    return (f"the data root {root} changed during the build ({'; '.join(parts)}): the warehouse may hold data the "
            "scan never checked. Build again once nothing writes to the data root; the new build is not published.")


def check(root: str, inventory_dir: Path, env: settings.Settings | None = None) -> str | None:
    """None when the data root still holds exactly the files the scan read; else the message."""
    before = recorded(inventory_dir)
    found = changes(before, current(root, env, before))
    return message(root, found) if found else None
