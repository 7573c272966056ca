"""A plain ASGI app serving the published outputs, /healthz and /metrics.

Files are read (and gzipped) once per version — keyed by (path, mtime_ns, size) — and
answered from memory with strong ETags, Last-Modified and 304s (RFC 9110 §13: If-None-Match
takes precedence over If-Modified-Since). Only regular files whose resolved path lies inside
the output folder are served; dot-files (atomic-write temporaries) never are.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import stat
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .metrics import Metrics
from .outputs.archives import is_full_archive
from .outputs.html import EMPTY_MARKER

if TYPE_CHECKING:
    from .live import LiveSite

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Health = Callable[[], tuple[bool, dict[str, Any]]]

FEED_CACHE = "public, max-age=60"  # readers poll; a new poll may publish at any time
ARCHIVE_CACHE = "public, max-age=31536000, immutable"  # full RFC 5005 pages never change
_304_HEADERS = frozenset([b"etag", b"last-modified", b"cache-control", b"vary"])
_MIN_GZIP = 256  # smaller bodies gain nothing from compression
_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}
_COMPRESSIBLE = (
    "text/",
    "application/atom",
    "application/rss",
    "application/feed",
    "application/j",
)


@dataclass(frozen=True, slots=True)
class _Encoded:
    """One encoding of a file version and its ready-made response headers."""

    body: bytes
    etag: str
    ok_headers: list[tuple[bytes, bytes]]  # 200
    not_modified_headers: list[tuple[bytes, bytes]]  # 304: validators and caching only


@dataclass(slots=True)
class _Version:
    """One version of one file, with everything a response needs, computed once."""

    key: tuple[int, int, int, int]  # (st_dev, st_ino, mtime_ns, size) of the real file
    mtime: float
    identity: _Encoded
    compressible: bool
    gzip: _Encoded | None = None
    gzip_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def content_type(rel_path: str) -> str:
    """The Content-Type served for an output file."""
    suffix = os.path.splitext(rel_path)[1].lower()
    if suffix == ".json":
        # Feed documents are JSON Feed; other JSON (categories/index.json) is plain JSON.
        is_feed = not rel_path.endswith("index.json")
        return f"application/{'feed+json' if is_feed else 'json'}; charset=utf-8"
    return _TYPES.get(suffix, "application/octet-stream")


def _cache_control(rel_path: str, body: bytes) -> str:
    if rel_path.startswith("archive/") and is_full_archive(body):
        return ARCHIVE_CACHE
    return FEED_CACHE


def _safe_relative(path: str) -> str | None:
    """The request path as a relative file path, or None when it may not be served."""
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p.startswith(".") for p in parts):  # '..', '.', dot-files, temporaries
        return None
    return "/".join(parts) if parts else "index.html"


def _matches_etag(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == wanted for t in header.split(","))


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None:
        return False
    return int(mtime) <= since.timestamp()


def _accepts_gzip(header: str) -> bool:
    """RFC 9110 §12.5.3: gzip's own entry decides when listed, whatever its place (so
    `*;q=0, gzip` accepts it and `gzip;q=0, *` does not); else `*` stands for it."""
    weights: dict[str, float] = {}
    for item in header.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights.setdefault(name.lower(), q)
    q = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return q > 0  # NaN (q=nan) is not > 0: refused like garbage


class _Files:
    """In-memory cache of file versions under one root."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self.prefix = self.root + os.sep
        self.versions: dict[str, _Version] = {}

    async def get(self, rel: str) -> _Version | None:
        """The current version of a regular file inside the root, else None."""
        try:
            st = os.stat(os.path.join(self.root, rel))  # follows symlinks
        except (OSError, ValueError):
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            self.versions.pop(rel, None)
            return None
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        cached = self.versions.get(rel)
        if cached is not None and cached.key == key:
            return cached  # the very file already checked to be inside the root
        real = os.path.realpath(os.path.join(self.root, rel))
        if not real.startswith(self.prefix):  # a symlink led outside
            return None
        try:
            body = await asyncio.to_thread(Path(real).read_bytes)
        except OSError:
            return None
        version = _new_version(rel, key, body, st.st_mtime)
        self.versions[rel] = version
        return version


def _new_version(rel: str, key: tuple[int, int, int, int], body: bytes, mtime: float) -> _Version:
    ctype = content_type(rel)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    compressible = ctype.startswith(_COMPRESSIBLE) and len(body) >= _MIN_GZIP
    caching = [
        (b"last-modified", formatdate(mtime, usegmt=True).encode()),
        (b"cache-control", _cache_control(rel, body).encode()),
    ]
    if compressible:
        caching.append((b"vary", b"Accept-Encoding"))
    identity = _encoded(body, etag, [(b"content-type", ctype.encode()), *caching])
    return _Version(key, mtime, identity, compressible)


def _encoded(body: bytes, etag: str, headers: list[tuple[bytes, bytes]]) -> _Encoded:
    headers = [*headers, (b"etag", etag.encode())]
    not_modified = [h for h in headers if h[0] in _304_HEADERS]
    ok = [*headers, (b"content-length", str(len(body)).encode())]
    return _Encoded(body, etag, ok, not_modified)


async def _gzipped(version: _Version) -> _Encoded:
    """The gzip encoding of a version, compressed once (mtime=0: deterministic bytes)."""
    async with version.gzip_lock:
        if version.gzip is None:
            plain = version.identity
            body = await asyncio.to_thread(gzip.compress, plain.body, 6, mtime=0)
            headers = [h for h in plain.ok_headers if h[0] not in (b"etag", b"content-length")]
            etag = plain.etag[:-1] + '-gzip"'  # another representation: another validator
            version.gzip = _encoded(body, etag, [*headers, (b"content-encoding", b"gzip")])
    return version.gzip


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _plain(send: Send, status: int, text: str, head: bool, extra: Any = ()) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *extra]
    await _respond(send, status, headers, text.encode(), head)


def create_app(
    output_dir: Path, *, health: Health, metrics: Metrics, site: LiveSite | None = None
) -> ASGIApp:
    """The ASGI application serving `output_dir`; with `site`, also /search, and `/` while
    no article is stored rendered live from the sources' current state."""
    files = _Files(output_dir)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _plain(send, 405, "method not allowed\n", False, [(b"allow", b"GET, HEAD")])
            return
        head = method == "HEAD"
        path = scope["path"]
        if path == "/healthz":
            await _serve_health(send, health, head)
        elif path == "/metrics":
            body, ctype = metrics.render()
            headers = [(b"content-type", ctype.encode()), (b"cache-control", b"no-store")]
            await _respond(send, 200, headers, body, head)
        elif path == "/search" and site is not None:
            page = await site.search(scope.get("query_string", b""))
            if page is None:
                metrics.searches.labels(result="refused").inc()
                await _plain(send, 503, "too many searches at once: retry shortly\n", head, _BUSY)
            else:
                metrics.searches.labels(result="cut" if page.cut else "answered").inc()
                await _respond(send, 200, _LIVE_HTML, page.body, head)
        else:
            await _serve_file(scope, send, files, head, site)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _serve_health(send: Send, health: Health, head: bool) -> None:
    ok, data = health()
    body = json.dumps({"ok": ok, **data}, ensure_ascii=False, sort_keys=True, default=str)
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"cache-control", b"no-store"),
    ]
    await _respond(send, 200 if ok else 503, headers, body.encode() + b"\n", head)


_LIVE_HTML = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-cache")]
_BUSY = [(b"retry-after", b"1"), (b"cache-control", b"no-store")]


async def _serve_file(
    scope: Scope, send: Send, files: _Files, head: bool, site: LiveSite | None = None
) -> None:
    rel = _safe_relative(scope["path"])
    version = await files.get(rel) if rel is not None else None
    if version is None:
        await _plain(send, 404, "not found\n", head)
        return
    if site is not None and rel == "index.html" and EMPTY_MARKER in version.identity.body:
        # Nothing stored yet: say why with the sources' state as it is now.
        await _respond(send, 200, _LIVE_HTML, await asyncio.to_thread(site.empty_page), head)
        return
    accept = inm = ims = None
    for name, value in scope["headers"]:  # one pass: this is the hot path
        if name == b"accept-encoding":
            accept = value
        elif name == b"if-none-match":  # repeated fields form one list
            inm = value if inm is None else inm + b", " + value
        elif name == b"if-modified-since":
            ims = value
    rep = version.identity
    if version.compressible and accept is not None and _accepts_gzip(accept.decode("latin-1")):
        rep = await _gzipped(version)
    if _is_not_modified(inm, ims, rep.etag, version.mtime):
        await send(
            {"type": "http.response.start", "status": 304, "headers": rep.not_modified_headers}
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": rep.ok_headers})
    await send({"type": "http.response.body", "body": b"" if head else rep.body})


def _is_not_modified(inm: bytes | None, ims: bytes | None, etag: str, mtime: float) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if inm is not None:
        return _matches_etag(inm.decode("latin-1"), etag)
    return ims is not None and _not_modified_since(ims.decode("latin-1"), mtime)
