"""Workload A: 60 Sina-like RSS sources × 100 items, served over real local HTTP.

Items are derived from the real posts in `bench/data/corpus/` (the old pipeline's output, junk
included). Each item gets its own copy of a post's body with paragraphs and sentences permuted,
numbers re-drawn, image hashes re-drawn and ~35 % of its Chinese characters replaced by characters
drawn from the corpus' own frequency distribution. The replacement matters: without it the 6,000
items would be near-duplicates of 18 posts and the product's near-duplicate detection would fold
them together, so the bench would measure merging instead of ingest. The junk blocks (CMS comments,
QR block, editor credit) are left verbatim so cleaning costs what it costs on real items.

The feeds are served by a threaded `http.server` on 127.0.0.1 with strong ETags and Last-Modified,
answering If-None-Match / If-Modified-Since with 304, so a second poll is all conditional.

Run standalone to poke at it by hand:

    .venv/bin/python bench/workload.py serve --dir /tmp/wl     # serves, writes /tmp/wl/config.toml
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
N_SOURCES = 60
ITEMS_PER_SOURCE = 100
SEED = 20211217
# Fixed, so the served bytes (and their ETags) are identical run to run.
ANCHOR = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
SUBSTITUTION_RATE = 0.35

# Where the article proper ends and the CMS boilerplate starts (left verbatim).
_BOILERPLATE_MARKERS = (
    "<!-- news_keyword_pub",
    "<!--article_adlist",
    "<!-- 正文下iframe",
    "<!-- 总声明",
    "<!-- 文末二维码",
    "<!-- 编辑姓名",
)
_MARKUP = re.compile(r"(<!--.*?-->|<style\b.*?</style>|<script\b.*?</script>|<[^>]*>)", re.S)
_PARAGRAPH_LINE = re.compile(r"^<p\b[^>]*>.*</p>\s*$")
_PLAIN_PARAGRAPH = re.compile(r"^(<p\b[^>]*>)(　*)([^<>]*)(</p>\s*)$")
_SENTENCE = re.compile(r"[^。！？]+[。！？]?")
_DIGITS = re.compile(r"\d+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Words the cleaner may key on (原标题/来源 lines are kept, editor credits dropped): never mutated.
_PROTECTED = re.compile(r"(原标题|来源|责任编辑|校对|新浪财经)")
_SINA_IMAGE = re.compile(r"(n\.sinaimg\.cn/[^\"]*/)([0-9a-f]{4})-([0-9a-z]{12,32})\.")
_QR_IMAGE = "finance/cece9e13/20200514/343233024.png"
_LINK_PATHS = (
    "china/gncj",
    "china/hgjj",
    "china/jrxw",
    "china/dfjj",
    "money/bank",
    "stock/usstock",
    "stock/hkstock",
    "stock/relnews/cn",
    "roll",
    "world",
)
_DOCID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class Post:
    """One corpus post: front matter facts plus its body HTML (braces unescaped)."""

    title: str
    published: datetime
    author: str
    body_html: str


@dataclass(frozen=True, slots=True)
class Item:
    """One RSS item as RSSHub's Sina route would emit it."""

    title: str
    link: str
    published: datetime
    author: str
    description_html: str


@dataclass(frozen=True, slots=True)
class Feed:
    """One served source: its URL path, channel name and rendered RSS bytes."""

    path: str
    name: str
    body: bytes
    items: int


def load_corpus(directory: Path = CORPUS_DIR) -> list[Post]:
    """Every `*.md` post of the corpus, sorted by file name (deterministic)."""
    return [_parse_post(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.md"))]


def _parse_post(text: str) -> Post:
    _, front, body = text.lstrip().split("---", 2)
    meta = yaml.safe_load(front)
    body = body.replace("&#123;", "{").replace("&#125;", "}").strip("\n")
    return Post(
        title=str(meta["title"]),
        published=_front_matter_date(meta.get("date")),
        author=str(meta.get("author") or "新浪财经"),
        body_html=body,
    )


def _front_matter_date(value: object) -> datetime:
    # The old pipeline wrote RFC 822 strings mostly, but YAML reads some dates as datetimes.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return ANCHOR


def character_pool(posts: Sequence[Post]) -> list[str]:
    """All CJK characters of the corpus with multiplicity: draws follow real frequencies."""
    return [c for post in posts for c in _CJK.findall(post.title + post.body_html)]


def _mutate_text(text: str, rng: random.Random, pool: Sequence[str]) -> str:
    """Same length and character classes, different content; marker words kept."""
    parts = _PROTECTED.split(text)
    return "".join(p if k % 2 else _mutate_plain(p, rng, pool) for k, p in enumerate(parts))


def _mutate_plain(text: str, rng: random.Random, pool: Sequence[str]) -> str:
    text = _DIGITS.sub(lambda m: _random_digits(len(m.group()), rng), text)
    return _CJK.sub(
        lambda m: rng.choice(pool) if rng.random() < SUBSTITUTION_RATE else m.group(), text
    )


def _random_digits(length: int, rng: random.Random) -> str:
    first = str(rng.randint(1, 9)) if length > 1 else str(rng.randint(0, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))


def _shuffle_sentences(line: str, rng: random.Random) -> str:
    """Permute the sentences of a paragraph that holds no inline markup."""
    m = _PLAIN_PARAGRAPH.match(line)
    if not m:
        return line
    sentences = _SENTENCE.findall(m.group(3))
    rng.shuffle(sentences)
    return m.group(1) + m.group(2) + "".join(sentences) + m.group(4)


def _split_boilerplate(body: str) -> tuple[str, str]:
    cut = min(
        (i for i in (body.find(m) for m in _BOILERPLATE_MARKERS) if i >= 0), default=len(body)
    )
    return body[:cut], body[cut:]


def _vary_content(content: str, rng: random.Random, pool: Sequence[str]) -> str:
    """Permute paragraph lines, shuffle sentences, mutate every text node of the article."""
    lines = content.split("\n")
    slots = [i for i, line in enumerate(lines) if _is_movable_paragraph(line)]
    moved = [lines[i] for i in slots]
    rng.shuffle(moved)
    for i, line in zip(slots, moved, strict=True):
        lines[i] = _shuffle_sentences(line, rng)
    parts = _MARKUP.split("\n".join(lines))
    # split() with one group alternates text, markup, text, …: mutate the text parts only.
    return "".join(p if k % 2 else _mutate_text(p, rng, pool) for k, p in enumerate(parts))


def _is_movable_paragraph(line: str) -> bool:
    return bool(_PARAGRAPH_LINE.match(line)) and "article-editor" not in line


def _vary_images(html: str, rng: random.Random) -> str:
    """Give each item its own image URLs (the QR code stays the QR code)."""

    def swap(m: re.Match[str]) -> str:
        if _QR_IMAGE in m.group(0):
            return m.group(0)
        tail = "".join(rng.choice("0123456789abcdef") for _ in m.group(3))
        return f"{m.group(1)}{rng.getrandbits(16):04x}-{tail}."

    return _SINA_IMAGE.sub(swap, html)


def make_item(
    post: Post, rng: random.Random, pool: Sequence[str], published: datetime, link: str
) -> Item:
    """A distinct item with the cost profile of `post`."""
    content, boilerplate = _split_boilerplate(post.body_html)
    body = _vary_images(_vary_content(content, rng, pool), rng) + boilerplate
    return Item(
        title=_mutate_text(post.title, rng, pool),
        link=link,
        published=published,
        author=post.author,
        description_html=body,
    )


def _sina_link(rng: random.Random, published: datetime, seen: set[str]) -> str:
    while True:
        docid = "".join(rng.choice(_DOCID_ALPHABET) for _ in range(15))
        if docid not in seen:
            seen.add(docid)
            break
    path = rng.choice(_LINK_PATHS)
    return f"https://finance.sina.com.cn/{path}/{published:%Y-%m-%d}/doc-i{docid}.shtml"


def build_items(
    posts: Sequence[Post],
    n_sources: int = N_SOURCES,
    per_source: int = ITEMS_PER_SOURCE,
    seed: int = SEED,
    anchor: datetime = ANCHOR,
) -> list[list[Item]]:
    """`n_sources` lists of `per_source` distinct items, newest first, spread over 3 days."""
    rng = random.Random(seed)
    pool = character_pool(posts)
    docids: set[str] = set()
    titles: set[str] = set()
    span = 3 * 24 * 3600
    sources: list[list[Item]] = []
    for _ in range(n_sources):
        ages = sorted(rng.randrange(span) for _ in range(per_source))
        items: list[Item] = []
        for age in ages:
            published = anchor - timedelta(seconds=age)
            item = make_item(rng.choice(posts), rng, pool, published, "")
            while item.title in titles:  # short titles can collide; redraw
                item = make_item(rng.choice(posts), rng, pool, published, "")
            titles.add(item.title)
            link = _sina_link(rng, published, docids)
            items.append(Item(item.title, link, item.published, item.author, item.description_html))
        sources.append(items)
    return sources


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rfc822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)


def render_rss(
    name: str, self_url: str, items: Sequence[Item], built: datetime, ttl_minutes: int | None = 5
) -> bytes:
    """RSS 2.0 shaped like RSSHub's /sina/finance output (CDATA title/description/author)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">',
        "<channel>",
        f"<title>{_cdata(name)}</title>",
        "<link>https://finance.sina.com.cn/china/</link>",
        f'<atom:link href="{self_url}" rel="self" type="application/rss+xml"></atom:link>',
        f"<description>{_cdata(name + ' - Powered by RSSHub')}</description>",
        "<generator>RSSHub</generator>",
        "<webMaster>contact@rsshub.app (RSSHub)</webMaster>",
        "<language>zh-cn</language>",
        f"<lastBuildDate>{_rfc822(built)}</lastBuildDate>",
    ]
    if ttl_minutes is not None:
        out.append(f"<ttl>{ttl_minutes}</ttl>")
    for it in items:
        out += [
            "<item>",
            f"<title>{_cdata(it.title)}</title>",
            f"<description>{_cdata(it.description_html)}</description>",
            f"<pubDate>{_rfc822(it.published)}</pubDate>",
            f'<guid isPermaLink="false">{it.link}</guid>',
            f"<link>{it.link}</link>",
            f"<author>{_cdata(it.author)}</author>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out).encode("utf-8")


def feed_path(index: int) -> str:
    return f"/sina/finance/rollnews/{3000 + index}"


def build_feeds(
    base_url: str,
    seed: int = SEED,
    corpus: Path = CORPUS_DIR,
    ttl_minutes: int | None = 5,
    items: int = ITEMS_PER_SOURCE,
) -> list[Feed]:
    """Workload A rendered: one Feed per source, URLs under `base_url` (no trailing slash).

    RSSHub says `<ttl>5</ttl>`; a poller honouring it waits 5 minutes between polls, so the
    daemon memory bench (1,000 fast cycles) serves the feeds without a ttl. `items` per
    feed: 100 (workload A), or e.g. 11 for feeds of a real RSSHub Sina route's size (~35 KB).
    """
    per_source = build_items(load_corpus(corpus), per_source=items, seed=seed)
    feeds = []
    for i, items in enumerate(per_source):
        path = feed_path(i)
        name = f"新浪财经－滚动{i:02d}"
        body = render_rss(name, base_url + path, items, ANCHOR, ttl_minutes)
        feeds.append(Feed(path=path, name=name, body=body, items=len(items)))
    return feeds


@dataclass(frozen=True, slots=True)
class _Representation:
    body: bytes
    gzipped: bytes
    etag: str


class _FeedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Many concurrent connects from the pollers: do not drop SYNs on a short backlog.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], feeds: Mapping[str, bytes], modified: datetime):
        super().__init__(address, _FeedHandler)
        self.representations: dict[str, _Representation] = {}
        self.serve_feeds(feeds)
        self.last_modified = _rfc822(modified)
        self.modified = modified.replace(microsecond=0)
        self.stats: Counter[int] = Counter()
        self.sent: dict[str, float] = {}  # path → time.monotonic() its last 200 was sent
        self.lock = threading.Lock()

    def serve_feeds(self, feeds: Mapping[str, bytes]) -> None:
        self.representations = {
            path: _Representation(body, gzip.compress(body, 6), _etag(body))
            for path, body in feeds.items()
        }

    def count(self, status: int) -> None:
        with self.lock:
            self.stats[status] += 1


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


class _FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as RSSHub behind any proxy
    server: _FeedHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests: stay quiet

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, send_body: bool) -> None:
        rep = self.server.representations.get(self.path.split("?", 1)[0])
        if rep is None:
            self._send(404, {"Content-Type": "text/plain"}, b"not found", send_body)
            return
        gz = "gzip" in self.headers.get("Accept-Encoding", "")
        etag = rep.etag[:-1] + '-gz"' if gz else rep.etag
        headers = {
            "Content-Type": "application/xml; charset=utf-8",
            "ETag": etag,
            "Last-Modified": self.server.last_modified,
            "Vary": "Accept-Encoding",
        }
        if self._not_modified(rep.etag):
            self._send(304, headers, b"", send_body)
            return
        if gz:
            headers["Content-Encoding"] = "gzip"
        self._send(200, headers, rep.gzipped if gz else rep.body, send_body)

    def _not_modified(self, etag: str) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2)
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or bool(tags & {etag, etag[:-1] + '-gz"'})
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            return parsedate_to_datetime(ims) >= self.server.modified
        except (TypeError, ValueError):
            return False

    def _send(self, status: int, headers: Mapping[str, str], body: bytes, send_body: bool) -> None:
        self.server.count(status)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and status != 304:
            self.wfile.write(body)
            if status == 200:
                with self.server.lock:
                    self.server.sent[self.path.split("?", 1)[0]] = time.monotonic()


class FeedServer:
    """Workload A on http://127.0.0.1:<port>, in background threads."""

    def __init__(
        self,
        seed: int = SEED,
        port: int = 0,
        corpus: Path = CORPUS_DIR,
        ttl_minutes: int | None = 5,
        items: int = ITEMS_PER_SOURCE,
    ) -> None:
        # Bind first: the feeds' self links need the port.
        self._httpd = _FeedHTTPServer(("127.0.0.1", port), {}, ANCHOR)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.feeds = build_feeds(self.base_url, seed, corpus, ttl_minutes, items)
        self._httpd.serve_feeds({f.path: f.body for f in self.feeds})
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def urls(self) -> list[str]:
        return [self.base_url + f.path for f in self.feeds]

    @property
    def total_items(self) -> int:
        return sum(f.items for f in self.feeds)

    def stats(self) -> Counter[int]:
        """Responses sent so far, by status code."""
        with self._httpd.lock:
            return Counter(self._httpd.stats)

    def reset_stats(self) -> None:
        with self._httpd.lock:
            self._httpd.stats.clear()

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _toml_str(value: str) -> str:
    # A JSON string (ensure_ascii off, no "\/") is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def write_config(
    workdir: Path,
    feeds: Sequence[Feed],
    base_url: str,
    *,
    interval: str = "5m",
    server_port: int = 8080,
    name: str = "config.toml",
    site_port: int | None = None,
) -> Path:
    """A config for `aggregator once/run` with storage and output inside `workdir`.

    `site_port`: the port the outputs' base URL names, when not the server's (a store
    published under one base URL, served by a daemon listening elsewhere)."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[storage]",
        'path = "var/aggregator.db"',
        "",
        "[output]",
        'dir = "public"',
        f"base_url = {_toml_str(f'http://127.0.0.1:{site_port or server_port}/')}",
        'title = "新浪财经聚合 (bench)"',
        "",
        "[server]",
        'host = "127.0.0.1"',
        f"port = {server_port}",
    ]
    for feed in feeds:
        lines += [
            "",
            "[[sources]]",
            f"name = {_toml_str(feed.name)}",
            f"url = {_toml_str(base_url + feed.path)}",
            'categories = ["金融", "新浪财经"]',
            'author = "新浪财经"',
            f"interval = {_toml_str(interval)}",
        ]
    path = workdir / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- harness plumbing shared by the bench scripts ---------------------------------------------

REPO = Path(__file__).resolve().parent.parent
READER_VENV = Path(__file__).resolve().parent / ".venv-reader"


# argv: result file, then the command. Runs the command and reaps it and every orphan it
# leaves (PR_SET_CHILD_SUBREAPER): a fork server, its workers, multiprocessing's resource
# tracker, which the measured process does not always wait for, so their CPU is counted.
REAPER = """
import ctypes, json, os, resource, subprocess, sys, time
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
start = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
code, wall = None, None
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == child.pid:
        code, wall = os.waitstatus_to_exitcode(status), time.perf_counter() - start
all_ = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    json.dump(
        {"code": code, "wall": wall, "cpu": all_.ru_utime + all_.ru_stime, "rss": all_.ru_maxrss},
        f,
    )
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One measured child process."""

    wall: float  # seconds, start to exit
    returncode: int
    max_rss_kb: int  # peak resident set of the biggest process of the run
    cpu: float  # user + system seconds of the child and every process it started
    stdout: str
    stderr: str


def run_measured(cmd: Sequence[str | Path], cwd: Path | None = None, stdin: str = "") -> Run:
    """Run `cmd` to completion under REAPER: wall time, CPU of the whole process tree, and
    the peak RSS of its biggest process. Output goes to temp files, not pipes: nothing may
    wait on a pipe's EOF, which a process left running would hold off."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-run-") as tmp,
        tempfile.TemporaryFile("w+b") as fin,
        tempfile.TemporaryFile("w+b") as fout,
        tempfile.TemporaryFile("w+b") as ferr,
    ):
        fin.write(stdin.encode())
        fin.seek(0)
        result = Path(tmp) / "result.json"
        reaper = [sys.executable, "-c", REAPER, str(result), *(str(c) for c in cmd)]
        done = subprocess.run(reaper, cwd=cwd, stdin=fin, stdout=fout, stderr=ferr)
        fout.seek(0)
        ferr.seek(0)
        stderr = ferr.read().decode(errors="replace")
        if done.returncode != 0 or not result.exists():
            raise RuntimeError(f"the reaper failed ({done.returncode}): {stderr[-2000:]}")
        got = json.loads(result.read_text())
        return Run(
            wall=got["wall"],
            returncode=got["code"],
            max_rss_kb=got["rss"],
            cpu=got["cpu"],
            stdout=fout.read().decode(errors="replace"),
            stderr=stderr,
        )


def aggregator_cmd(*args: str) -> list[str]:
    """The product's CLI, run by the interpreter running the bench (the project venv)."""
    return [sys.executable, "-m", "aggregator", *args]


def aggregator_ready() -> bool:
    """True once the lead's CLI exists (before that, benches fall back to the baseline only)."""
    return (REPO / "aggregator" / "cli.py").exists()


def ensure_reader_venv(venv: Path = READER_VENV) -> Path:
    """Python of a separate venv holding lemon24/reader (never a dependency of ours)."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with reader from PyPI …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        (venv / ".gitignore").write_text("*\n")  # keep the venv out of git status
    # reader's vendored feedparser imports `sgmllib`, which some feedparser builds no longer pull
    # in: probe that module, not just `reader`.
    probe = subprocess.run([python, "-c", "import reader._parser.feedparser"], capture_output=True)
    if probe.returncode != 0:
        cmd = [str(python), "-m", "pip", "install", "-q", "reader", "sgmllib3k"]
        subprocess.run(cmd, check=True)
    return python


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for the daemon's own HTTP server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="serve workload A and write a config next to it")
    serve.add_argument("--dir", type=Path, required=True, help="folder for config/db/output")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--seed", type=int, default=SEED)
    stats = sub.add_parser("stats", help="print the workload's size without serving it")
    stats.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if args.cmd == "stats":
        feeds = build_feeds("http://127.0.0.1:0", seed=args.seed)
        size = sum(len(f.body) for f in feeds)
        print(f"{len(feeds)} feeds, {sum(f.items for f in feeds)} items, {size / 1e6:.1f} MB")
        return
    server = FeedServer(seed=args.seed, port=args.port).start()
    config = write_config(args.dir, server.feeds, server.base_url)
    print(f"serving {len(server.feeds)} feeds at {server.base_url}; config: {config}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _main()
