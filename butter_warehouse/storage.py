"""Where the data lives: local paths and ``s3://`` roots, and the pyarrow S3 file system.

The S3 client here is configured from the same ``Settings`` as DuckDB's
(``duckdb_plugin.s3_secret_sql``): region, endpoint, URL style, TLS, timeouts,
retries and credentials are read and validated once, in ``settings``.
"""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .settings import Settings, coerce

PARQUET_MAGIC = b"PAR1"


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
    # the URL style as the settings say, as DuckDB and s3_get use it (pyarrow alone would use the
    # path style whenever an endpoint is given)
    kwargs["force_virtual_addressing"] = cfg.s3_url_style == "vhost"
    if cfg.aws_access_key_id:
        kwargs["access_key"] = cfg.aws_access_key_id
        kwargs["secret_key"] = cfg.aws_secret_access_key or ""
        if cfg.aws_session_token:
            kwargs["session_token"] = cfg.aws_session_token
    else:
        kwargs["anonymous"] = True
    return fs.S3FileSystem(**kwargs)


def is_parquet_file(path: str, size: int, filesystem: Any | None = None) -> bool:
    """Whether a file is parquet by its bytes: ``PAR1`` at its start and at its end
    (local, or on S3 through ``filesystem``). Raises OSError when it cannot be read."""
    if size < 12:
        return False
    if filesystem is None:
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(size - 4)
            tail = handle.read(4)
    else:
        with filesystem.open_input_file(path[len("s3://"):]) as handle:
            head = handle.read_at(4, 0)
            tail = handle.read_at(4, size - 4)
    return head == PARQUET_MAGIC and tail == PARQUET_MAGIC


def is_data_file(path: str, size: int, filesystem: Any | None = None, name: str | None = None) -> bool:
    """Whether a file below a published folder is a parquet data file: the one definition the
    scan, the after-build drift check, the download and the landing share. A name ending in
    ``.parquet`` is one (the staging glob reads it); any other name is one when its bytes say
    parquet (``PAR1`` at both ends: ``000001_0`` as some writers name parts), except metadata
    names starting with ``_`` or ``.`` (``_common_metadata``, ``.crc``). Raises OSError when a
    file whose name does not decide cannot be read. ``name``: the file's name when ``path`` is
    a temporary copy of it (a download's ``.<name>.butter-part``)."""
    name = name or path.rsplit("/", 1)[-1]
    if name.endswith(".parquet"):
        return True
    if name.startswith(("_", ".")):
        return False
    return is_parquet_file(path, size, filesystem)


def segment_problem(relative: str) -> str | None:
    """Why ``relative`` (a key below a root, ``/``-separated) cannot name a file inside a local
    folder: absolute, an empty segment (``a//b``), or a ``.`` / ``..`` segment; None when it can."""
    if relative.startswith("/"):
        return "is absolute"
    for segment in relative.split("/"):
        if segment == "":
            return "has an empty path segment (//)"
        if segment in (".", ".."):
            return f"has a {segment!r} segment"
    return None


def root_problem(root: str) -> str | None:
    """Why an ``s3://`` root cannot be read (an empty or ``..`` segment, no bucket); None when it can."""
    if not is_s3(root):
        return None
    rest = root[len("s3://"):]
    if not rest:
        return "names no bucket"
    return segment_problem(rest)


def inside(root: Path, relative: str) -> Path:
    """``root / relative``, proven inside ``root`` (no segment leaves it, no link below it points
    out of it); ValueError naming the path otherwise."""
    problem = segment_problem(relative)
    if problem:
        raise ValueError(f"{relative!r} {problem}")
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise ValueError(f"{relative!r} leads outside {base} (to {target})")
    return base / relative


def parquet_codecs(meta: Any) -> set[str]:
    """The compression codecs (parquet names: SNAPPY, BROTLI, ZSTD, ...) of a file's column
    chunks, from its footer (``pyarrow.parquet.FileMetaData``)."""
    return {meta.row_group(g).column(c).compression.upper()
            for g in range(meta.num_row_groups) for c in range(meta.num_columns)}


#: S3's Last-Modified has whole seconds: a file read before the end of its Last-Modified second
#: plus this margin (clock skew) may be rewritten with the same size and the same listed identity;
#: its ETag is checked again (a HEAD) before it is taken as unchanged (download, landing, drift check)
SETTLE_SECONDS = 5.0


def unsettled(modified: float | None, at: float) -> bool:
    """Whether an object last modified in the second ``modified`` (epoch seconds, S3's whole
    seconds) and read at ``at`` could still be rewritten with the same listed identity."""
    return modified is None or at < modified + 1 + SETTLE_SECONDS


def stamp(stream: Any) -> tuple[str | None, float | None]:
    """(ETag, Last-Modified as epoch seconds) of an opened S3 object (pyarrow's stream metadata);
    (None, None) for a local file."""
    try:
        meta = dict(stream.metadata() or {})
    except (AttributeError, OSError):
        return None, None
    raw = {str(k).lower(): v.decode() if isinstance(v, bytes) else str(v) for k, v in meta.items()}
    modified = None
    text = raw.get("last-modified")
    if text:
        for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%a, %d %b %Y %H:%M:%S GMT"):
            try:
                modified = float(calendar.timegm(time.strptime(text, pattern)))
                break
            except ValueError:
                continue
    return raw.get("etag"), modified


def etag(filesystem: Any, key: str) -> str | None:
    """An S3 object's ETag now (one HEAD: pyarrow opens the object), ``key`` without ``s3://``."""
    with filesystem.open_input_file(key) as handle:
        return stamp(handle)[0]
