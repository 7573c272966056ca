"""HTML cleanup of article bodies (SPEC §4) and the choice of the cover image.

Pipeline: strip XML-illegal characters → parse the fragment with lxml → remove junk by
structure (site rules are data, see `SiteRules` and sites/sina.py) → tidy (unwrap <font>,
drop presentation attributes and empty blocks, absolutize URLs) → nh3 allowlist LAST.
The generic cleaner knows no site; adding a site means adding one `SiteRules` value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
import nh3
from lxml import etree

from .models import CleanedBody
from .sites import sina

# Characters XML 1.0 forbids (and C1 controls, never text): one of them breaks a whole feed.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def strip_illegal(text: str) -> str:
    """Remove the characters XML 1.0 cannot carry."""
    return _XML_ILLEGAL.sub("", text)


def _drop_illegal_ref(m: re.Match[str]) -> str:
    code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if code > 0x10FFFF or _XML_ILLEGAL.match(chr(code)):
        return ""
    return m.group(0)


def _strip_illegal_markup(html: str) -> str:
    """Illegal characters out of raw markup, written literally or as character references."""
    html = strip_illegal(html)
    return _CHAR_REF.sub(_drop_illegal_ref, html) if "&#" in html else html


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
    )


SINA_RULES = SiteRules(
    junk_classes=sina.JUNK_CLASSES,
    junk_comment_spans=sina.JUNK_COMMENT_SPANS,
    editor_classes=sina.EDITOR_CLASSES,
    editor_label=sina.EDITOR_LABEL,
    figure_classes=sina.FIGURE_CLASSES,
    caption_classes=sina.CAPTION_CLASSES,
    junk_images=sina.JUNK_IMAGES,
    bold_markers=sina.BOLD_MARKERS,
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
_TEXT_SPACES = re.compile(r"[^\S\n\u3000]+")
_TEXT_LINES = re.compile(r"\s*\n\s*")


def clean_html(html: str, base_url: str | None, rules: SiteRules = DEFAULT_RULES) -> CleanedBody:
    """Clean one article body: junk out, URLs absolute, sanitized; plus text, cover, editor."""
    root = _parse_fragment(_strip_illegal_markup(html))
    if root is None:
        return CleanedBody(html="", text="", cover=None, editor=None)
    editor = _take_editor(root, rules)
    _drop_comment_spans(root, rules.junk_comment_spans)
    _clean_tree(root, base_url, rules)
    _drop_empty(root)
    _unwrap_containers(root)
    _tidy_whitespace(root)
    cover = next(_cover_candidates(root, rules), None)
    body = _serialize(root)
    sanitized = strip_illegal(_SANITIZER.clean(body)).strip()
    return CleanedBody(html=sanitized, text=_plain_text(root), cover=cover, editor=editor)


def _parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    if not html.strip():
        return None
    # An XML declaration with an encoding makes lxml refuse a str; it means nothing here.
    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)
    try:
        # huge_tree: without it libxml2 silently drops everything nested deeper than 255.
        parser = lxml.html.HTMLParser(huge_tree=True)
        root = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return None
    return root


def _classes(el: lxml.html.HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _drop_comment_spans(root: lxml.html.HtmlElement, markers: tuple[str, ...]) -> None:
    """Remove what lies between the first and last sibling comments holding a marker."""
    if not markers:
        return
    parents = {c.getparent() for c in root.iter(etree.Comment)}
    for parent in parents:
        if parent is None:
            continue
        children = list(parent)
        for marker in markers:
            hits = [
                i
                for i, c in enumerate(children)
                if isinstance(c, etree._Comment) and marker in (c.text or "")
            ]
            if len(hits) < 2:
                continue
            for el in children[hits[0] + 1 : hits[-1]]:
                if el.getparent() is parent:
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


def _take_editor(root: lxml.html.HtmlElement, rules: SiteRules) -> str | None:
    """Remove the editor credits; return the first one's name."""
    if not rules.editor_classes:
        return None
    editor: str | None = None
    for el in [
        e for e in root.iter() if isinstance(e.tag, str) and _classes(e) & rules.editor_classes
    ]:
        if el.getparent() is not None:
            editor = editor or _editor_name(el.text_content(), rules.editor_label)
            _remove(el)
    return editor


def _clean_tree(root: lxml.html.HtmlElement, base_url: str | None, rules: SiteRules) -> None:
    """One walk: drop junk and active content, normalize images and links."""
    for el in _walk(root):
        if isinstance(el, etree._Comment | etree._ProcessingInstruction | etree._Entity):
            _remove(el)
            continue
        if el is root or not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        classes = _classes(el)
        if (
            tag in _DROP_WITH_CONTENT
            or classes & rules.junk_classes
            or el.get("hidden") is not None
            or _DISPLAY_NONE.search(el.get("style") or "")
        ):
            _remove(el)
        elif tag == "img":
            _clean_image(el, base_url, rules)
        else:
            _clean_element(el, tag, classes, base_url, rules)


def _walk(root: lxml.html.HtmlElement) -> Iterator[etree._Element]:
    """Document order, while the consumer edits: the inside of a removed element is
    skipped, the children of an unwrapped one are still visited."""
    stack = [root]
    while stack:
        el = stack.pop()
        before = list(el)
        yield el
        if el is root or el.getparent() is not None:
            children = list(el)
        else:  # removed (children left with it) or unwrapped (children moved up)
            children = [c for c in before if c.getparent() is not el]
        stack.extend(reversed(children))


def _editor_name(text: str, label: re.Pattern[str] | None) -> str | None:
    name = " ".join(text.split())
    if label is not None:
        name = label.sub("", name, count=1).strip()
    return name or None


def _clean_element(
    el: lxml.html.HtmlElement, tag: str, classes: set[str], base_url: str | None, rules: SiteRules
) -> None:
    href = el.get("href") if tag == "a" else None
    bold = _is_bold(el, rules.bold_markers)
    el.attrib.clear()
    if tag in _UNWRAP or (bold and tag == "span"):
        if bold and not any(a.tag in ("strong", "b") for a in el.iterancestors()):
            el.tag = "strong"  # keep the emphasis the CMS styled, lose the wrapper
        else:
            el.drop_tag()
        return
    if classes & rules.caption_classes:
        el.tag = "figcaption"
    elif classes & rules.figure_classes:
        parent = el.getparent()
        if parent is not None and parent.tag == "figure":
            el.drop_tag()  # wrappers nest: one figure is enough
            return
        el.tag = "figure"
    if href is not None:
        url = absolute_url(href, base_url)
        if url is not None:
            el.set("href", url)


def _is_bold(el: lxml.html.HtmlElement, markers: tuple[tuple[str, str], ...]) -> bool:
    return any(token in (el.get(attr) or "").split() for attr, token in markers)


def _clean_image(el: lxml.html.HtmlElement, base_url: str | None, rules: SiteRules) -> None:
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


def _image_source(el: lxml.html.HtmlElement) -> str:
    src = (el.get("src") or "").strip()
    if not src or src.startswith("data:"):
        # Lazy-loaded images keep the real URL aside and a placeholder in src.
        for attr in _LAZY_SRC_ATTRS:
            lazy = (el.get(attr) or "").strip()
            if lazy:
                return lazy
    return src


def _is_pixel(el: lxml.html.HtmlElement) -> bool:
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
    if parts.scheme.lower() in ("http", "https", "mailto"):
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


def _cover_candidates(root: lxml.html.HtmlElement, rules: SiteRules) -> Iterator[str]:
    for img in root.iter("img"):
        src = img.get("src")
        if src and img.get("data-not-cover") is None and is_cover_url(src, rules):
            yield src


def _drop_empty(root: lxml.html.HtmlElement) -> None:
    """Drop blocks holding neither text nor an image; children first."""
    for el in reversed(list(root.iter(*_DROP_IF_EMPTY))):
        if el is root or el.getparent() is None:
            continue
        if (el.text_content() or "").strip():
            continue
        if any(True for _ in el.iter(*_CONTENT_LEAVES)):
            continue
        _remove(el)


def _unwrap_containers(root: lxml.html.HtmlElement) -> None:
    """Unwrap layout <div>s that only hold blocks: the blocks read the same without them."""
    for el in reversed(list(root.iter(*_CONTAINERS))):
        if el is root or el.getparent() is None or _has_text(el.text):
            continue
        if all(isinstance(c.tag, str) and c.tag in _BLOCKS and not _has_text(c.tail) for c in el):
            el.drop_tag()


def _has_text(text: str | None) -> bool:
    return bool(text and text.strip())


def _tidy_whitespace(root: lxml.html.HtmlElement) -> None:
    """Collapse blank-line runs (ASCII whitespace only: the full-width indent 　　 stays)."""
    for el in root.iter():
        if el.tag == "pre" or any(a.tag == "pre" for a in el.iterancestors()):
            continue
        if el.text:
            el.text = _BLANK_RUN.sub("\n", el.text)
        if el.tail:
            el.tail = _BLANK_RUN.sub("\n", el.tail)


def _serialize(root: lxml.html.HtmlElement) -> str:
    html = str(lxml.html.tostring(root, encoding="unicode"))
    # Remove the <div> wrapper fragment_fromstring added.
    return html[html.index(">") + 1 : html.rindex("<")]


def _plain_text(root: lxml.html.HtmlElement) -> str:
    """Body text, one line per block, for dedup and summaries."""
    for el in root.iter(*_BLOCKS):
        el.tail = "\n" + (el.tail or "")
    text = _TEXT_SPACES.sub(" ", root.text_content())
    return strip_illegal(_TEXT_LINES.sub("\n", text)).strip()
