"""Full-text search over every stored article (SPEC §12): the index and the queries.

The index is an FTS5 table with the `trigram` tokenizer (table `search_fts`, rowid = the
article's seq): it finds any substring of three characters or more, Chinese included, with
no word segmenter. The store writes it in the same transaction as the article rows it
mirrors (`index_rows` on insert and revision, `unindex` on delete), so a search never sees
an article the store does not have.

A user's query is never FTS syntax: it is cut to `MAX_QUERY` characters and split on
whitespace into terms that must all appear, each searched as literal text. Terms of three
characters or more go to MATCH as their trigrams, each a quoted phrase (quotes doubled, so
`"`, `*`, `AND`, `NEAR(…)`, `title:` are text), all of them required. The index keeps no
positions (`detail=none`: a third less to write and store, issue 15), so a term of four
characters or more is then checked against the text of each row MATCH finds: its
characters in a row, in the title or in the text, folding case exactly as the index does
(`_fold_classes` asks SQLite's own tokenizer) — what a phrase query of the term found when
the index kept positions.

One- and two-character terms have no trigram of their own. Every indexed column ends with
`PAD` (two characters stored text never holds), so each occurrence of a short term begins
some trigram: the vocabulary (`search_vocab`) lists those trigrams by prefix, and the term
becomes their OR — exact, through the index. A term so common that it begins more than
`MAX_EXPANSION` trigrams is matched with LIKE instead (wildcards escaped): on the other
terms' hits, or by scanning newest published first, which finds a page quickly for a common
term and stops after `SCAN_BUDGET` at worst.

Results come best first: every term in the title, then the rest; within each, newest
published first, ties by id (the feeds' order). A reader looks for a story, and arrival
order is not publication order (a first poll stores a list newest first). Ranking all of
a common term's matches would read every one of them (thousands of rows for 同比增长): the
matches are ranked in blocks of `RANK_BLOCK`, taken newest arrival first — a term in fewer
articles is ranked as a whole, a common one over its newest matches first. A pure scan keeps
the published order alone, so a page still fills after a few rows.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_QUERY = 100  # characters of q kept; longer queries are cut
MAX_TERMS = 8
PAGE = 20  # results per page
# Matches ranked together (title first, then newest published), taken newest arrival
# first: a term in thousands of articles is ranked over its newest matches, at the cost of
# reading a few hundred rows, not all of them.
RANK_BLOCK = 200
SCAN_BUDGET = 2.0  # seconds a short-term scan may take before the page is cut short
MAX_EXPANSION = 400  # trigrams a short term may stand for in a MATCH
PAD = "\x01\x01"  # ends every indexed column; XML-illegal, so never in stored text
# Private-use characters around each hit in a snippet: the text is escaped as a whole
# later, and these become <mark> only then.
HIT_START, HIT_END = "\ue000", "\ue001"
_SNIPPET_TOKENS = 40  # trigram tokens: about as many characters of context


def index_rows(db: sqlite3.Connection, rows: Iterable[tuple[int, str, str]]) -> None:
    """Index articles as (seq, title, plain text); an article already indexed is replaced."""
    padded = [(seq, title + PAD, text + PAD) for seq, title, text in rows]
    db.executemany("DELETE FROM search_fts WHERE rowid = ?", [(r[0],) for r in padded])
    db.executemany("INSERT INTO search_fts (rowid, title, body) VALUES (?,?,?)", padded)


def unindex(db: sqlite3.Connection, seq: int) -> None:
    db.execute("DELETE FROM search_fts WHERE rowid = ?", (seq,))


@dataclass(frozen=True, slots=True)
class Query:
    """A user's query as searched: the text kept and its literal terms."""

    text: str  # what is echoed back (cut, whitespace-normalized)
    terms: tuple[str, ...]
    cut: bool  # the query was longer than MAX_QUERY and was shortened


def parse_query(q: str) -> Query:
    q = "".join(c for c in q if c.isprintable() or c.isspace())  # no NUL, no PAD
    words = q.split()
    text = " ".join(words)
    cut = len(text) > MAX_QUERY
    text = text[:MAX_QUERY].strip()
    terms = tuple(dict.fromkeys(text.split()))[:MAX_TERMS]
    return Query(text, terms, cut)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: enough to show and link it."""

    seq: int
    slug: str
    title: str
    published: str  # ISO UTC, as stored
    author: str
    snippet: str  # plain text with HIT_START/HIT_END around the matches


@dataclass(frozen=True, slots=True)
class Results:
    query: Query
    hits: tuple[Hit, ...]
    next_start: int | None  # `start` of the next page (None: this is the last)
    partial: bool = False  # a scan ran out of time before the page was full
    ranked: bool = True  # title matches first (False: a scan, newest published only)


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _trigrams(term: str) -> str:
    """MATCH text for a term of 3+ characters: every trigram of it (without positions in
    the index, a phrase of more than one trigram is not a query FTS5 takes)."""
    grams = dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2))
    return " AND ".join(_phrase(g) for g in grams)


@functools.cache
def _fold_classes() -> dict[str, str]:
    """For each character whose case the trigram tokenizer folds, a regex class of every
    character folded as it is. Asked of SQLite's tokenizer itself: Python's lower() differs
    from it on ~400 characters (ſ, ς, İ, Cherokee, …)."""
    cased = [c for c in map(chr, range(0x20000)) if c.lower() != c or c.upper() != c]
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE f USING fts5(x, tokenize = 'trigram')")
        db.executemany("INSERT INTO f (rowid, x) VALUES (?, ?)", [(ord(c), c + PAD) for c in cased])
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'instance')")
        folded = {chr(doc): term[0] for term, doc in db.execute("SELECT term, doc FROM v")}
    finally:
        db.close()
    same: dict[str, set[str]] = {}
    for c, f in folded.items():
        same.setdefault(f, {f}).add(c)
    classes = {
        f: "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"
        for f, chars in same.items()
        if len(chars) > 1
    }
    return {c: classes[f] for f, chars in same.items() if f in classes for c in chars}


def _span(term: str) -> re.Pattern[str]:
    """The term's characters in a row, case folded as the index folds it."""
    classes = _fold_classes()
    return re.compile("".join(classes.get(c) or re.escape(c) for c in term))


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _in(column: str) -> str:
    return f"{column} LIKE ? ESCAPE '\\'"


def _in_either(table: str) -> str:
    return f"({_in(table + '.title')} OR {_in(table + '.body')})"


def search(db: sqlite3.Connection, q: Query, start: int = 0) -> Results:
    """`PAGE` articles holding every term, from result `start` on, best first: those with
    every term in the title, then the rest; within each, newest published first (ties by
    id: the feeds' order). A query whose terms are all too common for the index is a scan
    newest published first, without the title rank (almost every title would match)."""
    if not q.terms:
        return Results(q, (), None)
    start = max(0, start)
    long_terms = [t for t in q.terms if len(t) >= 3]
    short_terms = [t for t in q.terms if len(t) < 3]
    matches = [_trigrams(t) for t in long_terms]
    spans = [_span(t) for t in long_terms if len(t) > 3]
    scanned = []
    for t in short_terms:
        trigrams = _expansion(db, t)
        if trigrams is None:
            scanned.append(t)
        elif not trigrams:
            return Results(q, (), None)  # no stored text holds it
        else:
            matches.append("(" + " OR ".join(_phrase(g) for g in trigrams) + ")")
    likes = [_like(t) for t in scanned]
    if matches:
        _register_spans(db, spans)
        rows = _ranked(db, " AND ".join(matches), likes, len(spans), q.terms, start)
        partial = False
    else:
        sql, args = _newest(likes, start)
        rows, partial = _run(db, sql, args)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    snippet_term = long_terms[0] if long_terms else short_terms[0]
    hits = _hits(db, rows, q.terms, snippet_term)
    next_start = start + len(rows) if (more or partial) and rows else None
    return Results(q, hits, next_start, partial, ranked=bool(matches))


_Row = tuple[int, str, str]  # rowid, indexed title, indexed text


def _register_spans(db: sqlite3.Connection, spans: Sequence[re.Pattern[str]]) -> None:
    """`search_span(title, body, i)` on `db`: whether this query's i-th long term is in
    either (each connection runs one search at a time: the server's are one per thread)."""

    def holds(title: str, body: str, i: int) -> bool:
        span = spans[i]
        return span.search(title) is not None or span.search(body) is not None

    db.create_function("search_span", 3, holds, deterministic=True)


def _ranked(
    db: sqlite3.Connection,
    match: str,
    likes: Sequence[str],
    spans: int,
    terms: Sequence[str],
    start: int,
) -> list[_Row]:
    """The rows of the page from `start` on (PAGE + 1 of them, to tell a next page). The
    matches are taken newest arrival first in blocks of `RANK_BLOCK`, each block in the
    reader's order: every term in the title first, then newest published first."""
    want = PAGE + 1
    rows: list[_Row] = []
    at = start
    while len(rows) < want:
        block_no, within = divmod(at, RANK_BLOCK)
        block = _ranked_block(db, match, likes, spans, terms, block_no)
        rows += block[within : within + want - len(rows)]
        if len(block) < RANK_BLOCK:
            break
        at = (block_no + 1) * RANK_BLOCK
    return rows


def _ranked_block(
    db: sqlite3.Connection,
    match: str,
    likes: Sequence[str],
    spans: int,
    terms: Sequence[str],
    n: int,
) -> list[_Row]:
    """Block `n` of the matches (by arrival, newest first), in the reader's order."""
    in_either = "".join(f" AND {_in_either('search_fts')}" for _ in likes)
    in_either += "".join(
        f" AND search_span(search_fts.title, search_fts.body, {i})" for i in range(spans)
    )
    block: list[_Row] = db.execute(
        f"SELECT rowid, title, body FROM search_fts WHERE search_fts MATCH ?{in_either}"
        " ORDER BY rowid DESC LIMIT ? OFFSET ?",
        [match, *_twice(likes), RANK_BLOCK, n * RANK_BLOCK],
    ).fetchall()
    if not block:
        return []
    marks = ",".join("?" * len(block))
    dates = {
        seq: (published, aid)
        for seq, published, aid in db.execute(
            f"SELECT seq, published, id FROM articles WHERE seq IN ({marks})",
            [r[0] for r in block],
        )
    }
    folded = [t.lower() for t in terms]  # as the index folds case

    def in_title(row: _Row) -> bool:
        title = row[1].lower()
        return all(t in title for t in folded)

    block = [r for r in block if r[0] in dates]  # deleted between two reads
    block.sort(key=lambda r: dates[r[0]][1])  # ties by id, then newest published, then
    block.sort(key=lambda r: dates[r[0]][0], reverse=True)  # everything in the title first
    block.sort(key=lambda r: not in_title(r))
    return block


def _newest(likes: Sequence[str], start: int) -> tuple[str, list[object]]:
    """Articles newest published first, each tested: the index's order, so a common term
    fills a page after a few rows (CROSS JOIN: the articles drive, in that order)."""
    where = " AND ".join(_in_either("f") for _ in likes)
    sql = (
        "SELECT f.rowid, f.title, f.body FROM articles AS a"
        " CROSS JOIN search_fts AS f ON f.rowid = a.seq"
        f" WHERE {where} ORDER BY a.published DESC, a.id LIMIT {PAGE + 1} OFFSET ?"
    )
    return sql, [*_twice(likes), start]


def _twice(likes: Sequence[str]) -> list[object]:
    return [like for like in likes for _ in (0, 1)]


def _expansion(db: sqlite3.Connection, term: str) -> list[str] | None:
    """The indexed trigrams that begin with `term` (None: too many to OR together)."""
    low = term.lower()  # the tokenizer folds case
    rows = db.execute(
        "SELECT term FROM search_vocab WHERE term >= ? AND term < ? LIMIT ?",
        (low, low + "\U0010ffff", MAX_EXPANSION + 1),
    ).fetchall()
    return None if len(rows) > MAX_EXPANSION else [r[0] for r in rows]


def _run(
    db: sqlite3.Connection, sql: str, args: Sequence[object]
) -> tuple[list[tuple[int, str, str]], bool]:
    """Rows of a scan, stopped after SCAN_BUDGET, keeping the rows found so far."""
    deadline = time.monotonic() + SCAN_BUDGET
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    rows: list[tuple[int, str, str]] = []
    try:
        for row in db.execute(sql, args):
            rows.append(row)
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        return rows, True
    finally:
        db.set_progress_handler(None, 0)
    return rows, False


def _hits(
    db: sqlite3.Connection, rows: Sequence[tuple[int, str, str]], terms: Sequence[str], first: str
) -> tuple[Hit, ...]:
    if not rows:
        return ()
    seqs = [r[0] for r in rows]
    meta = {
        r[0]: r[1:]
        for r in db.execute(
            f"SELECT seq, slug, published, author FROM articles"
            f" WHERE seq IN ({','.join('?' * len(seqs))})",
            seqs,
        )
    }
    hits = []
    for seq, title, body in rows:
        if seq not in meta:  # deleted between the two statements of a read-only reader
            continue
        slug, published, author = meta[seq]
        text = body.removesuffix(PAD)
        hits.append(
            Hit(seq, slug, title.removesuffix(PAD), published, author, snippet(text, terms, first))
        )
    return tuple(hits)


def snippet(body: str, terms: Sequence[str], first: str, width: int = 60) -> str:
    """About `width` characters of `body` around the first hit of `first`, every term
    marked (case-insensitively, as the trigram index matches)."""
    at = body.lower().find(first.lower())
    start = 0 if at < 0 else max(0, at - width // 3)  # < 0: the match was in the title
    end = min(len(body), start + width)
    piece = body[start:end].replace("\n", " ")
    marked = _mark(piece, terms)
    return ("…" if start > 0 else "") + marked + ("…" if end < len(body) else "")


def _mark(text: str, terms: Sequence[str]) -> str:
    pattern = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.sub(pattern, lambda m: HIT_START + m.group(0) + HIT_END, text, flags=re.I)


class Searcher:
    """Runs searches on read-only connections of its own, one per thread (the server calls
    it through asyncio.to_thread), so a search never waits for the store's writer."""

    def __init__(self, db_path: Path) -> None:
        self._uri = f"{Path(db_path).resolve().as_uri()}?mode=ro"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False, timeout=5)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def search(self, q: str, start: int = 0) -> Results:
        return search(self._conn(), parse_query(q), start)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
