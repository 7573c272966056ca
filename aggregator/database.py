"""The SQLite database the store's parts share: opening (WAL, migrations, read-only
connections), one transaction helper, and the few conversions every part uses.

Callers serialize access (one thread at a time); the connection is opened with
check_same_thread=False for that.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from . import migrations
from .errors import StoreError


def iso(dt: datetime) -> str:
    """`dt` in UTC as stored: ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")``, by `isoformat` (~3×
    faster; the store writes two or three per new article) where the two agree: the C
    library's %Y leaves years before 1000 unpadded, isoformat pads them."""
    utc = dt.astimezone(UTC)
    if utc.year < 1000:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # less '+00:00'


def day(dt: datetime) -> str:
    """``dt.strftime("%Y-%m-%d")`` (its own date, not UTC's), by `isoformat` as `iso`."""
    return dt.strftime("%Y-%m-%d") if dt.year < 1000 else dt.date().isoformat()


# A NOT NULL column reads as a datetime, a nullable one as datetime | None.
@overload
def parse_dt(s: str) -> datetime: ...
@overload
def parse_dt(s: str | None) -> datetime | None: ...
def parse_dt(s: str | None) -> datetime | None:
    if s is None:
        return None
    return datetime.fromisoformat(s)  # 'Z' is UTC; ~10× faster than strptime


_CHUNK = 500  # keys per IN (...) lookup, well under SQLite's bound-parameter limit


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _refuse_truncated(path: Path) -> None:
    """A database file cut to 0 bytes (a bad copy, a full disk, a mistaken `>`) is not a new
    database: taking it as one would silently start over without every stored article."""
    try:
        empty = path.stat().st_size == 0
    except FileNotFoundError:
        return
    wal = path.with_name(path.name + "-wal")
    if empty and not (wal.exists() and wal.stat().st_size > 0):
        raise StoreError(
            f"database {path} is an empty file (0 bytes): it may have been truncated."
            " Restore it from a backup, or delete it to start a new database."
        )


class Database:
    """One connection to the database file, migrated to the current schema on opening."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        """`readonly`: a second connection that only reads (a worker process rendering
        outputs while the owner's connection stays the only writer)."""
        self.path = None if str(path) == ":memory:" else Path(path)
        where = f"database {path}"
        try:
            if readonly:
                assert self.path is not None, "an in-memory database has no second connection"
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
                if migrations.check_not_newer(self._db, where) < migrations.LATEST:
                    raise StoreError(f"{where} is not upgraded yet: open it read-write first")
                return
            if self.path is not None:
                _refuse_truncated(self.path)
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), isolation_level=None, check_same_thread=False, timeout=30
            )
            migrations.check_not_newer(self._db, where)  # before WAL mode writes the header
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a killed process loses nothing committed; only power loss
            # may drop the last transactions, never corrupts.
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Migrations run with foreign keys off: SQLite's table-rebuild recipe needs it.
            migrations.migrate(self._db, where)
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {where}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the modules that keep tables of their own (paging, search);
        they write only inside `transaction()`."""
        return self._db

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
