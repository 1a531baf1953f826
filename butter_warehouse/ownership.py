"""What butter may replace: only a warehouse it can prove it built.

A warehouse published by ``butter build`` carries a marker, the one-row table
``audit.butter_warehouse`` (project ``butter``) that the publish step writes
into every new build. A file at the warehouse path is replaced only when it is
such a warehouse (or one published before the marker existed: a DuckDB file
with ``audit.load_audit``, a table only this project builds). Anything else --
a folder, a CSV, another project's DuckDB file -- is refused before anything
is built, naming the path; ``--replace-unrecognized`` replaces it anyway.

The relations a published warehouse must hold are every model of the
``marts`` and ``audit`` model folders (schema from ``dbt_project.yml``), so a
mart added, renamed or dropped changes the check with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from .errors import ButterError

MARKER_SCHEMA = "audit"
MARKER_TABLE = "butter_warehouse"
PROJECT = "butter"
#: model folders whose every model is published
PUBLISHED_FOLDERS = ("marts", "audit")
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


class UnrecognizedTarget(ButterError, RuntimeError):
    """The warehouse path holds something butter did not build; nothing was changed."""


def published_relations(project_root: Path, config: Mapping[str, Any]) -> dict[str, list[str]]:
    """{schema: [model, ...]} of the models a published warehouse must hold (``config``: the
    project's parsed dbt_project.yml, ``Context.project_config``)."""
    models = (config.get("models") or {}).get(config.get("name", PROJECT)) or {}
    relations: dict[str, list[str]] = {}
    for folder in PUBLISHED_FOLDERS:
        schema = (models.get(folder) or {}).get("+schema", folder)
        names = sorted(p.stem for p in (project_root / "models" / folder).glob("*.sql"))
        relations.setdefault(schema, []).extend(names)
    return relations


def is_duckdb_file(path: Path) -> bool:
    """Whether ``path`` starts like a DuckDB database file (never opens it as one)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(12)[8:12] == _DUCKDB_MAGIC
    except OSError:
        return False


def _relations(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = conn.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
        "union all select schema_name, view_name from duckdb_views() "
        "where database_name = current_database() and not internal"
    ).fetchall()
    return {(schema, name) for schema, name in rows}


def _is_marked(conn: duckdb.DuckDBPyConnection, relations: set[tuple[str, str]]) -> bool:
    if (MARKER_SCHEMA, MARKER_TABLE) in relations:
        row = conn.execute(f"select max(project) from {MARKER_SCHEMA}.{MARKER_TABLE}").fetchone()
        return row is not None and row[0] == PROJECT
    return (MARKER_SCHEMA, "load_audit") in relations  # published before the marker existed


def describe(path: Path) -> str | None:
    """None when ``path`` is absent or a warehouse butter built; otherwise what it is instead."""
    if not os.path.lexists(path):
        return None
    if path.is_dir():
        return "is a folder, not a warehouse file"
    if not path.is_file():
        return "is not a regular file"
    if not is_duckdb_file(path):
        return "is not a DuckDB file"
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            if not _is_marked(conn, _relations(conn)):
                return "is a DuckDB file but not a BUTTER warehouse (no audit.butter_warehouse marker)"
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"is a DuckDB file that cannot be opened read-only ({first})"
    return None


def check_target(path: Path, replace_unrecognized: bool = False) -> None:
    """Refuse (UnrecognizedTarget) to build into a path butter did not create."""
    what = describe(path)
    if what is None:
        return
    if path.is_dir() or not path.is_file():
        raise UnrecognizedTarget(
            f"{path} {what}: BUTTER_DUCKDB_PATH must name a warehouse file. Point it at a file (e.g. "
            f"{path}/butter.duckdb); nothing was built or changed."
        )
    if replace_unrecognized:
        return
    raise UnrecognizedTarget(
        f"{path} {what}: butter replaces only a warehouse it built. Point BUTTER_DUCKDB_PATH at a new "
        f"file, or build with --replace-unrecognized to replace it; nothing was built or changed."
    )


def missing_relations(path: Path, required: Mapping[str, Sequence[str]]) -> list[str]:
    """The required ``schema.model`` names a DuckDB file lacks."""
    with duckdb.connect(str(path), read_only=True) as conn:
        present = _relations(conn)
    return [f"{schema}.{name}" for schema, names in sorted(required.items()) for name in names
            if (schema, name) not in present]


def mark(conn: duckdb.DuckDBPyConnection, data_root: str | None = None) -> None:
    """Write the marker that makes a DuckDB file a warehouse butter built."""
    conn.execute(f"create schema if not exists {MARKER_SCHEMA}")
    conn.execute(
        f"create or replace table {MARKER_SCHEMA}.{MARKER_TABLE} as select ? as project, "
        "cast(? as timestamp) as published_at, ? as data_root",
        [PROJECT, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), data_root],
    )


def reader_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a warehouse (export, figures), or None.
    Never opens a file that is not a DuckDB file."""
    if not os.path.lexists(path):
        return None  # the readers say "no warehouse at ..." themselves
    if path.is_dir():
        return f"{path} is a folder, not a warehouse file: point BUTTER_DUCKDB_PATH / --warehouse at the .duckdb file"
    if not is_duckdb_file(path):
        return (f"{path} is not a DuckDB file: point BUTTER_DUCKDB_PATH / --warehouse at the warehouse "
                "`butter build` wrote")
    try:
        with duckdb.connect(str(path), read_only=True) as conn:
            has_marts = any(schema == "marts" for schema, _ in _relations(conn))
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{path} is a DuckDB file that cannot be opened read-only ({first})"
    if not has_marts:
        return (f"{path} is a DuckDB file without the marts schema, not a BUTTER warehouse: build it with "
                "`butter build` or point BUTTER_DUCKDB_PATH / --warehouse at one")
    return None
