"""Feed documents: Atom 1.0, RSS 2.0 and JSON Feed 1.1 of a list of articles.

Rendered deterministically from the articles alone (no clock reads), so publishing unchanged
articles gives unchanged bytes and `atomic.write_atomic` rewrites nothing.

Each entry is rendered once per format and reused by every document it appears in (the
feed, its category feeds, the archive page; this publish and the next ones of this
process): an entry's bytes in a document depend only on the article, not on its neighbours
or the document, so a document is its head (feedgen, no entries) followed by its entries'
bytes. Entries not rendered yet are rendered together, as one document the usual way
(feedgen, then lxml's serializer), and cut out of it; a document whose entries are all new
is that document, as it always was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring as _json_string  # json's own (C) string encoder
from typing import Any, NamedTuple

from feedgen.feed import FeedGenerator
from feedgen.util import formatRFC2822
from lxml import etree

from ..dates import rfc822_gmt
from ..lru import LRU
from ..models import OutputSettings, StoredArticle
from ..sites import sina
from ..xmlchars import xml_safe
from .archives import FH_NS
from .base import url

ATOM_NS = "http://www.w3.org/2005/Atom"
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
_STOCK_SCHEME = sina.STOCK_SCHEME  # an attribute value with nothing to escape
_IMAGE_TYPES = {".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class FeedDoc:
    """What a feed document says about itself, apart from its entries."""

    title: str
    self_path: str  # file path relative to the output dir, e.g. 'feed.atom'
    feed_id: str  # path whose URL is the feed's atom:id (archive pages share the feed's)
    links: tuple[tuple[str, str], ...] = ()  # extra (rel, relative path) feed links
    archive: bool = False  # full RFC 5005 archive page
    # The feed's `updated` when it has no entries (else its newest entry's): given by the
    # publisher (`Context.empty_updated`), as nothing in the document could tell it.
    empty_updated: datetime | None = None


def _feed_updated(articles: Sequence[StoredArticle], empty_updated: datetime | None) -> datetime:
    if articles:
        return max(a.updated for a in articles)
    if empty_updated is None:
        raise ValueError("a feed with no entries needs the time it became empty")
    return empty_updated


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _image_type(url: str) -> str:
    path = url.partition("?")[0].lower()
    return next((t for ext, t in _IMAGE_TYPES.items() if path.endswith(ext)), "image/jpeg")


def _new_generator(title: str, updated: datetime) -> FeedGenerator:
    fg = FeedGenerator()
    fg.title(xml_safe(title))
    fg.language("zh-CN")
    fg.generator("sina-aggregator")
    fg.updated(_utc(updated))  # RSS's lastBuildDate too (feedgen's lastBuildDate is updated)
    fg.description(xml_safe(title))
    return fg


def _add_entries(fg: FeedGenerator, articles: Sequence[StoredArticle], rss: bool) -> None:
    for a in articles:
        fe = fg.add_entry(order="append")
        fe.id(a.id)  # RSS's guid too, isPermaLink="false"
        fe.title(xml_safe(a.title))
        fe.link(href=xml_safe(a.link))
        fe.published(_utc(a.published))
        fe.updated(_utc(a.updated))
        fe.content(xml_safe(a.content_html), type="html")
        for cat in a.categories:
            fe.category(term=xml_safe(cat))
        for tag in a.tags:  # stocks: their own scheme, so readers tell them from channels
            fe.category(term=xml_safe(tag), scheme=sina.STOCK_SCHEME)
        if rss:
            fe.dc.dc_creator(xml_safe(a.author))
            if a.outlet:
                fe.dc.dc_publisher(xml_safe(a.outlet))
            if a.cover:
                fe.enclosure(xml_safe(a.cover), "0", _image_type(a.cover))
        else:
            fe.author(name=xml_safe(a.author))


# --- entries rendered once ------------------------------------------------------------------

# Entries kept per process, across documents and publishes (least recently used dropped):
# a publish after one new article re-renders the feed, a few category feeds and the archive
# tail, whose other entries are all here. The key is the article itself (every field
# compared), so a revised article is rendered afresh.
ENTRIES: LRU[_Key, bytes] = LRU(2048)


class _Key:
    """An entry's key in `ENTRIES`: its format and its article (every field compared),
    hashed once (a stored article's hash covers its fifteen fields at every lookup, and a
    document looks each entry up several times)."""

    __slots__ = ("_hash", "article", "format")

    def __init__(self, format: str, article: StoredArticle) -> None:
        self.format = format
        self.article = article
        self._hash = hash((format, article))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Key)
            and self.format == other.format
            and self.article == other.article
        )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a format's entries sit in its serialized document."""

    name: str
    start: bytes  # the newline and the line that begin an entry, at the entries' depth
    end: bytes  # what follows the last entry (its last occurrence in the document)
    sep: bytes = b""  # between two entries


_ATOM = _Layout("atom", b"\n  <entry>", b"</feed>\n")
_RSS = _Layout("rss", b"\n    <item>", b"  </channel>\n</rss>\n")
_JSON = _Layout("json", b"\n  {\n", b"\n ]", b",\n")
_NO_ITEMS = b'\n "items": []'  # how an empty JSON Feed says it has no items


def _document(
    layout: _Layout,
    articles: Sequence[StoredArticle],
    render: Callable[[Sequence[StoredArticle]], bytes],
    direct: Callable[[StoredArticle], bytes | None] | None = None,
) -> bytes:
    """`render(articles)`, each entry rendered already taken as it is.

    `render` renders a document of the articles it is given with the head of this one
    (`render(())`: the head alone). `direct` writes one entry's bytes without feedgen, or
    None to leave it to `render` (see `_atom_entry`)."""
    keys = [_Key(layout.name, a) for a in articles]
    kept = dict(zip(keys, ENTRIES.get_many(keys), strict=True))
    missing = [k for k, data in kept.items() if data is None]
    if missing and direct is not None and DIRECT:
        written = {k: data for k in missing if (data := direct(k.article)) is not None}
        if written:
            ENTRIES.put_many(written)
            kept.update(written)
            missing = [k for k in missing if k not in written]
    if len(missing) == len(articles):
        whole = render(articles)
        pieces = _cut(layout, whole, len(articles))
        if pieces is not None:
            ENTRIES.put_many(dict(zip(keys, pieces, strict=True)))
        return whole
    if missing:
        pieces = _cut(layout, render([k.article for k in missing]), len(missing))
        if pieces is None:  # never seen: a serializer whose layout changed
            return render(articles)
        fresh = dict(zip(missing, pieces, strict=True))
        ENTRIES.put_many(fresh)
        kept.update(fresh)
    body = layout.sep.join(kept[k] or b"" for k in keys)
    empty = render(())
    if layout is _JSON:
        return empty.replace(_NO_ITEMS, _NO_ITEMS[:-1] + b"\n" + body + layout.end, 1)
    return empty[: -len(layout.end)] + body + layout.end


# --- entries written directly --------------------------------------------------------------

# Set False to render every entry through feedgen (the tests compare both ways).
DIRECT = True
# Longer fields are left to feedgen: lxml's parser refuses a text node past 10 MB, and the
# Atom path parses its own output again.
_DIRECT_MAX = 1_000_000


def _text(s: str) -> str:
    """Character data as lxml serializes it."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _attr(s: str) -> str:
    """An attribute value (in double quotes) as lxml serializes it."""
    return _text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


class _Fields(NamedTuple):
    """An article's fields as its entries print them (sanitized)."""

    title: str
    author: str
    content: str
    link: str
    categories: tuple[str, ...]
    stocks: tuple[str, ...]  # the tags: stock names, with the stock scheme
    outlet: str | None


# The sanitized fields of the articles rendered last (least recently used dropped): a feed
# set renders the same articles as Atom, RSS and JSON one after the other, and sanitizing
# scans every character of the body.
FIELDS: LRU[StoredArticle, _Fields] = LRU(256)


def _sanitized(a: StoredArticle) -> _Fields:
    f = FIELDS.get(a)
    if f is not None:
        return f
    f = _Fields(
        xml_safe(a.title),
        xml_safe(a.author),
        xml_safe(a.content_html),
        xml_safe(a.link),
        tuple(xml_safe(t) for t in a.categories),
        tuple(xml_safe(t) for t in a.tags),
        xml_safe(a.outlet) if a.outlet else None,
    )
    FIELDS.put(a, f)
    return f


def _direct_fields(a: StoredArticle) -> _Fields | None:
    """The sanitized fields of `a`'s entry, or None when it is not the usual one (an empty
    or huge field, an id lxml would refuse): feedgen renders those, raising or leaving
    elements out as it does."""
    f = _sanitized(a)
    # An outlet that sanitizes to "" is an empty field (feedgen's path writes it empty).
    shown = "-" if f.outlet is None else f.outlet
    fields = (a.id, f.title, f.author, f.content, f.link, shown, *f.categories, *f.stocks)
    if not all(fields) or xml_safe(a.id) != a.id or max(map(len, fields)) > _DIRECT_MAX:
        return None
    return f


def _atom_entry(a: StoredArticle) -> bytes | None:
    """The bytes `_atom` gives `a`'s entry (feedgen's elements, then `_add_atom_extras`'),
    written directly: the usual entry costs a tenth of building and serializing it twice."""
    f = _direct_fields(a)
    if f is None:
        return None
    out = [
        "  <entry>\n    <id>",
        _text(a.id),
        "</id>\n    <title>",
        _text(f.title),
        "</title>\n    <updated>",
        _utc(a.updated).isoformat(),
        "</updated>\n    <author>\n      <name>",
        _text(f.author),
        '</name>\n    </author>\n    <content type="html">',
        _text(f.content),
        '</content>\n    <link href="',
        _attr(f.link),
        '"/>\n',
    ]
    for term in f.categories:
        out += ('    <category term="', _attr(term), '"/>\n')
    for term in f.stocks:
        out += ('    <category term="', _attr(term), '" scheme="', _STOCK_SCHEME, '"/>\n')
    out += ("    <published>", _utc(a.published).isoformat(), "</published>\n")
    if f.outlet:
        out += (
            "    <source>\n      <title>",
            _text(f.outlet),
            "</title>\n    </source>\n",
        )
    for other in dict.fromkeys(a.links):
        if other != a.link:
            out += ('    <link rel="related" href="', _attr(xml_safe(other)), '"/>\n')
    if a.cover:
        cover = _attr(xml_safe(a.cover))
        out += (
            '    <link rel="enclosure" type="',
            _image_type(a.cover),
            '" href="',
            cover,
            '"/>\n',
        )
    out.append("  </entry>\n")
    return "".join(out).encode()


def _rss_item(a: StoredArticle) -> bytes | None:
    """The bytes `_rss` gives `a`'s item (feedgen's elements and its dc extension's),
    written directly."""
    f = _direct_fields(a)
    if f is None:
        return None
    out = [
        "    <item>\n      <title>",
        _text(f.title),
        "</title>\n      <link>",
        _text(f.link),
        "</link>\n      <description>",
        _text(f.content),
        '</description>\n      <guid isPermaLink="false">',
        _text(a.id),
        "</guid>\n",
    ]
    for term in f.categories:
        out += ("      <category>", _text(term), "</category>\n")
    for term in f.stocks:
        out += ('      <category domain="', _STOCK_SCHEME, '">', _text(term), "</category>\n")
    if a.cover:
        cover = _attr(xml_safe(a.cover))
        out += (
            '      <enclosure url="',
            cover,
            '" length="0" type="',
            _image_type(a.cover),
            '"/>\n',
        )
    pub_date = rfc2822(_utc(a.published))
    out += ("      <pubDate>", pub_date, "</pubDate>\n      <dc:creator>", _text(f.author))
    out.append("</dc:creator>\n")
    if f.outlet:
        out += ("      <dc:publisher>", _text(f.outlet), "</dc:publisher>\n")
    out.append("    </item>\n")
    return "".join(out).encode()


def rfc2822(when: datetime) -> str:
    """feedgen's `formatRFC2822` of a UTC datetime (`%a, %d %b %Y %H:%M:%S %z` in the C
    locale), without the two process-wide `setlocale` calls it makes for every date."""
    if when.utcoffset() != timedelta(0) or when.year < 1000:  # strftime's own padding
        theirs: str = formatRFC2822(when)
        return theirs
    return rfc822_gmt(when).removesuffix("GMT") + "+0000"


def _cut(layout: _Layout, whole: bytes, count: int) -> list[bytes] | None:
    """The bytes of each of the `count` entries of a serialized document, in order (None
    if it does not hold that many).

    Markup inside text is escaped and JSON strings hold no raw newline, so an entry's
    opening line at the entries' depth is never inside an entry."""
    starts = []
    at = whole.find(layout.start)
    while at >= 0:
        starts.append(at + 1)
        at = whole.find(layout.start, at + 1)
    end = whole.rfind(layout.end)
    if len(starts) != count or (starts and end < starts[-1]):
        return None
    if not starts:
        return []
    ends = [s - len(layout.sep) for s in starts[1:]] + [end]
    return [whole[b:e] for b, e in zip(starts, ends, strict=True)]


def render_atom(articles: Sequence[StoredArticle], doc: FeedDoc, settings: OutputSettings) -> bytes:
    """An Atom 1.0 document of `articles`, in the given order."""
    updated = _feed_updated(articles, doc.empty_updated)
    return _document(_ATOM, articles, lambda some: _atom(some, doc, settings, updated), _atom_entry)


def _atom(
    articles: Sequence[StoredArticle], doc: FeedDoc, settings: OutputSettings, updated: datetime
) -> bytes:
    fg = _new_generator(doc.title, updated)
    fg.id(url(settings, doc.feed_id))
    fg.link(href=url(settings, doc.self_path), rel="self", type="application/atom+xml")
    fg.link(href=settings.base_url, rel="alternate", type="text/html")
    for rel, path in doc.links:
        fg.link(href=url(settings, path), rel=rel, type="application/atom+xml")
    _add_entries(fg, articles, rss=False)
    root = etree.fromstring(fg.atom_str(pretty=False))
    _add_atom_extras(root, articles, doc.archive)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_atom_extras(root: Any, articles: Sequence[StoredArticle], archive: bool) -> None:
    """What feedgen cannot express: entry link relations, covers, the archive marker."""
    for entry, a in zip(root.iter(f"{{{ATOM_NS}}}entry"), articles, strict=True):
        if a.outlet:  # the originating outlet: where the entry was first published
            source = etree.SubElement(entry, f"{{{ATOM_NS}}}source")
            etree.SubElement(source, f"{{{ATOM_NS}}}title").text = xml_safe(a.outlet)
        for link in dict.fromkeys(a.links):
            if link != a.link:
                etree.SubElement(entry, f"{{{ATOM_NS}}}link", rel="related", href=xml_safe(link))
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
    articles: Sequence[StoredArticle],
    title: str,
    self_path: str,
    settings: OutputSettings,
    empty_updated: datetime | None = None,
) -> bytes:
    """An RSS 2.0 document of `articles`, in the given order (`empty_updated`: its
    lastBuildDate when it has none, see `FeedDoc`)."""
    updated = _feed_updated(articles, empty_updated)
    return _document(
        _RSS, articles, lambda some: _rss(some, title, self_path, settings, updated), _rss_item
    )


def _rss(
    articles: Sequence[StoredArticle],
    title: str,
    self_path: str,
    settings: OutputSettings,
    updated: datetime,
) -> bytes:
    fg = _new_generator(title, updated)
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(url(settings, self_path))
    fg.link(href=url(settings, self_path), rel="self", type="application/rss+xml")
    fg.link(href=settings.base_url, rel="alternate")  # last link() = the RSS channel <link>
    _add_entries(fg, articles, rss=True)
    data: bytes = fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8")
    return data


def render_json(
    articles: Sequence[StoredArticle], title: str, self_path: str, settings: OutputSettings
) -> bytes:
    """A JSON Feed 1.1 document of `articles`, in the given order."""
    return _document(
        _JSON, articles, lambda some: _json(some, title, self_path, settings), _json_entry
    )


def _json_entry(a: StoredArticle) -> bytes:
    """The bytes `_json` gives `a`'s item, written directly: `json.dumps` with an indent
    runs json's pure-Python encoder, ~5× slower than this for the same bytes."""
    return ("  " + _indented(_json_item(a), 2)).encode()


def _indented(value: object, level: int) -> str:
    """`value` as `json.dumps(…, ensure_ascii=False, sort_keys=True, indent=1)` writes it
    at nesting depth `level`. Items hold strings, lists and dicts only; anything else is
    left to json itself (a scalar: its bytes are the same at any depth)."""
    if type(value) is str:
        return _json_string(value)
    if type(value) is list or type(value) is tuple:
        if not value:
            return "[]"
        inner = "\n" + " " * (level + 1)
        items: Iterable[str]
        if all(type(v) is str for v in value):  # tags, links, titles
            items = map(_json_string, value)
        else:
            items = (_indented(v, level + 1) for v in value)
        return "[" + inner + ("," + inner).join(items) + "\n" + " " * level + "]"
    if type(value) is dict:
        if not value:
            return "{}"
        inner = "\n" + " " * (level + 1)
        return (
            "{"
            + inner
            + ("," + inner).join(
                _json_string(k)
                + ": "
                + (_json_string(v) if type(v) is str else _indented(v, level + 1))
                for k, v in sorted(value.items())
            )
            + "\n"
            + " " * level
            + "}"
        )
    return json.dumps(value, ensure_ascii=False)


def _json(
    articles: Sequence[StoredArticle], title: str, self_path: str, settings: OutputSettings
) -> bytes:
    feed: dict[str, Any] = {
        "version": JSONFEED_VERSION,
        "title": title,
        "home_page_url": settings.base_url,
        "feed_url": url(settings, self_path),
        "language": "zh-CN",
        "items": [_json_item(a) for a in articles],
    }
    return (json.dumps(feed, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def _json_item(a: StoredArticle) -> dict[str, Any]:
    f = _sanitized(a)
    item: dict[str, Any] = {
        "id": a.id,
        "url": a.link,
        "title": f.title,
        "content_html": f.content,
        "date_published": _utc(a.published).isoformat(),
        "date_modified": _utc(a.updated).isoformat(),
        "authors": [{"name": f.author}],
        "tags": [*a.categories, *a.tags],
        "_provenance": {"links": [u for u in dict.fromkeys((a.link, *a.links)) if u]},
    }
    if not a.link:  # an item without a web link (JSON Feed: url is optional, never "")
        del item["url"]
    if a.alt_titles:  # the other headlines of merged copies (JSON Feed extension object)
        item["_alternative_titles"] = {"titles": [xml_safe(t) for t in a.alt_titles]}
    if a.cover:
        item["image"] = a.cover
    if f.outlet is not None:
        item["_outlet"] = f.outlet
    return item
