"""The site's list pages (SPEC §12): index.html, every category's page, the numbered pages
reaching back to the oldest article (pages/<n>.html, categories/<slug>/<n>.html), the
stylesheet and the favicon; with no article yet, index.html says why (the sources' state).

Planning closes the tails of the lists that changed (paging.py) and takes the pages marked
dirty: what one new article costs is its lists' tail and head pages, whatever the store
holds. `finish` clears the marks once the files are durable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import paging
from ..lru import LRU
from ..models import ListEntry, OutputSettings, Settings
from .base import ArticleView, Context, Output, Rendered
from .html import (
    ASSETS,
    assets,
    head_path,
    page_path,
    render_empty,
    render_list,
)

if TYPE_CHECKING:
    from ..store import Store


@dataclass(frozen=True, slots=True)
class PageJob:
    """Numbered page `n` of a list ('' = every article, else a category)."""

    list: str
    n: int


@dataclass(frozen=True, slots=True)
class HeadJob:
    """A list's first page (index.html for every article)."""

    list: str
    tail: int  # the number of its tail page
    categories: tuple[str, ...] = ()  # listed on index.html
    sources: tuple[Mapping[str, Any], ...] = field(default=())  # for an empty index.html


@dataclass(frozen=True, slots=True)
class AssetsJob:
    """site.css and favicon.svg."""


class SitePages(Output):
    name = "site_pages"
    links_others = True  # links to the article pages and the feeds

    def __init__(self) -> None:
        self._planned: list[tuple[str, int]] = []
        # What the lists of this publish show of each article, by seq: an article is on
        # four or five lists (every article, its categories), loaded once for them all.
        self._listed: LRU[int, ListEntry] = LRU(LISTED_KEPT)

    def intact(self, settings: Settings) -> bool:
        files = ("index.html", "pages/1.html", *ASSETS)  # pages/1.html: even when empty
        return all((settings.output.dir / name).is_file() for name in files)

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        # Not the root (index.html is checked by `intact`; feeds and the OPML are written
        # there) nor categories/<slug>/: a full rebuild of every page is the costliest.
        return (settings.output.dir / "pages", settings.output.dir / "categories")

    def plan(self, ctx: Context) -> Sequence[object]:
        store, size = ctx.store, ctx.settings.output.page_size
        categories = store.categories()
        names = [paging.ALL, *(categories if ctx.full else sorted(ctx.dirty_categories))]
        with store.transaction() as db:
            if ctx.full:
                paging.mark_all_dirty(db)
            paging.forget_missing(db, names)
            tails = {name: paging.close_tail(db, name, size) for name in names}
            self._planned = sorted({*paging.dirty(db), *((n, t.n) for n, t in tails.items())})
            # The lists' pages side by side by arrival (each list's page 1, then each one's
            # page 2, …): a page's articles are the ones the pages just before it listed.
            starts = {p: paging.page(db, *p) for p in self._planned}
        self._listed = LRU(LISTED_KEPT)
        by_arrival = sorted(self._planned, key=lambda p: (_start(starts[p]), p))
        jobs: list[object] = [AssetsJob(), *(PageJob(name, n) for name, n in by_arrival)]
        sources = _stored_sources(store, [s.name for s in ctx.settings.sources])
        for name in names:
            extra = (tuple(categories), tuple(sources)) if name == paging.ALL else ((), ())
            jobs.append(HeadJob(name, tails[name].n, *extra))
        return jobs

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        if isinstance(job, AssetsJob):
            return assets()
        store = cast("Store", view)  # not in_workers: rendered from the publishing store
        listed = functools.partial(self._entries, store)
        if isinstance(job, PageJob):
            page = paging.page(store.db, job.list, job.n)
            if page is None:
                return []
            pg = _render_page(store, listed, settings.output, page)
            return [(page_path(job.list, job.n), pg)]
        assert isinstance(job, HeadJob)
        return [(head_path(job.list), _render_head(store, listed, settings.output, job))]

    def finish(self, ctx: Context) -> None:
        with ctx.store.transaction() as db:
            paging.clear(db, self._planned)
        self._planned = []
        self._listed.clear()

    def _entries(self, store: Store, seqs: Sequence[int]) -> list[ListEntry]:
        """`store.list_entries(seqs)`, each article read once per publish (at most
        `LISTED_KEPT` kept: the least recently used go first)."""
        got = self._listed.get_many(seqs)
        read = store.list_entries_by_seq([s for s, e in zip(seqs, got, strict=True) if e is None])
        self._listed.put_many(read)
        found = (read.get(s) if e is None else e for s, e in zip(seqs, got, strict=True))
        return [e for e in found if e is not None]


LISTED_KEPT = 20_000  # list entries kept in one publish (~0.5 KB each)


def _start(page: paging.Page | None) -> int:
    return -1 if page is None else page.first_seq


def _newest_first(articles: list[ListEntry]) -> list[ListEntry]:
    """Pages are cut by arrival; within one, newest first by date."""
    return sorted(articles, key=lambda a: (a.published, a.id), reverse=True)


def _list_title(name: str) -> str:
    return "全部文章" if name == paging.ALL else name


Listed = Callable[[Sequence[int]], list[ListEntry]]


def _render_page(store: Store, listed: Listed, settings: OutputSettings, pg: paging.Page) -> bytes:
    path = page_path(pg.list, pg.n)
    seqs = paging.members(store.db, pg.list, pg.first_seq, pg.end_seq)
    pager = [("最新", head_path(pg.list), "")]
    if not pg.is_tail:
        pager.append(("较新的一页", page_path(pg.list, pg.n + 1), "next"))
    if pg.n > 1:
        pager.append(("较早的一页", page_path(pg.list, pg.n - 1), "prev"))
        pager.append(("最早", page_path(pg.list, 1), ""))
    heading = f"{_list_title(pg.list)} · 第 {pg.n} 页"
    articles = _newest_first(listed(seqs))
    return render_list(settings, path, pg.list, articles, pager, heading=heading)


def _render_head(store: Store, listed: Listed, settings: OutputSettings, job: HeadJob) -> bytes:
    """A list's first page: the newest `page_size` by date of its last two pages (the
    newest arrivals: no scan of the list), then a link into its numbered pages."""
    name, path = job.list, head_path(job.list)
    tail = paging.page(store.db, name, job.tail)
    before = paging.page(store.db, name, job.tail - 1) if job.tail > 1 else None
    first = before.first_seq if before else (tail.first_seq if tail else 0)
    seqs = paging.members(store.db, name, first, None)
    if name == paging.ALL and not seqs:
        return render_empty(settings, job.sources, live=False)
    articles = _newest_first(listed(seqs))
    pager = []
    if len(articles) > settings.page_size or job.tail > 1:
        pager.append(("更早的文章", page_path(name, job.tail), "next"))
        if job.tail > 1:
            pager.append(("最早", page_path(name, 1), ""))
    articles = articles[: settings.page_size]
    if name == paging.ALL:
        return render_list(
            settings, path, name, articles, pager, heading="", categories=job.categories
        )
    return render_list(settings, path, name, articles, pager, heading=name)


def _stored_sources(store: Store, names: Sequence[str]) -> list[dict[str, Any]]:
    """The configured sources' recorded states, in config order (for the empty page)."""
    keys = ("name", "last_success", "last_error", "last_error_kind", "next_poll", "gone")
    rows = {r[0]: r for r in store.db.execute(f"SELECT {', '.join(keys)} FROM sources")}
    return [dict(zip(keys, rows[n], strict=True)) if n in rows else {"name": n} for n in names]
