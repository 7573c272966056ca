"""How NearDupIndex scales: find+add cost per new article at 10k and 1M stored, and peak RSS.

Usage: ``.venv/bin/python bench/bench_dedup.py [--sizes 10000 1000000] [--dir DIR]``.
Each size runs in its own process (so peak RSS is that size's), fills a SQLite *file*
index with synthetic articles in one transaction, then times ``find`` + ``add`` for new
articles (a quarter of them wire copies of recent ones, so verification work is real).

Synthetic articles arrive one a minute, so the 3-day window holds the same number of
articles at every size: what grows with the size is only the B-trees, which is what the
goals are about (cost at 1M <= 2x cost at 10k; peak RSS at 1M <= 200 MB).

Measured 2026-11-28 on the 2-core dev machine (shared with other jobs), 32 MiB page cache:
10k: fill 5.6 s, median find+add 1.24 ms (0.93 ms on a quieter rerun), peak RSS 28 MB;
100k: 1.06 ms, 56 MB; 1M: fill 800 s, median 1.44 ms (p90 1.72 ms), peak RSS 57 MB, 680 MB file.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.dedup import DEFAULT_WINDOW, Candidate, NearDupIndex
from aggregator.migrations import migrate

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)
PROBES = 400
CACHE_KIB = 32 * 1024  # SQLite page cache per connection, counted in the RSS


def vocabulary() -> str:
    """A few thousand CJK characters: texts look like Chinese to the shingler."""
    return "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000))


def article(rng: random.Random, vocab: str, n: int) -> Candidate:
    title = "".join(rng.choices(vocab, k=rng.randint(10, 24)))
    body = "".join(rng.choices(vocab, k=rng.randint(120, 260)))
    return Candidate(title, f"<p>{body}</p>", START + n * STEP)


def wire_copy(original: Candidate, n: int) -> Candidate:
    return Candidate(
        "财联社：" + original.title,
        f"<p>财联社{original.published.month}月{original.published.day}日电，"
        f"{original.text[3:-4]}（央视）</p>",
        START + n * STEP,
    )


def fill(index: NearDupIndex, conn: sqlite3.Connection, size: int, rng: random.Random) -> float:
    vocab = vocabulary()
    started = time.perf_counter()
    conn.execute("BEGIN")
    for n in range(size):
        index.add(f"a{n}", article(rng, vocab, n))
    conn.execute("COMMIT")
    return time.perf_counter() - started


def probe(
    index: NearDupIndex, conn: sqlite3.Connection, size: int, rng: random.Random
) -> dict[str, float]:
    vocab = vocabulary()
    costs: list[float] = []
    recent: list[Candidate] = []
    found = 0
    conn.execute("BEGIN")
    for k in range(PROBES):
        n = size + k
        if k % 4 == 3 and recent:
            cand = wire_copy(rng.choice(recent), n)
        else:
            cand = article(rng, vocab, n)
            recent.append(cand)
        started = time.perf_counter()
        kept = index.find(cand, DEFAULT_WINDOW)
        index.add(f"p{n}", cand, kept)
        costs.append(time.perf_counter() - started)
        found += kept is not None
    conn.execute("COMMIT")
    return {
        "median_ms": statistics.median(costs) * 1000,
        "p90_ms": statistics.quantiles(costs, n=10)[-1] * 1000,
        "duplicates_found": found,
        "duplicates_made": PROBES // 4,
    }


def run_one(size: int, folder: Path) -> None:
    path = folder / f"dedup-{size}.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    index = NearDupIndex(conn)
    migrate(conn)
    rng = random.Random(size)
    fill_s = fill(index, conn, size, rng)
    result = probe(index, conn, size, rng)
    conn.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"size={size} fill_s={fill_s:.1f} median_find_add_ms={result['median_ms']:.3f} "
        f"p90_ms={result['p90_ms']:.3f} dups_found={result['duplicates_found']}/"
        f"{result['duplicates_made']} peak_rss_mb={peak_mb:.1f} "
        f"db_mb={path.stat().st_size / 2**20:.0f}",
        flush=True,
    )
    path.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{path}{extra}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.dir)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        for size in args.sizes:
            subprocess.run(
                [sys.executable, __file__, "--one", str(size), "--dir", str(folder)], check=True
            )


if __name__ == "__main__":
    main()
