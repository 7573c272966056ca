"""A cold publish on its own: workload A's store published into empty folders, in-process.

    .venv/bin/python bench/bench_publish.py build DIR      # prepare and store workload A once
    .venv/bin/python bench/bench_publish.py publish DIR    # publish a copy of it; CPU, reads
    .venv/bin/python bench/bench_publish.py open DIR       # the same without the publish

`build` stores workload A's 6,000 articles in DIR (prepared and stored serially, as
`bench_stages.py` does). `publish` copies that store into a fresh folder and runs
`outputs.publish` with no worker processes, as `bench_stages.py`'s publish stage does:
it prints the CPU time (user and system apart: the system time is the kernel creating
12,767 files, which depends on what the file system went through just before) and how
many articles were read from SQLite. `open` does everything `publish` does but publish.

CPU time on this shared machine swings by ±30 %; instruction counts do not. Count both
commands under callgrind and divide the difference by the 6,000 entries:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/bench_publish.py publish DIR
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        .venv/bin/python bench/bench_publish.py open DIR

(about 7 minutes under load). To compare commits, run a `git archive` of each one's
`aggregator` and `bench` folders on the same DIR.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import build_feeds, write_config

from aggregator import config
from aggregator import outputs as outs
from aggregator.dates import utcnow
from aggregator.dedup import signature
from aggregator.kinds import KINDS
from aggregator.models import Article
from aggregator.normalize import normalize_entry
from aggregator.prepare import item_hash
from aggregator.store import Store

BASE_URL = "http://127.0.0.1:1"


def build(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    feeds = build_feeds(BASE_URL)
    settings = config.load(write_config(folder, feeds, BASE_URL))
    now = utcnow()
    kind = KINDS["feed"]
    articles: defaultdict[str, list[Article]] = defaultdict(list)
    hashes: defaultdict[str, list[bytes]] = defaultdict(list)
    for feed, source in zip(feeds, settings.sources, strict=True):
        listing = kind.read_list(feed.body, BASE_URL + feed.path, "application/rss+xml", now)
        for item in listing.items:
            hashes[source.name].append(item_hash(item.entry, source))
            a = normalize_entry(item.entry, source, now)
            articles[source.name].append(replace(a, signature=signature(a.title, a.text)))
    store = Store(settings.storage_path, settings.dedup)
    for source in settings.sources:
        store.upsert(articles[source.name], now, (source.name, hashes[source.name]))
    store.close()
    print(f"stored {sum(map(len, articles.values()))} articles in {folder}")


def _copy(folder: Path) -> Path:
    """A fresh copy of the built store, its outputs not written yet."""
    copy = folder.with_name(folder.name + "-publish")
    if copy.exists():
        shutil.rmtree(copy)
    (copy / "var").mkdir(parents=True)
    shutil.copy(folder / "config.toml", copy / "config.toml")
    for f in (folder / "var").iterdir():
        shutil.copy(f, copy / "var" / f.name)
    return copy


def _cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def publish(folder: Path, *, really: bool) -> None:
    copy = _copy(folder)
    settings = config.load(copy / "config.toml")
    store = Store(settings.storage_path, settings.dedup)
    n = store.count()
    if not really:
        store.close()
        return
    read = [0]
    name = "_read" if hasattr(Store, "_read") else "_load"  # before 5838a56: _load
    real_read = getattr(Store, name)

    def counted(self: Store, seqs: list[int]) -> object:
        read[0] += len(seqs)
        return real_read(self, seqs)

    setattr(Store, name, counted)
    user, system = _cpu()
    outs.publish(settings, store, None)
    user2, system2 = _cpu()
    store.close()
    print(
        f"published {n} articles: user {1000 * (user2 - user) / n:.3f} ms per entry, "
        f"system {1000 * (system2 - system) / n:.3f}; {read[0]} articles read from SQLite"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("what", choices=("build", "publish", "open"))
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    if args.what == "build":
        build(args.dir)
    else:
        publish(args.dir, really=args.what == "publish")


if __name__ == "__main__":
    main()
