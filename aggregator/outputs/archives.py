"""RFC 5005 archive pages of the whole feed: archive/<n>.atom, n = 1, 2, … by insertion order.

Page n holds articles [(n-1)·size, n·size) in insertion order. Pages 1..k are full: they
carry `<fh:archive/>`, are written once and never change (their links depend only on n).
Page k+1 is the partial tail (0..size-1 articles, no `fh:archive`); it is rewritten as it
fills. Subscription documents point at the tail with `prev-archive`, so following
`prev-archive` from any subscription document reaches every article exactly once.
Changing `archive_size` needs a fresh `archive/` folder. While the store is empty there is
no archive page (nothing to reach) and the feeds link none; a tail with no article yet (the
page before it just filled) is dated by the publisher (`Context.empty_updated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..models import OutputSettings, Settings
from .base import ArticleView, Context, Output, Rendered

FH_NS = "http://purl.org/syndication/history/1.0"
# How a full archive page starts (the marker is the feed's first child): lets the server and
# the next publish recognise full pages from their first bytes.
FULL_ARCHIVE_MARKER = f'<fh:archive xmlns:fh="{FH_NS}"/>'.encode()
MARKER_WITHIN = 512  # bytes from the start of the file


@dataclass(frozen=True, slots=True)
class ArchiveJob:
    """Archive page `n` (full: immutable, carries the RFC 5005 marker)."""

    n: int
    full: bool
    empty_updated: datetime | None = None  # its `updated` if it renders no article (FeedDoc)


@dataclass(frozen=True, slots=True)
class NoArchive:
    """The store is empty: no archive page (a tail from before every article was deleted
    is removed)."""


def tail_page(view: ArticleView, settings: OutputSettings) -> str | None:
    """The relative path of the archive tail, the page the subscription feed links to;
    None while no article is stored."""
    count = view.count()
    return f"archive/{count // settings.archive_size + 1}.atom" if count else None


def is_full_archive(data: bytes) -> bool:
    """Whether `data` (a file or its first bytes) is a full, immutable archive page."""
    return FULL_ARCHIVE_MARKER in data[:MARKER_WITHIN]


class Archives(Output):
    name = "archives"
    in_workers = True

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir / "archive",)

    def plan(self, ctx: Context) -> Sequence[ArchiveJob | NoArchive]:
        """Missing full pages (and the newest existing one if it was a tail), then the tail.
        In full (its folder was touched by someone else): every missing full page."""
        out = ctx.settings.output
        count = ctx.store.count()
        if count == 0:
            return [NoArchive()]
        full = count // out.archive_size
        folder = out.dir / "archive"
        stale = _stale_full_pages(folder, full)
        if ctx.full:
            stale = sorted({*stale, *(n for n in range(1, full + 1) if not _exists(folder, n))})
        # A page may render no article: a tail not begun yet (the page before it just
        # filled), or one whose articles were all left out as unrenderable.
        since = ctx.empty_updated()
        jobs = [ArchiveJob(n, full=True, empty_updated=since) for n in stale]
        jobs.append(ArchiveJob(full + 1, full=False, empty_updated=since))
        return jobs

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        if isinstance(job, NoArchive):
            return []
        assert isinstance(job, ArchiveJob)
        page = _render_page(view, settings.output, job)
        return [(f"archive/{job.n}.atom", page)]

    def write(self, ctx: Context, job: object, rendered: Rendered) -> None:
        if isinstance(job, NoArchive):
            ctx.remove(ctx.settings.output.dir / "archive" / "1.atom")
            return
        super().write(ctx, job, rendered)


def _stale_full_pages(folder: Path, full: int) -> list[int]:
    """Full pages to (re)write: missing ones, and the newest existing one if it was a tail."""
    stale: list[int] = []
    for n in range(full, 0, -1):
        path = folder / f"{n}.atom"
        if not path.exists():
            stale.append(n)
            continue
        # Pages below the newest existing one were full when it was created.
        if not is_full_archive(_head(path)):
            stale.append(n)
        break
    return sorted(stale)


def _exists(folder: Path, n: int) -> bool:
    return (folder / f"{n}.atom").is_file()


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(MARKER_WITHIN)  # pragma: no mutate (is_full_archive reads no more)


def _render_page(view: ArticleView, settings: OutputSettings, job: ArchiveJob) -> bytes:
    n, full = job.n, job.full
    size = settings.archive_size
    articles = view.page((n - 1) * size, size)
    links: list[tuple[str, str]] = [("current", "feed.atom")]
    if n > 1:
        links.append(("prev-archive", f"archive/{n - 1}.atom"))
    if full:
        # The next page always exists once this one is full (it may be an empty tail).
        links.append(("next-archive", f"archive/{n + 1}.atom"))
    from .formats import FeedDoc, render_atom  # only when something is rendered

    title = f"{settings.title} · archive {n}"
    doc = FeedDoc(title, f"archive/{n}.atom", "feed.atom", tuple(links), full, job.empty_updated)
    return render_atom(articles, doc, settings)
