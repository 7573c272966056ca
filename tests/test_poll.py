"""Orchestrator: one poll's recorded outcome, backoff and recovery, redirects, 410, never losing.

Real pieces throughout: a local HTTP server, the real Fetcher, parser, cleaner and SQLite.
"""

from __future__ import annotations

import asyncio
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import config
from aggregator.fetch import Fetcher
from aggregator.metrics import Metrics
from aggregator.models import ParsedEntry, PollResult, Settings, Source
from aggregator.poll import Pipeline, poll_source
from aggregator.prepare import item_hash, prepare
from aggregator.store import Store
from aggregator.workers import Workers
from tests.faultserver import FaultServer, Redirect, Static

REPO = Path(__file__).resolve().parents[1]
STCN = (REPO / "config" / "demo" / "stcn.xml").read_bytes()
CLS = (REPO / "config" / "demo" / "cls.xml").read_bytes()
RSS = {"Content-Type": "application/rss+xml"}
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
INTERVAL = 300.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """conftest's, with 5 s per fetch instead of 2 (more slack on a busy machine)."""
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        '[storage]\npath = "a.db"\n[output]\ndir = "out"\nbase_url = "http://127.0.0.1/"\n'
        'title = "t"\n[server]\nport = 8080\n[fetch]\ndeadline = "5s"\n'
        '[[sources]]\nname = "x"\nurl = "https://example.com/"\n',
        encoding="utf-8",
    )
    return config.load(cfg)


class Harness:
    """Polls one source at controlled times against the real stack."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.source = Source("源", url, ("金融",), "作者", INTERVAL)
        self.store = Store(settings.storage_path)

    def poll(self, now: datetime) -> PollResult:
        async def go() -> PollResult:
            async with Fetcher(self.settings.fetch) as fetcher:
                p = Pipeline(self.settings, self.store, fetcher, Metrics(), random.Random(1))
                return await poll_source(p, self.source, now)

        return asyncio.run(go())

    def state(self):  # type: ignore[no-untyped-def]
        return self.store.source_state(self.source.name, self.source.url)


def test_failures_back_off_then_recover_on_the_normal_interval(
    server: FaultServer, settings: Settings
) -> None:
    server.add("/f", Static(b"down", status=500))
    h = Harness(settings, server.url("/f"))
    h.poll(T0)  # nothing stored yet, nothing to lose
    delays = []
    for i in range(1, 7):
        now = T0 + timedelta(hours=i)
        r = h.poll(now)
        assert (r.status, r.error_kind) == ("error", "http_5xx")
        st = h.state()
        assert st.error_count == i + 1 and st.last_error_kind == "http_5xx"
        assert st.next_poll is not None
        delays.append((st.next_poll - now).total_seconds())
    assert delays[-1] > delays[0] * 4, "exponential backoff"
    assert max(delays) <= 4 * 3600, "capped at a few hours, never given up"

    server.add("/f", Static(STCN, headers=RSS))
    now = T0 + timedelta(days=1)
    r = h.poll(now)
    assert r.status == "ok" and r.new == 2
    st = h.state()
    assert (st.error_count, st.last_error, st.last_success) == (0, None, now)
    assert st.next_poll is not None
    assert 0.9 * INTERVAL <= (st.next_poll - now).total_seconds() <= 1.1 * INTERVAL


def test_retry_after_is_honoured(server: FaultServer, settings: Settings) -> None:
    server.add("/f", Static(b"", status=503, headers={"Retry-After": "7200"}))
    h = Harness(settings, server.url("/f"))
    r = h.poll(T0)
    assert r.error_kind == "http_5xx"
    st = h.state()
    assert st.next_poll is not None and (st.next_poll - T0).total_seconds() >= 7200


def test_bad_polls_lose_nothing(server: FaultServer, settings: Settings) -> None:
    server.add("/f", Static(CLS, headers=RSS))
    h = Harness(settings, server.url("/f"))
    assert h.poll(T0).new == 3
    before = h.store.recent(10)
    statuses = []
    for i, bad in enumerate(
        [
            Static(b"", headers=RSS),  # empty
            Static(CLS[: len(CLS) // 2], headers=RSS),  # truncated
            Static(b"<html><body>502 Bad Gateway</body></html>", headers=RSS),  # error page
            Static(b"<rss version='2.0'><channel><title>t</title></channel></rss>", headers=RSS),
        ]
    ):
        server.add("/f", bad)
        r = h.poll(T0 + timedelta(minutes=10 * (i + 1)))
        statuses.append((r.status, r.error_kind))
        assert h.store.recent(10) == before
    assert statuses[0] == ("error", "empty")
    assert statuses[2] == ("error", "not_a_feed")
    assert statuses[3] == ("ok", None), "a valid empty feed is no error, and deletes nothing"


def test_unchanged_body_without_validators_skips_parsing(
    server: FaultServer, settings: Settings
) -> None:
    server.add("/f", Static(CLS, headers=RSS))  # no ETag, no Last-Modified
    h = Harness(settings, server.url("/f"))
    assert h.poll(T0).status == "ok"
    assert h.poll(T0 + timedelta(minutes=5)).status == "unchanged"


SINA_CHINA = (REPO / "config" / "demo" / "sina-china.xml").read_bytes()
FIRST_ITEM = re.compile(rb"<item>.*?</item>\s*", re.S)


def _stored(store: Store) -> list[tuple[object, ...]]:
    return [
        (a.id, a.title, a.published, a.categories, a.links, a.content_html, a.cover)
        for a in store.page(0, 1000)
    ]


def test_a_changed_feed_prepares_only_its_new_item(server: FaultServer, settings: Settings) -> None:
    older = FIRST_ITEM.sub(b"", SINA_CHINA, count=1)  # the feed before its newest item
    server.add("/f", Static(older, headers=RSS))
    h = Harness(settings, server.url("/f"))
    assert h.poll(T0).new == 10
    known = h.store.item_hashes(h.source.name)
    assert len(known) == 10
    again = prepare(SINA_CHINA, server.url("/f"), None, h.source, T0, known)
    assert (len(again.articles), again.unchanged, len(again.hashes)) == (1, 10, 11)

    server.add("/f", Static(SINA_CHINA, headers=RSS))
    later = T0 + timedelta(hours=1)
    r = h.poll(later)
    assert (r.status, r.new, r.unchanged) == ("ok", 1, 10)
    assert h.store.item_hashes(h.source.name) == set(again.hashes)

    # The same two polls preparing every item store exactly the same.
    elsewhere = _elsewhere(settings, "full")
    elsewhere = replace(elsewhere, storage_path=settings.storage_path.with_name("full.db"))
    other = Harness(elsewhere, server.url("/f"))
    server.add("/f", Static(older, headers=RSS))
    other.poll(T0)
    other.store._db.execute("DELETE FROM source_items")  # nothing known: all prepared
    server.add("/f", Static(SINA_CHINA, headers=RSS))
    assert other.poll(later).new == 1
    assert _stored(other.store) == _stored(h.store)


def test_an_item_s_hash_is_the_one_stored_before_xml_base_was_read() -> None:
    """An item without an xml:base keeps the hash the store holds for it (no feed is cleaned
    again after an upgrade); a body's xml:base is part of the hash when there is one."""
    link, published = "http://example.com/1.html", "Fri, 17 Dec 2021 05:09:33 GMT"
    body, images = '<img src="i.png">', ("http://example.com/i.png",)
    item = ParsedEntry("g1", link, "标题", body, published, None, None, images)
    china = "https://rsshub.app/sina/finance/china/1686"
    source = Source("新浪财经－国內", china, ("金融",), "新浪财经", interval=300.0)
    assert item_hash(item, source).hex() == "508891eaf3a373142321bfcc068f4d23"  # at b4166be
    hashes = {
        item_hash(replace(item, content_base=base), source)
        for base in (None, "http://img.example.org/a/", "http://img.example.org/b/")
    }
    assert len(hashes) == 3


def test_a_small_change_starts_no_worker_process(server: FaultServer, settings: Settings) -> None:
    server.add("/f", Static(FIRST_ITEM.sub(b"", SINA_CHINA, count=1), headers=RSS))
    h = Harness(settings, server.url("/f"))
    h.poll(T0)
    server.add("/f", Static(SINA_CHINA, headers=RSS))

    async def go() -> tuple[PollResult, bool]:
        workers = Workers(2, min_bytes=0)  # every document would go to a worker process
        try:
            async with Fetcher(settings.fetch) as fetcher:
                p = Pipeline(settings, h.store, fetcher, None, workers=workers)
                return await poll_source(p, h.source, T0 + timedelta(hours=1)), workers.running
        finally:
            workers.close()

    result, started = asyncio.run(go())
    assert result.new == 1 and not started


def test_permanent_redirect_is_adopted_only_when_seen_twice(
    server: FaultServer, settings: Settings
) -> None:
    server.add("/old", Redirect(server.url("/new"), status=301))
    server.add("/new", Static(CLS, headers=RSS))
    h = Harness(settings, server.url("/old"))
    assert h.poll(T0).status == "ok"
    st = h.state()
    assert st.url == server.url("/old") and st.redirect_candidate == server.url("/new")
    h.poll(T0 + timedelta(minutes=5))
    st = h.state()
    assert st.url == server.url("/new") and st.redirect_candidate is None
    h.poll(T0 + timedelta(minutes=10))
    assert server.requests_to("/old").__len__() == 2, "the new URL is polled directly"


def test_temporary_redirect_is_never_adopted(server: FaultServer, settings: Settings) -> None:
    server.add("/old", Redirect(server.url("/new"), status=302))
    server.add("/new", Static(CLS, headers=RSS))
    h = Harness(settings, server.url("/old"))
    h.poll(T0)
    h.poll(T0 + timedelta(minutes=5))
    assert h.state().url == server.url("/old")


def test_410_stops_polling_until_enabled(server: FaultServer, settings: Settings) -> None:
    server.add("/f", Static(b"gone", status=410))
    h = Harness(settings, server.url("/f"))
    r = h.poll(T0)
    assert (r.status, r.error_kind) == ("gone", "http_410")
    assert h.state().gone
    h.poll(T0 + timedelta(hours=1))
    assert len(server.requests_to("/f")) == 1, "a gone source is not fetched again"
    assert h.store.enable_source("源")
    server.add("/f", Static(CLS, headers=RSS))
    assert h.poll(T0 + timedelta(hours=2)).status == "ok"
    assert not h.state().gone


def test_publish_renders_only_categories_that_changed(
    server: FaultServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator.outputs import formats, publish
    from aggregator.outputs.feeds import category_slug

    rendered: list[str] = []
    real_render_rss = formats.render_rss

    def counting_render_rss(articles, title, rel, *rest):  # type: ignore[no-untyped-def]
        rendered.append(rel)
        return real_render_rss(articles, title, rel, *rest)

    monkeypatch.setattr(formats, "render_rss", counting_render_rss)

    server.add("/a", Static(STCN, headers=RSS))
    server.add("/b", Static(CLS, headers=RSS))
    store = Store(settings.storage_path)
    a = Harness(settings, server.url("/a"))
    a.store = store
    a.source = Source("证券时报网－快讯", server.url("/a"), ("金融",), "证券时报网", INTERVAL)
    b = Harness(settings, server.url("/b"))
    b.store = store
    b.source = Source("财联社－电报", server.url("/b"), ("金融",), "财联社", INTERVAL)
    a.poll(T0)
    b.poll(T0)
    assert publish(settings, store)
    cats = settings.output.dir / "categories"
    stcn = cats / f"{category_slug('证券时报网－快讯')}.atom"
    cls = cats / f"{category_slug('财联社－电报')}.atom"
    before = (stcn.stat().st_mtime_ns, cls.read_bytes())
    assert publish(settings, store) == [], "nothing changed: nothing rendered"

    server.add("/b", Static(CLS.replace("共34家".encode(), "共35家".encode()), headers=RSS))
    assert b.poll(T0 + timedelta(minutes=5)).updated == 1
    rendered.clear()
    changed = publish(settings, store)
    assert f"categories/{category_slug('财联社－电报')}.rss" in rendered
    assert f"categories/{category_slug('证券时报网－快讯')}.rss" not in rendered
    assert cls in changed and cls.read_bytes() != before[1]
    assert stcn.stat().st_mtime_ns == before[0] and stcn not in changed
    assert "共35家" in (settings.output.dir / "feed.json").read_text(encoding="utf-8")


def test_posts_go_to_the_configured_posts_dir(server: FaultServer, settings: Settings) -> None:
    from dataclasses import replace as dc_replace

    from aggregator.outputs import publish

    blog = settings.config_path.parent / "blog" / "source" / "_posts"
    settings = dc_replace(settings, output=dc_replace(settings.output, posts_dir=blog))
    server.add("/f", Static(CLS, headers=RSS))
    h = Harness(settings, server.url("/f"))
    h.poll(T0)
    publish(settings, h.store)
    assert len(list(blog.glob("*.md"))) == 3
    assert not (settings.output.dir / "posts").exists()
    assert publish(settings, h.store) == []


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _many_categories(settings: Settings) -> Store:
    """A store whose publish has enough feed jobs to go to the worker processes."""
    from tests.published import art

    store = Store(settings.storage_path)
    items = [
        art(
            f"https://example.com/{i}",
            title=f"第{i}条消息",
            text=f"第{i}条正文，" + "内容不同的句子" * (i + 3),
            source=f"频道{i % 20}",
            published=T0 - timedelta(minutes=i),
        )
        for i in range(60)
    ]
    store.upsert(items, T0)
    return store


def _elsewhere(settings: Settings, name: str) -> Settings:
    from dataclasses import replace

    return replace(settings, output=replace(settings.output, dir=settings.output.dir / name))


def test_feeds_rendered_by_worker_processes_match_rendering_in_process(
    settings: Settings,
) -> None:
    from aggregator.outputs import PARALLEL_JOBS, publish
    from aggregator.workers import Workers

    store = _many_categories(settings)
    # the archive tail (60 articles < one page), the whole feed, 20 channels + 2 categories,
    # the article pages (one batch) and their removals
    in_workers = 1 + 1 + 22 + 2
    assert len(store.categories()) == 22 and in_workers >= PARALLEL_JOBS
    here, there = _elsewhere(settings, "here"), _elsewhere(settings, "there")

    class Counting(Workers):
        submitted = 0

        def submit(self, fn, *args):  # type: ignore[no-untyped-def]
            self.submitted += 1
            return super().submit(fn, *args)

    workers = Counting(2)
    try:
        assert publish(_elsewhere(settings, "idle"), store, workers)
        assert (workers.submitted, workers.running) == (0, False), "a few dozen documents"
        warm = workers.submit(pow, 2, 2)  # as a poll of a big document would have
        assert warm is not None and warm.result(timeout=30) == 4
        assert publish(there, store, workers)
        assert workers.submitted == 1 + in_workers
    finally:
        workers.close()
    assert publish(here, store, None)
    rendered = _tree(there.output.dir)
    feeds = [p for p in rendered if p.startswith("categories/") and not p.endswith(".html")]
    assert len(feeds) == (20 + 2) * 3 + 1
    assert rendered == _tree(here.output.dir)


def test_a_worker_that_cannot_render_falls_back_to_this_process(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from aggregator.outputs import publish
    from aggregator.workers import Workers

    store = _many_categories(settings)
    here, there = _elsewhere(settings, "here"), _elsewhere(settings, "there")
    assert publish(here, store, None)
    # The database moves away under the open store: workers cannot open it, this process can.
    settings.storage_path.rename(settings.storage_path.with_suffix(".moved"))
    workers = Workers(2)
    try:
        warm = workers.submit(pow, 2, 2)
        assert warm is not None and warm.result(timeout=30) == 4
        assert publish(there, store, workers)
    finally:
        workers.close()
    assert "rendering the rest here" in caplog.text
    assert _tree(there.output.dir) == _tree(here.output.dir)
