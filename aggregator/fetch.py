"""Fetch stage: one polite, bounded HTTP GET → FetchResult (304 is a result, not an error).

Bounds: a total deadline per fetch (`asyncio.timeout`: httpx has none, a drip-feeding
server could hold a request forever), a cap on wire bytes read with `aiter_raw()` and a cap on
decompressed bytes (we inflate ourselves with `max_length`: httpx's decoders would hand us a
bomb in one chunk), redirects followed by hand (to detect loops and remember 301/308), per-host
(each hop on its own host's slot, one slot held at a time) and overall concurrency limits.
Every foreign exception becomes a `FetchError` at one seam.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import os
import re
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from .errors import FetchError, FetchKind
from .models import FetchResult, FetchSettings
from .urls import redact, same_origin, split_credentials

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_INFLATE_STEP = 256 * 1024
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Hop:
    """One response of a redirect chain, body already read (or None for 304/redirects)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes | None


class Fetcher:
    """HTTP(S) and file: fetcher. Create it inside the running event loop; one per loop."""

    def __init__(
        self, settings: FetchSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._client = httpx.AsyncClient(
            transport=transport,
            # httpx follows no redirects by default: we follow them by hand (loops, caps,
            # 301/308 memory).
            trust_env=False,  # proxy variables must not redirect our traffic
            # The deadline (asyncio.timeout in `fetch`) bounds the whole exchange; only
            # connecting has a limit of its own, which may be shorter.
            timeout=httpx.Timeout(None, connect=settings.connect_timeout),
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",  # only what we can inflate with a cap
            },
        )
        self._total = asyncio.Semaphore(settings.total)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        referer: str | None = None,
        within_site_of: str | None = None,
    ) -> FetchResult:
        """GET `url` (following redirects) or read a file: URL; raise FetchError on failure.

        `within_site_of`: redirects may only lead to the site (registrable domain) of this
        URL — an article page may not send us anywhere else (no SSRF)."""
        if url[:5].lower() == "file:":
            return await self._fetch_file(url, etag)
        # The password goes into an Authorization header for its own origin only; every
        # URL this fetch reports (final, redirects, errors) is the clean one.
        url, credentials = split_credentials(url)
        host = _host_of(url)
        started = time.monotonic()
        headers = _conditional(etag, last_modified)
        if referer:
            headers["Referer"] = referer
        slot = _Slot(self._hosts, self._settings.per_host)
        async with self._total:
            try:
                await slot.move_to(host)
                hops = await self._follow(url, slot, headers, credentials, within_site_of)
            finally:
                slot.release()
        return _result(hops, time.monotonic() - started)

    async def _follow(
        self,
        url: str,
        slot: _Slot,
        headers: dict[str, str],
        credentials: tuple[str, str] | None,
        within_site_of: str | None = None,
    ) -> list[_Hop]:
        """Request `url`, then each Location, until a non-redirect answer.

        The deadline counts time spent on requests, not waiting for a host's slot: the
        holders of that slot are each bounded by their own deadline."""
        hops: list[_Hop] = []
        seen = {url}
        origin = url
        left = self._settings.deadline
        while True:
            hop_headers = headers
            if credentials is not None and same_origin(url, origin):
                hop_headers = {**headers, "Authorization": _basic(*credentials)}
            await slot.move_to(_host_of(url))
            began = time.monotonic()
            try:
                async with asyncio.timeout(left):
                    hop = await self._request(url, hop_headers)
            except TimeoutError as exc:
                raise FetchError(
                    "timeout", f"no complete response within {self._settings.deadline:g} s"
                ) from exc
            left -= time.monotonic() - began
            hops.append(hop)
            if hop.status not in _REDIRECTS:
                return hops
            url = _next_url(hop)
            if within_site_of is not None:
                from .sites.domains import same_site

                if not same_site(within_site_of, url):
                    raise FetchError(
                        "bad_url",
                        f"redirect off the site to {url}: not followed",  # url is redacted
                        status=hop.status,
                    )
            if url in seen:
                raise FetchError("redirect_loop", f"redirect loop back to {url}", status=hop.status)
            if len(hops) > self._settings.max_redirects:
                raise FetchError(
                    "too_many_redirects",
                    f"more than {self._settings.max_redirects} redirects",
                    status=hop.status,
                )
            seen.add(url)

    async def _request(self, url: str, headers: dict[str, str]) -> _Hop:
        with _translated(url):
            request = self._client.build_request("GET", url, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                return await self._read(url, response)
            finally:
                await response.aclose()

    async def _read(self, url: str, response: httpx.Response) -> _Hop:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status == 304:
            # A 304 has no body; reading its end lets httpx keep the connection alive
            # (closing an unread stream dropped it: a fresh TCP connection per 304).
            await response.aread()
            return _Hop(url, status, headers, None)
        if status in _REDIRECTS:
            return _Hop(url, status, headers, None)
        if not 200 <= status < 300:
            raise _status_error(url, status, headers)
        body = await _read_body(response, headers, self._settings)
        return _Hop(url, status, headers, body)

    async def _fetch_file(self, url: str, etag: str | None) -> FetchResult:
        started = time.monotonic()
        path = file_path(url)
        try:
            async with asyncio.timeout(self._settings.deadline):
                stat, body = await asyncio.to_thread(_read_file, path, etag, self._settings)
        except TimeoutError as exc:
            raise FetchError("timeout", f"reading {path} took too long") from exc
        except OSError as exc:
            raise FetchError("io", f"cannot read {path}: {exc.strerror or exc}") from exc
        tag = _file_etag(stat)
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        headers = {"etag": tag, "last-modified": modified}
        elapsed = time.monotonic() - started
        return FetchResult(
            url, 304 if body is None else 200, body, headers, tag, modified, elapsed=elapsed
        )


# --- redirects and results ----------------------------------------------------------------


def _next_url(hop: _Hop) -> str:
    location = hop.headers.get("location", "").strip()
    if not location:
        raise FetchError(
            "io", f"HTTP {hop.status} without Location at {hop.url}", status=hop.status
        )
    target = redact(urljoin(hop.url, location))  # a Location's own userinfo is not kept
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        # never let a remote server point us at file: or other schemes
        raise FetchError("bad_url", f"redirect to unsupported URL {target!r}", status=hop.status)
    return target


def _result(hops: list[_Hop], elapsed: float) -> FetchResult:
    last = hops[-1]
    redirected = len(hops) > 1
    permanent = redirected and all(h.status in _PERMANENT for h in hops[:-1])
    return FetchResult(
        url=last.url,
        status=last.status,
        body=last.body,
        headers=last.headers,
        etag=last.headers.get("etag"),
        last_modified=last.headers.get("last-modified"),
        permanent_redirect=last.url if permanent else None,
        # A 304 refreshes the stored response's freshness (RFC 9111 §4.3.4): its max-age counts.
        retry_after=_max_age(last.headers),
        elapsed=elapsed,
    )


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


# Statuses that mean something of their own to the scheduler: gone, not found, slow down.
_OWN_KIND: dict[int, FetchKind] = {404: "http_404", 410: "http_410", 429: "http_429"}


def _status_error(url: str, status: int, headers: Mapping[str, str]) -> FetchError:
    kind: FetchKind
    if status in _OWN_KIND:
        kind = _OWN_KIND[status]
    elif 500 <= status < 600:
        kind = "http_5xx"
    else:
        kind = "http_4xx"  # 4xx, and statuses a feed server has no business sending
    retry = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
    return FetchError(kind, f"HTTP {status} from {url}", status=status, retry_after=retry)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _max_age(headers: Mapping[str, str]) -> float | None:
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return float(match.group(1)) if match else None


# --- bounded body reading -----------------------------------------------------------------


async def _read_body(
    response: httpx.Response, headers: Mapping[str, str], settings: FetchSettings
) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_bytes:
        raise _too_large(f"Content-Length {declared} exceeds {settings.max_bytes} bytes")
    inflater = _Inflater(headers.get("content-encoding", ""), settings.max_decompressed)
    read = 0
    async for chunk in _raw_chunks(response):
        read += len(chunk)
        if read > settings.max_bytes:
            raise _too_large(f"body exceeds {settings.max_bytes} bytes")
        inflater.feed(chunk)
    return inflater.finish()


async def _raw_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    if response.is_stream_consumed:  # a mock transport's Response(content=...) is pre-read
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


class _Inflater:
    """Incremental gzip/deflate decoding that never produces more than `cap` bytes."""

    def __init__(self, encoding: str, cap: int) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError("io", f"unsupported Content-Encoding {encoding!r}")
        self._coding = codings[0] if codings else None
        self._cap = cap
        self._out: list[bytes] = []  # joined once at the end: no growing-buffer copies
        self._size = 0
        self._zlib: zlib._Decompress | None = None
        if self._coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._pending = b""  # deflate: held until we know zlib-wrapped or raw

    def feed(self, data: bytes) -> None:
        if self._coding is None:
            self._append(data)
            return
        if self._zlib is None:  # deflate: servers send zlib-wrapped or raw streams
            self._pending += data
            if len(self._pending) < 2:
                return
            data, self._pending = self._pending, b""
            wbits = zlib.MAX_WBITS if _looks_zlib(data) else -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(wbits)
        with self._corrupt():
            self._inflate(self._zlib, data)

    def _inflate(self, inflater: zlib._Decompress, data: bytes) -> None:
        # Small steps: zlib builds one call's output in growing blocks, so a single big
        # max_length would briefly hold twice the cap. One byte past the room left shows
        # the cap was crossed.
        while data:
            room = self._cap - self._size + 1
            self._append(inflater.decompress(data, min(room, _INFLATE_STEP)))
            data = inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self._pending:  # a 1-byte deflate stream cannot be valid
            raise FetchError("io", "corrupt deflate body: truncated")
        if self._zlib is not None:
            with self._corrupt():
                self._append(self._zlib.flush())
            if not self._zlib.eof:  # a cut connection, not a complete document
                raise FetchError("io", f"truncated {self._coding} body")
        return b"".join(self._out)

    @contextmanager
    def _corrupt(self) -> Iterator[None]:
        try:
            yield
        except zlib.error as exc:
            raise FetchError("io", f"corrupt {self._coding} body: {exc}") from exc

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._cap:
            raise _too_large(f"decompressed body exceeds {self._cap} bytes")
        self._out.append(data)


def _looks_zlib(data: bytes) -> bool:
    return data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def _too_large(message: str) -> FetchError:
    return FetchError("too_large", message)


# --- the one seam where httpx/OS exceptions become FetchError --------------------------------


@contextmanager
def _translated(url: str) -> Iterator[None]:
    try:
        yield
    except FetchError:
        raise
    except httpx.TimeoutException as exc:
        raise FetchError("timeout", f"{type(exc).__name__} for {url}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise FetchError("bad_url", f"{url!r}: {exc}") from exc
    except httpx.ConnectError as exc:
        raise FetchError(_tls_or_connect(exc), f"cannot connect to {url}: {exc}") from exc
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
        kind = _tls_or_connect(exc)
        raise FetchError(
            kind, f"connection to {url} broken: {str(exc) or type(exc).__name__}"
        ) from exc
    except httpx.HTTPError as exc:
        raise FetchError("io", f"{type(exc).__name__} for {url}: {exc}") from exc
    except ssl.SSLError as exc:
        raise FetchError("tls", f"TLS failure for {url}: {exc}") from exc
    except OSError as exc:
        raise FetchError("connect", f"{url}: {exc}") from exc


def _tls_or_connect(exc: BaseException) -> FetchKind:
    return "tls" if _is_tls(exc) else "connect"


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _host_of(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise FetchError("bad_url", f"invalid URL {url!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise FetchError("bad_url", f"not an http(s) URL: {url!r}")
    return host


class _Slot:
    """The one per-host slot a fetch holds: that of the host its current hop talks to.

    A redirect to another host gives the old host's slot back before waiting for the new
    one. Holding the first while waiting for the second deadlocked: with `per_host=1`, a
    fetch A→B and one B→A at the same time each held what the other waited for."""

    def __init__(self, hosts: dict[str, asyncio.Semaphore], per_host: int) -> None:
        self._hosts = hosts
        self._per_host = per_host
        self._host: str | None = None

    async def move_to(self, host: str) -> None:
        if host == self._host:
            return
        self.release()
        semaphore = self._hosts.get(host)
        if semaphore is None:
            semaphore = self._hosts[host] = asyncio.Semaphore(self._per_host)
        await semaphore.acquire()  # cancelled here: nothing is held
        self._host = host

    def release(self) -> None:
        if self._host is not None:
            self._hosts[self._host].release()
            self._host = None


# --- file: URLs (the offline demo) ------------------------------------------------------------


def file_path(url: str) -> Path:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError("bad_url", f"invalid URL {url!r}") from exc
    if parts.netloc not in ("", "localhost"):
        raise FetchError("bad_url", f"remote file URL not supported: {redact(url)!r}")
    path = Path(url2pathname(unquote(parts.path)))
    if not path.is_absolute():
        raise FetchError("bad_url", f"file URL must be absolute: {url!r}")
    return path


def _file_etag(stat: os.stat_result) -> str:
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _read_file(
    path: Path, etag: str | None, settings: FetchSettings
) -> tuple[os.stat_result, bytes | None]:
    """Read at most max_bytes; body None when `etag` still matches (not modified)."""
    with path.open("rb") as fh:
        stat = os.fstat(fh.fileno())
        if etag is not None and etag == _file_etag(stat):
            return stat, None
        if stat.st_size > settings.max_bytes:
            raise _too_large(f"{path} is {stat.st_size} bytes, cap {settings.max_bytes}")
        body = fh.read(settings.max_bytes + 1)
    if len(body) > settings.max_bytes:
        raise _too_large(f"{path} exceeds {settings.max_bytes} bytes")
    return stat, body
