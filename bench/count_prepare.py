"""Instructions per entry of prepare or one of its stages: deterministic on a busy machine.

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \\
        --toggle-collect=functools_reduce \\
        .venv/bin/python bench/count_prepare.py [--stage prepare] [--docs 5] [--cache FILE]

Only the measured call is counted: it runs inside `functools.reduce`, the one C function
that `--toggle-collect` switches collection on for, so imports, building workload A and
the warm-up (two other documents: lazy tables, numpy) are left out. Divide callgrind's
"Collected" by the entries the script prints. `--cache FILE` keeps the built documents
(pickled, tied to this tree's `Source`) so a second run skips building them, under valgrind
the slowest part. `callgrind_annotate /tmp/cg.out` then shows where the instructions go.
Stages: prepare (parse → item hashes → clean/normalize → signature, as a worker runs it),
parse, normalize (cleaning included), clean (`clean_html` alone), signature.
"""

from __future__ import annotations

import argparse
import functools
import gc
import pickle
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, write_config

from aggregator import config
from aggregator.clean import clean_html
from aggregator.dedup import signature
from aggregator.kinds import KINDS
from aggregator.models import Source
from aggregator.normalize import entry_link, normalize_entry
from aggregator.prepare import prepare

BASE_URL = "http://127.0.0.1:1"
CONTENT_TYPE = "application/rss+xml"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
Doc = tuple[bytes, str, Source]


def documents(cache: Path | None) -> list[Doc]:
    if cache is not None and cache.exists():
        docs: list[Doc] = pickle.loads(cache.read_bytes())
        return docs
    feeds = build_feeds(BASE_URL)
    with tempfile.TemporaryDirectory(prefix="count-prepare-") as tmp:
        settings = config.load(write_config(Path(tmp), feeds, BASE_URL))
    docs = [(f.body, BASE_URL + f.path, s) for f, s in zip(feeds, settings.sources, strict=True)]
    if cache is not None:
        cache.write_bytes(pickle.dumps(docs))
    return docs


def stage(name: str, docs: list[Doc]) -> tuple[Callable[[], Any], int]:
    """The call to count, and how many entries it handles."""
    kind = KINDS["feed"]
    entries = [
        (item.entry, s)
        for b, u, s in docs
        for item in kind.read_list(b, u, CONTENT_TYPE, NOW).items
    ]
    n = len(entries)
    if name == "prepare":
        return lambda: [prepare(b, u, CONTENT_TYPE, s, NOW) for b, u, s in docs], n
    if name == "parse":
        return lambda: [kind.read_list(b, u, CONTENT_TYPE, NOW) for b, u, _ in docs], n
    if name == "normalize":
        return lambda: [normalize_entry(e, s, NOW) for e, s in entries], n
    if name == "clean":
        jobs = [(e.content_html, entry_link(e, s.url) or None) for e, s in entries]
        return lambda: [clean_html(h, base) for h, base in jobs], n
    if name == "signature":
        articles = [normalize_entry(e, s, NOW) for e, s in entries]
        return lambda: [signature(a.title, a.text) for a in articles], n
    raise SystemExit(f"unknown stage {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--stage",
        default="prepare",
        choices=["prepare", "parse", "normalize", "clean", "signature"],
    )
    parser.add_argument("--docs", type=int, default=5, help="documents measured (100 entries each)")
    parser.add_argument("--cache", type=Path, help="file keeping the built documents")
    args = parser.parse_args()
    docs = documents(args.cache)
    for body, url, source in docs[-2:]:  # warm-up: lazy tables, numpy (after 100 signed)
        prepare(body, url, CONTENT_TYPE, source, NOW)
    call, n = stage(args.stage, docs[: args.docs])
    gc.collect()
    functools.reduce(lambda _, f: f(), [call], None)
    print(f"{args.stage}: {n} entries; instructions per entry = callgrind's Collected / {n}")


if __name__ == "__main__":
    main()
