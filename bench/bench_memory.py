"""Workload C, memory: peak RSS of a cold ingest, and the daemon's RSS over 1,000 poll cycles.

1. `aggregator once` on an empty store (workload A): peak RSS of its biggest process (the rusage
   `workload.run_measured` collects).
2. `aggregator run` on the now-full store with every source at the config's minimum interval:
   upstream never changes, so every poll is a conditional GET answered 304 (workload B). One
   cycle = as many requests as there are sources (counted by the feed server). VmRSS is read
   from /proc/<pid>/status; first (after cycle 1), last, max and growth are reported.

    .venv/bin/python bench/bench_memory.py [--cycles 1000] [--interval 1s]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from workload import (
    FeedServer,
    aggregator_cmd,
    aggregator_ready,
    free_port,
    run_measured,
    write_config,
)

CHECKPOINTS = (1, 10, 100, 250, 500, 750, 1000)


@dataclass(frozen=True, slots=True)
class RssSample:
    """Resident memory of the daemon after `cycle` complete poll cycles."""

    elapsed: float
    cycle: int
    rss_kb: int


def vm_rss_kb(pid: int) -> int:
    """VmRSS of a live process, in kB, straight from the kernel."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def minimum_interval() -> str:
    """The shortest interval the product's config accepts (a bench must not fight validation)."""
    from aggregator import config

    return f"{config.MIN_INTERVAL:g}s"


def cold_ingest(server: FeedServer, config: Path) -> int:
    run = run_measured(aggregator_cmd("once", "-c", str(config)), cwd=config.parent)
    if run.returncode != 0:
        sys.exit(f"aggregator once exited {run.returncode}:\n{run.stderr[-3000:]}")
    print(f"cold ingest: {run.wall:.2f} s, peak RSS {run.max_rss_kb / 1024:.1f} MiB", flush=True)
    return run.max_rss_kb


def watch_daemon(
    server: FeedServer, config: Path, cycles: int, every: float, limit: float
) -> list[RssSample]:
    """Run `aggregator run` until `cycles` poll cycles are served; sample its RSS meanwhile."""
    n = len(server.feeds)
    log = (config.parent / "daemon.log").open("wb")
    server.reset_stats()
    proc = subprocess.Popen(
        aggregator_cmd("run", "-c", str(config)),
        cwd=config.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    samples: list[RssSample] = []
    start = time.monotonic()
    try:
        while True:
            time.sleep(every)
            if proc.poll() is not None:
                sys.exit(f"daemon exited {proc.returncode}; see {config.parent / 'daemon.log'}")
            stats = server.stats()
            done = (stats[304] + stats[200]) // n
            bad = sum(v for k, v in stats.items() if k not in (200, 304))
            if bad or stats[200]:
                sys.exit(f"daemon polls were not all 304: {dict(stats)}")
            samples.append(RssSample(time.monotonic() - start, done, vm_rss_kb(proc.pid)))
            if len(samples) > 1 and _passed_checkpoint(samples[-2].cycle, done):
                print(f"  cycle {done}: {samples[-1].rss_kb / 1024:.1f} MiB", flush=True)
            if done >= cycles or time.monotonic() - start > limit:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        log.close()
    if code != 0:
        print(f"warning: daemon exited {code} on SIGTERM", file=sys.stderr)
    return samples


def _passed_checkpoint(before: int, now: int) -> bool:
    return any(before < mark <= now for mark in CHECKPOINTS)


def report(peak_once_kb: int, samples: list[RssSample], cycles: int) -> None:
    after_first = [s for s in samples if s.cycle >= 1]
    if not after_first:
        sys.exit("the daemon never completed a poll cycle")
    first, last = after_first[0], after_first[-1]
    peak = max(s.rss_kb for s in after_first)
    print(f"\ncold ingest (workload A) peak RSS: {peak_once_kb / 1024:7.1f} MiB")
    print(f"daemon over {last.cycle} cycles of {cycles} asked ({last.elapsed:.0f} s), VmRSS:")
    for mark in CHECKPOINTS:
        hit = next((s for s in after_first if s.cycle >= mark), None)
        if hit is not None:
            print(
                f"  after cycle {hit.cycle:5d} ({hit.elapsed:6.0f} s): {hit.rss_kb / 1024:7.1f} MiB"
            )
    growth = last.rss_kb - first.rss_kb
    print(
        f"  first {first.rss_kb / 1024:.1f} MiB, last {last.rss_kb / 1024:.1f} MiB, "
        f"max {peak / 1024:.1f} MiB, growth {growth / 1024:+.1f} MiB "
        f"({growth / max(last.cycle - first.cycle, 1):+.2f} kB/cycle)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--interval", help="source interval (default: the config's minimum)")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between RSS samples")
    parser.add_argument("--limit", type=float, default=3600.0, help="give up after this long")
    args = parser.parse_args()
    if not aggregator_ready():
        sys.exit("aggregator/cli.py does not exist yet: nothing to measure")
    interval = args.interval or minimum_interval()
    with (
        FeedServer(ttl_minutes=None) as server,
        tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp,
    ):
        config = write_config(
            Path(tmp), server.feeds, server.base_url, interval=interval, server_port=free_port()
        )
        peak_once = cold_ingest(server, config)
        print(f"daemon: {len(server.feeds)} sources every {interval}, {args.cycles} cycles …")
        samples = watch_daemon(server, config, args.cycles, args.sample, args.limit)
        report(peak_once, samples, args.cycles)


if __name__ == "__main__":
    main()
