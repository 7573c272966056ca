"""Cost of cleaning + normalizing one typical Sina article (the seed post): median per item.

Target: median of clean_html + normalize_entry <= 1 ms. normalize_entry calls clean_html
itself, so the per-item figure is normalize_entry alone; clean_html is also reported apart.

Also: clean_html alone, median per item over the first `--items` items of workload A
(bench/workload.py: realistic Sina bodies, junk included), each item timed on its own.

    .venv/bin/python bench/bench_clean.py [--runs 2000] [--items 1000]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload

from aggregator.clean import clean_html
from aggregator.normalize import normalize_entry
from tests.corpus_posts import CORPUS, all_posts, load

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    for _ in range(min(50, runs)):  # warm caches and lazy imports
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()
    post = load(next(CORPUS.glob("seed-*.md")))
    entry, source = post.entry(), post.source()
    clean = median_ms(lambda: clean_html(entry.content_html, entry.link), args.runs)
    full = median_ms(lambda: normalize_entry(entry, source, NOW), args.runs)
    print(f"seed post: {len(entry.content_html)} chars of HTML, {args.runs} runs")
    print(f"clean_html median: {clean:.3f} ms")
    print(
        f"normalize_entry (clean + title + date + identity) median: {full:.3f} ms  [target <= 1 ms]"
    )
    # For context: every corpus post, the longest (many images) included.
    posts = all_posts()
    per_post = [
        median_ms(functools.partial(normalize_entry, p.entry(), p.source(), NOW), 200)
        for p in posts
    ]
    print(
        f"normalize_entry over the {len(posts)} corpus posts: "
        f"median {statistics.median(per_post):.3f} ms, max {max(per_post):.3f} ms"
    )
    items = [it for source in workload.build_items(workload.load_corpus()) for it in source]
    print(
        f"clean_html over {args.items} workload A items, 3 rounds: "
        f"median {workload_median_ms(items[: args.items], 3):.3f} ms"
    )


def workload_median_ms(items: list[workload.Item], rounds: int) -> float:
    for item in items[:50]:
        clean_html(item.description_html, item.link)
    times = []
    for _ in range(rounds):
        for item in items:
            start = time.perf_counter()
            clean_html(item.description_html, item.link)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
