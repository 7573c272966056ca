"""Schema versions and the numbered migrations between them.

The database's version is `PRAGMA user_version`: the number of migrations applied. Opening
a database applies the missing ones in order, each in its own transaction together with the
new version number, so a crash leaves the database at one version or the next, never between.
A database from a newer release is refused before anything is written to it.

Release 0.1 (commit 6d39997) wrote no version: its databases read 0 and hold the baseline
tables, which migration 1 creates only where missing. A database that reads 0 and has no
tables is new, and goes through the same path.

Adding a schema change: append a `Migration` with the next number, never edit a landed one,
and add a test that upgrades a database written by the previous release (CONTRIBUTING.md).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: `apply` runs inside the step's transaction."""

    number: int
    summary: str
    apply: Callable[[sqlite3.Connection], None]


def _statements(*sql: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return apply


# Release 0.1's tables, verbatim but for IF NOT EXISTS everywhere: a 0.1 database has them
# all except, when it never stored an article, the dedup ones.
_BASELINE = _statements(
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS sources (
        name TEXT PRIMARY KEY,
        configured_url TEXT NOT NULL,
        url TEXT NOT NULL,
        etag TEXT, last_modified TEXT, body_hash TEXT,
        last_success TEXT, last_error TEXT, last_error_kind TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_poll TEXT,
        gone INTEGER NOT NULL DEFAULT 0,
        redirect_candidate TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS articles (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL UNIQUE,
        slug TEXT NOT NULL UNIQUE,
        link TEXT NOT NULL,
        title TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        date_fallback INTEGER NOT NULL DEFAULT 0,
        author TEXT NOT NULL,
        categories TEXT NOT NULL,
        content_html TEXT NOT NULL,
        cover TEXT,
        editor TEXT,
        content_hash TEXT NOT NULL,
        post_dirty INTEGER NOT NULL DEFAULT 1
    )""",
    "CREATE INDEX IF NOT EXISTS articles_published ON articles (published DESC, id)",
    "CREATE INDEX IF NOT EXISTS articles_dirty ON articles (post_dirty) WHERE post_dirty = 1",
    """CREATE TABLE IF NOT EXISTS article_keys (
        key TEXT PRIMARY KEY,
        seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
        is_copy INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS article_keys_seq ON article_keys (seq)",
    """CREATE TABLE IF NOT EXISTS article_links (
        seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (seq, url)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS article_categories (
        category TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
        PRIMARY KEY (category, seq)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS article_categories_seq ON article_categories (seq)",
    """CREATE TABLE IF NOT EXISTS copies (
        key TEXT PRIMARY KEY,
        seq INTEGER NOT NULL REFERENCES articles (seq) ON DELETE CASCADE,
        source TEXT NOT NULL,
        link TEXT NOT NULL,
        title TEXT NOT NULL,
        first_seen TEXT NOT NULL
    ) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS dirty_categories (category TEXT PRIMARY KEY) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS tombstones (
        key TEXT PRIMARY KEY,
        deleted_at TEXT NOT NULL,
        slug TEXT
    ) WITHOUT ROWID""",
    # The near-duplicate index (dedup.NearDupIndex): signatures and the LSH buckets,
    # one row per (band key, article), searchable by time window.
    """CREATE TABLE IF NOT EXISTS dedup_article (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        dup_of TEXT,
        title TEXT NOT NULL,
        tkey TEXT NOT NULL,
        published INTEGER NOT NULL,
        fp INTEGER NOT NULL,
        shingles INTEGER NOT NULL,
        sketch BLOB NOT NULL,
        bands BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dedup_article_tkey ON dedup_article (tkey, published)",
    "CREATE INDEX IF NOT EXISTS dedup_article_dup_of ON dedup_article (dup_of)",
    """CREATE TABLE IF NOT EXISTS dedup_band (
        key INTEGER NOT NULL,
        published INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (key, published, seq)
    ) WITHOUT ROWID""",
)


def _same_body(conn: sqlite3.Connection) -> None:
    """Issue 13: a story's alternative titles, and the body digests `dedup.same_body` reads.

    Rows stored before have no digests (0): they match by the older rules only, as they
    did. Alternative titles are rebuilt from the copies merged so far."""
    from array import array

    from .dedup import alternative_titles, headline_hash

    conn.execute("ALTER TABLE articles ADD COLUMN alt_titles TEXT NOT NULL DEFAULT '[]'")
    for column in ("body", "lead", "rest"):
        conn.execute(f"ALTER TABLE dedup_article ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE dedup_article ADD COLUMN aliases BLOB NOT NULL DEFAULT x''")
    copies: dict[int, list[str]] = {}
    for seq, title in conn.execute("SELECT seq, title FROM copies ORDER BY first_seen, key"):
        copies.setdefault(seq, []).append(title)
    for seq, titles in copies.items():
        row = conn.execute("SELECT title, id FROM articles WHERE seq = ?", (seq,)).fetchone()
        alts = alternative_titles(row[0], (), *titles) if row else ()
        if alts:
            conn.execute(
                "UPDATE articles SET alt_titles = ? WHERE seq = ?",
                (json.dumps(alts, ensure_ascii=False), seq),
            )
            aliases = array("q", (headline_hash(t) for t in alts))
            if sys.byteorder != "little":
                aliases.byteswap()
            conn.execute(
                "UPDATE dedup_article SET aliases = ? WHERE id = ?", (aliases.tobytes(), row[1])
            )


# Native sources: an article's outlet and tags, and what each source listed —
# one row per (source, item): the version seen, the version handled (stored or attached),
# and while its article page is pending the item itself, its attempts and last error.
_NATIVE_SOURCES = _statements(
    "ALTER TABLE articles ADD COLUMN outlet TEXT",
    "ALTER TABLE articles ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'",
    """CREATE TABLE listed (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        version TEXT NOT NULL,
        page_url TEXT,
        done TEXT,
        item TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try TEXT,
        error TEXT,
        error_kind TEXT,
        error_at TEXT,
        refused INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (source, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX listed_key ON listed (key, done)",
)


# Publishing reads only what it shows, whatever the archive's size (issue 15): a category's
# newest articles come from an index in that order (each row carries its article's published
# time and id, which never change once stored), and the counts and the category list are
# kept by triggers instead of counted and sorted from the whole archive on every publish.
_FLAT_PUBLISH = _statements(
    "ALTER TABLE article_categories ADD COLUMN published TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE article_categories ADD COLUMN id TEXT NOT NULL DEFAULT ''",
    """UPDATE article_categories SET (published, id) =
        (SELECT a.published, a.id FROM articles a WHERE a.seq = article_categories.seq)""",
    "CREATE INDEX article_categories_recent ON article_categories (category, published DESC, id)",
    """CREATE TABLE category_counts (
        category TEXT PRIMARY KEY,
        n INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """INSERT INTO category_counts (category, n)
        SELECT category, COUNT(*) FROM article_categories GROUP BY category""",
    """CREATE TABLE article_count (
        one INTEGER PRIMARY KEY CHECK (one = 1),
        n INTEGER NOT NULL
    )""",
    "INSERT INTO article_count (one, n) SELECT 1, COUNT(*) FROM articles",
    # INSERT OR IGNORE that ignores a row fires no trigger; a cascade from articles does.
    """CREATE TRIGGER article_categories_counted AFTER INSERT ON article_categories BEGIN
        INSERT INTO category_counts (category, n) VALUES (NEW.category, 1)
            ON CONFLICT (category) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER article_categories_uncounted AFTER DELETE ON article_categories BEGIN
        UPDATE category_counts SET n = n - 1 WHERE category = OLD.category;
        DELETE FROM category_counts WHERE category = OLD.category AND n <= 0;
    END""",
    """CREATE TRIGGER articles_counted AFTER INSERT ON articles BEGIN
        UPDATE article_count SET n = n + 1;
    END""",
    """CREATE TRIGGER articles_uncounted AFTER DELETE ON articles BEGIN
        UPDATE article_count SET n = n - 1;
    END""",
)

# Work proportional to change (issue 15): the items of a source's last stored document, by
# a hash of each item as parsed (prepare.item_hash). A poll prepares only the items not
# among them; bounded by the feed's size per source.
_SOURCE_ITEMS = _statements(
    """CREATE TABLE source_items (
        source TEXT NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (source, hash)
    ) WITHOUT ROWID"""
)


# The search index (search.py: rowid = the article's seq) and its vocabulary; the website's
# list pages (paging.py: where each page of each list starts, and which are dirty).
_SITE_TABLES = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, tokenize = 'trigram')",
    "CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row')",
    """CREATE TABLE site_pages (
        list TEXT NOT NULL,
        n INTEGER NOT NULL,
        first_seq INTEGER NOT NULL,
        dirty INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (list, n)
    ) WITHOUT ROWID""",
    "CREATE UNIQUE INDEX site_pages_seq ON site_pages (list, first_seq)",
    "CREATE INDEX site_pages_dirty ON site_pages (dirty) WHERE dirty = 1",
)


def _site(conn: sqlite3.Connection) -> None:
    """The search index and the site's page table; every stored article is indexed."""
    from . import search
    from .clean import html_text

    for statement in _SITE_TABLES:
        conn.execute(statement)
    rows = conn.execute("SELECT seq, title, content_html FROM articles ORDER BY seq")
    while batch := rows.fetchmany(500):
        search.index_rows(conn, [(seq, title, html_text(body)) for seq, title, body in batch])


# FTS5 merges its index segments as they pile up: by default (automerge 4) every few
# batches, which was a third of indexing a cold ingest (issue 15). Sixteen segments per
# level (FTS5's crisis-merge bound) before merging: 6,000 workload articles in 100-article
# transactions index in ~2.3 s instead of ~3.2 s, the index is ~10 % bigger and a trigram
# MATCH still takes well under a millisecond. FTS5 keeps the setting in the table itself.
_FTS_MERGE = _statements("INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 16)")

# Sixteen is also FTS5's crisis-merge bound: with both at 16 a level's segments were merged
# all at once when the 16th arrived, inside whichever one-article transaction wrote it (up
# to ~1 s; a daemon storing one article at a time paid it there). A crisis merge only at 64
# segments leaves the merging to automerge's small steps after each transaction: 6,000
# one-article transactions at most 58 ms each instead of 950 ms, and less CPU in all.
_FTS_CRISIS = _statements("INSERT INTO search_fts (search_fts, rank) VALUES ('crisismerge', 64)")


def _fts_no_positions(conn: sqlite3.Connection) -> None:
    """The search index rebuilt without token positions (`detail=none`): writing it costs
    ~10 % less CPU (workload A: 0.44 → 0.39 ms per article, bench_fts.py) and it is a third
    smaller (6.5 → 4.3 KB per article); search.py checks a term of four characters or more
    against the rows MATCH finds, as the positions did. The stored text moves over as it is
    (the trailing PAD included), merged into one segment."""
    conn.execute(
        "CREATE VIRTUAL TABLE search_fts_new USING fts5(title, body, detail = none,"
        " tokenize = 'trigram')"
    )
    for k, v in conn.execute(
        "SELECT k, v FROM search_fts_config WHERE k IN ('automerge', 'crisismerge')"
    ).fetchall():
        conn.execute("INSERT INTO search_fts_new (search_fts_new, rank) VALUES (?, ?)", (k, v))
    conn.execute(
        "INSERT INTO search_fts_new (rowid, title, body) SELECT rowid, title, body FROM search_fts"
    )
    conn.execute("INSERT INTO search_fts_new (search_fts_new) VALUES ('optimize')")
    conn.execute("DROP TABLE search_vocab")
    conn.execute("DROP TABLE search_fts")
    conn.execute("ALTER TABLE search_fts_new RENAME TO search_fts")
    conn.execute("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row')")


# The counts of migration 5 kept by the store once per batch (`Store._counted`) instead of
# by a trigger per row: the triggers were ~5 % of a cold ingest's storing instructions
# outside the search index (one upsert of category_counts per category row).
_COUNTS_IN_BATCHES = _statements(
    "DROP TRIGGER article_categories_counted",
    "DROP TRIGGER article_categories_uncounted",
    "DROP TRIGGER articles_counted",
    "DROP TRIGGER articles_uncounted",
)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: the tables of release 0.1", _BASELINE),
    Migration(2, "alternative titles of merged stories; body digests for dedup", _same_body),
    Migration(
        3,
        "sources.last_warning: a partial or cut document, shown until a clean one parses",
        _statements("ALTER TABLE sources ADD COLUMN last_warning TEXT"),
    ),
    Migration(4, "native sources: article outlet and tags, listed items", _NATIVE_SOURCES),
    Migration(5, "flat publishing: category order index, maintained counts", _FLAT_PUBLISH),
    Migration(6, "item hashes of each source's last document", _SOURCE_ITEMS),
    Migration(7, "site: full-text search index (FTS5 trigram) and list pages", _site),
    Migration(8, "search index: merge segments 16 at a time (cheaper indexing)", _FTS_MERGE),
    Migration(9, "search index: no all-at-once merge before 64 segments", _FTS_CRISIS),
    Migration(10, "search index: no token positions (detail=none)", _fts_no_positions),
    Migration(
        11, "article and category counts kept per batch, not by triggers", _COUNTS_IN_BATCHES
    ),
)
LATEST = len(MIGRATIONS)


class SchemaTooNewError(StoreError):
    """The database was written by a newer release; it is left untouched."""


def version(conn: sqlite3.Connection) -> int:
    (v,) = conn.execute("PRAGMA user_version").fetchone()
    return int(v)


def check_not_newer(conn: sqlite3.Connection, where: str) -> int:
    """The database's version; refuses (writing nothing) one this release cannot read."""
    v = version(conn)
    if v > LATEST:
        raise SchemaTooNewError(
            f"{where} has schema version {v}, written by a newer release of sina-aggregator;"
            f" this release reads versions up to {LATEST}. Upgrade sina-aggregator (the"
            " database was not modified)."
        )
    return v


def migrate(conn: sqlite3.Connection, where: str = "the database") -> int:
    """Bring the database to `LATEST`; returns the version it had. Not inside a transaction:
    each step is one (BEGIN IMMEDIATE, so two processes opening one file migrate it once)."""
    if conn.in_transaction:
        raise StoreError("migrate() needs a connection outside any transaction")
    start = check_not_newer(conn, where)
    fresh = start == 0 and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None
    for step in MIGRATIONS[start:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = check_not_newer(conn, where)  # another process may have been first
            if now < step.number:
                if not fresh:  # a step may rebuild an index for minutes on a big store
                    log.info("%s: schema version %d: %s", where, step.number, step.summary)
                step.apply(conn)
                conn.execute(f"PRAGMA user_version = {step.number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    if start < LATEST and not fresh:
        log.info("%s: schema upgraded from version %d to %d", where, start, LATEST)
    return start
