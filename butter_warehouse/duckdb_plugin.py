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
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``
                         credentials; leave unset for the public bucket (unsigned reads)

Resources (the same variables and defaults as profiles.yml; ``resource_config``
gives them to the DuckDB connections the project opens in Python):
``BUTTER_DUCKDB_THREADS`` (default 2), ``BUTTER_MEMORY_LIMIT`` (default 1GB),
``BUTTER_TEMP_DIRECTORY`` (default: DuckDB's, ``<database>.tmp``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

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
    timeout = max(1, round(float(env.get("BUTTER_HTTP_TIMEOUT") or 30)))
    retries = int(env.get("BUTTER_HTTP_RETRIES") or 3)
    conn.execute(f"set global http_timeout = {timeout}")
    conn.execute(f"set global http_retries = {retries}")
    conn.execute(s3_secret_sql(env))
    return True


class Plugin(BasePlugin):  # type: ignore[misc,valid-type]
    """Registered in profiles.yml as ``module: butter_warehouse.duckdb_plugin``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.config = plugin_config

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        configure(conn)
