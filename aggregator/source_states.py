"""What is remembered about each source between polls (the `sources` table)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

from .database import Database, iso, parse_dt
from .errors import StoreError
from .models import SourceState


class SourceStates(Database):
    """Source state: validators, backoff, redirects, 410 Gone."""

    def source_state(self, name: str, configured_url: str) -> SourceState:
        """The stored state of a source; a changed configured URL resets it (and un-gones)."""
        state, stored = self._read_state(name, configured_url)
        if not stored:
            self.save_state(state)
        return state

    def peek_state(self, name: str, configured_url: str) -> SourceState:
        """`source_state` without writing anything (read-only commands)."""
        return self._read_state(name, configured_url)[0]

    def _read_state(self, name: str, configured_url: str) -> tuple[SourceState, bool]:
        try:
            row = self._db.execute(
                "SELECT name, url, etag, last_modified, body_hash, last_success, last_error,"
                " last_error_kind, error_count, next_poll, gone, redirect_candidate,"
                " configured_url, last_warning FROM sources WHERE name = ?",
                (name,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        if row is None or row[12] != configured_url:
            state = SourceState(name=name, url=configured_url, configured_url=configured_url)
            if row is not None:  # keep the history that is still true
                state = replace(state, last_success=parse_dt(row[5]))
            return state, False
        pending, page_error = self._page_status(name)
        state = SourceState(
            pages_pending=pending,
            last_page_error=page_error,
            name=row[0],
            url=row[1],
            etag=row[2],
            last_modified=row[3],
            body_hash=row[4],
            last_success=parse_dt(row[5]),
            last_error=row[6],
            last_error_kind=row[7],
            error_count=row[8],
            next_poll=parse_dt(row[9]),
            gone=bool(row[10]),
            redirect_candidate=row[11],
            configured_url=row[12],
            last_warning=row[13],
        )
        return state, True

    def _page_status(self, name: str) -> tuple[int, str | None]:
        """Article pages listed but not yet fetched at their version (native sources), and
        the newest page error."""
        (pending,) = self._db.execute(
            "SELECT COUNT(*) FROM listed WHERE source = ? AND refused = 0"
            " AND (done IS NULL OR done != version)",
            (name,),
        ).fetchone()
        row = self._db.execute(
            "SELECT error FROM listed WHERE source = ? AND error IS NOT NULL"
            " ORDER BY error_at DESC LIMIT 1",
            (name,),
        ).fetchone()
        return int(pending), row[0] if row else None

    def save_state(self, s: SourceState) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sources (name, configured_url, url, etag, last_modified,"
                " body_hash, last_success, last_error, last_error_kind, error_count, next_poll,"
                " gone, redirect_candidate, last_warning) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    s.name,
                    s.configured_url or s.url,
                    s.url,
                    s.etag,
                    s.last_modified,
                    s.body_hash,
                    iso(s.last_success) if s.last_success else None,
                    s.last_error,
                    s.last_error_kind,
                    s.error_count,
                    iso(s.next_poll) if s.next_poll else None,
                    int(s.gone),
                    s.redirect_candidate,
                    s.last_warning,
                ),
            )

    def enable_source(self, name: str) -> bool:
        """Clear a 410 'gone' mark and the backoff so the source is polled again."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE sources SET gone = 0, error_count = 0, next_poll = NULL WHERE name = ?",
                (name,),
            )
        return cur.rowcount > 0
