"""Near-duplicate lookup on look-alike text: cost per new article as the window fills.

Usage: ``.venv/bin/python bench/bench_lookalike.py [--sizes 2500 5000 10000] [--vocab 6]``.

Every item's title and body are drawn from a vocabulary of ``--vocab`` characters, so all
bodies share most of their 3-grams and land in the same MinHash LSH buckets (tables of figures
and template flashes do this in real feeds). Items arrive ten seconds apart, so with the
default 3-day window every stored item is inside every lookup's window: before candidates
were capped per lookup, each lookup verified the whole window and the run grew with the
square of the size. Each size runs in its own process: ``find`` then ``add`` for every item
(as the store does), in one transaction on a SQLite file. Prints total seconds, the median
and last-500 cost per item, and how many were merged. The goal: cost per item flat, so the
total grows linearly with the size.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.dedup import DEFAULT_WINDOW, Candidate, NearDupIndex, signature
from aggregator.migrations import migrate

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=10)


def run_one(size: int, vocab_size: int, folder: Path) -> None:
    path = folder / f"lookalike-{size}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    migrate(conn)
    index = NearDupIndex(conn)
    rng = random.Random(size)
    vocab = [chr(0x4E00 + i) for i in range(vocab_size)]
    costs: list[float] = []
    merged = 0
    conn.execute("BEGIN")
    started = time.perf_counter()
    for n in range(size):
        title = "".join(rng.choices(vocab, k=16))
        body = "".join(rng.choices(vocab, k=200))
        cand = Candidate(title, f"<p>{body}</p>", START + n * STEP)
        t0 = time.perf_counter()
        sig = signature(cand.title, cand.text)
        kept = index.find(cand, DEFAULT_WINDOW, sig)
        index.add(f"a{n}", cand, kept, sig, new=True)
        costs.append(time.perf_counter() - t0)
        merged += kept is not None
    conn.execute("COMMIT")
    total = time.perf_counter() - started
    conn.close()
    print(
        f"size={size} vocab={vocab_size} total_s={total:.2f}"
        f" median_ms={statistics.median(costs) * 1000:.3f}"
        f" last500_median_ms={statistics.median(costs[-500:]) * 1000:.3f}"
        f" merged={merged}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_500, 5_000, 10_000])
    parser.add_argument("--vocab", type=int, default=6)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.vocab, args.dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            one = ["--one", str(size), "--vocab", str(args.vocab), "--dir", tmp]
            subprocess.run([sys.executable, __file__, *one], check=True)


if __name__ == "__main__":
    main()
