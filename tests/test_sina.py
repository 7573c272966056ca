"""Native Sina sources: the roll list with its article pages, and 7×24 flashes.

Real pieces throughout: Sina's shapes served by a local HTTP server (tests/sina_site.py),
the real Fetcher, kinds, cleaner, dedup and SQLite, driven through `poll_source`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.fetch import Fetcher
from aggregator.kinds import KINDS, sinajson
from aggregator.kinds.sina_roll import RollKind, read_article_page
from aggregator.kinds.sina_zhibo import ZhiboKind
from aggregator.metrics import Metrics
from aggregator.models import ParsedEntry, PollResult, Settings, Source, StoredArticle
from aggregator.poll import Pipeline, poll_all, poll_source
from aggregator.sites.domains import same_site
from aggregator.store import Store
from tests.faultserver import FaultServer, Redirect, Stall, Static
from tests.sina_site import (
    HTML,
    JSON,
    ROLL_SAMPLE,
    SAMPLE_PAGES,
    ZHIBO_SAMPLE,
    SinaSite,
    article_page,
    docid_of,
    page_for,
    roll_body,
    roll_item,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
INTERVAL = 300.0
ROLL = KINDS["sina-roll"]


@pytest.fixture
def site(server: FaultServer) -> SinaSite:
    return SinaSite(server)


def roll_source(url: str, name: str = "新浪财经－国內", **kw: Any) -> Source:
    return Source(name, url, ("金融", "新浪财经"), "新浪财经", INTERVAL, kind="sina-roll", **kw)


class Harness:
    """Polls sources at controlled times against the real stack, one store throughout."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.storage_path)

    def poll(self, *sources: Source, now: datetime = T0) -> list[PollResult]:
        async def go() -> list[PollResult]:
            async with Fetcher(self.settings.fetch) as fetcher:
                p = Pipeline(self.settings, self.store, fetcher, Metrics(), random.Random(1))
                if len(sources) == 1:
                    return [await poll_source(p, sources[0], now)]
                return await poll_all(p, sources, now)

        return asyncio.run(go())

    def articles(self) -> list[StoredArticle]:
        return self.store.recent(1000)

    def by_title(self) -> dict[str, StoredArticle]:
        return {a.title: a for a in self.articles()}


@pytest.fixture
def h(settings: Settings) -> Iterator[Harness]:
    harness = Harness(settings)
    yield harness
    harness.store.close()


# --- reading the list ------------------------------------------------------------------


def test_the_sample_list_reads_as_articles_with_ids_versions_and_pages() -> None:
    body = json.dumps(ROLL_SAMPLE, ensure_ascii=False).encode()
    listing = ROLL.read_list(body, "https://feed.mix.sina.com.cn/api/roll/get?lid=1686", None, T0)
    assert len(listing.items) == 11 and not listing.more
    first = listing.items[0]
    assert first.key == "sina:svmbkwe8430849"
    assert first.version == "1660055398"
    assert first.page_url == (
        "https://finance.sina.com.cn/china/gncj/2022-08-09/doc-isvmbkwe8430849.shtml"
    )
    assert first.entry.outlet == "新浪财经"
    assert first.entry.published_raw == "1660055393"
    assert first.entry.image_urls == (
        "http://n.sinaimg.cn/spider20220809/276/w1126h750/20220809/"
        "822a-d826a52af94c2ebac8e814727be0c392.jpg",
    )
    # the mobile URL form is a key of the same article
    assert any("detail-isvmbkwe8430849" in k for k in first.entry.identity)


def test_list_url_caps_num_at_50_and_sets_the_page() -> None:
    url = RollKind().list_url(
        "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=100", 3
    )
    assert url == "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686&num=50&page=3"
    assert RollKind().list_url("file:///x/roll.json", 2) is None


def test_jsonp_ints_and_img_shapes_are_read() -> None:
    items = [
        roll_item(1, "https://finance.sina.com.cn", ints=True),
        roll_item(2, "https://finance.sina.com.cn"),
    ]
    items[0]["img"] = {"u": "http://n.sinaimg.cn/a.jpg", "w": 1, "h": 1, "t": ""}
    items[1]["images"] = [{"u": "http://n.sinaimg.cn/b.jpg", "w": "550", "h": "315"}]
    body = roll_body(items, callback="jsonp_1")
    listing = ROLL.read_list(
        body, "https://feed.mix.sina.com.cn/api/roll/get?callback=jsonp_1", None, T0
    )
    assert [i.entry.image_urls for i in listing.items] == [
        ("http://n.sinaimg.cn/a.jpg",),
        ("http://n.sinaimg.cn/b.jpg",),
    ]
    assert listing.items[0].version == str(items[0]["mtime"])


def test_items_without_url_or_not_articles_are_skipped() -> None:
    base = "https://finance.sina.com.cn"
    items = [roll_item(n, base) for n in range(1, 5)]
    items[0]["url"] = ""
    items[1]["url"] = "https://finance.sina.com.cn/zt_d/some-topic/"
    items[2]["url"] = "https://video.sina.com.cn/p/finance/2026-11-30/detail-x.html"
    listing = ROLL.read_list(roll_body(items), f"{base}/api/roll/get", None, T0)
    assert [i.key for i in listing.items] == [f"sina:{docid_of(items[3])}"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (roll_body([], code=1), "api_error"),
        (b"<html><body>502 Bad Gateway</body></html>", "not_a_feed"),
        (roll_body([roll_item(1, "https://finance.sina.com.cn")])[:-40], "malformed"),
        (b"", "empty"),
        (b'{"result": {"status": {"code": 0}}}', "not_a_feed"),
    ],
)
def test_bad_list_bodies_are_clear_errors(body: bytes, kind: str) -> None:
    with pytest.raises(ParseError) as info:
        ROLL.read_list(body, "https://feed.mix.sina.com.cn/api/roll/get", None, T0)
    assert info.value.kind == kind


# --- reading an article page -------------------------------------------------------------


def _entry(title: str = "", published: str | None = "1660055393") -> ParsedEntry:
    return ParsedEntry(None, "https://finance.sina.com.cn/a/doc-ia.shtml", title or None,
                       "<p>导语...</p>", published, None, None)  # fmt: skip


@pytest.mark.parametrize("docid", sorted(SAMPLE_PAGES))
def test_sample_pages_give_the_full_clean_article(docid: str) -> None:
    from aggregator.clean import clean_html

    entry = read_article_page(_entry(), SAMPLE_PAGES[docid], "text/html")
    body = clean_html(entry.content_html, entry.link)
    assert entry.title and entry.outlet
    assert len(body.text) > 200
    for junk in ("海量资讯", "责任编辑", "343233024.png", "文章关键词", "版权所有", "sinaads"):
        assert junk not in body.html, junk
    assert body.editor


def test_page_junk_from_spec_11_is_removed_and_text_kept() -> None:
    from aggregator.clean import clean_html

    page = article_page("标题", ["正文第一段。"], image="//n.sinaimg.cn/x/cover.jpg")
    entry = read_article_page(_entry(), page, None)
    body = clean_html(entry.content_html, entry.link)
    assert "正文第一段" in body.text and "贵州茅台" in body.text
    for junk in ("相关专题", "免责声明", "quote_", "海量资讯", "责任编辑", "导航栏", "页脚"):
        assert junk not in body.html, junk
    assert body.cover == "https://n.sinaimg.cn/x/cover.jpg"
    assert entry.outlet is None or entry.outlet == "新浪财经"


@pytest.mark.parametrize(
    "variant",
    [
        {"charset": "gbk"},
        {"charset": "gb2312"},
        {"markers": False},
        {"markers": False, "body_id": "article"},
    ],
)
def test_page_variants_read_the_same_text(variant: dict[str, Any]) -> None:
    page = article_page("中文标题：测试", ["中文正文，全角标点。"], outlet="证券日报", **variant)
    entry = read_article_page(_entry(published=None), page, "text/html")
    assert "中文正文，全角标点。" in entry.content_html
    assert entry.title == "中文标题：测试"
    assert entry.outlet == "证券日报"
    assert entry.published_raw == "2026-11-30T10:00:00+08:00"  # the page's, as the list had none


def test_a_page_without_an_article_is_an_error() -> None:
    with pytest.raises(ParseError) as info:
        read_article_page(_entry(), b"<html><body><p>sorry</p></body></html>", None)
    assert info.value.kind == "no_article"


def test_the_list_title_wins_unless_cut_short() -> None:
    page = article_page("完整的标题：还有后半句", ["正文。"])
    assert read_article_page(_entry("完整的标题..."), page, None).title == "完整的标题：还有后半句"
    assert read_article_page(_entry("列表里的标题"), page, None).title == "列表里的标题"


def test_same_site_is_the_registrable_domain() -> None:
    api = "https://feed.mix.sina.com.cn/api/roll/get?lid=1686"
    assert same_site(api, "https://finance.sina.com.cn/china/doc-iabcdefg.shtml")
    assert not same_site(api, "https://finance.sina.cn/2026-11-30/detail-iabcdefg.d.html")
    assert not same_site(api, "https://evil.example/doc-iabcdefg.shtml")
    assert not same_site(api, "https://finance.sina.com.cn@evil.example/doc-iabcdefg.shtml")
    assert not same_site(api, "file:///etc/passwd")
    assert same_site("http://127.0.0.1:8/api", "http://127.0.0.1:9/doc-iabcdefg.shtml")
    assert not same_site("http://127.0.0.1:8/api", "http://127.0.0.2/doc-iabcdefg.shtml")
    assert same_site("file:///d/roll.json", "file:///d/doc-iabcdefg.shtml")
    assert not same_site("file:///d/roll.json", "file:///d/../etc/doc-iabcdefg.shtml")


# --- polling: lists, pages, politeness ----------------------------------------------------


def _serve(site: SinaSite, lid: int, items: Sequence[dict[str, Any]], **kw: Any) -> None:
    site.set_list(lid, items, **kw)
    for item in items:
        site.set_page(item)


def test_cold_poll_backfills_then_steady_state_costs_one_request(
    h: Harness, site: SinaSite
) -> None:
    items = [roll_item(n, site.base) for n in range(1, 131)]  # three pages of 50
    _serve(site, 1686, items)
    src = roll_source(site.list_url(1686, "&num=100"))  # num is capped at 50
    [r] = h.poll(src)
    assert r.status == "ok" and r.new == 100  # backfill: 2 pages
    assert site.list_requests() == [site.list_path(1686, 1), site.list_path(1686, 2)]
    assert "num=50" in site.list_requests()[0]
    assert len(site.page_requests()) == 100
    first = h.by_title()[items[0]["title"]]
    assert "合成新闻synth0000001的第一段全文" in first.content_html
    assert first.published == datetime.fromtimestamp(int(items[0]["ctime"]), UTC)
    assert first.outlet == "新浪财经"
    assert first.categories == ("金融", "新浪财经", "新浪财经－国內")
    assert all(
        s.headers.get("referer") == "https://finance.sina.com.cn/" for s in site.server.requests
    )

    site.server._seen.clear()
    [r] = h.poll(src, now=T0 + timedelta(minutes=5))  # nothing new
    assert r.new == r.updated == r.merged == 0
    assert site.list_requests() == [site.list_path(1686, 1)] and site.page_requests() == []

    newer = [roll_item(n, site.base) for n in (-3, -2, -1)]  # three new at the top
    _serve(site, 1686, newer + items)
    site.server._seen.clear()
    [r] = h.poll(src, now=T0 + timedelta(minutes=10))
    assert r.new == 3
    assert site.list_requests() == [site.list_path(1686, 1)]  # page 1 held known items
    assert len(site.page_requests()) == 3


def test_paging_follows_until_known_items(h: Harness, site: SinaSite) -> None:
    items = [roll_item(n, site.base) for n in range(1, 21)]
    _serve(site, 1686, items, per_page=5, extra="&num=5")
    src = roll_source(site.list_url(1686, "&num=5"), backfill_pages=1, list_pages=10)
    assert h.poll(src)[0].new == 5
    newer = [roll_item(n, site.base) for n in range(-12, 0)]  # 12 new: pages 1-3 of 5
    _serve(site, 1686, newer + items, per_page=5, extra="&num=5")
    site.server._seen.clear()
    [r] = h.poll(src, now=T0 + timedelta(minutes=5))
    assert r.new == 12
    assert site.list_requests() == [site.list_path(1686, n, "&num=5") for n in (1, 2, 3)]


def test_repeated_items_across_pages_are_one_article_one_fetch(h: Harness, site: SinaSite) -> None:
    items = [roll_item(n, site.base) for n in range(1, 9)]
    page1, page2 = items[:5], [items[4], items[4], *items[5:]]  # overlap, and a repeat
    site.set_list_page(1686, 1, Static(roll_body(page1), headers=JSON), extra="&num=5")
    site.set_list_page(1686, 2, Static(roll_body(page2), headers=JSON), extra="&num=5")
    site.set_list_page(1686, 3, Static(roll_body([]), headers=JSON), extra="&num=5")
    for item in items:
        site.set_page(item)
    [r] = h.poll(roll_source(site.list_url(1686, "&num=5"), backfill_pages=3))
    assert r.new == 8 and len(h.articles()) == 8
    assert len(site.page_requests()) == len(set(site.page_requests())) == 8


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (roll_body([], code=-1), "api_error"),
        (b"<!DOCTYPE html><html><title>404</title></html>", "not_a_feed"),
        (b'{"result": {"status": {"code": 0}, "data": [{"docid"', "malformed"),
    ],
)
def test_a_bad_list_fails_the_poll_and_loses_nothing(
    h: Harness, site: SinaSite, body: bytes, kind: str
) -> None:
    items = [roll_item(n, site.base) for n in range(1, 4)]
    _serve(site, 1686, items)
    src = roll_source(site.list_url(1686))
    h.poll(src)
    site.set_list_page(1686, 1, Static(body, headers=JSON))
    [r] = h.poll(src, now=T0 + timedelta(minutes=5))
    assert r.status == "error" and r.error_kind == kind
    assert len(h.articles()) == 3


def test_jsonp_list_is_polled(h: Harness, site: SinaSite) -> None:
    items = [roll_item(n, site.base) for n in range(1, 4)]
    site.set_list_page(
        1686, 1, Static(roll_body(items, callback="cb"), headers=JSON), extra="&callback=cb"
    )
    for item in items:
        site.set_page(item)
    [r] = h.poll(roll_source(site.list_url(1686, "&callback=cb")))
    assert r.new == 3


def test_failed_pages_are_retried_later_and_never_published_empty(
    h: Harness, site: SinaSite
) -> None:
    items = [roll_item(n, site.base) for n in range(1, 5)]
    site.set_list(1686, items)
    site.set_page(items[0])
    site.set_page(items[1], Static(b"not found", status=404))
    site.set_page(items[2], Static(b"oops", status=500))
    site.set_page(items[3], Stall())  # no answer within the 2 s deadline
    src = roll_source(site.list_url(1686))
    [r] = h.poll(src)
    assert r.status == "ok" and r.new == 1
    assert [a.title for a in h.articles()] == [items[0]["title"]]
    state = h.store.source_state(src.name, src.url)
    assert state.pages_pending == 3 and state.last_page_error

    for item in items[1:]:
        site.set_page(item)
    site.server._seen.clear()
    h.poll(src, now=T0 + timedelta(seconds=10))  # too soon: not retried yet
    assert site.page_requests() == []
    [r] = h.poll(src, now=T0 + timedelta(hours=7))
    assert r.new == 3 and len(site.page_requests()) == 3
    assert all("第一段全文" in a.content_html for a in h.articles())
    state = h.store.source_state(src.name, src.url)
    assert state.pages_pending == 0 and state.last_page_error is None


@pytest.mark.parametrize(
    ("variant", "content_type"),
    [
        ({"charset": "gbk"}, "text/html; charset=GBK"),
        ({"charset": "gb2312"}, "text/html"),
        ({"markers": False}, "text/html"),
        ({"markers": False, "body_id": "article"}, "text/html; charset=utf-8"),
    ],
)
def test_page_variants_served_are_published_whole(
    h: Harness, site: SinaSite, variant: dict[str, Any], content_type: str
) -> None:
    item = roll_item(1, site.base, title="中文标题：编码测试")
    site.set_list(1686, [item])
    body = article_page("中文标题：编码测试", ["全角标点，中文正文。"], **variant)
    site.set_page(item, Static(body, headers={"Content-Type": content_type}))
    [r] = h.poll(roll_source(site.list_url(1686)))
    assert r.new == 1
    [art] = h.articles()
    assert "全角标点，中文正文。" in art.content_html and "导航栏" not in art.content_html


def test_a_page_without_its_article_waits_too(h: Harness, site: SinaSite) -> None:
    items = [roll_item(1, site.base)]
    site.set_list(1686, items)
    site.set_page(
        items[0], b"<html><body>\xe6\xad\xa3\xe5\x9c\xa8\xe5\x8a\xa0\xe8\xbd\xbd</body></html>"
    )
    src = roll_source(site.list_url(1686))
    assert h.poll(src)[0].new == 0 and h.articles() == []
    assert "no #artibody" in (h.store.source_state(src.name, src.url).last_page_error or "")


def test_an_mtime_change_is_a_revision_in_place(h: Harness, site: SinaSite) -> None:
    item = roll_item(1, site.base)
    site.set_list(1686, [item])
    site.set_page(item)
    src = roll_source(site.list_url(1686))
    h.poll(src)
    [before] = h.articles()
    revised = dict(item, mtime=str(int(item["mtime"]) + 600))
    site.set_list(1686, [revised])
    site.set_page(revised, article_page(str(item["title"]), ["更正后的全文。"]))
    site.server._seen.clear()
    [r] = h.poll(src, now=T0 + timedelta(minutes=5))
    assert r.updated == 1 and len(site.page_requests()) == 1
    [after] = h.articles()
    assert after.id == before.id and after.slug == before.slug
    assert "更正后的全文" in after.content_html and after.updated > before.updated
    site.server._seen.clear()
    h.poll(src, now=T0 + timedelta(minutes=10))  # same mtime again: not fetched again
    assert site.page_requests() == []


def test_an_item_in_two_lists_is_one_article_fetched_once(h: Harness, site: SinaSite) -> None:
    shared = roll_item(1, site.base, lids="1686,1687")
    only_a, only_b = roll_item(2, site.base), roll_item(3, site.base)
    _serve(site, 1686, [shared, only_a])
    _serve(site, 1687, [shared, only_b])
    a = roll_source(site.list_url(1686))
    b = roll_source(site.list_url(1687), name="新浪财经－宏观经济")
    h.poll(a, b)
    assert len(h.articles()) == 3
    art = h.by_title()[shared["title"]]
    assert {"新浪财经－国內", "新浪财经－宏观经济"} <= set(art.categories)
    assert site.page_requests().count(site.set_page(shared)) == 1
    # a list polled later carrying a stored article attaches its channel without a fetch
    c = roll_source(site.list_url(1690), name="新浪财经－金融新闻")
    _serve(site, 1690, [shared])
    site.server._seen.clear()
    [r] = h.poll(c, now=T0 + timedelta(minutes=1))
    assert r.merged == 1 and site.page_requests() == []
    assert "新浪财经－金融新闻" in h.by_title()[shared["title"]].categories


def test_pages_on_another_site_are_refused(h: Harness, site: SinaSite, server: FaultServer) -> None:
    item = roll_item(1, site.base)
    item["url"] = "http://127.0.0.2:9/china/doc-iattacker1.shtml"
    site.set_list(1686, [item])
    src = roll_source(site.list_url(1686))
    [r] = h.poll(src)
    assert r.status == "ok" and h.articles() == []
    state = h.store.source_state(src.name, src.url)
    assert "not on the site" in (state.last_page_error or "") and state.pages_pending == 0


def test_page_redirects_stay_on_the_site(h: Harness, site: SinaSite, server: FaultServer) -> None:
    inside, outside = roll_item(1, site.base), roll_item(2, site.base)
    site.set_list(1686, [inside, outside])
    moved = dict(inside, url=f"{site.base}/moved/doc-i{docid_of(inside)}.shtml")
    site.set_page(inside, Redirect(str(moved["url"])))
    site.set_page(moved)
    elsewhere = str(outside["url"]).replace("127.0.0.1", "localhost")  # another site
    site.set_page(outside, Redirect(elsewhere))
    src = roll_source(site.list_url(1686))
    [r] = h.poll(src)
    assert r.new == 1 and [a.title for a in h.articles()] == [inside["title"]]
    assert not any("localhost" in str(seen.headers.get("host")) for seen in server.requests)
    state = h.store.source_state(src.name, src.url)
    assert state.pages_pending == 1 and "redirect off the site" in (state.last_page_error or "")


def test_the_page_budget_leaves_the_rest_for_the_next_poll(h: Harness, site: SinaSite) -> None:
    items = [roll_item(n, site.base) for n in range(1, 11)]
    _serve(site, 1686, items)
    src = roll_source(site.list_url(1686), page_budget=4)
    assert h.poll(src)[0].new == 4
    assert h.store.source_state(src.name, src.url).pages_pending == 6
    assert h.poll(src, now=T0 + timedelta(minutes=5))[0].new == 4
    assert h.poll(src, now=T0 + timedelta(minutes=10))[0].new == 2
    assert len(site.page_requests()) == 10


class _Gauge:
    """Pages being served at once, across every page path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0


@dataclass(frozen=True)
class _SlowPage:
    body: bytes
    gauge: _Gauge

    def serve(self, handler: Any, stop: threading.Event) -> None:
        with self.gauge.lock:
            self.gauge.now += 1
            self.gauge.peak = max(self.gauge.peak, self.gauge.now)
        time.sleep(0.1)
        with self.gauge.lock:
            self.gauge.now -= 1
        Static(self.body, headers=HTML).serve(handler, stop)


def test_page_fetches_per_host_are_bounded(h: Harness, site: SinaSite) -> None:
    items = [roll_item(n, site.base) for n in range(1, 9)]
    site.set_list(1686, items)
    gauge = _Gauge()
    for i in items:
        site.set_page(i, _SlowPage(page_for(i), gauge))
    h.poll(roll_source(site.list_url(1686)))
    assert len(h.articles()) == 8
    assert gauge.peak == h.settings.fetch.per_host == 2  # [fetch] per_host bounds pages too


# --- 7×24 flashes -----------------------------------------------------------------------------


def zhibo_body(flashes: list[dict[str, Any]]) -> bytes:
    data = json.loads(json.dumps(ZHIBO_SAMPLE))
    data["result"]["data"]["feed"]["list"] = flashes
    return json.dumps(data, ensure_ascii=False).encode()


def test_flashes_become_short_articles(h: Harness, server: FaultServer) -> None:
    flashes = ZHIBO_SAMPLE["result"]["data"]["feed"]["list"]
    no_bracket = dict(
        flashes[1],
        id=5100009,
        rich_text="央行今日开展1000亿元逆回购操作，中标利率持平。此外还有更多细节说明。",
    )
    server.add(
        "/api/zhibo/feed?zhibo_id=152&page_size=20&page=1",
        Static(zhibo_body([*flashes, no_bracket]), headers=JSON),
    )
    src = Source(
        "新浪财经－7×24",
        server.url("/api/zhibo/feed?zhibo_id=152"),
        ("金融",),
        "新浪财经",
        INTERVAL,
        kind="sina-zhibo",
    )
    [r] = h.poll(src)
    assert r.new == 4
    arts = h.by_title()
    rocket = arts["103次！长征系列火箭创造连续发射成功新纪录"]
    assert rocket.link == "https://finance.sina.com.cn/7x24/2022-08-20/doc-iflash5100000.shtml"
    assert rocket.content_html.startswith("<p>财联社8月20日电")
    assert {"市场", "公司"} <= set(rocket.categories)
    assert rocket.tags == ("贵州茅台 sh600519",)
    assert rocket.published == datetime(2022, 8, 20, 0, 26, 14, tzinfo=UTC)  # China time
    without_docurl = next(a for a in arts.values() if "5100001" in a.link)
    assert without_docurl.link == "https://finance.sina.com.cn/7x24/?id=5100001"
    assert "央行今日开展1000亿元逆回购操作，中标利率持平" in arts
    # steady: nothing new, nothing stored again
    [r] = h.poll(src, now=T0 + timedelta(minutes=1))
    assert r.new == r.updated == r.merged == 0
    assert len(server.requests) == 2


def test_zhibo_titles() -> None:
    from aggregator.kinds.sina_zhibo import split_title

    assert split_title("【标题】正文。") == ("标题", "正文。")
    long = "这是一句非常非常长的话" * 6 + "。后面"
    title, rest = split_title(long)
    assert len(title) == 40 and title.endswith("…") and rest == long


def test_zhibo_bad_answers() -> None:
    with pytest.raises(ParseError):
        ZhiboKind().read_list(b'{"result": {"status": {"code": 1, "msg": "x"}}}', "u", None, T0)
    with pytest.raises(ParseError):
        ZhiboKind().read_list(b'{"result": {"status": {"code": 0}, "data": {}}}', "u", None, T0)


def test_the_native_kinds_are_registered_in_one_place() -> None:
    assert set(KINDS) == {"feed", "sina-roll", "sina-zhibo"}
    assert replace(roll_source("u"), kind="feed").kind == "feed"


# --- end to end: `aggregator once` on native sources alone ---------------------------------


def _once(cfg: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", "once", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_native_sources_alone_publish_full_articles(
    tmp_path: Path, site: SinaSite, server: FaultServer
) -> None:
    a_items = [roll_item(n, site.base, media="证券日报") for n in range(1, 6)]
    b_items = [a_items[0], roll_item(6, site.base)]
    site.set_list(1686, a_items)
    site.set_list(1687, b_items)
    for item in [*a_items, b_items[1]]:
        site.set_page(item)
    site.set_page(a_items[4], Static(b"busy", status=503))
    server.add(
        "/api/zhibo/feed?zhibo_id=152&page_size=20&page=1",
        Static(json.dumps(ZHIBO_SAMPLE, ensure_ascii=False).encode(), headers=JSON),
    )
    cfg = tmp_path / "agg.toml"
    cfg.write_text(
        '[storage]\npath = "agg.db"\n[output]\ndir = "public"\n'
        'base_url = "http://127.0.0.1:8080/"\ntitle = "t"\n[server]\nport = 8080\n'
        '[defaults]\ncategories = ["金融", "新浪财经"]\nauthor = "新浪财经"\n'
        f'[[sources]]\nname = "国内"\nkind = "sina-roll"\nurl = "{site.list_url(1686)}"\n'
        f'[[sources]]\nname = "宏观"\nkind = "sina-roll"\nurl = "{site.list_url(1687)}"\n'
        '[[sources]]\nname = "7×24"\nkind = "sina-zhibo"\n'
        f'url = "{server.url("/api/zhibo/feed?zhibo_id=152")}"\n',
        encoding="utf-8",
    )
    done = _once(cfg)
    assert done.returncode == 0, done.stderr
    atom = (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8")
    assert atom.count("<entry>") == 5 + 3  # one page failed: not published, not even its intro
    assert str(a_items[4]["title"]) not in atom
    assert "第一段全文" in atom and "<title>证券日报</title>" in atom  # the outlet, as atom:source
    assert atom.count(f"<title>{a_items[0]['title']}</title>") == 1
    status = subprocess.run(
        [sys.executable, "-m", "aggregator", "status", "-c", str(cfg)],
        capture_output=True,
        text=True,
        check=True,
    )
    china = next(s for s in json.loads(status.stdout) if s["name"] == "国内")
    assert china["pages_pending"] == 1 and "503" in china["last_page_error"]

    site.set_page(a_items[4])
    db = sqlite3.connect(tmp_path / "agg.db")
    db.execute("UPDATE listed SET next_try = NULL")  # as if its retry time had come
    db.commit()
    db.close()
    assert _once(cfg).returncode == 0
    atom = (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8")
    assert str(a_items[4]["title"]) in atom and atom.count("<entry>") == 9


# --- properties: whatever Sina sends, a clear ParseError or items ------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
_json_values = (
    _scalars
    | st.lists(_scalars, max_size=4)
    | st.dictionaries(st.text(max_size=8), _scalars | st.lists(_scalars, max_size=3), max_size=4)
)
_item_fields = st.fixed_dictionaries(
    {},
    optional={
        k: _json_values | st.text(max_size=60)
        for k in (
            "docid",
            "url",
            "wapurl",
            "title",
            "intro",
            "ctime",
            "mtime",
            "media_name",
            "images",
            "img",
            "author",
            "id",
            "rich_text",
            "create_time",
            "tag",
            "ext",
            "docurl",
        )
    },
)


@hsettings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_parse_error_or_a_listing(body: bytes) -> None:
    for kind in (ROLL, KINDS["sina-zhibo"]):
        with contextlib.suppress(ParseError):
            kind.read_list(body, "https://feed.mix.sina.com.cn/api/roll/get", None, T0)


@pytest.mark.parametrize("odd_id", ["¹", "①", "٣", "--5", "1_000", "+7", ""])
def test_an_id_that_is_not_ascii_digits_is_no_id_not_a_crash(odd_id: str) -> None:
    # str.isdigit() says yes to '¹' and '①', which int() refuses: one such flash must
    # not fail the whole list (hypothesis found '¹').
    zhibo = json.dumps(
        {"result": {"status": {"code": 0}, "data": {"feed": {"list": [{"id": odd_id}]}}}}
    ).encode()
    assert KINDS["sina-zhibo"].read_list(zhibo, "u", None, T0).items == ()
    assert sinajson.as_int(f" {odd_id} ") is None
    assert sinajson.as_int(" -42 ") == -42 and sinajson.as_int("0") == 0


@hsettings(max_examples=150, deadline=None)
@given(st.lists(_item_fields, max_size=5))
def test_any_items_read_without_crashing(items: list[dict[str, Any]]) -> None:
    roll = json.dumps({"result": {"status": {"code": 0}, "data": items}}).encode()
    for item in ROLL.read_list(roll, "https://feed.mix.sina.com.cn/api/roll/get", None, T0).items:
        assert item.key.startswith("sina:") and item.page_url
    zhibo = json.dumps(
        {"result": {"status": {"code": 0}, "data": {"feed": {"list": items}}}}
    ).encode()
    for item in KINDS["sina-zhibo"].read_list(zhibo, "u", None, T0).items:
        assert item.key.startswith("sina-zhibo:") and item.entry.title
