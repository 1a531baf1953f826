"""The scan's checks against the contract: partition values, partition columns stored in
files, and the columns and types of each folder's files."""

from __future__ import annotations

import math
import re
from typing import Any

import pyarrow as pa

from .. import contract
from .listing import read_columns
from .model import FileEntry, FolderState, Inventory, PartitionConflict


def by_spelling(kind: contract.Kind) -> dict[str, contract.Column]:
    """Every stored name (either spelling) of a folder kind -> its contract column."""
    names: dict[str, contract.Column] = {}
    for col in contract.columns(kind):
        for name in (col.published, col.framework):
            if name is not None:
                names[name] = col
    return names


def name_spellings(col: contract.Column, name: str) -> tuple[contract.Spelling, ...]:
    """The spellings that store ``col`` under ``name`` (NREL's best-point columns: current only)."""
    return tuple(
        spelling for spelling in contract.SPELLINGS
        if col.source_name(spelling) == name and (spelling == "current" or not col.name.startswith(contract.NREL_PREFIX))
    )


def folder_spelling(kind: contract.Kind, files: list[FileEntry], limit: int | None = None) -> str | None:
    """Which spelling a folder's files use, from the names of their columns and partition keys:
    ``published``, ``framework``, ``current``, ``framework or current`` when no stored name tells
    them apart (a summary without NREL's best-point columns), or ``mixed: published (a, b);
    framework (c)`` naming the columns that only some spellings use (``limit``: at most that many
    names per spelling, then how many more). None without data files."""
    if not files:
        return None
    by_name = by_spelling(kind)
    names = sorted({n for f in files for n in (*f.column_names, *f.partition_values)} & set(by_name))
    telling = {n: name_spellings(by_name[n], n) for n in names}
    telling = {n: sp for n, sp in telling.items() if sp and len(sp) < len(contract.SPELLINGS)}
    common = [sp for sp in contract.SPELLINGS if all(sp in s for s in telling.values())]
    if common:
        return " or ".join(common)
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, spellings in telling.items():
        groups.setdefault(spellings, []).append(name)
    ordered = sorted(groups.items(), key=lambda g: (len(g[0]), [contract.SPELLINGS.index(s) for s in g[0]]))

    def named(names: list[str]) -> str:
        if limit is None or len(names) <= limit:
            return ", ".join(names)
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"

    return "mixed: " + "; ".join(f"{' or '.join(sp)} ({named(ns)})" for sp, ns in ordered)


def is_one_element_list_of(column: contract.Column, type_: str) -> bool:
    """A best-point column stored as a one-element list of its type (read as its element:
    transform butter_first_if_list), as NREL's page documents it (``[float32]``)."""
    return column.transform == "butter_first_if_list" and type_ == f"list<{type_text(column.arrow)}>"


def type_text(arrow_type: pa.DataType) -> str:
    """An arrow type as text, list item names left out (``list<float>``)."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return f"list<{type_text(arrow_type.value_type)}>"
    return str(arrow_type)


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


def check_partition_values(inv: Inventory, state: FolderState, path: str, filesystem: Any | None,
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
        table = read_columns(path, filesystem, sorted(set(ids) | set(stored.values())))
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


def report_partition_conflicts(inv: Inventory, state: FolderState) -> None:
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


def check_types(inv: Inventory) -> None:
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
        by_name = by_spelling(contract.folder_kind(folder))
        optional_lacking: dict[tuple[str, ...], list[str]] = {}
        for col in contract.columns(contract.folder_kind(folder)):
            if col.partition:
                continue
            lacking = [f.path for f in files if col.published not in f.column_names
                       and col.framework not in f.column_names]
            if not col.required_in(folder):
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
            elif (len(by_type) == 1 and next(iter(by_type)) != type_text(column.arrow)
                  and not is_one_element_list_of(column, next(iter(by_type)))):
                inv.warning(
                    f"column {name} is stored as {next(iter(by_type))}, expected {type_text(column.arrow)}: values are "
                    f"cast on read ({len(paths)} file(s), e.g. {paths[0]})",
                    folder, paths[0],
                )
    for (folder, name), by_type in sorted(seen.items()):
        if len(by_type) < 2:
            continue
        column = by_spelling(contract.folder_kind(folder)).get(name)
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
