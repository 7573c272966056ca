"""Workload B, steady state: `aggregator once` when nothing changed upstream (all 304).

After one cold ingest of workload A, compares (medians of N alternating runs):

- `aggregator once -c CONFIG` as a whole process (the CLI contract), and the same
  `once.run_once(settings)` timed inside a child after its imports (the poll work alone);
- bare conditional GETs of the same 60 URLs with the same validators and the product's
  per-host concurrency, with httpx, also as a whole process and timed inside the child;
- interpreter start-up and import costs, so the report says what dominates.

    .venv/bin/python bench/bench_steady.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
from workload import (
    FeedServer,
    aggregator_cmd,
    aggregator_ready,
    median,
    run_measured,
    write_config,
)

# Child: argv = config path. Times the poll work after imports; prints JSON.
PRODUCT_SCRIPT = """
import asyncio, json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from aggregator import config
from aggregator.once import run_once
t1 = time.perf_counter()
code = asyncio.run(run_once(config.load(Path(sys.argv[1]))))
t2 = time.perf_counter()
print(json.dumps({"code": code, "import": t1 - t0, "work": t2 - t1}))
"""

# Child: stdin = {"concurrency": n, "jobs": [{"url": …, "headers": {…}}]}; prints JSON.
BARE_SCRIPT = """
import asyncio, json, sys, time
t0 = time.perf_counter()
import httpx
t1 = time.perf_counter()

async def poll(jobs, concurrency):
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        async def one(job):
            async with gate:
                return (await client.get(job["url"], headers=job["headers"])).status_code
        return await asyncio.gather(*(one(j) for j in jobs))

spec = json.load(sys.stdin)
codes = asyncio.run(poll(spec["jobs"], spec["concurrency"]))
t2 = time.perf_counter()
print(json.dumps({"codes": codes, "import": t1 - t0, "work": t2 - t1}))
"""


@dataclass(frozen=True, slots=True)
class Sample:
    """One child process: wall time outside, import and work time measured inside."""

    wall: float
    imports: float
    work: float


def validators(urls: list[str]) -> list[dict[str, object]]:
    """What a poller remembers after a 200: the ETag and Last-Modified of each feed."""
    jobs: list[dict[str, object]] = []
    with httpx.Client(trust_env=False, timeout=30) as client:
        for url in urls:
            r = client.get(url)
            headers = {"If-None-Match": r.headers["etag"]}
            headers["If-Modified-Since"] = r.headers["last-modified"]
            jobs.append({"url": url, "headers": headers})
    return jobs


def product_concurrency(config: Path) -> int:
    """The product's own bound for one host, read through its config loader."""
    from aggregator import config as product_config

    fetch = product_config.load(config).fetch
    return min(fetch.per_host, fetch.total)


def expect_all_304(server: FeedServer, what: str) -> None:
    stats = server.stats()
    if stats != {304: len(server.feeds)}:
        sys.exit(f"{what}: expected {len(server.feeds)} × 304, server saw {dict(stats)}")


def run_cli(server: FeedServer, config: Path) -> float:
    server.reset_stats()
    run = run_measured(aggregator_cmd("once", "-c", str(config)), cwd=config.parent)
    if run.returncode != 0:
        sys.exit(f"aggregator once exited {run.returncode}:\n{run.stderr[-3000:]}")
    expect_all_304(server, "aggregator once")
    return run.wall


def run_product_child(server: FeedServer, config: Path) -> Sample:
    server.reset_stats()
    run = run_measured([sys.executable, "-c", PRODUCT_SCRIPT, str(config)], cwd=config.parent)
    if run.returncode != 0:
        sys.exit(f"run_once child exited {run.returncode}:\n{run.stderr[-3000:]}")
    out = json.loads(run.stdout.splitlines()[-1])
    expect_all_304(server, "run_once")
    return Sample(run.wall, out["import"], out["work"])


def run_bare_child(server: FeedServer, jobs: list[dict[str, object]], concurrency: int) -> Sample:
    server.reset_stats()
    spec = json.dumps({"concurrency": concurrency, "jobs": jobs})
    run = run_measured([sys.executable, "-c", BARE_SCRIPT], stdin=spec)
    if run.returncode != 0:
        sys.exit(f"bare GET child exited {run.returncode}:\n{run.stderr[-3000:]}")
    out = json.loads(run.stdout.splitlines()[-1])
    expect_all_304(server, "bare GETs")
    return Sample(run.wall, out["import"], out["work"])


def startup(code: str, runs: int) -> float:
    return median([run_measured([sys.executable, "-c", code]).wall for _ in range(runs)])


def report(
    cold: float, cli: list[float], product: list[Sample], bare: list[Sample], concurrency: int
) -> None:
    def med(samples: list[Sample], attr: str) -> float:
        return median([getattr(s, attr) for s in samples])

    n = len(cli)
    print(f"\nworkload B: 60 feeds, all 304; per-host concurrency {concurrency}; medians of {n}")
    print(f"  (cold ingest before it: {cold:.2f} s)")
    print(f"  aggregator once, whole process        {median(cli) * 1000:8.1f} ms")
    print(
        f"  run_once child: wall {med(product, 'wall') * 1000:7.1f} ms = imports "
        f"{med(product, 'imports') * 1000:6.1f} ms + poll work "
        f"{med(product, 'work') * 1000:6.1f} ms"
    )
    print(
        f"  bare httpx child: wall {med(bare, 'wall') * 1000:5.1f} ms = imports "
        f"{med(bare, 'imports') * 1000:6.1f} ms + GETs {med(bare, 'work') * 1000:6.1f} ms"
    )
    whole = median(cli) / med(bare, "wall")
    work = med(product, "work") / med(bare, "work")
    print(f"  ratio whole process (once / bare child):  {whole:5.2f}×  (goal ≤ 1.5×)")
    print(f"  ratio poll work (run_once / bare GETs):    {work:5.2f}×  (goal ≤ 1.5×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not aggregator_ready():
        sys.exit("aggregator/cli.py does not exist yet: nothing to measure")
    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="bench-steady-") as tmp:
        config = write_config(Path(tmp), server.feeds, server.base_url)
        cold = run_measured(aggregator_cmd("once", "-c", str(config)), cwd=Path(tmp))
        if cold.returncode != 0:
            sys.exit(f"cold aggregator once exited {cold.returncode}:\n{cold.stderr[-3000:]}")
        concurrency = product_concurrency(config)
        jobs = validators(server.urls)
        cli: list[float] = []
        product: list[Sample] = []
        bare: list[Sample] = []
        for i in range(args.runs):
            cli.append(run_cli(server, config))
            product.append(run_product_child(server, config))
            bare.append(run_bare_child(server, jobs, concurrency))
            print(
                f"run {i + 1}: once {cli[-1]:.3f} s, bare child {bare[-1].wall:.3f} s", flush=True
            )
        report(cold.wall, cli, product, bare, concurrency)
    print("\nstart-up costs (whole process, medians):")
    for label, code in (
        ("python -c pass", "pass"),
        ("import httpx", "import httpx"),
        ("import aggregator.cli", "import aggregator.cli"),
        ("import aggregator.daemon (what once loads)", "import aggregator.daemon"),
    ):
        print(f"  {label:44} {startup(code, args.runs) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
