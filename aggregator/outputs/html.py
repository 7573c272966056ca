"""The site's HTML (SPEC §12): where each page lives and how it is rendered.

Every page but search is a file written on publish, like the feeds (so a static server or a
CDN can serve them, with ETags and 304s from ours): outputs/article_pages.py and
outputs/site_pages.py write them; live.py renders search. HTML comes from the Jinja2
templates in `aggregator/templates/` with autoescaping on — only the sanitized article body
is marked safe. No scripts; links are relative, so the site works under any base path.

    index.html                    the newest `page_size` articles, every category, → older
    pages/<n>.html                every article, `page_size` per page by arrival, 1 = oldest
    categories/<slug>.html        a category's newest articles, its feeds linked
    categories/<slug>/<n>.html    its pages, numbered like pages/<n>.html
    articles/<slug>.html          one article: full text, outlet, categories, sources, copies
    site.css, favicon.svg

What a publish renders is bounded by what changed (see paging.py): the pages of changed
articles, the tail and head pages of the lists they are on, the pages marked dirty.
"""

from __future__ import annotations

import functools
import importlib.resources
import types
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from .. import paging as pages
from .. import search
from ..lru import LRU
from ..models import ListEntry, OutputSettings, StoredArticle
from ..urls import redact_text
from ..xmlchars import xml_safe
from .feeds import category_slug

if TYPE_CHECKING:  # imported by the first page rendered: a run that renders none needs none
    import jinja2

_SHANGHAI = ZoneInfo("Asia/Shanghai")
EMPTY_MARKER = b'<meta name="aggregator-state" content="empty">'
ASSETS = ("site.css", "favicon.svg")


@functools.cache
def _env() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package files: no stat of every template at every render
    )


class _Printed(Markup):
    """HTML one of our macros rendered from a context `_printable` made (`_macro`):
    printable as it is, not scanned again on every page that prints it."""

    __slots__ = ()


def _macro(name: str, *args: Any) -> _Printed:
    """Macro `name` of _macros.html on `args`, each made printable first."""
    macros = _env().get_template("_macros.html").module
    return _Printed(getattr(macros, name)(*map(_printable, args)))


def _printable(value: Any) -> Any:
    """A page's context as its templates may print it: every string without the control
    characters no page should carry (`xml_safe`), mappings as attribute objects.

    Done once per value here rather than by a Jinja `finalize` once per `{{ … }}` (a cold
    ingest prints ~470,000 values), and attribute lookups are what Jinja tries first (a
    dict's key costs it an AttributeError each). Plain data only: anything else is refused,
    so nothing reaches a page without passing through here.
    """
    kind = type(value)
    if kind is str:
        return xml_safe(value)
    if kind is dict:
        return types.SimpleNamespace(**{k: _printable(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return [_printable(v) for v in value]
    if kind is Markup:
        return Markup(xml_safe(value))
    if kind is _Printed:
        return value
    if value is None or kind is bool or kind is int:
        return value
    raise TypeError(f"not plain data for a page: {kind.__name__}")


def _render(
    template: str, settings: OutputSettings, root: str, feeds_of: str, q: str = "", **context: Any
) -> bytes:
    """`template` of `context`, at `root`, linking the feeds of list `feeds_of`."""
    view = {k: _printable(v) for k, v in context.items()}
    view["site"] = _site(settings.title)
    view["root"] = _printable(root)
    view["chrome"] = _chrome(settings.title, root, feeds_of, q)
    return _env().get_template(template).render(view).encode("utf-8")


@functools.lru_cache(maxsize=64)
def _site(title: str) -> Any:
    return _printable({"title": title, "max_query": search.MAX_QUERY})


# What base.html prints around a page's blocks is the same on every page of one list at one
# root: rendered once (by the same templates, escaping as ever) instead of on each of the
# thousands of pages a big publish writes. Search pages (another `q` each) are few.
@functools.lru_cache(maxsize=256)
def _chrome(title: str, root: str, feeds_of: str, q: str) -> Any:
    macros = _env().get_template("_chrome.html").module
    feeds = _printable(_feeds_at(feeds_of, root))
    at, site = _printable(root), _site(title)
    return types.SimpleNamespace(
        links=macros.links(at, feeds),  # type: ignore[attr-defined]
        search=macros.search(at, _printable(q), site),  # type: ignore[attr-defined]
        footer=macros.footer(feeds),  # type: ignore[attr-defined]
    )


def assets() -> list[tuple[str, bytes]]:
    folder = importlib.resources.files("aggregator") / "static"
    return [(name, (folder / name).read_bytes()) for name in ASSETS]


# --- where things are ----------------------------------------------------------------


_ARTICLES = "articles/"


def article_path(slug: str) -> str:
    return f"{_ARTICLES}{slug}.html"


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


# An article's date is printed on its page and on each list holding it (four lists in a
# cold ingest of workload A): converted once. Equal datetimes are the same instant, so
# they print the same Shanghai time whatever their zone.
@functools.lru_cache(maxsize=8192)
def _when(dt: datetime) -> tuple[str, str]:
    local = dt.astimezone(_SHANGHAI)
    return local.isoformat(), f"{local:%Y-%m-%d %H:%M}"


def _feeds_of(name: str) -> tuple[dict[str, str], ...]:
    stem = "feed" if name == pages.ALL else f"categories/{category_slug(name)}"
    kinds = (
        ("atom", "application/atom+xml", "Atom"),
        ("rss", "application/rss+xml", "RSS"),
        ("json", "application/feed+json", "JSON Feed"),
    )
    title = "全部文章" if name == pages.ALL else name
    return tuple(
        {"href": _href(f"{stem}.{ext}"), "type": t, "label": label, "title": f"{title} ({label})"}
        for ext, t, label in kinds
    )


@functools.lru_cache(maxsize=1024)
def _feeds_at(name: str, root: str) -> tuple[dict[str, str], ...]:
    """The feeds of list `name` as linked from a page at `root`: the same few, built once
    each (never changed: `_printable` copies them)."""
    return tuple({**f, "href": root + f["href"]} for f in _feeds_of(name))


def _item(a: ListEntry) -> dict[str, Any]:
    iso, when = _when(a.published)
    return {
        "href": article_path(a.slug),
        "title": a.title,
        "cover": a.cover,
        "iso": iso,
        "when": when,
        "outlet": _outlet(a),
    }


# The list items kept per process, across pages and publishes (least recently used
# dropped): a cold ingest lists each article on four or five pages, and a publish after one
# new article renders its lists' tail and head pages again, whose other items are all here.
# The key is the entry itself (every field it prints), so a revised article is rendered
# afresh.
LIST_ITEMS: LRU[ListEntry, str] = LRU(8192)


def _list_items(articles: Sequence[ListEntry], root: str) -> _Printed:
    """The `list_item` of each article as a page at `root` prints it: each rendered once
    by the same macro with its link from the site's root, then given the page's way back
    up. Every `"` an item's text holds is escaped, so `href="articles/` can only be the
    macro's own attribute, and escaping is per character while a root is only `../`s: the
    bytes are the ones a render at `root` gives."""
    kept = LIST_ITEMS.get_many(articles)
    fresh = {
        a: str(_macro("list_item", _item(a)))
        for a, h in zip(articles, kept, strict=True)
        if h is None
    }
    if fresh:
        kept = [fresh[a] if h is None else h for a, h in zip(articles, kept, strict=True)]
        LIST_ITEMS.put_many(fresh)
    joined = "".join(h or "" for h in kept)
    if root:
        joined = joined.replace(f'href="{_ARTICLES}', f'href="{root}{_ARTICLES}')
    return _Printed(joined)


def _outlet(a: StoredArticle | ListEntry) -> str:
    return a.outlet or a.author


def _categories(names: Iterable[str], root: str) -> list[dict[str, str]]:
    return [{"name": n, "href": root + _category_href(n)} for n in names]


# An article page links its categories: the same few sets of names on thousands of pages,
# each rendered once by the same macro (escaping as ever) and printed as it is.
@functools.lru_cache(maxsize=1024)
def _category_links(names: tuple[str, ...], root: str) -> _Printed:
    return _macro("category_links", _categories(names, root))


def _category_href_of(name: str) -> str:
    return _href(category_path(name))


# Every article page and index.html links its categories: a few names, slugged once each.
_category_href = functools.lru_cache(maxsize=1024)(_category_href_of)


# --- rendering -------------------------------------------------------------------------


def render_article(
    settings: OutputSettings, a: StoredArticle, copies: Sequence[tuple[str, str, str]] = ()
) -> bytes:
    path = article_path(a.slug)
    root = _root(path)
    iso, when = _when(a.published)
    updated = a.updated > a.published and a.updated.replace(microsecond=0) != a.published
    updated_iso, updated_when = _when(a.updated)
    alt_titles = [t for t in a.alt_titles if t != a.title]
    view = {
        "title": a.title,
        "alt_titles": alt_titles,
        "iso": iso,
        "when": when,
        "updated_iso": updated_iso,
        "updated_when": updated_when if updated and updated_when != when else "",
        "outlet": _outlet(a),
        "author": a.author,
        "category_links": _category_links(a.categories, root),
        "tags": list(a.tags),
        "cover": a.cover,
        "show_cover": a.cover is not None and a.cover not in a.content_html,
        "body": Markup(a.content_html),  # sanitized by clean.py (nh3 allowlist)
        "link": a.link,
        "other_links": [u for u in dict.fromkeys(a.links) if u != a.link],
        "copies": [{"source": s, "link": link, "title": t} for s, link, t in copies],
    }
    return _render(
        "article.html",
        settings,
        root,
        pages.ALL,
        a=view,
        canonical=settings.base_url + _href(path),
    )


def render_list(
    settings: OutputSettings,
    path: str,
    name: str,
    articles: Sequence[ListEntry],
    pager: Sequence[tuple[str, str, str]],
    *,
    heading: str,
    categories: Sequence[str] = (),
) -> bytes:
    """The list page at `path`; `pager`: (label, path from the site's root, rel)."""
    root = _root(path)
    return _render(
        "list.html",
        settings,
        root,
        name,
        heading=heading,
        items=_list_items(articles, root),
        categories=_categories(categories, root),
        subscribe=name != pages.ALL,
        pager_links=[(label, root + _href(p), rel) for label, p, rel in pager],
        feeds=_feeds_at(name, root),
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
        pages.ALL,
        sources=[_source_row(s) for s in sources],
        live=live,
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
    later: bool = False,
) -> bytes:
    """The search page; `later`: not the first page of these results."""
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
        if results.next_start is not None:
            next_href = "search?" + urlencode({"q": query.text, "start": results.next_start})
    return _render(
        "search.html",
        settings,
        "",
        pages.ALL,
        query.text,
        query=query.text,
        cut=query.cut,
        hits=hits,
        partial=bool(results and results.partial),
        ranked=results is None or results.ranked,
        later=later,
        next_href=next_href,
    )


def _marked(snippet: str) -> Markup:
    """The snippet escaped, then its hit markers made <mark> elements."""
    escaped = str(escape(snippet))
    return Markup(escaped.replace(search.HIT_START, "<mark>").replace(search.HIT_END, "</mark>"))
