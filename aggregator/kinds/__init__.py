"""Source kinds: how one source is read. One module per kind, registered in KINDS.

A kind says what to request (`list_url`), how a response becomes entries (`read_list`) and
what else to fetch for an entry (`Item.page_url`, completed by `read_page`). It produces the
same `ParsedEntry` values a feed does, so normalizing, dedup, storing and publishing are
shared; the orchestrator (poll.py) drives every kind the same way and fetches every request
through fetch.py. Adding a kind: one module, one line in KINDS.
"""

from __future__ import annotations

from . import feed, sina_roll, sina_zhibo
from .base import Item, Kind, Listing, item_from_json, item_to_json

KINDS: dict[str, Kind] = {
    k.name: k for k in (feed.FeedKind(), sina_roll.RollKind(), sina_zhibo.ZhiboKind())
}
DEFAULT_KIND = "feed"

__all__ = ["DEFAULT_KIND", "KINDS", "Item", "Kind", "Listing", "item_from_json", "item_to_json"]
