"""The store's CPU per entry in a cold ingest, alone: workload A's prepared articles stored
into fresh databases, as a poll stores them (one `Store.upsert` per source).

    .venv/bin/python bench/bench_store.py [--rounds 5] [--batches 60]

The 60 documents are read, normalized and signed once (not timed); each round then stores
them into a new database and reports the CPU time (`time.process_time`, user + system) of
the upserts, the search index's share of it, and the database's size per article. Reports
the median and minimum of the rounds.

CPU time on a busy machine varies by ±20 % from one run to the next. For a figure that
does not, count instructions: keep the prepared articles in a file (`--prepared`, written
by the first run, read by the next ones: the file is tied to this tree's `Article`), then
run under callgrind with `--rounds 1` twice, `--batches 10` and `--batches 0`, and divide
the difference of the instructions by the 1,000 entries stored:

    .venv/bin/python bench/bench_store.py --rounds 1 --prepared /tmp/a.pickle
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/bench_store.py --rounds 1 --prepared /tmp/a.pickle --batches 10

The store outside the search index (`--without-index`: `search.index_rows` does nothing),
counted only while storing (the upserts run inside `functools.reduce`), in one run:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null --collect-atstart=no \\
        --toggle-collect=functools_reduce .venv/bin/python bench/bench_store.py --rounds 1 \\
        --prepared /tmp/a.pickle --batches 30 --without-index
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, write_config

from aggregator import config, search
from aggregator.dates import utcnow
from aggregator.dedup import signature
from aggregator.kinds import KINDS
from aggregator.models import Article, DedupSettings
from aggregator.normalize import normalize_entry
from aggregator.prepare import item_hash
from aggregator.store import Store

BASE_URL = "http://127.0.0.1:1"

Batch = tuple[str, list[Article], list[bytes]]


def prepared(folder: Path) -> tuple[DedupSettings, list[Batch]]:
    """Workload A's articles per source, as the workers hand them to the store."""
    feeds = build_feeds(BASE_URL)
    settings = config.load(write_config(folder, feeds, BASE_URL))
    now = utcnow()
    batches = []
    for feed, source in zip(feeds, settings.sources, strict=True):
        listing = KINDS["feed"].read_list(
            feed.body, BASE_URL + feed.path, "application/rss+xml", now
        )
        articles, hashes = [], []
        for item in listing.items:
            hashes.append(item_hash(item.entry, source))
            a = normalize_entry(item.entry, source, now)
            articles.append(replace(a, signature=signature(a.title, a.text)))
        batches.append((source.name, articles, hashes))
    return settings.dedup, batches


def one_round(
    folder: Path, dedup: DedupSettings, batches: list[Batch], *, index: bool = True
) -> tuple[float, ...]:
    """(upsert CPU seconds, of which the search index, database bytes)."""
    store = Store(folder / "store.db", dedup)
    now = utcnow()
    indexing = [0.0]
    real_index = search.index_rows

    def timed(db: sqlite3.Connection, rows: Iterable[tuple[int, str, str]]) -> None:
        if not index:
            return
        start = time.process_time()
        try:
            real_index(db, rows)
        finally:
            indexing[0] += time.process_time() - start

    search.index_rows = timed
    try:
        start = time.process_time()
        # In functools.reduce: the one C function callgrind can count the storing by.
        functools.reduce(lambda _, b: store.upsert(b[1], now, (b[0], b[2])), batches, None)
        spent = time.process_time() - start
    finally:
        search.index_rows = real_index
        store.close()  # checkpoints the WAL into the file
    return spent, indexing[0], float((folder / "store.db").stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=60, help="sources stored (of 60)")
    parser.add_argument("--prepared", type=Path, help="keep the prepared articles here")
    parser.add_argument(
        "--without-index", action="store_true", help="the search index left out (not written)"
    )
    args = parser.parse_args()
    if args.prepared and args.prepared.exists():
        dedup, batches = pickle.loads(args.prepared.read_bytes())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            dedup, batches = prepared(Path(tmp))
        if args.prepared:
            args.prepared.write_bytes(pickle.dumps((dedup, batches)))
    batches = batches[: args.batches]
    n = sum(len(b[1]) for b in batches)
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            rounds.append(one_round(Path(tmp), dedup, batches, index=not args.without_index))
    if not n:  # --batches 0: the baseline of an instruction count (opening, closing)
        return
    load = os.getloadavg()[0]
    print(f"workload A, {n} entries in {len(batches)} upserts; load average {load:.1f}")
    for label, i, scale in (
        ("Store.upsert, ms per entry", 0, 1000 / n),
        ("  of which the search index", 1, 1000 / n),
        ("database, KB per article", 2, 1 / 1000 / n),
    ):
        values = [r[i] * scale for r in rounds]
        print(f"  {label:30} median {statistics.median(values):7.3f}  min {min(values):7.3f}")


if __name__ == "__main__":
    main()
