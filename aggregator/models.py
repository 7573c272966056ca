"""Plain data crossing the pipeline's stage boundaries.

source → fetch (FetchResult) → parse (ParsedFeed/ParsedEntry) → clean (CleanedBody)
→ normalize (Article) → store (StoredArticle, SourceState) → publish → serve.

Everything here is frozen and does no I/O; datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .dedup import Signature
    from .errors import ErrorKind


@dataclass(frozen=True, slots=True)
class Source:
    """One configured feed: where to fetch it and how its articles are filed."""

    name: str  # channel name: the last category of its articles
    url: str  # http(s) URL, or a file: URL for a local feed (the offline demo)
    categories: tuple[str, ...]
    author: str  # default author of its articles
    interval: float  # seconds between polls
    kind: str = "feed"  # how it is read: kinds.KINDS ('feed', 'sina-roll', 'sina-zhibo')
    list_pages: int = 5  # list pages one poll may read (paged kinds)
    backfill_pages: int = 2  # list pages the first poll reads (paged kinds)
    page_budget: int = 100  # article pages one poll may fetch; the rest wait for the next


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Limits and identity of the HTTP client."""

    user_agent: str
    connect_timeout: float = 10.0
    deadline: float = 30.0  # total seconds for one fetch, body included
    max_bytes: int = 10 * 1024 * 1024  # bytes read from the wire
    max_decompressed: int = 20 * 1024 * 1024  # bytes after gzip/deflate
    per_host: int = 2  # concurrent fetches per host
    total: int = 16  # concurrent fetches overall
    max_redirects: int = 5


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch produced: a body (200) or 'not modified' (304, body None)."""

    url: str  # final URL after redirects
    status: int
    body: bytes | None  # decompressed; None when not modified
    headers: Mapping[str, str]  # lowercase keys
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # final target of a 301/308 chain
    retry_after: float | None = None  # seconds asked by Retry-After / max-age
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One feed item as the feed states it: raw strings, nothing interpreted."""

    guid: str | None
    link: str | None
    title: str | None
    content_html: str  # richest body the feed gives, raw (not yet cleaned)
    published_raw: str | None  # date exactly as written in the feed
    updated_raw: str | None
    author: str | None
    image_urls: tuple[str, ...] = ()  # enclosures / media thumbnails
    # What native sources know beyond a feed item; a feed leaves them empty.
    identity: tuple[str, ...] = ()  # identity keys the source states (then links are not used)
    outlet: str | None = None  # originating outlet (Sina's media_name)
    categories: tuple[str, ...] = ()  # the item's own categories (7×24 tag names)
    tags: tuple[str, ...] = ()  # e.g. stocks, 'name symbol'
    # The xml:base in scope of the body, absolute: what its relative URLs resolve against
    # (None: no xml:base, they resolve against the item's link). Out of the repr, so the
    # item hashes (prepare.item_hash) of items without one stay what they were.
    content_base: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole parsed document: feed metadata and its entries, in feed order."""

    title: str | None
    link: str | None
    version: str  # feedparser's version tag, e.g. 'rss20', 'atom10'
    ttl_minutes: int | None
    entries: tuple[ParsedEntry, ...]
    problem: str | None = None  # a usable but damaged document (truncated): why it is partial


@dataclass(frozen=True, slots=True)
class CleanedBody:
    """A cleaned article body and what was learnt while cleaning it."""

    html: str  # sanitized HTML, absolute URLs, no brace escaping
    text: str  # plain text of the body (for dedup and summaries)
    cover: str | None  # first real article image, absolute https
    editor: str | None = None  # '责任编辑：…' credit removed from the body
    limits: tuple[str, ...] = ()  # size/nesting limits that cut this body (why, for the record)


@dataclass(frozen=True, slots=True)
class Article:
    """One normalized item of one source, ready to store."""

    key: str  # primary identity key: 'sina:<docid>' | 'url:<canonical>' | 'guid:…' | 'hash:…'
    alt_keys: tuple[str, ...]  # other identity keys it is known by (urls, guid)
    link: str  # absolute link, as published
    title: str
    published: datetime
    date_is_fallback: bool  # True when the feed date was missing/absurd: first-seen time
    author: str
    categories: tuple[str, ...]  # source categories, then the channel
    content_html: str
    text: str
    cover: str | None
    source_name: str
    # `identity.provenance_link(link)`: computed with the link (normalize, in the worker
    # that prepares the item), so the store records it without working it out again.
    canonical_link: str
    editor: str | None = None
    signature: Signature | None = None  # computed off the store's lock (prepare.py)
    limits: tuple[str, ...] = ()  # per-item limits that cut it at ingest (see clean.py)
    outlet: str | None = None  # originating outlet, when the source states one
    tags: tuple[str, ...] = ()  # e.g. the stocks a flash is about, 'name symbol'

    def __reduce__(self) -> tuple[type[Article], tuple[object, ...]]:
        """Pickled as its fields in order, rebuilt by `__init__`: every article a worker
        prepares is pickled to the main process, and this loads ~20 % faster than the
        slotted dataclass's `__setstate__` (which lists the fields again per article)."""
        return Article, _article_fields(self)


_article_fields = operator.attrgetter(*(f.name for f in fields(Article)))


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as stored and published: merged across channels and copies."""

    id: str  # stable absolute IRI (urn:uuid:…), never changes
    slug: str  # post file stem, assigned once
    link: str
    title: str
    published: datetime
    updated: datetime
    author: str
    categories: tuple[str, ...]
    content_html: str
    cover: str | None
    links: tuple[str, ...] = ()  # provenance: every URL the story was seen at
    date_is_fallback: bool = False
    alt_titles: tuple[str, ...] = ()  # other headlines of merged copies, first seen first
    outlet: str | None = None  # originating outlet (Sina's media_name), shown with the article
    tags: tuple[str, ...] = ()  # e.g. stocks, 'name symbol'


@dataclass(frozen=True, slots=True)
class ListEntry:
    """What a list page of the site shows of a stored article: no body, no provenance
    (a cold ingest lists every article on four or five pages)."""

    id: str
    slug: str
    title: str
    published: datetime
    author: str
    cover: str | None
    outlet: str | None


@dataclass(frozen=True, slots=True)
class SourceState:
    """What is remembered about a source between polls."""

    name: str
    url: str  # URL polled now (a confirmed permanent redirect replaces the configured one)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    error_count: int = 0
    next_poll: datetime | None = None
    gone: bool = False  # 410 seen: not polled until re-enabled
    redirect_candidate: str | None = None  # permanent redirect seen once, not yet adopted
    configured_url: str | None = None
    last_warning: str | None = None  # the last parsed document was partial or cut to limits
    # Article pages of native sources (derived from the pages table, not saved with the row).
    pages_pending: int = 0  # listed, not yet fetched at their current version
    last_page_error: str | None = None


PollStatus = Literal["ok", "not_modified", "unchanged", "error", "gone"]


@dataclass(frozen=True, slots=True)
class PollResult:
    """The outcome of polling one source once."""

    source: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    error_kind: ErrorKind | None = None
    error: str | None = None
    elapsed: float = 0.0  # the whole poll
    next_poll: datetime | None = None
    fetch_seconds: float | None = None  # the HTTP exchange alone (None: nothing fetched)
    warnings: tuple[tuple[str, str], ...] = ()  # (kind, message): 'partial' or 'limits'

    @property
    def changed(self) -> bool:
        return self.new + self.updated + self.merged > 0


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Where and how outputs are written."""

    dir: Path
    base_url: str  # ends with '/'
    title: str
    feed_size: int = 50  # entries in each subscription feed
    archive_size: int = 200  # entries per archive page
    page_size: int = 50  # articles per HTML list page of the site
    default_image: str | None = None
    posts_dir: Path | None = None  # Hexo posts; None: <dir>/posts

    @property
    def posts(self) -> Path:
        return self.posts_dir or self.dir / "posts"


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """Near-duplicate policy."""

    policy: Literal["merge", "keep"] = "merge"
    window_days: float = 3.0


@dataclass(frozen=True, slots=True)
class Settings:
    """The whole validated configuration."""

    config_path: Path
    storage_path: Path
    output: OutputSettings
    server_host: str
    server_port: int
    sources: tuple[Source, ...]
    fetch: FetchSettings
    dedup: DedupSettings = field(default_factory=DedupSettings)
    log_level: str = "INFO"
    workers: int = 0  # processes for parsing and cleaning big documents (0: threads only)
