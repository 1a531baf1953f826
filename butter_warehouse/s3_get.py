"""One request per S3 object: an unsigned HTTP GET of the whole object.

pyarrow's S3 client opens an object with a HEAD (for its size) before it GETs the
body: two requests per file. The landing knows each file's size from the listing,
so for an unsigned source (no ``AWS_ACCESS_KEY_ID``: the public OEDI bucket) it
GETs the object directly, over the standard library's HTTP client, with the same
endpoint, URL style (a bucket name with a dot always in the path), TLS, timeout
and retry settings as the pyarrow and DuckDB clients (``settings``). The response's headers carry the ETag and Last-Modified
the landing records (``storage.stamp`` reads them from ``metadata()``). A signed
source keeps pyarrow's client (``download.Source.open``).

Connections are kept open per thread and host (HTTP/1.1 keep-alive), so a
thousand files in 32 threads open about 32 connections, not a thousand.
A request that fails before its body starts (a connection error, a timeout, HTTP
429 or 5xx) is retried ``BUTTER_HTTP_RETRIES`` times with exponential backoff (a
kept-alive connection the server closed is replaced at once, without counting);
one that fails part-way through its body raises ``OSError`` (the transfer of that
file fails and the next run fetches it again).
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import quote

from .settings import Settings

#: the first retry's wait, seconds (doubling on each further retry)
BACKOFF = 0.2
#: statuses worth another try: throttling and server errors
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Endpoint:
    """Where an unsigned GET goes: scheme, host[:port], and whether the bucket is in the path."""

    scheme: str
    host: str
    path_style: bool

    @classmethod
    def of(cls, cfg: Settings) -> Endpoint:
        """The endpoint the settings name (BUTTER_S3_ENDPOINT, _USE_SSL, _URL_STYLE), or AWS's
        regional endpoint (BUTTER_S3_REGION) over HTTPS."""
        if cfg.s3_endpoint:
            return cls("https" if cfg.s3_use_ssl else "http", cfg.s3_endpoint, cfg.s3_url_style == "path")
        return cls("https", f"s3.{cfg.s3_region}.amazonaws.com", cfg.s3_url_style == "path")

    def locate(self, bucket: str, key: str) -> tuple[str, str]:
        """(host, path) of an object's GET. A bucket name with a dot goes in the path whatever
        the style (as a host name it would not match the endpoint's TLS certificate)."""
        path = "/" + quote(key, safe="/=")
        if self.path_style or "." in bucket:
            return self.host, f"/{bucket}{path}"
        return f"{bucket}.{self.host}", path


class _Connections(threading.local):
    """This thread's open connections, by host."""

    def __init__(self) -> None:
        self.by_host: dict[str, http.client.HTTPConnection] = {}


class ObjectStream:
    """The body of one GET: ``read(n)``, ``metadata()`` (the response headers), a context manager."""

    def __init__(self, response: http.client.HTTPResponse,
                 release: Callable[[http.client.HTTPResponse], None]) -> None:
        self._response = response
        self._release = release
        self._headers = {name.lower(): value for name, value in response.getheaders()}

    def metadata(self) -> dict[str, str]:
        return dict(self._headers)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._response.read(size if size >= 0 else None)
        except (OSError, http.client.HTTPException) as exc:
            raise OSError(f"the response broke off ({exc})") from exc

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._release(self._response)


class UnsignedGetter:
    """Unsigned GETs of whole objects through one endpoint (settings read once)."""

    def __init__(self, cfg: Settings) -> None:
        self.endpoint = Endpoint.of(cfg)
        self.timeout = float(cfg.http_timeout)
        self.retries = cfg.http_retries
        self._local = _Connections()

    def _connection(self, host: str) -> http.client.HTTPConnection:
        conn = self._local.by_host.get(host)
        if conn is None:
            kind = http.client.HTTPSConnection if self.endpoint.scheme == "https" else http.client.HTTPConnection
            conn = kind(host, timeout=self.timeout)
            self._local.by_host[host] = conn
        return conn

    def _drop(self, host: str) -> None:
        conn = self._local.by_host.pop(host, None)
        if conn is not None:
            conn.close()

    def open(self, bucket: str, key: str, tail: int | None = None) -> ObjectStream:
        """A stream of the object's body (one GET; retried before the body starts), or of its last
        ``tail`` bytes (a suffix range: the whole object when it is smaller; the response's
        Content-Range says where the bytes start). Raises ``OSError`` naming the status when
        the store refuses (403, 404, ...)."""
        host, path = self.endpoint.locate(bucket, key)
        headers = {"Accept-Encoding": "identity"}
        if tail is not None:
            if tail < 1:
                raise ValueError(f"a suffix range needs at least one byte, not {tail}")
            headers["Range"] = f"bytes=-{tail}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(BACKOFF * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))  # jitter: threads apart
            try:
                response = self._request(host, path, headers)
            except (OSError, http.client.HTTPException) as exc:
                self._drop(host)
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status == 200 or (tail is not None and response.status == 206):
                return ObjectStream(response, partial(self._finish, host))
            body = response.read(2048)
            self._finish(host, response)
            last = f"HTTP {response.status} {response.reason}: {body[:300].decode(errors='replace')}"
            if response.status not in RETRY_STATUSES:
                break
        raise OSError(f"GET {self.endpoint.scheme}://{host}{path} failed ({last})")

    def _request(self, host: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """Send the GET and read its status and headers. A kept-alive connection the server has
        closed meanwhile (it may close an idle one at any time) is replaced at once, not counted
        as a failed attempt."""
        reused = host in self._local.by_host
        conn = self._connection(host)
        try:
            conn.request("GET", path, headers=headers)
            return conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise
            self._drop(host)
            conn = self._connection(host)
            conn.request("GET", path, headers=headers)
            return conn.getresponse()

    def _finish(self, host: str, response: http.client.HTTPResponse) -> None:
        """Keep the connection for the next GET when its response was read to the end."""
        if not response.isclosed():
            self._drop(host)  # a body left unread (a stopped transfer): the connection cannot be reused
