"""The site for people (SPEC §12) on a real store: article pages, list and category pages
reaching every article, what one new article rewrites, the empty state, escaping."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

import httpx
import lxml.html
import pytest

from aggregator import config, search
from aggregator.live import LiveSite
from aggregator.metrics import Metrics
from aggregator.models import Article, Settings, SourceState
from aggregator.outputs import publish as publish_outputs
from aggregator.server import create_app
from aggregator.store import Store
from tests.asgiserver import ThreadedServer
from tests.published import art

T0 = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
# Served under a path, as a static host may serve it: a link climbing above the site is seen.
SITE_ROOT = "http://site.test/news/"
Served = tuple[httpx.Client, dict[str, Any]]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        '[storage]\npath = "a.db"\n[output]\ndir = "out"\nbase_url = "http://127.0.0.1/"\n'
        'title = "财经聚合"\n[server]\nport = 8080\n'
        '[[sources]]\nname = "新浪财经－国內"\nurl = "https://user:hunter2@example.com/feed"\n'
        '[[sources]]\nname = "宏观"\nurl = "https://example.com/macro"\n',
        encoding="utf-8",
    )
    s = config.load(cfg)
    return replace(s, output=replace(s.output, page_size=3))


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.storage_path)
    yield s
    s.close()


def item(i: int, channel: str = "新浪财经－国內", title: str | None = None) -> Article:
    return art(
        f"https://example.com/news/{i}.html",
        title=title or f"第{i}条：央行公开市场操作",
        text=f"正文第{i}号，" + "各不相同的内容" * (i % 7 + 2),
        source=channel,
        published=T0 + timedelta(minutes=i),
    )


def fill(store: Store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        store.upsert([item(i, "新浪财经－国內" if i % 3 else "宏观经济")], T0)


def publish(settings: Settings, store: Store) -> set[str]:
    changed = publish_outputs(settings, store)
    return {p.relative_to(settings.output.dir).as_posix() for p in changed}


def crawl(out: Path, start: str = "index.html", within: str = "") -> dict[str, str]:
    """Follow every on-site link from `start` (only pages under `within` when given, the
    article pages always): the pages reached, by path, with their HTML."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        path = out / rel
        assert path.is_file(), f"broken link to {rel}"
        seen[rel] = html = path.read_text("utf-8")
        if rel.startswith("articles/"):
            continue
        doc = lxml.html.fromstring(html)
        for a in doc.iter("a"):
            href = a.get("href") or ""
            url = urljoin(SITE_ROOT + rel, href)
            if not url.startswith(SITE_ROOT) or "?" in url:
                continue
            target = unquote(url.removeprefix(SITE_ROOT)).partition("#")[0] or "index.html"
            if target == "search" or not target.endswith(".html"):
                continue
            if within and not (target.startswith((within, "articles/")) or target == start):
                continue
            todo.append(target)
    return seen


def slugs(store: Store, category: str | None = None) -> set[str]:
    return {a.slug for a in store.recent(10_000, category)}


def reached_articles(pages: dict[str, str]) -> set[str]:
    return {p.removeprefix("articles/").removesuffix(".html") for p in pages if "articles/" in p}


def test_every_article_is_reachable_from_the_index(settings: Settings, store: Store) -> None:
    fill(store, 23)
    publish(settings, store)
    out = settings.output.dir
    pages = crawl(out)
    assert reached_articles(pages) == slugs(store)
    assert "pages/1.html" in pages and "pages/7.html" in pages  # 23 articles, 3 per page
    # Each category on its own: its head page pages back to its oldest article.
    for name in store.categories():
        head = f"categories/{name}.html"
        assert head in pages
        mine = crawl(out, head, within=f"categories/{name}/")
        assert reached_articles(mine) == slugs(store, name), name


def test_pages_newest_first_with_stable_numbers(settings: Settings, store: Store) -> None:
    fill(store, 7)
    publish(settings, store)
    out = settings.output.dir
    first = (out / "pages/1.html").read_text("utf-8")
    assert first.index("第2条") < first.index("第1条") < first.index("第0条")
    fill(store, 30, start=7)
    publish(settings, store)
    assert (out / "pages/1.html").read_text("utf-8").count('href="../articles/') == 3
    assert "第0条" in (out / "pages/1.html").read_text("utf-8")
    index = (out / "index.html").read_text("utf-8")
    assert index.index("第36条") < index.index("第35条") < index.index("第34条")
    assert "第33条" not in index


def test_one_new_article_rewrites_only_its_pages(settings: Settings, store: Store) -> None:
    fill(store, 40)
    publish(settings, store)
    store.upsert([item(100, "宏观经济")], T0)
    html = {p for p in publish(settings, store) if p.endswith(".html")}
    new = store.recent(1)[0]
    assert f"articles/{new.slug}.html" in html
    assert "index.html" in html
    assert "categories/宏观经济.html" in html
    assert "categories/新浪财经－国內.html" not in html  # not on that list
    lists = 1 + len(new.categories)  # all articles, and each of its categories
    numbered = [p for p in html if p.rsplit("/", 1)[-1][0].isdigit() and "articles/" not in p]
    assert len(numbered) <= 2 * lists, numbered  # each list's tail (and the page it closed)
    assert len(html) == 1 + lists + len(numbered), html  # + the article, + each head page
    assert not publish(settings, store)  # nothing new: nothing written


def test_revision_and_delete_reach_the_pages(settings: Settings, store: Store) -> None:
    fill(store, 20)
    publish(settings, store)
    out = settings.output.dir
    oldest = item(1, "新浪财经－国內")
    revised = replace(oldest, title="更正：央行公开市场操作", content_html="<p>新的正文</p>")
    assert store.upsert([revised], T0 + timedelta(hours=1)).updated == 1
    changed = publish(settings, store)
    (a,) = [x for x in store.recent(100) if x.title.startswith("更正")]
    assert f"articles/{a.slug}.html" in changed
    assert "pages/1.html" in changed and "更正：央行" in (out / "pages/1.html").read_text("utf-8")
    page = (out / f"articles/{a.slug}.html").read_text("utf-8")
    assert "新的正文" in page and "更新于" in page

    store.delete(a.id, T0 + timedelta(hours=2))
    changed = publish(settings, store)
    assert f"articles/{a.slug}.html" in changed and not (out / f"articles/{a.slug}.html").exists()
    assert "更正" not in (out / "pages/1.html").read_text("utf-8")
    assert reached_articles(crawl(out)) == slugs(store)


def test_article_page(settings: Settings, store: Store) -> None:
    sina = "https://finance.sina.com.cn/china/gncj/2022-08-09/doc-imizmscv5449371.shtml"
    wap = "http://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html"
    cover = "https://n.sinaimg.cn/cover.jpg"
    extra = {"cover": cover, "outlet": "中国证券报", "tags": ("茅台 600519",)}
    store.upsert([replace(art(sina, published=T0), **extra)], T0)
    same = replace(art(wap, source="新浪财经－宏观经济", published=T0), **extra)
    assert store.upsert([same], T0).merged == 1  # the same document in another channel
    copy = art("https://www.stcn.com/a/1.html", source="证券时报网－快讯", published=T0)
    assert store.upsert([copy], T0).merged == 1  # another outlet's copy of the story
    publish(settings, store)
    (a,) = store.recent(1)
    page = (settings.output.dir / f"articles/{a.slug}.html").read_text("utf-8")
    doc = lxml.html.fromstring(page)
    assert doc.get("lang") == "zh-CN" and "<script" not in page
    assert doc.findtext(".//h1") == a.title
    assert "2024-03-05 10:00" in page  # China time
    assert "长江干线港口完成货物吞吐量20.2亿吨" in page  # the cleaned full text
    hrefs = [x.get("href") for x in doc.iter("a")]
    assert sina in hrefs and "https://www.stcn.com/a/1.html" in hrefs
    assert any("sina.cn" in (h or "") for h in hrefs)  # the other channel's URL of it
    assert "证券时报网－快讯" in page  # where the copy came from
    assert "中国证券报" in page and "茅台 600519" in page  # its outlet, its tags
    assert 'src="https://n.sinaimg.cn/cover.jpg"' in page
    for name in a.categories:  # categories are linked to their pages, which exist
        href = f"../categories/{name}.html"
        assert unquote(next(h for h in hrefs if unquote(h or "") == href)) == href
        assert (settings.output.dir / f"categories/{name}.html").is_file()
    assert doc.find(".//link[@rel='icon']") is not None
    assert (settings.output.dir / "site.css").is_file()
    assert (settings.output.dir / "favicon.svg").is_file()


def test_category_page_links_its_feeds(settings: Settings, store: Store) -> None:
    fill(store, 4)
    publish(settings, store)
    page = (settings.output.dir / "categories/宏观经济.html").read_text("utf-8")
    doc = lxml.html.fromstring(page)
    here = SITE_ROOT + "categories/宏观经济.html"
    alternates = {
        x.get("type"): unquote(urljoin(here, x.get("href") or "")).removeprefix(SITE_ROOT)
        for x in doc.iter("link")
    }
    for kind, ext in (("atom+xml", "atom"), ("rss+xml", "rss"), ("feed+json", "json")):
        assert alternates[f"application/{kind}"] == f"categories/宏观经济.{ext}"
        assert (settings.output.dir / f"categories/宏观经济.{ext}").is_file()


def test_titles_are_escaped(settings: Settings, store: Store) -> None:
    store.upsert([item(1, title="<script>alert(1)</script> & <b>粗</b>")], T0)
    publish(settings, store)
    for path in settings.output.dir.rglob("*.html"):
        text = path.read_text("utf-8")
        assert "<script" not in text, path
        assert "<b>粗" not in text, path
    index = (settings.output.dir / "index.html").read_text("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;粗&lt;/b&gt;" in index


def test_empty_site_says_why(settings: Settings, store: Store) -> None:
    store.source_state("新浪财经－国內", "https://user:hunter2@example.com/feed")
    failed = SourceState(
        name="新浪财经－国內",
        url="https://user:hunter2@example.com/feed",
        configured_url="https://user:hunter2@example.com/feed",
        last_error="HTTP 503 from https://user:hunter2@example.com/feed",
        last_error_kind="http_5xx",
        error_count=2,
        next_poll=datetime(2024, 3, 5, 2, 30, tzinfo=UTC),
    )
    store.save_state(failed)
    publish(settings, store)
    index = (settings.output.dir / "index.html").read_text("utf-8")
    assert "还没有文章" in index
    assert "新浪财经－国內" in index and "宏观" in index
    assert "http_5xx" in index and "HTTP 503 from https://example.com/feed" in index
    assert "2024-03-05 10:30" in index  # next poll, China time
    assert "尚未抓取" in index  # the source never polled
    assert "hunter2" not in index
    fill(store, 1)
    publish(settings, store)
    assert "还没有文章" not in (settings.output.dir / "index.html").read_text("utf-8")


def test_wiped_pages_are_rebuilt(settings: Settings, store: Store) -> None:
    fill(store, 8)
    publish(settings, store)
    out = settings.output.dir
    before = {p: p.read_bytes() for p in out.rglob("*.html")}
    for p in before:
        p.unlink()
    (out / "articles").rmdir()
    publish(settings, store)
    for p, data in before.items():
        assert p.read_bytes() == data, p


# --- served: /search and the live empty page, over a real uvicorn ---------------------


@pytest.fixture
def served(settings: Settings, store: Store) -> Iterator[Served]:
    health: dict[str, Any] = {"sources": [{"name": "新浪财经－国內"}]}
    live = LiveSite(settings.output, settings.storage_path, lambda: health["sources"])
    app = create_app(
        settings.output.dir, health=lambda: (True, health), metrics=Metrics(), site=live
    )
    try:
        with (
            ThreadedServer(app) as srv,
            httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", trust_env=False) as client,
        ):
            yield client, health
    finally:
        live.close()


def test_search_page(settings: Settings, store: Store, served: Served) -> None:
    client, _ = served
    fill(store, 25)
    publish(settings, store)
    r = client.get("/search", params={"q": "各不相同的内容"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    doc = lxml.html.fromstring(r.text)
    links = [a.get("href") or "" for a in doc.iter("a") if "articles/" in (a.get("href") or "")]
    assert len(links) == 20
    for href in links:  # every hit links to its page on the site, which exists
        assert (settings.output.dir / unquote(href)).is_file()
    assert "<mark>各不相同的内容</mark>" in r.text
    assert "标题里都有的在前，其次按发布时间，最新的在前" in r.text  # the order, said
    more = next(a.get("href") for a in doc.iter("a") if a.text == "更多结果")
    older = client.get("/" + (more or ""))
    assert older.status_code == 200 and older.text.count('href="articles/') == 5
    assert client.get("/search", params={"q": "第0条"}).text.count('href="articles/') == 1


@pytest.mark.parametrize("q", ['"', "*", "港口 AND", "NEAR(a b)", "title:x", "(", "%", "\\"])
def test_search_syntax_never_fails(
    settings: Settings, store: Store, served: Served, q: str
) -> None:
    client, _ = served
    fill(store, 2)
    publish(settings, store)
    assert client.get("/search", params={"q": q}).status_code == 200


def test_search_echo_is_escaped_and_bounded(
    settings: Settings, store: Store, served: Served
) -> None:
    client, _ = served
    publish(settings, store)
    r = client.get("/search", params={"q": '<script>alert("x")</script>'})
    assert r.status_code == 200
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text
    r = client.get("/search", params={"q": "港" * 2000})
    assert r.status_code == 200 and "港" * 101 not in r.text and "只搜索了前" in r.text
    r = client.get("/search")
    assert r.status_code == 200 and 'name="q"' in r.text and "没有找到" not in r.text
    assert client.get("/search?q=%FF%FE&start=x").status_code == 200  # bad UTF-8, bad number
    assert client.head("/search?q=港口").status_code == 200


def test_a_page_cut_short_says_so_and_continues(
    settings: Settings, store: Store, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However common the term, a page stops at the search budget: it lists what it
    found, says the time ran out, and its link carries on; following the links finds
    every article once."""
    client, _ = served
    fill(store, 25)
    publish(settings, store)
    q = "各不相同的内容"
    whole = client.get("/search", params={"q": q}).text
    assert "搜索时间已到" not in whole and "更多结果" in whole
    ticks = itertools.count()  # a clock that moves a second at each look: cut after 8
    monkeypatch.setattr(search, "_now", lambda: float(next(ticks)))
    monkeypatch.setattr(search, "BUDGET", 8.0)
    seen: list[str] = []
    r = client.get("/search", params={"q": q})
    assert r.status_code == 200 and "这一页的搜索时间已到" in r.text
    for _ in range(50):
        doc = lxml.html.fromstring(r.text)
        seen += [a.get("href") or "" for a in doc.iter("a") if "articles/" in (a.get("href") or "")]
        more = [a.get("href") for a in doc.iter("a") if a.text in ("继续搜索", "更多结果")]
        if not more:
            break
        r = client.get("/" + (more[0] or ""))
        assert r.status_code == 200
    assert len(seen) == len(set(seen)) == 25
    assert 'aggregator_searches_total{result="cut"}' in client.get("/metrics").text


def test_searches_beyond_the_limit_are_refused_while_files_are_served(
    settings: Settings, store: Store
) -> None:
    """A crowd of searches waits for the search threads or is refused at once (503,
    Retry-After): the feeds and pages are served all the while."""
    fill(store, 3)
    publish(settings, store)
    live = LiveSite(settings.output, settings.storage_path, lambda: [], at_once=1, waiting=1)
    app = create_app(settings.output.dir, health=lambda: (True, {}), metrics=Metrics(), site=live)
    try:
        with (
            ThreadedServer(app) as srv,
            httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", trust_env=False) as client,
        ):
            assert client.get("/search", params={"q": "央行"}).status_code == 200
            take = live.searches.acquire
            assert take(blocking=False) and take(blocking=False)  # one running, one waiting
            busy = client.get("/search", params={"q": "央行"})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert client.get("/feed.atom").status_code == 200
            assert client.get("/").status_code == 200
            live.searches.release()
            assert client.get("/search", params={"q": "央行"}).status_code == 200
            live.searches.release()
            counted = client.get("/metrics").text
            assert 'aggregator_searches_total{result="refused"} 1.0' in counted
            assert 'aggregator_searches_total{result="answered"} 2.0' in counted
    finally:
        live.close()


def test_root_shows_the_sources_live_while_empty(
    settings: Settings, store: Store, served: Served
) -> None:
    client, health = served
    publish(settings, store)
    health["sources"] = [
        {
            "name": "新浪财经－国內",
            "last_error": "connection refused",
            "last_error_kind": "connect",
        },
        {"name": "宏观", "next_poll": "2024-03-05T02:30:00Z"},
    ]
    r = client.get("/")
    assert r.status_code == 200 and "还没有文章" in r.text and "（实时）" in r.text
    assert "connection refused" in r.text and "2024-03-05 10:30" in r.text
    fill(store, 1)
    publish(settings, store)
    r = client.get("/")
    assert "还没有文章" not in r.text and 'href="articles/' in r.text
    again = client.get("/", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304  # a static file again


def test_what_a_page_prints_loses_its_control_characters_and_only_plain_data_gets_in() -> None:
    """Every template reads its context through `_printable`: strings and marked-up HTML
    at any depth lose the characters no page may carry; any other object is refused
    rather than printed unchecked."""
    from markupsafe import Markup

    from aggregator.outputs.html import _printable

    view = _printable(
        {"a": {"t": "标\x08题", "xs": ("x\x1f", Markup("<b>\x0b粗</b>"))}, "n": 3, "c": None}
    )
    assert view.a.t == "标题" and view.a.xs == ["x", "<b>粗</b>"]
    assert type(view.a.xs[1]) is Markup and (view.n, view.c) == (3, None)
    for bad in (object(), 1.5, b"bytes", {1, 2}):
        with pytest.raises(TypeError):
            _printable({"a": [bad]})


def test_each_list_item_is_read_and_rendered_once_per_publish(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An article is on several lists (every article, each of its categories, their head
    pages): a publish reads what they show of it once and renders its item once, even with
    fewer entries kept than articles (the lists' pages are rendered side by side by
    arrival, so the entries a page needs are the ones the pages before it read)."""
    from aggregator import store as store_module
    from aggregator.outputs import html, site_pages

    fill(store, 23)
    monkeypatch.setattr(site_pages, "LISTED_KEPT", 14)
    read: list[int] = []
    real = store_module.Store.list_entries_by_seq

    def counted(self: Store, seqs: list[int]) -> dict[int, Any]:
        read.extend(seqs)
        return real(self, seqs)

    monkeypatch.setattr(store_module.Store, "list_entries_by_seq", counted)
    rendered: list[str] = []
    real_item = html._item
    monkeypatch.setattr(html, "_item", lambda a: rendered.append(a.id) or real_item(a))
    publish(settings, store)
    assert sorted(read) == sorted(set(read)) and len(read) == 23
    assert sorted(rendered) == sorted(set(rendered)) and len(rendered) == 23
    assert reached_articles(crawl(settings.output.dir)) == slugs(store)


def test_a_list_item_is_the_same_on_every_page_that_lists_it(
    settings: Settings, store: Store
) -> None:
    """Items are rendered once and given each page's way back to the root: the link of the
    item changes with the page's depth, text that looks like that link does not."""

    title = '看 href="articles/x.html" 与 href="../articles/y.html"'
    store.upsert([item(1, "宏观经济", title=title)], T0)
    publish(settings, store)
    (a,) = store.recent(1)
    escaped = "看 href=&#34;articles/x.html&#34; 与 href=&#34;../articles/y.html&#34;"
    for page, root in (
        ("index.html", ""),
        ("pages/1.html", "../"),
        ("categories/宏观经济/1.html", "../../"),
    ):
        text = (settings.output.dir / page).read_text("utf-8")
        assert text.count(f'href="{root}articles/{a.slug}.html"') == 1, page
        assert text.count('href="') == text.count(f'href="{root}') + text.count('href="http'), page
        assert escaped in text, page


def test_each_article_page_links_its_own_categories(settings: Settings, store: Store) -> None:
    """The category links are rendered once per set of names and reused: every page still
    shows exactly its article's."""
    from aggregator.outputs.html import category_path

    fill(store, 6)
    store.upsert([replace(item(50), categories=["宏观", "<b>央行</b>", "新浪财经－国內"])], T0)
    publish(settings, store)
    for a in store.recent(100):
        page = (settings.output.dir / f"articles/{a.slug}.html").read_text("utf-8")
        (cats,) = lxml.html.fromstring(page).find_class("cats")
        assert [x.text for x in cats.iter("a")] == list(a.categories), a.title
        assert [unquote(x.get("href", "")) for x in cats.iter("a")] == [
            f"../{category_path(c)}" for c in a.categories
        ]


def test_what_our_macros_rendered_is_printed_as_it_is() -> None:
    """A macro's output was rendered from a printable context: pages print it without
    scanning it again (a list page's items, an article's category links), while any
    other marked-up HTML still loses its control characters."""
    from markupsafe import Markup

    from aggregator.outputs.html import _macro, _printable

    links = _macro("category_links", [{"name": "宏\x08观", "href": "categories/x.html"}])
    assert "宏观" in links and "\x08" not in links
    assert _printable(links) is links
    assert _printable(Markup(str(links) + "\x0b")) == links


def test_the_list_items_kept_are_the_most_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator.models import ListEntry
    from aggregator.outputs import html

    monkeypatch.setattr(html.LIST_ITEMS, "size", 2)
    a, b, c = (ListEntry(f"id{i}", f"s{i}", f"第{i}条", T0, "新浪", None, None) for i in range(3))
    first = html._list_items([a, b], "")
    assert html._list_items([a], "../") in str(first).replace('"articles/', '"../articles/')
    html._list_items([c], "")
    assert html.LIST_ITEMS.keys_by_use() == [a, c]  # b was used least recently
    revised = ListEntry("id0", "s0", "更正", T0, "新浪", None, None)
    assert "更正" in html._list_items([revised], "") and len(html.LIST_ITEMS) == 2
