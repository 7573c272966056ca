"""OPML 2.0, feed readers' common format for subscription lists: plain functions over sources.

`render` writes the configured sources (name, URL, categories as an OPML `category` path;
a source no reader can read as the site's feed of its channel, which the outputs locate)
for `sources.opml` and `aggregator export-opml`; a URL's secrets (user:password@, an access
key in the query) are never written (`public_url`). `parse` reads any reader's export —
flat, or nested in folders whose names become categories — into plain `OpmlSource`s;
`plan_import` and `to_toml` turn the new ones into `[[sources]]` tables for the config.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from .errors import ConfigError
from .models import Source
from .urls import redact
from .xmlchars import xml_safe

# Query parameters whose value is a credential (RSSHub's `key`, `access_token`, …).
_SECRET_PARAMS = ("key", "token", "secret", "pass", "auth", "sign", "sig", "code")


@dataclass(frozen=True, slots=True)
class OpmlSource:
    """One subscription as OPML gives it."""

    name: str
    url: str
    categories: tuple[str, ...] = ()


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


# Where this site republishes a source's channel: (feed URL, page URL), given by the outputs.
Republished = Callable[[Source], tuple[str, str]]


def readable(source: Source) -> bool:
    """Whether a feed reader can read the source's own URL: a `feed` over http(s)."""
    return source.kind == "feed" and source.url.lower().startswith(("http://", "https://"))


def render(sources: Iterable[Source], title: str, republished: Republished | None = None) -> bytes:
    """The OPML document listing `sources` in config order, filed under their categories.
    A source a reader can read is listed by its own URL. The others — the native kinds
    (`sina-roll`, `sina-zhibo`: JSON APIs) and local files (`file:`, the offline demo: this
    machine's business) — by this site's feed of their channel, when `republished` says
    where that is, else not at all."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = xml_safe(title)
    body = etree.SubElement(root, "body")
    for s in sources:
        links = {"xmlUrl": s.url}
        if not readable(s):
            if republished is None:
                continue
            feed, page = republished(s)
            links = {"xmlUrl": feed, "htmlUrl": page}
        attrs = {"type": "rss", "text": xml_safe(s.name), "title": xml_safe(s.name)}
        attrs.update((k, xml_safe(public_url(v))) for k, v in links.items())
        # OPML 2.0: comma-separated, slash-delimited category paths.
        attrs["category"] = xml_safe("/" + "/".join(c.replace("/", " ") for c in s.categories))
        etree.SubElement(body, "outline", attrs)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data


def parse(data: bytes) -> list[OpmlSource]:
    """Every outline with an `xmlUrl`, in document order; folders become categories."""
    if b"<!ENTITY" in data:  # entity expansion (billion laughs): no OPML needs one
        raise ConfigError("opml", "declares XML entities; refused")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.LxmlError as exc:
        raise ConfigError("opml", f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise ConfigError("opml", "declares a DTD; refused")
    if not isinstance(root.tag, str) or root.tag != "opml":
        raise ConfigError("opml", f"not an OPML document (root element <{root.tag}>)")
    body = root.find("body")
    if body is None:
        raise ConfigError("opml", "no <body> element")
    found: list[OpmlSource] = []
    _walk(body, (), found)
    return found


def _walk(node: etree._Element, folders: tuple[str, ...], found: list[OpmlSource]) -> None:
    for outline in node.iterchildren("outline"):
        label = (outline.get("text") or outline.get("title") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if not url:  # a folder
            _walk(outline, (*folders, label) if label else folders, found)
            continue
        categories = _category(outline.get("category")) or folders
        found.append(OpmlSource(label or _name_from(url), url, categories))


def _name_from(url: str) -> str:
    """A name for an untitled subscription (newsboat exports none): host and path."""
    parts = urlsplit(redact(url))
    return (parts.netloc + parts.path).rstrip("/") or url


def _category(value: str | None) -> tuple[str, ...]:
    """The first path of an OPML `category` attribute ("/金融/新浪财经,/other" → 金融, 新浪财经)."""
    first = (value or "").split(",")[0]
    return tuple(part.strip() for part in first.split("/") if part.strip())


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """Which subscriptions of an OPML file are new, and why the others are left out."""

    new: tuple[OpmlSource, ...]
    skipped: tuple[tuple[OpmlSource, str], ...]  # (subscription, reason)


def plan_import(found: Sequence[OpmlSource], configured: Sequence[Source]) -> ImportPlan:
    """New subscriptions: neither their URL nor their name (as `names` folds it) is taken."""
    from .names import name_key

    urls = {s.url: s.name for s in configured}
    names = {name_key(s.name): s.name for s in configured}
    new: list[OpmlSource] = []
    skipped: list[tuple[OpmlSource, str]] = []
    for o in found:
        key = name_key(o.name)
        if o.url in urls:
            skipped.append((o, f"already configured as {urls[o.url]!r}"))
        elif key in names:
            skipped.append((o, f"the name is taken by {names[key]!r} (another URL)"))
        else:
            new.append(o)
            urls[o.url] = names[key] = o.name
    return ImportPlan(tuple(new), tuple(skipped))


def to_toml(sources: Sequence[OpmlSource], note: str) -> str:
    """`[[sources]]` tables for appending to a config file (json strings are TOML strings)."""
    note = " ".join(note.split())  # one line: it ends up in a TOML comment
    lines: list[str] = []
    for s in sources:
        lines += ["", f"[[sources]]  # {note}", f"name = {_q(s.name)}", f"url = {_q(s.url)}"]
        if s.categories:
            lines.append("categories = [" + ", ".join(_q(c) for c in s.categories) + "]")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
