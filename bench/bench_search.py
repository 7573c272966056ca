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

A `search.py` from before migration 10 asks phrase queries of an index with token
positions, which this tree's index no longer keeps: `--positions` runs it on a copy of the
store whose index is rebuilt with them (same rows), both indexes merged into one segment
first so that they differ in the positions only; the sizes of both files are shown.

    .venv/bin/python bench/bench_search.py --against 56199f0 --positions --size 20000

Every query's hits (article, title, snippet) are compared between the two versions, and
the number of queries where they differ is shown (a page either version cut short by its
time budget is counted apart: it may differ).

`--hostile` adds the worst cases a visitor can ask for (SPEC §12: nobody may stall the
site through /search): `common-tri`, the store's most frequent trigrams; `rare-whole`, terms
of 4 characters whose two trigrams are each frequent but rarely stand together (every
candidate MATCH finds is read and rejected); `many-terms`, 8 short frequent terms at once;
`deep`, page `--depth` of common queries, reached by following each version's own next
links (a user paging on), timed for that last page alone; `deep-start`, a `start` link
forged deep (9 digits for an offset, a cursor over every row for a cursor). Each is
reported with its p50/max and how many pages came back cut short.

    .venv/bin/python bench/bench_search.py --against b4166be --dir /tmp/s100k --hostile
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


def with_positions(path: Path, copy: Path) -> None:
    """`copy`: the database at `path` with its search index rebuilt keeping positions
    (FTS5 detail=full, as migrations 7 to 9 made it); both indexes merged into one segment."""
    optimize = "INSERT INTO {0} ({0}) VALUES ('optimize')"
    src = sqlite3.connect(path)
    dst = sqlite3.connect(copy)
    try:
        src.execute(optimize.format("search_fts"))
        src.commit()
        src.backup(dst)
        for sql in (
            "CREATE VIRTUAL TABLE p USING fts5(title, body, tokenize = 'trigram')",
            "INSERT INTO p (rowid, title, body) SELECT rowid, title, body FROM search_fts",
            optimize.format("p"),
            "DROP TABLE search_vocab",
            "DROP TABLE search_fts",
            "ALTER TABLE p RENAME TO search_fts",
            "CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_fts, 'row')",
        ):
            dst.execute(sql)
        dst.commit()
        dst.execute("VACUUM")
        src.execute("VACUUM")
    finally:
        src.close()
        dst.close()


def rare_whole(db: sqlite3.Connection, count: int) -> list[str]:
    """Terms of 4 characters made of two frequent trigrams that overlap (xyz + yzw), the
    `count` whose MATCH candidates most outnumber the articles holding them whole."""
    top = db.execute(
        "SELECT term, doc FROM search_vocab WHERE term NOT GLOB ? ORDER BY doc DESC LIMIT 300",
        ("*[" + search.PAD[0] + " \n]*",),
    ).fetchall()
    pairs = sorted(
        ((min(da, db_), a + b[2]) for a, da in top for b, db_ in top if a[1:] == b[:2] != a[:2]),
        reverse=True,
    )[: count * 4]
    scored = []
    for _, term in pairs:
        rows = db.execute(
            "SELECT title, body FROM search_fts WHERE search_fts MATCH ?", (search._trigrams(term),)
        ).fetchall()
        whole = sum(1 for t, b in rows if term in t or term in b)
        scored.append((len(rows) - whole, term))
    return [t for _, t in sorted(scored, reverse=True)[:count]]


def hostile(
    db: sqlite3.Connection,
    versions: tuple[tuple[str, ModuleType, sqlite3.Connection], ...],
    depth: int,
) -> None:
    common_tri = [
        t
        for (t,) in db.execute(
            "SELECT term FROM search_vocab WHERE term NOT GLOB ? ORDER BY doc DESC LIMIT 10",
            ("*[" + search.PAD[0] + " \n]*",),
        )
    ]
    kinds = {
        "common-tri": [(q, 1, None) for q in common_tri],
        "rare-whole": [(q, 1, None) for q in rare_whole(db, 10)],
        "many-terms": [
            (" ".join([*SHORT, "亿元"]), 1, None),
            (" ".join(COMMON[:4] + SHORT[:4]), 1, None),
            ("的 是 在 了 和 有 中 年", 1, None),
            (" ".join(common_tri[:8]), 1, None),
        ],
        "deep": [(q, depth, None) for q in COMMON[:3] + SHORT[:3] + common_tri[:2]],
        "deep-start": [(q, 1, "forged") for q in COMMON[:3] + SHORT[:3] + common_tri[:2]],
    }
    print(f"hostile queries (deep: page {depth}):")
    for kind, qs in kinds.items():
        times: dict[str, list[float]] = {name: [] for name, _, _ in versions}
        cut = {name: 0 for name, _, _ in versions}
        differ = 0
        for q, pages, forged in qs:
            seen = []
            for name, module, conn in versions:
                start: object = None if module is search else 0
                if forged:
                    start = "r999999999_1_0" if module is search else 999_999_999
                hits: list[tuple[int, str, str]] = []
                for _ in range(pages):
                    started = time.perf_counter()
                    r = module.search(conn, module.parse_query(q), start)
                    took = (time.perf_counter() - started) * 1000
                    hits += [(h.seq, h.title, h.snippet) for h in r.hits]
                    if r.next_start is None:
                        break
                    start = r.next_start
                times[name].append(took)
                cut[name] += r.partial
                seen.append((hits, r.partial))
            differ += seen[0][0] != seen[1][0] and not (seen[0][1] or seen[1][1])
        shown = "; ".join(
            f"{name} p50 {pct(t, 0.5):.1f} max {max(t):.1f} ms, {cut[name]} cut"
            for name, t in times.items()
        )
        print(f"  {kind:10} ({len(qs)}) {shown}; whole pages differing: {differ}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, help="the commit whose search.py to compare")
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--dir", type=Path, help="keep the store here (reused when full)")
    ap.add_argument(
        "--positions",
        action="store_true",
        help="the other search.py needs an index with token positions (before migration 10)",
    )
    ap.add_argument("--hostile", action="store_true", help="add the adversarial queries")
    ap.add_argument("--depth", type=int, default=30, help="page reached by `deep` (--hostile)")
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
        other_path = settings.storage_path
        if args.positions:
            other_path = Path(tmp) / "positions.db"
            with_positions(settings.storage_path, other_path)
            for name, path in (("this tree", settings.storage_path), ("positions", other_path)):
                print(f"{name}: {path.stat().st_size / n:,.0f} bytes per article")
        db = sqlite3.connect(f"{settings.storage_path.resolve().as_uri()}?mode=ro", uri=True)
        other_db = sqlite3.connect(f"{other_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            kinds = search_queries(db, n, args.queries)
            versions = ((args.against, other, other_db), ("this tree", search, db))
            for q in kinds["rare3+"][:20] + COMMON + SHORT:  # warm the page cache
                for _, module, conn in versions:
                    module.search(conn, module.parse_query(q))
            print(f"search at {n:,} articles ({args.queries} queries of each kind):")
            differ = 0
            for kind, qs in kinds.items():
                times: dict[str, list[float]] = {name: [] for name, _, _ in versions}
                for q in qs:
                    seen = []
                    for name, module, conn in versions:
                        started = time.perf_counter()
                        hits = module.search(conn, module.parse_query(q)).hits
                        times[name].append((time.perf_counter() - started) * 1000)
                        seen.append([(h.seq, h.title, h.snippet) for h in hits])
                    differ += seen[0] != seen[1]
                shown = "; ".join(
                    f"{name} p50 {pct(t, 0.5):.1f} p95 {pct(t, 0.95):.1f} max {max(t):.1f} ms"
                    for name, t in times.items()
                )
                print(f"  {kind:9} {shown}")
            print(f"queries whose hits differ between the versions: {differ}")
            if args.hostile:
                hostile(db, versions, args.depth)
        finally:
            db.close()
            other_db.close()


if __name__ == "__main__":
    main()
