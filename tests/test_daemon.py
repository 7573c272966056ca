"""Daemon scheduling: no source is ever dropped from the schedule, and /healthz says when one
is late or publishing fails.

Real pieces throughout: a local HTTP server, the real Fetcher, SQLite store and APScheduler;
the daemon runs in this process so the tests can lock its database or break its outputs.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aggregator.daemon import Daemon
from aggregator.errors import StoreError
from aggregator.fetch import Fetcher
from aggregator.models import Settings, Source, SourceState
from aggregator.store import Store
from tests.faultserver import Drip, FaultServer, Static
from tests.processes import cli
from tests.published import NOW, make_article

REPO = Path(__file__).resolve().parents[1]
# Without its <ttl> (5 minutes), which would space the polls out.
STCN = (REPO / "config" / "demo" / "stcn.xml").read_bytes().replace(b"<ttl>5</ttl>", b"")
RSS = {"Content-Type": "application/rss+xml"}


def with_sources(settings: Settings, *sources: Source) -> Settings:
    return replace(settings, sources=sources)


def source(url: str, interval: float, name: str = "源") -> Source:
    return Source(name, url, ("金融",), "作者", interval)


async def until(predicate: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


def run_daemon(settings: Settings, body: Callable[[Daemon], Awaitable[None]]) -> None:
    async def go() -> None:
        store = Store(settings.storage_path)
        try:
            async with Fetcher(settings.fetch) as fetcher:
                daemon = Daemon(settings, store, fetcher)
                await daemon.start()
                try:
                    await body(daemon)
                finally:
                    await daemon.stop()
        finally:
            store.close()

    asyncio.run(go())


def test_a_poll_longer_than_its_interval_is_polled_again(
    server: FaultServer, settings: Settings
) -> None:
    # Each response takes ~0.6 s; the interval is 0.2 s. Overruns coalesce into the next
    # poll instead of dropping the source from the schedule.
    server.add("/slow.xml", Drip(STCN, interval=0.15, chunk=len(STCN) // 3 + 1))
    settings = with_sources(settings, source(server.url("/slow.xml"), 0.2))

    async def body(d: Daemon) -> None:
        assert await until(lambda: len(server.requests_to("/slow.xml")) >= 5)
        assert d.scheduler.get_job("tick") is not None

    run_daemon(settings, body)


def test_a_store_error_while_recording_a_poll_never_stops_its_polling(
    server: FaultServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database refuses to record the first outcomes (a lock held too long, a full disk).
    server.add("/down.xml", Static(b"oops", status=500))
    settings = with_sources(settings, source(server.url("/down.xml"), 1.0))
    refusals = [0]
    real_save = Store.save_state

    def failing_save(self: Store, s: SourceState) -> None:
        if s.error_count and refusals[0] < 2:
            refusals[0] += 1
            raise StoreError("database is locked")
        real_save(self, s)

    monkeypatch.setattr(Store, "save_state", failing_save)

    async def body(d: Daemon) -> None:
        # Backoff after failures is one to two intervals, then two to four…: three polls
        # in ≤ 25 s only if the two refused records did not stop the source's polling.
        assert await until(lambda: len(server.requests_to("/down.xml")) >= 3, timeout=25)
        assert refusals[0] == 2

    run_daemon(settings, body)


def test_healthz_fails_when_a_source_is_overdue(server: FaultServer, settings: Settings) -> None:
    server.add("/feed.xml", Static(STCN, headers=RSS, etag='"a"'))
    settings = with_sources(settings, source(server.url("/feed.xml"), 1.0))

    async def body(d: Daemon) -> None:
        assert await until(lambda: d.states["源"].last_success is not None)
        assert d.health()[0]
        # A database held by someone else: the due poll waits for it, past twice the
        # interval plus the fetch deadline.
        async with d.p.db_lock:
            assert await until(lambda: not d.health()[0], timeout=10)
            _, data = d.health()
            assert data["status"] == "unhealthy"
            assert [s["name"] for s in data["sources"] if s["overdue"]] == ["源"]
        assert await until(lambda: d.health()[0], timeout=10), "healthy again once it ran"

    run_daemon(settings, body)


def test_healthz_fails_when_the_schedule_stops(server: FaultServer, settings: Settings) -> None:
    server.add("/feed.xml", Static(STCN, headers=RSS, etag='"a"'))
    settings = with_sources(settings, source(server.url("/feed.xml"), 1.0))

    async def body(d: Daemon) -> None:
        assert await until(lambda: d.states["源"].last_success is not None)
        assert await until(lambda: "源" not in d.inflight)
        d.scheduler.pause()
        assert await until(lambda: not d.health()[0], timeout=10)
        d.scheduler.resume()

    run_daemon(settings, body)


def test_healthz_fails_while_publishing_fails(server: FaultServer, settings: Settings) -> None:
    server.add("/feed.xml", Static(STCN, headers=RSS, etag='"a"'))
    settings = with_sources(settings, source(server.url("/feed.xml"), 60.0))
    out = settings.output.dir

    async def body(d: Daemon) -> None:
        assert await until(lambda: d.states["源"].last_success is not None)
        await d.publisher.flush()
        assert d.health()[0]
        # The output folder cannot be written: a regular file stands where it should be.
        for p in sorted(out.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        out.rmdir()
        out.write_text("not a folder")
        await d.publisher.publish_now()
        ok, data = d.health()
        assert not ok
        assert data["publishing"]["ok"] is False and data["publishing"]["error"]
        out.unlink()
        await d.publisher.publish_now()
        assert d.health()[0]
        assert (out / "feed.atom").is_file()

    run_daemon(settings, body)


def test_set_sources_adds_removes_and_retimes(server: FaultServer, settings: Settings) -> None:
    server.add("/a.xml", Static(STCN, headers=RSS, etag='"a"'))
    server.add("/b.xml", Static(STCN, headers=RSS, etag='"b"'))
    a = source(server.url("/a.xml"), 60.0, "甲")
    b = source(server.url("/b.xml"), 1.0, "乙")
    settings = with_sources(settings, a)

    async def body(d: Daemon) -> None:
        assert await until(lambda: len(server.requests_to("/a.xml")) == 1)
        await d.set_sources([b])
        assert await until(lambda: len(server.requests_to("/b.xml")) >= 2)
        assert set(d.due) == {"乙"}
        names: list[Any] = [s["name"] for s in d.health()[1]["sources"]]
        assert names == ["乙"]
        await asyncio.sleep(1.5)
        assert len(server.requests_to("/a.xml")) == 1, "a removed source is not polled"

    run_daemon(settings, body)


def test_outputs_removed_while_running_are_rebuilt_whole(
    server: FaultServer, settings: Settings
) -> None:
    server.add("/feed.xml", Static(STCN, headers=RSS, etag='"a"'))  # 304 from now on
    settings = with_sources(settings, source(server.url("/feed.xml"), 1.0))
    out = settings.output.dir

    async def body(d: Daemon) -> None:
        assert await until(lambda: any((out / "posts").glob("*.md")))
        await d.publisher.flush()
        posts = sorted(p.name for p in (out / "posts").glob("*.md"))
        shutil.rmtree(out)
        assert await until(lambda: (out / "feed.atom").is_file(), timeout=15)
        await d.publisher.flush()
        assert sorted(p.name for p in (out / "posts").glob("*.md")) == posts

    run_daemon(settings, body)


@pytest.mark.slow  # publishing around a 10 M character body, twice: 10-20 s here
def test_articles_publishing_skips_show_in_healthz_metrics_and_status(
    server: FaultServer, settings: Settings
) -> None:
    # Stored before the ingest limits (a body lxml refuses): every feed leaves it out.
    # A long interval: publishing around that body takes seconds on a loaded machine,
    # which must not make the source overdue (unhealthy) here.
    server.add("/feed.xml", Static(STCN, headers=RSS, etag='"a"'))
    settings = with_sources(settings, source(server.url("/feed.xml"), 60.0))
    store = Store(settings.storage_path)
    store.upsert([make_article(7, content_html="x" * 10_000_001)], NOW)
    bad = store.page(0, 1)[0]
    store.close()

    def metric(d: Daemon, name: str, **labels: str) -> float:
        text = d.metrics.render()[0].decode()
        return next(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == name and s.labels == labels
        )

    async def body(d: Daemon) -> None:
        assert await until(lambda: d.health()[1]["sources"][0]["state"] == "ok")
        await d.publisher.flush()
        ok, data = d.health()
        assert ok, "still 200: the other articles are published"
        assert data["status"] == "degraded"
        pub = data["publishing"]
        assert pub["ok"] and pub["skipped"] == 1
        assert {"feed", "category-feeds", "archives"} <= set(pub["skipped_by_output"])
        (shown,) = pub["skipped_articles"]
        assert (shown["id"], shown["title"], shown["link"]) == (bad.id, bad.title, bad.link)
        assert "Text node too long" in shown["reason"] and "feed" in shown["outputs"]
        counted = metric(d, "aggregator_publish_skipped_total", output="feed")
        assert counted >= 1, "once per publish that left it out"
        assert metric(d, "aggregator_publish_skipped_articles") == 1
        status = cli("status", "-c", str(settings.config_path))
        assert status.returncode == 0 and json.loads(status.stdout)
        assert "the last publish left out 1 article(s)" in status.stderr
        assert bad.id in status.stderr and "Text node too long" in status.stderr

        await d.p.db(d.p.store.delete, bad.id, NOW)
        await d.publisher.publish_now()
        ok, data = d.health()
        assert data["publishing"]["skipped"] == 0
        assert data["status"] == "ok", data
        assert metric(d, "aggregator_publish_skipped_articles") == 0
        assert metric(d, "aggregator_publish_skipped_total", output="feed") == counted
        assert "left out" not in cli("status", "-c", str(settings.config_path)).stderr

    run_daemon(settings, body)
