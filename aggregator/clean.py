"""HTML cleanup of article bodies and the choice of the cover image.

Pipeline: strip XML-illegal characters → parse the fragment with lxml → remove junk by
structure (site rules are data, see `SiteRules` and sites/sina.py) → tidy (unwrap <font>,
drop presentation attributes and empty blocks, absolutize URLs) → nh3 allowlist LAST.
The generic cleaner knows no site; adding a site means adding one `SiteRules` value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from .models import CleanedBody
from .sites import sina
from .urls import publishable
from .xmlchars import is_text_char, join_surrogate_refs, xml_safe

_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def _drop_illegal_ref(m: re.Match[str]) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if code > 0x10FFFF or not is_text_char(chr(code)):
        return ""
    return m.group(0)


def _strip_illegal_markup(html: str) -> str:
    """Illegal characters out of raw markup, written literally or as character references."""
    html = xml_safe(html)
    return _CHAR_REF.sub(_drop_illegal_ref, join_surrogate_refs(html)) if "&#" in html else html


@dataclass(frozen=True, slots=True)
class SiteRules:
    """What one site's junk looks like, by structure."""

    junk_classes: frozenset[str] = frozenset()
    junk_comment_spans: tuple[str, ...] = ()
    editor_classes: frozenset[str] = frozenset()
    editor_label: re.Pattern[str] | None = None
    figure_classes: frozenset[str] = frozenset()
    caption_classes: frozenset[str] = frozenset()
    junk_images: tuple[re.Pattern[str], ...] = ()
    bold_markers: tuple[tuple[str, str], ...] = ()  # (attribute, token) meaning bold text
    junk_id_prefixes: tuple[str, ...] = ()  # elements whose id starts so are removed
    junk_block_prefixes: tuple[str, ...] = ()  # a paragraph opening so is removed


def merge_rules(rules: Iterable[SiteRules]) -> SiteRules:
    """One rule set applying every site's rules (they key on structure, so they compose)."""
    rules = tuple(rules)
    labels = [r.editor_label.pattern for r in rules if r.editor_label is not None]
    return SiteRules(
        junk_classes=frozenset().union(*(r.junk_classes for r in rules)),
        junk_comment_spans=tuple(s for r in rules for s in r.junk_comment_spans),
        editor_classes=frozenset().union(*(r.editor_classes for r in rules)),
        editor_label=re.compile("|".join(f"(?:{p})" for p in labels)) if labels else None,
        figure_classes=frozenset().union(*(r.figure_classes for r in rules)),
        caption_classes=frozenset().union(*(r.caption_classes for r in rules)),
        junk_images=tuple(p for r in rules for p in r.junk_images),
        bold_markers=tuple(m for r in rules for m in r.bold_markers),
        junk_id_prefixes=tuple(p for r in rules for p in r.junk_id_prefixes),
        junk_block_prefixes=tuple(p for r in rules for p in r.junk_block_prefixes),
    )


SINA_RULES = SiteRules(
    junk_classes=sina.JUNK_CLASSES | sina.AD_CLASSES,
    junk_comment_spans=sina.JUNK_COMMENT_SPANS,
    editor_classes=sina.EDITOR_CLASSES,
    editor_label=sina.EDITOR_LABEL,
    figure_classes=sina.FIGURE_CLASSES,
    caption_classes=sina.CAPTION_CLASSES,
    junk_images=sina.JUNK_IMAGES,
    bold_markers=sina.BOLD_MARKERS,
    junk_id_prefixes=sina.JUNK_ID_PREFIXES,
    junk_block_prefixes=sina.JUNK_BLOCK_PREFIXES,
)
DEFAULT_RULES = merge_rules([SINA_RULES])

# --- generic knowledge (any site) ---------------------------------------------------------

# Removed with everything inside: active content, forms, embedded players, invisible markup.
_DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "video",
        "audio",
        "canvas",
        "svg",
        "math",
        "head",
        "title",
        "meta",
        "link",
        "base",
    }
)
# Presentation wrappers: keep their text, lose the tag.
_UNWRAP = frozenset({"font", "center", "big", "basefont"})
# Dropped when they hold neither text nor an image.
_DROP_IF_EMPTY = frozenset(
    {"p", "div", "span", "section", "article", "strong", "b", "em", "i", "u", "a", "figure",
     "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "figcaption"}
)  # fmt: skip
# Tags cleaned even without attributes (the others are left as they are when bare).
_NOT_BARE = _DROP_WITH_CONTENT | _UNWRAP | {"img"}
_CONTAINERS = frozenset({"div", "section", "article"})
_CONTENT_LEAVES = frozenset({"img", "table", "hr", "pre"})
# Block elements: a line break between them in the plain text.
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "figure",
     "figcaption", "blockquote", "pre", "table", "ul", "ol", "section", "article", "hr"}
)  # fmt: skip

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "abbr": {"title"},
}
# The last line of defence, whatever the steps before missed.
_SANITIZER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style", "noscript", "iframe", "template", "textarea", "title"},
    attributes=_ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
    # Sina's image host refuses requests carrying a foreign Referer.
    set_tag_attribute_values={"img": {"referrerpolicy": "no-referrer"}},
)

# Hosts serving random placeholder pictures, never an article's image.
PLACEHOLDER_HOSTS = frozenset(
    {"picsum.photos", "placehold.it", "placehold.co", "via.placeholder.com", "placekitten.com",
     "dummyimage.com", "fakeimg.pl", "loremflickr.com", "placeimg.com", "source.unsplash.com"}
)  # fmt: skip
# Image classes that mark a person or a glyph, not the story.
_NON_COVER_CLASSES = frozenset({"avatar", "author-avatar", "emoji", "icon", "logo"})
_LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-actualsrc")
_DISPLAY_NONE = re.compile(r"display\s*:\s*none", re.I)
_BLANK_RUN = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")
# X X* rather than X+: a pattern opening with a class is searched for by scanning for the
# class, a repeat by trying a match at every character (1.6× slower on article text).
_TEXT_SPACES = re.compile(r"[^\S\n\u3000][^\S\n\u3000]*")


# Per-item limits: far above any real article (Sina's longest are ~100 KB of markup), far
# below what breaks a reader or lxml (10 MB text nodes) — one hostile item cannot stop the
# publishing of the others. Each cut is recorded on the article (`limits`).
MAX_MARKUP = 2_000_000  # characters of an item's raw body read at all
MAX_HTML = 500_000  # characters of cleaned markup (and of plain text) kept
MAX_DEPTH = 64  # elements nested deeper are unwrapped (their text stays)


def clean_html(html: str, base_url: str | None, rules: SiteRules = DEFAULT_RULES) -> CleanedBody:
    """Clean one article body: junk out, URLs absolute, sanitized; plus text, cover, editor."""
    limits: list[str] = []
    if len(html) > MAX_MARKUP:
        html = html[:MAX_MARKUP]
        limits.append(f"body markup over {MAX_MARKUP} characters: cut")
    html = _strip_illegal_markup(html)
    root = _parse_fragment(html)
    if root is None:
        return CleanedBody(html="", text="", cover=None, editor=None, limits=tuple(limits))
    _raw_text_to_pre(root)
    editor = _take_editor(root, rules)
    if any(marker in html for marker in rules.junk_comment_spans):  # else no comment has one
        _drop_comment_spans(root, rules.junk_comment_spans)
    if any(prefix in html for prefix in rules.junk_block_prefixes):  # else none opens so
        _drop_junk_blocks(root, rules.junk_block_prefixes)
    # Comments and processing instructions out in one C call, their following text kept
    # (removed one by one in the walk below, they cost ~5 % of the clean).
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    _clean_tree(root, base_url, rules)
    _drop_empty_and_unwrap(root)
    if _flatten_deep(root, MAX_DEPTH):
        limits.append(f"nesting deeper than {MAX_DEPTH} levels: flattened")
    _tidy_whitespace(root)
    cover = next(_cover_candidates(root, rules), None)
    body = _serialize(root)
    sanitized = xml_safe(_SANITIZER.clean(body)).strip()
    text = _plain_text(root)
    if len(sanitized) > MAX_HTML:
        # Cut, then sanitized again: the cut may split a tag or an entity; nh3 repairs it.
        sanitized = xml_safe(_SANITIZER.clean(sanitized[:MAX_HTML])).strip()
        text = text[:MAX_HTML]
        limits.append(f"cleaned body over {MAX_HTML} characters: cut")
    return CleanedBody(html=sanitized, text=text, cover=cover, editor=editor, limits=tuple(limits))


@cache
def _deeper_than(limit: int) -> etree.XPath:
    """Whether an element lies more than `limit` levels below the context node (*/*/…/*):
    asked in C first, so a tree of usual depth is not walked in Python."""
    return etree.XPath(f"boolean({'/'.join(['*'] * (limit + 1))})")


def _flatten_deep(root: etree._Element, limit: int) -> bool:
    """Unwrap every element nested more than `limit` deep; True when there was one."""
    if not _deeper_than(limit)(root):
        return False
    deep: list[etree._Element] = []
    stack: list[tuple[etree._Element, int]] = [(root, 0)]
    while stack:  # iterative: the nesting may be thousands deep
        el, depth = stack.pop()
        if depth > limit:
            deep.append(el)
        stack.extend((child, depth + 1) for child in el if isinstance(child.tag, str))
    for el in reversed(deep):  # innermost first: each unwrap lifts only kept nodes
        _drop_tag(el)
    return bool(deep)


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_LOOKS_LIKE_DOCUMENT = re.compile(r"^\s*<(?:html|!doctype)", re.I).match  # as lxml.html's
# XPath string-value: all descendant text, the element's own tail excluded.
_TEXT_CONTENT = etree.XPath("string()", smart_strings=False)


def _text_content(el: etree._Element) -> str:
    return str(_TEXT_CONTENT(el))


def _parse_fragment(html: str) -> etree._Element | None:
    """The fragment's nodes under a new <div>, as lxml.html.fragment_fromstring makes them,
    but as plain etree elements: lxml.html looks up a Python element class for every node
    the code touches, a measurable share of the whole clean."""
    if not html.strip():
        return None
    # An XML declaration with an encoding makes lxml refuse a str; it means nothing here.
    html = _XML_DECLARATION.sub("", html)
    parser = _parser()
    if _LOOKS_LIKE_DOCUMENT(html):  # not wrapped by lxml.html either
        return _parse_document(html, parser)
    # What fragments_fromstring does, with its <body> kept as the wrapper: moving the
    # body's children under a new element walks every node they hold (~15 % of the parse).
    try:
        doc = etree.fromstring(f"<html><body>{html}</body></html>", parser)
    except ValueError:
        return None
    bodies = [] if doc is None else [e for e in doc if e.tag == "body"]
    if len(bodies) != 1:  # "</body><body>" in the fragment: as lxml.html refuses it
        return _parse_document(html, parser)
    root = bodies[0]  # libxml2 never gives it attributes: a second <body> is ignored
    root.tag = "div"
    root.tail = None  # what follows a "</body>" in the fragment
    if not (root.text and root.text.strip()):
        root.text = None  # fragments_fromstring keeps no blank leading text
    return root


_PARSERS = threading.local()


def _parser() -> etree.HTMLParser:
    """This thread's HTML parser: a new one per fragment cost ~5 % of the parse (libxml2
    sets up a parser context for each); lxml parsers are not to be shared across threads."""
    parser: etree.HTMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        # huge_tree: without it libxml2 silently drops everything nested deeper than 255.
        parser = _PARSERS.parser = etree.HTMLParser(huge_tree=True)
    return parser


def _parse_document(html: str, parser: etree.HTMLParser) -> etree._Element | None:
    try:
        nodes = lxml.html.fragments_fromstring(html, parser=parser)
    except (etree.ParserError, ValueError):
        return None
    root = parser.makeelement("div")
    if nodes and isinstance(nodes[0], str):
        root.text = nodes.pop(0)
    root.extend(nodes)  # only elements left
    return root


# Obsolete elements whose content is raw text: libxml2 keeps it as text, but serializes it
# escaped inside a tag nh3 reads as raw text again, so it came out escaped twice.
_RAW_TEXT = ("xmp", "plaintext", "listing")
_FRAGMENT_END = "</body></html>"  # lxml's wrapper, swallowed by <plaintext> like the rest


def _raw_text_to_pre(root: etree._Element) -> None:
    """Show such content once, as the preformatted text it is."""
    for el in list(root.iter(*_RAW_TEXT)):
        el.tag = "pre"
        el.attrib.clear()
        for node in (el, *el.iterdescendants()):
            for attr in ("text", "tail"):
                value = getattr(node, attr)
                if value and value.endswith(_FRAGMENT_END):
                    setattr(node, attr, value.removesuffix(_FRAGMENT_END))


_NO_CLASSES: frozenset[str] = frozenset()


def _classes(el: etree._Element) -> frozenset[str]:
    value = el.get("class")
    return frozenset(value.split()) if value else _NO_CLASSES


def _drop_comment_spans(root: etree._Element, markers: tuple[str, ...]) -> None:
    """Remove what lies between the first and last sibling comments holding a marker."""
    if not markers:
        return
    parents = {c.getparent() for c in root.iter(etree.Comment)}
    for parent in parents:
        if parent is None:
            continue
        children = list(parent)
        comments = [
            (i, c.text or "") for i, c in enumerate(children) if isinstance(c, etree._Comment)
        ]
        for marker in markers:
            hits = [i for i, text in comments if marker in text]
            if len(hits) < 2:
                continue
            for el in children[hits[0] + 1 : hits[-1]]:
                if el.getparent() is parent:
                    _remove(el)


_LEAF_BLOCKS = ("p", "div")
_LEADING_SPACE = " \t\r\n\u3000\xa0"


def _drop_junk_blocks(root: etree._Element, prefixes: tuple[str, ...]) -> None:
    """Remove paragraphs (a <p>, or a <div> holding no other block) whose text opens with
    one of `prefixes`: topic links and disclaimers, not article text."""
    for el in [e for e in root.iter(*_LEAF_BLOCKS) if e is not root]:
        if el.tag == "div" and next(el.iterdescendants(*_LEAF_BLOCKS), None) is not None:
            continue
        if _text_content(el).lstrip(_LEADING_SPACE).startswith(prefixes):
            _remove(el)


def _remove(el: etree._Element) -> None:
    """Remove an element or comment with its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _drop_tag(el: etree._Element) -> None:
    """Replace an element by its content (lxml.html's HtmlElement.drop_tag, verbatim)."""
    parent = el.getparent()
    assert parent is not None
    previous = el.getprevious()
    if el.text and isinstance(el.tag, str):
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        elif previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    index = parent.index(el)
    parent[index : index + 1] = el[:]  # type: ignore[index]  # lxml-stubs: int only


def _take_editor(root: etree._Element, rules: SiteRules) -> str | None:
    """Remove the editor credits; return the first one's name."""
    if not rules.editor_classes:
        return None
    editor: str | None = None
    for el in [
        e
        for e in root.iter(etree.Element)
        if e.get("class") and not _classes(e).isdisjoint(rules.editor_classes)
    ]:
        if el.getparent() is not None:
            editor = editor or _editor_name(_text_content(el), rules.editor_label)
            _remove(el)
    return editor


def _clean_tree(root: etree._Element, base_url: str | None, rules: SiteRules) -> None:
    """One walk in document order: drop junk and active content, normalize images and
    links. The inside of a removed element is skipped; the children of an unwrapped one
    are still visited."""
    stack = list(reversed(root))
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):  # an entity (comments and PIs are gone already)
            _remove(el)
            continue
        children = _clean_node(el, el.tag.lower(), base_url, rules)
        stack.extend(reversed(children))


def _clean_node(
    el: etree._Element, tag: str, base_url: str | None, rules: SiteRules
) -> list[etree._Element]:
    """Clean one element; return the children left to visit."""
    if tag not in _NOT_BARE and not el.keys():
        return list(el)  # no attribute to judge, drop or rewrite: the common <p>, <br>, …
    classes = _classes(el)
    if (
        tag in _DROP_WITH_CONTENT
        or not classes.isdisjoint(rules.junk_classes)
        or el.get("hidden") is not None
        or (rules.junk_id_prefixes and (el.get("id") or "").startswith(rules.junk_id_prefixes))
        or _DISPLAY_NONE.search(el.get("style") or "")
    ):
        _remove(el)
        return []
    if tag == "img":
        _clean_image(el, base_url, rules)
        return list(el) if el.getparent() is not None else []
    return _clean_element(el, tag, classes, base_url, rules)


def _editor_name(text: str, label: re.Pattern[str] | None) -> str | None:
    name = " ".join(text.split())
    if label is not None:
        name = label.sub("", name, count=1).strip()
    return name or None


def _clean_element(
    el: etree._Element,
    tag: str,
    classes: frozenset[str],
    base_url: str | None,
    rules: SiteRules,
) -> list[etree._Element]:
    """Strip attributes, unwrap presentation tags, mark figures; the children to visit."""
    href = el.get("href") if tag == "a" else None
    bold = _is_bold(el, rules.bold_markers)
    el.attrib.clear()
    if tag in _UNWRAP or (bold and tag == "span"):
        if bold and not any(a.tag in ("strong", "b") for a in el.iterancestors()):
            el.tag = "strong"  # keep the emphasis the CMS styled, lose the wrapper
            return list(el)
        children = list(el)
        _drop_tag(el)
        return children
    if not classes.isdisjoint(rules.caption_classes):
        el.tag = "figcaption"
    elif not classes.isdisjoint(rules.figure_classes):
        parent = el.getparent()
        if parent is not None and parent.tag == "figure":
            children = list(el)
            _drop_tag(el)  # wrappers nest: one figure is enough
            return children
        el.tag = "figure"
    if href is not None:
        url = absolute_url(href, base_url)
        if url is not None:
            el.set("href", url)
    return list(el)


def _is_bold(el: etree._Element, markers: tuple[tuple[str, str], ...]) -> bool:
    return any(token in (el.get(attr) or "").split() for attr, token in markers)


def _clean_image(el: etree._Element, base_url: str | None, rules: SiteRules) -> None:
    src = image_url(_image_source(el), base_url)
    if src is None or _is_pixel(el) or any(p.match(src) for p in rules.junk_images):
        _remove(el)
        return
    keep = {k: el.get(k) for k in ("alt", "title", "width", "height") if el.get(k) is not None}
    cover_ok = not (_classes(el) & _NON_COVER_CLASSES)
    el.attrib.clear()
    el.set("src", src)
    for k, v in keep.items():
        if v is not None:
            el.set(k, v)
    if not cover_ok:
        # Private marker read by the cover choice; nh3 drops it from the output.
        el.set("data-not-cover", "")


def _image_source(el: etree._Element) -> str:
    src = (el.get("src") or "").strip()
    if not src or src.startswith("data:"):
        # Lazy-loaded images keep the real URL aside and a placeholder in src.
        for attr in _LAZY_SRC_ATTRS:
            lazy = (el.get(attr) or "").strip()
            if lazy:
                return lazy
    return src


def _is_pixel(el: etree._Element) -> bool:
    for attr in ("width", "height"):
        value = (el.get(attr) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) <= 2:
            return True
    return False


def absolute_url(url: str, base_url: str | None) -> str | None:
    """`url` made absolute against `base_url`; None for unusable or non-web URLs."""
    url = url.strip()
    if not url:
        return None
    try:
        joined = urljoin(base_url, url) if base_url else url
        parts = urlsplit(joined)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return publishable(joined)  # no userinfo (a source's password), encoded, valid
    if scheme == "mailto":
        return joined
    if not parts.scheme and not base_url:
        return joined  # relative, and nothing to resolve it against: leave it to the reader
    return None


def image_url(url: str, base_url: str | None) -> str | None:
    """An image URL as the output carries it: absolute and https, or None."""
    if url.startswith("//"):
        url = "https:" + url
    absolute = absolute_url(url, base_url)
    if absolute is None:
        return None
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return "https" + absolute[len(parts.scheme) :]


def is_cover_url(url: str, rules: SiteRules = DEFAULT_RULES) -> bool:
    """A URL that may serve as a cover: absolute https, not junk, not a placeholder host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and bool(host)
        and host not in PLACEHOLDER_HOSTS
        and not any(p.match(url) for p in rules.junk_images)
    )


def _cover_candidates(root: etree._Element, rules: SiteRules) -> Iterator[str]:
    for img in root.iter("img"):
        src = img.get("src")
        if src and img.get("data-not-cover") is None and is_cover_url(src, rules):
            yield src


def _drop_empty_and_unwrap(root: etree._Element) -> None:
    """Drop blocks holding neither text nor an image, and unwrap layout <div>s that only
    hold blocks (the blocks read the same without them).

    One walk in reverse document order, so an element comes after everything inside it
    and its later siblings. Whether an element holds content is computed bottom-up from
    its children instead of by reading its whole text for each element: removing an empty
    block or unwrapping a container moves only whitespace and markup, so no other
    element's answer changes.
    """
    full: set[etree._Element] = set()  # elements holding text or a content leaf
    for el in reversed(list(root.iter(etree.Element))):
        if el is root:
            continue
        tag = el.tag
        if _holds_content(el, full):
            full.add(el)
        elif tag in _DROP_IF_EMPTY:
            _remove(el)
            continue
        if tag in _CONTAINERS and _only_blocks(el):
            _drop_tag(el)


def _only_blocks(el: etree._Element) -> bool:
    if _has_text(el.text):
        return False
    return all(isinstance(c.tag, str) and c.tag in _BLOCKS and not _has_text(c.tail) for c in el)


def _holds_content(el: etree._Element, full: set[etree._Element]) -> bool:
    if _has_text(el.text):
        return True
    for child in el:
        if _has_text(child.tail):
            return True
        if isinstance(child.tag, str) and (child.tag in _CONTENT_LEAVES or child in full):
            return True
    return False


def _has_text(text: str | None) -> bool:
    return bool(text and text.strip())


def _tidy_whitespace(root: etree._Element) -> None:
    """Collapse blank-line runs (ASCII whitespace only: the full-width indent 　　 stays)."""
    preformatted = {el for pre in root.iter("pre") for el in pre.iter()}
    for el in root.iter():
        if el in preformatted:
            continue
        # Rewriting a text node costs more than the regex: only when it changes.
        text, tail = el.text, el.tail
        if text and "\n" in text and (tidy := _BLANK_RUN.sub("\n", text)) != text:
            el.text = tidy
        if tail and "\n" in tail and (tidy := _BLANK_RUN.sub("\n", tail)) != tail:
            el.tail = tidy


def _serialize(root: etree._Element) -> str:
    html = str(lxml.html.tostring(root, encoding="unicode"))
    # Remove the <div> wrapper _parse_fragment added.
    return html[html.index(">") + 1 : html.rindex("<")]


def html_text(html: str) -> str:
    """The plain text of a cleaned body, as `clean_html` gives it (for the search index of
    articles stored before it existed)."""
    root = _parse_fragment(html)
    return "" if root is None else _plain_text(root)


def _plain_text(root: etree._Element) -> str:
    """Body text, one line per block, for dedup and summaries."""
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    text = _TEXT_SPACES.sub(" ", _text_content(root))
    return xml_safe(_collapse_line_breaks(text)).strip()


def _collapse_line_breaks(text: str) -> str:
    """Each whitespace run holding a line feed becomes one line feed: what
    ``re.sub(r"\\s*\\n\\s*", "\\n", text)`` does, without trying the pattern at every
    character (str.strip and the regex agree on what whitespace is)."""
    if "\n" not in text:
        return text
    lines = text.split("\n")
    inner = (line.strip() for line in lines[1:-1])
    return "\n".join([lines[0].rstrip(), *(line for line in inner if line), lines[-1].lstrip()])
