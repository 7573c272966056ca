"""kind = "feed" (the default): any RSS 0.9x/1.0/2.0 or Atom 0.3/1.0 document at a URL."""

from __future__ import annotations

from datetime import datetime

from ..errors import ParseError
from ..models import ParsedEntry
from .base import Item, Listing


class FeedKind:
    """A feed is its own list: one document, complete entries, nothing else to fetch."""

    name = "feed"
    referer: str | None = None
    tracks_items = False

    def list_url(self, url: str, page: int) -> str | None:
        return url if page == 1 else None

    def read_list(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Listing:
        from ..parse import parse_feed  # heavy (feedparser, lxml): only when a body came

        feed = parse_feed(body, url=url, content_type=content_type)
        items = tuple(Item(key="", entry=e) for e in feed.entries)
        return Listing(items=items, ttl_minutes=feed.ttl_minutes, problem=feed.problem)

    def read_page(self, item: Item, body: bytes, url: str, content_type: str | None) -> ParsedEntry:
        raise ParseError("not_a_feed", "a feed's entries have no page to read")
