"""Subscription feeds: the whole feed and one per category, each as .atom, .rss and .json.

    feed.atom feed.rss feed.json          newest `feed_size` articles, newest first
    categories/<slug>.atom|.rss|.json     the same per category

The whole feed is rendered at every publish (it links the archive tail, which moves); a
category's feeds only when its articles changed or in a full publish.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..models import Settings
from .archives import tail_page
from .base import ArticleView, Context, Output, Rendered

_SLUG_MAX = 60  # characters; 60 CJK characters are 180 bytes, under every name limit
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)


def category_slug(name: str) -> str:
    """A stable, readable file stem for a category name, safe in paths and on every FS.

    Letters and digits of any script (so Chinese names stay as they are), '-', '_' and
    non-ASCII punctuation are kept; anything else becomes '-'. When that changed the name
    (or lowercased it, or it is reserved/too long) an 8-hex digest of the name is appended,
    so distinct names never share a slug, whatever other categories exist.
    """
    norm = unicodedata.normalize("NFC", name)
    kept = "".join(c if _slug_char(c) else "-" for c in norm.lower())
    kept = re.sub(r"-{2,}", "-", kept).strip("-_")[:_SLUG_MAX]
    if kept and kept == name and kept not in _WINDOWS_RESERVED:
        return kept
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{kept}-{digest}" if kept else digest


def category_stem(name: str) -> str:
    """Where a category's feed set lives: `<stem>.atom`, `.rss` and `.json`."""
    return f"categories/{category_slug(name)}"


def _slug_char(c: str) -> bool:
    if c.isalnum() or c == "_":  # ('-' needs no test: what is not kept becomes '-')
        return c.isprintable()
    return not c.isascii() and unicodedata.category(c).startswith("P")


@dataclass(frozen=True, slots=True)
class FeedSetJob:
    """The .atom, .rss and .json subscription documents of the whole feed or a category."""

    stem: str  # output path without extension: 'feed' or 'categories/<slug>'
    title: str
    category: str | None  # None: every article
    archive_tail: str | None  # relative path of the archive tail, linked as prev-archive
    # Its `updated` if it renders no article: emptied, or every one left out as unrenderable.
    empty_updated: datetime | None = None


def render_feed_set(view: ArticleView, settings: Settings, job: FeedSetJob) -> Rendered:
    from .formats import FeedDoc, render_atom, render_json, render_rss  # see outputs/__init__

    out = settings.output
    articles = view.recent(out.feed_size, job.category)
    links = (("prev-archive", job.archive_tail),) if job.archive_tail else ()
    empty = job.empty_updated
    atom = FeedDoc(job.title, f"{job.stem}.atom", f"{job.stem}.atom", links, empty_updated=empty)
    return [
        (f"{job.stem}.atom", render_atom(articles, atom, out)),
        (f"{job.stem}.rss", render_rss(articles, job.title, f"{job.stem}.rss", out, empty)),
        (f"{job.stem}.json", render_json(articles, job.title, f"{job.stem}.json", out)),
    ]


class Feed(Output):
    """feed.atom, feed.rss, feed.json: the newest articles of every category."""

    name = "feed"
    in_workers = True

    def intact(self, settings: Settings) -> bool:
        return (settings.output.dir / "feed.atom").is_file()

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir,)

    def plan(self, ctx: Context) -> Sequence[FeedSetJob]:
        out = ctx.settings.output
        tail = tail_page(ctx.store, out)
        return [FeedSetJob("feed", out.title, None, tail, ctx.empty_updated())]

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        assert isinstance(job, FeedSetJob)
        return render_feed_set(view, settings, job)


class CategoryFeeds(Output):
    """categories/<slug>.atom|.rss|.json: one feed set per category."""

    name = "category-feeds"
    in_workers = True

    def intact(self, settings: Settings) -> bool:
        return (settings.output.dir / "categories").is_dir()

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir / "categories",)

    def plan(self, ctx: Context) -> Sequence[FeedSetJob]:
        """Changed categories (all in a full publish), then categories whose last article
        was deleted: their feeds are rendered empty rather than left serving it."""
        title = ctx.settings.output.title
        in_use = ctx.store.categories()
        emptied = sorted(ctx.dirty_categories.difference(in_use))
        names = [n for n in [*in_use, *emptied] if ctx.full or n in ctx.dirty_categories]
        since = ctx.empty_updated() if names else None
        return [FeedSetJob(category_stem(n), f"{title} · {n}", n, None, since) for n in names]

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        assert isinstance(job, FeedSetJob)
        return render_feed_set(view, settings, job)
