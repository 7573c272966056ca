"""Workload A, cold ingest: `aggregator once` on an empty store vs lemon24/reader.

Both sides are whole processes (interpreter start-up, imports, fetch, parse, store, and for us
cleaning and publishing too) polling the same 60 local feeds (6,000 items). Runs alternate
(ours, reader, ours, reader, …) so drift in machine load hits both; the medians are reported.

    .venv/bin/python bench/bench_ingest.py [--runs 3] [--reader-workers 1] [--reader-search]
        [--profile out.prof]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
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

# Runs inside the reader venv: argv = db path, workers, search; stdin = one feed URL per line.
# With search = 1 reader also builds its full-text index (enable_search, update_search), as we
# build ours: the work a reader user pays to search what was stored.
READER_SCRIPT = """
import sys
from reader import make_reader
db, workers, search = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
reader = make_reader(db)
if search:
    reader.enable_search()
for url in sys.stdin.read().split():
    reader.add_feed(url)
reader.update_feeds(workers=workers)
if search:
    reader.update_search()
print(reader.get_entry_counts().total)
"""

# Issue 15: cold ingest at least twice reader's throughput, at no more CPU per entry.
GOAL_THROUGHPUT = 2.0

OUTPUT_FEEDS = ("feed.atom", "feed.rss", "feed.json")
_LINE_NO = re.compile(r":\d+\)$")


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


def run_reader(
    server: FeedServer, workdir: Path, python: Path, workers: int, search: bool = False
) -> Run:
    """One cold reader update_feeds() into a fresh db (and update_search() with `search`);
    checks that it stored every item."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "reader.sqlite"
    cmd = [str(python), "-c", READER_SCRIPT, str(db), str(workers), "1" if search else "0"]
    run = run_measured(cmd, cwd=workdir, stdin="\n".join(server.urls))
    if run.returncode != 0:
        sys.exit(f"reader exited {run.returncode}:\n{run.stderr[-3000:]}")
    stored = int(run.stdout.split()[-1])
    if stored != server.total_items:
        sys.exit(f"reader stored {stored} entries, expected {server.total_items}")
    return run


def profile_ours(server: FeedServer, workdir: Path, out: Path, python: Path) -> None:
    """py-spy one cold `once`, all threads (the product parses and stores in worker threads,
    which cProfile would not see); print the top functions by own and by inclusive time."""
    spy = ensure_py_spy(python)
    config = write_config(workdir, server.feeds, server.base_url)
    cmd = [
        str(spy),
        "record",
        "--threads",
        "--subprocesses",
        "-r",
        "100",
        "-f",
        "raw",
        "-o",
        str(out),
        "--",
    ]
    run = run_measured(cmd + aggregator_cmd("once", "-c", str(config)), cwd=workdir)
    if run.returncode != 0:
        sys.exit(f"py-spy run exited {run.returncode}:\n{run.stderr[-3000:]}")
    print(f"\nprofiled run: {run.wall:.2f} s under py-spy; collapsed stacks in {out}")
    own, inclusive, total = collapse(out.read_text().splitlines())
    for title, counts in (("own time", own), ("inclusive time", inclusive)):
        print(f"top functions by {title} (% of {total} samples):")
        for frame, n in counts.most_common(25):
            print(f"  {100 * n / total:5.1f}%  {frame}")


def collapse(lines: list[str]) -> tuple[Counter[str], Counter[str], int]:
    """Own and inclusive sample counts per function from py-spy's raw (collapsed) output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in lines:
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        n = int(count)
        # First frame is the thread; drop line numbers so a function is one row.
        frames = [_LINE_NO.sub(")", f) for f in stack.split(";")[1:]]
        total += n
        if frames:
            own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own, inclusive, total


def ensure_py_spy(python: Path) -> Path:
    """py-spy from the bench tools venv (installed there on first use)."""
    spy = python.parent / "py-spy"
    if not spy.exists():
        subprocess.run([str(python), "-m", "pip", "install", "-q", "py-spy"], check=True)
    return spy


def report(
    items: int, ours: list[Run], baselines: list[tuple[str, list[Run]]], workers: int
) -> None:
    """Each side's medians; then ours against each reader baseline (the goal's is the first)."""
    runs_n = max([len(ours)] + [len(b) for _, b in baselines])
    print(f"\nworkload A: {items} items in 60 feeds; medians of {runs_n}")
    rows = [("aggregator once", ours)] if ours else []
    rows += [(label, runs) for label, runs in baselines if runs]
    for label, runs in rows:
        wall = median([r.wall for r in runs])
        rss = median([r.max_rss_kb for r in runs]) / 1024
        cpu = median([r.cpu for r in runs])
        walls = ", ".join(f"{r.wall:.2f}" for r in runs)
        print(
            f"  {label:34} {wall:7.2f} s  {items / wall:8.0f} entries/s  "
            f"peak RSS {rss:6.1f} MiB  CPU {cpu:5.2f} s = {cpu / wall:.2f} cores busy  "
            f"(runs: {walls})"
        )
    for label, theirs in baselines:
        if not (ours and theirs):
            continue
        ratio = median([r.wall for r in theirs]) / median([r.wall for r in ours])
        cpu_ratio = median([r.cpu for r in ours]) / median([r.cpu for r in theirs])
        per_entry = median([r.cpu for r in ours]) / items * 1000
        theirs_per_entry = median([r.cpu for r in theirs]) / items * 1000
        fast = "meets" if ratio >= GOAL_THROUGHPUT else "MISSES"
        lean = "meets" if cpu_ratio <= 1 else "MISSES"
        print(f"  against {label}:")
        print(
            f"    throughput ratio ours/reader: {ratio:.2f}×"
            f"  ({fast} the ≥ {GOAL_THROUGHPUT:g}× goal)"
        )
        print(
            f"    CPU per entry: ours {per_entry:.2f} ms, reader {theirs_per_entry:.2f} ms:"
            f" {cpu_ratio:.2f}× reader's  ({lean} the ≤ 1× goal)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reader-workers", type=int, default=1, help="update_feeds(workers=)")
    parser.add_argument("--skip-reader", action="store_true")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument(
        "--reader-search",
        action="store_true",
        help="also run reader with its full-text search enabled and updated, as a second baseline",
    )
    parser.add_argument(
        "--profile", type=Path, help="also py-spy one run of ours; collapsed stacks to this file"
    )
    args = parser.parse_args()
    ours_on = not args.skip_ours and aggregator_ready()
    if not args.skip_ours and not ours_on:
        print("aggregator/cli.py does not exist yet: measuring the reader baseline only")
    python = None if args.skip_reader and not args.profile else ensure_reader_venv()
    ours: list[Run] = []
    theirs: list[Run] = []
    searching: list[Run] = []
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for i in range(args.runs):
            if ours_on:
                ours.append(run_ours(server, Path(tmp) / f"ours-{i}"))
                print(f"run {i + 1}: aggregator once {ours[-1].wall:.2f} s", flush=True)
            if not args.skip_reader and python is not None:
                theirs.append(
                    run_reader(server, Path(tmp) / f"reader-{i}", python, args.reader_workers)
                )
                print(f"run {i + 1}: reader          {theirs[-1].wall:.2f} s", flush=True)
            if args.reader_search and python is not None:
                where = Path(tmp) / f"reader-search-{i}"
                searching.append(run_reader(server, where, python, args.reader_workers, True))
                print(f"run {i + 1}: reader + search {searching[-1].wall:.2f} s", flush=True)
        w = args.reader_workers
        baselines = [
            (f"reader update_feeds(workers={w})", theirs),
            (f"reader + update_search (workers={w})", searching),
        ]
        report(server.total_items, ours, baselines, w)
        if args.profile and ours_on and python is not None:
            profile_ours(server, Path(tmp) / "profile", args.profile.resolve(), python)


if __name__ == "__main__":
    main()
