"""The Hexo markdown post of one article, in the post schema shown in README (Outputs).

The front matter is built by hand in the schema's fixed key order, but every scalar goes
through `_quoted`/`_scalar`, which are checked against a YAML parser in the tests: a title
holding ': ', '#', '[', 'yes' or a date stays a string. Hexo renders bodies through Nunjucks
and markdown, so braces are written as entities and the body never holds a blank line.
"""

from __future__ import annotations

import functools
import re

import yaml

from ..dates import rfc822_gmt
from ..models import StoredArticle
from ..xmlchars import xml_safe

# Line breaks (YAML 1.1 counts NEL, LS and PS too) become spaces; what is left is YAML
# printable once `xml_safe` has run (YAML forbids the same characters, C1 included).
_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]+")
# Plain scalars that another YAML reader (js-yaml, YAML 1.2) could take for a non-string.
_RISKY_PLAIN = re.compile(r"^[-+.~0-9!&*?|>'\"%@`\[\]{},#:]|[:#]\s|\s[#:]|:$|^\s|\s$")
_BLANK_LINE_BREAK = re.compile(r"\n(?=[ \t]*\n)")


def render_post(article: StoredArticle, default_image: str | None = None) -> str:
    """The post file of one article: front matter in the schema's order, then the body."""
    image = article.cover or default_image
    lines = ["---", f"title: {_quoted(article.title)}"]
    categories = [c for c in (_yaml_text(c) for c in article.categories) if c]
    if categories:
        lines.append("categories:")
        lines.extend(f" - {_scalar(c)}" for c in categories)
    else:
        lines.append("categories: []")
    if image:
        lines.append(f"headimg: {_quoted(image)}")
    lines.append(f"author: {_scalar(_yaml_text(article.author))}")
    lines.append("comments: false")
    lines.append(f"date: {rfc822_gmt(article.published)}")
    if image:
        lines.append(f"thumbnail: {_quoted(image)}")
    lines.append("---")
    return "\n".join(lines) + "\n\n" + _body(article.content_html) + "\n"


def _yaml_text(value: str) -> str:
    """One line of characters YAML can carry."""
    return xml_safe(_LINE_BREAKS.sub(" ", value)).strip()


def _quoted(value: str) -> str:
    """A single-quoted YAML scalar: nothing inside is special except the quote itself."""
    return "'" + _yaml_text(value).replace("'", "''") + "'"


@functools.lru_cache(maxsize=4096)
def _scalar(value: str) -> str:
    """`value` bare when every YAML reader takes it back as this very string, else quoted.

    Cached: categories and authors repeat across thousands of posts, and the YAML
    round-trip that proves a bare value safe is costly (5 s for 6,000 posts uncached)."""
    if not value or _RISKY_PLAIN.search(value):
        return _quoted(value)
    try:
        loaded = yaml.safe_load(f"k: {value}")
    except yaml.YAMLError:
        return _quoted(value)
    if loaded != {"k": value}:
        return _quoted(value)
    return value


def _body(html: str) -> str:
    """The cleaned HTML in a <div>, safe from Nunjucks and from markdown."""
    html = xml_safe(html).strip()
    if not html:
        return "<div></div>"
    html = html.replace("{", "&#123;").replace("}", "&#125;")
    # Hexo turns ``` fences into code blocks even inside HTML.
    html = html.replace("`", "&#96;")
    # A blank line would end the markdown HTML block: encode the break that precedes it
    # (same characters for a browser, inside <pre> too).
    html = _BLANK_LINE_BREAK.sub("&#10;", html)
    return f"<div>\n{html}\n</div>"
