"""The unsigned one-GET reader (butter_warehouse.s3_get) against a small local HTTP server:
where a GET goes, its retries, its failures, and connection reuse."""

from __future__ import annotations

import calendar
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from butter_warehouse.inventory import listing
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
            seen.setdefault("ranges", []).append(self.headers.get("Range"))
            status = statuses.pop(0) if statuses else 200
            body = BODY if status == 200 else b"<Error><Code>Nope</Code></Error>"
            suffix = self.headers.get("Range", "")
            if status == 200 and suffix.startswith("bytes=-"):  # as S3: the last n bytes, all if fewer
                body = BODY[-min(int(suffix[len("bytes=-"):]), len(BODY)):]
                status = 206
            self.send_response(status)
            if status == 206:
                start = len(BODY) - len(body)
                self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
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


# --- the footer of a remote file from its last bytes (the scan of an unsigned source) ---------------


def test_a_suffix_range_get_returns_the_last_bytes_and_where_they_start() -> None:
    with server([]) as seen:
        with getter(seen["endpoint"]).open("bucket", "k.parquet", tail=100) as stream:
            assert stream.read() == BODY[-100:]
            assert stream.metadata()["content-range"] == f"bytes {len(BODY) - 100}-{len(BODY) - 1}/{len(BODY)}"
        with getter(seen["endpoint"]).open("bucket", "k.parquet", tail=10 * len(BODY)) as stream:
            assert stream.read() == BODY  # a suffix longer than the object: all of it
        assert seen["ranges"] == ["bytes=-100", f"bytes=-{10 * len(BODY)}"]
    with pytest.raises(ValueError, match="at least one byte"):
        getter("127.0.0.1:9").open("bucket", "k", tail=0)


class FileGetter:
    """``UnsignedGetter.open`` over local files (bucket = a folder), answering suffix ranges as S3
    does; counts the requests."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.tails: list[int | None] = []

    def open(self, bucket: str, key: str, tail: int | None = None) -> object:
        import io
        from pathlib import Path

        data = (Path(self.folder) / key).read_bytes()
        self.tails.append(tail)
        part = data[-min(tail, len(data)):] if tail else data
        headers = {"etag": '"e1"', "last-modified": "Mon, 07 Dec 2026 01:00:00 GMT"}
        if tail:
            headers["content-range"] = f"bytes {len(data) - len(part)}-{len(data) - 1}/{len(data)}"

        class Stream(io.BytesIO):
            def metadata(self) -> dict[str, str]:
                return headers

        return Stream(part)


@pytest.mark.parametrize(("rows", "metadata_bytes", "requests"), [
    (10, 0, 1),  # a small file: the suffix is the whole file
    (200_000, 0, 1),  # larger than the suffix, a footer inside it
    (10, 3 * listing.FOOTER_TAIL, 2),  # a footer larger than the suffix: a second GET of its length
])
def test_the_footer_from_the_last_bytes_equals_pyarrows(tmp_path, rows: int, metadata_bytes: int,
                                                        requests: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"x": pa.array(range(rows), pa.int64()), "y": pa.array([float(i) for i in range(rows)])})
    if metadata_bytes:
        table = table.replace_schema_metadata({"pad": "p" * metadata_bytes})
    pq.write_table(table, tmp_path / "f.parquet", compression="none")
    files = FileGetter(str(tmp_path))
    meta = listing.read_footer("s3://bucket/f.parquet", object(), files)  # type: ignore[arg-type]
    assert len(files.tails) == requests and files.tails[0] == listing.FOOTER_TAIL
    expected = pq.read_metadata(tmp_path / "f.parquet")
    assert meta.equals(expected) and meta.num_rows == rows
    assert meta.schema.to_arrow_schema().equals(expected.schema.to_arrow_schema())


def test_bytes_before_the_fetched_tail_are_an_error_not_zeros() -> None:
    tail = listing.TailBytes(100, 90, bytes(range(10)))
    assert tail.seek(-4, 2) == 96 and tail.read(10) == bytes([6, 7, 8, 9])
    tail.seek(50)
    with pytest.raises(OSError, match="before the 10 fetched from the end"):
        tail.read(4)
