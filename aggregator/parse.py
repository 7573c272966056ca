"""Parse stage: feed bytes → ParsedFeed. Decode, refuse entities, then lxml or feedparser.

We own the decoding (feedparser lets a wrong HTTP charset win and turns one bad GBK byte into
ISO-8859-2), refuse internal DTD subsets before any parser sees them (entity expansion), strip
XML-illegal control characters (one would break the whole feed), and hand UTF-8 bytes to a parser:
first an lxml fast path for the well-formed RSS 2.0 / Atom 1.0 shapes it fully understands
(~10x faster), else feedparser. Both give the same ParsedFeed for what the fast path accepts.
No feedparser dict leaves this module.

Bozo policy: a document with a feed version and entries is used even if not well-formed. If it is
truncated (no closing root tag), its last entry may be cut short and is dropped; the entries
before it are kept. Not a feed (no version, e.g. an HTML error page) → `not_a_feed`; not
well-formed with no usable entry → `malformed`; a well-formed feed with zero entries is valid.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin
from xml.sax.saxutils import escape

from lxml import etree

from .errors import ParseError
from .models import ParsedEntry, ParsedFeed
from .urls import redact
from .xmlchars import is_xml_char, join_surrogate_refs, xml_chars_only

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]{0,200}?\?>")
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
# Unbounded: a declaration longer than the one read for its label must still lose its encoding
# (lxml would read UTF-8 bytes as GBK); the scan stops at the first '>'.
_DECL_ENCODING_TEXT = re.compile(r"""(^\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
# leading zeros are outside the groups: &#0000065; is 'A'
_BAD_CHAR_REF = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]+)|0*([0-9]+));")
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_ENTITY_DECL = re.compile(r"<!ENTITY", re.IGNORECASE)
_ROOT_CLOSE = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*(?:<!--.*?-->\s*)*$", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
# An attribute feedparser takes for a base URL (xml:base, or base=): anywhere in the text,
# escaped markup too (a needless look costs a second parse, nothing else).
_BASE_ATTR = re.compile(r"base\s*=", re.IGNORECASE)
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
    text, data = _prepare(body, content_type)
    fast = _parse_fast(data, url)
    return fast if fast is not None else _parse_feedparser(data, text, url)


def _prepare(body: bytes, content_type: str | None) -> tuple[str, bytes]:
    """Decoded text (for the bozo policy) and the UTF-8 bytes both parsers read."""
    if not body.strip():
        raise ParseError("empty", "empty body")
    text = xml_chars_only(decode(body, content_type=content_type))
    if not text.strip():
        raise ParseError("empty", "body holds only whitespace or control characters")
    refuse_entities(text)
    if "&#" in text:
        text = _BAD_CHAR_REF.sub(_replace_bad_ref, join_surrogate_refs(text))
    return text, _utf8_declared(text).encode()  # str.encode() is UTF-8


def _utf8_declared(text: str) -> str:
    """`text` with its XML declaration's encoding, if any, made utf-8. The pattern is
    anchored at the start, so it is matched there only: ``sub`` would try (and fail) a match
    at every character of the document, ~3 % of a feed's whole preparation."""
    m = _DECL_ENCODING_TEXT.match(text)
    return text if m is None else m.expand(r"\1\2utf-8\2") + text[m.end() :]


def _replace_bad_ref(m: re.Match[str]) -> str:
    """A character reference to no XML character (a surrogate, beyond U+10FFFF, a control)
    would make the whole document unusable to both parsers: it becomes U+FFFD instead."""
    digits = m.group(1) or m.group(2)
    # beyond U+10FFFF, and no int() of a huge number (any bound from 7 to 4,300 digits works)
    if len(digits) > 8:  # pragma: no mutate (8 or 9 digits are beyond U+10FFFF as well)
        return "\ufffd"
    code = int(digits, 16) if m.group(1) else int(digits)
    if code > 0x10FFFF or not is_xml_char(chr(code)) or code == 0x7F:  # NUL is no XML char
        return "\ufffd"
    return m.group(0)


def _parse_feedparser(data: bytes, text: str, url: str) -> ParsedFeed:
    """The general path: any version, any breakage feedparser can make sense of."""
    try:
        # no content-location: it would resolve plain guids against the feed URL; relative
        # links and image URLs are resolved below instead
        parsed = _feedparser(data, None)
        bases = _content_bases(data, url) if _BASE_ATTR.search(text) else None
    except (ValueError, OverflowError) as exc:
        # its loose parser crashes on some character references (&#xD800; &#x110000;)
        raise ParseError("malformed", f"feedparser failed: {exc!r}") from exc
    return _to_feed(parsed, text, url, bases)


def _feedparser(data: bytes, location: str | None) -> Any:
    import feedparser  # ~30-60 ms to import: only for documents the fast path leaves

    headers = {"content-type": "application/xml; charset=utf-8"}
    if location is not None:
        headers["content-location"] = location
    return feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,  # nh3 sanitizes later, once, with our allowlist
        resolve_relative_uris=False,
    )


# Read with the feed's URL as the document's own, feedparser resolves a relative xml:base
# against it, and puts a sibling's back out of scope (with none, an item's xml:base stays in
# force for the items after it). That URL carries a fragment no resolved xml:base keeps, so a
# body whose base is still that URL had no xml:base in scope.
_NO_BASE = "#no-xml-base"


def _content_bases(data: bytes, url: str) -> list[str | None]:
    """The xml:base in scope of each entry's body, absolute (None: none). Read in a second
    parse, of which nothing else is used (the guids it resolved against the feed URL)."""
    document = redact(urldefrag(url).url) + _NO_BASE  # no password in what it resolves
    bases = []
    for entry in _get(_feedparser(data, document), "entries") or []:
        body = _body(entry)
        base = str(_get(body[2], "base") or "") if body is not None else ""
        bases.append(None if base in ("", document) else base)
    return bases


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
    if _doctype_has_subset(text):
        raise ParseError("entities", "document declares entities (DTD internal subset)")
    # a declaration outside CDATA also shows in the raw text: the CDATA pass (a scan of the
    # whole feed) is only needed when the raw text has one
    if _ENTITY_DECL.search(text) and _ENTITY_DECL.search(_CDATA.sub("", text)):
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


def _to_feed(parsed: Any, text: str, url: str, bases: list[str | None] | None) -> ParsedFeed:
    version = str(_get(parsed, "version") or "")
    entries = list(_get(parsed, "entries") or [])
    if bases is None or len(bases) != len(entries):  # (two reads of one document: they agree)
        bases = [None] * len(entries)
    bozo = bool(_get(parsed, "bozo"))
    if not version:
        if bozo and not entries and not _LOOKS_HTML.search(text[:4096]):
            raise ParseError("malformed", f"not well-formed XML: {_bozo_reason(parsed)}")
        raise ParseError("not_a_feed", "no RSS or Atom document (an HTML page?)")
    problem = None
    # after any amount of whitespace, the closing tag and its comments in the last 4 KB (a
    # bounded search: many '</rss><!--' would make a search of the whole text quadratic)
    if bozo and entries and not _ROOT_CLOSE.search(text.rstrip()[-4096:]):
        entries = entries[:-1]  # truncated document: its last entry may be cut short
        problem = f"truncated document: kept its {len(entries)} complete item(s)"
    if bozo and not entries:
        raise ParseError("malformed", f"no usable entry: {_bozo_reason(parsed)}")
    feed = _get(parsed, "feed") or {}
    return ParsedFeed(
        title=_text(_get(feed, "title")),
        link=_url(url, _get(feed, "link")),
        version=version,
        ttl_minutes=_ttl(_get(feed, "ttl")),
        entries=tuple(
            # (zip: a truncated document's last entry is left out)
            _entry(entry, url, version, base)
            for entry, base in zip(entries, bases, strict=False)
        ),
        problem=problem,
    )


def _bozo_reason(parsed: Any) -> str:
    return str(_get(parsed, "bozo_exception"))  # feedparser sets it with every bozo flag


def _entry(
    entry: Mapping[str, Any], url: str, version: str, content_base: str | None
) -> ParsedEntry:
    return ParsedEntry(
        guid=_text(_get(entry, "id")),
        link=_url(url, _get(entry, "link")),
        title=_title(entry, version),
        content_html=_content_html(entry),
        published_raw=_text(_get(entry, "published")),
        updated_raw=_text(_get(entry, "updated")),
        author=_text(_get(entry, "author")),
        image_urls=_images(entry, url),
        content_base=content_base,
    )


def _get(mapping: Any, key: str) -> Any:
    """Plain dict lookup: FeedParserDict's own aliases (updated → published) warn and guess.
    Every mapping feedparser returns is a dict (FeedParserDict subclasses it)."""
    return dict.get(mapping, key)


def _title(entry: Mapping[str, Any], version: str) -> str | None:
    """The title text. Atom says when a title is HTML; RSS titles are taken as written."""
    detail = _get(entry, "title_detail") or {}
    html_typed = version.startswith("atom") and "html" in str(_get(detail, "type"))
    return _title_text(_get(entry, "title"), html_typed)


def _title_text(title: object, html_typed: bool) -> str | None:
    if title and html_typed:
        title = html.unescape(_TAG.sub("", str(title)))
    return _text(title)


def _content_html(entry: Mapping[str, Any]) -> str:
    """The body's HTML; plain text is escaped."""
    body = _body(entry)
    return "" if body is None else _as_html(body[0], body[1])


def _body(entry: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]] | None:
    """content:encoded / Atom content, else summary/description: its value, its type and
    feedparser's details of it (None: the entry has none)."""
    contents = [c for c in _get(entry, "content") or [] if _get(c, "value")]
    contents.sort(key=lambda c: "html" not in str(_get(c, "type")))  # HTML first, stable
    if contents:
        return str(_get(contents[0], "value")), str(_get(contents[0], "type")), contents[0]
    detail = _get(entry, "summary_detail") or {}
    summary = _get(entry, "summary")
    return (str(summary), str(_get(detail, "type")), detail) if summary else None


def _as_html(value: str, mime: str) -> str:
    return escape(value) if mime == "text/plain" else value  # &, < and >; quotes stay


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
        media_url = _get(media, "url")
        if _media_is_image(_get(media, "medium"), _get(media, "type"), media_url):
            found.append(str(media_url))
    return _absolute_unique(url, found)


def _media_is_image(medium: object, mime: object, media_url: object) -> bool:
    return bool(media_url) and (medium == "image" or (not medium and _is_image(mime, media_url)))


def _absolute_unique(url: str, found: Iterable[str]) -> tuple[str, ...]:
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
    return urljoin(base, text.strip())  # without a base, urljoin returns the URL itself


def _ttl(value: object) -> int | None:
    if value is None:
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):  # '²'.isdigit() but int('²') raises
        return None
    minutes = int(text)
    return minutes if 0 < minutes <= 7 * 24 * 60 else None  # absurd TTLs are ignored


# --- fast path: lxml for well-formed RSS 2.0 / Atom 1.0 -------------------------------------
#
# feedparser is pure Python (~1,000 entries/s); lxml parses the same items ~25x faster. The fast
# path reproduces, field by field, what `_parse_feedparser` returns for the documents it accepts
# (the feedparser 6.0 semantics it mirrors are noted where they are not obvious) and returns None
# for anything else: another version, not well-formed, a DOCTYPE, an element, attribute or
# namespace it does not know, a repeated single-valued element, xhtml or base64 content, xml:base.
# tests/test_parse.py checks both paths agree on every fixture and on generated documents.

_ATOM_NS = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# The namespaces understood, under the prefix feedparser files them (element names below are
# spelled with these prefixes). A document may declare no others, and only under these prefixes:
# feedparser maps a document's own prefixes onto its standard ones.
_KNOWN_NS = {
    _ATOM_NS: "atom",
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://search.yahoo.com/mrss/": "media",
    "http://search.yahoo.com/mrss": "media",
}
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# feedparser maps C1 controls to the Windows-1252 characters they were meant to be
_C1 = re.compile("[\x80-\x9f]")
_CP1252 = {
    c: bytes([c]).decode("cp1252")
    for c in range(0x80, 0xA0)
    if c not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_URI_SLASHES = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")  # feedparser's _urifixer
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
_RSS_CHANNEL_IGNORED = frozenset(
    {
        "description",
        "generator",
        "language",
        "lastbuilddate",
        "pubdate",
        "webmaster",
        "managingeditor",
        "copyright",
        "docs",
    }
)
_IMAGE_CHILDREN = frozenset({"title", "link", "url", "width", "height", "description"})
_ATOM_FEED_IGNORED = frozenset({"atom:updated", "atom:generator", "atom:icon", "atom:logo"})
_ATOM_TEXT_CONSTRUCTS = frozenset({"atom:title", "atom:subtitle", "atom:rights"})


class _Unsupported(Exception):
    """Raised inside the fast path: leave this document to feedparser."""


def _parse_fast(data: bytes, url: str) -> ParsedFeed | None:
    """The same ParsedFeed `_parse_feedparser` gives, or None to mean 'use feedparser'."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        recover=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.LxmlError:  # not well-formed, or beyond lxml's safety limits
        return None
    docinfo = root.getroottree().docinfo
    doctype = getattr(docinfo, "doctype", "")  # missing from lxml-stubs
    if doctype or docinfo.xml_version != "1.0" or not _namespaces_supported(root, data):
        return None
    try:
        if _name(root) == "rss":  # any case: feedparser lowercases names
            return _fast_rss(root, url)
        if root.tag == f"{{{_ATOM_NS}}}feed" and None in root.nsmap:
            return _fast_atom(root, url)
    except _Unsupported:
        return None
    return None


def _namespaces_supported(root: etree._Element, data: bytes) -> bool:
    """Only known namespaces under their standard prefixes (Atom may be the default), the
    same on every element as on the root: feedparser maps namespaces by the prefixes declared,
    and takes its version from the first declaration of an RSS 1.0 / Atom namespace."""
    nsmap = root.nsmap
    for prefix, uri in nsmap.items():
        standard = _KNOWN_NS.get(uri)
        if standard is None or (prefix != standard and not (prefix is None and uri == _ATOM_NS)):
            return False
    if data.count(b"xmlns") == len(nsmap):
        return True  # no other declaration anywhere
    # "xmlns" also occurs in escaped HTML: check the elements themselves
    return all(el.nsmap == nsmap for el in root.iter())


def _name(el: etree._Element) -> str:
    """feedparser's name for an element: standard prefix, lowercase local name."""
    tag = el.tag
    if not isinstance(tag, str):
        raise _Unsupported
    if tag[0] != "{":
        return tag.lower()
    uri, _, local = tag[1:].partition("}")
    prefix = _KNOWN_NS.get(uri)
    if prefix is None:
        raise _Unsupported  # the implicit xml: namespace
    return f"{prefix}:{local.lower()}"


def _attrs(el: etree._Element, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    """Attributes as feedparser sees them: lowercase names, lowercase rel/type values."""
    out: dict[str, str] = {}
    for key, value in el.attrib.items():
        if key == _XML_LANG:
            continue
        name = key.lower()
        if name not in allowed:
            raise _Unsupported  # xml:base, base=, namespaced, or unknown meaning
        text = str(value)
        out[name] = text.lower() if name in ("rel", "type") else text
    return out


def _leaf(el: etree._Element, allowed: frozenset[str] = frozenset()) -> str:
    """The text of an element without children (and no attribute beyond `allowed`)."""
    if len(el):
        raise _Unsupported
    if el.attrib:
        _attrs(el, allowed)
    return el.text or ""


def _fp_text(raw: str, *, uri: bool = False) -> str:
    """What feedparser's pop() makes of an element's text: stripped, URI slashes fixed,
    latin-1-read UTF-8 repaired, C1 controls read as Windows-1252."""
    text = raw.strip()
    if uri and text:
        text = _URI_SLASHES.sub(r"\1\3", text)
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252) if _C1.search(text) else text


def _once(seen: set[str], name: str) -> None:
    if name in seen:
        raise _Unsupported  # feedparser's handling of repeats depends on order and depth
    seen.add(name)


def _content_type(attrs: Mapping[str, str], default: str) -> str:
    """feedparser's map_content_type, limited to the types handled as plain text."""
    mime = attrs.get("type", default)  # _attrs lowercased the type
    mime = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(mime, mime)
    if mime not in ("text/plain", "text/html"):
        raise _Unsupported  # xhtml is markup, other types are base64
    return mime


# --- fast path: RSS 2.0 ---


def _fast_rss(root: etree._Element, url: str) -> ParsedFeed | None:
    if not _attrs(root, frozenset({"version"})).get("version", "").startswith("2."):
        return None  # feedparser's 'rss20' is any 2.x version attribute
    children = list(root)
    if len(children) != 1 or _name(children[0]) != "channel" or children[0].attrib:
        return None
    title = link = ttl = None
    seen: set[str] = set()
    entries: list[ParsedEntry] = []
    for el in children[0]:
        name = _name(el)
        if name == "item":
            entries.append(_fast_rss_item(el, url))
        elif name == "title":
            _once(seen, name)
            title = _fp_text(_leaf(el))
        elif name == "link":
            _once(seen, name)
            link = _LINK_REF.sub(r"&\1", _fp_text(_leaf(el), uri=True))
        elif name == "ttl":
            _once(seen, name)
            ttl = _fp_text(_leaf(el))
        elif name == "atom:link":
            # RSSHub's self link; an alternate one would become the channel link
            if len(el) or _attrs(el, frozenset({"href", "rel", "type"})).get("rel") != "self":
                raise _Unsupported
        elif name == "category":
            _leaf(el, frozenset({"domain"}))
        elif name == "image":
            _once(seen, name)
            _image(el)
        elif name in _RSS_CHANNEL_IGNORED:
            _once(seen, name)
            _leaf(el)
        else:
            raise _Unsupported
    return ParsedFeed(
        title=_text(title),
        link=_url(url, link),
        version="rss20",
        ttl_minutes=_ttl(ttl),
        entries=tuple(entries),
    )


def _image(el: etree._Element) -> None:
    """A channel image: its title and link are the image's, not the channel's."""
    if el.attrib:
        raise _Unsupported
    names: set[str] = set()
    for child in el:
        name = _name(child)
        if name not in _IMAGE_CHILDREN:
            raise _Unsupported  # feedparser would leave image mode on any other tag
        _once(names, name)
        _leaf(child)


def _fast_rss_item(item: etree._Element, url: str) -> ParsedEntry:
    if item.attrib:
        raise _Unsupported
    seen: set[str] = set()
    title = link = guid = description = content = published = author = None
    guid_is_link = False
    enclosures: list[str] = []
    thumbnails: list[str] = []
    media: list[str] = []
    for el in item:
        name = _name(el)
        if name == "title":
            _once(seen, name)
            title = _fp_text(_leaf(el))
        elif name == "link":
            _once(seen, name)
            raw = _fp_text(_leaf(el), uri=True).replace("&amp;", "&")
            link = _LINK_REF.sub(r"&\1", raw)
        elif name == "guid":
            _once(seen, name)
            guid_is_link = (
                _attrs(el, frozenset({"ispermalink"})).get("ispermalink", "true") == "true"
            )
            guid = _fp_text(_leaf(el, frozenset({"ispermalink"})), uri=guid_is_link)
        elif name == "description":
            _once(seen, name)
            description = _fp_text(_leaf(el))
        elif name == "content:encoded":
            _once(seen, name)
            content = _fp_text(_leaf(el))
        elif name == "pubdate":
            _once(seen, name)
            published = _fp_text(_leaf(el))
        elif name in ("author", "dc:creator"):
            _once(seen, "author")
            author = _fp_text(_leaf(el))
        elif name == "enclosure":
            _enclosure(el, enclosures)
        elif name == "media:thumbnail":
            _leaf(el, frozenset({"url", "width", "height", "time"}))
            thumb = _attrs(el, frozenset({"url", "width", "height", "time"}))
            if "url" not in thumb:
                raise _Unsupported  # feedparser would take the text as the URL
            if thumb["url"]:
                thumbnails.append(thumb["url"])
        elif name == "media:content":
            _media_content(el, media)
        elif name == "category":
            _leaf(el, frozenset({"domain"}))
        elif name == "comments":
            _leaf(el)
        else:
            raise _Unsupported
    if link is None and guid_is_link:
        link = guid  # feedparser: a permalink guid is the link when there is no <link>
    # content:encoded wins; else the description (feedparser's summary), both HTML
    return ParsedEntry(
        guid=_text(guid),
        link=_url(url, link),
        title=_text(title),
        content_html=content or description or "",
        published_raw=_text(published),
        updated_raw=None,
        author=_text(author),
        image_urls=_absolute_unique(url, [*enclosures, *thumbnails, *media]),
    )


def _enclosure(el: etree._Element, found: list[str]) -> None:
    allowed = frozenset({"url", "length", "type"})
    _leaf(el, allowed)
    attrs = _attrs(el, allowed)
    href = attrs.get("url")
    if href and _is_image(attrs.get("type"), href):
        found.append(href)


def _media_content(el: etree._Element, found: list[str]) -> None:
    allowed = frozenset(
        {"url", "type", "medium", "width", "height", "filesize", "duration", "bitrate", "lang"}
    )
    _leaf(el, allowed)
    attrs = _attrs(el, allowed)
    if _media_is_image(attrs.get("medium"), attrs.get("type"), attrs.get("url")):
        found.append(attrs["url"])


# --- fast path: Atom 1.0 ---

_LINK_ATTRS = frozenset({"href", "rel", "type", "hreflang", "title", "length"})


def _fast_atom(root: etree._Element, url: str) -> ParsedFeed:
    _attrs(root)
    title = feed_id = alternate = None
    seen: set[str] = set()
    entries: list[ParsedEntry] = []
    for el in root:
        name = _name(el)
        if name == "atom:entry":
            entries.append(_fast_atom_entry(el, url))
        elif name == "atom:link":
            href, rel, mime = _atom_link(el)
            if rel == "alternate" and mime in _HTML_TYPES:
                alternate = href
        elif name == "atom:title":
            _once(seen, name)
            title, _ = _atom_text(el)
        elif name == "atom:id":
            _once(seen, name)
            feed_id = _fp_text(_leaf(el), uri=True)
        elif name in _ATOM_TEXT_CONSTRUCTS:  # subtitle, rights: checked, not read
            _atom_text(el)
        elif name in _ATOM_FEED_IGNORED:
            _once(seen, name)
            _leaf(el, frozenset({"uri", "version"}))
        elif name == "atom:author":  # checked, not read
            _atom_author(el)
        elif name == "atom:category":
            _leaf(el, frozenset({"term", "scheme", "label"}))
        else:
            raise _Unsupported
    return ParsedFeed(
        title=_text(title),
        # feedparser: the last alternate HTML link, else the id (a guid is taken as a link)
        link=_url(url, alternate if alternate is not None else feed_id),
        version="atom10",
        ttl_minutes=None,
        entries=tuple(entries),
    )


def _atom_text(el: etree._Element) -> tuple[str, str]:
    """A text construct's text and content type (text/plain or text/html)."""
    mime = _content_type(_attrs(el, frozenset({"type"})), "text/plain")
    return _fp_text(_leaf(el, frozenset({"type"}))), mime


def _atom_link(el: etree._Element) -> tuple[str, str, str]:
    """href (slashes fixed as feedparser does), rel and type with feedparser's defaults."""
    if len(el):
        raise _Unsupported
    attrs = _attrs(el, _LINK_ATTRS)
    if "href" not in attrs:
        raise _Unsupported  # feedparser would read the element text as the link
    rel = attrs.get("rel", "alternate")
    # feedparser's default type (a self link's, application/atom+xml, is never read here)
    mime = attrs.get("type", "text/html")
    mime = {"html": "text/html", "xhtml": "application/xhtml+xml"}.get(mime, mime)
    href = attrs["href"]
    return _URI_SLASHES.sub(r"\1\3", href), rel, mime


def _fast_atom_entry(entry: etree._Element, url: str) -> ParsedEntry:
    _attrs(entry)
    seen: set[str] = set()
    title = entry_id = alternate = published = updated = author = None
    title_html = False  # pragma: no mutate (read only with a title, which sets it)
    content: tuple[str, str] | None = None
    summary: tuple[str, str] | None = None
    enclosures: list[str] = []
    for el in entry:
        name = _name(el)
        if name == "atom:title":
            _once(seen, name)
            title, mime = _atom_text(el)
            title_html = "html" in mime
        elif name == "atom:link":
            href, rel, mime = _atom_link(el)
            if rel == "alternate" and mime in _HTML_TYPES:
                alternate = href
            elif rel == "enclosure" and _is_image(mime, href):
                enclosures.append(href)
        elif name == "atom:id":
            _once(seen, name)
            entry_id = _fp_text(_leaf(el), uri=True)
        elif name == "atom:published":  # repeated: the last wins, as in feedparser
            published = _fp_text(_leaf(el))
        elif name == "atom:updated":
            updated = _fp_text(_leaf(el))
        elif name == "atom:author":
            _once(seen, name)
            author = _atom_author(el)
        elif name == "atom:content":
            _once(seen, name)
            content = _atom_text(el)
        elif name == "atom:summary":
            _once(seen, name)
            summary = _atom_text(el)
        elif name == "atom:category":
            _leaf(el, frozenset({"term", "scheme", "label"}))
        else:
            raise _Unsupported
    return ParsedEntry(
        guid=_text(entry_id),
        link=_url(url, alternate if alternate is not None else entry_id),
        title=_title_text(title, title_html),
        content_html=_atom_content_html(content, summary),
        published_raw=_text(published),
        updated_raw=_text(updated),
        author=_text(author),
        image_urls=_absolute_unique(url, enclosures),
    )


def _atom_content_html(content: tuple[str, str] | None, summary: tuple[str, str] | None) -> str:
    """Non-empty content, else non-empty summary; plain text escaped (as `_content_html`)."""
    for part in (content, summary):
        if part is not None and part[0]:
            return _as_html(*part)
    return ""


def _atom_author(el: etree._Element) -> str:
    """feedparser's entry 'author': 'name (email)', name or email, else the author element's
    own text."""
    if el.attrib:
        _attrs(el)
    details: dict[str, str] = {}
    own = [el.text or ""]
    for child in el:
        name = _name(child)
        if name not in ("atom:name", "atom:email", "atom:uri"):
            raise _Unsupported
        # a repeated name or email: the last wins, as in feedparser
        details[name] = _leaf(child).strip()  # name/email are not post-processed
        own.append(child.tail or "")
    who, email = details.get("atom:name"), details.get("atom:email")
    if who and email:
        return f"{who} ({email})"
    return who or email or _fp_text("".join(own))
