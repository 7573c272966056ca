"""Cost of one near-duplicate signature (`dedup.signature`): median µs per call.

Inputs are what the store hands to `signature()`: title and the cleaned plain text
(`clean_html(...).text`) of (1) the real corpus posts in bench/data/corpus and (2) the first
`--items` items of workload A (bench/workload.py). Each text is signed `--rounds` times, every
call timed on its own; the figure is the median over all calls.

    .venv/bin/python bench/bench_signature.py [--items 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload

from aggregator.clean import clean_html
from aggregator.dedup import signature

Sample = tuple[str, str]  # (title, cleaned text)


def corpus_samples() -> list[Sample]:
    return [(p.title, clean_html(p.body_html, None).text) for p in workload.load_corpus()]


def workload_samples(count: int) -> list[Sample]:
    items = [it for source in workload.build_items(workload.load_corpus()) for it in source]
    return [(it.title, clean_html(it.description_html, it.link).text) for it in items[:count]]


def median_us(samples: Sequence[Sample], rounds: int) -> float:
    for title, text in samples[:50]:  # warm the lazily built traditional→simplified table
        signature(title, text)
    times = []
    for _ in range(rounds):
        for title, text in samples:
            start = time.perf_counter()
            signature(title, text)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name, samples in (
        ("corpus posts", corpus_samples()),
        ("workload A items", workload_samples(args.items)),
    ):
        chars = statistics.median(len(text) for _, text in samples)
        print(
            f"signature() over {len(samples)} {name} (median {chars:.0f} chars of text), "
            f"{args.rounds} rounds: median {median_us(samples, args.rounds):.1f} µs"
        )


if __name__ == "__main__":
    main()
