"""Where a cold ingest's CPU goes, stage by stage: workload A run serially in one process.

    .venv/bin/python bench/bench_stages.py [--rounds 1]

`bench_ingest.py` measures the whole `aggregator once` (worker processes, HTTP, start-up);
this bench takes it apart. The 60 workload-A documents are read, cleaned, signed, stored
and published in this one process, one stage after the other, each stage's CPU time
(`time.process_time`, user + system) measured on its own:

- prepare, split: parse (`kind.read_list`), item hashes, normalize (cleaning included:
  `normalize_entry`), signature (`dedup.signature`);
- store: `Store.upsert` of each source's batch, as a poll stores it (dedup lookups, search
  index and commits included); the search index's share is timed inside;
- publish: `outputs.publish` with no worker processes, and each output's plan, render and
  write (file writes included) inside it.

Sums are CPU per entry; the stages add up to about the CPU of a whole `aggregator once`
less its start-up, HTTP and hand-offs between processes. The file writes' share varies
with the kernel's state, so their system time is shown on its own: on this machine's ext4,
which has no journal, creating a file right after many others were deleted on the file
system (by anyone: test suites, benches, this bench's previous round) makes the kernel's
inode allocator step over each recently deleted inode of its block group (`perf`:
`__ext4_new_inode` → `find_inode_bit` → `recently_deleted`), ~0.3 ms per file instead of
~0.03, until those inodes are written back and old enough. The output written first (the
posts) pays most of it. So the rounds' files are all deleted at the end, not between
rounds; a single round still pays for whatever others deleted just before it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, write_config

from aggregator import config, search
from aggregator import outputs as outs
from aggregator.dates import utcnow
from aggregator.dedup import signature
from aggregator.kinds import KINDS
from aggregator.normalize import normalize_entry
from aggregator.outputs import base
from aggregator.prepare import item_hash
from aggregator.store import Store

BASE_URL = "http://127.0.0.1:1"


class Clock:
    """CPU seconds per label; `wrap` times every call of a function under a label (and,
    with `system`, the kernel's share of it under "<label>, system")."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)

    def wrap(
        self, label: str, fn: Callable[..., Any], *, system: bool = False
    ) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            kernel = os.times().system if system else 0.0
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] += time.process_time() - start
                if system:
                    self.spent[f"{label}, system"] += os.times().system - kernel

        return timed


def one_round(folder: Path) -> tuple[int, dict[str, float]]:
    feeds = build_feeds(BASE_URL)
    settings = config.load(write_config(folder, feeds, BASE_URL))
    now = utcnow()
    clock = Clock()
    kind = KINDS["feed"]
    entries = []
    for feed, source in zip(feeds, settings.sources, strict=True):
        read = clock.wrap("prepare: parse", kind.read_list)
        listing = read(feed.body, BASE_URL + feed.path, "application/rss+xml", now)
        entries += [(item.entry, source) for item in listing.items]
    hashes: defaultdict[str, list[bytes]] = defaultdict(list)
    for entry, source in entries:
        hashes[source.name].append(clock.wrap("prepare: item hashes", item_hash)(entry, source))
    articles = defaultdict(list)
    for entry, source in entries:  # as prepare does it: each source's items cleaned, then signed
        a = clock.wrap("prepare: normalize + clean", normalize_entry)(entry, source, now)
        articles[source.name].append(a)
    for name, cleaned in articles.items():
        sign = clock.wrap("prepare: signature", signature)
        articles[name] = [replace(a, signature=sign(a.title, a.text)) for a in cleaned]
    store = Store(settings.storage_path, settings.dedup)
    real_index = search.index_rows
    search.index_rows = clock.wrap("store: of which search index (insert)", real_index)
    try:
        for source in settings.sources:
            upsert = clock.wrap("store: upsert (all)", store.upsert)
            upsert(articles[source.name], now, (source.name, hashes[source.name]))
    finally:
        search.index_rows = real_index
    patched: list[tuple[object, str, object]] = []
    for o in outs.OUTPUTS:
        for method in ("plan", "render", "write"):
            real = getattr(o, method)
            patched.append((o, method, real))
            setattr(o, method, clock.wrap(f"publish: {o.name} {method}", real))
    real_write = base.write_atomic
    base.write_atomic = clock.wrap("publish: of which file writes", real_write, system=True)
    try:
        clock.wrap("publish (all)", outs.publish)(settings, store, None)
    finally:
        base.write_atomic = real_write
        for o, method, real in patched:
            setattr(o, method, real)
    store.close()
    return len(entries), dict(clock.spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    totals: defaultdict[str, list[float]] = defaultdict(list)
    n = 0
    # Every round's files are deleted after the last round, not between rounds: deleting a
    # round's 12,767 files would make the next round's file creations pay for them (see
    # above), which a cold ingest on its own does not.
    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        for i in range(args.rounds):
            n, spent = one_round(Path(tmp) / str(i))
            for label, seconds in spent.items():
                totals[label].append(seconds)
    load = os.getloadavg()[0]
    print(f"workload A, {n} entries, serial in one process; load average {load:.1f}")
    print("CPU per stage (median of rounds), ms per entry:")
    whole = 0.0
    for label in sorted(totals, key=lambda k: (k.split(":")[0].split(" ")[0], k)):
        seconds = sorted(totals[label])[len(totals[label]) // 2]
        if label in ("store: upsert (all)", "publish (all)") or label.startswith("prepare:"):
            whole += seconds
        if seconds >= 0.005:
            print(f"  {label:45} {seconds:7.2f} s  {1000 * seconds / n:6.3f}")
    print(f"  {'total (prepare + store + publish)':45} {whole:7.2f} s  {1000 * whole / n:6.3f}")


if __name__ == "__main__":
    main()
