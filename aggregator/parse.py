"""Parse stage: feed bytes → ParsedFeed. Decode ourselves, refuse entities, then feedparser.

We own the decoding (feedparser lets a wrong HTTP charset win and turns one bad GBK byte into
ISO-8859-2), refuse internal DTD subsets before any parser sees them (entity expansion), strip
XML-illegal control characters (one would break the whole feed), and hand feedparser UTF-8 bytes.
No feedparser dict leaves this module.

Bozo policy: a document with a feed version and entries is used even if not well-formed. If it is
truncated (no closing root tag), its last entry may be cut short and is dropped; the entries
before it are kept. Not a feed (no version, e.g. an HTML error page) → `not_a_feed`; not
well-formed with no usable entry → `malformed`; a well-formed feed with zero entries is valid.
"""

from __future__ import annotations

import codecs
import html
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urljoin

import feedparser

from .errors import ParseError
from .models import ParsedEntry, ParsedFeed

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]{0,200}?\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_DECL_ENCODING_TEXT = re.compile(r"""(^\s*<\?xml[^>]{0,200}?encoding\s*=\s*)(["'])[^"']*\2""")
# XML 1.0 Char production minus what we can represent: C0 controls other than \t \n \r,
# lone surrogates and U+FFFE/U+FFFF.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_ROOT_CLOSE = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*(?:<!--.*?-->\s*)*$", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_LOOKS_HTML = re.compile(r"<(?:!doctype\s+html|html[\s>]|body[\s>]|head[\s>])", re.IGNORECASE)
# Labels that name a subset of GB18030: decoding with the superset can only do better.
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "x-gbk", "euc-cn", "hz-gb-2312"})
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp)(?:$|[?#])", re.IGNORECASE)
_HIGH_BYTES = bytes(range(0x80, 0x100))
# Share of U+FFFD tolerated when no encoding decodes cleanly (a few corrupt bytes in a big feed).
_MAX_REPLACED = 0.01


def parse_feed(body: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse one feed document; raise ParseError (empty, entities, encoding, not_a_feed,
    malformed) when it is not usable."""
    if not body.strip():
        raise ParseError("empty", "empty body")
    text = _ILLEGAL_XML.sub("", decode(body, content_type=content_type))
    if not text.strip():
        raise ParseError("empty", "body holds only whitespace or control characters")
    refuse_entities(text)
    data = _DECL_ENCODING_TEXT.sub(r"\1\2utf-8\2", text, count=1).encode("utf-8")
    parsed = feedparser.parse(
        io.BytesIO(data),
        # no content-location: it would resolve plain guids against the feed URL; relative
        # links and image URLs are resolved below instead
        response_headers={"content-type": "application/xml; charset=utf-8"},
        sanitize_html=False,  # nh3 sanitizes later, once, with our allowlist
        resolve_relative_uris=False,
    )
    return _to_feed(parsed, text, url)


# --- decoding -------------------------------------------------------------------------------


def decode(body: bytes, *, content_type: str | None = None) -> str:
    """Decode a feed body to text without mojibake, whatever its labels claim.

    Order: BOM; strict UTF-8 (self-validating: GBK text practically never decodes as UTF-8,
    whereas UTF-8 bytes often "decode" as GB18030 into garbage, so a GB label cannot win over
    valid UTF-8); multi-byte labels from the HTTP charset, then the XML declaration (gb2312/gbk
    read as gb18030); GB18030; 8-bit labels (they decode any bytes, often wrongly). If nothing
    decodes strictly, the candidate with the fewest replacement characters wins if it is
    nearly clean, else ParseError('encoding')."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return _strict(body[len(bom) :], name, bom_name=name)
    if body[:4] in (b"<\0?\0", b"\0<\0?"):  # UTF-16 without BOM, XML declaration first
        return _strict(body, "utf-16-le" if body[0] == 0x3C else "utf-16-be", bom_name="utf-16")
    labels = _labels(body, content_type)
    # an 8-bit label decodes anything, so it only wins when GB18030 cannot read the bytes
    multi = [name for name in labels if not _single_byte(name)]
    candidates = ["utf-8", *multi, "gb18030", *(n for n in labels if n not in multi)]
    for name in candidates:
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    return _least_damaged(body, candidates)


def _labels(body: bytes, content_type: str | None) -> list[str]:
    labels: list[str] = []
    if content_type:
        header = _CHARSET.search(content_type)
        if header:
            labels.append(header.group(1))
    decl = _XML_DECL.match(body[:300])
    declared = _DECL_ENCODING.search(decl.group(0)) if decl else None
    if declared:
        labels.append(declared.group(1).decode("ascii"))
    return [_canonical(label) for label in labels]


def _canonical(label: str) -> str:
    label = label.strip().lower()
    if label in _GB_FAMILY:
        return "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return label  # unknown: skipped when decoding


def _single_byte(name: str) -> bool:
    try:
        return len(_HIGH_BYTES.decode(name, errors="replace")) == len(_HIGH_BYTES)
    except LookupError:
        return False


def _strict(data: bytes, name: str, *, bom_name: str) -> str:
    try:
        return data.decode(name)
    except UnicodeDecodeError as exc:
        raise ParseError("encoding", f"body marked {bom_name} does not decode: {exc}") from exc


def _least_damaged(body: bytes, candidates: Iterable[str]) -> str:
    best: str | None = None
    for name in dict.fromkeys(candidates):
        try:
            text = body.decode(name, errors="replace")
        except LookupError:
            continue
        if best is None or text.count("\ufffd") < best.count("\ufffd"):
            best = text
    if best is None or best.count("\ufffd") > max(1, len(best) * _MAX_REPLACED):
        raise ParseError(
            "encoding", "body does not decode as UTF-8, its declared charset or GB18030"
        )
    return best


# --- entity guard ---------------------------------------------------------------------------


def refuse_entities(text: str) -> None:
    """Raise ParseError('entities') for a DOCTYPE with an internal subset, or any <!ENTITY
    outside CDATA: entity expansion must never reach a parser."""
    if _doctype_has_subset(text) or _ENTITY_DECL.search(_CDATA.sub("", text)):
        raise ParseError("entities", "document declares entities (DTD internal subset)")


def _doctype_has_subset(text: str) -> bool:
    """Walk the prolog (declaration, comments, PIs) to the DOCTYPE, if any."""
    pos, end = 0, len(text)
    while pos < end:
        if text[pos].isspace() or text[pos] == "\ufeff":
            pos += 1
        elif text.startswith("<?", pos):
            pos = _after(text, "?>", pos)
        elif text.startswith("<!--", pos):
            pos = _after(text, "-->", pos)
        elif text[pos : pos + 9].upper() == "<!DOCTYPE":
            return _subset_opens(text, pos + 9)
        else:
            return False
    return False


def _after(text: str, closer: str, pos: int) -> int:
    found = text.find(closer, pos)
    return len(text) if found < 0 else found + len(closer)


def _subset_opens(text: str, pos: int) -> bool:
    """True if the DOCTYPE starting before `pos` opens '[' before its closing '>'."""
    quote = ""
    for char in text[pos:]:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "[":
            return True
        elif char == ">":
            return False
    return False


# --- feedparser result → ParsedFeed -----------------------------------------------------------


def _to_feed(parsed: Any, text: str, url: str) -> ParsedFeed:
    version = str(_get(parsed, "version") or "")
    entries = list(_get(parsed, "entries") or [])
    bozo = bool(_get(parsed, "bozo"))
    if not version:
        if bozo and not entries and not _LOOKS_HTML.search(text[:4096]):
            raise ParseError("malformed", f"not well-formed XML: {_bozo_reason(parsed)}")
        raise ParseError("not_a_feed", "no RSS or Atom document (an HTML page?)")
    if bozo and entries and not _ROOT_CLOSE.search(text[-4096:]):
        entries = entries[:-1]  # truncated document: its last entry may be cut short
    if bozo and not entries:
        raise ParseError("malformed", f"no usable entry: {_bozo_reason(parsed)}")
    feed = _get(parsed, "feed") or {}
    return ParsedFeed(
        title=_text(_get(feed, "title")),
        link=_url(url, _get(feed, "link")),
        version=version,
        ttl_minutes=_ttl(_get(feed, "ttl")),
        entries=tuple(_entry(entry, url, version) for entry in entries),
    )


def _bozo_reason(parsed: Any) -> str:
    exc = _get(parsed, "bozo_exception")
    return str(exc) if exc is not None else "unknown"


def _entry(entry: Mapping[str, Any], url: str, version: str) -> ParsedEntry:
    return ParsedEntry(
        guid=_text(_get(entry, "id")),
        link=_url(url, _get(entry, "link")),
        title=_title(entry, version),
        content_html=_content_html(entry),
        published_raw=_text(_get(entry, "published")),
        updated_raw=_text(_get(entry, "updated")),
        author=_text(_get(entry, "author")),
        image_urls=_images(entry, url),
    )


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    """Plain dict lookup: FeedParserDict's own aliases (updated → published) warn and guess."""
    return dict.get(mapping, key) if isinstance(mapping, dict) else mapping.get(key)


def _title(entry: Mapping[str, Any], version: str) -> str | None:
    """The title text. Atom says when a title is HTML; RSS titles are taken as written."""
    title = _get(entry, "title")
    detail = _get(entry, "title_detail") or {}
    if title and version.startswith("atom") and "html" in str(_get(detail, "type") or ""):
        title = html.unescape(_TAG.sub("", str(title)))
    return _text(title)


def _content_html(entry: Mapping[str, Any]) -> str:
    """content:encoded / Atom content, else summary/description; plain text is escaped."""
    contents = [c for c in _get(entry, "content") or [] if _get(c, "value")]
    contents.sort(key=lambda c: "html" not in str(_get(c, "type")))  # HTML first, stable
    if contents:
        return _as_html(str(_get(contents[0], "value")), str(_get(contents[0], "type")))
    detail = _get(entry, "summary_detail") or {}
    summary = _get(entry, "summary")
    return _as_html(str(summary), str(_get(detail, "type"))) if summary else ""


def _as_html(value: str, mime: str) -> str:
    return html.escape(value, quote=False) if mime == "text/plain" else value


def _images(entry: Mapping[str, Any], url: str) -> tuple[str, ...]:
    found: list[str] = []
    for link in _get(entry, "links") or []:
        href = _get(link, "href")
        if _get(link, "rel") == "enclosure" and _is_image(_get(link, "type"), href):
            found.append(str(href))
    for thumb in _get(entry, "media_thumbnail") or []:
        if _get(thumb, "url"):
            found.append(str(_get(thumb, "url")))
    for media in _get(entry, "media_content") or []:
        medium, media_url = _get(media, "medium"), _get(media, "url")
        if media_url and (
            medium == "image" or (not medium and _is_image(_get(media, "type"), media_url))
        ):
            found.append(str(media_url))
    absolute = (_url(url, u) for u in found)
    return tuple(dict.fromkeys(u for u in absolute if u))


def _is_image(mime: object, href: object) -> bool:
    if not href:
        return False
    if mime:
        return str(mime).lower().startswith("image/")
    return bool(_IMAGE_EXT.search(str(href)))


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _url(base: str, value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    text = text.strip()
    return urljoin(base, text) if base else text


def _ttl(value: object) -> int | None:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit():
        return None
    minutes = int(text)
    return minutes if 0 < minutes <= 7 * 24 * 60 else None  # absurd TTLs are ignored
