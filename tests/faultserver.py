"""A real HTTP server on 127.0.0.1, in a thread, serving feeds and faults by path.

    with FaultServer() as server:
        server.add("/feed.xml", Static(body, headers={"Content-Type": "application/rss+xml"},
                                       etag='"v1"'))
        server.add("/slow", Drip(body, interval=0.2))
        url = server.url("/feed.xml")
        ...
        server.requests  # every request seen: Seen(path, headers)

Behaviours: Static (200 or any status, honours If-None-Match/If-Modified-Since), Stall (headers,
then silence), Drip (a byte at a time), Reset (TCP RST), Redirect, Big (streamed junk, never held in
memory), GzipBomb (small gzip that inflates hugely), Sequence (one behaviour per request).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Protocol


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]  # lowercase keys


class Behaviour(Protocol):
    def serve(self, handler: _Handler, stop: threading.Event) -> None: ...


def _send_head(handler: _Handler, status: int, headers: Mapping[str, str]) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()


@dataclass(frozen=True)
class Static:
    """A fixed response; with etag/last_modified set, answers conditional GETs with 304."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        headers = dict(self.headers)
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.status == 200 and self._not_modified(handler):
            _send_head(handler, 304, headers)
            return
        headers["Content-Length"] = str(len(self.body))
        _send_head(handler, self.status, headers)
        handler.wfile.write(self.body)

    def _not_modified(self, handler: _Handler) -> bool:
        match = handler.headers.get("If-None-Match")
        if match is not None and self.etag:
            return self.etag in [tag.strip() for tag in match.split(",")]
        since = handler.headers.get("If-Modified-Since")
        return since is not None and since == self.last_modified


@dataclass(frozen=True)
class Stall:
    """Send the status line and headers, then nothing for `seconds` (a read timeout)."""

    seconds: float = 30.0
    headers_first: bool = True

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        if self.headers_first:
            _send_head(handler, 200, {"Content-Type": "application/rss+xml"})
            handler.wfile.flush()
        stop.wait(self.seconds)


@dataclass(frozen=True)
class Drip:
    """Send `body` `chunk` bytes at a time every `interval` seconds (defeats read timeouts)."""

    body: bytes
    interval: float = 0.2
    chunk: int = 1

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        _send_head(handler, 200, {"Content-Type": "application/rss+xml"})
        for start in range(0, len(self.body), self.chunk):
            if stop.wait(self.interval):
                return
            handler.wfile.write(self.body[start : start + self.chunk])
            handler.wfile.flush()


@dataclass(frozen=True)
class Reset:
    """Read the request, then abort the connection with a TCP RST."""

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()
        handler.close_connection = True


@dataclass(frozen=True)
class Redirect:
    """Redirect to `location` (absolute or relative) with `status`."""

    location: str
    status: int = 301

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        _send_head(handler, self.status, {"Location": self.location, "Content-Length": "0"})


@dataclass(frozen=True)
class Big:
    """`size` bytes of junk streamed in 64 KiB chunks, never held whole in memory."""

    size: int
    content_length: bool = False  # False: the client must count bytes itself

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        headers = {"Content-Type": "application/rss+xml"}
        if self.content_length:
            headers["Content-Length"] = str(self.size)
        _send_head(handler, 200, headers)
        block = b"<x>" * (65536 // 3)
        sent = 0
        while sent < self.size and not stop.is_set():
            piece = block[: self.size - sent]
            handler.wfile.write(piece)
            sent += len(piece)


@dataclass(frozen=True)
class Encoded:
    """`body` sent as is under `encoding` (gzip, deflate…), with or without Content-Length;
    without, it ends when the connection closes."""

    body: bytes
    encoding: str = "gzip"
    content_length: bool = False

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": self.encoding}
        if self.content_length:
            headers["Content-Length"] = str(len(self.body))
        _send_head(handler, 200, headers)
        handler.wfile.write(self.body)


@dataclass(frozen=True)
class GzipBomb:
    """A gzip body of zeros that inflates to `size` bytes (about size/1000 on the wire)."""

    size: int

    def __post_init__(self) -> None:
        # Compressed here, not per request: 64 MB at level 9 takes seconds of CPU on a busy
        # machine, and a client with a 2 s deadline then records a timeout, not a bomb.
        _gzip_bomb(self.size)

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        body = _gzip_bomb(self.size)
        headers = {
            "Content-Type": "application/rss+xml",
            "Content-Encoding": "gzip",
            "Content-Length": str(len(body)),
        }
        _send_head(handler, 200, headers)
        handler.wfile.write(body)


@functools.cache
def _gzip_bomb(size: int) -> bytes:
    return b"".join(_gzip_zeros(size))


def _gzip_zeros(size: int) -> Iterator[bytes]:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    for start in range(0, size, len(zeros)):
        yield packer.compress(zeros[: size - start])
    yield packer.flush()


class SequenceOf:
    """Serve the behaviours in turn, one per request; the last one repeats."""

    def __init__(self, behaviours: Sequence[Behaviour]) -> None:
        self._behaviours = list(behaviours)
        self._lock = threading.Lock()
        self._next = 0

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        with self._lock:
            behaviour = self._behaviours[min(self._next, len(self._behaviours) - 1)]
            self._next += 1
        behaviour.serve(handler, stop)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: simple, and bodies end at close

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(self)
        behaviour = owner._route(self.path)
        owner._enter(self.path)
        try:
            # the client going away (deadline, cap) is expected in fault tests
            with contextlib.suppress(OSError):
                behaviour.serve(self, owner._stopping)
        finally:
            owner._leave(self.path)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FaultServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and aborted reads are the point of this server


class FaultServer:
    """Start/stop a threaded HTTP server on 127.0.0.1 with per-path behaviours."""

    def __init__(self) -> None:
        self._routes: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._seen: list[Seen] = []
        self._active: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FaultServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, behaviour: Behaviour) -> str:
        """Serve `behaviour` at `path` (exact, query included if given); returns its URL."""
        with self._lock:
            self._routes[path] = behaviour
        return self.url(path)

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    def _record(self, handler: _Handler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self._seen.append(Seen(handler.path, headers))

    def peak_concurrency(self, path: str) -> int:
        """The most requests to `path` that were being served at the same time."""
        with self._lock:
            return self._peak.get(path, 0)

    def _enter(self, path: str) -> None:
        with self._lock:
            self._active[path] = self._active.get(path, 0) + 1
            self._peak[path] = max(self._peak.get(path, 0), self._active[path])

    def _leave(self, path: str) -> None:
        with self._lock:
            self._active[path] -= 1

    def _route(self, path: str) -> Behaviour:
        with self._lock:
            found = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        return found or Static(b"not found", status=404, headers={"Content-Type": "text/plain"})
