"""What native sources listed: per source and item, the version last listed and
the version handled (stored or attached), and while its article page is pending the item
itself, its attempts and last error (the `listed` table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .database import Database, chunks, iso, marks


@dataclass(frozen=True, slots=True)
class ListedRow:
    """What a poll learnt about one listed item of a native source."""

    key: str
    version: str
    page_url: str | None = None
    item: str | None = None  # the item (JSON) while its page is pending
    done: bool = False  # this version is stored or attached: never read again
    error: str | None = None  # its page failed (or was refused) this time
    error_kind: str | None = None
    refused: bool = False  # a page the source may not fetch: never tried
    next_try: datetime | None = None  # after a failure: not retried before


@dataclass(frozen=True, slots=True)
class Listed:
    """A source's memory of one item: the version it last listed, the one handled."""

    version: str
    done: str | None
    attempts: int


class ListedItems(Database):
    """Item versions handled and pages pending, per source."""

    def has_listed(self, source: str) -> bool:
        """Whether the source ever listed anything (else its first poll backfills)."""
        row = self._db.execute("SELECT 1 FROM listed WHERE source = ? LIMIT 1", (source,))
        return row.fetchone() is not None

    def listed(self, source: str, keys: Sequence[str]) -> dict[str, Listed]:
        """The source's memory of these items."""
        out: dict[str, Listed] = {}
        for chunk in chunks(keys):
            for key, version, done, attempts in self._db.execute(
                "SELECT key, version, done, attempts FROM listed"
                f" WHERE source = ? AND key IN ({marks(chunk)})",
                (source, *chunk),
            ):
                out[key] = Listed(version, done, attempts)
        return out

    def handled_anywhere(self, keys: Sequence[str]) -> set[tuple[str, str]]:
        """(key, version) pairs some source already stored: their pages are not fetched
        again, whichever list carries them."""
        return {
            (r[0], r[1])
            for chunk in chunks(keys)
            for r in self._db.execute(
                f"SELECT key, done FROM listed WHERE key IN ({marks(chunk)}) AND done IS NOT NULL",
                chunk,
            )
        }

    def pending_items(
        self, source: str, now: datetime, limit: int, skip: Sequence[str] = ()
    ) -> list[tuple[str, int]]:
        """(item JSON, attempts) of the source's pages waiting from earlier polls, due now,
        oldest listing first."""
        if limit <= 0:
            return []
        rows = self._db.execute(
            "SELECT key, item, attempts FROM listed WHERE source = ? AND refused = 0"
            " AND item IS NOT NULL AND (done IS NULL OR done != version)"
            " AND (next_try IS NULL OR next_try <= ?) ORDER BY next_try, key LIMIT ?",
            (source, iso(now), limit + len(skip)),
        )
        skipped = set(skip)
        return [(r[1], r[2]) for r in rows if r[0] not in skipped][:limit]

    def record_listed(self, source: str, rows: Sequence[ListedRow], now: datetime) -> None:
        """Remember what a poll did with each listed item, in one transaction."""
        at = iso(now)
        with self._tx() as db:
            for r in rows:
                if r.done:
                    db.execute(
                        "INSERT INTO listed (source, key, version, page_url, done)"
                        " VALUES (?,?,?,?,?) ON CONFLICT (source, key) DO UPDATE SET"
                        " version = excluded.version, page_url = excluded.page_url,"
                        " done = excluded.done, item = NULL, attempts = 0, next_try = NULL,"
                        " error = NULL, error_kind = NULL, error_at = NULL, refused = 0",
                        (source, r.key, r.version, r.page_url, r.version),
                    )
                elif r.error is not None:
                    db.execute(
                        "INSERT INTO listed (source, key, version, page_url, item, attempts,"
                        " next_try, error, error_kind, error_at, refused)"
                        " VALUES (?,?,?,?,?,1,?,?,?,?,?) ON CONFLICT (source, key) DO UPDATE"
                        " SET version = excluded.version, page_url = excluded.page_url,"
                        " item = excluded.item, attempts = listed.attempts + 1,"
                        " next_try = excluded.next_try, error = excluded.error,"
                        " error_kind = excluded.error_kind, error_at = excluded.error_at,"
                        " refused = excluded.refused",
                        (
                            source,
                            r.key,
                            r.version,
                            r.page_url,
                            r.item,
                            iso(r.next_try) if r.next_try else None,
                            r.error,
                            r.error_kind,
                            at,
                            int(r.refused),
                        ),
                    )
                else:  # waiting for a later poll's budget
                    db.execute(
                        "INSERT INTO listed (source, key, version, page_url, item)"
                        " VALUES (?,?,?,?,?) ON CONFLICT (source, key) DO UPDATE SET"
                        " version = excluded.version, page_url = excluded.page_url,"
                        " item = excluded.item",
                        (source, r.key, r.version, r.page_url, r.item),
                    )
