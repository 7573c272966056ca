"""The CPU-bound middle of a poll: parse → clean/normalize → dedup signature.

Its own module so that a worker process running it imports the stages it needs and
nothing of the orchestrator (httpx, asyncio: a third of a worker's start-up).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime

from . import __version__
from .models import Article, ParsedEntry, Source

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One document's items, ready to store."""

    ttl_minutes: int | None
    articles: list[Article]  # the items not seen before, normalized and signed
    # (kind, message): 'partial' (a damaged document of which the complete items were
    # kept), 'limits' (items cut to the per-item limits), 'skipped' (items that could not
    # be read at all).
    warnings: list[tuple[str, str]]
    items: tuple[bytes, ...] = ()  # `item_hash` of the items to know next time, feed order
    unchanged: int = 0  # items seen before unchanged: not cleaned or signed again


def item_hash(entry: ParsedEntry, source: Source) -> bytes:
    """Everything that decides an item's Article, hashed: the item exactly as parsed, the
    source fields normalizing reads, and the release (whose cleaning rules may differ)."""
    facts = (__version__, source.name, source.url, source.categories, source.author, entry)
    return hashlib.blake2b(repr(facts).encode(), digest_size=16).digest()


def prepare(
    body: bytes,
    url: str,
    content_type: str | None,
    source: Source,
    now: datetime,
    known: Collection[bytes] = frozenset(),
) -> Prepared:
    """The CPU-bound middle of a poll: parse → clean/normalize → dedup signature.

    Pure (no I/O, no shared state), so it runs in a thread or a worker process alike.
    `known`: the `item_hash`es of the items this source's last stored document held; those
    items were stored then exactly as they would be now, so they are not prepared again.
    Items that were cut to the limits or could not be read are not known next time: they
    are prepared again, so their warnings stay as long as the document has them.
    """
    # Imported on first use: a poll where every source answers 304 never needs them, and
    # their imports (feedparser, lxml, nh3, dedup) were a third of such a run's start-up.
    from .dedup import signature
    from .normalize import normalize_entry
    from .parse import parse_feed

    feed = parse_feed(body, url=url, content_type=content_type)
    articles = []
    items = []
    unchanged = skipped = 0
    for entry in feed.entries:
        digest = item_hash(entry, source)
        if digest in known:
            items.append(digest)
            unchanged += 1
            continue
        try:
            a = normalize_entry(entry, source, now)
        except Exception:  # one bad item must not lose the rest of the feed
            log.exception("skipping an item of %s that could not be normalized", source.name)
            skipped += 1
            continue
        articles.append(replace(a, signature=signature(a.title, a.text)))
        if not a.limits:
            items.append(digest)
    warnings: list[tuple[str, str]] = []
    if feed.problem:
        warnings.append(("partial", feed.problem))
    limited = [a for a in articles if a.limits]
    if limited:
        reasons = sorted({r for a in limited for r in a.limits})
        warnings.append(("limits", f"{len(limited)} item(s) cut: {'; '.join(reasons)}"))
    if skipped:
        warnings.append(("skipped", f"{skipped} item(s) could not be read and were skipped"))
    return Prepared(feed.ttl_minutes, articles, warnings, tuple(dict.fromkeys(items)), unchanged)
