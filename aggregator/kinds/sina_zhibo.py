"""kind = "sina-zhibo": Sina's 7×24 flashes (`…/api/zhibo/feed?zhibo_id=152`).

A flash is a short article: identity its `id`, title its leading 【…】 (else its first
sentence, at most 40 characters), body the rest as paragraphs, date `create_time` (China
time), its tag names as categories, the stocks of `ext` as tags, linked to the full article
of `ext.docurl` when it has one, else to its own `docurl`, else to a stable URL of the flash.
Flashes are complete in the list: nothing else is fetched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ParseError
from ..models import ParsedEntry
from ..sites import sina
from .base import Item, Listing
from .sinajson import as_int, as_json, as_str, read_result

_HEADLINE = re.compile(r"^[\s\u3000]*【([^【】]{1,200})】[\s\u3000]*")
_SENTENCE = re.compile(r"^(.*?[。！？!?；;])")
_BREAK = re.compile(r"<br\s*/?>|\r\n|\r", re.IGNORECASE)
_MARKUP = re.compile(r"<[A-Za-z/!]")


class ZhiboKind:
    name = "sina-zhibo"
    referer: str | None = sina.REFERER
    tracks_items = True

    def list_url(self, url: str, page: int) -> str | None:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return url if page == 1 else None
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query.setdefault("page_size", str(sina.ZHIBO_PAGE_SIZE))
        query["page"] = str(page)
        return urlunsplit(parts._replace(query=urlencode(query)))

    def read_list(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Listing:
        result = read_result(body, content_type, sina.ZHIBO_OK_CODE)
        data = result.get("data")
        feed = data.get("feed") if isinstance(data, dict) else None
        flashes = feed.get("list") if isinstance(feed, dict) else None
        if not isinstance(flashes, list):
            raise ParseError("not_a_feed", "7×24 answer without data.feed.list")
        items = tuple(i for raw in flashes if isinstance(raw, dict) and (i := _item(raw)))
        info = feed.get("page_info") if isinstance(feed, dict) else None
        page = as_int(info.get("page")) if isinstance(info, dict) else None
        pages = as_int(info.get("totalPage")) if isinstance(info, dict) else None
        more = bool(flashes) and page is not None and pages is not None and page < pages
        return Listing(items=items, more=more)

    def read_page(self, item: Item, body: bytes, url: str, content_type: str | None) -> ParsedEntry:
        raise ParseError("not_a_feed", "a flash has no page to read")


def _item(raw: Mapping[str, Any]) -> Item | None:
    flash_id = as_int(raw.get("id"))
    text = as_str(raw.get("rich_text"))
    if flash_id is None or not text:
        return None
    title, rest = split_title(text)
    ext = as_json(raw.get("ext"))
    ext = ext if isinstance(ext, dict) else {}
    link = (
        _web_url(ext.get("docurl"))
        or _web_url(raw.get("docurl"))
        or sina.ZHIBO_FLASH_URL.format(id=flash_id)
    )
    tags = raw.get("tag")
    created = as_str(raw.get("create_time"))
    entry = ParsedEntry(
        guid=None,
        link=link,
        title=title,
        content_html=paragraphs(rest or text),
        published_raw=created or None,
        updated_raw=as_str(raw.get("update_time")) or None,
        author=None,
        identity=(f"sina-zhibo:{flash_id}",),
        categories=tuple(
            as_str(t.get("name")) for t in tags if isinstance(t, dict) and as_str(t.get("name"))
        )
        if isinstance(tags, list)
        else (),
        tags=_stocks(ext.get("stocks")),
    )
    version = as_str(raw.get("update_time")) or created
    return Item(key=entry.identity[0], entry=entry, version=version)


def split_title(text: str) -> tuple[str, str]:
    """(title, the rest): the leading 【…】, else the first sentence cut to 40 characters."""
    m = _HEADLINE.match(text)
    if m and m.group(1).strip():
        return " ".join(m.group(1).split()), text[m.end() :]
    plain = " ".join(re.sub(r"<[^>]*>", "", text).split())
    s = _SENTENCE.match(plain)
    first = (s.group(1) if s else plain).rstrip("。；;")
    limit = sina.ZHIBO_TITLE_MAX
    return (first if len(first) <= limit else first[: limit - 1] + "…"), text


def paragraphs(text: str) -> str:
    """Flash text → one <p> per line; markup the text carries is kept for the cleaner."""
    lines = [line.strip() for line in _BREAK.sub("\n", text).split("\n")]
    keep_markup = bool(_MARKUP.search(text))
    return "".join(f"<p>{line if keep_markup else html.escape(line)}</p>" for line in lines if line)


def _stocks(value: object) -> tuple[str, ...]:
    """ext.stocks → 'name symbol' tags (e.g. '东软集团 sh600718')."""
    found = []
    for s in value if isinstance(value, list) else []:
        if isinstance(s, dict):
            name, symbol = as_str(s.get("key")), as_str(s.get("symbol"))
            if name or symbol:
                found.append(f"{name} {symbol}".strip())
    return tuple(dict.fromkeys(found))


def _web_url(value: object) -> str | None:
    url = as_str(value)
    try:
        ok = urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).netloc)
    except ValueError:
        return None
    return url if ok else None
