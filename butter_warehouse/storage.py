"""Where the data lives: local paths and ``s3://`` roots, and the pyarrow S3 file system.

The S3 client here is configured from the same ``Settings`` as DuckDB's
(``duckdb_plugin.s3_secret_sql``): region, endpoint, URL style, TLS, timeouts,
retries and credentials are read and validated once, in ``settings``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .settings import Settings, coerce


def is_s3(root: str) -> bool:
    return root.startswith("s3://")


def normalize_root(root: str, cwd: str | None = None) -> str:
    """A data root as the build will use it: local paths absolute (resolved
    against the caller's working directory), no trailing slash."""
    root = root.strip()
    if is_s3(root):
        return root.rstrip("/")
    path = os.path.expanduser(root)
    if not os.path.isabs(path):
        path = os.path.join(cwd or os.getcwd(), path)
    return os.path.normpath(path)


def s3_filesystem(env: Settings | Mapping[str, str] | None = None) -> Any:
    """A pyarrow S3 file system configured like the DuckDB side (duckdb_plugin)."""
    from pyarrow import fs

    cfg = coerce(env)
    kwargs: dict[str, Any] = {
        "region": cfg.s3_region,
        "connect_timeout": float(cfg.http_timeout),
        "request_timeout": float(cfg.http_timeout),
        "retry_strategy": fs.AwsStandardS3RetryStrategy(max_attempts=cfg.http_retries + 1),
    }
    if cfg.s3_endpoint:
        kwargs["endpoint_override"] = cfg.s3_endpoint
        kwargs["scheme"] = "https" if cfg.s3_use_ssl else "http"
    if cfg.s3_url_style == "path":
        kwargs["force_virtual_addressing"] = False
    if cfg.aws_access_key_id:
        kwargs["access_key"] = cfg.aws_access_key_id
        kwargs["secret_key"] = cfg.aws_secret_access_key or ""
        if cfg.aws_session_token:
            kwargs["session_token"] = cfg.aws_session_token
    else:
        kwargs["anonymous"] = True
    return fs.S3FileSystem(**kwargs)
