"""``butter export``: models and selects to parquet/csv, read back equal to the table.

The fast tests use a small DuckDB file written here; the slow one round-trips
every mart of a real build (the session's ``built_warehouse``). Issue 29: ``--out`` naming the
warehouse, its WAL, a file under the data root, a lock file or a file export did not write is
refused in one line, every file unchanged; a parquet file export wrote is replaced, others with
``--replace``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from butter_warehouse import cli
from butter_warehouse.export import ExportError, export

from conftest import DbtResult


def read_back(path: Path, file_format: str, schema: pa.Schema) -> pa.Table:
    """The exported file as an arrow table with the warehouse's schema."""
    if file_format == "parquet":
        return pq.read_table(path)
    options = pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False)
    return pa_csv.read_csv(path, convert_options=options)


def table_of(db: Path, sql: str) -> pa.Table:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).to_arrow_table()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A small warehouse: a mart with awkward values, a staging view, a list column, a name in two schemas."""
    db = tmp_path / "wh" / "butter.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as conn:
        conn.execute("create schema marts; create schema staging; create schema audit")
        conn.execute("""
            create table marts.experiment_summary as
            select
                i::bigint as experiment_id,
                case when i % 3 = 0 then null else 'mnist' || i end as dataset,
                case when i % 4 = 0 then '' else 'a,"b"' end as awkward_text,
                i * 0.1 + 1e-4 as learning_rate,
                (i % 2 = 0) as is_primary_sweep,
                date '2026-01-01' + i::integer as published,
                case when i % 5 = 0 then null else i / 7 end as best_test_loss_median
            from range(200000) as t(i)
        """)
        conn.execute("create view staging.stg_runs as select experiment_id, learning_rate from marts.experiment_summary")
        conn.execute("create table marts.with_arrays as select 1 as run_id, [1.5, 2.5]::double[] as test_loss")
        conn.execute("create table audit.load_audit as select 'all_runs' as folder, 3 as files")
        conn.execute("create table marts.load_audit as select 'all_runs' as folder, 3 as files")
    return db


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_round_trip_of_a_model(warehouse: Path, tmp_path: Path, file_format: str) -> None:
    out = tmp_path / f"summary.{file_format}"
    result = export(warehouse, "experiment_summary", out, progress=False)
    expected = table_of(warehouse, "select * from marts.experiment_summary")
    assert (result.source, result.rows, result.file_format) == ("marts.experiment_summary", expected.num_rows, file_format)
    back = read_back(out, file_format, expected.schema)
    assert back.schema.equals(expected.schema)
    assert back.equals(expected)
    assert back.column("dataset").null_count > 0 and "" in back.column("awkward_text").to_pylist()


def test_select_and_format_flag(warehouse: Path, tmp_path: Path) -> None:
    sql = "select experiment_id, dataset from marts.experiment_summary where experiment_id in (7, 8) order by 1"
    out = tmp_path / "one.data"
    result = export(warehouse, sql + ";", out, "csv", progress=False)
    expected = table_of(warehouse, sql)
    assert result.source == "the select" and result.rows == expected.num_rows == 2
    assert read_back(out, "csv", expected.schema).equals(expected)


def test_view_from_staging_and_schema_qualified_name(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.parquet"
    assert export(warehouse, "staging.stg_runs", out, progress=False).rows == 200000
    assert pq.read_table(out).equals(table_of(warehouse, "select * from staging.stg_runs"))


def test_dates_survive_csv(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "dates.csv"
    export(warehouse, "select published from marts.experiment_summary where experiment_id = 3", out, progress=False)
    assert out.read_text().splitlines()[1] == (dt.date(2026, 1, 1) + dt.timedelta(days=3)).isoformat()


def test_progress_line_counts_rows_of_the_table(warehouse: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    export(warehouse, "experiment_summary", tmp_path / "s.parquet", progress=True)
    total = table_of(warehouse, "select count(*) as n from marts.experiment_summary").column("n")[0].as_py()
    err = capsys.readouterr().err
    assert f"export marts.experiment_summary to s.parquet: {total:,}/{total:,} rows (100%) in " in err


@pytest.mark.parametrize("what, message", [
    ("experiment_summry", r"unknown model 'experiment_summry'.*Did you mean experiment_summary.*Marts: .*marts\.experiment_summary"),
    ("load_audit", r"'load_audit' is in several schemas \(marts\.load_audit, audit\.load_audit\)"),
    ("delete from marts.experiment_summary", r"not a select: that is a DELETE statement"),
    ("copy marts.experiment_summary to 'x.csv'", r"not a select: that is a COPY statement"),
    ("select 1; select 2", r"one select statement, got 2 statements"),
    ("selec 1 from", r"not a model name and not valid SQL"),
    ("select * from marts.nothing_here", r"the query failed: .*nothing_here"),
])
def test_clear_errors_and_no_file(warehouse: Path, tmp_path: Path, what: str, message: str) -> None:
    out = tmp_path / "out.parquet"
    with pytest.raises(ExportError, match=message):
        export(warehouse, what, out, progress=False)
    assert list(tmp_path.iterdir()) == [warehouse.parent]


def test_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"no warehouse at .*nowhere\.duckdb: build it first \(`make build`"):
        export(tmp_path / "nowhere.duckdb", "experiment_summary", tmp_path / "x.parquet", progress=False)


def test_format_from_suffix_or_flag(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"cannot tell the format of .*x\.txt.*--format parquet\|csv"):
        export(warehouse, "experiment_summary", tmp_path / "x.txt", progress=False)
    result = export(warehouse, "experiment_summary", tmp_path / "x.txt", "parquet", progress=False)
    assert pq.read_table(tmp_path / "x.txt").num_rows == result.rows > 0


def test_csv_refuses_nested_columns_and_keeps_the_old_file(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "arrays.csv"
    out.write_text("previous export\n")
    with pytest.raises(ExportError, match=r"CSV cannot hold the nested columns test_loss \(list<.*double.*>\)"):
        export(warehouse, "with_arrays", out, progress=False, replace=True)
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.csv", "wh"]
    export(warehouse, "with_arrays", tmp_path / "arrays.parquet", progress=False)
    assert pq.read_table(tmp_path / "arrays.parquet").column("test_loss").to_pylist() == [[1.5, 2.5]]


def test_warehouse_is_opened_read_only(warehouse: Path, tmp_path: Path) -> None:
    before = warehouse.stat().st_mtime_ns, warehouse.read_bytes()
    export(warehouse, "experiment_summary", tmp_path / "s.csv", progress=False)
    assert (warehouse.stat().st_mtime_ns, warehouse.read_bytes()) == before
    assert not warehouse.with_name(warehouse.name + ".wal").exists()


def test_cli_export(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # outside the project: --warehouse / BUTTER_DUCKDB_PATH suffice
    monkeypatch.delenv("BUTTER_PROJECT_DIR", raising=False)
    assert cli.main(["export", "experiment_summary", "--out", "s.csv", "--warehouse", str(warehouse)]) == 0
    assert capsys.readouterr().out.startswith("exported 200,000 rows of marts.experiment_summary to s.csv (csv, ")
    monkeypatch.setenv("BUTTER_DUCKDB_PATH", str(warehouse))
    assert cli.main(["export", "nope", "--out", "s.parquet"]) == 2
    assert "butter export: unknown model 'nope'" in capsys.readouterr().err
    monkeypatch.delenv("BUTTER_DUCKDB_PATH")
    assert cli.main(["export", "experiment_summary", "--out", "s.parquet"]) == 2
    err = capsys.readouterr().err
    assert "no dbt_project.yml named 'butter'" in err and "BUTTER_DUCKDB_PATH" in err


@pytest.mark.slow
@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_every_mart_of_a_build_round_trips(built_warehouse: Callable[[str], DbtResult], tmp_path: Path,
                                           file_format: str) -> None:
    db = built_warehouse("published").db_path
    with duckdb.connect(str(db), read_only=True) as conn:
        marts = [f"{s}.{t}" for s, t in conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'audit') and table_type = 'BASE TABLE' order by all").fetchall()]
    assert "marts.experiment_summary" in marts
    for mart in marts:
        out = tmp_path / f"{mart}.{file_format}"
        result = export(db, mart, out, progress=False)
        expected = table_of(db, f"select * from {mart}")
        assert result.rows == expected.num_rows, mart
        assert read_back(out, file_format, expected.schema).equals(expected), mart


def test_out_that_is_a_folder_is_named(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "exports.parquet"  # a folder, even with a file suffix
    folder.mkdir()
    assert cli.main(["export", "experiment_summary", "--out", str(folder), "--warehouse", str(warehouse)]) == 2
    err = capsys.readouterr().err
    assert err == (f"butter export: --out {folder} is a folder: give the file to write, e.g. "
                   f"{folder / 'export.parquet'}\n")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("kind", "message"), [
    ("csv", "{path} is not a DuckDB file: point BUTTER_DUCKDB_PATH / --warehouse at the warehouse"),
    ("other", "{path} is a DuckDB file without the marts schema, not a BUTTER warehouse"),
    ("folder", "{path} is a folder, not a warehouse file"),
])
def test_a_file_that_is_not_a_warehouse_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    kind: str, message: str) -> None:
    path = tmp_path / "thing.duckdb"
    if kind == "csv":
        path.write_text("a,b\n1,2\n")
    elif kind == "folder":
        path.mkdir()
    else:
        with duckdb.connect(str(path)) as conn:
            conn.execute("create table sales as select 1 as id")
    before = path.read_bytes() if path.is_file() else None
    code = cli.main(["export", "sales", "--out", str(tmp_path / "x.parquet"), "--warehouse", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("butter export: " + message.format(path=path)) and err.count("\n") == 1, err
    assert not (tmp_path / "x.parquet").exists()
    assert before is None or path.read_bytes() == before


# --- what --out may replace (issue 29) -------------------------------------------------------------


def test_out_refuses_the_warehouse_the_data_root_locks_and_files_it_did_not_write(
        warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refusal: exit 2, one line naming --out, every file byte-for-byte unchanged."""
    root = tmp_path / "data"
    (root / "all_runs").mkdir(parents=True)
    (root / "all_runs" / "part-0.parquet").write_bytes(b"PAR1 the user's data PAR1")
    lock = warehouse.with_name(warehouse.name + ".build.lock")
    lock.write_text("")
    mine = tmp_path / "notes.parquet"
    mine.write_bytes(b"someone else's file")
    theirs_csv = tmp_path / "table.csv"
    theirs_csv.write_text("a,b\n1,2\n")
    monkeypatch.setenv("BUTTER_DATA_ROOT", str(root))
    monkeypatch.setenv("BUTTER_DUCKDB_PATH", str(warehouse))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BUTTER_PROJECT_DIR", raising=False)

    def files() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    before = files()
    cases = [
        (warehouse, "is the warehouse file: export never changes the warehouse"),
        (warehouse.with_name("butter.duckdb.wal"), "is the warehouse WAL"),
        (tmp_path / "wh" / ".." / "wh" / "butter.duckdb", "is the warehouse file"),
        (root / "all_runs" / "part-0.parquet", f"is under the data root {root}"),
        (root / "new.parquet", f"is under the data root {root}"),
        (lock, "is a lock file"),
        (mine, "exists and is not a parquet file butter export wrote: pass --replace"),
        (theirs_csv, "exists and is not a parquet file butter export wrote: pass --replace"),
    ]
    for out, message in cases:
        fmt = ["--format", "parquet"] if out.suffix not in (".parquet", ".csv") else []
        assert cli.main(["export", "experiment_summary", "--out", str(out), *fmt]) == 2, out
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"butter export: --out {out} ") and message in err[0], err
        assert files() == before, out
    # a parquet file export wrote is replaced; another file with --replace
    assert cli.main(["export", "experiment_summary", "--out", "mine.parquet"]) == 0
    assert cli.main(["export", "with_arrays", "--out", "mine.parquet"]) == 0
    assert pq.read_table(tmp_path / "mine.parquet").num_rows == 1
    assert cli.main(["export", "experiment_summary", "--out", str(theirs_csv), "--replace"]) == 0
    assert theirs_csv.read_text().startswith('"experiment_id",')
