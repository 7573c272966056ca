"""The merge decision: what an incoming article is to the stored ones. Pure functions; the
store looks the facts up (tombstones, known keys, the near-duplicate index) and carries the
decision out in its transaction. Near-duplicate detection itself is dedup.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .models import Article

Outcome = Literal["new", "updated", "merged", "unchanged", "deleted"]


@dataclass(frozen=True, slots=True)
class Known:
    """One of the article's keys is stored: it is that stored story (`seq`), reached through
    the keys of the story itself or of a copy merged into it."""

    seq: int
    through_copy: bool


def decide(
    keys: Sequence[str], tombstoned: Collection[str], known: Mapping[str, tuple[int, int]]
) -> Literal["deleted"] | Known | None:
    """ "deleted" if any key was deleted for good; the stored story a key names (the story's
    own keys win over a copy's); None when no key is known (new, or a near-duplicate)."""
    if any(k in tombstoned for k in keys):
        return "deleted"
    hits = [known[k] for k in keys if k in known]
    if not hits:
        return None
    seq, is_copy = min(hits, key=lambda hit: hit[1])
    return Known(seq, bool(is_copy))


def known_outcome(through_copy: bool, revised: bool, learnt: bool) -> Outcome:
    """A known story seen again: revised in place (only through its own keys: a copy's new
    text does not replace the kept story's), merged when it brought new keys, links or
    categories, else unchanged."""
    if revised and not through_copy:
        return "updated"
    return "merged" if learnt else "unchanged"


def content_hash(a: Article) -> str:
    """What a revision is: a change of title, body, cover, author, outlet or tags."""
    h = hashlib.sha1()
    for part in (a.title, a.content_html, a.cover or "", a.author):
        h.update(part.encode())
        h.update(b"\x00")
    if a.outlet or a.tags:  # only then: hashes of articles without them stay as they were
        for part in (a.outlet or "", *a.tags):
            h.update(part.encode())
            h.update(b"\x00")
    return h.hexdigest()


def merged_categories(stored: Sequence[str], incoming: Sequence[str]) -> list[str]:
    """The stored categories, then the incoming ones not yet there (first seen first)."""
    return list(dict.fromkeys([*stored, *incoming]))
