"""``butter export``: a mart (any model) or one ``select`` to a parquet or csv file.

    butter export experiment_summary --out summary.parquet
    butter export marts.sweep_comparisons --out sweeps.csv
    butter export "select * from marts.experiment_summary where dataset = 'mnist'" --out mnist.csv

Reads the published warehouse read-only (``--warehouse``, else
``BUTTER_DUCKDB_PATH``, else ``warehouse/butter.duckdb`` in the project), so
it works while a BI tool has the warehouse open and cannot change it. Rows are
streamed in batches to a temporary file beside the output, which replaces the
output only when complete; a progress line (rows done of total, rate, time
left) is shown on a terminal.

``--out`` is checked before anything is read: the warehouse itself (and its
``.wal``), anything under the data root (``protected``: BUTTER_DATA_ROOT, the
demo folder), a lock file (``*.lock``: the build's and a download's) and a folder
are refused; an existing file is replaced only when it is a parquet file this
command wrote (its footer says so: ``EXPORT_MARK``) or with ``--replace`` (a
CSV file cannot carry the mark: replacing one needs ``--replace``).
"""

from __future__ import annotations

import difflib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from . import ownership, project, settings
from .errors import InputError
from .progress import Progress

FORMATS = ("parquet", "csv")
SUFFIX_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
BATCH_ROWS = 65_536
#: the key in the footer metadata of the parquet files ``export`` writes (what lets it replace them)
EXPORT_MARK = b"butter_export"
#: schemas searched, in this order, for a model name given without its schema
SCHEMA_ORDER = ("marts", "audit", "intermediate", "staging", "seeds")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")


class ExportError(InputError, RuntimeError):
    """Bad input to an export: the message says what and what to do."""

    names_command = True


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # "table" or "view"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        return f"select * from {_quote(self.schema)}.{_quote(self.name)}"


@dataclass(frozen=True)
class ExportResult:
    source: str
    path: Path
    file_format: str
    rows: int
    seconds: float


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def output_format(out: Path, file_format: str | None) -> str:
    """The format asked for, else the one the file name's suffix says."""
    if out.is_dir():
        raise ExportError(f"--out {out} is a folder: give the file to write, e.g. {out / 'export.parquet'}")
    if file_format is not None:
        if file_format not in FORMATS:
            raise ExportError(f"--format must be one of {', '.join(FORMATS)}, not {file_format!r}")
        return file_format
    try:
        return SUFFIX_FORMATS[out.suffix.lower()]
    except KeyError:
        raise ExportError(
            f"cannot tell the format of {out} from its suffix; name it .parquet or .csv or pass --format parquet|csv"
        ) from None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def written_by_export(path: Path) -> bool:
    """Whether ``path`` is a parquet file ``export`` wrote (its footer carries ``EXPORT_MARK``)."""
    try:
        meta = pq.read_metadata(path).metadata or {}
    except Exception:  # noqa: BLE001 - not parquet, unreadable: not one it wrote
        return False
    return EXPORT_MARK in meta


def check_out(out: Path, warehouse: Path, protected: tuple[Path, ...] = (), replace: bool = False) -> None:
    """Refuse (``ExportError``, nothing written) an ``--out`` that is the warehouse or its WAL, under
    a ``protected`` folder (the data root), a lock file, or an existing file ``export`` did not
    write (unless ``replace``)."""
    target = Path(os.path.realpath(out))
    house = Path(os.path.realpath(warehouse))
    if target in (house, house.with_name(house.name + ".wal")):
        raise ExportError(f"--out {out} is the warehouse {'file' if target == house else 'WAL'}: export never "
                          "changes the warehouse; give another file")
    for folder in protected:
        if _within(target, Path(os.path.realpath(folder))):
            raise ExportError(f"--out {out} is under the data root {folder}: export never writes there (a build "
                              "would read it); give a file outside it")
    if target.name.endswith(".lock"):
        raise ExportError(f"--out {out} is a lock file (a build's or a download's); give another file")
    if os.path.lexists(out) and not replace and not written_by_export(out):
        raise ExportError(f"--out {out} exists and is not a parquet file butter export wrote: pass --replace to "
                          "replace it, or give a new file")


def is_model_name(text: str) -> bool:
    """``name`` or ``schema.name``; anything else is taken as SQL."""
    return _NAME.fullmatch(text.strip()) is not None


def check_select(sql: str) -> str:
    """``sql`` if it is exactly one select statement, else an ``ExportError`` saying what it is."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ExportError(f"not a model name and not valid SQL: {exc}") from None
    if len(statements) != 1:
        raise ExportError(f"export takes one select statement, got {len(statements)} statements")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise ExportError(f"not a select: that is a {kind.name} statement; export takes a model name or one select")
    return sql.strip().rstrip(";")


def relations(conn: duckdb.DuckDBPyConnection) -> list[Relation]:
    """Every table and view of the warehouse (not DuckDB's own catalog)."""
    rows = conn.execute(
        """
        select schema_name, table_name, 'table' from duckdb_tables()
        where database_name = current_database() and not internal
        union all
        select schema_name, view_name, 'view' from duckdb_views()
        where database_name = current_database() and not internal
        """
    ).fetchall()
    return [Relation(*row) for row in rows]


def _order(relation: Relation) -> tuple[int, str]:
    rank = SCHEMA_ORDER.index(relation.schema) if relation.schema in SCHEMA_ORDER else len(SCHEMA_ORDER)
    return rank, relation.qualified


def find_relation(conn: duckdb.DuckDBPyConnection, name: str) -> Relation:
    """The model called ``name`` (``schema.name`` or a name unique across schemas)."""
    available = sorted(relations(conn), key=_order)
    wanted = name.strip().lower()
    if "." in wanted:
        matches = [r for r in available if r.qualified.lower() == wanted]
    else:
        matches = [r for r in available if r.name.lower() == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(r.qualified for r in matches)
        raise ExportError(f"{name!r} is in several schemas ({names}); say which, e.g. {matches[0].qualified}")
    marts = [r.qualified for r in available if r.schema in ("marts", "audit")]
    candidates = [r.qualified if "." in wanted else r.name for r in available]
    close = difflib.get_close_matches(wanted, list(dict.fromkeys(candidates)), n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ExportError(
        f"unknown model {name!r} in the warehouse.{hint} Marts: {', '.join(marts) or '(none)'}; "
        "or pass a select statement in quotes."
    )


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse."""
    problem = ownership.reader_problem(path)
    if problem:
        raise ExportError(problem)
    if not path.is_file():
        raise ExportError(
            f"no warehouse at {path}: build it first (`make build` or `butter build`), "
            "or point BUTTER_DUCKDB_PATH / --warehouse at one"
        )
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ExportError(f"cannot open the warehouse {path} read-only: {exc}") from None
    from . import duckdb_plugin

    duckdb_plugin.configure(conn)  # staging views may read s3:// parquet
    return conn


def _check_csv_types(schema: pa.Schema) -> None:
    nested = [f"{f.name} ({f.type})" for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise ExportError(f"CSV cannot hold the nested columns {', '.join(nested)}; use --format parquet")


class _Writer:
    """Writes record batches to a parquet or csv file."""

    def __init__(self, path: Path, schema: pa.Schema, file_format: str) -> None:
        if file_format == "csv":
            _check_csv_types(schema)
            self._writer: pq.ParquetWriter | pa_csv.CSVWriter = pa_csv.CSVWriter(str(path), schema)
        else:
            marked = schema.with_metadata({**(schema.metadata or {}), EXPORT_MARK: b"1"})
            self._writer = pq.ParquetWriter(str(path), marked, compression="zstd")

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


def export(warehouse: Path, what: str, out: Path, file_format: str | None = None, *,
           progress: bool | None = None, protected: tuple[Path, ...] = (), replace: bool = False) -> ExportResult:
    """Write the model or select ``what`` from ``warehouse`` to ``out`` (``check_out`` first)."""
    started = time.monotonic()
    out = Path(out)
    fmt = output_format(out, file_format)
    check_out(out, Path(warehouse), protected, replace)
    if not is_model_name(what):
        check_select(what)  # before opening anything: a clear error for non-selects
    conn = open_warehouse(Path(warehouse))
    try:
        total: int | None = None
        if is_model_name(what):
            relation = find_relation(conn, what)
            source, sql = relation.qualified, relation.sql
            if relation.kind == "table":
                counted = conn.execute(f"select count(*) from ({sql})").fetchone()
                total = counted[0] if counted is not None else None
        else:
            source, sql = "the select", check_select(what)
        try:
            reader = conn.execute(sql).to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            raise ExportError(f"the query failed: {exc}") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
        rows = 0
        try:
            writer = _Writer(partial, reader.schema, fmt)
            try:
                with Progress(f"export {source} to {out.name}", total, "row", enabled=progress) as bar:
                    for batch in reader:
                        writer.write(batch)
                        rows += batch.num_rows
                        bar.update(batch.num_rows)
            finally:
                writer.close()
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        conn.close()
    return ExportResult(source, out, fmt, rows, time.monotonic() - started)


def default_warehouse(project_dir: str | None, cfg: settings.Settings | None = None) -> Path:
    """``BUTTER_DUCKDB_PATH``, else ``warehouse/butter.duckdb`` in the project."""
    cfg = cfg or settings.load()
    if cfg.duckdb_path:
        return Path(cfg.duckdb_path)
    try:
        root = project.find_root(project_dir)
    except project.ProjectNotFound as exc:
        raise ExportError(f"{exc} (or set BUTTER_DUCKDB_PATH / --warehouse to the warehouse file)") from None
    return root / settings.DEFAULT_DUCKDB_PATH
