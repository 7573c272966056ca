"""The CPU-bound middle of a poll: parse → clean/normalize → dedup signature.

Its own module so that a worker process running it imports the stages it needs and
nothing of the orchestrator (httpx, asyncio: a third of a worker's start-up).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from .models import Article, Source

log = logging.getLogger(__name__)


def prepare(
    body: bytes, url: str, content_type: str | None, source: Source, now: datetime
) -> tuple[int | None, list[Article], list[tuple[str, str]]]:
    """The CPU-bound middle of a poll: parse → clean/normalize → dedup signature.

    Pure (no I/O, no shared state), so it runs in a thread or a worker process alike.
    Returns the feed's TTL, its articles, and warnings as (kind, message): 'partial' (a
    damaged document of which the complete items were kept), 'limits' (items cut to the
    per-item limits), 'skipped' (items that could not be read at all).
    """
    # Imported on first use: a poll where every source answers 304 never needs them, and
    # their imports (feedparser, lxml, nh3, dedup) were a third of such a run's start-up.
    from .dedup import signature
    from .normalize import normalize_entry
    from .parse import parse_feed

    feed = parse_feed(body, url=url, content_type=content_type)
    articles = []
    skipped = 0
    for entry in feed.entries:
        try:
            a = normalize_entry(entry, source, now)
        except Exception:  # one bad item must not lose the rest of the feed
            log.exception("skipping an item of %s that could not be normalized", source.name)
            skipped += 1
            continue
        articles.append(replace(a, signature=signature(a.title, a.text)))
    warnings: list[tuple[str, str]] = []
    if feed.problem:
        warnings.append(("partial", feed.problem))
    limited = [a for a in articles if a.limits]
    if limited:
        reasons = sorted({r for a in limited for r in a.limits})
        warnings.append(("limits", f"{len(limited)} item(s) cut: {'; '.join(reasons)}"))
    if skipped:
        warnings.append(("skipped", f"{skipped} item(s) could not be read and were skipped"))
    return feed.ttl_minutes, articles, warnings
