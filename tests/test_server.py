"""The ASGI app under a real uvicorn server on 127.0.0.1, exercised with httpx and raw sockets."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.metrics import Metrics
from aggregator.models import PollResult
from aggregator.outputs.feeds import category_slug
from aggregator.server import ARCHIVE_CACHE, FEED_CACHE, create_app
from aggregator.serving import PRUNE_EVERY, Listener
from tests.asgiserver import ThreadedServer
from tests.published import published

NOW = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


@dataclass
class Served:
    base: str
    port: int
    out: Path
    health: dict[str, Any]
    metrics: Metrics


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("srv")
    p = published(root, 9, base_url="http://x/", title="聚合", archive_size=4)
    p.publish()
    p.store.close()
    out = p.dir
    (out / "posts" / "2024-03-05-a1.md").write_text("---\ntitle: '标题'\n---\n<p>正文</p>\n")
    (root / "secret.txt").write_text("top secret")
    os.symlink(root / "secret.txt", out / "leak.txt")
    os.symlink(out / "feed.json", out / "alias.json")  # inside the root: allowed
    (out / ".feed.atom.abc.tmp").write_text("half-written")
    health: dict[str, Any] = {"ok": True, "sources": {"新浪财经－国內": {"error_count": 0}}}
    metrics = Metrics()
    metrics.observe_poll(
        PollResult("新浪财经－国內", "ok", new=3, elapsed=0.2, fetch_seconds=0.1), NOW
    )
    metrics.observe_poll(
        PollResult("宏观经济", "error", error_kind="timeout", error="deadline"), NOW
    )
    metrics.set_next_poll("宏观经济", datetime(2024, 3, 5, 8, 5, tzinfo=UTC))

    def check() -> tuple[bool, dict[str, Any]]:
        return bool(health["ok"]), {"sources": health["sources"]}

    app = create_app(out, health=check, metrics=metrics)
    with ThreadedServer(app) as srv:
        yield Served(f"http://127.0.0.1:{srv.port}", srv.port, out, health, metrics)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base, trust_env=False, timeout=5) as c:
        yield c


IDENTITY = {"accept-encoding": "identity"}


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
        ("/categories/index.json", "application/json; charset=utf-8"),
        ("/archive/1.atom", "application/atom+xml; charset=utf-8"),
        ("/sources.opml", "text/x-opml; charset=utf-8"),
        ("/posts/2024-03-05-a1.md", "text/markdown; charset=utf-8"),
        ("/alias.json", "application/feed+json; charset=utf-8"),
    ],
)
def test_content_types_and_bytes(
    client: httpx.Client, served: Served, path: str, ctype: str
) -> None:
    r = client.get(path, headers=IDENTITY)
    assert r.status_code == 200
    assert r.headers["content-type"] == ctype
    on_disk = served.out / (path.lstrip("/") or "index.html")
    assert r.content == on_disk.read_bytes()
    assert "content-encoding" not in r.headers


def test_chinese_category_feed_is_served(client: httpx.Client, served: Served) -> None:
    slug = category_slug("新浪财经－国內")
    r = client.get(f"/categories/{quote(slug)}.atom", headers=IDENTITY)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert r.content == (served.out / "categories" / f"{slug}.atom").read_bytes()


def test_strong_etag_and_if_none_match(client: httpx.Client) -> None:
    r = client.get("/feed.atom", headers=IDENTITY)
    etag = r.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get("/feed.atom", headers={**IDENTITY, "if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == FEED_CACHE
    listed = client.get("/feed.atom", headers={**IDENTITY, "if-none-match": f'"x", {etag}'})
    assert listed.status_code == 304
    assert client.get("/feed.atom", headers={**IDENTITY, "if-none-match": "*"}).status_code == 304
    other = client.get("/feed.atom", headers={**IDENTITY, "if-none-match": '"other"'})
    assert other.status_code == 200 and other.content == r.content


def test_if_modified_since(client: httpx.Client, served: Served) -> None:
    r = client.get("/feed.rss", headers=IDENTITY)
    last_modified = r.headers["last-modified"]
    mtime = (served.out / "feed.rss").stat().st_mtime
    assert last_modified == formatdate(mtime, usegmt=True)
    same = client.get("/feed.rss", headers={**IDENTITY, "if-modified-since": last_modified})
    assert same.status_code == 304
    older = formatdate(mtime - 3600, usegmt=True)
    assert client.get("/feed.rss", headers={"if-modified-since": older}).status_code == 200
    junk = client.get("/feed.rss", headers={"if-modified-since": "yesterday"})
    assert junk.status_code == 200


def test_if_none_match_takes_precedence(client: httpx.Client) -> None:
    r = client.get("/feed.json", headers=IDENTITY)
    etag, lm = r.headers["etag"], r.headers["last-modified"]
    stale_tag = client.get(
        "/feed.json", headers={"if-none-match": '"old"', "if-modified-since": lm}
    )
    assert stale_tag.status_code == 200
    old_date = "Mon, 01 Jan 2001 00:00:00 GMT"
    fresh_tag = client.get(
        "/feed.json", headers={**IDENTITY, "if-none-match": etag, "if-modified-since": old_date}
    )
    assert fresh_tag.status_code == 304


def test_head_has_headers_and_no_body(client: httpx.Client) -> None:
    get = client.get("/feed.atom", headers=IDENTITY)
    head = client.head("/feed.atom", headers=IDENTITY)
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "etag", "last-modified", "cache-control", "content-length"):
        assert head.headers[name] == get.headers[name]
    assert int(head.headers["content-length"]) == len(get.content)


def test_gzip_when_accepted(client: httpx.Client, served: Served) -> None:
    plain = client.get("/feed.atom", headers=IDENTITY)
    with client.stream("GET", "/feed.atom", headers={"accept-encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding" == plain.headers["vary"]
    assert gzip.decompress(raw) == (served.out / "feed.atom").read_bytes()
    assert int(r.headers["content-length"]) == len(raw) < len(plain.content)
    assert r.headers["etag"] != plain.headers["etag"]
    gz_304 = client.get(
        "/feed.atom", headers={"accept-encoding": "gzip", "if-none-match": r.headers["etag"]}
    )
    assert gz_304.status_code == 304
    # The gzip validator does not validate the identity representation.
    cross = client.get("/feed.atom", headers={**IDENTITY, "if-none-match": r.headers["etag"]})
    assert cross.status_code == 200
    refused = client.get("/feed.atom", headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("deflate, gzip;q=0.5", True),
        ("*;q=0, gzip", True),  # gzip's own entry wins over the wildcard, wherever it stands
        ("gzip;q=0, *", False),
        ("gzip;q=0, *;q=1", False),
        ("*", True),
        ("br, *;q=0.1", True),
        ("br, *;q=0", False),
        ("identity", False),
        ("GZIP ; Q=1.0", True),
        ("gzip;q=garbage", False),
        ("gzip;q=nan", False),
    ],
)
def test_which_accept_encodings_get_gzip(client: httpx.Client, accept: str, gzipped: bool) -> None:
    with client.stream("GET", "/feed.atom", headers={"accept-encoding": accept}) as r:
        r.read()
    assert r.status_code == 200
    assert (r.headers.get("content-encoding") == "gzip") is gzipped, accept


def test_cache_control(client: httpx.Client) -> None:
    assert client.get("/feed.atom").headers["cache-control"] == FEED_CACHE
    assert client.get("/").headers["cache-control"] == FEED_CACHE
    assert client.get("/archive/1.atom").headers["cache-control"] == ARCHIVE_CACHE
    assert client.get("/archive/3.atom").headers["cache-control"] == FEED_CACHE  # tail page


def test_changed_file_is_served_fresh(client: httpx.Client, served: Served) -> None:
    path = served.out / "changing.txt"
    path.write_text("one")
    first = client.get("/changing.txt")
    path.write_text("two!")  # different size: the cache key changes even within one mtime tick
    second = client.get("/changing.txt")
    assert (first.text, second.text) == ("one", "two!")
    assert first.headers["etag"] != second.headers["etag"]


def test_bytes_are_cached_per_file_version(client: httpx.Client, served: Served) -> None:
    path = served.out / "cached.txt"
    path.write_text("AAAA")
    assert client.get("/cached.txt").text == "AAAA"
    st = path.stat()
    with path.open("r+") as f:  # same inode, same size, mtime put back: the same version
        f.write("BBBB")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert client.get("/cached.txt").text == "AAAA"  # served from memory, not reread
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert client.get("/cached.txt").text == "BBBB"


def test_healthz(client: httpx.Client, served: Served) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"ok": True, "sources": {"新浪财经－国內": {"error_count": 0}}}
    served.health["ok"] = False
    try:
        bad = client.get("/healthz")
        assert bad.status_code == 503 and bad.json()["ok"] is False
    finally:
        served.health["ok"] = True


def test_metrics(client: httpx.Client) -> None:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    sina, macro = (("source", "新浪财经－国內"),), (("source", "宏观经济"),)
    assert samples[("aggregator_polls_total", (*sina, ("status", "ok")))] == 1
    assert samples[("aggregator_poll_failures_total", (("kind", "timeout"), *macro))] == 1
    assert samples[("aggregator_articles_total", (("result", "new"),))] == 3
    assert samples[("aggregator_source_error_count", macro)] == 1
    assert samples[("aggregator_source_error_count", sina)] == 0
    assert samples[("aggregator_last_success_timestamp_seconds", sina)] == NOW.timestamp()
    assert ("aggregator_last_success_timestamp_seconds", macro) not in samples
    assert samples[("aggregator_fetch_seconds_count", sina)] == 1
    assert samples[("aggregator_next_poll_timestamp_seconds", macro)] == NOW.timestamp() + 300


def test_other_methods_are_refused(client: httpx.Client) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, "/feed.atom")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


def raw_get(port: int, target: str) -> int:
    """Status of a GET sent byte for byte (httpx would normalize the dots away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/categories/../../secret.txt",
        "/categories/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "//etc/passwd",
        "/%2Fetc%2Fpasswd",
        "/etc/passwd",
        "/feed.atom%00",
        "/feed.atom%00.txt",
        "/leak.txt",  # symlink pointing outside the output folder
        "/.feed.atom.abc.tmp",  # an atomic-write temporary
        "/categories",  # a folder
        "/..",
        "/nope.atom",
        "/%5c..%5csecret.txt",
    ],
)
def test_nothing_outside_the_output_is_reachable(served: Served, target: str) -> None:
    assert (served.out.parent / "secret.txt").exists()
    assert raw_get(served.port, target) == 404


def test_raw_request_for_a_real_file_works(served: Served) -> None:
    # Guards the traversal test: the raw client does reach files that exist.
    assert raw_get(served.port, "/feed.atom") == 200
    assert raw_get(served.port, "/categories/./index.json") == 404  # '.' segments refused
    body = json.loads((served.out / "categories" / "index.json").read_text("utf-8"))
    assert raw_get(served.port, f"/categories/{quote(body[0]['slug'])}.rss") == 200


def accept_all(listener: Listener) -> list[socket.socket]:
    accepted = []
    with contextlib.suppress(BlockingIOError):
        while True:
            accepted.append(listener.accept()[0])
    return accepted


def test_the_listener_closes_connections_beyond_its_budget_as_it_accepts() -> None:
    with Listener(socket.AF_INET) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        asked: list[int] = []
        listener.guard(3, 1 << 20, lambda: asked.append(1))
        clients = [socket.create_connection(listener.getsockname()) for _ in range(10)]
        time.sleep(0.1)  # every handshake done
        accepted = accept_all(listener)
        assert len(accepted) == 3 and listener.refused == 7
        assert len(asked) == 7, "each refusal asks the server to make room"
        for c in clients[3:]:
            c.settimeout(5)
            assert c.recv(1) == b"", "closed at once"
        accepted[0].close()  # room for one more, once the count is taken again
        time.sleep(2 * PRUNE_EVERY)
        late = socket.create_connection(listener.getsockname())
        time.sleep(0.1)
        admitted = accept_all(listener)
        assert len(admitted) == 1
        for s in [*accepted, *admitted, *clients, late]:
            s.close()


def test_the_listener_keeps_descriptors_free_whatever_the_count() -> None:
    # accept() returns the lowest free descriptor: one at or above the ceiling means the
    # process is that close to its limit, whatever holds the descriptors.
    with Listener(socket.AF_INET) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        client = socket.create_connection(listener.getsockname())
        time.sleep(0.1)
        listener.guard(100, 0, lambda: None)  # every descriptor is above a ceiling of -16
        assert accept_all(listener) == [] and listener.refused == 1
        client.close()
