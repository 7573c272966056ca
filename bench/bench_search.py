"""Search latency of this work tree against another commit's `search.py`, on one store.

The store is filled as `bench_site.py` fills it (`Store.upsert`, corpus-made articles);
the queries are bench_site's three kinds (`rare3+`, `common3+`, `short1-2`). Each query
runs with both versions one after the other on the same read-only connection, so the load
of the machine weighs on both alike; p50/p95/max per kind and version.

    .venv/bin/python bench/bench_search.py --against 70cc4fd --size 20000
    .venv/bin/python bench/bench_search.py --against 70cc4fd --size 100000 --dir /tmp/s100k

`--dir` keeps the store (filling 100,000 takes many minutes) and reuses it as it is when
it holds articles already. The other commit's `aggregator/search.py` is loaded on its own:
it must import nothing of the package (true since search.py was written).
"""

from __future__ import annotations

import argparse
import importlib.util
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator import search
from aggregator.store import Store
from bench.bench_site import COMMON, SHORT, Maker, fill, pct, search_queries, settings_for

REPO = Path(__file__).resolve().parents[1]


def load_search(commit: str, into: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:aggregator/search.py"],
        check=True,
        capture_output=True,
    ).stdout
    path = into / f"search_{commit}.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location(f"search_{commit}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="the commit whose search.py to compare")
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--dir", type=Path, help="keep the store here (reused when full)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        folder = args.dir or Path(tmp)
        settings = settings_for(folder)
        store = Store(settings.storage_path, settings.dedup)
        try:
            if store.count() == 0:
                took = fill(store, Maker(), args.size)
                print(f"stored {args.size:,} articles in {took:.1f} s")
            n = store.count()
        finally:
            store.close()
        other = load_search(args.against, Path(tmp))
        uri = f"{settings.storage_path.resolve().as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True)
        try:
            kinds = search_queries(db, n, args.queries)
            versions = ((args.against, other), ("this tree", search))
            for q in kinds["rare3+"][:20] + COMMON + SHORT:  # warm the page cache
                for _, module in versions:
                    module.search(db, module.parse_query(q))
            print(f"search at {n:,} articles ({args.queries} queries of each kind):")
            for kind, qs in kinds.items():
                times: dict[str, list[float]] = {name: [] for name, _ in versions}
                for q in qs:
                    for name, module in versions:
                        started = time.perf_counter()
                        module.search(db, module.parse_query(q))
                        times[name].append((time.perf_counter() - started) * 1000)
                shown = "; ".join(
                    f"{name} p50 {pct(t, 0.5):.1f} p95 {pct(t, 0.95):.1f} max {max(t):.1f} ms"
                    for name, t in times.items()
                )
                print(f"  {kind:9} {shown}")
        finally:
            db.close()


if __name__ == "__main__":
    main()
