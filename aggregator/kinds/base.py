"""What every source kind shares: the interface, and the items and listings it produces."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, Protocol

from ..models import ParsedEntry


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a list, and the article page that completes it, if any."""

    key: str  # the entry's identity key (what 'once per version' and paging remember)
    entry: ParsedEntry  # what the list alone says (a page, when fetched, completes it)
    version: str = ""  # changes when the item is revised (Sina's mtime): read again then
    page_url: str | None = None  # fetch it for the full text; None: the entry is complete


@dataclass(frozen=True, slots=True)
class Listing:
    """One list response, read: its items in list order, and whether a next page exists."""

    items: tuple[Item, ...]
    ttl_minutes: int | None = None
    more: bool = False
    problem: str | None = None  # a damaged document of which the complete items were kept


class Kind(Protocol):
    """The interface of a source kind. Every method is pure (no I/O): the orchestrator
    fetches, and runs `read_list`/`read_page` in worker threads or processes."""

    @property
    def name(self) -> str: ...

    @property
    def referer(self) -> str | None:
        """Sent with every request of this kind (Sina's hosts expect their own)."""

    @property
    def tracks_items(self) -> bool:
        """True: items are remembered per source and version, so a poll handles only new
        or revised ones, pages list by list until a known item, and pages wait for later
        polls. False (feeds): every poll hands the whole document on, as a feed reader does."""

    def list_url(self, url: str, page: int) -> str | None:
        """The request for list page `page` (1-based) of the source at `url`; None when
        the list has no such page (one-page lists, local files)."""

    def read_list(self, body: bytes, url: str, content_type: str | None, now: datetime) -> Listing:
        """A list response → its items; raises ParseError when it is not a usable list."""

    def read_page(self, item: Item, body: bytes, url: str, content_type: str | None) -> ParsedEntry:
        """An item's fetched page → the complete entry; raises ParseError when the page holds
        no article (it is then retried later, never published without its text)."""


def item_to_json(item: Item) -> str:
    """An item as stored while its page is pending."""
    return json.dumps(
        {"key": item.key, "version": item.version, "page_url": item.page_url,
         "entry": asdict(item.entry)},
        ensure_ascii=False,
    )  # fmt: skip


_TUPLE_FIELDS = frozenset(f.name for f in fields(ParsedEntry) if str(f.type).startswith("tuple"))


def item_from_json(data: str) -> Item:
    raw = json.loads(data)
    entry: dict[str, Any] = {
        k: tuple(v) if k in _TUPLE_FIELDS else v
        for k, v in raw["entry"].items()
        if k in ParsedEntry.__dataclass_fields__
    }
    return Item(
        key=raw["key"],
        entry=ParsedEntry(**entry),
        version=raw["version"],
        page_url=raw["page_url"],
    )
