"""OPML 2.0 of the configured sources, for feed readers that import subscription lists.

A source URL may carry a secret (user:password@, an access key in the query): the OPML is
published, so `public_url` drops them (userinfo through `urls.redact`, like every URL shown).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from .models import Source
from .urls import redact
from .xmlchars import xml_safe

# Query parameters whose value is a credential (RSSHub's `key`, `access_token`, …).
_SECRET_PARAMS = ("key", "token", "secret", "pass", "auth", "sign", "sig", "code")


def public_url(url: str) -> str:
    """`url` without userinfo and without query parameters that look like credentials."""
    parts = urlsplit(redact(url))
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not any(word in k.lower() for word in _SECRET_PARAMS)
    ]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(query) if query else "", parts.fragment)
    )


def render(sources: Iterable[Source], title: str) -> bytes:
    """The OPML document listing `sources` in config order, filed under their categories.
    Sources read from a local file (`file:` URLs, the offline demo) are left out: nobody
    else can subscribe to them, and their paths are this machine's business."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_safe(title)
    body = etree.SubElement(root, "body")
    for s in sources:
        if not s.url.lower().startswith(("http://", "https://")):
            continue
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=xml_safe(s.name),
            title=xml_safe(s.name),
            xmlUrl=xml_safe(public_url(s.url)),
            category=xml_safe("/" + "/".join(c.replace("/", " ") for c in s.categories)),
        )
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
