"""The staging layer built from an S3 data root (moto emulator on 127.0.0.1).

The demo data is uploaded to a local moto S3 server and dbt reads it through the
httpfs extension exactly as it would read s3://oedi-data-lake/butter: glob() for
the folder check, read_parquet(... hive_partitioning ...) for the sources. The
results must equal what pyarrow reads locally and what a local build produces.
The published demo's bucket lacks one folder (MISSING_FOLDER, deleted after the
upload, as a partial mirror would): that staging model must build empty, with the
columns of a real build, and say so, while its sibling builds as usual.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow.parquet as pq
import pytest

from butter_warehouse.contract import FOLDERS, LAYOUT_FOLDERS
from butter_warehouse.duckdb_plugin import configure

from conftest import PROJECT_ROOT, DbtResult, run_dbt
from s3_emulator import S3EmulatorError, S3Endpoint, dead_s3_endpoint, delay_proxy, s3_emulator

pytestmark = pytest.mark.timeout(900)
slow = pytest.mark.slow

STAGING = ["build", "--select", "path:models/staging"]
DBT_TIMEOUT = 300  # seconds; one staging build on demo data takes far less
MISSING_FOLDER = "regularization_sweep_summary"
SIBLING_FOLDER = "regularization_sweep_runs"  # still in the bucket: must build as usual


def parquet_rows(root: Path, folder: str) -> int:
    """Rows of the ``*.parquet`` files below ``root/folder`` (what the source globs)."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in (root / folder).rglob("*.parquet"))


def connect(db_path: Path, s3: S3Endpoint | None = None) -> duckdb.DuckDBPyConnection:
    """Open a built warehouse read-only. Staging models are views over the data
    root, so a warehouse built from S3 needs httpfs and the (running) emulator."""
    con = duckdb.connect(str(db_path), read_only=True)
    if s3 is not None:
        assert configure(con, s3.env), "httpfs extension package not installed"
    return con


def staging_columns(db_path: Path, s3: S3Endpoint | None = None) -> dict[str, list[tuple[str, str]]]:
    """``{model: [(column, type), ...]}`` of the staging schema, in column order."""
    with connect(db_path, s3) as con:
        rows = con.execute(
            """
            select table_name, column_name, data_type
            from information_schema.columns
            where table_schema = 'staging'
            order by table_name, ordinal_position
            """
        ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    return columns


def staging_counts(db_path: Path, s3: S3Endpoint | None = None, folders: Iterable[str] = FOLDERS) -> dict[str, int]:
    with connect(db_path, s3) as con:
        return {
            folder: con.execute(f"select count(*) from staging.stg_butter__{folder}").fetchall()[0][0]
            for folder in folders
        }


#: the template's published spelling and the current release (its summaries and hyperparameters are
#: spelled as the framework's, its run arrays as the published ones): both spellings' names over S3
S3_SPELLINGS = ("published", "current")


def layout_folders(spelling: str) -> tuple[str, ...]:
    """The folders the demo root of ``spelling`` holds."""
    return LAYOUT_FOLDERS["current" if spelling == "current" else "template"]


def missing_folders(spelling: str) -> set[str]:
    """The folders of the demo root deleted from its bucket before the build (s3_build)."""
    return {MISSING_FOLDER} if spelling == "published" else set()


def served_folders(spelling: str) -> tuple[str, ...]:
    """The folders the bucket serves: the demo root's, but the ones deleted from it."""
    return tuple(f for f in layout_folders(spelling) if f not in missing_folders(spelling))


def delete_folder(s3: S3Endpoint, folder: str) -> None:
    """Remove every object under ``folder/`` from the emulator's bucket."""
    client = s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=f"{s3.prefix}/{folder}/")
    keys = [{"Key": item["Key"]} for page in pages for item in page.get("Contents", [])]
    assert keys, f"nothing uploaded under {s3.data_root}/{folder}/"
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=s3.bucket, Delete={"Objects": keys[start : start + 1000]})


@pytest.fixture(scope="module", params=S3_SPELLINGS)
def spelling(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def s3_build(
    spelling: str, demo_root: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, S3Endpoint, DbtResult]]:
    """Demo data of ``spelling`` served from S3 (without ``missing_folders(spelling)``) and the
    staging build that read it."""
    root = demo_root(spelling)
    with s3_emulator(root, bucket="butter-demo", prefix=f"butter/{spelling}") as s3:
        for folder in missing_folders(spelling):
            delete_folder(s3, folder)
        workdir = tmp_path_factory.mktemp(f"s3-{spelling}")
        result = run_dbt(STAGING, data_root=s3.data_root, workdir=workdir, extra_env=s3.env, timeout=DBT_TIMEOUT)
        yield root, s3, result


@slow
def test_s3_staging_build_succeeds(spelling: str, s3_build: tuple[Path, S3Endpoint, DbtResult]) -> None:
    _, s3, result = s3_build
    assert result.ok, result
    for folder in served_folders(spelling):
        assert f"BUTTER: no parquet files under '{s3.data_root}/{folder}/'" not in result.output, result
    # the folders of the other layout and the one deleted from the bucket, each named
    absent = set(FOLDERS) - set(served_folders(spelling))
    skipped = re.findall(rf"BUTTER: no parquet files under '{re.escape(s3.data_root)}/([^/']+)/'", result.output)
    assert set(skipped) == absent, result


@slow
def test_s3_row_counts_equal_local_parquet(spelling: str, s3_build: tuple[Path, S3Endpoint, DbtResult]) -> None:
    root, s3, result = s3_build
    assert result.ok, result
    expected = {folder: parquet_rows(root, folder) for folder in layout_folders(spelling)}
    assert all(expected.values()), f"demo data has an empty folder: {expected}"
    # a folder missing from the bucket stages no rows; its sibling (same sweep) all of its own
    expected.update(dict.fromkeys(missing_folders(spelling), 0))
    assert spelling != "published" or expected[SIBLING_FOLDER] > 0
    assert staging_counts(result.db_path, s3, layout_folders(spelling)) == expected


@slow
def test_s3_rows_come_from_the_bucket(spelling: str, s3_build: tuple[Path, S3Endpoint, DbtResult]) -> None:
    _, s3, result = s3_build
    assert result.ok, result
    with connect(result.db_path, s3) as con:
        for folder in served_folders(spelling):
            outside = con.execute(
                f"select count(*) from staging.stg_butter__{folder} where not starts_with(source_file, ?)",
                [f"{s3.data_root}/{folder}/"],
            ).fetchall()[0][0]
            assert outside == 0, f"stg_butter__{folder}: {outside} rows not read from {s3.data_root}/{folder}/"


@slow
def test_s3_staging_equals_local_build(
    spelling: str, s3_build: tuple[Path, S3Endpoint, DbtResult], built_warehouse: Callable[[str], DbtResult]
) -> None:
    """The staging views of the S3 build against those of the local build of the same demo root
    (the session's ``built_warehouse``: its staging views read the local files); a folder
    missing from the bucket has the columns of the local build (its empty stand-in)."""
    _, s3, s3_result = s3_build
    assert s3_result.ok, s3_result
    local = built_warehouse(spelling)
    s3_columns = staging_columns(s3_result.db_path, s3)
    assert set(s3_columns) == {f"stg_butter__{folder}" for folder in FOLDERS}
    assert s3_columns == staging_columns(local.db_path)
    # Same rows too, apart from where they were read from.
    with connect(s3_result.db_path, s3) as con:
        con.execute(f"attach '{local.db_path}' as local_wh (read_only)")
        for folder in set(FOLDERS) - missing_folders(spelling):
            model = f"stg_butter__{folder}"
            diff = con.execute(
                f"""
                select count(*) from (
                    (select * exclude (source_file) from staging.{model}
                     except all
                     select * exclude (source_file) from local_wh.staging.{model})
                    union all
                    (select * exclude (source_file) from local_wh.staging.{model}
                     except all
                     select * exclude (source_file) from staging.{model})
                )
                """
            ).fetchall()[0][0]
            assert diff == 0, f"{model}: {diff} rows differ between the S3 and the local build"


@slow
@pytest.mark.timeout(900)
def test_s3_butter_build_lands_each_file_once_and_equals_the_local_build(
    demo_root: Callable[..., Path], built_warehouse: Callable[[str], DbtResult], tmp_path: Path
) -> None:
    """`butter build` on an s3:// root lands the bucket in a local cache (one unsigned GET per
    file and no HEAD, concurrently; at most 1.5 requests per parquet file in all, listings
    included) and builds from it: the marts equal the local build's."""
    root = demo_root("published")
    local = built_warehouse("published")
    with s3_emulator(root, bucket="butter-landing", prefix="butter") as s3, delay_proxy(s3) as (proxy, stats):
        env = dict(os.environ, **proxy.env)
        env.update({
            "BUTTER_S3_CACHE": str(tmp_path / "cache"), "BUTTER_DUCKDB_PATH": str(tmp_path / "wh" / "butter.duckdb"),
            "DBT_PROFILES_DIR": str(PROJECT_ROOT), "BUTTER_PROJECT_DIR": str(PROJECT_ROOT),
            "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false",
        })
        proc = subprocess.run([sys.executable, "-m", "butter_warehouse.cli", "build", "--skip-docs"], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=800)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-4000:]
        assert f"landing {proxy.data_root} in {tmp_path / 'cache'}" in output
        files = [p.relative_to(root).as_posix() for p in root.rglob("*.parquet")]
        requests = [stats.by_key.get(f"/{s3.bucket}/{s3.prefix}/{rel}", 0) for rel in files]
        assert set(requests) == {1}, f"requests per remote parquet file: {sorted(set(requests))} (one GET each)"
        total = sum(stats.by_method.values())
        assert total <= 1.5 * len(files), f"{total} requests for {len(files)} parquet files (issue 26: <= 1.5 each)"
        assert stats.by_method.get("HEAD", 0) <= 16, stats.by_method  # none per file: the root's entries at most
        again = subprocess.run([sys.executable, "-c", "from butter_warehouse import landing, cli; import os; "
                                "from pathlib import Path; print(landing.land(os.environ['BUTTER_DATA_ROOT'], "
                                "Path(os.environ['BUTTER_PROJECT_DIR'])))"],
                               cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert "landed: downloaded 0 file(s), 0 B" in again.stdout, again.stdout + again.stderr
    cache = str(tmp_path / "cache" / "copy" / s3.bucket / s3.prefix)

    def rows(db: Path, table: str, prefix: str) -> list[tuple]:
        def norm(value: object) -> object:
            if isinstance(value, float):
                return "nan" if math.isnan(value) else f"{value:.9g}"
            if isinstance(value, str):
                return value.replace(prefix, "<root>")
            return str(value) if isinstance(value, (list, dict)) else value
        with duckdb.connect(str(db), read_only=True) as con:
            return sorted((tuple(norm(v) for v in row) for row in con.execute(f"select * from {table}").fetchall()),
                          key=repr)

    s3_db = tmp_path / "wh" / "butter.duckdb"
    with duckdb.connect(str(s3_db), read_only=True) as con:
        tables = [f"{schema}.{name}" for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = 'marts' "
            "and table_type = 'BASE TABLE' order by all").fetchall()] + ["audit.source_reconciliation"]
    assert len(tables) >= 6
    for table in tables:
        assert rows(s3_db, table, cache) == rows(local.db_path, table, str(root)), table


# --- the emulator itself (fast) -------------------------------------------------------


def test_emulator_serves_a_tree_on_loopback_and_stops(tmp_path: Path) -> None:
    (tmp_path / "all_runs" / "dataset=x").mkdir(parents=True)
    (tmp_path / "all_runs" / "dataset=x" / "part-0.parquet").write_bytes(b"PAR1")
    (tmp_path / "_demo_manifest.json").write_text("{}")
    with s3_emulator(tmp_path, bucket="emu", prefix="/a/b/") as s3:
        assert s3.host == "127.0.0.1" and s3.port > 0
        assert s3.data_root == "s3://emu/a/b" == s3.env["BUTTER_DATA_ROOT"]
        assert s3.env["BUTTER_S3_ENDPOINT"] == f"127.0.0.1:{s3.port}"
        assert (s3.env["BUTTER_S3_URL_STYLE"], s3.env["BUTTER_S3_USE_SSL"]) == ("path", "false")
        listed = s3.client().list_objects_v2(Bucket="emu")["Contents"]
        assert sorted(o["Key"] for o in listed) == ["a/b/_demo_manifest.json", "a/b/all_runs/dataset=x/part-0.parquet"]
        port = s3.port
    with pytest.raises(OSError):  # stopped: nothing listens on the port any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_emulator_startup_timeout_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import s3_emulator as emulator

    monkeypatch.setattr(emulator.http.client.HTTPConnection, "request", _refuse)
    started = time.monotonic()
    with pytest.raises(S3EmulatorError, match="did not answer within 1s"):
        with s3_emulator(None, startup_timeout=1):
            pass
    assert time.monotonic() - started < 10


def _refuse(*args: object, **kwargs: object) -> None:
    raise ConnectionRefusedError("refused (test)")


@pytest.mark.parametrize("mode", ["silent", "refused"])
def test_dead_endpoint_never_answers(mode: Literal["silent", "refused"]) -> None:
    with dead_s3_endpoint(mode) as dead:
        assert dead.host == "127.0.0.1"
        assert dead.env["BUTTER_S3_ENDPOINT"] == dead.endpoint
        if mode == "refused":
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((dead.host, dead.port), timeout=2)
        else:
            with socket.create_connection((dead.host, dead.port), timeout=2) as conn:
                conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                conn.settimeout(0.5)
                with pytest.raises(TimeoutError):
                    conn.recv(1)


def test_emulator_bucket_does_not_outlive_the_emulator(tmp_path: Path) -> None:
    (tmp_path / "old.parquet").write_bytes(b"PAR1")
    with s3_emulator(tmp_path, bucket="reused"):
        with pytest.raises(S3EmulatorError, match="distinct bucket names"):
            with s3_emulator(None, bucket="reused"):
                pass
    with s3_emulator(None, bucket="reused") as s3:  # sequential reuse starts empty
        assert s3.client().list_objects_v2(Bucket="reused").get("KeyCount") == 0
