"""The store: source states, articles and their keys, and change tracking, in one SQLite
database (WAL). Each concern is its own module; `Store` puts them on one connection.

    database.py       opening, migrations, transactions
    source_states.py  what is remembered about each source between polls
    listed.py         what native sources listed: item versions handled, pages pending
    store.py          articles and their keys: identity, merges, revisions, tombstones, reading
    changes.py        what changed since the last publish (for the outputs)
    merge.py          the merge decision itself (pure)

A batch is stored in one transaction, so a crash at any moment leaves either the whole
batch or none of it.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import merge, paging, search
from .changes import ChangeTracking
from .database import chunks, day, iso, marks, parse_dt
from .identity import article_id, canonical_url, identity_keys
from .listed import ListedItems
from .lru import LRU
from .models import Article, DedupSettings, ListEntry, StoredArticle
from .outputs.posts import post_slug
from .source_states import SourceStates

if TYPE_CHECKING:
    from .dedup import NearDupIndex, Signature


# Stored lists (categories, tags, alternative titles) are UTF-8 JSON an operator can read.
# One encoder: json.dumps builds a new one at each call given any option.
_json = json.JSONEncoder(ensure_ascii=False).encode

_ARTICLE_COLUMNS = (
    "seq, id, slug, link, title, published, updated, author, categories, content_html, "
    "cover, date_fallback, alt_titles, outlet, tags"
)


@functools.lru_cache(maxsize=4096)
def _strings(column: str) -> tuple[str, ...]:
    """A JSON list column (categories, alternative titles, tags) as the article holds it:
    the same few lists recur on most rows, each decoded once (~1 us a column a load)."""
    return tuple(json.loads(column))


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch did: how many articles went each way (for metrics and logs)."""

    new: int = 0
    updated: int = 0
    merged: int = 0
    unchanged: int = 0
    deleted: int = 0  # tombstoned articles seen again and dropped


@dataclass
class _NewRows:
    """Side rows of the batch's new articles, written with one executemany per table."""

    seen: str  # the batch's time, as stored (first_seen)
    articles: int = 0  # new article rows (inserted already; counted at the flush)
    keys: list[tuple[str, int]] = field(default_factory=list)
    links: list[tuple[int, str, str, str]] = field(default_factory=list)
    categories: list[tuple[str, int, str, str]] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys)  # every row here belongs to a new article, which has keys

    def clear(self) -> None:
        self.articles = 0
        self.keys.clear()
        self.links.clear()
        self.categories.clear()
        self.dirty.clear()


def _ref_keys(ref: str) -> list[str]:
    """The identity keys an operator's reference (a key or any URL form) may stand for."""
    if canonical_url(ref) is None:
        return [ref]
    # A URL's keys, as an item linking to it would have them (a URL always has a url: key,
    # so the title and date, used only without one, are left empty).
    key, alts = identity_keys(ref, None, "", "")
    return [key, *alts]


class Store(SourceStates, ListedItems, ChangeTracking):
    """The database. Open once per process; close on shutdown."""

    def __init__(
        self, path: Path | str, dedup: DedupSettings | None = None, *, readonly: bool = False
    ) -> None:
        """`readonly`: a second connection that only reads (a worker process rendering
        outputs while the owner's connection stays the only writer)."""
        self.dedup = dedup or DedupSettings()
        super().__init__(path, readonly=readonly)

    @functools.cached_property
    def _index(self) -> NearDupIndex:
        """The near-duplicate index, set up on first use: a poll where every source says
        304 never needs it (nor the import of dedup, a tenth of such a run's start-up)."""
        from .dedup import NearDupIndex

        return NearDupIndex(self._db)

    # --- articles ----------------------------------------------------------------------

    def item_hashes(self, source: str) -> frozenset[bytes]:
        """The `prepare.item_hash`es of the items `source`'s last stored document held."""
        rows = self._db.execute("SELECT hash FROM source_items WHERE source = ?", (source,))
        return frozenset(r[0] for r in rows)

    def upsert(
        self,
        articles: Sequence[Article],
        now: datetime,
        items: tuple[str, Sequence[bytes]] | None = None,
    ) -> UpsertResult:
        """Store a batch from one poll in one transaction (identity, merges, revisions).

        `items`: (source name, the item hashes of its document), recorded in the same
        transaction as what they stand for, so a hash is known only once its item is stored.

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
            pending = _NewRows(iso(now))
            self._to_index: dict[int, tuple[int, str, str]] = {}
            with self._screening(articles, dead, known):
                for a in articles:
                    keys = (a.key, *a.alt_keys)
                    decision = merge.decide(keys, dead, known)
                    if decision == "deleted":
                        counts["deleted"] += 1
                        continue
                    result: merge.Outcome
                    if isinstance(decision, merge.Known):
                        self._flush(pending)  # the paths below read the rows they touch
                        seq, is_copy = decision.seq, decision.through_copy
                        result = self._upsert_known(seq, is_copy, a, keys, now)
                    else:
                        result, seq, is_copy = self._upsert_unknown(a, keys, now, pending)
                    for k in keys:  # later items of the batch find what this one added
                        known.setdefault(k, (seq, int(is_copy)))
                    counts[result] += 1
                    if result in ("updated", "merged"):  # (both paths flushed `pending` first)
                        self._touch(seq)
            self._flush(pending)
            # The search index last: FTS5 writes its pending rows at the next statement's
            # savepoint, which would count as changes `_attach` reads as something learnt.
            search.index_rows(self._db, self._to_index.values())
            self._to_index.clear()
            if counts["new"] or counts["updated"] or counts["merged"]:
                self._bump_generation()
            if items is not None:
                source, hashes = items
                self._db.execute("DELETE FROM source_items WHERE source = ?", (source,))
                self._db.executemany(
                    "INSERT OR IGNORE INTO source_items (source, hash) VALUES (?, ?)",
                    [(source, h) for h in hashes],
                )
        return UpsertResult(**counts)

    def _screening(
        self, articles: Sequence[Article], dead: set[str], known: dict[str, tuple[int, int]]
    ) -> contextlib.AbstractContextManager[None]:
        """The batch's near-duplicate lookups screened in one statement (`NearDupIndex.
        screening`): those of its articles no stored key or tombstone answers for."""
        if self.dedup.policy != "merge":
            return contextlib.nullcontext()
        lookups = [
            (a.signature, a.published)
            for a in articles
            if a.signature is not None
            and not any(k in known or k in dead for k in (a.key, *a.alt_keys))
        ]
        if not lookups:
            return contextlib.nullcontext()
        return self._index.screening(lookups, timedelta(days=self.dedup.window_days))

    def _tombstoned(self, keys: Sequence[str]) -> set[str]:
        return {
            r[0]
            for chunk in chunks(keys)
            for r in self._db.execute(
                f"SELECT key FROM tombstones WHERE key IN ({marks(chunk)})", chunk
            )
        }

    def _known_keys(self, keys: Sequence[str]) -> dict[str, tuple[int, int]]:
        return {
            r[0]: (r[1], r[2])
            for chunk in chunks(keys)
            for r in self._db.execute(
                f"SELECT key, seq, is_copy FROM article_keys WHERE key IN ({marks(chunk)})",
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
        db.executemany(  # a new article's published and id, as its row holds them
            "INSERT OR IGNORE INTO article_categories (category, seq, published, id)"
            " VALUES (?,?,?,?)",
            rows.categories,
        )
        db.executemany(
            "INSERT OR IGNORE INTO dirty_categories (category) VALUES (?)",
            [(c,) for c in rows.dirty],
        )
        # Every category row above is new (a new seq, its categories without repeats).
        self._counted(rows.articles, Counter(c for c, *_ in rows.categories))
        rows.clear()

    def _counted(self, articles: int, categories: Mapping[str, int]) -> None:
        """Keep the counts `count` and `categories` read as rows come (+) and go (-): once
        per batch, where triggers did it once per row (migration 11: ~5 % of storing's
        instructions outside the search index). A category no article is in leaves."""
        db = self._db
        if articles:
            db.execute("UPDATE article_count SET n = n + ?", (articles,))
        if categories:
            db.executemany(
                "INSERT INTO category_counts (category, n) VALUES (?, ?)"
                " ON CONFLICT (category) DO UPDATE SET n = n + excluded.n",
                categories.items(),
            )
        if gone := [(c,) for c, n in categories.items() if n < 0]:
            db.executemany("DELETE FROM category_counts WHERE category = ? AND n <= 0", gone)

    def _upsert_known(
        self, seq: int, is_copy: bool, a: Article, keys: Sequence[str], now: datetime
    ) -> merge.Outcome:
        """An item with a key already stored: a repeat, a revision, or another channel."""
        learnt = self._attach(seq, a, keys, now, is_copy=is_copy)
        revised = not is_copy and self._revise(seq, a, now)
        return merge.known_outcome(is_copy, revised, learnt)

    def _upsert_unknown(
        self, a: Article, keys: Sequence[str], now: datetime, pending: _NewRows
    ) -> tuple[merge.Outcome, int, bool]:
        """An item with no stored key: a near-duplicate of a kept story, or a new one.
        Returns what happened, the article's seq and whether its keys are a copy's."""
        # Usually computed by the poll's worker; computed here once for find and add if not.
        from .dedup import signature

        sig = a.signature or signature(a.title, a.text)
        if self.dedup.policy == "merge":
            found = self._kept_story(a, sig)
            if found is not None:
                kept, seq = found
                self._flush(pending)
                db = self._db
                db.execute(
                    "INSERT OR IGNORE INTO copies (key, seq, source, link, title, first_seen)"
                    " VALUES (?,?,?,?,?,?)",
                    (a.key, seq, a.source_name, a.link, a.title, iso(now)),
                )
                self._attach(seq, a, keys, now, is_copy=True)
                self._add_alt_title(seq, a.title)
                self._index.add_alias(kept, a.title)
                return "merged", seq, True
        return "new", self._insert(a, keys, sig, pending), False

    def _kept_story(self, a: Article, sig: Signature) -> tuple[str, int] | None:
        """The kept story (id, seq) ``a`` is a copy of. The index judges signatures; the two
        texts have the last word (`dedup.bodies_conflict`: a template's slots)."""
        from .dedup import Candidate, bodies_conflict

        cand = Candidate(a.title, a.text, a.published)
        kept = self._index.find(cand, timedelta(days=self.dedup.window_days), sig)
        if kept is None:
            return None
        seq, title, html = self._db.execute(
            "SELECT seq, title, content_html FROM articles WHERE id = ?", (kept,)
        ).fetchone()
        if bodies_conflict(cand, Candidate(title, html, a.published)):
            return None
        return kept, int(seq)

    def _insert(self, a: Article, keys: Sequence[str], sig: Signature, pending: _NewRows) -> int:
        aid = article_id(a.key)
        published = iso(a.published)
        seen = pending.seen
        categories = list(dict.fromkeys(a.categories))
        cur = self._db.execute(
            "INSERT INTO articles (id, key, slug, link, title, published, updated, first_seen,"
            " date_fallback, author, categories, content_html, cover, editor, content_hash,"
            " outlet, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                aid,
                a.key,
                post_slug(a.key, day(a.published)),
                a.link,
                a.title,
                published,
                published,
                seen,
                int(a.date_is_fallback),
                a.author,
                _json(categories),
                a.content_html,
                a.cover,
                a.editor,
                merge.content_hash(a),
                a.outlet,
                _json(a.tags),
            ),
        )
        seq = cur.lastrowid
        assert seq is not None
        pending.articles += 1
        pending.keys.extend((k, seq) for k in keys)
        pending.links.append((seq, a.canonical_link, a.source_name, seen))
        pending.categories.extend((c, seq, published, aid) for c in categories)
        pending.dirty.update(categories)
        self._to_index[seq] = (seq, a.title, a.text)
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
        db.execute(
            "INSERT OR IGNORE INTO article_links (seq, url, source, first_seen) VALUES (?,?,?,?)",
            (seq, a.canonical_link, a.source_name, iso(now)),
        )
        (cats_json,) = db.execute(
            "SELECT categories FROM articles WHERE seq = ?", (seq,)
        ).fetchone()
        cats: list[str] = json.loads(cats_json)
        merged = merge.merged_categories(cats, a.categories)
        if merged != cats:
            db.execute(
                "UPDATE articles SET categories = ?, post_dirty = 1 WHERE seq = ?",
                (_json(merged), seq),
            )
        have = {
            r[0]
            for r in db.execute("SELECT category FROM article_categories WHERE seq = ?", (seq,))
        }
        missing = [c for c in merged if c not in have]
        db.executemany(
            "INSERT INTO article_categories (category, seq, published, id)"
            " SELECT ?, seq, published, id FROM articles WHERE seq = ?",
            [(c, seq) for c in missing],
        )
        learnt = keys_added or db.total_changes != before
        self._counted(0, Counter(missing))
        return learnt

    def attach(self, articles: Sequence[Article], now: datetime) -> UpsertResult:
        """Another list carries stored articles: add its channel and link to each, never
        its content (that came from the page). Unknown or deleted ones are left alone."""
        merged = unchanged = 0
        keys = list(dict.fromkeys(k for a in articles for k in (a.key, *a.alt_keys)))
        with self._tx():
            known = self._known_keys(keys)
            for a in articles:
                decision = merge.decide((a.key, *a.alt_keys), (), known)
                if not isinstance(decision, merge.Known):
                    continue
                learnt = self._attach(
                    decision.seq, a, (a.key, *a.alt_keys), now, is_copy=decision.through_copy
                )
                if learnt:
                    self._touch_categories(decision.seq)
                    merged += 1
                else:
                    unchanged += 1
            if merged:
                self._bump_generation()
        return UpsertResult(merged=merged, unchanged=unchanged)

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
                (_json(alts), seq),
            )

    def _revise(self, seq: int, a: Article, now: datetime) -> bool:
        """Same identity, changed content: update in place (same id, same slug)."""
        old_hash, aid, alts_json = self._db.execute(
            "SELECT content_hash, id, alt_titles FROM articles WHERE seq = ?", (seq,)
        ).fetchone()
        new_hash = merge.content_hash(a)
        if new_hash == old_hash:
            return False
        from .dedup import Candidate, alternative_titles

        # A revision retitled to one of the alternatives no longer has it as another title.
        alts = alternative_titles(a.title, (), *json.loads(alts_json))
        self._db.execute(
            "UPDATE articles SET title = ?, content_html = ?, cover = ?, author = ?, editor = ?,"
            " content_hash = ?, updated = ?, alt_titles = ?, outlet = ?, tags = ?,"
            " post_dirty = 1 WHERE seq = ?",
            (
                a.title,
                a.content_html,
                a.cover,
                a.author,
                a.editor,
                new_hash,
                iso(now),
                _json(alts),
                a.outlet,
                _json(a.tags),
                seq,
            ),
        )

        self._to_index[seq] = (seq, a.title, a.text)
        # A refresh in place: the story keeps its stored order and the headlines it was
        # merged under.
        sig = a.signature
        self._index.add(aid, Candidate(a.title, a.text, a.published), sig=sig)
        return True

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
                [(k, iso(now), art.slug) for k in dict.fromkeys(keys)],
            )
            self._index.remove(art.id)
            self._touch(seq)
            search.unindex(db, seq)
            cats = db.execute("SELECT category FROM article_categories WHERE seq = ?", (seq,))
            gone = {c: -1 for (c,) in cats.fetchall()}
            db.execute("DELETE FROM articles WHERE seq = ?", (seq,))  # cascades to categories
            self._counted(-1, gone)
            self._bump_generation()
        return art

    def _touch(self, seq: int) -> None:
        """An article changed (revised, merged into, deleted): its post and page are
        rewritten, and the category feeds and list pages holding it re-rendered, at the
        next publish (a merged copy changes the article's page, not always its post)."""
        self._db.execute("UPDATE articles SET post_dirty = 1 WHERE seq = ?", (seq,))
        paging.touch(self._db, seq)
        self._touch_categories(seq)

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
        if ref.startswith("urn:uuid:"):  # an id: derived from a key, not stored
            tombstones = db.execute("SELECT key, deleted_at FROM tombstones")
            return parse_dt(next((w for k, w in tombstones if article_id(k) == ref), None))
        row = db.execute(
            "SELECT deleted_at FROM tombstones WHERE slug = ? LIMIT 1", (ref,)
        ).fetchone()
        for key in _ref_keys(ref):
            if row:
                break
            row = db.execute("SELECT deleted_at FROM tombstones WHERE key = ?", (key,)).fetchone()
        return parse_dt(row[0]) if row else None

    def last_change(self) -> datetime | None:
        """The later of the last deletion (articles leave only by deletion) and the
        `updated` of the article stored last — its date, not its arrival: outputs stay a
        function of what was stored. None if no article ever was. Read from the newest row
        by insertion order and the tombstones (few)."""
        db = self._db
        row = db.execute("SELECT updated FROM articles ORDER BY seq DESC LIMIT 1").fetchone()
        (deleted,) = db.execute("SELECT MAX(deleted_at) FROM tombstones").fetchone()
        times = [parse_dt(t) for t in (row[0] if row else None, deleted) if t is not None]
        return max(times, default=None)

    # --- reading (the outputs.ArticleView protocol) -------------------------------------

    # Every read here costs what it returns, not what is stored (issue 15): `recent` walks
    # an index in its order (articles_published; article_categories_recent), `page` counts
    # its offset from the nearer end, counts and categories are kept as rows come and go
    # (migration 5; `_counted`). New queries for outputs should keep that shape: ORDER BY an
    # indexed order with LIMIT, never OFFSET deep into the archive, COUNT(*) or DISTINCT over it.

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        if category is None:
            rows = self._db.execute(
                "SELECT seq FROM articles ORDER BY published DESC, id LIMIT ?", (limit,)
            )
        else:
            rows = self._db.execute(
                "SELECT seq FROM article_categories WHERE category = ?"
                " ORDER BY published DESC, id LIMIT ?",
                (category, limit),
            )
        return self._load([r[0] for r in rows])

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Oldest first in insertion order: archive pages keep their positions.

        The page is counted from whichever end of the archive is nearer, so the newest
        pages (the archive tail, rewritten on every publish) skip nothing."""
        total = self.count(category)
        take = min(limit, total - offset)
        if offset < 0 or take < 1:
            return []
        from_end = total - offset - take
        args: tuple[str, ...] = ()
        if category is None:
            rows = "SELECT seq FROM articles"
        else:
            rows, args = "SELECT seq FROM article_categories WHERE category = ?", (category,)
        if offset <= from_end:
            sql = f"{rows} ORDER BY seq LIMIT ? OFFSET ?"
            seqs = [r[0] for r in self._db.execute(sql, (*args, take, offset))]
        else:
            sql = f"{rows} ORDER BY seq DESC LIMIT ? OFFSET ?"
            seqs = [r[0] for r in self._db.execute(sql, (*args, take, from_end))][::-1]
        return self._load(seqs)

    def categories(self) -> list[str]:
        return [
            r[0] for r in self._db.execute("SELECT category FROM category_counts ORDER BY category")
        ]

    def count(self, category: str | None = None) -> int:
        if category is None:
            row = self._db.execute("SELECT n FROM article_count").fetchone()
        else:
            row = self._db.execute(
                "SELECT n FROM category_counts WHERE category = ?", (category,)
            ).fetchone()
        return int(row[0]) if row else 0

    def articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        """The stored articles of `ids` that still exist, in that order."""
        seqs = [
            r[0]
            for chunk in chunks(ids)
            for r in self._db.execute(
                f"SELECT seq FROM articles WHERE id IN ({marks(chunk)})", chunk
            )
        ]
        by_id = {a.id: a for a in self._load(seqs)}
        return [by_id[i] for i in ids if i in by_id]

    def all_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM articles ORDER BY seq")]

    def list_entries(self, seqs: Sequence[int]) -> list[ListEntry]:
        """What list pages show of the articles of `seqs`, in that order (seqs no longer
        stored are left out): the few columns they print, not the body and provenance a
        whole article carries."""
        listed = self.list_entries_by_seq(seqs)
        return [listed[s] for s in seqs if s in listed]

    def list_entries_by_seq(self, seqs: Sequence[int]) -> dict[int, ListEntry]:
        """`list_entries` by seq (the publisher keeps them across the lists of one publish)."""
        if not seqs:
            return {}
        return {
            r[0]: ListEntry(r[1], r[2], r[3], parse_dt(r[4]), r[5], r[6], r[7])
            for r in self._db.execute(
                "SELECT seq, id, slug, title, published, author, cover, outlet FROM articles"
                f" WHERE seq IN ({marks(seqs)})",
                seqs,
            )
        }

    def copies(self, ids: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
        """The merged copies of each article id: (source, link, title), oldest first."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for chunk in chunks(ids):
            for aid, source, link, title in self._db.execute(
                "SELECT a.id, c.source, c.link, c.title FROM copies c"
                f" JOIN articles a ON a.seq = c.seq WHERE a.id IN ({marks(chunk)})"
                " ORDER BY c.first_seen, c.link",
                chunk,
            ):
                out.setdefault(aid, []).append((source, link, title))
        return out

    @contextlib.contextmanager
    def sharing_loads(self, keep: int) -> Iterator[None]:
        """While inside, the articles loaded (the `keep` used last) are handed to the next
        loads of the same seqs: a publish reads an article for its post, its page, its
        archive page and its feeds, and changes none meanwhile (its caller holds the
        writers off)."""
        self._shared = LRU(keep)
        try:
            yield
        finally:
            self._shared = None

    _shared: LRU[int, StoredArticle] | None = None  # see sharing_loads

    def _load(self, seqs: Sequence[int]) -> list[StoredArticle]:
        shared = self._shared
        if shared is None:
            found = self._read(seqs)
        else:
            got = shared.get_many(seqs)
            found = {s: a for s, a in zip(seqs, got, strict=True) if a is not None}
            fresh = self._read([s for s in seqs if s not in found])
            found.update(fresh)
            shared.put_many(fresh)
        return [found[s] for s in seqs if s in found]

    def _read(self, seqs: Sequence[int]) -> dict[int, StoredArticle]:
        if not seqs:
            return {}
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
        out = {}
        for seq, r in rows.items():
            published, updated = parse_dt(r[5]), parse_dt(r[6])
            out[seq] = StoredArticle(
                id=r[1],
                slug=r[2],
                link=r[3],
                title=r[4],
                published=published,
                updated=updated,
                author=r[7],
                categories=_strings(r[8]),
                content_html=r[9],
                cover=r[10],
                links=tuple(links.get(seq, ())),
                date_is_fallback=bool(r[11]),
                alt_titles=_strings(r[12]),
                outlet=r[13],
                tags=_strings(r[14]),
            )
        return out
