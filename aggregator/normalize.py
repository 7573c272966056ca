"""One parsed feed item → one Article: true title, date, cover, categories, identity.

Pure: no I/O, `now` is passed in (it is the first-seen time when the feed's date is absurd).
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from .clean import clean_html, image_url, is_cover_url
from .dates import parse_date
from .identity import identity_keys, provenance_link
from .models import Article, ParsedEntry, Source
from .urls import publishable, redact
from .xmlchars import join_surrogate_refs, xml_safe

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACES = re.compile(r"\s+")
# 7×24 live items have no title: their text opens with the headline in 【…】.
_BRACKET_HEADLINE = re.compile(r"^[\s\u3000]*【([^【】]{1,200})】")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_TITLE_MAX = 60
TITLE_LIMIT = 300  # characters of a feed's own title (and author) kept
# Bidirectional embeddings, overrides and isolates: they reorder what a reader shows.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
UNTITLED = "无标题"


def normalize_entry(entry: ParsedEntry, source: Source, now: datetime) -> Article:
    """Interpret one raw feed item as an Article of `source`."""
    link = entry_link(entry, redact(source.url))  # links resolved against it are published
    body = clean_html(entry.content_html, entry.content_base or link or None)
    # A title taken from the body's (decoded) text is made plain too, not decoded again.
    title = clean_title(entry.title) or _plain_title(title_from_text(body.text)) or UNTITLED
    limits = body.limits
    if entry.title and len(entry.title) > TITLE_LIMIT and title.endswith("…"):
        limits = (*limits, f"title over {TITLE_LIMIT} characters: cut")
    published, fallback = _published(entry, now)
    if entry.identity:  # the source names the item (a Sina docid, a flash id)
        key, alt_keys = entry.identity[0], entry.identity[1:]
    else:
        # A fallback date is the first-seen time: keep it out of the identity so it stays
        # stable.
        key, alt_keys = identity_keys(
            link or None, entry.guid, title, "" if fallback else published.isoformat()
        )
    return Article(
        key=key,
        alt_keys=alt_keys,
        link=link,
        title=title,
        published=published,
        date_is_fallback=fallback,
        author=clean_title(entry.author) or source.author,
        categories=categories_of(source, entry.categories),
        content_html=body.html,
        text=body.text,
        cover=body.cover or _cover_from(entry.image_urls, link or None),
        source_name=source.name,
        canonical_link=provenance_link(link),
        editor=body.editor,
        limits=limits,
        outlet=clean_title(entry.outlet) or None,
        tags=tuple(dict.fromkeys(t for t in (clean_title(t) for t in entry.tags) if t)),
    )


def clean_title(raw: str | None) -> str:
    """The title as published, plain text: entities decoded once, then tags stripped (so
    escaped markup cannot come back as markup), bidi overrides removed, whitespace
    collapsed, at most `TITLE_LIMIT` characters."""
    if not raw:
        return ""
    return _plain_title(html.unescape(join_surrogate_refs(raw)))


def _plain_title(text: str) -> str:
    """Text as a title: no tags, no bidi controls, one line, at most `TITLE_LIMIT`."""
    text = _TAG.sub("", text)
    text = _SPACES.sub(" ", _BIDI.sub("", xml_safe(text))).strip()
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1].rstrip() + "…"


def title_from_text(text: str) -> str:
    """A title for an untitled item: its leading 【headline】, else its first sentence."""
    m = _BRACKET_HEADLINE.match(text)
    if m and m.group(1).strip():
        return _SPACES.sub(" ", m.group(1)).strip()
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    first = _SPACES.sub(" ", first).strip()
    if not first:
        return UNTITLED
    return first if len(first) <= _TITLE_MAX else first[: _TITLE_MAX - 1].rstrip() + "…"


def entry_link(entry: ParsedEntry, feed_url: str) -> str:
    """The item's link made absolute; else its guid when that is a web URL; else ''."""
    # A relative link resolves against the feed; a guid is only a link when already absolute.
    for candidate, resolve in ((entry.link, True), (entry.guid, False)):
        if not candidate or not candidate.strip():
            continue
        try:
            url = urljoin(feed_url, candidate.strip()) if resolve else candidate.strip()
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            continue
        if scheme in ("http", "https") and (safe := publishable(url)) is not None:
            return safe
    return ""


def categories_of(source: Source, own: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The source's categories, then its channel name, then the item's own; each once."""
    configured = (c.strip() for c in (*source.categories, source.name))
    names = (*configured, *(clean_title(c) for c in own))
    return tuple(dict.fromkeys(n for n in names if n))


def _published(entry: ParsedEntry, now: datetime) -> tuple[datetime, bool]:
    published, fallback = parse_date(entry.published_raw, now)
    if fallback and entry.updated_raw:
        return parse_date(entry.updated_raw, now)
    return published, fallback


def _cover_from(urls: tuple[str, ...], base_url: str | None) -> str | None:
    for url in urls:
        absolute = image_url(url, base_url)
        if absolute and is_cover_url(absolute):
            return absolute
    return None
