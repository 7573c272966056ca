"""The CPU-bound middle of a poll: read a list (parse) → clean/normalize → dedup signature.

Its own module so that a worker process running it imports the stages it needs and
nothing of the orchestrator (httpx, asyncio: a third of a worker's start-up). Pure (no I/O,
no shared state): everything runs in a thread or a worker process alike.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from . import __version__
from .errors import SourceError
from .kinds import KINDS, Item
from .models import Article, ParsedEntry, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One list response, read. A feed's entries come out as articles at once; a kind that
    tracks its items hands them back, so only new or revised ones are completed."""

    ttl_minutes: int | None
    articles: list[Article]
    items: list[Item] = field(default_factory=list)
    more: bool = False  # a next list page exists
    # (kind, message): 'partial' (a damaged document of which the complete items were
    # kept), 'limits' (items cut to the per-item limits), 'skipped' (items not readable).
    warnings: list[tuple[str, str]] = field(default_factory=list)
    # A feed's items to know next time (`item_hash`, feed order), and how many of its items
    # were known: seen unchanged in the source's last document, not cleaned or signed again.
    hashes: tuple[bytes, ...] = ()
    unchanged: int = 0


def item_hash(entry: ParsedEntry, source: Source) -> bytes:
    """Everything that decides an item's Article, hashed: the item exactly as parsed, the
    source fields normalizing reads, and the release (whose cleaning rules may differ)."""
    facts: tuple[object, ...] = (
        __version__,
        source.name,
        source.url,
        source.categories,
        source.author,
        entry,
    )
    if entry.content_base is not None:  # outside the entry's repr (see ParsedEntry)
        facts += (entry.content_base,)
    return hashlib.blake2b(repr(facts).encode(), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class PageJob:
    """An item and its fetched article page."""

    item: Item
    body: bytes
    url: str
    content_type: str | None


@dataclass(frozen=True, slots=True)
class Completed:
    """What became of a poll's new or revised items."""

    articles: dict[str, Article]  # by item key: stored as they are
    attach: list[Article]  # items stored already (another list's): only channel and link
    failed: dict[str, tuple[str, str]]  # item key → (error kind, message): retried later


def prepare(
    body: bytes,
    url: str,
    content_type: str | None,
    source: Source,
    now: datetime,
    known: Collection[bytes] = frozenset(),
) -> Prepared:
    """Read one list response of `source`. For a feed: parse → clean/normalize → signature.

    `known`: the `item_hash`es of the items this feed's last stored document held; those
    items were stored then exactly as they would be now, so they are not prepared again.
    Items cut to the limits or not readable are not known next time: they are prepared
    again, so their warnings stay as long as the document has them.
    """
    kind = KINDS[source.kind]
    listing = kind.read_list(body, url, content_type, now)
    if kind.tracks_items:
        unique = {i.key: i for i in reversed(listing.items)}  # first occurrence wins
        items = [i for i in listing.items if unique.get(i.key) is i]
        return Prepared(listing.ttl_minutes, [], items, listing.more)
    articles = []
    hashes = []
    unchanged = 0
    for item in listing.items:
        digest = item_hash(item.entry, source)
        if digest in known:
            hashes.append(digest)
            unchanged += 1
        elif a := _normalized(item.entry, source, now):
            articles.append(a)
            if not a.limits:
                hashes.append(digest)
    articles = _signed(articles)
    warnings: list[tuple[str, str]] = []
    if listing.problem:
        warnings.append(("partial", listing.problem))
    limited = [a for a in articles if a.limits]
    if limited:
        reasons = sorted({r for a in limited for r in a.limits})
        warnings.append(("limits", f"{len(limited)} item(s) cut: {'; '.join(reasons)}"))
    skipped = len(listing.items) - unchanged - len(articles)
    if skipped:
        warnings.append(("skipped", f"{skipped} item(s) could not be read and were skipped"))
    return Prepared(
        listing.ttl_minutes,
        articles,
        more=listing.more,
        warnings=warnings,
        hashes=tuple(dict.fromkeys(hashes)),
        unchanged=unchanged,
    )


def complete(
    source: Source,
    whole: Sequence[Item],
    pages: Sequence[PageJob],
    attach: Sequence[Item],
    now: datetime,
) -> Completed:
    """Items complete as listed, items with their fetched page, and items to attach only
    → articles. A page with no article, or whose article has no text, fails its item:
    nothing is published without its full text."""
    kind = KINDS[source.kind]
    articles: dict[str, Article] = {}
    failed: dict[str, tuple[str, str]] = {}
    for item in whole:
        a = _normalized(item.entry, source, now)
        if a is not None:
            articles[item.key] = a
    for job in pages:
        try:
            entry = kind.read_page(job.item, job.body, job.url, job.content_type)
        except SourceError as exc:
            failed[job.item.key] = (exc.kind, f"{job.url}: {exc}")
            continue
        a = _normalized(entry, source, now)
        if a is None or not (a.text.strip() or a.cover):
            failed[job.item.key] = ("empty", f"{job.url}: the article has no text")
            continue
        articles[job.item.key] = a
    articles = dict(zip(articles, _signed(list(articles.values())), strict=True))
    attached = [a for i in attach if (a := _normalized(i.entry, source, now))]
    return Completed(articles, attached, failed)


def _normalized(entry: ParsedEntry, source: Source, now: datetime) -> Article | None:
    """The item as an article, not yet signed; None (logged) when it cannot be read."""
    # Imported on first use: a poll where every source answers 304 never needs them, and
    # their imports (lxml, nh3, dedup) were a third of such a run's start-up.
    from .normalize import normalize_entry

    try:
        return normalize_entry(entry, source, now)
    except Exception:  # one bad item must not lose the rest of the list
        log.exception("skipping an item of %s that could not be normalized", source.name)
        return None


def _signed(articles: list[Article]) -> list[Article]:
    """The articles with their dedup signatures. Signed in a pass of their own, after all
    are cleaned, not one by one: interleaving lxml/nh3 with the signature's regex and numpy
    work costs ~20 % more CPU for the same results (each evicts the other from the caches;
    measured in bench/bench_prepare.py)."""
    from .dedup import signature

    return [replace(a, signature=signature(a.title, a.text)) for a in articles]
