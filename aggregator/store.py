"""SQLite storage (WAL): source states and every article, behind a narrow interface.

Decisions about identity and merging happen here, inside one transaction per batch, so a
crash at any moment leaves either the whole batch or none of it. Callers serialize access
(one thread at a time); the connection is opened with check_same_thread=False for that.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import migrations
from .errors import StoreError
from .identity import article_id, canonical_url, identity_keys, post_slug
from .models import Article, DedupSettings, SourceState, StoredArticle

if TYPE_CHECKING:
    from .dedup import NearDupIndex, Signature


_ARTICLE_COLUMNS = (
    "seq, id, slug, link, title, published, updated, author, categories, content_html, "
    "cover, date_fallback, alt_titles"
)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch did: how many articles went each way (for metrics and logs)."""

    new: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0  # tombstoned articles seen again and dropped


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dt(s: str | None) -> datetime | None:
    if s is None:
        return None
    return datetime.fromisoformat(s)  # 'Z' is UTC; ~10× faster than strptime


_CHUNK = 500  # keys per IN (...) lookup, well under SQLite's bound-parameter limit


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _ref_keys(ref: str) -> list[str]:
    """The identity keys an operator's reference (a key or any URL form) may stand for."""
    keys = [ref]
    canon = canonical_url(ref)
    if canon:
        keys.append(f"url:{canon}")
    if ref.startswith(("http://", "https://")):
        key, alts = identity_keys(ref, None, "", "")
        keys += [key, *alts]
    return keys


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


@dataclass
class _NewRows:
    """Side rows of the batch's new articles, written with one executemany per table."""

    keys: list[tuple[str, int]] = field(default_factory=list)
    links: list[tuple[int, str, str, str]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.dirty)

    def clear(self) -> None:
        self.keys.clear()
        self.links.clear()
        self.categories.clear()
        self.dirty.clear()


def content_hash(a: Article) -> str:
    h = hashlib.sha1()
    for part in (a.title, a.content_html, a.cover or "", a.author):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


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


class Store:
    """The database. Open once per process; close on shutdown."""

    def __init__(
        self, path: Path | str, dedup: DedupSettings | None = None, *, readonly: bool = False
    ) -> None:
        """`readonly`: a second connection that only reads (a worker process rendering
        outputs while the owner's connection stays the only writer)."""
        self.dedup = dedup or DedupSettings()
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

    @functools.cached_property
    def _index(self) -> NearDupIndex:
        """The near-duplicate index, set up on first use: a poll where every source says
        304 never needs it (nor the import of dedup, a tenth of such a run's start-up)."""
        from .dedup import NearDupIndex

        return NearDupIndex(self._db)

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

    # --- sources ---------------------------------------------------------------------

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
                " configured_url FROM sources WHERE name = ?",
                (name,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc
        if row is None or row[12] != configured_url:
            state = SourceState(name=name, url=configured_url, configured_url=configured_url)
            if row is not None:  # keep the history that is still true
                state = replace(state, last_success=_dt(row[5]))
            return state, False
        state = SourceState(
            name=row[0],
            url=row[1],
            etag=row[2],
            last_modified=row[3],
            body_hash=row[4],
            last_success=_dt(row[5]),
            last_error=row[6],
            last_error_kind=row[7],
            error_count=row[8],
            next_poll=_dt(row[9]),
            gone=bool(row[10]),
            redirect_candidate=row[11],
            configured_url=row[12],
        )
        return state, True

    def save_state(self, s: SourceState) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sources (name, configured_url, url, etag, last_modified,"
                " body_hash, last_success, last_error, last_error_kind, error_count, next_poll,"
                " gone, redirect_candidate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    s.name,
                    s.configured_url or s.url,
                    s.url,
                    s.etag,
                    s.last_modified,
                    s.body_hash,
                    _iso(s.last_success) if s.last_success else None,
                    s.last_error,
                    s.last_error_kind,
                    s.error_count,
                    _iso(s.next_poll) if s.next_poll else None,
                    int(s.gone),
                    s.redirect_candidate,
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

    # --- articles ----------------------------------------------------------------------

    def upsert(self, articles: Sequence[Article], now: datetime) -> UpsertResult:
        """Store a batch from one poll in one transaction (identity, merges, revisions).

        Tombstones and known keys are looked up for the whole batch at once, and the side
        rows of new articles (keys, links, categories) go in with one executemany each at
        the end: a cold ingest is almost all new articles, and one statement per row was
        most of its storing time.
        """
        counts = {"new": 0, "updated": 0, "merged": 0, "unchanged": 0, "deleted": 0}
        all_keys = list(dict.fromkeys(k for a in articles for k in (a.key, *a.alt_keys)))
        with self._tx():
            dead = self._tombstoned(all_keys)
            known = self._known_keys(all_keys)
            pending = _NewRows()
            for a in articles:
                keys = (a.key, *a.alt_keys)
                if dead.intersection(keys):
                    counts["deleted"] += 1
                    continue
                hits = [known[k] for k in keys if k in known]
                if hits:
                    self._flush(pending)  # the paths below read the rows they touch
                    seq, is_copy = min(hits, key=lambda hit: hit[1])
                    result = self._upsert_known(seq, bool(is_copy), a, keys, now)
                else:
                    result, seq, is_copy = self._upsert_unknown(a, keys, now, pending)
                for k in keys:  # later items of the batch find what this one added
                    known.setdefault(k, (seq, is_copy))
                counts[result] += 1
                if result in ("updated", "merged"):
                    self._flush(pending)
                    self._touch_categories(seq)
            self._flush(pending)
            if counts["new"] + counts["updated"] + counts["merged"]:
                self._bump_generation()
        return UpsertResult(**counts)

    def _tombstoned(self, keys: Sequence[str]) -> set[str]:
        return {
            r[0]
            for chunk in _chunks(keys)
            for r in self._db.execute(
                f"SELECT key FROM tombstones WHERE key IN ({_marks(chunk)})", chunk
            )
        }

    def _known_keys(self, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
        return {
            r[0]: (r[1], r[2])
            for chunk in _chunks(keys)
            for r in self._db.execute(
                f"SELECT key, seq, is_copy FROM article_keys WHERE key IN ({_marks(chunk)})",
                chunk,
            )
        }

    def _flush(self, rows: _NewRows) -> None:
        if not rows:
            return
        db = self._db
        db.executemany(
            "INSERT OR IGNORE INTO article_keys (key, seq, is_copy) VALUES (?,?,0)", rows.keys
        )
        db.executemany(
            "INSERT OR IGNORE INTO article_links (seq, url, source, first_seen) VALUES (?,?,?,?)",
            rows.links,
        )
        db.executemany(
            "INSERT OR IGNORE INTO article_categories (category, seq) VALUES (?,?)",
            rows.categories,
        )
        db.executemany(
            "INSERT OR IGNORE INTO dirty_categories (category) VALUES (?)",
            [(c,) for c in rows.dirty],
        )
        rows.clear()

    # --- change tracking: outputs are rebuilt only when the generation moved ------------

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (k, v) VALUES ('generation', '1')"
            " ON CONFLICT (k) DO UPDATE SET v = CAST(v AS INTEGER) + 1"
        )

    def _touch_categories(self, seq: int | None) -> None:
        """Remember the categories whose feeds must be re-rendered at the next publish."""
        self._db.execute(
            "INSERT OR IGNORE INTO dirty_categories (category)"
            " SELECT category FROM article_categories WHERE seq = ?",
            (seq,),
        )

    def dirty_categories(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT category FROM dirty_categories")}

    def clear_dirty_categories(self, done: set[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM dirty_categories WHERE category = ?", [(c,) for c in done])

    def generation(self) -> int:
        """A number that changes whenever anything published could have changed."""
        row = self._db.execute("SELECT v FROM meta WHERE k = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (k, v) VALUES (?, ?)"
                " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                (key, value),
            )

    def _upsert_known(
        self, seq: int, is_copy: bool, a: Article, keys: Sequence[str], now: datetime
    ) -> str:
        """An item with a key already stored: a repeat, a revision, or another channel."""
        grew = self._attach(seq, a, keys, now, is_copy=is_copy)
        if is_copy:
            return "merged" if grew else "unchanged"
        return self._revise(seq, a, now) or ("merged" if grew else "unchanged")

    def _upsert_unknown(
        self, a: Article, keys: Sequence[str], now: datetime, pending: _NewRows
    ) -> tuple[str, int, int]:
        """An item with no stored key: a near-duplicate of a kept story, or a new one.
        Returns what happened, the article's seq and whether its keys are a copy's."""
        # Usually computed by the poll's worker; computed here once for find and add if not.
        from .dedup import Candidate, Signature, signature

        sig = a.signature if isinstance(a.signature, Signature) else signature(a.title, a.text)
        if self.dedup.policy == "merge":
            window = timedelta(days=self.dedup.window_days)
            kept = self._index.find(Candidate(a.title, a.text, a.published), window, sig)
            if kept is not None:
                self._flush(pending)
                db = self._db
                seq = db.execute("SELECT seq FROM articles WHERE id = ?", (kept,)).fetchone()[0]
                db.execute(
                    "INSERT OR IGNORE INTO copies (key, seq, source, link, title, first_seen)"
                    " VALUES (?,?,?,?,?,?)",
                    (a.key, seq, a.source_name, a.link, a.title, _iso(now)),
                )
                self._attach(seq, a, keys, now, is_copy=True)
                self._add_alt_title(seq, a.title)
                self._index.add_alias(kept, a.title)
                return "merged", seq, 1
        return "new", self._insert(a, keys, now, sig, pending), 0

    def _insert(
        self, a: Article, keys: Sequence[str], now: datetime, sig: Signature, pending: _NewRows
    ) -> int:
        aid = article_id(a.key)
        published = _iso(a.published)
        seen = _iso(now)
        categories = list(dict.fromkeys(a.categories))
        cur = self._db.execute(
            "INSERT INTO articles (id, key, slug, link, title, published, updated, first_seen,"
            " date_fallback, author, categories, content_html, cover, editor, content_hash)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                aid,
                a.key,
                post_slug(a.key, a.published.strftime("%Y-%m-%d")),
                a.link,
                a.title,
                published,
                published,
                seen,
                int(a.date_is_fallback),
                a.author,
                json.dumps(categories, ensure_ascii=False),
                a.content_html,
                a.cover,
                a.editor,
                content_hash(a),
            ),
        )
        seq = cur.lastrowid
        assert seq is not None
        pending.keys.extend((k, seq) for k in keys)
        pending.links.append((seq, canonical_url(a.link) or a.link, a.source_name, seen))
        pending.categories.extend((c, seq) for c in categories)
        pending.dirty.update(categories)
        from .dedup import Candidate

        self._index.add(aid, Candidate(a.title, a.text, a.published), sig=sig, new=True)
        return seq

    def _attach(
        self, seq: int, a: Article, keys: Sequence[str], now: datetime, *, is_copy: bool
    ) -> bool:
        """Record keys, provenance link and categories; True if anything new was learnt."""
        db = self._db
        before = db.total_changes
        db.executemany(
            "INSERT OR IGNORE INTO article_keys (key, seq, is_copy) VALUES (?,?,?)",
            [(k, seq, int(is_copy)) for k in keys],
        )
        keys_added = db.total_changes != before
        before = db.total_changes
        link = canonical_url(a.link) or a.link
        db.execute(
            "INSERT OR IGNORE INTO article_links (seq, url, source, first_seen) VALUES (?,?,?,?)",
            (seq, link, a.source_name, _iso(now)),
        )
        (cats_json,) = db.execute(
            "SELECT categories FROM articles WHERE seq = ?", (seq,)
        ).fetchone()
        cats: list[str] = json.loads(cats_json)
        merged = list(dict.fromkeys([*cats, *a.categories]))
        if merged != cats:
            db.execute(
                "UPDATE articles SET categories = ?, post_dirty = 1 WHERE seq = ?",
                (json.dumps(merged, ensure_ascii=False), seq),
            )
        db.executemany(
            "INSERT OR IGNORE INTO article_categories (category, seq) VALUES (?,?)",
            [(c, seq) for c in merged],
        )
        return keys_added or db.total_changes != before

    def _add_alt_title(self, seq: int, title: str) -> None:
        """Record a merged copy's headline as one of the story's alternative titles."""
        from .dedup import alternative_titles

        kept, alts_json = self._db.execute(
            "SELECT title, alt_titles FROM articles WHERE seq = ?", (seq,)
        ).fetchone()
        known = tuple(json.loads(alts_json))
        alts = alternative_titles(kept, known, title)
        if alts != known:
            self._db.execute(
                "UPDATE articles SET alt_titles = ? WHERE seq = ?",
                (json.dumps(alts, ensure_ascii=False), seq),
            )

    def _revise(self, seq: int, a: Article, now: datetime) -> str | None:
        """Same identity, changed content: update in place (same id, same slug)."""
        old_hash, aid, alts_json = self._db.execute(
            "SELECT content_hash, id, alt_titles FROM articles WHERE seq = ?", (seq,)
        ).fetchone()
        new_hash = content_hash(a)
        if new_hash == old_hash:
            return None
        from .dedup import Candidate, Signature, alternative_titles

        # A revision retitled to one of the alternatives no longer has it as another title.
        alts = alternative_titles(a.title, (), *json.loads(alts_json))
        self._db.execute(
            "UPDATE articles SET title = ?, content_html = ?, cover = ?, author = ?, editor = ?,"
            " content_hash = ?, updated = ?, alt_titles = ?, post_dirty = 1 WHERE seq = ?",
            (
                a.title,
                a.content_html,
                a.cover,
                a.author,
                a.editor,
                new_hash,
                _iso(now),
                json.dumps(alts, ensure_ascii=False),
                seq,
            ),
        )

        # A refresh in place: the story keeps its stored order and the headlines it was
        # merged under.
        sig = a.signature if isinstance(a.signature, Signature) else None
        self._index.add(aid, Candidate(a.title, a.text, a.published), sig=sig)
        return "updated"

    def delete(self, ref: str, now: datetime) -> StoredArticle | None:
        """Delete an article by id, identity key or URL; tombstone every key it had."""
        db = self._db
        seq = self._find_seq(ref)
        if seq is None:
            return None
        art = self._load([seq])[0]
        with self._tx():
            keys = [r[0] for r in db.execute("SELECT key FROM article_keys WHERE seq = ?", (seq,))]
            keys += [r[0] for r in db.execute("SELECT key FROM copies WHERE seq = ?", (seq,))]
            db.executemany(
                "INSERT OR REPLACE INTO tombstones (key, deleted_at, slug) VALUES (?,?,?)",
                [(k, _iso(now), art.slug) for k in dict.fromkeys(keys)],
            )
            self._index.remove(art.id)
            self._touch_categories(seq)
            db.execute("DELETE FROM articles WHERE seq = ?", (seq,))
            self._bump_generation()
        return art

    def _find_seq(self, ref: str) -> int | None:
        db = self._db
        row = db.execute("SELECT seq FROM articles WHERE id = ? OR slug = ?", (ref, ref)).fetchone()
        if row:
            return int(row[0])
        for key in _ref_keys(ref):
            row = db.execute("SELECT seq FROM article_keys WHERE key = ?", (key,)).fetchone()
            if row:
                return int(row[0])
        return None

    def deleted_at(self, ref: str) -> datetime | None:
        """When the article `ref` (slug, id, URL or key) was deleted; None if it was not."""
        db = self._db
        row = db.execute(
            "SELECT deleted_at FROM tombstones WHERE slug = ? LIMIT 1", (ref,)
        ).fetchone()
        for key in _ref_keys(ref):
            if row:
                break
            row = db.execute("SELECT deleted_at FROM tombstones WHERE key = ?", (key,)).fetchone()
        if row is None and ref.startswith("urn:uuid:"):  # ids are derived from keys
            for key, when in db.execute("SELECT key, deleted_at FROM tombstones"):
                if article_id(key) == ref:
                    row = (when,)
                    break
        return _dt(row[0]) if row else None

    def deleted_slugs(self) -> list[str]:
        return [
            r[0]
            for r in self._db.execute("SELECT DISTINCT slug FROM tombstones WHERE slug IS NOT NULL")
        ]

    # --- reading (the outputs.ArticleView protocol) -------------------------------------

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        if category is None:
            rows = self._db.execute(
                "SELECT seq FROM articles ORDER BY published DESC, id LIMIT ?", (limit,)
            )
        else:
            rows = self._db.execute(
                "SELECT a.seq FROM article_categories c JOIN articles a ON a.seq = c.seq"
                " WHERE c.category = ? ORDER BY a.published DESC, a.id LIMIT ?",
                (category, limit),
            )
        return self._load([r[0] for r in rows])

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Oldest first in insertion order: archive pages keep their positions."""
        if category is None:
            rows = self._db.execute(
                "SELECT seq FROM articles ORDER BY seq LIMIT ? OFFSET ?", (limit, offset)
            )
        else:
            rows = self._db.execute(
                "SELECT seq FROM article_categories WHERE category = ? ORDER BY seq"
                " LIMIT ? OFFSET ?",
                (category, limit, offset),
            )
        return self._load([r[0] for r in rows])

    def categories(self) -> list[str]:
        return [
            r[0]
            for r in self._db.execute(
                "SELECT DISTINCT category FROM article_categories ORDER BY category"
            )
        ]

    def count(self, category: str | None = None) -> int:
        if category is None:
            (n,) = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()
        else:
            (n,) = self._db.execute(
                "SELECT COUNT(*) FROM article_categories WHERE category = ?", (category,)
            ).fetchone()
        return int(n)

    def articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        """The stored articles of `ids` that still exist, in that order."""
        seqs = [
            r[0]
            for chunk in _chunks(ids)
            for r in self._db.execute(
                f"SELECT seq FROM articles WHERE id IN ({_marks(chunk)})", chunk
            )
        ]
        by_id = {a.id: a for a in self._load(seqs)}
        return [by_id[i] for i in ids if i in by_id]

    def dirty_post_ids(self) -> list[str]:
        """Articles whose post must be written again, in insertion order."""
        return [
            r[0]
            for r in self._db.execute("SELECT id FROM articles WHERE post_dirty = 1 ORDER BY seq")
        ]

    def mark_posts_clean(self, ids: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE articles SET post_dirty = 0 WHERE id = ?", [(i,) for i in ids])

    def mark_all_posts_dirty(self) -> None:
        with self._tx() as db:
            db.execute("UPDATE articles SET post_dirty = 1")

    def _load(self, seqs: Sequence[int]) -> list[StoredArticle]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        rows = {
            r[0]: r
            for r in self._db.execute(
                f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE seq IN ({marks})", seqs
            )
        }
        links: dict[int, list[str]] = {}
        for seq, url in self._db.execute(
            f"SELECT seq, url FROM article_links WHERE seq IN ({marks}) ORDER BY first_seen, url",
            seqs,
        ):
            links.setdefault(seq, []).append(url)
        out = []
        for seq in seqs:
            r = rows.get(seq)
            if r is None:
                continue
            published = _dt(r[5])
            updated = _dt(r[6])
            assert published is not None and updated is not None
            out.append(
                StoredArticle(
                    id=r[1],
                    slug=r[2],
                    link=r[3],
                    title=r[4],
                    published=published,
                    updated=updated,
                    author=r[7],
                    categories=tuple(json.loads(r[8])),
                    content_html=r[9],
                    cover=r[10],
                    links=tuple(links.get(seq, ())),
                    date_is_fallback=bool(r[11]),
                    alt_titles=tuple(json.loads(r[12])),
                )
            )
        return out
