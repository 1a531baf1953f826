"""The unsigned one-GET reader (butter_warehouse.s3_get) against a small local HTTP server:
where a GET goes, its retries, its failures, and connection reuse."""

from __future__ import annotations

import calendar
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from butter_warehouse.s3_get import Endpoint, UnsignedGetter
from butter_warehouse.settings import Settings

BODY = b"PAR1" + bytes(range(256)) * 40 + b"PAR1"


@contextmanager
def server(statuses: list[int], close_after_each: bool = False) -> Iterator[dict]:
    """An HTTP/1.1 server answering GETs with ``statuses`` in turn (then 200 with BODY); records
    each request's path and the connections opened. ``close_after_each``: it closes every
    connection after its response without saying so (as a server closing idle keep-alive
    connections does)."""
    seen: dict = {"paths": [], "connections": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            seen["connections"] += 1

        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            seen["paths"].append(self.path)
            status = statuses.pop(0) if statuses else 200
            body = BODY if status == 200 else b"<Error><Code>Nope</Code></Error>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", '"abc123"')
            self.send_header("Last-Modified", "Mon, 07 Dec 2026 01:00:00 GMT")
            self.end_headers()
            self.wfile.write(body)
            if close_after_each:
                self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        seen["endpoint"] = f"127.0.0.1:{httpd.server_address[1]}"
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def getter(endpoint: str, retries: int = 2) -> UnsignedGetter:
    return UnsignedGetter(Settings(s3_endpoint=endpoint, s3_url_style="path", s3_use_ssl=False,
                                   http_timeout=5, http_retries=retries))


def test_endpoints_and_keys() -> None:
    key = "butter/all_runs/dataset=529_pollen/kernel_regularizer.type=__HIVE_DEFAULT_PARTITION__/a b.parquet"
    aws = Endpoint.of(Settings(s3_region="us-west-2"))
    assert (aws.scheme, aws.host, aws.path_style) == ("https", "s3.us-west-2.amazonaws.com", False)
    assert aws.locate("oedi-data-lake", key) == (
        "oedi-data-lake.s3.us-west-2.amazonaws.com",
        "/butter/all_runs/dataset=529_pollen/kernel_regularizer.type=__HIVE_DEFAULT_PARTITION__/a%20b.parquet")
    path = Endpoint.of(Settings(s3_endpoint="127.0.0.1:9000", s3_url_style="path", s3_use_ssl=False))
    assert path.scheme == "http" and path.locate("b", "k/x=1.parquet") == ("127.0.0.1:9000", "/b/k/x=1.parquet")
    # the style the settings name, custom endpoint or not (pyarrow is told the same: storage.s3_filesystem)
    vhost = Endpoint.of(Settings(s3_endpoint="minio.local:9000"))
    assert (vhost.scheme, vhost.path_style) == ("https", False)
    assert vhost.locate("b", "k") == ("b.minio.local:9000", "/k")
    assert aws.locate("my.dotted.bucket", "k") == ("s3.us-west-2.amazonaws.com", "/my.dotted.bucket/k")


def test_keys_travel_byte_exact_to_the_store() -> None:
    """Keys with characters a URL must escape reach the server as the key (the proxy's and
    moto's unquoting give the key back)."""
    from urllib.parse import unquote

    keys = ["p/a b+c%20d=e/ü€.parquet", "p/x~;,:@&$!'()*/y.parquet", "p/q?r#s.parquet"]
    with server([]) as seen:
        get = getter(seen["endpoint"])
        for key in keys:
            with get.open("bucket", key) as stream:
                stream.read()
        assert [unquote(p) for p in seen["paths"]] == [f"/bucket/{k}" for k in keys]


def test_one_get_per_object_with_its_stamp_and_kept_connection() -> None:
    from butter_warehouse.storage import stamp

    with server([]) as seen:
        get = getter(seen["endpoint"])
        for _ in range(3):
            with get.open("bucket", "prefix/f.parquet") as stream:
                assert stamp(stream) == ('"abc123"', float(calendar.timegm((2026, 12, 7, 1, 0, 0))))
                assert stream.read(4) + stream.read() == BODY
        assert seen["paths"] == ["/bucket/prefix/f.parquet"] * 3
        assert seen["connections"] == 1  # kept alive between the three GETs


def test_an_unread_body_drops_the_connection() -> None:
    with server([]) as seen:
        get = getter(seen["endpoint"])
        with get.open("bucket", "f.parquet") as stream:
            assert stream.read(10) == BODY[:10]  # stopped part-way
        with get.open("bucket", "f.parquet") as stream:
            assert stream.read() == BODY
        assert seen["connections"] == 2


def test_a_connection_the_server_closed_is_replaced_without_a_retry() -> None:
    with server([], close_after_each=True) as seen:
        get = getter(seen["endpoint"], retries=0)  # no retry to spend: the reconnect is not one
        for _ in range(3):
            with get.open("bucket", "f.parquet") as stream:
                assert stream.read() == BODY
        assert len(seen["paths"]) == 3 and seen["connections"] == 3


def test_throttling_and_server_errors_are_retried() -> None:
    with server([503, 500]) as seen:
        with getter(seen["endpoint"], retries=2).open("bucket", "f.parquet") as stream:
            assert stream.read() == BODY
        assert len(seen["paths"]) == 3


def test_refusals_and_exhausted_retries_raise_naming_the_status() -> None:
    with server([404]) as seen:
        with pytest.raises(OSError, match=r"GET http://127\.0\.0\.1:\d+/bucket/f\.parquet failed \(HTTP 404"):
            getter(seen["endpoint"]).open("bucket", "f.parquet")
        assert len(seen["paths"]) == 1  # not retried
    with server([503, 503, 503]) as seen:
        with pytest.raises(OSError, match="HTTP 503"):
            getter(seen["endpoint"], retries=2).open("bucket", "f.parquet")
        assert len(seen["paths"]) == 3


def test_a_dead_endpoint_raises_after_its_retries() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed on leaving: connections are refused
    with pytest.raises(OSError, match="ConnectionRefusedError"):
        getter(f"127.0.0.1:{port}", retries=1).open("bucket", "f.parquet")
