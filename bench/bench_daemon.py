"""The daemon's poll-to-published time at a growing archive (issue 15).

Usage: ``.venv/bin/python bench/bench_daemon.py [--sizes 1000 100000] [--items 5]
[--interval 5] [--dir DIR [--reuse]]``.

For each size N the store is built as `bench_incremental.py` builds it (60 sources × 15
workload-A items through a cold `aggregator once`, N − 900 older articles of the same
sources and categories; sizes above `--bulk-above` written straight into the tables, search
index included), then one `aggregator run` per size is started, every source polled every
`--interval` seconds (feeds served without RSSHub's `<ttl>`, which would space polls five
minutes apart). All daemons run at once, so they share the machine's load alike.

Then, alternating between the sizes for `--items` rounds, one source's feed gains one item
at the top (its oldest drops out: same feed sizes) and two times are taken:

- **waiting**: from the change upstream to the poll that sees it (the feed server notes
  when it sent that source its 200), up to one interval: the schedule, not the work;
- **poll → published**: from that 200 to `feed.atom` holding the new item's link (the
  file is watched every 10 ms): prepare, store, the publisher's coalescing delay (0.5 s,
  so polls finishing together publish once) and the publish itself.

Prints medians per size and their ratios to the smallest size. Goal (issue 15): the
daemon's poll-to-published time flat as the archive grows, like the whole `once` (1.1×).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench_incremental import N_SOURCES, Setup, setup
from workload import aggregator_cmd, feed_path, free_port, median

WATCH = 0.01  # seconds between looks at feed.atom
TIMEOUT = 120.0  # seconds an item may take to be published (beyond one interval)


@dataclass
class Daemon:
    setup: Setup
    proc: subprocess.Popen[bytes]
    log: Path
    waiting: list[float]
    published: list[float]


def start(s: Setup) -> Daemon:
    """`aggregator run` on the size's store and config (polling every `--interval` s)."""
    log = s.workdir / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            aggregator_cmd("run", "-c", str(s.config)),
            cwd=s.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Daemon(s, proc, log, [], [])


def settle(daemons: list[Daemon], interval: float) -> None:
    """Wait until every daemon has polled every source at least once."""
    deadline = time.monotonic() + 4 * interval + 300  # start-up included
    for d in daemons:
        d.setup.server.stats.clear()
    while time.monotonic() < deadline:
        for d in daemons:
            if d.proc.poll() is not None:
                sys.exit(f"aggregator run exited {d.proc.returncode}:\n{d.log.read_text()[-3000:]}")
        if all(sum(d.setup.server.stats.values()) >= 2 * N_SOURCES for d in daemons):
            return
        time.sleep(0.2)
    sys.exit("the daemons did not poll every source in time")


def one_item(d: Daemon, round_no: int, interval: float) -> None:
    """A new item upstream; time the poll that sees it and its publishing."""
    s = d.setup
    path = feed_path(round_no % N_SOURCES)
    feed = s.workdir / "public" / "feed.atom"
    changed = time.monotonic()
    new = s.one_new_item(round_no)
    needle = new.link.encode()
    deadline = changed + interval + TIMEOUT
    seen = None
    last_mtime = 0
    while time.monotonic() < deadline:
        if d.proc.poll() is not None:
            sys.exit(f"aggregator run exited {d.proc.returncode}:\n{d.log.read_text()[-3000:]}")
        if seen is None:
            with s.server.lock:
                sent = s.server.sent.get(path, 0.0)
            if sent > changed:
                seen = sent
        try:
            mtime = feed.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        if mtime != last_mtime:
            last_mtime = mtime
            if needle in feed.read_bytes():
                now = time.monotonic()
                if seen is None:  # the watcher looked at `sent` just before it moved
                    with s.server.lock:
                        seen = s.server.sent[path]
                d.waiting.append(seen - changed)
                d.published.append(now - seen)
                return
        time.sleep(WATCH)
    sys.exit(f"size {s.size}: the new item was not in feed.atom after {TIMEOUT:g} s")


def stop(d: Daemon) -> None:
    if d.proc.poll() is None:
        d.proc.send_signal(signal.SIGTERM)
        try:
            d.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            d.proc.kill()
            d.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--items", type=int, default=5, help="new items per size")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    parser.add_argument("--dir", type=Path, help="keep the stores here (default: a temp dir)")
    parser.add_argument(
        "--bulk-above",
        type=int,
        default=10_000,
        help="sizes above this are filled straight into the tables (bench_incremental.py)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="take the stores an earlier run (this one or bench_incremental.py) built in --dir",
    )
    args = parser.parse_args()
    tmp = None
    folder = args.dir
    if folder is None:
        tmp = tempfile.mkdtemp(prefix="bench-daemon-")
        folder = Path(tmp)
    daemons: list[Daemon] = []
    try:
        # The stores are built with the daemon's config (its interval, its own port: the
        # outputs' base URL names it), so the daemon starts with nothing to republish and
        # the next polls due within one interval.
        setups = [
            setup(
                size,
                folder,
                args.items,
                args.bulk_above,
                ttl_minutes=None,
                interval=f"{args.interval:g}s",
                server_port=free_port(),
                reuse=args.reuse,
            )
            for size in args.sizes
        ]
        daemons = [start(s) for s in setups]
        settle(daemons, args.interval)
        print(f"daemons polling (load average {os.getloadavg()[0]:.1f})", flush=True)
        for r in range(args.items):
            for d in daemons:
                one_item(d, r, args.interval)
                print(
                    f"size={d.setup.size} item {r + 1}: waited {d.waiting[-1]:.2f} s,"
                    f" poll -> published {d.published[-1] * 1000:.0f} ms",
                    flush=True,
                )
        base = median(daemons[0].published)
        for d in daemons:
            runs = [round(x * 1000) for x in d.published]
            print(
                f"size={d.setup.size}: poll -> published {median(d.published) * 1000:.0f} ms"
                f" ({median(d.published) / base:.2f}x; runs {runs});"
                f" waiting for the poll {median(d.waiting):.2f} s;"
                f" load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        for d in daemons:
            stop(d)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
