"""Prepare's CPU per entry on workload A, and what its pass-by-pass order saves.

    .venv/bin/python bench/bench_prepare.py [--rounds 5]

`prepare` (parse → item hashes → clean/normalize → dedup signature) of the 60 workload-A
documents, serially in this process, as a worker process runs it. Alternating in the same
run with the same stages taken one item at a time (hash, normalize, sign the first item,
then the second…), the order `prepare` used before: the two give the same articles, and the
difference is what interleaving lxml/nh3 with the signature's regex and numpy work costs
(each evicts the other's code and data from the CPU caches). Medians of `--rounds` rounds,
CPU time (`time.process_time`), ms per entry.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, write_config

from aggregator import config
from aggregator.dates import utcnow
from aggregator.dedup import signature
from aggregator.kinds import KINDS
from aggregator.models import Article
from aggregator.normalize import normalize_entry
from aggregator.prepare import item_hash, prepare

BASE_URL = "http://127.0.0.1:1"
CONTENT_TYPE = "application/rss+xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    feeds = build_feeds(BASE_URL)
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        settings = config.load(write_config(Path(tmp), feeds, BASE_URL))
    docs = [(f.body, BASE_URL + f.path, s) for f, s in zip(feeds, settings.sources, strict=True)]
    now = utcnow()
    kind = KINDS["feed"]

    def shipped() -> list[Article]:
        return [a for b, url, s in docs for a in prepare(b, url, CONTENT_TYPE, s, now).articles]

    def one_by_one() -> list[Article]:
        out = []
        for body, url, source in docs:
            for item in kind.read_list(body, url, CONTENT_TYPE, now).items:
                item_hash(item.entry, source)
                a = normalize_entry(item.entry, source, now)
                out.append(replace(a, signature=signature(a.title, a.text)))
        return out

    n = len(shipped())
    assert shipped() == one_by_one(), "the two orders must give the same articles"
    runs: dict[str, Callable[[], list[Article]]] = {
        "prepare, as shipped (pass by pass)": shipped,
        "the same stages one item at a time": one_by_one,
    }
    spent: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.rounds):
        for label, run in runs.items():
            gc.collect()
            start = time.process_time()
            run()
            spent[label].append(1000 * (time.process_time() - start) / n)
    load = os.getloadavg()[0]
    print(f"workload A, {n} entries, serial in one process; load average {load:.1f}")
    print(f"CPU per entry, median (min) of {args.rounds} alternating rounds, ms:")
    for label, values in spent.items():
        print(f"  {label:40} {statistics.median(values):6.3f} ({min(values):.3f})")
    first, second = (statistics.median(v) for v in spent.values())
    print(f"  one item at a time / as shipped: {second / first:.2f}×")


if __name__ == "__main__":
    main()
