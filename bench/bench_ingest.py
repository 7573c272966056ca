"""Workload A, cold ingest: `aggregator once` on an empty store vs lemon24/reader.

Both sides are whole processes (interpreter start-up, imports, fetch, parse, store, and for us
cleaning and publishing too) polling the same 60 local feeds (6,000 items). Runs alternate
(ours, reader, ours, reader, …) so drift in machine load hits both; the medians are reported.

    .venv/bin/python bench/bench_ingest.py [--runs 3] [--reader-workers 1] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from pathlib import Path

from workload import (
    FeedServer,
    Run,
    aggregator_cmd,
    aggregator_ready,
    ensure_reader_venv,
    median,
    run_measured,
    write_config,
)

# Runs inside the reader venv: argv = db path, workers; stdin = one feed URL per line.
READER_SCRIPT = """
import sys
from reader import make_reader
db, workers = sys.argv[1], int(sys.argv[2])
reader = make_reader(db)
for url in sys.stdin.read().split():
    reader.add_feed(url)
reader.update_feeds(workers=workers)
print(reader.get_entry_counts().total)
"""

OUTPUT_FEEDS = ("feed.atom", "feed.rss", "feed.json")


def run_ours(server: FeedServer, workdir: Path) -> Run:
    """One cold `aggregator once`; checks exit status, fetches and outputs."""
    config = write_config(workdir, server.feeds, server.base_url)
    server.reset_stats()
    run = run_measured(aggregator_cmd("once", "-c", str(config)), cwd=workdir)
    if run.returncode != 0:
        sys.exit(f"aggregator once exited {run.returncode}:\n{run.stderr[-3000:]}")
    fetched = server.stats()[200]
    if fetched != len(server.feeds):
        sys.exit(f"aggregator once fetched {fetched} feeds, expected {len(server.feeds)}")
    missing = [name for name in OUTPUT_FEEDS if not (workdir / "public" / name).is_file()]
    if missing:
        sys.exit(f"aggregator once wrote no {', '.join(missing)} in {workdir / 'public'}")
    return run


def run_reader(server: FeedServer, workdir: Path, python: Path, workers: int) -> Run:
    """One cold reader update_feeds() into a fresh db; checks that it stored every item."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "reader.sqlite"
    cmd = [str(python), "-c", READER_SCRIPT, str(db), str(workers)]
    run = run_measured(cmd, cwd=workdir, stdin="\n".join(server.urls))
    if run.returncode != 0:
        sys.exit(f"reader exited {run.returncode}:\n{run.stderr[-3000:]}")
    stored = int(run.stdout.split()[-1])
    if stored != server.total_items:
        sys.exit(f"reader stored {stored} entries, expected {server.total_items}")
    return run


def profile_ours(server: FeedServer, workdir: Path, out: Path) -> None:
    """cProfile one cold `once` (main thread only; py-spy sees worker threads too)."""
    config = write_config(workdir, server.feeds, server.base_url)
    cmd = aggregator_cmd("once", "-c", str(config))
    # -m cProfile wraps the same module entry point the CLI uses.
    run = run_measured([cmd[0], "-m", "cProfile", "-o", str(out), *cmd[1:]], cwd=workdir)
    print(f"profiled run: {run.wall:.2f} s, exit {run.returncode}; profile in {out}")
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)


def report(items: int, ours: list[Run], theirs: list[Run], workers: int) -> None:
    print(f"\nworkload A: {items} items in 60 feeds; medians of {max(len(ours), len(theirs))}")
    rows = []
    if ours:
        rows.append(("aggregator once", ours))
    if theirs:
        rows.append((f"reader update_feeds(workers={workers})", theirs))
    for label, runs in rows:
        wall = median([r.wall for r in runs])
        rss = median([r.max_rss_kb for r in runs]) / 1024
        walls = ", ".join(f"{r.wall:.2f}" for r in runs)
        print(
            f"  {label:34} {wall:7.2f} s  {items / wall:8.0f} entries/s  "
            f"peak RSS {rss:6.1f} MiB  (runs: {walls})"
        )
    if ours and theirs:
        ratio = median([r.wall for r in theirs]) / median([r.wall for r in ours])
        verdict = "meets" if ratio >= 10 else "MISSES"
        print(f"  throughput ratio ours/reader: {ratio:.2f}×  ({verdict} the ≥ 10× goal)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reader-workers", type=int, default=1, help="update_feeds(workers=)")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--profile", type=Path, help="also cProfile one run of ours into this file")
    args = parser.parse_args()
    ours_on = not args.skip_ours and aggregator_ready()
    if not args.skip_ours and not ours_on:
        print("aggregator/cli.py does not exist yet: measuring the reader baseline only")
    python = None if args.skip_reader else ensure_reader_venv()
    ours: list[Run] = []
    theirs: list[Run] = []
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for i in range(args.runs):
            if ours_on:
                ours.append(run_ours(server, Path(tmp) / f"ours-{i}"))
                print(f"run {i + 1}: aggregator once {ours[-1].wall:.2f} s", flush=True)
            if python is not None:
                theirs.append(
                    run_reader(server, Path(tmp) / f"reader-{i}", python, args.reader_workers)
                )
                print(f"run {i + 1}: reader          {theirs[-1].wall:.2f} s", flush=True)
        report(server.total_items, ours, theirs, args.reader_workers)
        if args.profile and ours_on:
            profile_ours(server, Path(tmp) / "profile", args.profile.resolve())


if __name__ == "__main__":
    main()
