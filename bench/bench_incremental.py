"""One new article at a growing archive: does its cost stay flat?

Usage: ``.venv/bin/python bench/bench_incremental.py [--sizes 1000 100000] [--rounds 5]
[--dir DIR [--reuse]] [--bulk-above N]``. With ``--dir`` the stores are kept there, and
``--reuse`` takes the stores an earlier run left there instead of building them again
(a 1,000,000 store takes most of an hour to build); ``bench_daemon.py`` takes them too.

For each size N: 60 sources × 15 workload-A items (bench/workload.py) served on 127.0.0.1,
one cold `aggregator once` (900 articles), then N − 900 older articles of the same
sources and categories stored through `Store.upsert` (real identity keys, dedup signatures
of distinct texts, bodies of real size: the cleaned bodies of the stored items), then one
`aggregator once` that publishes them all (every post, every archive page). Every source's
articles are in the categories 金融 and 新浪财经, so those two feeds hold the whole archive.

Then, alternating between the sizes for `--rounds` rounds, one source's feed gets one new
item (the oldest drops out: same feed sizes) and we time:

- `aggregator once -c CONFIG` as a whole process (59 sources answer 304, one 200): wall
  time, and CPU (user + system of the process and its children), which the machine's
  load inflates less;
- the same in a child running `once.run_once` with `write_outputs` timed inside (publish).
- `aggregator once` with nothing changed (all 304), and opening the store (start-up).

Prints medians per size, the ratios to the smallest size, and the database's size per
article. Goals (issue 15): publish at 100,000 within 1.2× of 1,000; whole run within 1.1×.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from workload import (
    ANCHOR,
    Item,
    Run,
    _FeedHTTPServer,
    aggregator_cmd,
    build_items,
    feed_path,
    load_corpus,
    median,
    render_rss,
    run_measured,
    write_config,
)

N_SOURCES = 60
PER_SOURCE = 15
FILL_BATCH = 2_000

# Child: argv = config path. `aggregator once` with the publish timed inside.
TIMED_ONCE = """
import asyncio, json, sys, time
from pathlib import Path
from aggregator import config, once
real = once.publish
spent = {}
def timed(*args, **kwargs):
    t = time.perf_counter()
    try:
        return real(*args, **kwargs)
    finally:
        spent["publish"] = time.perf_counter() - t
once.publish = timed
t0 = time.perf_counter()
code = asyncio.run(once.run_once(config.load(Path(sys.argv[1]))))
print(json.dumps({"code": code, "run": time.perf_counter() - t0, **spent}))
"""

# Child: argv = db path, count, seed. Stores `count` older articles (see the module doc).
FILL = """
import random, sys, time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from aggregator.dedup import signature
from aggregator.identity import identity_keys, provenance_link
from aggregator.models import Article
from aggregator.store import Store

path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(path)
db = store._db
sources = [r[0] for r in db.execute("SELECT name FROM sources ORDER BY name")]
bodies = [r[0] for r in db.execute("SELECT content_html FROM articles LIMIT 200")]
rng = random.Random(seed)
chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
start = datetime(2026, 11, 17, tzinfo=UTC)  # ten days before the workload's items
now = datetime(2026, 11, 27, 12, tzinfo=UTC)
batch = []
for i in range(count):
    published = start - timedelta(seconds=30 * i)
    source = sources[i % len(sources)]
    link = f"https://finance.sina.com.cn/roll/{published:%Y-%m-%d}/doc-ifill{i:010d}.shtml"
    title = "".join(rng.choices(chars, k=18))
    text = "".join(rng.choices(chars, k=240))
    key, alts = identity_keys(link, link, title, published.isoformat())
    a = Article(key=key, alt_keys=alts, link=link, title=title, published=published,
                date_is_fallback=False, author="新浪财经", categories=("金融", "新浪财经", source),
                content_html=bodies[i % len(bodies)], text=text, cover=None, source_name=source,
                canonical_link=provenance_link(link))
    batch.append(replace(a, signature=signature(title, text)))
    if len(batch) == 2000 or i == count - 1:
        store.upsert(batch, now)
        batch = []
store.close()
"""

# Child: argv = db path, count, seed. The same older articles as FILL, written straight into
# the tables in batches of 10,000 (FILL's `Store.upsert` takes ~1.5 ms an article: hours for
# 1,000,000). The rows are the ones `Store.upsert` writes (and counts, as it counts them);
# the dedup rows carry random sketches and band keys of the real sizes: the articles are
# ten days older than anything a lookup's window reaches; their search text (random, of
# FILL's length) is indexed as the store indexes it. Their posts count as written
# (post_dirty 0): one publish must not write a million files; their archive pages are.
FILL_BULK = """
import json, random, sys
from collections import Counter
from array import array
from datetime import UTC, datetime, timedelta
from aggregator.identity import article_id, identity_keys, provenance_link
from aggregator.merge import content_hash
from aggregator.models import Article
from aggregator.outputs.posts import post_slug
from aggregator.search import index_rows
from aggregator.store import Store

path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = Store(path)
db = store._db
sources = [r[0] for r in db.execute("SELECT name FROM sources ORDER BY name")]
bodies = [r[0] for r in db.execute("SELECT content_html FROM articles LIMIT 200")]
rng = random.Random(seed)
chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
start = datetime(2026, 11, 17, tzinfo=UTC)
seen = "2026-11-27T12:00:00.000000Z"
(seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM articles").fetchone()
(dseq,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM dedup_article").fetchone()
def blob(code, values):
    return array(code, values).tobytes()
for first in range(0, count, 10_000):
    arts, keys, links, cats, dedup, bands, texts = [], [], [], [], [], [], []
    for i in range(first, min(count, first + 10_000)):
        seq += 1
        dseq += 1
        published = start - timedelta(seconds=30 * i)
        iso = published.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        source = sources[i % len(sources)]
        link = f"https://finance.sina.com.cn/roll/{published:%Y-%m-%d}/doc-ifill{i:010d}.shtml"
        title = "".join(rng.choices(chars, k=18))
        texts.append((seq, title, "".join(rng.choices(chars, k=240))))
        key, alts = identity_keys(link, link, title, published.isoformat())
        categories = ["金融", "新浪财经", source]
        body = bodies[i % len(bodies)]
        a = Article(key=key, alt_keys=alts, link=link, title=title, published=published,
                    date_is_fallback=False, author="新浪财经", categories=tuple(categories),
                    content_html=body, text="", cover=None, source_name=source,
                    canonical_link=provenance_link(link))
        aid = article_id(key)
        arts.append((seq, aid, key, post_slug(key, published.strftime("%Y-%m-%d")), link, title,
                     iso, iso, seen, 0, "新浪财经", json.dumps(categories, ensure_ascii=False),
                     body, None, None, content_hash(a), 0))
        keys += [(k, seq) for k in dict.fromkeys((key, *alts))]
        links.append((seq, link, source, seen))
        cats += [(c, seq, iso, aid) for c in categories]
        epoch = int(published.timestamp())
        band_keys = [rng.getrandbits(63) for _ in range(8)]
        dedup.append((dseq, aid, title, title, epoch, rng.getrandbits(63), 230,
                      blob("I", sorted(rng.getrandbits(32) for _ in range(48))),
                      blob("q", band_keys)))
        bands += [(k, epoch, dseq) for k in band_keys]
    with store._tx():
        db.executemany(
            "INSERT INTO articles (seq, id, key, slug, link, title, published, updated,"
            " first_seen, date_fallback, author, categories, content_html, cover, editor,"
            " content_hash, post_dirty) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", arts)
        db.executemany("INSERT INTO article_keys (key, seq) VALUES (?,?)", keys)
        db.executemany(
            "INSERT INTO article_links (seq, url, source, first_seen) VALUES (?,?,?,?)", links)
        db.executemany(
            "INSERT INTO article_categories (category, seq, published, id) VALUES (?,?,?,?)",
            cats)
        db.executemany(
            "INSERT INTO dedup_article (seq, id, title, tkey, published, fp, shingles, sketch,"
            " bands) VALUES (?,?,?,?,?,?,?,?,?)", dedup)
        db.executemany("INSERT INTO dedup_band (key, published, seq) VALUES (?,?,?)", bands)
        store._counted(len(arts), Counter(c for c, *_ in cats))
        index_rows(db, texts)  # the search index, as Store.upsert writes it
    print(first + 10_000, flush=True)
store._bump_generation()  # outside a transaction: autocommit
# As Store.upsert marks them: the next publish (the build's own) pages these categories'
# site lists, rather than the first timed one.
db.execute("INSERT OR IGNORE INTO dirty_categories (category) SELECT category FROM category_counts")
store.close()
"""

OPEN_STORE = """
import sys, time
t0 = time.perf_counter()
from aggregator.store import Store
s = Store(sys.argv[1]); s.count(); s.close()
print(time.perf_counter() - t0)
"""


@dataclass
class Setup:
    size: int
    workdir: Path
    config: Path
    server: _FeedHTTPServer
    base_url: str
    items: list[list[Item]]
    fresh: list[Item]  # new items to publish, one per round
    stored_db: Path
    ttl_minutes: int | None = 5  # the feeds' <ttl> (RSSHub's); None for a daemon polling fast

    def feeds(self) -> dict[str, bytes]:
        return {
            feed_path(i): render_rss(
                _name(i), self.base_url + feed_path(i), items, ANCHOR, self.ttl_minutes
            )
            for i, items in enumerate(self.items)
        }

    def one_new_item(self, round_no: int) -> Item:
        """Put a new item at the top of one source's feed (its oldest drops out)."""
        source = round_no % N_SOURCES
        new = self.fresh.pop()
        self.items[source] = [new, *self.items[source][:-1]]
        self.server.serve_feeds(self.feeds())
        return new


def _name(i: int) -> str:
    return f"新浪财经－滚动{i:02d}"


def _once(config: Path) -> float:
    return _once_run(config).wall


def _once_run(config: Path) -> Run:
    run = run_measured(aggregator_cmd("once", "-c", str(config)), cwd=config.parent)
    if run.returncode != 0:
        sys.exit(f"aggregator once failed:\n{run.stderr[-3000:]}")
    return run


def _python(script: str, *args: str, cwd: Path) -> str:
    run = run_measured([sys.executable, "-c", script, *args], cwd=cwd)
    if run.returncode != 0:
        sys.exit(f"child failed:\n{run.stderr[-3000:]}")
    return run.stdout


def setup(
    size: int,
    folder: Path,
    rounds: int,
    bulk_above: int,
    ttl_minutes: int | None = 5,
    interval: str = "5m",
    server_port: int = 8080,
    reuse: bool = False,
) -> Setup:
    """Build the store of `size` articles in `folder`; with `reuse`, take the one an earlier
    run built there (`--dir`) as it is: its outputs keep the base URL they were published
    under, and this run's new items come from a seed no earlier run used."""
    import threading

    workdir = folder / f"n{size}"
    built = workdir / "bench-build.json"  # what the build was made with; runs since
    reused = reuse and built.exists()
    record = json.loads(built.read_text()) if reused else {"site_port": server_port, "runs": 0}
    posts = load_corpus()
    items = build_items(posts, N_SOURCES, PER_SOURCE, seed=size)
    # Fresh items come from the same generator, published after everything else.
    extra = build_items(posts, 1, 2 * rounds + 2, seed=size + 1 + 7919 * record["runs"])[0]
    fresh = [replace(it, published=ANCHOR + timedelta(minutes=k)) for k, it in enumerate(extra)]
    server = _FeedHTTPServer(("127.0.0.1", 0), {}, ANCHOR)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = Setup(size, workdir, Path(), server, base_url, items, fresh, workdir / "var/aggregator.db")
    s.ttl_minutes = ttl_minutes

    class _Feed:  # what write_config reads
        def __init__(self, i: int) -> None:
            self.name, self.path = _name(i), feed_path(i)

    server.serve_feeds(s.feeds())
    feeds = [_Feed(i) for i in range(N_SOURCES)]
    s.config = write_config(
        workdir,
        feeds,  # type: ignore[arg-type]
        base_url,
        interval=interval,
        server_port=server_port,
        site_port=record["site_port"],
    )
    record["runs"] += 1
    if reused:
        built.write_text(json.dumps(record))
        print(f"size={size}: reusing {s.stored_db} (run {record['runs']})", flush=True)
        # The feeds' URLs name this run's server: each source is new to the store, so one
        # untimed poll reads every feed again (finding every item stored already).
        _once(s.config)
        return s
    started = time.perf_counter()
    _once(s.config)
    filler = size - N_SOURCES * PER_SOURCE
    if filler > 0:
        script = FILL_BULK if size > bulk_above else FILL
        _python(script, str(s.stored_db), str(filler), str(size), cwd=workdir)
    _once(s.config)  # publishes everything once
    built.write_text(json.dumps(record))
    print(
        f"size={size}: built in {time.perf_counter() - started:.0f} s,"
        f" db {s.stored_db.stat().st_size / 2**20:.1f} MiB",
        flush=True,
    )
    return s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="keep the stores here (default: a temp dir)")
    parser.add_argument(
        "--bulk-above",
        type=int,
        default=200_000,
        help="sizes above this are filled straight into the tables (see FILL_BULK)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="take the stores an earlier run built in --dir"
    )
    args = parser.parse_args()
    tmp = None
    folder = args.dir
    if folder is None:
        tmp = tempfile.mkdtemp(prefix="bench-incremental-")
        folder = Path(tmp)
    try:
        setups = [
            setup(size, folder, args.rounds, args.bulk_above, reuse=args.reuse)
            for size in args.sizes
        ]
        whole: dict[int, list[float]] = {s.size: [] for s in setups}
        cpu: dict[int, list[float]] = {s.size: [] for s in setups}
        publish: dict[int, list[float]] = {s.size: [] for s in setups}
        idle: dict[int, list[float]] = {s.size: [] for s in setups}
        opening: dict[int, list[float]] = {s.size: [] for s in setups}
        for r in range(args.rounds):
            for s in setups:
                s.one_new_item(2 * r)
                run = _once_run(s.config)
                whole[s.size].append(run.wall)
                cpu[s.size].append(run.cpu)
                s.one_new_item(2 * r + 1)
                out = json.loads(_python(TIMED_ONCE, str(s.config), cwd=s.workdir))
                publish[s.size].append(out["publish"])
                idle[s.size].append(_once(s.config))
                opening[s.size].append(float(_python(OPEN_STORE, str(s.stored_db), cwd=s.workdir)))
        base = setups[0].size
        for s in setups:
            db_bytes = sum(
                p.stat().st_size for p in s.stored_db.parent.glob(s.stored_db.name + "*")
            )
            print(
                f"size={s.size}: one new article:"
                f" whole `once` {median(whole[s.size]) * 1000:.0f} ms"
                f" ({median(whole[s.size]) / median(whole[base]):.2f}x),"
                f" its CPU {median(cpu[s.size]) * 1000:.0f} ms"
                f" ({median(cpu[s.size]) / median(cpu[base]):.2f}x),"
                f" publish {median(publish[s.size]) * 1000:.0f} ms"
                f" ({median(publish[s.size]) / median(publish[base]):.2f}x);"
                f" all 304: {median(idle[s.size]) * 1000:.0f} ms;"
                f" opening the store: {median(opening[s.size]) * 1000:.0f} ms;"
                f" db {db_bytes / s.size:.0f} bytes/article"
                f" (runs whole {[round(x * 1000) for x in whole[s.size]]},"
                f" CPU {[round(x * 1000) for x in cpu[s.size]]},"
                f" publish {[round(x * 1000) for x in publish[s.size]]})",
                flush=True,
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
