"""Unit tests of butter_warehouse.duckdb_plugin: offline httpfs and S3 settings from env.

The S3 reads go to a moto emulator on 127.0.0.1 (tests/python/s3_emulator.py);
nothing here touches the network beyond the loopback interface.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from butter_warehouse import duckdb_plugin
from butter_warehouse.duckdb_plugin import configure, httpfs_extension_path, s3_secret_sql

from s3_emulator import S3Endpoint, dead_s3_endpoint, s3_emulator

pytestmark = pytest.mark.timeout(120)

#: a connection that cannot fetch or auto-load extensions: only configure() can load httpfs
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

FULL_ENV = {
    "BUTTER_S3_ENDPOINT": "127.0.0.1:9000",
    "BUTTER_S3_REGION": "eu-central-1",
    "BUTTER_S3_URL_STYLE": "path",
    "BUTTER_S3_USE_SSL": "false",
    "AWS_ACCESS_KEY_ID": "AKIA'TEST",
    "AWS_SECRET_ACCESS_KEY": "s3cr'et'); drop table x; --",
    "AWS_SESSION_TOKEN": "tok'en",
}


def offline_connection(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    return duckdb.connect(path, config=dict(OFFLINE))


def secret_row(con: duckdb.DuckDBPyConnection) -> tuple:
    return con.execute(
        "select type, provider, scope, secret_string from duckdb_secrets() where name = 'butter_s3'"
    ).fetchall()[0]


def secret_fields(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``secret_string`` of the butter secret as a dict (secrets themselves are redacted)."""
    text = secret_row(con)[3]
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)


# --- s3_secret_sql ------------------------------------------------------------------


def test_secret_sql_defaults_are_the_public_bucket() -> None:
    sql = s3_secret_sql({})
    assert sql.startswith("create or replace secret butter_s3 (")
    assert "TYPE s3" in sql and "PROVIDER config" in sql
    assert "REGION 'us-west-2'" in sql
    assert "URL_STYLE 'vhost'" in sql
    assert "USE_SSL true" in sql
    for absent in ("ENDPOINT", "KEY_ID", "SECRET ", "SESSION_TOKEN"):
        assert absent not in sql, f"{absent} set without an environment variable"


def test_secret_sql_from_full_env_quotes_values() -> None:
    sql = s3_secret_sql(FULL_ENV)
    assert "ENDPOINT '127.0.0.1:9000'" in sql
    assert "REGION 'eu-central-1'" in sql
    assert "URL_STYLE 'path'" in sql
    assert "USE_SSL false" in sql
    assert "KEY_ID 'AKIA''TEST'" in sql
    assert "SECRET 's3cr''et''); drop table x; --'" in sql
    assert "SESSION_TOKEN 'tok''en'" in sql


@pytest.mark.parametrize(
    ("value", "expected"),
    [("false", "false"), ("FALSE", "false"), ("0", "false"), ("no", "false"),
     ("true", "true"), ("1", "true"), ("yes", "true")],
)
def test_secret_sql_use_ssl(value: str, expected: str) -> None:
    assert f"USE_SSL {expected}" in s3_secret_sql({"BUTTER_S3_USE_SSL": value})


def test_secret_sql_needs_key_id_for_credentials() -> None:
    """A secret or token without a key id is ignored: reads stay unsigned."""
    sql = s3_secret_sql({"AWS_SECRET_ACCESS_KEY": "x", "AWS_SESSION_TOKEN": "y"})
    assert "SECRET 'x'" not in sql and "SESSION_TOKEN" not in sql
    sql = s3_secret_sql({"AWS_ACCESS_KEY_ID": "k", "AWS_SESSION_TOKEN": ""})
    assert "KEY_ID 'k'" in sql and "SECRET ''" in sql and "SESSION_TOKEN" not in sql


def test_secret_sql_is_valid_duckdb_with_hostile_values() -> None:
    """The quoted statement runs and stores the values verbatim (no SQL injection)."""
    con = offline_connection()
    assert configure(con, FULL_ENV)
    fields = secret_fields(con)
    assert fields["endpoint"] == "127.0.0.1:9000"
    assert fields["region"] == "eu-central-1"
    assert fields["url_style"] == "path"
    assert fields["use_ssl"] == "false"
    assert fields["key_id"] == "AKIA'TEST"
    # DuckDB redacts the secret and token; the statement was accepted in one piece
    assert fields["secret"] == "redacted" and fields["session_token"] == "redacted"
    assert con.execute("select count(*) from duckdb_tables() where table_name = 'x'").fetchall()[0][0] == 0


# --- httpfs_extension_path ----------------------------------------------------------


def test_httpfs_extension_path_matches_installed_duckdb() -> None:
    path = httpfs_extension_path()
    assert path is not None, "duckdb-extension-httpfs is not installed"
    assert path.is_file() and path.name == "httpfs.duckdb_extension"
    assert path.parent.name == f"v{duckdb.__version__}"


def test_httpfs_extension_path_none_without_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb_extension_httpfs", None)  # import raises ImportError
    assert httpfs_extension_path() is None


def test_httpfs_extension_path_none_for_other_duckdb_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_plugin.duckdb, "__version__", "0.0.1")
    assert httpfs_extension_path() is None


# --- configure ----------------------------------------------------------------------


def test_configure_loads_httpfs_offline() -> None:
    con = offline_connection()
    loaded = "select loaded from duckdb_extensions() where extension_name = 'httpfs'"
    assert con.execute(loaded).fetchone() == (False,)
    assert configure(con, {}) is True
    assert con.execute(loaded).fetchone() == (True,)
    type_, provider, scope, _ = secret_row(con)
    assert (type_, provider) == ("s3", "config")
    assert "s3://" in scope


def test_configure_sets_http_options() -> None:
    con = offline_connection()
    # whole seconds, rounded, at least 1 (DuckDB's setting is an integer)
    configure(con, {"BUTTER_HTTP_TIMEOUT": "7.9", "BUTTER_HTTP_RETRIES": "0"})
    assert con.execute(
        "select current_setting('http_timeout'), current_setting('http_retries')"
    ).fetchone() == (8, 0)
    defaults = offline_connection()
    configure(defaults, {})
    assert defaults.execute(
        "select current_setting('http_timeout'), current_setting('http_retries')"
    ).fetchone() == (30, 3)


def test_configure_http_options_reach_cursors() -> None:
    """dbt-duckdb calls configure_connection() on the parent connection and runs models on cursors."""
    con = offline_connection()
    configure(con, {"BUTTER_HTTP_TIMEOUT": "7", "BUTTER_HTTP_RETRIES": "0"})
    cursor = con.cursor()
    assert cursor.execute(
        "select current_setting('http_timeout'), current_setting('http_retries')"
    ).fetchone() == (7, 0)


def test_configure_secret_and_extension_reach_cursors() -> None:
    con = offline_connection()
    configure(con, FULL_ENV)
    cursor = con.cursor()
    assert cursor.execute(
        "select loaded from duckdb_extensions() where extension_name = 'httpfs'"
    ).fetchone() == (True,)
    assert secret_fields(cursor)["endpoint"] == "127.0.0.1:9000"


def test_configure_without_extension_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_plugin, "httpfs_extension_path", lambda: None)
    con = offline_connection()
    assert configure(con, FULL_ENV) is False
    assert con.execute("select count(*) from duckdb_secrets()").fetchone() == (0,)


def test_configure_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUTTER_S3_ENDPOINT", "127.0.0.1:1234")
    monkeypatch.setenv("BUTTER_S3_URL_STYLE", "path")
    con = offline_connection()
    assert configure(con)
    assert secret_fields(con)["endpoint"] == "127.0.0.1:1234"


def test_plugin_configure_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """As dbt-duckdb creates it: BasePlugin.create(module) then configure_connection(conn)."""
    from dbt.adapters.duckdb.plugins import BasePlugin

    monkeypatch.setenv("BUTTER_S3_ENDPOINT", "127.0.0.1:4321")
    plugin = BasePlugin.create("butter_warehouse.duckdb_plugin")
    assert isinstance(plugin, duckdb_plugin.Plugin)
    con = offline_connection()
    plugin.configure_connection(con)
    assert secret_fields(con)["endpoint"] == "127.0.0.1:4321"


# --- reading from the S3 emulator ---------------------------------------------------


@pytest.fixture(scope="module")
def hive_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``table/dataset=<d>/depth=<n>/part-0.parquet`` plus a non-parquet file."""
    root = tmp_path_factory.mktemp("hive")
    parts = [("201_pol", "2", 3), ("529_pollen", "3", 4), ("__HIVE_DEFAULT_PARTITION__", "2", 5)]
    for dataset, depth, rows in parts:
        folder = root / "table" / f"dataset={dataset}" / f"depth={depth}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.table({"run_id": [f"{dataset}-{i}" for i in range(rows)], "loss": [[0.5, 0.25]] * rows}),
            folder / "part-0.parquet",
        )
    (root / "table" / "_SUCCESS").write_text("")
    return root


@pytest.fixture(scope="module")
def s3(hive_tree: Path) -> Iterator[S3Endpoint]:
    with s3_emulator(hive_tree, bucket="plugin-test", prefix="data") as endpoint:
        yield endpoint


@pytest.fixture()
def s3_con(s3: S3Endpoint) -> duckdb.DuckDBPyConnection:
    con = offline_connection()
    assert configure(con, s3.env)
    return con


def test_plain_connection_cannot_read_s3_offline(s3: S3Endpoint) -> None:
    with pytest.raises(duckdb.Error, match="httpfs"):
        offline_connection().execute(f"select count(*) from glob('{s3.url('table/**/*.parquet')}')")


def test_glob_lists_parquet_files_recursively(s3: S3Endpoint, s3_con: duckdb.DuckDBPyConnection) -> None:
    files = sorted(r[0] for r in s3_con.execute(f"select file from glob('{s3.url('table/**/*.parquet')}')").fetchall())
    assert len(files) == 3
    assert all(f.startswith("s3://plugin-test/data/table/dataset=") for f in files)
    # a folder that is not in the bucket is an empty glob, not an error (the macro relies on it)
    assert s3_con.execute(f"select count(*) from glob('{s3.url('missing/**/*.parquet')}')").fetchone() == (0,)


def test_read_parquet_hive_partitioning(s3: S3Endpoint, s3_con: duckdb.DuckDBPyConnection) -> None:
    source = (
        f"read_parquet('{s3.url('table/**/*.parquet')}', hive_partitioning = true, "
        "hive_types_autocast = false, filename = true)"
    )
    rows = s3_con.execute(
        f"select dataset, depth, count(*), min(len(loss)), min(filename) from {source} group by all order by all"
    ).fetchall()
    assert [r[:4] for r in rows] == [("201_pol", "2", 3, 2), ("529_pollen", "3", 4, 2), (None, "2", 5, 2)]
    assert all(r[4].startswith("s3://plugin-test/data/table/") for r in rows)
    # partition filters are pruned on the listed paths, and still answer correctly
    assert s3_con.execute(f"select count(*) from {source} where dataset = '529_pollen'").fetchone() == (4,)
    assert s3_con.execute(f"select count(*) from {source} where dataset is null").fetchone() == (5,)


# --- bounded failures ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["refused", "silent"])
def test_unanswering_endpoint_fails_within_http_timeout(mode: Literal["silent", "refused"]) -> None:
    with dead_s3_endpoint(mode, http_timeout=1, http_retries=0) as dead:
        con = offline_connection()
        assert configure(con, dead.env)
        started = time.monotonic()
        with pytest.raises(duckdb.IOException, match=r"127\.0\.0\.1"):
            con.execute(f"select count(*) from glob('{dead.url('all_runs/**/*.parquet')}')")
        assert time.monotonic() - started < 15
