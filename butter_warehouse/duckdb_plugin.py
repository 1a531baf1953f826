"""dbt-duckdb plugin: offline httpfs and S3 access from the environment.

DuckDB normally downloads its ``httpfs`` extension on first use of ``s3://``; these
machines cannot download extensions, so the extension is loaded from the PyPI
package ``duckdb-extension-httpfs`` (which exists for DuckDB 1.5.5, the version this
project pins). S3 settings come only from environment variables, never from files:

``BUTTER_S3_ENDPOINT``   host[:port] of an S3-compatible endpoint (default: AWS)
``BUTTER_S3_REGION``     region (default ``us-west-2``, where the OEDI bucket lives)
``BUTTER_S3_URL_STYLE``  ``vhost`` (default) or ``path`` (most emulators)
``BUTTER_S3_USE_SSL``    ``true`` (default) or ``false``
``BUTTER_HTTP_TIMEOUT``  seconds before an unanswered request fails (default 30; whole seconds, >= 1)
``BUTTER_HTTP_RETRIES``  retries of a failed request (default 3)
``BUTTER_S3_CONCURRENCY`` requests in flight at once for the scan's footer reads, ``butter download``
                         and the S3 landing of ``butter build`` (default 32)

A value that is not usable (``BUTTER_HTTP_TIMEOUT=30s``) stops with a
``SettingError`` naming it. The plugin also registers the DuckDB function
``butter_scan(root)`` (the file inventory, see ``butter_warehouse.inventory``),
which the staging and audit macros call when dbt runs outside ``butter build``.
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``
                         credentials; leave unset for the public bucket (unsigned reads)

Resources (the same variables and defaults as profiles.yml; ``resource_config``
gives them to the DuckDB connections the project opens in Python):
``BUTTER_DUCKDB_THREADS`` (default 2), ``BUTTER_MEMORY_LIMIT`` (default 1GB),
``BUTTER_TEMP_DIRECTORY`` (default: DuckDB's, ``<database>.tmp``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

try:  # only importable inside dbt-duckdb; the helpers below work without it
    from dbt.adapters.duckdb.plugins import BasePlugin
except ImportError:  # pragma: no cover - plain python use
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


def s3_secret_sql(env: Mapping[str, str]) -> str:
    """The ``CREATE SECRET`` statement for the S3 settings found in ``env``."""
    options = {
        "TYPE": "s3",
        "PROVIDER": "config",
        "REGION": _sql_string(env.get("BUTTER_S3_REGION", "us-west-2")),
        "URL_STYLE": _sql_string(env.get("BUTTER_S3_URL_STYLE", "vhost")),
        "USE_SSL": "false" if env.get("BUTTER_S3_USE_SSL", "true").lower() in ("0", "false", "no") else "true",
    }
    if env.get("BUTTER_S3_ENDPOINT"):
        options["ENDPOINT"] = _sql_string(env["BUTTER_S3_ENDPOINT"])
    if env.get("AWS_ACCESS_KEY_ID"):
        options["KEY_ID"] = _sql_string(env["AWS_ACCESS_KEY_ID"])
        options["SECRET"] = _sql_string(env.get("AWS_SECRET_ACCESS_KEY", ""))
        if env.get("AWS_SESSION_TOKEN"):
            options["SESSION_TOKEN"] = _sql_string(env["AWS_SESSION_TOKEN"])
    body = ", ".join(f"{key} {value}" for key, value in options.items())
    return f"create or replace secret butter_s3 ({body})"


class SettingError(ValueError):
    """A BUTTER_* setting that cannot be used; the message names it."""


def http_timeout(env: Mapping[str, str]) -> int:
    """BUTTER_HTTP_TIMEOUT as whole seconds >= 1 (default 30)."""
    text = (env.get("BUTTER_HTTP_TIMEOUT") or "30").strip()
    try:
        value = float(text)
    except ValueError:
        raise SettingError(
            f"BUTTER_HTTP_TIMEOUT must be a number of seconds (e.g. 30), got {text!r}"
        ) from None
    if not value >= 1 or value != value or value == float("inf"):
        raise SettingError(f"BUTTER_HTTP_TIMEOUT must be at least 1 second, got {text!r}")
    return round(value)


def http_retries(env: Mapping[str, str]) -> int:
    """BUTTER_HTTP_RETRIES as a whole number >= 0 (default 3)."""
    text = (env.get("BUTTER_HTTP_RETRIES") or "3").strip()
    if not text.isdigit():
        raise SettingError(f"BUTTER_HTTP_RETRIES must be a whole number >= 0 (e.g. 3), got {text!r}")
    return int(text)


#: default of BUTTER_S3_CONCURRENCY: remote requests in flight at once
DEFAULT_S3_CONCURRENCY = 32


def s3_concurrency(env: Mapping[str, str]) -> int:
    """BUTTER_S3_CONCURRENCY as a whole number >= 1 (default 32)."""
    text = (env.get("BUTTER_S3_CONCURRENCY") or str(DEFAULT_S3_CONCURRENCY)).strip()
    if not text.isdigit() or int(text) < 1:
        raise SettingError(f"BUTTER_S3_CONCURRENCY must be a whole number >= 1 (e.g. 32), got {text!r}")
    return int(text)


def check_settings(env: Mapping[str, str] | None = None) -> None:
    """Raise SettingError naming the first unusable BUTTER_* setting."""
    env = os.environ if env is None else env
    http_timeout(env)
    http_retries(env)
    s3_concurrency(env)


def register_scan(conn: duckdb.DuckDBPyConnection) -> None:
    """``butter_scan(root)``: the file inventory of a data root, scanned once per
    process (butter_warehouse.inventory.scan_for_dbt); returns its folder."""
    from .inventory import scan_for_dbt

    try:
        conn.create_function("butter_scan", scan_for_dbt, ["VARCHAR"], "VARCHAR", side_effects=True)
    except duckdb.Error as exc:  # already registered on this connection
        if "already exists" not in str(exc):
            raise


def resource_config(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``duckdb.connect(..., config=...)`` resource settings from the environment."""
    env = os.environ if env is None else env
    config = {
        "threads": str(int(env.get("BUTTER_DUCKDB_THREADS") or 2)),
        "memory_limit": env.get("BUTTER_MEMORY_LIMIT") or "1GB",
    }
    if env.get("BUTTER_TEMP_DIRECTORY"):
        config["temp_directory"] = env["BUTTER_TEMP_DIRECTORY"]
    return config


def configure(conn: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None = None) -> bool:
    """Load httpfs offline and set S3/HTTP options; returns whether httpfs is loaded."""
    env = os.environ if env is None else env
    path = httpfs_extension_path()
    if path is None:
        return False
    conn.execute(f"load {_sql_string(str(path))}")
    # `global`: dbt-duckdb runs models on cursors, which do not inherit
    # connection-local settings (the extension and the secret they do inherit).
    timeout = http_timeout(env)
    retries = http_retries(env)
    conn.execute(f"set global http_timeout = {timeout}")
    conn.execute(f"set global http_retries = {retries}")
    # Remote-IO settings, deliberately (they matter only with BUTTER_S3_CACHE=off, when dbt
    # reads s3:// directly; `butter build` otherwise builds from a landed local copy):
    # cache each object's HEAD (size, last-modified) for the process, so the ~7 models and
    # tests that read a folder do not each repeat it. parquet_metadata_cache stays off: it
    # would keep footers of a file rewritten during a build (the drift check lists anew).
    conn.execute("set global enable_http_metadata_cache = true")
    conn.execute(s3_secret_sql(env))
    return True


class Plugin(BasePlugin):  # type: ignore[misc,valid-type]
    """Registered in profiles.yml as ``module: butter_warehouse.duckdb_plugin``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = plugin_config

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        register_scan(conn)
        configure(conn)
