"""The inventory written for dbt (``files.parquet``, ...), the scan dbt runs itself, and the
lines the terminal shows."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .. import contract
from .checks import folder_spelling
from .model import FILES, FOLDERS, PARTITION_CONFLICTS, PROBLEMS, FolderState, Inventory, Problem, ScanError
from .scanning import scan


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
    entries = inv.root_entries
    data_bytes: dict[str, int] = {}
    for f in inv.files:
        data_bytes[f.folder] = data_bytes.get(f.folder, 0) + f.bytes
    # the published folders, then every other entry at the root (kind unknown / archive: not read)
    folders = pa.table({
        "folder": pa.array([s.folder for s in states] + [e.name for e in entries], pa.string()),
        "folder_kind": pa.array([s.kind for s in states] + [e.kind for e in entries], pa.string()),
        "folder_path": pa.array([s.folder_path for s in states] + [e.path for e in entries], pa.string()),
        "is_present": pa.array([s.present for s in states] + [True for _ in entries], pa.bool_()),
        "parquet_files": pa.array([s.parquet_files for s in states] + [e.parquet_files for e in entries], pa.int64()),
        "other_files": pa.array([s.other_files for s in states] + [e.files - e.parquet_files for e in entries],
                                pa.int64()),
        "num_rows": pa.array([s.rows for s in states] + [0 for _ in entries], pa.int64()),
        "num_bytes": pa.array([data_bytes.get(s.folder, 0) for s in states] + [e.bytes for e in entries],
                              pa.int64()),
        "spelling": pa.array([s.spelling for s in states] + [None for _ in entries], pa.string()),
        "not_read_reason": pa.array([None for _ in states] + [e.reason for e in entries], pa.string()),
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
    """What the scan found, for the terminal: the totals, one line per present folder (its
    files, rows and spelling), the absent folders, then the problems (the entries at the root
    that are not read, a root without runs: one line each)."""
    present = [s for s in inv.folders.values() if s.present]
    lines = [
        f"scanned {inv.root}: {len(inv.files)} parquet files, {sum(s.rows for s in present)} rows in "
        f"{len(present)} of {len(inv.folders)} published folders"
    ]
    for s in present:
        if s.parquet_files:
            spelling = s.spelling
            if spelling is not None and spelling.startswith("mixed"):  # the table names every column
                spelling = folder_spelling(s.kind, [f for f in inv.files if f.folder == s.folder], limit=4)
            lines.append(f"  {s.folder}/: {s.parquet_files} parquet files, {s.rows} rows, spelling {spelling}")
        else:
            lines.append(f"  {s.folder}/: no parquet data file ({s.other_files} other file(s)): skipped")
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
