"""Publish stored articles as Atom/RSS/JSON feeds, category feeds, archives and a page.

Every output is rendered deterministically from the articles alone (no clock reads), so
publishing unchanged articles rewrites nothing: `atomic.write_atomic` skips equal bytes.

Layout under `OutputSettings.dir`:

    feed.atom feed.rss feed.json          newest `feed_size` articles, newest first
    categories/<slug>.atom|.rss|.json     the same per category; categories/index.json lists them
    archive/<n>.atom                      RFC 5005 archive pages, n = 1, 2, …, by insertion order

Archives: page n holds articles [(n-1)·size, n·size) in insertion order. Pages 1..k are full:
they carry `<fh:archive/>`, are written once and never change (their links depend only on n).
Page k+1 is the partial tail (0..size-1 articles, no `fh:archive`); it is rewritten as it
fills. Subscription documents point at the tail with `prev-archive`, so following
`prev-archive` from any subscription document reaches every article exactly once.
Changing `archive_size` needs a fresh `archive/` folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator.atomic import write_atomic
from aggregator.models import OutputSettings, StoredArticle
from aggregator.store import Store

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
# The `updated` of a feed with no entries: fixed, so an empty feed is byte-stable too.
_EMPTY_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# How a full archive page starts (the marker is the feed's first child): lets the server and
# the next publish recognise full pages from their first bytes.
FULL_ARCHIVE_MARKER = f'<fh:archive xmlns:fh="{FH_NS}"/>'.encode()
MARKER_WITHIN = 512  # bytes from the start of the file
_SLUG_MAX = 60  # characters; 60 CJK characters are 180 bytes, under every name limit
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)
_IMAGE_TYPES = {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}


_Put = Callable[[str, bytes], None]  # write one output file, by path relative to the dir


class ArticleView(Protocol):
    """Read-only view of the store that publishing needs."""

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Newest first by published, ties by id."""
        ...

    def categories(self) -> list[str]:
        """Every category in use, sorted."""
        ...

    def count(self, category: str | None = None) -> int: ...

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Oldest first in insertion order (stable positions for archives)."""
        ...


@dataclass(frozen=True, slots=True)
class _FeedDoc:
    """What a feed document says about itself, apart from its entries."""

    title: str
    self_path: str  # file path relative to the output dir, e.g. 'feed.atom'
    feed_id: str  # path whose URL is the feed's atom:id (archive pages share the feed's)
    links: tuple[tuple[str, str], ...] = ()  # extra (rel, relative path) feed links
    archive: bool = False  # full RFC 5005 archive page


def _url(settings: OutputSettings, rel_path: str) -> str:
    """Absolute URL of an output file (category slugs may be non-ASCII)."""
    return settings.base_url + quote(rel_path)


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (one of them would break a feed)."""
    return _XML_ILLEGAL.sub("", text)


def category_slug(name: str) -> str:
    """A stable, readable file stem for a category name, safe in paths and on every FS.

    Letters and digits of any script (so Chinese names stay as they are), '-', '_' and
    non-ASCII punctuation are kept; anything else becomes '-'. When that changed the name
    (or lowercased it, or it is reserved/too long) an 8-hex digest of the name is appended,
    so distinct names never share a slug, whatever other categories exist.
    """
    norm = unicodedata.normalize("NFC", name)
    kept = "".join(c if _slug_char(c) else "-" for c in norm.lower())
    kept = re.sub(r"-{2,}", "-", kept).strip("-_")[:_SLUG_MAX]
    if kept and kept == name and kept not in _WINDOWS_RESERVED:
        return kept
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{kept}-{digest}" if kept else digest


def _slug_char(c: str) -> bool:
    if c.isalnum() or c in "-_":
        return c.isprintable()
    return ord(c) > 0x7F and unicodedata.category(c).startswith("P")


@dataclass(frozen=True, slots=True)
class ArchiveJob:
    """Archive page `n` (full: immutable, carries the RFC 5005 marker)."""

    n: int
    full: bool


@dataclass(frozen=True, slots=True)
class FeedSetJob:
    """The .atom, .rss and .json subscription documents of the whole feed or a category."""

    stem: str  # output path without extension: 'feed' or 'categories/<slug>'
    title: str
    category: str | None  # None: every article
    archive_tail: str | None  # relative path of the archive tail, linked as prev-archive


Job = ArchiveJob | FeedSetJob
Rendered = list[tuple[str, bytes]]  # (path relative to the output dir, bytes)


def publish(
    view: ArticleView, settings: OutputSettings, categories: Collection[str] | None = None
) -> list[Path]:
    """Write every output into `settings.dir`; return the paths whose bytes changed.

    `categories`, when given, limits the per-category feeds rendered to those (the ones
    whose articles changed since the last publish); None renders them all.
    """
    changed: list[Path] = []
    put = writer(settings, changed)
    for job in plan(view, settings, categories):
        for rel, data in render(view, settings, job):
            put(rel, data)
    for rel, data in render_pages(view, settings):
        put(rel, data)
    return changed


def writer(settings: OutputSettings, changed: list[Path]) -> _Put:
    """`put(rel, data)`: write one output unless unchanged; changed paths go to `changed`."""

    def put(rel: str, data: bytes) -> None:
        path = settings.dir / rel
        if write_atomic(path, data, durable=False):  # the caller fsyncs them all at the end
            changed.append(path)

    return put


def plan(
    view: ArticleView, settings: OutputSettings, categories: Collection[str] | None = None
) -> list[Job]:
    """The documents to render, in writing order: missing full archive pages, the archive
    tail, the whole feed, then the categories (those in `categories` if given).

    Each job renders on its own from the store (`render`), so jobs can run in worker
    processes; `render_pages` does the two small pages that list the categories.
    """
    size = settings.archive_size
    full = view.count() // size
    folder = settings.dir / "archive"
    jobs: list[Job] = [ArchiveJob(n, full=True) for n in _stale_full_pages(folder, full)]
    tail = f"archive/{full + 1}.atom"
    jobs.append(ArchiveJob(full + 1, full=False))
    jobs.append(FeedSetJob("feed", settings.title, None, tail))
    for name in view.categories():
        if categories is None or name in categories:
            title = f"{settings.title} · {name}"
            jobs.append(FeedSetJob(f"categories/{category_slug(name)}", title, name, None))
    return jobs


def render(view: ArticleView, settings: OutputSettings, job: Job) -> Rendered:
    """The bytes of one job's documents."""
    if isinstance(job, ArchiveJob):
        return [(f"archive/{job.n}.atom", _render_archive_page(view, settings, job.n, job.full))]
    articles = view.recent(settings.feed_size, job.category)
    links = (("prev-archive", job.archive_tail),) if job.archive_tail else ()
    atom = _FeedDoc(job.title, f"{job.stem}.atom", f"{job.stem}.atom", links)
    return [
        (f"{job.stem}.atom", render_atom(articles, atom, settings)),
        (f"{job.stem}.rss", render_rss(articles, job.title, f"{job.stem}.rss", settings)),
        (f"{job.stem}.json", render_json(articles, job.title, f"{job.stem}.json", settings)),
    ]


# Worker processes keep one read-only connection per database file (path, device, inode).
_readers: dict[tuple[str, int, int], Store] = {}


def render_from(db_path: Path, settings: OutputSettings, job: Job) -> Rendered:
    """`render` in a worker process, reading the store through its own connection.

    Only the job goes in and only bytes come out: shipping the articles to the worker
    would cost about what rendering them does. While it publishes, the owner writes
    nothing but the posts' clean flags, which no feed reads, so every job of one publish
    renders the same articles.
    """
    st = db_path.stat()
    key = (str(db_path), st.st_dev, st.st_ino)
    store = _readers.get(key)
    if store is None:
        for old in _readers.values():  # the file was replaced: its connection is stale
            old.close()
        _readers.clear()
        store = _readers[key] = Store(db_path, readonly=True)
    return render(store, settings, job)


def render_pages(view: ArticleView, settings: OutputSettings) -> Rendered:
    """categories/index.json (the HTML pages are site.py's)."""
    cats = [(name, category_slug(name)) for name in view.categories()]
    return [("categories/index.json", _category_index(view, cats, settings))]


def _stale_full_pages(folder: Path, full: int) -> list[int]:
    """Full pages to (re)write: missing ones, and the newest existing one if it was a tail."""
    stale: list[int] = []
    for n in range(full, 0, -1):
        path = folder / f"{n}.atom"
        if not path.exists():
            stale.append(n)
            continue
        # Pages below the newest existing one were full when it was created.
        if not is_full_archive(_head(path)):
            stale.append(n)
        break
    return sorted(stale)


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(MARKER_WITHIN)


def is_full_archive(data: bytes) -> bool:
    """Whether `data` (a file or its first bytes) is a full, immutable archive page."""
    return FULL_ARCHIVE_MARKER in data[:MARKER_WITHIN]


def _render_archive_page(view: ArticleView, settings: OutputSettings, n: int, full: bool) -> bytes:
    size = settings.archive_size
    articles = view.page((n - 1) * size, size)
    links: list[tuple[str, str]] = [("current", "feed.atom")]
    if n > 1:
        links.append(("prev-archive", f"archive/{n - 1}.atom"))
    if full:
        # The next page always exists once this one is full (it may be an empty tail).
        links.append(("next-archive", f"archive/{n + 1}.atom"))
    title = f"{settings.title} · archive {n}"
    doc = _FeedDoc(title, f"archive/{n}.atom", "feed.atom", tuple(links), full)
    return render_atom(articles, doc, settings)


def _feed_updated(articles: Sequence[StoredArticle]) -> datetime:
    return max((a.updated for a in articles), default=_EMPTY_UPDATED)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _image_type(url: str) -> str:
    path = url.split("?", 1)[0].lower()
    return next((t for ext, t in _IMAGE_TYPES.items() if path.endswith(ext)), "image/jpeg")


def _new_generator(title: str, updated: datetime) -> FeedGenerator:
    fg = FeedGenerator()
    fg.title(xml_safe(title))
    fg.language("zh-CN")
    fg.generator("sina-aggregator")
    fg.updated(_utc(updated))
    fg.lastBuildDate(_utc(updated))
    fg.description(xml_safe(title))
    return fg


def _add_entries(fg: FeedGenerator, articles: Sequence[StoredArticle], rss: bool) -> None:
    for a in articles:
        fe = fg.add_entry(order="append")
        fe.id(a.id)
        fe.title(xml_safe(a.title))
        fe.link(href=xml_safe(a.link))
        fe.published(_utc(a.published))
        fe.updated(_utc(a.updated))
        fe.content(xml_safe(a.content_html), type="html")
        for cat in a.categories:
            fe.category(term=xml_safe(cat))
        if rss:
            fe.guid(a.id, permalink=False)
            fe.dc.dc_creator(xml_safe(a.author))
            if a.cover:
                fe.enclosure(xml_safe(a.cover), "0", _image_type(a.cover))
        else:
            fe.author(name=xml_safe(a.author))


def render_atom(
    articles: Sequence[StoredArticle], doc: _FeedDoc, settings: OutputSettings
) -> bytes:
    """An Atom 1.0 document of `articles`, in the given order."""
    fg = _new_generator(doc.title, _feed_updated(articles))
    fg.id(_url(settings, doc.feed_id))
    fg.link(href=_url(settings, doc.self_path), rel="self", type="application/atom+xml")
    fg.link(href=settings.base_url, rel="alternate", type="text/html")
    for rel, path in doc.links:
        fg.link(href=_url(settings, path), rel=rel, type="application/atom+xml")
    _add_entries(fg, articles, rss=False)
    root = etree.fromstring(fg.atom_str(pretty=False))
    _add_atom_extras(root, articles, doc.archive)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_atom_extras(root: Any, articles: Sequence[StoredArticle], archive: bool) -> None:
    """What feedgen cannot express: entry link relations, covers, the archive marker."""
    for entry, a in zip(root.iter(f"{{{ATOM_NS}}}entry"), articles, strict=True):
        for url in dict.fromkeys(a.links):
            if url != a.link:
                etree.SubElement(entry, f"{{{ATOM_NS}}}link", rel="related", href=xml_safe(url))
        if a.cover:
            etree.SubElement(
                entry,
                f"{{{ATOM_NS}}}link",
                rel="enclosure",
                type=_image_type(a.cover),
                href=xml_safe(a.cover),
            )
    if archive:
        marker = etree.Element(f"{{{FH_NS}}}archive", nsmap={"fh": FH_NS})
        root.insert(0, marker)


def render_rss(
    articles: Sequence[StoredArticle], title: str, self_path: str, settings: OutputSettings
) -> bytes:
    """An RSS 2.0 document of `articles`, in the given order."""
    fg = _new_generator(title, _feed_updated(articles))
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(_url(settings, self_path))
    fg.link(href=_url(settings, self_path), rel="self", type="application/rss+xml")
    fg.link(href=settings.base_url, rel="alternate")  # last link() = the RSS channel <link>
    _add_entries(fg, articles, rss=True)
    data: bytes = fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")
    return data


def render_json(
    articles: Sequence[StoredArticle], title: str, self_path: str, settings: OutputSettings
) -> bytes:
    """A JSON Feed 1.1 document of `articles`, in the given order."""
    feed: dict[str, Any] = {
        "version": JSONFEED_VERSION,
        "title": title,
        "home_page_url": settings.base_url,
        "feed_url": _url(settings, self_path),
        "language": "zh-CN",
        "items": [_json_item(a) for a in articles],
    }
    return (json.dumps(feed, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def _json_item(a: StoredArticle) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": a.id,
        "url": a.link,
        "title": xml_safe(a.title),
        "content_html": xml_safe(a.content_html),
        "date_published": _utc(a.published).isoformat(),
        "date_modified": _utc(a.updated).isoformat(),
        "authors": [{"name": xml_safe(a.author)}],
        "tags": list(a.categories),
        "_provenance": {"links": list(dict.fromkeys((a.link, *a.links)))},
    }
    if a.cover:
        item["image"] = a.cover
    return item


def _category_index(
    view: ArticleView, cats: Sequence[tuple[str, str]], settings: OutputSettings
) -> bytes:
    rows = [
        {
            "name": name,
            "slug": slug,
            "count": view.count(name),
            "atom": _url(settings, f"categories/{slug}.atom"),
            "rss": _url(settings, f"categories/{slug}.rss"),
            "json": _url(settings, f"categories/{slug}.json"),
        }
        for name, slug in cats
    ]
    return (json.dumps(rows, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()
