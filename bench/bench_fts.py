"""What writing the search index costs, by FTS5 table design, on workload A's real text.

    .venv/bin/python bench/bench_fts.py [--rounds 3] [--variants NAME ...]

Workload A's 6,000 items are parsed and cleaned once (`normalize_entry`, as a cold ingest
does), then indexed into a fresh database file per variant and round, one transaction per
source's batch of 100 as `Store.upsert` writes them (WAL, synchronous=NORMAL), nothing else
in the transactions. Variants run one after the other within each round, so the machine's
load weighs on all alike; the figure is the median CPU time (user + system) per entry of
the inserts and commits (commits flush the index's pending terms and merge segments), and
the database's bytes per article (after a checkpoint: the index alone, no article rows).

`this tree` is the index as the code makes it: the migrations create the table and
`search.index_rows` writes it (since migration 10 without token positions, `detail=none`).
The others are designs measured against it (issue 15), all with positions but the last:
`positions` (the table before migration 10), an 8 MB `hashsize` (FTS5 flushes its pending
terms at 1 MB: a batch of 100 articles, ~3 MB of them, becomes two to four segments), a
contentless table (`content=''`, whose rows a 'delete' command must remove given the old
values), case folded in Python with `case_sensitive 1` (needs a contentless or
external-content table: the stored text would be folded too), `detail=column`, all three of
contentless, folded and no positions, and `noop` (nothing indexed: the harness alone).

Instruction counts do not move with the load: run one variant under callgrind and take
away the `noop` run's count (the start-up and the workload's preparation). They do not
count cache misses: the 8 MB hash runs 10 % fewer instructions and takes more CPU time.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/bench_fts.py --rounds 1 --variants "this tree"
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, median, write_config

from aggregator import config, migrations, search
from aggregator.dates import utcnow
from aggregator.kinds import KINDS
from aggregator.normalize import normalize_entry

BASE_URL = "http://127.0.0.1:1"
Row = tuple[int, str, str]  # seq, title, plain text
Setup = Callable[[sqlite3.Connection], None]
Index = Callable[[sqlite3.Connection, Sequence[Row]], None]


def workload_rows() -> list[list[Row]]:
    """Workload A's articles as (seq, title, text), one list per source's batch."""
    feeds = build_feeds(BASE_URL)
    with tempfile.TemporaryDirectory(prefix="bench-fts-") as tmp:
        settings = config.load(write_config(Path(tmp), feeds, BASE_URL))
    now = utcnow()
    batches: list[list[Row]] = []
    seq = 0
    for feed, source in zip(feeds, settings.sources, strict=True):
        listing = KINDS["feed"].read_list(
            feed.body, BASE_URL + feed.path, "application/rss+xml", now
        )
        batch = []
        for item in listing.items:
            a = normalize_entry(item.entry, source, now)
            seq += 1
            batch.append((seq, a.title, a.text))
        batches.append(batch)
    return batches


def _this_tree() -> tuple[Setup, Index]:
    def setup(db: sqlite3.Connection) -> None:
        migrations.migrate(db)

    return setup, search.index_rows


def _table(options: str, *, fold: bool = False, extra: Sequence[str] = ()) -> tuple[Setup, Index]:
    """An FTS5 table of the same columns, merge settings of migrations 8 and 9; rows
    inserted without the DELETE `index_rows` runs first (0.002 ms per new row)."""

    def setup(db: sqlite3.Connection) -> None:
        db.execute(f"CREATE VIRTUAL TABLE search_fts USING fts5(title, body{options})")
        for k, v in (("automerge", 16), ("crisismerge", 64), *extra):
            db.execute("INSERT INTO search_fts (search_fts, rank) VALUES (?, ?)", (k, v))

    def index(db: sqlite3.Connection, rows: Sequence[Row]) -> None:
        pad = search.PAD
        if fold:
            padded = [(s, t.lower() + pad, x.lower() + pad) for s, t, x in rows]
        else:
            padded = [(s, t + pad, x + pad) for s, t, x in rows]
        db.executemany("INSERT INTO search_fts (rowid, title, body) VALUES (?,?,?)", padded)

    return setup, index


VARIANTS: dict[str, tuple[Setup, Index]] = {
    "this tree": _this_tree(),
    "positions": _table(", tokenize='trigram'"),
    "8 MB hash": _table(", tokenize='trigram'", extra=[("hashsize", 8 << 20)]),
    "contentless": _table(", content='', tokenize='trigram'"),
    "contentless, folded": _table(", content='', tokenize='trigram case_sensitive 1'", fold=True),
    "detail=column": _table(", detail=column, tokenize='trigram'"),
    "all three": _table(
        ", content='', columnsize=0, detail=none, tokenize='trigram case_sensitive 1'", fold=True
    ),
    "noop": (lambda db: None, lambda db, rows: None),
}


def one_run(setup: Setup, index: Index, batches: list[list[Row]]) -> tuple[float, int]:
    """CPU seconds of indexing every batch, and the database's size afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-fts-") as tmp:
        path = Path(tmp) / "index.db"
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            setup(db)
            started = time.process_time()
            for batch in batches:
                db.execute("BEGIN")
                index(db, batch)
                db.execute("COMMIT")
            spent = time.process_time() - started
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        return spent, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    batches = workload_rows()
    n = sum(map(len, batches))
    spent: dict[str, list[float]] = {name: [] for name in args.variants}
    size: dict[str, int] = {}
    for _ in range(args.rounds):
        for name in args.variants:
            seconds, size[name] = one_run(*VARIANTS[name], batches)
            spent[name].append(seconds)
    print(f"workload A, {n} articles in {len(batches)} transactions, {args.rounds} rounds;")
    print(f"load average {os.getloadavg()[0]:.1f}. CPU per entry (median; runs), database size:")
    for name in args.variants:
        runs = " ".join(f"{1000 * s / n:.3f}" for s in spent[name])
        per_entry = 1000 * median(spent[name]) / n
        print(f"  {name:20} {per_entry:6.3f} ms ({runs})  {size[name] / n:7,.0f} bytes per article")


if __name__ == "__main__":
    main()
