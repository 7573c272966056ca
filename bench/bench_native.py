"""Native Sina sources: requests per poll, and how soon a new item is published.

A real HTTP server on 127.0.0.1 speaks Sina's shapes (tests/sina_site.py: roll lists of 50
items a page, article pages built on the real page template, 7×24 flashes). Three roll
lists (国内滚动, 宏观经济, 金融新闻) that overlap like the real ones (40 of each list's 100
items are also in the next list) plus the 7×24 feed, polled by `aggregator once` /
`aggregator run` as whole processes with the default per-source settings:

- cold: empty store; each list backfills 2 pages (≈100 items each);
- steady: nothing new — the goal is one list request per list and zero pages;
- one new item: requests of the poll that finds one new item at the top of one list;
- latency: the daemon polling every `--interval` seconds; a new item is put at the top of a
  list and the time until its article is in feed.atom is measured (median of `--items`).

    .venv/bin/python bench/bench_native.py [--interval 5] [--items 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.faultserver import FaultServer, Static  # noqa: E402
from tests.sina_site import JSON, ZHIBO_SAMPLE, SinaSite, roll_item  # noqa: E402

LISTS = {1686: "新浪财经－国內", 1687: "新浪财经－宏观经济", 1690: "新浪财经－金融新闻"}
PER_LIST = 100
OVERLAP = 40
ZHIBO_PATH = "/api/zhibo/feed?zhibo_id=152"


def serve(site: SinaSite, server: FaultServer, fresh: list[dict[str, Any]]) -> int:
    """Serve the three lists (`fresh` items on top of the first) and the 7×24 page."""
    step = PER_LIST - OVERLAP
    total = 0
    for i, lid in enumerate(LISTS):
        items = [roll_item(n, site.base) for n in range(i * step + 1, i * step + PER_LIST + 1)]
        if i == 0:
            items = fresh + items
        site.set_list(lid, items)
        for item in items:
            site.set_page(item)
        total += len(items)
    body = json.dumps(ZHIBO_SAMPLE, ensure_ascii=False).encode()
    server.add(f"{ZHIBO_PATH}&page_size=20&page=1", Static(body, headers=JSON))
    return total


def write_config(folder: Path, site: SinaSite, server: FaultServer, port: int, every: str) -> Path:
    lines = [
        'log_level = "WARNING"',
        "[storage]",
        f'path = "{folder / "agg.db"}"',
        "[output]",
        f'dir = "{folder / "public"}"',
        f'base_url = "http://127.0.0.1:{port}/"',
        'title = "bench"',
        "[server]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[defaults]",
        f'interval = "{every}"',
        'categories = ["金融", "新浪财经"]',
        'author = "新浪财经"',
    ]
    for lid, name in LISTS.items():
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            'kind = "sina-roll"',
            f'url = "{site.list_url(lid)}"',
        ]
    lines += [
        "[[sources]]",
        'name = "新浪财经－7×24"',
        'kind = "sina-zhibo"',
        f'url = "{server.url(ZHIBO_PATH)}"',
    ]
    path = folder / "agg.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(server: FaultServer, since: int) -> dict[str, int]:
    kinds: Counter[str] = Counter()
    for seen in server.requests[since:]:
        if seen.path.startswith("/api/roll/"):
            kinds["list"] += 1
        elif seen.path.startswith("/api/zhibo/"):
            kinds["7x24"] += 1
        elif "/doc-i" in seen.path:
            kinds["page"] += 1
        else:
            kinds["other"] += 1
    return dict(kinds)


def once(cfg: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "aggregator", "once", "-c", str(cfg)], check=True, cwd=REPO
    )
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def articles(public: Path) -> int:
    return (public / "feed.atom").read_text(encoding="utf-8").count("<entry>")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--interval", type=float, default=5.0, help="daemon poll interval, s")
    ap.add_argument("--items", type=int, default=5, help="new items timed through the daemon")
    args = ap.parse_args()
    with FaultServer() as server, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        site = SinaSite(server)
        listed = serve(site, server, [])
        port = free_port()
        cfg = write_config(folder, site, server, port, f"{args.interval:g}s")

        mark = len(server.requests)
        cold_s = once(cfg)
        cold = counts(server, mark)
        db = sqlite3.connect(folder / "agg.db")
        (stored,) = db.execute("SELECT COUNT(*) FROM articles").fetchone()
        db.close()
        mark = len(server.requests)
        steady_s = once(cfg)
        steady = counts(server, mark)
        serve(site, server, [roll_item(-1, site.base)])
        mark = len(server.requests)
        one_s = once(cfg)
        one = counts(server, mark)
        print(
            f"lists served: {len(LISTS)} × {PER_LIST} items ({listed} listed, overlap"
            f" {OVERLAP}), 7×24: 3 flashes"
        )
        print(f"cold   : {cold} in {cold_s:.2f} s (whole process); {stored} articles stored")
        print(f"steady : {steady} in {steady_s:.2f} s")
        print(f"1 new  : {one} in {one_s:.2f} s")

        # Latency through the daemon: new item listed → its article in feed.atom.
        daemon = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "-c", str(cfg)],
            cwd=REPO,
            stderr=subprocess.DEVNULL,
        )
        latencies = []
        try:
            time.sleep(args.interval * 1.5)  # the first polls of the daemon
            fresh: list[dict[str, Any]] = []
            for k in range(args.items):
                item = roll_item(-100 - k, site.base)
                fresh.insert(0, item)
                serve(site, server, fresh)
                started = time.perf_counter()
                feed = folder / "public" / "feed.atom"
                while item["title"] not in feed.read_text(encoding="utf-8"):
                    if time.perf_counter() - started > args.interval * 4 + 30:
                        raise SystemExit(f"item {k} never reached feed.atom")
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - started)
                time.sleep(args.interval * 0.37)  # land at varied points of the cycle
        finally:
            daemon.terminate()
            daemon.wait(30)
        print(
            f"new item → feed.atom through the daemon (interval {args.interval:g} s, "
            f"{len(latencies)} items): median {statistics.median(latencies):.2f} s, "
            f"min {min(latencies):.2f} s, max {max(latencies):.2f} s"
        )


if __name__ == "__main__":
    main()
