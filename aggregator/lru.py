"""A map that keeps the `size` entries used last: what a publish renders or reads once and
hands to the next document, page or load that needs the same thing (formats' entries and
sanitized fields, html's list items, the store's shared loads, site_pages' list entries).

Lookups and stores go many keys at a time, under one lock: documents render in threads too
(the daemon's publish). A value is never None (None is how a lookup says "not kept").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most `size` entries; storing past it drops the least recently used (looked up or
    stored). `size` may be changed at any time; it applies at the next store."""

    __slots__ = ("_kept", "_lock", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[K]) -> list[V | None]:
        """The value kept for each key, in order (None: not kept); the found ones become
        the most recently used."""
        get, used = self._kept.get, self._kept.move_to_end
        found = []
        with self._lock:
            for k in keys:  # one pass: a key's hash may be a Python method (formats._Key)
                v = get(k)
                if v is not None:
                    used(k)
                found.append(v)
        return found

    def get(self, key: K) -> V | None:
        with self._lock:
            v = self._kept.get(key)
            if v is not None:
                self._kept.move_to_end(key)
        return v

    def put_many(self, items: Mapping[K, V]) -> None:
        """Keep `items` as the most recently used, then drop the least recently used past
        `size`."""
        kept = self._kept
        with self._lock:
            before = len(kept)
            kept.update(items)
            if len(kept) - before < len(items):  # some were kept already: used now
                for k in items:
                    kept.move_to_end(k)
            while len(kept) > self.size:
                kept.popitem(last=False)

    def put(self, key: K, value: V) -> None:
        kept = self._kept
        with self._lock:
            kept[key] = value
            kept.move_to_end(key)
            while len(kept) > self.size:
                kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def keys_by_use(self) -> list[K]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._kept)

    def __len__(self) -> int:
        return len(self._kept)
