"""Parse-stage throughput on workload A: lxml fast path vs the feedparser path.

The 60 workload-A feeds (100 Sina-like items each, RSSHub-shaped RSS 2.0) are rendered in
memory with bench/workload.py's `build_feeds`; no server is needed. Each round parses every feed
once with `parse_feed` (fast path, falling back to feedparser) and once with the feedparser path
forced; the median round is reported.

    .venv/bin/python bench/bench_parse.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds

from aggregator.models import ParsedFeed
from aggregator.parse import _parse_feedparser, _prepare, parse_feed

URL = "http://127.0.0.1:8080/sina/finance/rollnews/3000"


def forced_feedparser(body: bytes, *, url: str) -> ParsedFeed:
    """parse_feed with the fast path switched off: same decoding and guards, then feedparser."""
    text, data = _prepare(body, None)
    return _parse_feedparser(data, text, url)


def default_path(body: bytes, *, url: str) -> ParsedFeed:
    return parse_feed(body, url=url)


def one_round(bodies: Sequence[bytes], parse: Callable[..., ParsedFeed]) -> tuple[float, int]:
    start = time.perf_counter()
    entries = sum(len(parse(body, url=URL).entries) for body in bodies)
    return time.perf_counter() - start, entries


def measure(bodies: Sequence[bytes], parse: Callable[..., ParsedFeed], rounds: int) -> float:
    """Median entries per second over `rounds` passes over all feeds."""
    rates = []
    for _ in range(rounds):
        seconds, entries = one_round(bodies, parse)
        rates.append(entries / seconds)
    return statistics.median(rates)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    rounds = args.parse_args().rounds
    bodies = [feed.body for feed in build_feeds("http://127.0.0.1:8080")]
    items = sum(len(parse_feed(b, url=URL).entries) for b in bodies)
    same = all(parse_feed(b, url=URL) == forced_feedparser(b, url=URL) for b in bodies)
    print(f"{len(bodies)} feeds, {items} entries, {sum(map(len, bodies)) / 1e6:.1f} MB")
    print(f"fast path result identical to feedparser path: {same}")
    fast = measure(bodies, default_path, rounds)
    slow = measure(bodies, forced_feedparser, rounds)
    print(f"parse_feed (lxml fast path): {fast:9.0f} entries/s")
    print(f"feedparser path (forced):    {slow:9.0f} entries/s")
    print(f"speedup: {fast / slow:.1f}x")


if __name__ == "__main__":
    main()
