"""kind = "sina-roll": Sina's roll list API, and each item's article page for the full text.

`url` is the list endpoint with its list parameters
(`https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686`); `num` is capped at 50
and `page` is set per request. An item is an article when its `url` is an article page
(doc-i….shtml / detail-i….d.html); its identity is Sina's docid, its version its `mtime`.
A list read from a local file (the offline demo) finds its pages in the same folder.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ParseError
from ..identity import identity_keys
from ..models import ParsedEntry
from ..sites import sina
from .base import Item, Listing
from .sinajson import as_int, as_json, as_str, read_result

_TRUNCATED = ("...", "…")
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_BODY_BEGIN = re.compile(rf"<!--\s*{sina.PAGE_BODY_BEGIN}\s*-->")
_BODY_END = re.compile(rf"<!--\s*{sina.PAGE_BODY_END}\s*-->")


class RollKind:
    name = "sina-roll"
    referer: str | None = sina.REFERER
    tracks_items = True

    def list_url(self, url: str, page: int) -> str | None:
        parts = urlsplit(url)
        if parts.scheme == "file":
            return url if page == 1 else None  # a saved list is one page
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query["num"] = str(_num(query))
        query["page"] = str(page)
        return urlunsplit(parts._replace(query=urlencode(query)))

    def read_list(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Listing:
        result = read_result(body, content_type, sina.ROLL_OK_CODE)
        data = result.get("data")
        if not isinstance(data, list):
            raise ParseError("not_a_feed", "roll list without a 'data' array")
        items = tuple(i for raw in data if isinstance(raw, dict) and (i := _item(raw, url)))
        num = _num(dict(parse_qsl(urlsplit(url).query)))
        return Listing(items=items, more=len(data) >= num)

    def read_page(self, item: Item, body: bytes, url: str, content_type: str | None) -> ParsedEntry:
        return read_article_page(item.entry, body, content_type)


def _num(query: Mapping[str, str]) -> int:
    n = as_int(query.get("num"))
    return sina.ROLL_MAX_NUM if n is None or n <= 0 else min(n, sina.ROLL_MAX_NUM)


def _item(raw: Mapping[str, Any], list_url: str) -> Item | None:
    """One list item, or None when it is not an article (no url, not an article page)."""
    url = as_str(raw.get("url"))
    try:
        path = urlsplit(url).path if url else ""
    except ValueError:
        return None
    path_id = sina.article_path_id(path)
    if path_id is None or urlsplit(url).scheme not in ("http", "https"):
        return None
    docid = sina.roll_docid(as_str(raw.get("docid"))) or path_id
    keys = [f"sina:{docid}"]
    for link in (url, as_str(raw.get("wapurl"))):
        if link:
            key, alt = identity_keys(link, None, "", "")
            keys += [key, *alt]
    ctime, mtime = as_str(raw.get("ctime")), as_str(raw.get("mtime"))
    intro = as_str(raw.get("intro"))
    entry = ParsedEntry(
        guid=None,
        link=url,
        title=as_str(raw.get("title")) or None,
        content_html=f"<p>{html.escape(intro)}</p>" if intro else "",
        published_raw=ctime or None,
        updated_raw=mtime or None,
        author=as_str(raw.get("author")) or None,
        image_urls=_images(raw),
        identity=tuple(dict.fromkeys(keys)),
        outlet=as_str(raw.get("media_name")) or None,
    )
    return Item(key=keys[0], entry=entry, version=mtime or ctime, page_url=_page_url(url, list_url))


def _images(raw: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for field in ("images", "img"):
        value = as_json(raw.get(field))
        for image in value if isinstance(value, list) else [value]:
            if isinstance(image, dict) and as_str(image.get("u")):
                found.append(as_str(image.get("u")))
    return tuple(dict.fromkeys(found))


def _page_url(url: str, list_url: str) -> str:
    """Where the item's page is read: the item's URL, or for a list saved as a local file,
    the file of the same name beside it."""
    list_parts = urlsplit(list_url)
    if list_parts.scheme != "file":
        return url
    name = posixpath.basename(urlsplit(url).path)
    folder = posixpath.dirname(list_parts.path)
    return urlunsplit(("file", list_parts.netloc, posixpath.join(folder, name), "", ""))


# --- the article page --------------------------------------------------------------


def read_article_page(entry: ParsedEntry, body: bytes, content_type: str | None) -> ParsedEntry:
    """The list's entry completed with its page: the full body of #artibody (between the
    原始正文 markers; #article on older pages), the page's title when the list's is missing
    or cut short, its date and outlet when the list has none."""
    import lxml.html
    from lxml import etree

    from ..parse import decode

    text = decode(body, content_type=_with_meta_charset(body, content_type))
    begin, end = _BODY_BEGIN.search(text), _BODY_END.search(text)
    try:
        page = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError("no_article", f"the page is not HTML: {exc}") from exc
    article = None
    if begin and end and begin.end() < end.start():
        fragment = lxml.html.fragment_fromstring(
            text[begin.end() : end.start()], create_parent="div"
        )
        found = _by_ids(fragment)
        article = fragment if found is None else found
    else:
        article = _by_ids(page)
    if article is None:
        raise ParseError("no_article", "the page has no #artibody or #article")
    inner = (html.escape(article.text) if article.text else "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in article
    )
    page_title = _first_text(page.xpath(sina.PAGE_TITLE_XPATH)) or _first_text(
        page.xpath(sina.PAGE_OG_TITLE_XPATH)
    )
    return replace(
        entry,
        content_html=inner,
        title=_title(entry.title, page_title),
        published_raw=entry.published_raw or _first_text(page.xpath(sina.PAGE_PUBLISHED_XPATH)),
        outlet=entry.outlet or _first_text(page.xpath(sina.PAGE_SOURCE_XPATH)),
    )


def _by_ids(root: Any) -> Any:
    for element_id in sina.PAGE_BODY_IDS:
        found = root.xpath("descendant-or-self::*[@id=$id]", id=element_id)
        if found:
            return found[0]
    return None


def _first_text(found: Any) -> str | None:
    for value in found if isinstance(found, list) else []:
        text = value if isinstance(value, str) else value.text_content()
        text = " ".join(str(text).split())
        if text:
            return text
    return None


def _title(listed: str | None, page: str | None) -> str | None:
    """The list's title, checked against the page's: the page's wins when the list's is
    missing or cut short (ends in an ellipsis, or is a prefix of the page's)."""
    if not listed or not page:
        return listed or page
    stem = listed.strip()
    for mark in _TRUNCATED:
        stem = stem.removesuffix(mark).rstrip()
    if page.startswith(stem) and len(page) > len(stem):
        return page
    return listed


def _with_meta_charset(body: bytes, content_type: str | None) -> str | None:
    """The HTTP charset if any, else the page's <meta charset>: gb2312/gbk labels are read
    as GB18030 by decode(); valid UTF-8 wins over any label."""
    if content_type and "charset" in content_type.lower():
        return content_type
    m = _META_CHARSET.search(body[:4096])
    if not m:
        return content_type
    return f"text/html; charset={m.group(1).decode('ascii', 'replace')}"
