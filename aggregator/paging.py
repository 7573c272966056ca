"""Paging of the site's article lists, kept flat in cost however big the store grows.

Every list — all articles (list name '') and each category — is cut into pages by arrival
order (seq). Table `site_pages` holds where each page starts: page n of a list holds the
list's articles with `first_seq <= seq < first_seq of page n+1`; page 1 is the oldest, the
last one (the tail) is open. A publish looks only at the tail of each list it touched: once
the tail holds more than `size` articles it is closed and a new tail starts, so a new
article costs the rendering of one tail page, never a scan of the archive, and closed
pages keep their numbers and URLs for good.

An article revised, merged into or deleted from a closed page marks that page `dirty` in
the store's own transaction (`touch`); the next publish renders the tails of the touched
lists and every dirty page, then clears the marks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

ALL = ""  # the list of every article


@dataclass(frozen=True, slots=True)
class Page:
    """One page of one list: the seq range it covers."""

    list: str
    n: int
    first_seq: int
    end_seq: int | None  # first seq of the next page; None: this is the tail

    @property
    def is_tail(self) -> bool:
        return self.end_seq is None


def touch(db: sqlite3.Connection, seq: int) -> None:
    """Mark dirty the pages holding article `seq` in every list it is on (call it inside
    the transaction that changes the article, before a delete removes its categories)."""
    db.execute(
        "UPDATE site_pages SET dirty = 1 WHERE (list, n) IN ("
        " SELECT l.list, (SELECT p.n FROM site_pages p WHERE p.list = l.list"
        "  AND p.first_seq <= ?1 ORDER BY p.first_seq DESC LIMIT 1)"
        " FROM (SELECT '' AS list UNION ALL"
        "  SELECT category FROM article_categories WHERE seq = ?1) l)",
        (seq,),
    )


def mark_all_dirty(db: sqlite3.Connection) -> None:
    db.execute("UPDATE site_pages SET dirty = 1")


def members(
    db: sqlite3.Connection, name: str, first: int, end: int | None, limit: int = -1
) -> list[int]:
    """Seqs of the list's articles in [first, end), newest first."""
    upper = end if end is not None else (1 << 62)
    if name == ALL:
        sql = "SELECT seq FROM articles WHERE seq >= ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        return [r[0] for r in db.execute(sql, (first, upper, limit))]
    sql = (
        "SELECT seq FROM article_categories WHERE category = ? AND seq >= ? AND seq < ?"
        " ORDER BY seq DESC LIMIT ?"
    )
    return [r[0] for r in db.execute(sql, (name, first, upper, limit))]


def tail(db: sqlite3.Connection, name: str) -> Page:
    row = db.execute(
        "SELECT n, first_seq FROM site_pages WHERE list = ? ORDER BY n DESC LIMIT 1", (name,)
    ).fetchone()
    if row is None:
        db.execute("INSERT INTO site_pages (list, n, first_seq) VALUES (?, 1, 0)", (name,))
        return Page(name, 1, 0, None)
    return Page(name, row[0], row[1], None)


def close_tail(db: sqlite3.Connection, name: str, size: int) -> Page:
    """Close the list's tail page while it holds more than `size` articles; the tail."""
    page = tail(db, name)
    seqs = members(db, name, page.first_seq, None)[::-1]  # oldest first
    n = page.n
    while len(seqs) > size:
        first = seqs[size]
        db.execute("UPDATE site_pages SET dirty = 1 WHERE list = ? AND n = ?", (name, n))
        n += 1
        db.execute(
            "INSERT INTO site_pages (list, n, first_seq, dirty) VALUES (?, ?, ?, 1)",
            (name, n, first),
        )
        seqs = seqs[size:]
    return tail(db, name)


def page(db: sqlite3.Connection, name: str, n: int) -> Page | None:
    rows = db.execute(
        "SELECT n, first_seq FROM site_pages WHERE list = ? AND n IN (?, ?) ORDER BY n",
        (name, n, n + 1),
    ).fetchall()
    if not rows or rows[0][0] != n:
        return None
    return Page(name, n, rows[0][1], rows[1][1] if len(rows) > 1 else None)


def dirty(db: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in db.execute("SELECT list, n FROM site_pages WHERE dirty = 1")]


def clear(db: sqlite3.Connection, done: Collection[tuple[str, int]]) -> None:
    db.executemany(
        "UPDATE site_pages SET dirty = 0 WHERE list = ? AND n = ?", [(ln, n) for ln, n in done]
    )


def forget_missing(db: sqlite3.Connection, lists: Collection[str]) -> None:
    """Drop the pages of categories no article is in any more (their last article went)."""
    for name in lists:
        if name == ALL:
            continue
        gone = (
            db.execute(
                "SELECT 1 FROM article_categories WHERE category = ? LIMIT 1", (name,)
            ).fetchone()
            is None
        )
        if gone:
            db.execute("DELETE FROM site_pages WHERE list = ?", (name,))
