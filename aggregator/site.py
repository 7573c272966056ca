"""The site for people (SPEC §12): article pages, list pages, category pages, search.

Every page but search is a file written on publish, like the feeds (so a static server or a
CDN can serve them, with ETags and 304s from ours); HTML comes from the Jinja2 templates in
`aggregator/templates/` with autoescaping on — only the sanitized article body is marked
safe. No scripts; links are relative, so the site works under any base path.

    index.html                    the newest `page_size` articles, every category, → older
    pages/<n>.html                every article, `page_size` per page by arrival, 1 = oldest
    categories/<slug>.html        a category's newest articles, its feeds linked
    categories/<slug>/<n>.html    its pages, numbered like pages/<n>.html
    articles/<slug>.html          one article: full text, outlet, categories, sources, copies
    site.css, favicon.svg

What a publish renders is bounded by what changed (see pages.py): the pages of changed
articles, the tail and head pages of the lists they are on, the pages marked dirty.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from . import pages, search
from .models import OutputSettings, StoredArticle
from .publish import category_slug
from .store import Store
from .urls import redact_text

_SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY_MARKER = b'<meta name="aggregator-state" content="empty">'
ASSETS = ("site.css", "favicon.svg")

Put = Callable[[str, bytes], None]


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(template: str, settings: OutputSettings, root: str, **context: Any) -> bytes:
    site = {"title": settings.title, "max_query": search.MAX_QUERY}
    context.setdefault("feeds", [])
    context.setdefault("q", "")
    html = _env().get_template(template).render(site=site, root=root, **context)
    return html.encode("utf-8")


def assets() -> list[tuple[str, bytes]]:
    folder = importlib.resources.files("aggregator") / "static"
    return [(name, (folder / name).read_bytes()) for name in ASSETS]


# --- where things are ----------------------------------------------------------------


def article_path(slug: str) -> str:
    return f"articles/{slug}.html"


def category_path(name: str) -> str:
    return f"categories/{category_slug(name)}.html"


def page_path(name: str, n: int) -> str:
    if name == pages.ALL:
        return f"pages/{n}.html"
    return f"categories/{category_slug(name)}/{n}.html"


def head_path(name: str) -> str:
    return "index.html" if name == pages.ALL else category_path(name)


def _href(path: str) -> str:
    return quote(path)


def _root(path: str) -> str:
    """The relative way back to the site's root from the page at `path`."""
    return "../" * path.count("/")


def _when(dt: datetime) -> tuple[str, str]:
    local = dt.astimezone(_SHANGHAI)
    return local.isoformat(), f"{local:%Y-%m-%d %H:%M}"


def _feeds(name: str) -> list[dict[str, str]]:
    stem = "feed" if name == pages.ALL else f"categories/{category_slug(name)}"
    kinds = (
        ("atom", "application/atom+xml", "Atom"),
        ("rss", "application/rss+xml", "RSS"),
        ("json", "application/feed+json", "JSON Feed"),
    )
    title = "全部文章" if name == pages.ALL else name
    return [
        {"href": _href(f"{stem}.{ext}"), "type": t, "label": label, "title": f"{title} ({label})"}
        for ext, t, label in kinds
    ]


def _rooted(feeds: list[dict[str, str]], root: str) -> list[dict[str, str]]:
    return [{**f, "href": root + f["href"]} for f in feeds]


def _item(a: StoredArticle) -> dict[str, Any]:
    iso, when = _when(a.published)
    return {
        "href": article_path(a.slug),
        "title": a.title,
        "cover": a.cover,
        "iso": iso,
        "when": when,
        "outlet": _outlet(a),
    }


def _outlet(a: StoredArticle) -> str:
    return str(getattr(a, "media_name", None) or a.author)


def _categories(names: Iterable[str]) -> list[dict[str, str]]:
    return [{"name": n, "href": _href(category_path(n))} for n in names]


# --- rendering -------------------------------------------------------------------------


def render_article(
    settings: OutputSettings, a: StoredArticle, copies: Sequence[tuple[str, str, str]] = ()
) -> bytes:
    path = article_path(a.slug)
    iso, when = _when(a.published)
    updated = a.updated > a.published and a.updated.replace(microsecond=0) != a.published
    updated_iso, updated_when = _when(a.updated)
    alt_titles = [t for t in getattr(a, "alt_titles", ()) if t != a.title]
    view = {
        "title": a.title,
        "alt_titles": alt_titles,
        "iso": iso,
        "when": when,
        "updated_iso": updated_iso,
        "updated_when": updated_when if updated and updated_when != when else "",
        "outlet": _outlet(a),
        "author": a.author,
        "categories": _categories(a.categories),
        "cover": a.cover,
        "show_cover": a.cover is not None and a.cover not in a.content_html,
        "body": Markup(a.content_html),  # sanitized by clean.py (nh3 allowlist)
        "link": a.link,
        "other_links": [u for u in dict.fromkeys(a.links) if u != a.link],
        "copies": [{"source": s, "link": link, "title": t} for s, link, t in copies],
    }
    root = _root(path)
    return _render(
        "article.html",
        settings,
        root,
        a=view,
        canonical=settings.base_url + _href(path),
        feeds=_rooted(_feeds(pages.ALL), root),
    )


def render_list(
    settings: OutputSettings,
    path: str,
    name: str,
    articles: Sequence[StoredArticle],
    pager: Sequence[tuple[str, str, str]],
    *,
    heading: str,
    categories: Sequence[str] = (),
) -> bytes:
    root = _root(path)
    return _render(
        "list.html",
        settings,
        root,
        heading=heading,
        items=[_item(a) for a in articles],
        categories=_categories(categories),
        subscribe=name != pages.ALL,
        pager_links=[(label, _href(p), rel) for label, p, rel in pager],
        feeds=_rooted(_feeds(name), root),
    )


def render_empty(
    settings: OutputSettings, sources: Sequence[Mapping[str, Any]], *, live: bool
) -> bytes:
    """`/` before any article: why it is empty, from each source's state (the data of
    /healthz: name, last_success, last_error, last_error_kind, next_poll, gone)."""
    return _render(
        "empty.html",
        settings,
        "",
        sources=[_source_row(s) for s in sources],
        live=live,
        feeds=_feeds(pages.ALL),
    )


def _source_row(s: Mapping[str, Any]) -> dict[str, str]:
    def local(value: Any) -> str | None:
        if not value:
            return None
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return _when(dt)[1]

    if s.get("gone"):
        status = "已停止：来源返回 410 Gone（用 aggregator enable 恢复）"
    elif s.get("last_error"):
        error = redact_text(str(s["last_error"]))  # never a password from a source URL
        status = f"出错（{s.get('last_error_kind') or 'error'}）：{error}"
    elif s.get("last_success"):
        status = f"正常，{local(s['last_success'])} 抓取成功，暂无文章"
    else:
        status = "尚未抓取"
    return {"name": str(s["name"]), "status": status, "next": local(s.get("next_poll")) or "—"}


def render_search(
    settings: OutputSettings,
    results: search.Results | None,
    query: search.Query,
    before: int | None,
) -> bytes:
    hits = []
    next_href = ""
    if results is not None:
        for h in results.hits:
            iso, when = _when(datetime.fromisoformat(h.published))
            hits.append(
                {
                    "href": _href(article_path(h.slug)),
                    "title": h.title,
                    "iso": iso,
                    "when": when,
                    "outlet": h.author,
                    "snippet": _marked(h.snippet),
                }
            )
        if results.next_before is not None:
            next_href = "search?" + urlencode({"q": query.text, "before": results.next_before})
    return _render(
        "search.html",
        settings,
        "",
        q=query.text,
        query=query.text,
        cut=query.cut,
        hits=hits,
        partial=bool(results and results.partial),
        before=before,
        next_href=next_href,
        feeds=_feeds(pages.ALL),
    )


def _marked(snippet: str) -> Markup:
    """The snippet escaped, then its hit markers made <mark> elements."""
    escaped = str(escape(snippet))
    return Markup(escaped.replace(search.HIT_START, "<mark>").replace(search.HIT_END, "</mark>"))


# --- writing on publish -----------------------------------------------------------------


def write_articles(
    store: Store, settings: OutputSettings, articles: Sequence[StoredArticle], put: Put
) -> None:
    """The pages of changed articles (the publish's batch of dirty posts)."""
    copies = store.copies([a.id for a in articles])
    for a in articles:
        put(article_path(a.slug), render_article(settings, a, copies.get(a.id, ())))


def remove_article(out_dir: Path, slug: str) -> Path | None:
    path = out_dir / article_path(slug)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def write_lists(
    store: Store,
    settings: OutputSettings,
    put: Put,
    touched: Collection[str] | None,
    source_states: Callable[[], Sequence[Mapping[str, Any]]],
) -> None:
    """Head and list pages of every list holding a changed article (`touched` categories
    and the list of all; None: every list), and every page marked dirty."""
    size = settings.page_size
    categories = store.categories()
    names = [pages.ALL, *(categories if touched is None else sorted(touched))]
    with store.transaction() as db:
        pages.forget_missing(db, names)
        tails = {name: pages.close_tail(db, name, size) for name in names}
        todo = sorted({*pages.dirty(db), *((n, t.n) for n, t in tails.items())})
    for rel, data in assets():
        put(rel, data)
    (settings.dir / "articles").mkdir(parents=True, exist_ok=True)  # even with none yet
    for name, n in todo:
        pg = pages.page(store.db, name, n)
        if pg is not None:
            put(page_path(name, n), _render_page(store, settings, pg))
    for name in names:
        head = _render_head(store, settings, tails[name], categories, source_states)
        put(head_path(name), head)
    with store.transaction() as db:
        pages.clear(db, todo)


def _list_title(name: str) -> str:
    return "全部文章" if name == pages.ALL else name


def _render_page(store: Store, settings: OutputSettings, pg: pages.Page) -> bytes:
    path = page_path(pg.list, pg.n)
    articles = _newest_first(store.load(pages.members(store.db, pg.list, pg.first_seq, pg.end_seq)))
    pager = [("最新", head_path(pg.list), "")]
    if not pg.is_tail:
        pager.append(("较新的一页", page_path(pg.list, pg.n + 1), "next"))
    if pg.n > 1:
        pager.append(("较早的一页", page_path(pg.list, pg.n - 1), "prev"))
        pager.append(("最早", page_path(pg.list, 1), ""))
    root = _root(path)
    pager = [(label, root + p, rel) for label, p, rel in pager]
    heading = f"{_list_title(pg.list)} · 第 {pg.n} 页"
    return render_list(settings, path, pg.list, articles, pager, heading=heading)


def _newest_first(articles: list[StoredArticle]) -> list[StoredArticle]:
    """Pages are cut by arrival; within one, newest first by date."""
    return sorted(articles, key=lambda a: (a.published, a.id), reverse=True)


def _render_head(
    store: Store,
    settings: OutputSettings,
    tail: pages.Page,
    categories: Sequence[str],
    source_states: Callable[[], Sequence[Mapping[str, Any]]],
) -> bytes:
    """A list's first page: the newest `page_size` by date of its last two pages (the
    newest arrivals: no scan of the list), then a link into its numbered pages."""
    name = tail.list
    path = head_path(name)
    before = pages.page(store.db, name, tail.n - 1) if tail.n > 1 else None
    seqs = pages.members(store.db, name, before.first_seq if before else tail.first_seq, None)
    if name == pages.ALL and not seqs:
        return render_empty(settings, source_states(), live=False)
    articles = _newest_first(store.load(seqs))
    root = _root(path)
    pager = []
    if len(articles) > settings.page_size or tail.n > 1:
        pager.append(("更早的文章", root + page_path(name, tail.n), "next"))
        if tail.n > 1:
            pager.append(("最早", root + page_path(name, 1), ""))
    articles = articles[: settings.page_size]
    if name == pages.ALL:
        return render_list(settings, path, name, articles, pager, heading="", categories=categories)
    return render_list(settings, path, name, articles, pager, heading=name)


def stored_sources(store: Store, names: Sequence[str]) -> list[dict[str, Any]]:
    """The configured sources' recorded states, in config order (for the empty page)."""
    rows = {
        r[0]: r
        for r in store.db.execute(
            "SELECT name, last_success, last_error, last_error_kind, next_poll, gone FROM sources"
        )
    }
    out = []
    for name in names:
        r = rows.get(name)
        keys = ("name", "last_success", "last_error", "last_error_kind", "next_poll", "gone")
        out.append(dict(zip(keys, r, strict=True)) if r else {"name": name})
    return out


# --- served live: search, and `/` while nothing is stored ---------------------------------


class LiveSite:
    """The pages the server renders per request. Blocking: call them in a thread."""

    def __init__(
        self,
        settings: OutputSettings,
        db_path: Path,
        sources: Callable[[], Sequence[Mapping[str, Any]]],
    ) -> None:
        self.settings = settings
        self.searcher = search.Searcher(db_path)
        self._sources = sources

    def search_page(self, query_string: bytes) -> bytes:
        params = parse_qs(
            query_string.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
        )
        raw = _param(params, "q")
        before_raw = _param(params, "before")
        before = int(before_raw) if before_raw.isdigit() and len(before_raw) < 19 else None
        query = search.parse_query(raw)
        results = self.searcher.search(raw, before) if query.terms else None
        return render_search(self.settings, results, query, before)

    def empty_page(self) -> bytes:
        return render_empty(self.settings, self._sources(), live=True)

    def close(self) -> None:
        self.searcher.close()


def _param(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name)
    return values[0] if values else ""
