"""Fetcher against a real fault-injecting HTTP server on 127.0.0.1.

Each case states its expected outcome (result or FetchError kind), a bound on time (the call
returns within the deadline plus a margin) and, for the huge-body cases, a bound on memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import random
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar, TypeVar

import httpx
import pytest

from aggregator.errors import FetchError, ParseError
from aggregator.fetch import Fetcher, parse_retry_after
from aggregator.models import FetchResult, FetchSettings, ParsedFeed
from aggregator.parse import parse_feed
from tests.faultserver import (
    Big,
    Drip,
    Encoded,
    FaultServer,
    GzipBomb,
    Redirect,
    Reset,
    SequenceOf,
    Stall,
    Static,
)

T = TypeVar("T")
FEEDS = Path(__file__).parent / "data" / "feeds"
UA = "sina-aggregator-test/1.0 (+https://example.invalid/bot)"
DEADLINE = 0.6  # for the cases that wait for the deadline
ROOMY = 5.0  # for all others: a loaded machine must not turn a slow answer into a timeout
MARGIN = 1.0  # scheduling slack on a loaded 2-core CI machine
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def settings(**overrides: float) -> FetchSettings:
    values: dict[str, float] = {
        "deadline": ROOMY,
        "connect_timeout": ROOMY,
        "max_bytes": 1 << 20,
        "max_decompressed": 2 << 20,
    }
    values.update(overrides)
    return FetchSettings(
        user_agent=UA,
        connect_timeout=values["connect_timeout"],
        deadline=values["deadline"],
        max_bytes=int(values["max_bytes"]),
        max_decompressed=int(values["max_decompressed"]),
        per_host=int(values.get("per_host", 2)),
        total=int(values.get("total", 16)),
        max_redirects=int(values.get("max_redirects", 5)),
    )


def run_with(make: Callable[[Fetcher], Awaitable[T]], fetch_settings: FetchSettings) -> T:
    async def main() -> T:
        async with Fetcher(fetch_settings) as fetcher:  # created inside the loop
            return await make(fetcher)

    return asyncio.run(main())


def get(url: str, **overrides: float) -> FetchResult:
    return run_with(lambda f: f.fetch(url), settings(**overrides))


def fails(url: str, **overrides: float) -> tuple[FetchError, float]:
    """Fetch `url` expecting FetchError; return it and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        get(url, **overrides)
    return info.value, time.monotonic() - started


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server


@pytest.fixture(scope="module")
def rss20() -> bytes:
    return (FEEDS / "rss20.xml").read_bytes()


# --- success paths -------------------------------------------------------------------------


def test_plain_200_returns_body_validators_and_sends_identity(
    server: FaultServer, rss20: bytes
) -> None:
    url = server.add(
        "/plain",
        Static(rss20, headers=RSS, etag='"v1"', last_modified="Tue, 05 Mar 2024 02:00:00 GMT"),
    )
    result = get(url)
    assert (result.status, result.body, result.url) == (200, rss20, url)
    assert result.etag == '"v1"' and result.last_modified == "Tue, 05 Mar 2024 02:00:00 GMT"
    assert result.headers["content-type"] == RSS["Content-Type"]  # lowercase keys
    assert result.permanent_redirect is None and result.retry_after is None
    seen = server.requests_to("/plain")[-1].headers
    assert seen["user-agent"] == UA
    assert seen["accept-encoding"] == "gzip, deflate"
    assert "application/rss+xml" in seen["accept"] and "application/atom+xml" in seen["accept"]
    assert "if-none-match" not in seen and "if-modified-since" not in seen


def test_conditional_get_returns_not_modified(server: FaultServer, rss20: bytes) -> None:
    stamp = "Tue, 05 Mar 2024 02:00:00 GMT"
    url = server.add("/cond", Static(rss20, etag='"abc"', last_modified=stamp))
    result = run_with(lambda f: f.fetch(url, etag='"abc"', last_modified=stamp), settings())
    assert result.status == 304 and result.body is None and result.not_modified
    assert result.etag == '"abc"'
    seen = server.requests_to("/cond")[-1].headers
    assert seen["if-none-match"] == '"abc"' and seen["if-modified-since"] == stamp


def test_changed_validator_gets_full_body(server: FaultServer, rss20: bytes) -> None:
    url = server.add("/cond2", Static(rss20, etag='"new"'))
    result = run_with(lambda f: f.fetch(url, etag='"old"'), settings())
    assert result.status == 200 and result.body == rss20 and result.etag == '"new"'


def test_max_age_becomes_retry_after(server: FaultServer, rss20: bytes) -> None:
    url = server.add("/maxage", Static(rss20, headers={"Cache-Control": "public, max-age=900"}))
    assert get(url).retry_after == 900.0


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib-wrapped, as RFC 9110 says
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_inflated(
    server: FaultServer, rss20: bytes, coding: str, pack: Callable[[bytes], bytes]
) -> None:
    path = f"/packed-{coding}-{len(pack(rss20))}"
    url = server.add(path, Static(pack(rss20), headers={"Content-Encoding": coding}))
    assert get(url).body == rss20


def test_corrupt_gzip_is_io_error(server: FaultServer) -> None:
    url = server.add(
        "/corrupt", Static(b"\x1f\x8b\x08\x00garbage!", headers={"Content-Encoding": "gzip"})
    )
    error, _ = fails(url)
    assert error.kind == "io"


# --- time bounds ---------------------------------------------------------------------------


def test_read_timeout_is_bounded(server: FaultServer) -> None:
    url = server.add("/stall", Stall(seconds=30))
    error, took = fails(url, deadline=DEADLINE)
    assert error.kind == "timeout"
    assert took < DEADLINE + MARGIN


def test_drip_feed_cannot_hold_the_deadline(server: FaultServer, rss20: bytes) -> None:
    # every byte arrives well within any read timeout; only the total deadline stops it
    url = server.add("/drip", Drip(rss20, interval=0.2, chunk=1))
    error, took = fails(url, deadline=1.0)
    assert error.kind == "timeout"
    assert took < 1.0 + MARGIN


def test_connection_reset(server: FaultServer) -> None:
    error, took = fails(server.add("/reset", Reset()))
    assert error.kind == "connect"
    assert took < DEADLINE + MARGIN


def test_connection_refused() -> None:
    with FaultServer() as gone:
        url = gone.url("/feed")
    error, _ = fails(url)  # the port is closed now
    assert error.kind == "connect"


# --- HTTP errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, "http_404"), (410, "http_410"), (403, "http_4xx"), (500, "http_5xx"), (502, "http_5xx")],
)
def test_http_errors_have_kinds(server: FaultServer, status: int, kind: str) -> None:
    url = server.add(f"/status{status}", Static(b"error page", status=status))
    error, took = fails(url)
    assert (error.kind, error.status, error.retry_after) == (kind, status, None)
    assert took < DEADLINE + MARGIN


def test_503_with_retry_after_seconds(server: FaultServer) -> None:
    url = server.add("/503", Static(b"busy", status=503, headers={"Retry-After": "120"}))
    error, _ = fails(url)
    assert (error.kind, error.status, error.retry_after) == ("http_5xx", 503, 120.0)


def test_503_with_retry_after_http_date(server: FaultServer) -> None:
    when = datetime.now(UTC) + timedelta(seconds=600)
    url = server.add(
        "/503date",
        Static(b"", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
    )
    error, _ = fails(url)
    assert error.kind == "http_5xx"
    assert error.retry_after is not None and 590 <= error.retry_after <= 600


def test_429_with_retry_after(server: FaultServer) -> None:
    url = server.add("/429", Static(b"slow down", status=429, headers={"Retry-After": "30"}))
    error, _ = fails(url)
    assert (error.kind, error.status, error.retry_after) == ("http_429", 429, 30.0)


def test_retry_after_parsing() -> None:
    now = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    assert parse_retry_after("  45 ", now=now) == 45.0
    assert parse_retry_after("Tue, 05 Mar 2024 02:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("Tue, 05 Mar 2024 01:00:00 GMT", now=now) == 0.0  # past date
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None


# --- redirects -----------------------------------------------------------------------------


def test_301_chain_is_followed_and_remembered(server: FaultServer, rss20: bytes) -> None:
    server.add("/moved-a", Redirect("/moved-b", 301))
    server.add("/moved-b", Redirect(server.url("/moved-c"), 308))  # absolute Location too
    final = server.add("/moved-c", Static(rss20))
    result = get(server.url("/moved-a"))
    assert (result.status, result.body, result.url) == (200, rss20, final)
    assert result.permanent_redirect == final


def test_302_is_followed_but_not_permanent(server: FaultServer, rss20: bytes) -> None:
    server.add("/temp", Redirect("/temp-target", 302))
    final = server.add("/temp-target", Static(rss20))
    result = get(server.url("/temp"))
    assert result.url == final and result.permanent_redirect is None


def test_mixed_chain_is_not_permanent(server: FaultServer, rss20: bytes) -> None:
    server.add("/mix-a", Redirect("/mix-b", 301))
    server.add("/mix-b", Redirect("/mix-c", 307))
    server.add("/mix-c", Static(rss20))
    assert get(server.url("/mix-a")).permanent_redirect is None


def test_redirect_loop(server: FaultServer) -> None:
    server.add("/loop-a", Redirect("/loop-b"))
    server.add("/loop-b", Redirect("/loop-a"))
    error, took = fails(server.url("/loop-a"))
    assert error.kind == "redirect_loop"
    assert took < DEADLINE + MARGIN


def test_too_many_redirects(server: FaultServer, rss20: bytes) -> None:
    for i in range(4):
        server.add(f"/hop{i}", Redirect(f"/hop{i + 1}", 302))
    server.add("/hop4", Static(rss20))
    error, _ = fails(server.url("/hop0"), max_redirects=3)
    assert error.kind == "too_many_redirects"
    assert get(server.url("/hop0"), max_redirects=4).body == rss20  # exactly at the limit


def test_redirect_to_file_url_is_refused(server: FaultServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<rss/>")
    error, _ = fails(server.add("/to-file", Redirect(secret.as_uri())))
    assert error.kind == "bad_url"


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "not a url", "http://", "http://[::1"])
def test_bad_urls(url: str) -> None:
    error, _ = fails(url)
    assert error.kind == "bad_url"


# --- size caps and memory ------------------------------------------------------------------


def peak_during(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def failure_and_peak(url: str) -> tuple[str, int]:
    """The error kind of a fetch that must fail within 5 s, and its traced memory peak."""
    errors: list[FetchError] = []

    def attempt() -> None:
        error, took = fails(url, deadline=5.0)
        assert took < 5.0
        errors.append(error)

    peak = peak_during(attempt)
    return errors[0].kind, peak


@pytest.mark.parametrize("content_length", [False, True])
def test_50mb_body_is_too_large_with_bounded_memory(
    server: FaultServer, content_length: bool
) -> None:
    url = server.add(f"/big-{content_length}", Big(50 << 20, content_length=content_length))
    kind, peak = failure_and_peak(url)
    assert kind == "too_large"
    assert peak < 4 << 20  # cap is 1 MiB; 50 MiB must never be held


def test_gzip_bomb_is_too_large_with_bounded_memory(server: FaultServer) -> None:
    url = server.add("/bomb", GzipBomb(64 << 20))  # ~64 KiB on the wire
    kind, peak = failure_and_peak(url)
    assert kind == "too_large"
    assert peak < 4 << 20  # decompressed cap is 2 MiB: about the cap, not twice it


def _incompressible(size: int) -> bytes:
    # A fixed pseudo-random sequence: gzip cannot shrink it, and runs are repeatable.
    return random.Random(size).randbytes(size)


@pytest.mark.parametrize("content_length", [False, True])
def test_the_wire_cap_holds_for_compressed_bodies(
    server: FaultServer, content_length: bool
) -> None:
    """8 KB of gzip that inflates to 8 KB: under the 100 KB decompressed cap, over the 4 KB
    wire cap, so too large."""
    wire = gzip.compress(_incompressible(8000))
    url = server.add(f"/wire-{content_length}", Encoded(wire, content_length=content_length))
    error, _ = fails(url, max_bytes=4000, max_decompressed=100_000, deadline=5.0)
    assert error.kind == "too_large"
    # The same body under a wire cap it fits is read whole.
    assert get(url, max_bytes=len(wire), max_decompressed=100_000, deadline=5.0).body == (
        _incompressible(8000)
    )


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_body_exactly_at_the_decompressed_cap_is_read(server: FaultServer, encoding: str) -> None:
    for size in (5000, 5001):
        payload = b"<rss>" + bytes(size - 5)
        wire = gzip.compress(payload) if encoding == "gzip" else zlib.compress(payload)
        url = server.add(f"/cap-{encoding}-{size}", Encoded(wire, encoding=encoding))
        if size == 5000:
            assert get(url, max_decompressed=5000, deadline=5.0).body == payload
        else:
            error, _ = fails(url, max_decompressed=5000, deadline=5.0)
            assert error.kind == "too_large"


@pytest.mark.parametrize("content_length", [False, True])
def test_a_plain_body_exactly_at_the_wire_cap_is_read(
    server: FaultServer, content_length: bool
) -> None:
    for size in (3000, 3001):
        body = _incompressible(size)
        headers = {"Content-Encoding": "identity"}
        behaviour = (
            Static(body, headers=headers) if content_length else Encoded(body, encoding="identity")
        )
        url = server.add(f"/plain-{content_length}-{size}", behaviour)
        if size == 3000:
            assert get(url, max_bytes=3000, deadline=5.0).body == body
        else:
            assert fails(url, max_bytes=3000, deadline=5.0)[0].kind == "too_large"


# --- concurrency ---------------------------------------------------------------------------


def test_per_host_limit_is_respected(server: FaultServer) -> None:
    url = server.add("/slow-ok", Drip(b"<rss/>", interval=0.05, chunk=2))

    async def many(fetcher: Fetcher) -> list[FetchResult]:
        return await asyncio.gather(*(fetcher.fetch(url) for _ in range(5)))

    results = run_with(many, settings(per_host=2, deadline=5.0))
    assert all(r.body == b"<rss/>" for r in results)
    assert server.peak_concurrency("/slow-ok") == 2


def test_total_limit_is_respected(server: FaultServer) -> None:
    url = server.add("/slow-ok2", Drip(b"<rss/>", interval=0.05, chunk=2))

    async def many(fetcher: Fetcher) -> list[FetchResult]:
        return await asyncio.gather(*(fetcher.fetch(url) for _ in range(4)))

    run_with(many, settings(per_host=4, total=1, deadline=5.0))
    assert server.peak_concurrency("/slow-ok2") == 1


def test_one_failing_fetch_does_not_disturb_others(server: FaultServer, rss20: bytes) -> None:
    good = server.add("/good", Static(rss20))
    bad = server.add("/bad-stall", Stall(seconds=30))

    async def both(fetcher: Fetcher) -> list[FetchResult | BaseException]:
        results = await asyncio.gather(
            fetcher.fetch(bad), fetcher.fetch(good), return_exceptions=True
        )
        return list(results)

    failed, ok = run_with(both, settings(deadline=2.0))
    assert isinstance(failed, FetchError) and failed.kind == "timeout"
    assert isinstance(ok, FetchResult) and ok.body == rss20


def test_recovers_after_a_failure(server: FaultServer, rss20: bytes) -> None:
    url = server.add("/flaky", SequenceOf([Static(b"", status=500), Static(rss20)]))
    assert fails(url)[0].kind == "http_5xx"
    assert get(url).body == rss20


# --- bodies handed on to the parser ---------------------------------------------------------


def fetch_then_parse(server: FaultServer, path: str, body: bytes, content_type: str) -> ParsedFeed:
    url = server.add(path, Static(body, headers={"Content-Type": content_type}))
    result = get(url)
    assert result.body is not None
    return parse_feed(result.body, url=result.url, content_type=result.headers.get("content-type"))


def test_html_error_page_with_200_is_not_a_feed(server: FaultServer) -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>oops</h1></body></html>"
    )
    with pytest.raises(ParseError) as info:
        fetch_then_parse(server, "/html", page, "text/html; charset=utf-8")
    assert info.value.kind == "not_a_feed"


def test_empty_body_is_empty(server: FaultServer) -> None:
    with pytest.raises(ParseError) as info:
        fetch_then_parse(server, "/empty", b"", "application/rss+xml")
    assert info.value.kind == "empty"


def test_truncated_xml_keeps_complete_entries_only(server: FaultServer) -> None:
    """Documented policy: entries before the cut are kept, the one cut short is dropped."""
    full = (FEEDS / "zh-utf8.xml").read_bytes()
    cut = full[: full.rindex(b"<item>") + 60]  # inside the third item
    feed = fetch_then_parse(server, "/truncated", cut, "application/rss+xml")
    expected = json.loads((FEEDS / "zh-text.json").read_text("utf-8"))["items"]
    assert [e.title for e in feed.entries] == [i["title"] for i in expected[:2]]


def test_truncated_before_any_entry_is_malformed(server: FaultServer) -> None:
    with pytest.raises(ParseError) as info:
        fetch_then_parse(
            server,
            "/trunc0",
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>x',
            "application/rss+xml",
        )
    assert info.value.kind == "malformed"


def test_entity_expansion_is_refused(server: FaultServer) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY l0 "lol">{laughs}]>'
        '<rss version="2.0"><channel><title>&l9;</title></channel></rss>'
    )
    started = time.monotonic()
    with pytest.raises(ParseError) as info:
        fetch_then_parse(server, "/laughs", bomb.encode(), "application/rss+xml")
    assert info.value.kind == "entities"
    assert time.monotonic() - started < DEADLINE + MARGIN


def test_wrong_charset_header_is_decoded_correctly(server: FaultServer) -> None:
    gbk = (FEEDS / "zh-gbk.xml").read_bytes()
    feed = fetch_then_parse(server, "/mislabelled", gbk, "application/rss+xml; charset=utf-8")
    expected = json.loads((FEEDS / "zh-text.json").read_text("utf-8"))
    assert feed.title == expected["channel"]
    assert [e.title for e in feed.entries] == [i["title"] for i in expected["items"]]


# --- injected transport and file: URLs -------------------------------------------------------


def test_injected_transport_is_used(rss20: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=rss20, headers={"ETag": '"m"'})

    result = asyncio.run(
        _fetch_with_transport(httpx.MockTransport(handler), "https://feeds.example/x")
    )
    assert result.body == rss20 and result.etag == '"m"'


async def _fetch_with_transport(transport: httpx.AsyncBaseTransport, url: str) -> FetchResult:
    async with Fetcher(settings(), transport=transport) as fetcher:
        return await fetcher.fetch(url)


def test_file_url_reads_and_honours_etag(tmp_path: Path, rss20: bytes) -> None:
    path = tmp_path / "feed dir" / "feed.xml"
    path.parent.mkdir()
    path.write_bytes(rss20)
    url = path.as_uri()
    first = get(url)
    assert (first.status, first.body, first.url) == (200, rss20, url)
    assert first.etag
    again = run_with(lambda f: f.fetch(url, etag=first.etag), settings())
    assert again.status == 304 and again.body is None
    path.write_bytes(rss20 + b"\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = run_with(lambda f: f.fetch(url, etag=first.etag), settings())
    assert changed.status == 200 and changed.etag != first.etag


def test_file_url_errors(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 2048)
    assert fails(big.as_uri(), max_bytes=1024)[0].kind == "too_large"
    assert fails((tmp_path / "missing.xml").as_uri())[0].kind == "io"
    assert fails("file://otherhost/etc/passwd")[0].kind == "bad_url"


class _KeepAlive304(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        type(self).peers.add(self.client_address[1])
        self.send_response(304)
        self.send_header("ETag", '"v1"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_conditional_gets_reuse_the_connection() -> None:
    """Polite and fast: a 304 must not cost a new TCP connection each time."""
    _KeepAlive304.peers.clear()  # the set is the class's: a second run must not count the first
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive304)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"

    async def go() -> None:
        async with Fetcher(settings()) as fetcher:
            for _ in range(5):
                result = await fetcher.fetch(url, etag='"v1"')
                assert result.not_modified

    try:
        asyncio.run(go())
    finally:
        server.shutdown()
        server.server_close()
    assert len(_KeepAlive304.peers) == 1


def test_credentials_go_to_their_origin_only(server: FaultServer, rss20: bytes) -> None:
    with FaultServer() as other:
        other.add("/moved.xml", Static(rss20, headers=RSS))
        server.add("/auth-same", Redirect("/auth-feed"))
        server.add("/auth-feed", Redirect(other.url("/moved.xml")))
        url = server.url("/auth-same").replace("http://", "http://u:pw@")
        result = get(url)
        assert result.body == rss20
        # user:pw, base64: sent on the first origin's hops, not to the other server
        hops = server.requests_to("/auth-same") + server.requests_to("/auth-feed")
        assert [r.headers.get("authorization") for r in hops[-2:]] == ["Basic dTpwdw=="] * 2
        assert "authorization" not in other.requests_to("/moved.xml")[0].headers
        assert result.url == other.url("/moved.xml")
        assert "pw" not in (result.permanent_redirect or "")
    err, _ = fails(server.url("/missing-auth").replace("http://", "http://u:pw@"))
    assert "pw@" not in str(err)


# --- every refusal names its kind, its cause and the status that led to it -----------------


def test_a_redirect_without_location_is_an_io_error_naming_it(server: FaultServer) -> None:
    url = server.add("/no-location", Static(b"", status=302))
    error, _ = fails(url)
    assert (error.kind, error.status) == ("io", 302)
    assert f"HTTP 302 without Location at {url}" in str(error)


def test_a_redirect_to_another_scheme_is_a_bad_url_naming_the_target(server: FaultServer) -> None:
    error, _ = fails(server.add("/to-ftp", Redirect("ftp://127.0.0.1/feed.xml", status=301)))
    assert (error.kind, error.status) == ("bad_url", 301)
    assert "redirect to unsupported URL 'ftp://127.0.0.1/feed.xml'" in str(error)


def test_a_redirect_to_https_is_followed(server: FaultServer) -> None:
    with FaultServer() as gone:
        target = gone.url("/feed.xml").replace("http://", "https://")
    error, _ = fails(server.add("/to-https", Redirect(target)))
    assert error.kind == "connect"  # followed (nothing listens there), not refused as bad_url


@pytest.mark.parametrize("coding", ["x-gzip", "GZIP", " gzip ", "identity, gzip"])
def test_gzip_under_every_spelling_is_inflated(
    server: FaultServer, rss20: bytes, coding: str
) -> None:
    url = server.add(
        f"/spelled-{coding.encode().hex()}",
        Static(gzip.compress(rss20), headers={"Content-Encoding": coding}),
    )
    assert get(url).body == rss20


@pytest.mark.parametrize("coding", ["br", "gzip, gzip", "gzip, deflate", "compress"])
def test_unsupported_content_encodings_are_named(server: FaultServer, coding: str) -> None:
    url = server.add(
        f"/coded-{coding.encode().hex()}", Static(b"body", headers={"Content-Encoding": coding})
    )
    error, _ = fails(url)
    assert error.kind == "io"
    assert f"unsupported Content-Encoding {coding!r}" in str(error)


@pytest.mark.parametrize(
    ("coding", "body", "message"),
    [
        ("gzip", gzip.compress(b"<rss>" * 500)[:-20], "truncated gzip body"),
        ("deflate", zlib.compress(b"<rss>" * 500)[:-20], "truncated deflate body"),
        ("deflate", b"x", "corrupt deflate body: truncated"),  # one byte is never a stream
        ("deflate", zlib.compress(b"<rss/>")[:2] + b"\xff" * 30, "corrupt deflate body: "),
    ],
)
def test_cut_or_corrupt_compressed_bodies_are_named(
    server: FaultServer, coding: str, body: bytes, message: str
) -> None:
    url = server.add(
        f"/cut-{coding}-{body[-4:].hex()}-{len(body)}",
        Static(body, headers={"Content-Encoding": coding}),
    )
    error, _ = fails(url)
    assert error.kind == "io"
    assert message in str(error)


def test_file_url_refusals_are_named(tmp_path: Path, rss20: bytes) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss20)
    assert get(f"file://localhost{feed}").body == rss20  # localhost is this machine
    remote, _ = fails("file://user:secret@otherhost/etc/passwd")
    assert remote.kind == "bad_url"
    assert "remote file URL not supported: 'file://otherhost/etc/passwd'" in str(remote)
    relative, _ = fails("file:feed.xml")
    assert relative.kind == "bad_url"
    assert "file URL must be absolute: 'file:feed.xml'" in str(relative)
    missing, _ = fails((tmp_path / "missing.xml").as_uri())
    assert missing.kind == "io"
    assert f"cannot read {tmp_path / 'missing.xml'}" in str(missing)


# --- what a request carries, and where it goes ----------------------------------------------

STAMP = "Tue, 05 Mar 2024 02:00:00 GMT"


class _HeadRecorder(BaseHTTPRequestHandler):
    """Answers `<rss/>` and keeps each request's header lines as they were sent."""

    heads: ClassVar[list[list[tuple[str, str]]]] = []

    def do_GET(self) -> None:
        type(self).heads.append(list(self.headers.items()))
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"<rss/>")

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A plain http.server on 127.0.0.1 with `handler`; yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_request_headers_go_out_under_their_usual_names() -> None:
    """Names are case-insensitive, but servers and firewalls see them as written: ours are
    spelled as every browser spells them, and only codings we inflate under a cap are offered
    (httpx alone would offer whatever decoders are installed)."""
    _HeadRecorder.heads.clear()
    with serving(_HeadRecorder) as base:
        url = base.replace("http://", "http://u:pw@") + "/feed.xml"
        result = run_with(
            lambda f: f.fetch(url, etag='"v1"', last_modified=STAMP, referer=base + "/list"),
            settings(),
        )
    assert result.body == b"<rss/>"
    (head,) = _HeadRecorder.heads
    sent = dict(head)
    assert sorted(sent) == [
        "Accept",
        "Accept-Encoding",
        "Authorization",
        "Connection",
        "Host",
        "If-Modified-Since",
        "If-None-Match",
        "Referer",
        "User-Agent",
    ]
    assert sent["Accept-Encoding"] == "gzip, deflate" and sent["User-Agent"] == UA
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == ('"v1"', STAMP)
    assert sent["Referer"] == base + "/list"
    assert sent["Authorization"] == "Basic dTpwdw=="  # u:pw
    assert sent["Host"] == base.removeprefix("http://")


def test_proxy_variables_do_not_redirect_our_traffic(
    server: FaultServer, rss20: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultServer() as proxy:
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url(""))
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        url = server.add("/not-proxied", Static(rss20))
        assert get(url).body == rss20
        assert proxy.requests == []


def test_a_connection_that_hangs_is_given_up_at_the_connect_timeout() -> None:
    """The connect timeout (shorter than the deadline) ends a connection attempt nobody answers:
    a listener whose one-slot accept queue is full leaves later SYNs unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
        error, took = fails(url, connect_timeout=0.3, deadline=8.0)
    finally:
        filler.close()
        listener.close()
    assert (error.kind, error.message) == ("timeout", f"ConnectTimeout for {url}")
    assert took < 3.0  # long before httpx's own default (5 s) and the deadline (8 s)


def test_a_server_that_does_not_speak_tls_is_a_tls_error(server: FaultServer) -> None:
    url = server.add("/plain-not-tls", Static(b"<rss/>")).replace("http://", "https://")
    error, _ = fails(url)
    assert error.kind == "tls"
    assert error.message.startswith(f"cannot connect to {url}: ")


def test_the_per_host_limit_does_not_hold_up_other_hosts(server: FaultServer) -> None:
    url = server.add("/two-hosts", Drip(b"<rss/>", interval=0.1, chunk=1))
    other = url.replace("127.0.0.1", "localhost")

    async def both(fetcher: Fetcher) -> list[FetchResult]:
        return await asyncio.gather(fetcher.fetch(url), fetcher.fetch(other))

    results = run_with(both, settings(per_host=1, deadline=5.0))
    assert [r.body for r in results] == [b"<rss/>"] * 2
    assert server.peak_concurrency("/two-hosts") == 2  # one per host, at the same time


def test_a_redirect_to_another_host_waits_for_that_hosts_slot(server: FaultServer) -> None:
    direct = server.add("/busy-host", Drip(b"<rss/>", interval=0.15, chunk=1)).replace(
        "127.0.0.1", "localhost"
    )
    server.add("/to-busy-host", Redirect(direct, 302))

    async def both(fetcher: Fetcher) -> list[FetchResult]:
        # the first holds localhost's only slot; the second reaches it by a redirect
        return await asyncio.gather(
            fetcher.fetch(direct), fetcher.fetch(server.url("/to-busy-host"))
        )

    results = run_with(both, settings(per_host=1, deadline=8.0))
    assert [r.body for r in results] == [b"<rss/>"] * 2
    assert server.peak_concurrency("/busy-host") == 1


def test_crossing_redirects_between_two_hosts_do_not_deadlock(server: FaultServer) -> None:
    """A→B and B→A at once with one slot per host: each fetch gives its first host's slot
    back before waiting for the other's (holding it, both waited out the deadline)."""
    end_a = server.add("/cross-end-a", Drip(b"<rss/>", interval=0.1, chunk=1))
    end_b = server.add("/cross-end-b", Drip(b"<rss/>", interval=0.1, chunk=1))
    end_b = end_b.replace("127.0.0.1", "localhost")
    start_a = server.add("/cross-start-a", Redirect(end_b, 302))  # 127.0.0.1 → localhost
    start_b = server.add("/cross-start-b", Redirect(end_a, 302)).replace("127.0.0.1", "localhost")

    async def crossing(fetcher: Fetcher) -> list[FetchResult]:
        # the two redirecting fetches take each host's only slot first; the direct ones
        # queue behind them, so the per-host limit is tested on the targets too
        return await asyncio.gather(*(fetcher.fetch(u) for u in (start_a, start_b, end_a, end_b)))

    results = run_with(crossing, settings(per_host=1, deadline=ROOMY))
    assert [r.body for r in results] == [b"<rss/>"] * 4
    assert [r.url for r in results] == [end_b, end_a, end_a, end_b]
    assert server.peak_concurrency("/cross-end-a") == 1
    assert server.peak_concurrency("/cross-end-b") == 1


# --- redirects: where they may lead, and how a refusal reads --------------------------------


def test_a_redirect_within_the_site_is_followed(server: FaultServer, rss20: bytes) -> None:
    final = server.add("/site-final", Static(rss20))
    server.add("/site-moved", Redirect(final, 302))
    result = run_with(
        lambda f: f.fetch(server.url("/site-moved"), within_site_of=server.url("/list")),
        settings(),
    )
    assert (result.url, result.body) == (final, rss20)


def test_a_redirect_off_the_site_is_refused_when_the_site_is_given(server: FaultServer) -> None:
    away = server.add("/off-site", Static(b"<html/>")).replace("127.0.0.1", "localhost")
    server.add("/leave", Redirect(away.replace("http://", "http://u:secret@"), 302))
    with pytest.raises(FetchError) as info:
        run_with(
            lambda f: f.fetch(server.url("/leave"), within_site_of=server.url("/list")),
            settings(),
        )
    error = info.value
    assert (error.kind, error.status) == ("bad_url", 302)
    assert error.message == f"redirect off the site to {away}: not followed"  # no password
    assert server.requests_to("/off-site") == []
    assert get(server.url("/leave")).body == b"<html/>"  # without a site to keep to: followed


def test_a_redirect_loop_names_where_it_closed(server: FaultServer) -> None:
    server.add("/cycle-a", Redirect("/cycle-b", 302))
    server.add("/cycle-b", Redirect("/cycle-c", 302))
    server.add("/cycle-c", Redirect("/cycle-b", 307))  # the loop does not pass the start
    error, _ = fails(server.url("/cycle-a"))
    assert (error.kind, error.status) == ("redirect_loop", 307)
    assert error.message == f"redirect loop back to {server.url('/cycle-b')}"


def test_too_many_redirects_names_the_limit(server: FaultServer) -> None:
    for i in range(4):
        server.add(f"/far{i}", Redirect(f"/far{i + 1}", 307 if i == 3 else 302))
    error, _ = fails(server.url("/far0"), max_redirects=3)
    assert (error.kind, error.status) == ("too_many_redirects", 307)
    assert error.message == "more than 3 redirects"


def test_a_single_permanent_redirect_is_remembered(server: FaultServer, rss20: bytes) -> None:
    final = server.add("/once-new", Static(rss20))
    server.add("/once-old", Redirect(final, 301))
    result = get(server.url("/once-old"))
    assert (result.url, result.permanent_redirect) == (final, final)


# --- every field of a result ------------------------------------------------------------------


def test_elapsed_is_the_time_the_fetch_took(server: FaultServer) -> None:
    url = server.add("/takes-time", Drip(b"<rss/>", interval=0.1, chunk=3))  # two waits
    started = time.monotonic()
    result = get(url, deadline=5.0)
    took = time.monotonic() - started
    assert 0.2 <= result.elapsed <= took


def test_not_modified_keeps_its_url_and_the_servers_max_age(server: FaultServer) -> None:
    """A 304 refreshes the cached response (RFC 9111 §4.3.4): its max-age asks us to wait."""
    url = server.add(
        "/cond-max-age",
        Static(b"<rss/>", etag='"m1"', headers={"Cache-Control": "max-age=900"}),
    )
    result = run_with(lambda f: f.fetch(url, etag='"m1"'), settings())
    assert (result.status, result.url, result.retry_after) == (304, url, 900.0)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(300, "http_4xx"), (599, "http_5xx"), (600, "http_4xx")],
)
def test_statuses_outside_the_usual_classes(server: FaultServer, status: int, kind: str) -> None:
    """300 is no redirect we follow, 6xx no status at all: neither is a success, and only
    5xx means the server is in trouble (and may recover on its own)."""
    url = server.add(f"/odd-{status}", Static(b"<rss/>", status=status))
    error, _ = fails(url)
    assert (error.kind, error.status, error.message) == (kind, status, f"HTTP {status} from {url}")


def test_retry_after_counts_only_where_it_means_something(server: FaultServer) -> None:
    """RFC 9110 §10.2.3: Retry-After on a 503 (and, by RFC 6585, a 429); a 500's is ignored."""
    url = server.add("/500-retry", Static(b"", status=500, headers={"Retry-After": "120"}))
    error, _ = fails(url)
    assert (error.kind, error.retry_after) == ("http_5xx", None)


def test_retry_after_date_without_a_zone_is_utc() -> None:
    now = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    # RFC 5322's "-0000" means "UTC, source zone unknown"
    assert parse_retry_after("Tue, 05 Mar 2024 02:01:00 -0000", now=now) == 60.0
    assert parse_retry_after("Tue, 05 Mar 2024 10:01:00 +0800", now=now) == 60.0


def test_the_deadline_error_says_how_long_it_waited(server: FaultServer) -> None:
    error, _ = fails(server.add("/stall-message", Stall(seconds=30)), deadline=DEADLINE)
    assert (error.kind, error.message) == ("timeout", "no complete response within 0.6 s")


def test_bad_urls_say_what_is_wrong() -> None:
    assert fails("ftp://example.com/feed")[0].message == (
        "not an http(s) URL: 'ftp://example.com/feed'"
    )
    assert fails("http://")[0].message == "not an http(s) URL: 'http://'"
    assert fails("http://[::1")[0].message == "invalid URL 'http://[::1'"
    error, _ = fails("file://[bad/feed.xml")
    assert (error.kind, error.message) == ("bad_url", "invalid URL 'file://[bad/feed.xml'")


# --- size caps: where each is checked, and what it says --------------------------------------


def test_a_declared_length_over_the_cap_is_refused_before_reading(server: FaultServer) -> None:
    url = server.add("/declared", Static(bytes(3000)))
    error, _ = fails(url, max_bytes=1000)
    assert (error.kind, error.message) == ("too_large", "Content-Length 3000 exceeds 1000 bytes")


def test_the_wire_cap_counts_every_chunk(server: FaultServer) -> None:
    """No Content-Length and chunks each under the cap: their sum is what counts."""
    url = server.add("/chunks", Drip(bytes(3000), interval=0.05, chunk=500))
    error, _ = fails(url, max_bytes=1000, deadline=5.0)
    assert (error.kind, error.message) == ("too_large", "body exceeds 1000 bytes")


def test_the_decompressed_cap_says_so(server: FaultServer) -> None:
    url = server.add("/inflates", Encoded(gzip.compress(bytes(6000))))
    error, _ = fails(url, max_decompressed=5000)
    assert (error.kind, error.message) == ("too_large", "decompressed body exceeds 5000 bytes")


def test_refusing_a_bomb_costs_no_more_memory_than_a_body_at_the_cap(server: FaultServer) -> None:
    """The bomb's first packet inflates to just under the cap; the next would inflate to
    10 MB. Inflating stops one byte past the cap, not a whole step (256 KiB) past it."""
    cap = 200_000
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = packer.compress(bytes(cap - 1000)) + packer.flush(zlib.Z_SYNC_FLUSH)
    rest = packer.compress(bytes(10_000_000)) + packer.flush()
    bomb = server.add("/bomb-in-two", Packets((head, rest), "gzip"))
    legit = server.add("/at-the-cap", Encoded(gzip.compress(bytes(cap))))

    async def peaks(fetcher: Fetcher) -> list[tuple[int, str]]:
        await fetcher.fetch(legit)  # first-use allocations are no body's
        measured = []
        for url in (legit, bomb):
            tracemalloc.start()
            try:
                outcome = "read"
                try:
                    await fetcher.fetch(url)
                except FetchError as exc:
                    outcome = exc.kind
                measured.append((tracemalloc.get_traced_memory()[1], outcome))
            finally:
                tracemalloc.stop()
        return measured

    (legit_peak, read), (bomb_peak, refused) = run_with(
        peaks, settings(max_decompressed=cap, deadline=5.0)
    )
    assert (read, refused) == ("read", "too_large")
    assert bomb_peak < legit_peak + cap // 2


# --- compressed bodies: every way a server may send them -----------------------------------


@dataclass(frozen=True)
class Packets:
    """`parts` of a body under `encoding`, each sent apart (a pause between), as a slow
    network delivers them."""

    parts: tuple[bytes, ...]
    encoding: str

    def serve(self, handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Encoding", self.encoding)
        handler.end_headers()
        for n, part in enumerate(self.parts):
            if n:
                stop.wait(0.2)
            handler.wfile.write(part)
            handler.wfile.flush()


@pytest.mark.parametrize(
    "pack", [zlib.compress, lambda b: zlib.compress(b)[2:-4]], ids=["zlib", "raw"]
)
def test_a_deflate_body_whose_first_byte_comes_alone(
    server: FaultServer, rss20: bytes, pack: Callable[[bytes], bytes]
) -> None:
    wire = pack(rss20)
    url = server.add(f"/first-alone-{len(wire)}", Packets((wire[:1], wire[1:]), "deflate"))
    assert get(url, deadline=5.0).body == rss20


def test_an_empty_document_in_raw_deflate_is_two_bytes(server: FaultServer) -> None:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    wire = packer.compress(b"") + packer.flush()
    assert len(wire) == 2
    url = server.add("/empty-raw-deflate", Static(wire, headers={"Content-Encoding": "deflate"}))
    assert get(url).body == b""


def test_raw_deflate_that_starts_like_a_zlib_header_is_still_raw(server: FaultServer) -> None:
    """A stored block whose padding bits make its first byte 0x08, zlib's method byte; the
    header checksum of the first two bytes tells them apart."""
    payload = b"<rss/>"
    size = len(payload).to_bytes(2, "little") + (len(payload) ^ 0xFFFF).to_bytes(2, "little")
    wire = b"\x08" + size + payload + b"\x01\x00\x00\xff\xff"  # then a final empty block
    url = server.add("/raw-like-zlib", Static(wire, headers={"Content-Encoding": "deflate"}))
    assert get(url).body == payload


def test_a_zlib_stream_labelled_gzip_is_corrupt(server: FaultServer) -> None:
    url = server.add(
        "/zlib-as-gzip", Static(zlib.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"})
    )
    error, _ = fails(url)
    assert error.kind == "io" and error.message.startswith("corrupt gzip body: ")


def test_a_lone_deflate_byte_is_named_exactly(server: FaultServer) -> None:
    url = server.add("/one-byte", Static(b"x", headers={"Content-Encoding": "deflate"}))
    assert fails(url)[0].message == "corrupt deflate body: truncated"


# --- file: URLs: the result's fields and the caps --------------------------------------------


def test_a_file_results_fields(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<rss/>")
    os.utime(path, (1709604000, 1709604000))  # 2024-03-05 02:00:00 UTC
    started = time.monotonic()
    first = get(path.as_uri())
    took = time.monotonic() - started
    assert (first.status, first.body, first.last_modified) == (200, b"<rss/>", STAMP)
    assert first.etag and first.headers == {"etag": first.etag, "last-modified": STAMP}
    assert 0 < first.elapsed <= took
    again = run_with(lambda f: f.fetch(path.as_uri(), etag=first.etag), settings())
    assert (again.status, again.body, again.etag, again.last_modified) == (
        304,
        None,
        first.etag,
        STAMP,
    )
    assert again.headers == first.headers


def test_a_file_exactly_at_the_cap_is_read(tmp_path: Path) -> None:
    at, over = tmp_path / "at.xml", tmp_path / "over.xml"
    at.write_bytes(b"x" * 1024)
    over.write_bytes(b"x" * 1025)
    assert get(at.as_uri(), max_bytes=1024).body == b"x" * 1024
    error, _ = fails(over.as_uri(), max_bytes=1024)
    assert (error.kind, error.message) == ("too_large", f"{over} is 1025 bytes, cap 1024")


def test_a_missing_file_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xml"
    error, _ = fails(missing.as_uri())
    assert (error.kind, error.message) == (
        "io",
        f"cannot read {missing}: No such file or directory",
    )


@contextmanager
def fifo_writer(path: Path, data: bytes, *, hold: float) -> Iterator[None]:
    """A writer that opens the FIFO `path`, writes `data` and keeps it open `hold` seconds
    (or until the block ends), so a reader sees no end of file meanwhile."""
    done = threading.Event()

    def write() -> None:
        with contextlib.suppress(OSError), path.open("wb") as fh:
            fh.write(data)
            fh.flush()
            done.wait(hold)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=hold + 5)


def test_a_file_that_never_ends_is_cut_at_the_cap(tmp_path: Path) -> None:
    """A FIFO (or a device) has no size to check first: the read itself stops past the cap."""
    fifo = tmp_path / "stream.xml"
    os.mkfifo(fifo)
    with fifo_writer(fifo, b"x" * 4096, hold=3.0):
        error, _ = fails(fifo.as_uri(), max_bytes=1024, deadline=2.0)
    # (a read to the end would wait for the writer, past the deadline: a timeout)
    assert (error.kind, error.message) == ("too_large", f"{fifo} exceeds 1024 bytes")


def test_a_file_that_never_opens_times_out(tmp_path: Path) -> None:
    """A FIFO nobody writes to blocks its reader (like a hung network mount): the deadline
    ends the fetch. A writer then releases the waiting thread (asyncio.run waits for it);
    the timer is a backstop should the fetch wait past the deadline."""
    fifo = tmp_path / "nobody.xml"
    os.mkfifo(fifo)

    async def attempt(fetcher: Fetcher) -> tuple[FetchError | FetchResult, float]:
        started = time.monotonic()
        try:
            return await fetcher.fetch(fifo.as_uri()), time.monotonic() - started
        except FetchError as exc:
            return exc, time.monotonic() - started
        finally:
            fifo_release(fifo)

    backstop = threading.Timer(3.0, fifo_release, (fifo,))
    backstop.start()
    try:
        error, took = run_with(attempt, settings(deadline=0.5))
    finally:
        backstop.cancel()
    assert isinstance(error, FetchError)
    assert (error.kind, error.message) == ("timeout", f"reading {fifo} took too long")
    assert took < 0.5 + MARGIN


def fifo_release(fifo: Path) -> None:
    """Open the FIFO for writing and close it: a reader blocked in open() sees an empty file."""
    with contextlib.suppress(OSError):
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
