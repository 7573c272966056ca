"""A feed reader's latency while a crowd searches: this tree's server against another
commit's, each in its own process, on one store.

SPEC §12: nobody may stall the site through /search. Each server (this tree's and
`--against`'s `aggregator` package, extracted with `git archive`) serves a small published
site (50 articles, as bench_serve.py publishes them) and searches the big store of `--dir`
(filled as bench_search.py fills it). For `--seconds`, `--clients` clients send hostile
searches back to back (bench_search's `rare-whole` and `many-terms` kinds, deep `start`
links forged both ways: a 9-digit offset and a cursor over every row), while one reader asks
for /feed.atom every 20 ms; first the reader alone. Servers alternate for `--rounds`.
Reported per server: the reader's p50/p95/max latency, searches answered per second, how
many were refused (503) or failed, their p50/max latency.

    .venv/bin/python bench/bench_search_crowd.py --against b4166be --dir /tmp/s100k
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_processes import checkout  # noqa: E402
from bench.bench_search import rare_whole  # noqa: E402
from bench.bench_serve import _publish, free_port, wait_ready  # noqa: E402
from bench.bench_site import COMMON, SHORT, pct  # noqa: E402

# The child process: the `aggregator` package of one tree (argv[1]) serving argv[2],
# searching argv[3], on port argv[4]; nothing of this tree imported before it.
SERVE = """
import sys
from pathlib import Path
code, out, db, port = sys.argv[1:5]
sys.path[:0] = [code]
import uvicorn
import aggregator
from aggregator.live import LiveSite
from aggregator.metrics import Metrics
from aggregator.models import OutputSettings
from aggregator.server import create_app
assert aggregator.__file__.startswith(code), aggregator.__file__  # that tree, no other
settings = OutputSettings(dir=Path(out), base_url="http://127.0.0.1/", title="bench")
live = LiveSite(settings, Path(db), lambda: [])
app = create_app(Path(out), health=lambda: (True, {}), metrics=Metrics(), site=live)
uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)
"""


def hostile(db_path: Path) -> list[dict[str, str]]:
    db = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rare = rare_whole(db, 6)
    finally:
        db.close()
    asks = [{"q": q} for q in rare]
    asks += [{"q": " ".join([*SHORT, "亿元"])}, {"q": " ".join(COMMON[:4] + SHORT[:4])}]
    for q in [*COMMON[:3], *SHORT[:3], *rare[:2]]:
        asks += [{"q": q, "start": "999999999"}, {"q": q, "start": "r999999999_1_0"}]
    return asks


# The reader, in a process of its own (in the crowd's, it would wait for the crowd's own
# event loop): GET /feed.atom every 20 ms for argv[2] seconds, latencies in ms on stdout.
READER = """
import json, sys, time
import httpx
stop = time.monotonic() + float(sys.argv[2])
took = []
with httpx.Client(base_url=sys.argv[1], trust_env=False, timeout=60) as c:
    while time.monotonic() < stop:
        started = time.perf_counter()
        assert c.get("/feed.atom").status_code == 200
        took.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
print(json.dumps(took))
"""


def read_feed(base: str, seconds: float) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", READER, base, str(seconds)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def feed_times(reader: subprocess.Popen[str]) -> list[float]:
    out, _ = reader.communicate(timeout=300)
    times: list[float] = json.loads(out)
    return times


async def crowd(
    base: str, asks: list[dict[str, str]], seconds: float, clients: int
) -> tuple[list[float], dict[str, int]]:
    """`clients` searching back to back for `seconds`: their latencies and status codes."""
    took: list[float] = []
    status: dict[str, int] = {}
    stop = time.monotonic() + seconds
    todo = itertools.cycle(asks)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=60, limits=limits) as c:

        async def searcher() -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    code = str((await c.get("/search", params=next(todo))).status_code)
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                took.append((time.perf_counter() - started) * 1000)
                status[code] = status.get(code, 0) + 1

        await asyncio.gather(*(searcher() for _ in range(clients)))
    return took, status


def measure(name: str, code: Path, out: Path, db: Path, args: argparse.Namespace) -> str:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(code), str(out), str(db), str(port)], cwd="/"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/feed.atom")
        quiet = feed_times(read_feed(base, 3))
        reader = read_feed(base, args.seconds)
        took, status = asyncio.run(crowd(base, args.asks, args.seconds, args.clients))
        feed = feed_times(reader)
    finally:
        child.terminate()
        child.wait(30)
    return (
        f"  {name:10} reader alone p50 {pct(quiet, 0.5):.1f} ms; in the crowd p50"
        f" {pct(feed, 0.5):.1f} p95 {pct(feed, 0.95):.1f} max {max(feed):.0f} ms"
        f" ({len(feed)} asks); searches {status.get('200', 0) / args.seconds:.1f}/s answered,"
        f" {sorted(status.items())}, p50 {pct(took, 0.5):.0f} max {max(took):.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="the other commit")
    ap.add_argument("--dir", type=Path, required=True, help="holds a.db, the store searched")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    db = args.dir / "a.db"
    args.asks = hostile(db)
    with tempfile.TemporaryDirectory(prefix="bench-crowd-") as tmp:
        site = Path(tmp) / "site"
        _publish(site, 50)
        trees = {
            args.against: checkout(args.against, Path(tmp) / "other"),
            "this tree": ROOT,
        }
        print(f"{args.clients} clients searching for {args.seconds:.0f} s, one reader every 20 ms:")
        for _ in range(args.rounds):
            for name, code in trees.items():
                print(measure(name, code, site / "public", db, args), flush=True)


if __name__ == "__main__":
    main()
