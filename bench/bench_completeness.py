"""What looking for removed posts and article pages costs (outputs/completeness.py).

Usage: ``.venv/bin/python bench/bench_completeness.py [--sizes 1000 10000] [--rounds 9]``.

For each size N: a real store holding N articles (stored through `Store.upsert`, distinct
texts, one body of real size), published once (N posts, N article pages), then, with the
median of `--rounds`:

- a look while nobody touched the folders (what `run` does every 5 s, `once` at start);
- a look after someone touched them without removing one of ours (listing + counts);
- a look after 10 posts were removed (listing, then the written slugs from the store),
  and the publish that writes exactly those 10 again;
- a publish after one new article (the incremental path, which records the folders).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from aggregator import outputs
from aggregator.dedup import signature
from aggregator.identity import identity_keys, provenance_link
from aggregator.models import (
    Article,
    DedupSettings,
    FetchSettings,
    OutputSettings,
    Settings,
)
from aggregator.store import Store

T = TypeVar("T")
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
BODY = "<p>" + "新浪财经讯，" * 300 + "</p>"


def article(i: int, rng: random.Random) -> Article:
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    published = NOW - timedelta(seconds=30 * i)
    link = f"https://finance.sina.com.cn/roll/{published:%Y-%m-%d}/doc-ibench{i:010d}.shtml"
    title = "".join(rng.choices(chars, k=18))
    text = "".join(rng.choices(chars, k=240))
    key, alts = identity_keys(link, link, title, published.isoformat())
    a = Article(
        key=key,
        alt_keys=alts,
        link=link,
        title=title,
        published=published,
        date_is_fallback=False,
        author="新浪财经",
        categories=("金融", "新浪财经"),
        content_html=BODY,
        text=text,
        cover=None,
        source_name="新浪财经",
        canonical_link=provenance_link(link),
    )
    return replace(a, signature=signature(title, text))


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:9.2f} ms"


def bench(root: Path, n: int, rounds: int) -> dict[str, list[float]]:
    settings = Settings(
        config_path=root / "a.toml",
        storage_path=root / "a.db",
        output=OutputSettings(dir=root / "public", base_url="http://127.0.0.1:8080/", title="t"),
        server_host="127.0.0.1",
        server_port=8080,
        sources=(),
        fetch=FetchSettings(user_agent="bench"),
        dedup=DedupSettings(policy="keep"),
    )
    rng = random.Random(n)
    store = Store(settings.storage_path, settings.dedup)
    for start in range(0, n, 2000):
        store.upsert([article(i, rng) for i in range(start, min(n, start + 2000))], NOW)
    outputs.publish(settings, store)
    posts = settings.output.posts
    got: dict[str, list[float]] = {k: [] for k in ("untouched", "touched", "10 removed")}
    got["restore publish"] = []
    got["publish +1 article"] = []
    for r in range(rounds):
        got["untouched"].append(timed(lambda: outputs.find_missing(settings, store))[0])
        os.utime(posts, ns=(time.time_ns(), time.time_ns() + r + 1))
        got["touched"].append(timed(lambda: outputs.find_missing(settings, store))[0])
        removed = sorted(posts.glob("*.md"))[r * 10 : r * 10 + 10]
        for p in removed:
            p.unlink()
        seconds, found = timed(lambda: outputs.find_missing(settings, store))
        got["10 removed"].append(seconds)
        assert found == 10, found
        seconds, written = timed(lambda: outputs.publish(settings, store))
        got["restore publish"].append(seconds)
        assert {p for p in written if p.suffix == ".md"} == set(removed)
        store.upsert([article(n + r, rng)], NOW)
        got["publish +1 article"].append(timed(lambda: outputs.publish(settings, store))[0])
    store.close()
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    logging.getLogger("aggregator").setLevel(logging.ERROR)  # "restoring …" once a round
    results = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results[n] = bench(Path(tmp), n, args.rounds)
    print(f"{'look / publish':22}" + "".join(f"{n:>14,}" for n in args.sizes))
    for key in results[args.sizes[0]]:
        print(f"{key:22}" + "".join(f"{ms(results[n][key]):>14}" for n in args.sizes))


if __name__ == "__main__":
    main()
