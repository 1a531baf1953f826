"""dbt-duckdb plugin: offline httpfs and S3 access from the environment.

DuckDB normally downloads its ``httpfs`` extension on first use of ``s3://``; these
machines cannot download extensions, so the extension is loaded from the PyPI
package ``duckdb-extension-httpfs`` (which exists for DuckDB 1.5.5, the version this
project pins). S3 and HTTP settings (``BUTTER_S3_*``, ``BUTTER_HTTP_*``, ``AWS_*``)
come only from environment variables, read and validated by
``butter_warehouse.settings`` (a value that is not usable stops with a
``SettingError`` naming it). The plugin also registers the DuckDB function
``butter_scan(root)`` (the file inventory, see ``butter_warehouse.inventory``),
which the staging and audit macros call when dbt runs outside ``butter build``.
Python connections get dbt's resource limits from ``Settings.duckdb_resources``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from .settings import SettingError, Settings, coerce

__all__ = ["Plugin", "SettingError", "configure", "httpfs_extension_path", "register_scan", "s3_secret_sql"]

try:  # only importable inside dbt-duckdb; the helpers below work without it
    from dbt.adapters.duckdb.plugins import BasePlugin
except ImportError:  # pragma: no cover - plain python use
    # a stand-in base class so the module imports without dbt-duckdb: mypy sees dbt's class
    BasePlugin = object  # type: ignore[misc,assignment]


def httpfs_extension_path() -> Path | None:
    """Path of the httpfs extension shipped by ``duckdb-extension-httpfs``, if installed."""
    try:
        import duckdb_extension_httpfs
    except ImportError:
        return None
    base = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    candidate = base / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    return candidate if candidate.is_file() else None


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(given: Settings | Mapping[str, str]) -> str:
    """The ``CREATE SECRET`` statement for the S3 settings (a Settings, or an environment mapping)."""
    cfg = coerce(given)
    options = {
        "TYPE": "s3",
        "PROVIDER": "config",
        "REGION": _sql_string(cfg.s3_region),
        "URL_STYLE": _sql_string(cfg.s3_url_style),
        "USE_SSL": "true" if cfg.s3_use_ssl else "false",
    }
    if cfg.s3_endpoint:
        options["ENDPOINT"] = _sql_string(cfg.s3_endpoint)
    if cfg.aws_access_key_id:
        options["KEY_ID"] = _sql_string(cfg.aws_access_key_id)
        options["SECRET"] = _sql_string(cfg.aws_secret_access_key or "")
        if cfg.aws_session_token:
            options["SESSION_TOKEN"] = _sql_string(cfg.aws_session_token)
    body = ", ".join(f"{key} {value}" for key, value in options.items())
    return f"create or replace secret butter_s3 ({body})"


def register_scan(conn: duckdb.DuckDBPyConnection) -> None:
    """``butter_scan(root)``: the file inventory of a data root, scanned once per
    process (butter_warehouse.inventory.scan_for_dbt); returns its folder."""
    from .inventory import scan_for_dbt

    try:
        conn.create_function("butter_scan", scan_for_dbt, ["VARCHAR"], "VARCHAR", side_effects=True)
    except duckdb.Error as exc:  # already registered on this connection
        if "already exists" not in str(exc):
            raise


def configure(conn: duckdb.DuckDBPyConnection, env: Settings | Mapping[str, str] | None = None) -> bool:
    """Load httpfs offline and set S3/HTTP options (from ``env``: Settings, a mapping or os.environ);
    returns whether httpfs is loaded."""
    cfg = coerce(env)
    path = httpfs_extension_path()
    if path is None:
        return False
    conn.execute(f"load {_sql_string(str(path))}")
    # `global`: dbt-duckdb runs models on cursors, which do not inherit
    # connection-local settings (the extension and the secret they do inherit).
    conn.execute(f"set global http_timeout = {cfg.http_timeout}")
    conn.execute(f"set global http_retries = {cfg.http_retries}")
    # Remote-IO settings, deliberately (they matter only with BUTTER_S3_CACHE=off, when dbt
    # reads s3:// directly; `butter build` otherwise builds from a landed local copy):
    # cache each object's HEAD (size, last-modified) for the process, so the ~7 models and
    # tests that read a folder do not each repeat it. parquet_metadata_cache stays off: it
    # would keep footers of a file rewritten during a build (the drift check lists anew).
    conn.execute("set global enable_http_metadata_cache = true")
    conn.execute(s3_secret_sql(cfg))
    return True


class Plugin(BasePlugin):
    """Registered in profiles.yml as ``module: butter_warehouse.duckdb_plugin``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = plugin_config

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register_scan(conn)
        configure(conn)
