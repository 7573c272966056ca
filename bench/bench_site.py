"""The site (SPEC §12) at scale: search latency at 100,000 articles, and what publishing
costs after one new article at 1,000 vs 100,000 stored.

Stores are filled through `Store.upsert` (so the search index and everything else is
written as in production) with articles made from the real posts of `bench/data/corpus/`:
each a cleaned corpus body with its numbers redrawn and ~35 % of its Chinese characters
resampled (workload A's mutation), in 12 channels, 20 minutes apart.

1. Search, on a read-only connection like the server's (`search.Searcher`), each query run
   once after a warm-up pass, p50/p95/max per kind:
   - `rare3+`: 3–6 characters cut from a random stored article's text (few matches);
   - `common3+`: frequent phrases (同比增长, 有限公司, …: thousands of matches);
   - `short1-2`: one or two characters (the LIKE fallback, newest first until a page).
2. Publishing after one new article: the store is published once in full, then `--rounds`
   times one new article is stored and `outputs.publish` timed, whole and its site part
   (the article_pages and site_pages outputs: plan, render, write, finish) alone; medians.
   Same machine, same run: compare the ratio.

    .venv/bin/python bench/bench_site.py                  # 1,000 and 100,000
    .venv/bin/python bench/bench_site.py --sizes 1000 20000 --queries 200
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator import outputs
from aggregator.clean import clean_html
from aggregator.identity import identity_keys, provenance_link
from aggregator.models import (
    Article,
    DedupSettings,
    FetchSettings,
    OutputSettings,
    Settings,
    Source,
)
from aggregator.search import Searcher
from aggregator.store import Store
from bench.workload import _mutate_plain, character_pool, load_corpus

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CHANNELS = [f"新浪财经－频道{i:02d}" for i in range(12)]
COMMON = ["同比增长", "有限公司", "人民币", "记者从", "经济发展", "上市公司", "亿元"]
SHORT = ["港", "银行", "经济", "股", "基金", "楼市", "芯片"]


class Maker:
    """Deterministic, distinct articles from the corpus."""

    def __init__(self, seed: int = 7) -> None:
        posts = load_corpus()
        self.rng = random.Random(seed)
        self.pool = character_pool(posts)
        self.bodies = []
        for p in posts:
            cleaned = clean_html(p.body_html, "https://finance.sina.com.cn/")
            if cleaned.text:
                self.bodies.append((p.title, cleaned.text))

    def article(self, i: int) -> Article:
        title, text = self.bodies[i % len(self.bodies)]
        text = _mutate_plain(text, self.rng, self.pool)
        title = f"{_mutate_plain(title, self.rng, self.pool)}（{i}）"
        html = "".join(f"<p>{line}</p>" for line in text.split("\n"))
        link = f"https://finance.sina.com.cn/roll/2024-01-01/doc-ibench{i:010d}.shtml"
        published = T0 + timedelta(minutes=20 * i)
        key, alts = identity_keys(link, None, title, published.isoformat())
        channel = CHANNELS[i % len(CHANNELS)]
        return Article(
            key=key,
            alt_keys=alts,
            link=link,
            title=title,
            published=published,
            date_is_fallback=False,
            author="新浪财经",
            categories=("财经", channel),
            content_html=html,
            text=text,
            cover=None,
            source_name=channel,
            canonical_link=provenance_link(link),
        )


def settings_for(folder: Path) -> Settings:
    out = OutputSettings(dir=folder / "public", base_url="http://127.0.0.1:8080/", title="聚合")
    return Settings(
        config_path=folder / "c.toml",
        storage_path=folder / "a.db",
        output=out,
        server_host="127.0.0.1",
        server_port=8080,
        sources=tuple(Source(c, "https://example.com/", (), "新浪财经", 300) for c in CHANNELS),
        fetch=FetchSettings(user_agent="bench"),
        dedup=DedupSettings(policy="keep"),
    )


def fill(store: Store, maker: Maker, n: int) -> float:
    started = time.perf_counter()
    batch = []
    for i in range(n):
        batch.append(maker.article(i))
        if len(batch) == 1000:
            store.upsert(batch, T0)
            batch.clear()
            print(f"\r  stored {i + 1:,}", end="", file=sys.stderr, flush=True)
    if batch:
        store.upsert(batch, T0)
    print(file=sys.stderr)
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def search_queries(db: sqlite3.Connection, n: int, count: int) -> dict[str, list[str]]:
    """Three kinds of query, `count` each: pieces of random articles (3-6 characters),
    frequent phrases, short terms. Seeded: every run asks the same."""
    rng = random.Random(11)
    rare = []
    for _ in range(count):
        (text,) = db.execute(
            "SELECT body FROM search_fts WHERE rowid = ?", (rng.randint(1, n),)
        ).fetchone()
        length = rng.randint(3, 6)
        start = rng.randrange(max(1, len(text) - length))
        piece = "".join(text[start : start + length].split())
        rare.append(piece if len(piece) >= 3 else text[:3])
    return {
        "rare3+": rare,
        "common3+": [COMMON[i % len(COMMON)] for i in range(count)],
        "short1-2": [SHORT[i % len(SHORT)] for i in range(count)],
    }


def bench_search(db_path: Path, store: Store, queries: int) -> None:
    n = store.count()
    kinds = search_queries(store.db, n, queries)
    rare = kinds["rare3+"]
    searcher = Searcher(db_path)
    try:
        for q in rare[:20] + COMMON + SHORT:  # warm the page cache
            searcher.search(q)
        for kind, qs in kinds.items():
            times, found = [], 0
            for q in qs:
                started = time.perf_counter()
                result = searcher.search(q)
                times.append((time.perf_counter() - started) * 1000)
                found += bool(result.hits)
            print(
                f"  search {kind:9} at {n:,}: p50 {pct(times, 0.5):.1f} ms,"
                f" p95 {pct(times, 0.95):.1f} ms, max {max(times):.1f} ms"
                f" ({len(qs)} queries, {found} with hits)"
            )
    finally:
        searcher.close()


def timed(fn: Callable[..., Any], into: list[float]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    return wrapper


SITE_OUTPUTS = ("article_pages", "site_pages")


def bench_publish(settings: Settings, store: Store, maker: Maker, n: int, rounds: int) -> None:
    started = time.perf_counter()
    outputs.publish(settings, store)
    first = time.perf_counter() - started
    print(f"  first publish of {n:,} (every page, post and feed): {first:.1f} s")
    whole, site_part, written = [], [], []
    spent: list[float] = []
    for o in outputs.OUTPUTS:  # time the site's outputs on their own
        if o.name in SITE_OUTPUTS:
            for method in ("plan", "render", "write", "finish"):
                setattr(o, method, timed(getattr(o, method), spent))
    try:
        for r in range(rounds):
            new = replace(maker.article(n + r), published=T0 + timedelta(days=9999))
            store.upsert([new], T0)
            spent.clear()
            started = time.perf_counter()
            changed = outputs.publish(settings, store)
            whole.append(time.perf_counter() - started)
            site_part.append(sum(spent))
            written.append(len([p for p in changed if p.suffix == ".html"]))
    finally:
        for o in outputs.OUTPUTS:
            for method in ("plan", "render", "write", "finish"):
                o.__dict__.pop(method, None)
    print(
        f"  one new article at {n:,}: publish {statistics.median(whole) * 1000:.1f} ms whole,"
        f" site part {statistics.median(site_part) * 1000:.1f} ms,"
        f" {statistics.median(written):.0f} HTML files written (medians of {rounds})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
            folder = Path(tmp)
            settings = settings_for(folder)
            store = Store(settings.storage_path, settings.dedup)
            try:
                maker = Maker()
                print(f"{n:,} articles:")
                print(f"  stored in {fill(store, maker, n):.1f} s")
                bench_search(settings.storage_path, store, args.queries)
                bench_publish(settings, store, maker, n, args.rounds)
            finally:
                store.close()


if __name__ == "__main__":
    main()
