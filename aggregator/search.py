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
term.

Results come best first: every term in the title, then the rest; within each, newest
published first, ties by id (the feeds' order). A reader looks for a story, and arrival
order is not publication order (a first poll stores a list newest first). Ranking all of
a common term's matches would read every one of them (thousands of rows for 同比增长): the
matches are ranked in blocks of `RANK_BLOCK`, taken newest arrival first — a term in fewer
articles is ranked as a whole, a common one over its newest matches first. A pure scan keeps
the published order alone, so a page still fills after a few rows.

No query may stall the site (SPEC §12): every page stops after `BUDGET` seconds of work,
whatever its terms (SQLite's progress handler, and a look at the clock between rows). A page
cut short holds what was found, says so, and its next link goes on from the last row it
examined; a block cut short is ranked as it was read. The next link is a cursor, never an
offset (a deep offset would make SQLite read and skip every earlier row): a block of
matches is named by its rows (`_RankAt`), a scan by the last article examined, so a page
reads its own block and what follows it only, and articles stored in between do not shift
it. Every row a scan examines comes back to Python with its verdict (`_examined`), so a
cut page knows how far it got even when nothing matched.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_QUERY = 100  # characters of q kept; longer queries are cut
MAX_TERMS = 8
PAGE = 20  # results per page
# Matches ranked together (title first, then newest published), taken newest arrival
# first: a term in thousands of articles is ranked over its newest matches, at the cost of
# reading a few hundred rows, not all of them.
RANK_BLOCK = 200
BUDGET = 1.0  # seconds of work one page of results may take; then it is cut short
_CHECK_EVERY = 1000  # SQLite virtual-machine steps between two looks at the clock
_now = time.monotonic  # the budget's clock
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
    next_start: str | None  # `start` of the next page: a cursor (None: this is the last)
    partial: bool = False  # the budget ran out before the page was complete
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


def search(db: sqlite3.Connection, q: Query, start: str | None = None) -> Results:
    """`PAGE` articles holding every term, from the page `start` (a cursor from an earlier
    page's `next_start`; None or one that does not fit: the first page) on, best first:
    those with every term in the title, then the rest; within each, newest published first
    (ties by id: the feeds' order). A query whose terms are all too common for the index
    is a scan newest published first, without the title rank (almost every title would
    match). However common the terms, the page stops after `BUDGET` seconds of work."""
    if not q.terms:
        return Results(q, (), None)
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
    tested = [_in_either("f") for _ in likes]
    with _budget(db) as clock:
        if matches:
            _register_spans(db, spans)
            tested += [f"search_span(f.title, f.body, {i})" for i in range(len(spans))]
            test = _Test(" AND ".join(tested) or "1", _twice(likes))
            seqs, next_start, partial = _ranked(
                db, " AND ".join(matches), test, q.terms, _RankAt.parse(start), clock
            )
        else:
            test = _Test(" AND ".join(tested), _twice(likes))
            seqs, next_start, partial = _newest(db, test, _scan_at(start), clock)
    if partial and next_start is None:
        next_start = start  # not one row examined in time: the same page again, later
    snippet_term = long_terms[0] if long_terms else short_terms[0]
    hits = _hits(db, seqs, q.terms, snippet_term)
    return Results(q, hits, next_start, partial, ranked=bool(matches))


def _register_spans(db: sqlite3.Connection, spans: Sequence[re.Pattern[str]]) -> None:
    """`search_span(title, body, i)` on `db`: whether this query's i-th long term is in
    either (each connection runs one search at a time: the server's are one per thread)."""

    def holds(title: str, body: str, i: int) -> bool:
        span = spans[i]
        return span.search(title) is not None or span.search(body) is not None

    db.create_function("search_span", 3, holds, deterministic=True)


@dataclass(frozen=True, slots=True)
class _Test:
    """What a candidate row (`f`: its search_fts row) must pass besides MATCH."""

    sql: str
    args: list[object]


class _Clock:
    """The budget of one search. Only the scans of candidate rows are stopped by it
    (`armed`); the bounded reads around them (a block's order, the page's hits) are not."""

    def __init__(self) -> None:
        self.deadline = _now() + BUDGET
        self.armed = False
        self.cut = False  # the budget stopped a scan

    @contextlib.contextmanager
    def renewed(self) -> Iterator[None]:
        """Twice the budget for what is inside (an earlier page's block, read again: it took
        at most one budget then); then the rest of this page's, if any."""
        deadline, self.deadline = self.deadline, _now() + 2 * BUDGET
        try:
            yield
        finally:
            self.deadline = deadline

    def check(self) -> int:
        if self.armed and _now() > self.deadline:
            self.cut = True
        return int(self.cut and self.armed)


@contextlib.contextmanager
def _budget(db: sqlite3.Connection) -> Iterator[_Clock]:
    clock = _Clock()
    db.set_progress_handler(clock.check, _CHECK_EVERY)
    try:
        yield clock
    finally:
        db.set_progress_handler(None, 0)


def _examined(
    db: sqlite3.Connection, sql: str, args: Sequence[object], clock: _Clock
) -> Generator[tuple[int, int]]:
    """(row id, passed) of each candidate `sql` yields, until the budget is spent: every
    row examined comes back, passed or not, so a cut page knows how far it got."""
    clock.armed = not clock.cut
    try:
        if clock.armed:
            for row in db.execute(sql, args):
                yield row
                if clock.check():  # between rows too: Python's share of the work counts
                    break
    except sqlite3.OperationalError as exc:
        if not clock.cut or "interrupt" not in str(exc):
            raise
    finally:
        clock.armed = False


@dataclass(frozen=True, slots=True)
class _RankAt:
    """Where a ranked page starts: in the block of matches below row `hi` (None: the
    newest), the block ending at row `lo` (None: not known yet, RANK_BLOCK matches from
    `hi` down), after its first `skip` rows in the reader's order. As text (the `start`
    of a link): `r<hi>` or `r<hi>_<lo>_<skip>`."""

    hi: int | None
    lo: int | None = None
    skip: int = 0

    @staticmethod
    def parse(text: str | None) -> _RankAt:
        m = re.fullmatch(r"r(\d{1,18})(?:_(\d{1,18})_(\d{1,4}))?", text or "")
        if m is None:
            return _RankAt(None)
        hi, lo, skip = m.groups()
        if lo is None:
            return _RankAt(int(hi))
        return _RankAt(int(hi), int(lo), min(int(skip), RANK_BLOCK))

    def __str__(self) -> str:
        if self.lo is None:
            return f"r{self.hi}"
        return f"r{self.hi}_{self.lo}_{self.skip}"


def _ranked(
    db: sqlite3.Connection,
    match: str,
    test: _Test,
    terms: Sequence[str],
    at: _RankAt,
    clock: _Clock,
) -> tuple[list[int], str | None, bool]:
    """The page's matches from `at` on, the cursor of the next page, and whether the
    budget cut the page short. Matches are taken newest arrival first in blocks of
    `RANK_BLOCK`, each block in the reader's order (every term in the title first, then
    newest published first); a block cut by the budget ends where the cut came. A page
    reads its own blocks only: never the rows of earlier pages' blocks (no OFFSET)."""
    page: list[int] = []
    moved = False  # a row was examined: the next page starts further down
    while True:
        if at.lo is None:
            block, lo, ended = _block(db, match, test, at, clock)
        else:  # an earlier page's block, read again: as much work as that page did
            with clock.renewed():
                block, lo, ended = _block(db, match, test, at, clock)
        moved = moved or lo is not None
        hi = at.hi if at.hi is not None else (block[0] + 1 if block else None)
        ordered = _in_order(db, block, terms)
        take = ordered[at.skip : at.skip + PAGE - len(page)]
        page += take
        skip = at.skip + len(take)
        if len(page) == PAGE and skip < len(ordered):
            return page, str(_RankAt(hi, lo, skip)), clock.cut
        if ended:  # no candidate below this block
            return page, None, False
        if lo is None:  # the budget went before this block's first row
            return page, str(at) if moved else None, True
        at = _RankAt(lo)
        if clock.cut:
            return page, str(at), True
        if len(page) == PAGE:
            # As a page reads one row beyond itself to tell there is more: the next block.
            more, _, _ = _block(db, match, test, at, clock, limit=1)
            return page, str(at) if more or clock.cut else None, False


def _block(
    db: sqlite3.Connection,
    match: str,
    test: _Test,
    at: _RankAt,
    clock: _Clock,
    limit: int = 0,
) -> tuple[list[int], int | None, bool]:
    """The matches of the block at `at`, newest arrival first; the lowest row examined
    (the block's end; None when none was); whether the candidates ended (no bound below
    and no cut): nothing below the block matches."""
    bounds, args = "", [*test.args, match]
    if at.hi is not None:
        bounds += " AND f.rowid < ?"
        args.append(at.hi)
    if at.lo is not None:
        bounds += " AND f.rowid >= ?"
        args.append(at.lo)
    sql = (
        f"SELECT f.rowid, {test.sql} FROM search_fts AS f"
        f" WHERE search_fts MATCH ?{bounds} ORDER BY f.rowid DESC"
    )
    limit = limit or RANK_BLOCK
    found: list[int] = []
    lo = None
    with contextlib.closing(_examined(db, sql, args, clock)) as rows:
        for seq, passed in rows:
            lo = seq
            if passed:
                found.append(seq)
                if len(found) == limit:
                    return found, lo, False
    if at.lo is not None and not clock.cut:
        return found, at.lo, False  # the block as an earlier page delimited it
    return found, lo, not clock.cut and at.lo is None


def _in_order(db: sqlite3.Connection, block: Sequence[int], terms: Sequence[str]) -> list[int]:
    """A block's rows in the reader's order: every term in the title first, then newest
    published first, ties by id."""
    if not block:
        return []
    marks = ",".join("?" * len(block))
    rows = db.execute(
        f"SELECT a.seq, a.published, a.id, f.title FROM articles AS a"
        f" CROSS JOIN search_fts AS f ON f.rowid = a.seq WHERE a.seq IN ({marks})",
        block,
    ).fetchall()  # an article deleted between two reads is left out
    folded = [t.lower() for t in terms]  # as the index folds case

    def in_title(title: str) -> bool:
        title = title.lower()
        return all(t in title for t in folded)

    arrival = {seq: i for i, seq in enumerate(block)}
    rows.sort(key=lambda r: arrival[r[0]])  # the block's own order, then stable sorts:
    rows.sort(key=lambda r: r[2])  # ties by id, then newest published, then
    rows.sort(key=lambda r: r[1], reverse=True)  # everything in the title first
    rows.sort(key=lambda r: not in_title(r[3]))
    return [r[0] for r in rows]


def _newest(
    db: sqlite3.Connection, test: _Test, after: int | None, clock: _Clock
) -> tuple[list[int], str | None, bool]:
    """Articles newest published first, each tested: the index's order, so a common term
    fills a page after a few rows (CROSS JOIN: the articles drive, in that order). The
    page starts after article `after` (its seq: the last one an earlier page examined)."""
    where, args = "", list(test.args)
    if after is not None:
        row = db.execute("SELECT published, id FROM articles WHERE seq = ?", (after,)).fetchone()
        if row is not None:  # else gone since: from the top again
            where = " WHERE a.published <= ? AND NOT (a.published = ? AND a.id <= ?)"
            args += [row[0], row[0], row[1]]
    sql = (
        f"SELECT a.seq, {test.sql} FROM articles AS a"
        f" CROSS JOIN search_fts AS f ON f.rowid = a.seq{where}"
        " ORDER BY a.published DESC, a.id"
    )
    page: list[int] = []
    last = None
    with contextlib.closing(_examined(db, sql, args, clock)) as rows:
        for seq, passed in rows:
            if passed:
                if len(page) == PAGE:  # one beyond the page: there is more
                    return page, f"s{last}", False
                page.append(seq)
            last = seq
    if clock.cut and last is not None:
        return page, f"s{last}", True
    return page, None, clock.cut


def _scan_at(text: str | None) -> int | None:
    m = re.fullmatch(r"s(\d{1,18})", text or "")
    return int(m.group(1)) if m else None


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


def _hits(
    db: sqlite3.Connection, seqs: Sequence[int], terms: Sequence[str], first: str
) -> tuple[Hit, ...]:
    if not seqs:
        return ()
    found = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT a.seq, a.slug, a.published, a.author, f.title, f.body FROM articles AS a"
            " CROSS JOIN search_fts AS f ON f.rowid = a.seq"
            f" WHERE a.seq IN ({','.join('?' * len(seqs))})",
            seqs,
        )
    }
    hits = []
    for seq in seqs:
        if seq not in found:  # deleted between two statements of a read-only reader
            continue
        slug, published, author, title, body = found[seq]
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

    def search(self, q: str, start: str | None = None) -> Results:
        return search(self._conn(), parse_query(q), start)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
