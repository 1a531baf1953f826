"""A local S3 emulator (moto) for tests: serve a folder tree as ``s3://bucket/prefix``.

Everything binds 127.0.0.1 only and every wait is bounded::

    with s3_emulator(local_root, bucket="butter", prefix="data") as s3:
        run_dbt([...], data_root=s3.data_root, extra_env=s3.env, ...)

``s3.env`` holds the variables ``butter_warehouse.duckdb_plugin`` reads
(``BUTTER_S3_ENDPOINT``, ``BUTTER_S3_URL_STYLE=path``, ``BUTTER_S3_USE_SSL=false``,
empty ``AWS_*`` keys: unsigned reads, as of the public bucket; region, HTTP
timeout/retries) plus ``BUTTER_DATA_ROOT``.

For failure tests, ``dead_s3_endpoint()`` yields the same kind of handle for an
endpoint that never answers (``mode="silent"``: a socket that listens but never
accepts, so requests hang until DuckDB's ``http_timeout``) or refuses connections
(``mode="refused"``: a port that was just closed).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HOST = "127.0.0.1"
FAKE_KEY_ID = "butter-test-key"
FAKE_SECRET = "butter-test-secret"
#: GET this path on a delay_proxy for its counts as JSON (``?reset`` also resets them)
STATS_PATH = "/__butter_proxy_stats"


class S3EmulatorError(RuntimeError):
    """The emulator could not be started or populated."""


@dataclass(frozen=True)
class S3Endpoint:
    """A running (or deliberately dead) S3 endpoint and the env that points dbt at it."""

    host: str
    port: int
    bucket: str
    prefix: str
    region: str
    env: dict[str, str] = field(repr=False)

    @property
    def endpoint(self) -> str:
        """``host:port`` as DuckDB's ``ENDPOINT`` wants it."""
        return f"{self.host}:{self.port}"

    @property
    def endpoint_url(self) -> str:
        """``http://host:port`` as boto3 wants it."""
        return f"http://{self.endpoint}"

    @property
    def data_root(self) -> str:
        """``s3://bucket/prefix`` (no trailing slash)."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def url(self, key: str) -> str:
        """``s3://`` URL of a path relative to the data root."""
        return f"{self.data_root}/{key.lstrip('/')}"

    def client(self):  # -> botocore S3 client
        """A boto3 S3 client for this endpoint (path-style, fake keys, short timeouts)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
            config=Config(
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 2, "mode": "standard"},
            ),
        )


def _env(host: str, port: int, bucket: str, prefix: str, region: str, http_timeout: int, http_retries: int) -> dict[str, str]:
    return {
        "BUTTER_DATA_ROOT": f"s3://{bucket}/{prefix}".rstrip("/"),
        "BUTTER_S3_ENDPOINT": f"{host}:{port}",
        "BUTTER_S3_URL_STYLE": "path",
        "BUTTER_S3_USE_SSL": "false",
        "BUTTER_S3_REGION": region,
        "BUTTER_HTTP_TIMEOUT": str(http_timeout),
        "BUTTER_HTTP_RETRIES": str(http_retries),
        # unsigned, as the public OEDI bucket is read (empty: no key of the caller's leaks in);
        # a test of the signed path sets FAKE_KEY_ID / FAKE_SECRET itself
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def _wait_until_answering(host: str, port: int, timeout: float) -> None:
    """Poll the endpoint until it answers HTTP, or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(host, port, timeout=min(2.0, timeout))
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except OSError as exc:  # refused / reset / timed out: not up yet
            last = exc
            time.sleep(0.05)
        finally:
            conn.close()
    raise S3EmulatorError(f"moto S3 emulator on {host}:{port} did not answer within {timeout:.0f}s (last error: {last!r})")


def upload_tree(client, bucket: str, prefix: str, root: Path) -> int:
    """Upload every file below ``root`` as ``prefix/<relative path>``; returns the count."""
    count = 0
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        key = "/".join(filter(None, [prefix.strip("/"), path.relative_to(root).as_posix()]))
        client.upload_file(str(path), bucket, key)
        count += 1
    return count


def public_read_policy(bucket: str) -> str:
    """A bucket policy letting anyone list and read, as the public OEDI bucket does (unsigned
    requests, the landing's GETs and DuckDB's reads without keys, are refused otherwise). moto
    checks a HEAD as s3:HeadObject, where AWS checks s3:GetObject: both are allowed."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:HeadObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }]})


def _bucket_exists(client, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def _delete_bucket(client, bucket: str) -> None:
    """Empty and delete ``bucket`` so the next emulator in this process starts clean."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    for page in pages:
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    client.delete_bucket(Bucket=bucket)


@contextmanager
def s3_emulator(
    local_root: Path | str | None = None,
    *,
    bucket: str = "butter-test",
    prefix: str = "butter",
    region: str = "us-east-1",
    startup_timeout: float = 20.0,
    http_timeout: int = 30,
    http_retries: int = 1,
) -> Iterator[S3Endpoint]:
    """Run moto's S3 on 127.0.0.1 (free port), create ``bucket``, upload ``local_root``.

    Yields an :class:`S3Endpoint`; on exit (also on error) the bucket is deleted and
    the server shut down. ``local_root=None`` leaves the bucket empty. Raises
    :class:`S3EmulatorError` if the server does not answer within ``startup_timeout``
    seconds. moto's state is per process: emulators that run at the same time need
    distinct bucket names (sequential ones may reuse a name).
    """
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as exc:  # pragma: no cover - dev dependency missing
        raise S3EmulatorError("the S3 emulator needs `moto[server]` (pip install 'moto[server]')") from exc

    class _QuietHandler(MotoRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:  # one line per request otherwise
            pass

    # Built in this thread (unlike moto's ThreadedMotoServer, whose start() waits
    # forever when the bind fails in its thread); port 0 = a free port.
    try:
        server = make_server(
            HOST,
            0,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=_QuietHandler,
        )
    except OSError as exc:
        raise S3EmulatorError(f"could not bind the moto S3 emulator to {HOST}: {exc}") from exc
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name=f"moto-s3-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_answering(HOST, port, startup_timeout)
        s3 = S3Endpoint(HOST, port, bucket, prefix.strip("/"), region,
                        _env(HOST, port, bucket, prefix.strip("/"), region, http_timeout, http_retries))
        client = s3.client()
        if _bucket_exists(client, bucket):
            raise S3EmulatorError(
                f"bucket {bucket!r} already exists: moto keeps its state per process, so "
                "emulators running at the same time need distinct bucket names"
            )
        try:
            if region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:
                client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            client.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
            if local_root is not None:
                upload_tree(client, bucket, s3.prefix, Path(local_root))
        except Exception as exc:
            raise S3EmulatorError(f"could not populate s3://{bucket}/{s3.prefix} on {s3.endpoint}: {exc}") from exc
        try:
            yield s3
        finally:
            _delete_bucket(client, bucket)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def dead_s3_endpoint(
    mode: Literal["silent", "refused"] = "silent",
    *,
    bucket: str = "butter-test",
    prefix: str = "butter",
    region: str = "us-east-1",
    http_timeout: int = 2,
    http_retries: int = 0,
) -> Iterator[S3Endpoint]:
    """An S3 endpoint on 127.0.0.1 that never answers, for bounded-time failure tests.

    ``silent``: a listening socket that never accepts; connections complete (kernel
    backlog) but no byte is ever sent back, so clients wait for their read timeout.
    ``refused``: a port that was bound then closed; connections are refused at once.
    The env sets a short ``BUTTER_HTTP_TIMEOUT`` (seconds) and few retries, so a
    failing dbt run ends in about ``http_timeout * (http_retries + 1)`` per request.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
        if mode == "silent":
            sock.listen(128)
        elif mode == "refused":
            sock.close()
        else:
            raise ValueError(f"mode must be 'silent' or 'refused', not {mode!r}")
        yield S3Endpoint(HOST, port, bucket, prefix.strip("/"), region,
                         _env(HOST, port, bucket, prefix.strip("/"), region, http_timeout, http_retries))
    finally:
        sock.close()


@dataclass
class ProxyStats:
    """Requests seen by a :func:`delay_proxy`: per method and per object key."""

    by_method: dict[str, int] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, method: str, key: str) -> None:
        with self.lock:
            self.by_method[method] = self.by_method.get(method, 0) + 1
            self.by_key[key] = self.by_key.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    def reset(self) -> None:
        with self.lock:
            self.by_method.clear()
            self.by_key.clear()


@contextmanager
def delay_proxy(upstream: S3Endpoint, delay_ms: float = 0.0) -> Iterator[tuple[S3Endpoint, ProxyStats]]:
    """A threaded HTTP proxy on 127.0.0.1 in front of ``upstream`` that waits ``delay_ms``
    before forwarding each request (what a remote endpoint's round trip costs) and counts
    the requests per method and per object key (path without the query). Yields the
    endpoint to use (same bucket and prefix, env pointing at the proxy) and the counts."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import unquote, urlsplit

    stats = ProxyStats()
    local = threading.local()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            key = unquote(urlsplit(self.path).path)
            if key == STATS_PATH:  # the counts, for a benchmark running the proxy in another process
                with stats.lock:
                    data = json.dumps({"by_method": stats.by_method, "by_key": stats.by_key}).encode()
                if "reset" in self.path:
                    stats.reset()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            stats.add(self.command, key)
            if delay_ms:
                time.sleep(delay_ms / 1000)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            for attempt in range(2):
                conn = getattr(local, "conn", None)
                if conn is None:
                    conn = local.conn = http.client.HTTPConnection(upstream.host, upstream.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    local.conn = None
                    if attempt:
                        raise
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive", "server",
                                        "date"):
                    self.send_header(name, value)
            length_header = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length_header or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name=f"delay-proxy-{port}", daemon=True)
    thread.start()
    env = dict(upstream.env, BUTTER_S3_ENDPOINT=f"{HOST}:{port}")
    try:
        yield S3Endpoint(HOST, port, upstream.bucket, upstream.prefix, upstream.region, env), stats
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
