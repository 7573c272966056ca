"""The outputs layer: every file published from the store goes through `publish`.

Each output is one module with one `Output` subclass (see base.py) and one line in
`OUTPUTS` below; the daemon, `once`, `delete`, the tests and the benches all publish
through `publish`. Adding an output: write `outputs/<name>.py`, add an instance to
`OUTPUTS` (its place there is its writing order), list its files in README's outputs table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from .. import __version__
from ..atomic import fsync_all
from ..dates import utcnow
from ..models import Settings
from ..progress import Progress
from . import completeness
from .archives import Archives
from .article_pages import ArticlePages
from .base import ArticleView, Context, Output, Rendered, Skipped, render_isolated
from .feeds import CategoryFeeds, Feed
from .pages import Pages
from .posts import Posts
from .site_pages import SitePages
from .sources_opml import SourcesOpml

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..store import Store
    from ..workers import Workers

log = logging.getLogger(__name__)

# The registry, in writing order (outputs with `links_others` are written after the rest).
OUTPUTS: tuple[Output, ...] = (
    Posts(),
    ArticlePages(),
    Archives(),
    Feed(),
    CategoryFeeds(),
    Pages(),
    SitePages(),
    SourcesOpml(),
)
_BY_NAME = {o.name: o for o in OUTPUTS}

IN_FLIGHT = 4  # jobs per worker process submitted ahead of writing
# Jobs go to the worker processes when there are this many and the pool is running (a poll
# started it for a big document), or four times as many (a full rebuild): starting processes
# costs more than rendering a few dozen documents here.
PARALLEL_JOBS = 16
# Articles a publish keeps once loaded (`Store.sharing_loads`): rendering here, a batch of
# posts is followed by the same articles' pages (see `_Renders.write_ready`), and the feeds
# and the archive tail print the same newest articles.
SHARED_LOADS = 1024

__all__ = [
    "OUTPUTS",
    "ArticleView",
    "Context",
    "Output",
    "Rendered",
    "SkipReport",
    "Skipped",
    "find_missing",
    "intact",
    "publish",
    "skip_report",
    "skipped_by_output",
]


def publish(
    settings: Settings,
    store: Store,
    workers: Workers | None = None,
    *,
    progress: bool = False,
    skipped: list[Skipped] | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Bring every output up to date with the store; return the files written or removed.

    Nothing is rendered when the store's generation is the one last published and no
    output's setup (settings, version) changed or lost its files (every source said 304).
    Otherwise each output plans what changed; an output whose setup changed or whose files
    are gone plans everything. With `workers`, a big publish renders the `in_workers` jobs in
    worker processes while this thread writes the others. The caller holds the store's
    writers off until this returns (workers read the store while it runs). `progress`:
    show the documents written on a terminal (a first backfill writes thousands).
    The articles left out because they could not be rendered are added to `skipped` and
    recorded (`skip_report`) for /healthz and `status`. `now`: the time of this publish
    (the clock's by default), which dates a feed of an empty store.
    """
    generation = str(store.generation())
    setups = {o.name: f"{__version__} {o.setup(settings)}" for o in OUTPUTS}
    touched = completeness.touched(OUTPUTS, settings, store)
    if touched:
        log.warning("outputs changed by someone else: writing %s again in full", ", ".join(touched))
    full = {
        o.name: not o.intact(settings)
        or store.get_meta(_setup_key(o)) != setups[o.name]
        or o.name in touched
        for o in OUTPUTS
    }
    if not any(full.values()) and store.get_meta("published_generation") == generation:
        return []
    untouched = completeness.states_before(OUTPUTS, settings, store)
    dirty = frozenset(store.dirty_categories())
    changed: list[Path] = []
    left_out: list[Skipped] = []
    when = now if now is not None else utcnow()
    contexts = {
        o.name: Context(settings, store, full[o.name], dirty, changed, when) for o in OUTPUTS
    }
    plans = [(o, o.plan(contexts[o.name])) for o in OUTPUTS]
    shown = Progress("publishing", sum(len(jobs) for _, jobs in plans)) if progress else None
    background = _Renders(
        store,
        settings,
        [(o, job) for o, jobs in plans if o.in_workers for job in jobs],
        workers,
        left_out,
        shown,
    )
    here = [(o, jobs) for o, jobs in plans if not o.in_workers]
    with store.sharing_loads(SHARED_LOADS):
        for o, jobs in here:
            if not o.links_others:
                for job in jobs:
                    rendered = render_isolated(o, store, settings, job, left_out)
                    o.write(contexts[o.name], job, rendered)
                    if shown is not None:
                        shown.step()
                    background.write_ready(contexts)
        background.write_all(contexts)
        for o, jobs in here:
            if o.links_others:
                for job in jobs:
                    rendered = render_isolated(o, store, settings, job, left_out)
                    o.write(contexts[o.name], job, rendered)
                    if shown is not None:
                        shown.step()
    if shown is not None:
        shown.done()
    # Durable before the publish is recorded: a power loss before this point means the
    # next run publishes again; one pass of fsyncs after all writes flushes each file once.
    left_complete = completeness.states_after(OUTPUTS, settings, untouched, full)
    fsync_all(changed)
    for o in OUTPUTS:
        o.finish(contexts[o.name])
    store.clear_dirty_categories(set(dirty))
    for o in OUTPUTS:
        store.set_meta(_setup_key(o), setups[o.name])
    store.set_meta("published_generation", generation)
    completeness.record(store, left_complete)
    report = json.dumps(_report(left_out), ensure_ascii=False, sort_keys=True)
    if store.get_meta(SKIPPED_KEY) != report:
        store.set_meta(SKIPPED_KEY, report)
    if skipped is not None:
        skipped.extend(left_out)
    return changed


class SkippedArticle(TypedDict):
    id: str
    title: str
    link: str
    reason: str
    outputs: list[str]


class SkipReport(TypedDict):
    """What a publish left out: articles, articles per output, the first few described
    (id, title, link, reason, outputs)."""

    skipped: int
    by_output: dict[str, int]
    articles: list[SkippedArticle]


SKIPPED_KEY = "publish_skipped"
SKIPPED_SHOWN = 5  # articles described in the report (all are counted and logged)


def skipped_by_output(left_out: Sequence[Skipped]) -> dict[str, int]:
    """How many distinct articles each output left out."""
    ids: dict[str, set[str]] = {}
    for s in left_out:
        ids.setdefault(s.output, set()).add(s.id)
    return {name: len(i) for name, i in sorted(ids.items())}


def _report(left_out: list[Skipped]) -> SkipReport:
    first: dict[str, Skipped] = {}
    outputs_of: dict[str, list[str]] = {}
    for s in left_out:
        first.setdefault(s.id, s)
        outs = outputs_of.setdefault(s.id, [])
        if s.output not in outs:
            outs.append(s.output)
    shown = list(first.values())[:SKIPPED_SHOWN]
    return {
        "skipped": len(first),
        "by_output": skipped_by_output(left_out),
        "articles": [_described(s, outputs_of[s.id]) for s in shown],
    }


def _described(s: Skipped, outputs: list[str]) -> SkippedArticle:
    return {"id": s.id, "title": s.title, "link": s.link, "reason": s.reason, "outputs": outputs}


def skip_report(store: Store) -> SkipReport:
    """What the last publish that ran left out."""
    raw = store.get_meta(SKIPPED_KEY)
    if raw is None:
        return _report([])
    report: SkipReport = json.loads(raw)
    return report


def find_missing(settings: Settings, store: Store, *, force: bool = False) -> int:
    """Mark the articles whose post or page went missing to be written by the next publish
    (completeness.py); log and return how many, plus one for each output whose folders
    someone else changed (the next publish writes it again in full)."""
    missing = completeness.find_missing(OUTPUTS, settings, store, force=force)
    if missing:
        log.warning(
            "outputs incomplete: restoring the files of %d article(s): %s",
            missing.articles,
            missing.summary(),
        )
    return missing.articles + len(completeness.touched(OUTPUTS, settings, store))


def intact(settings: Settings) -> bool:
    """Whether every output's files are still there (cheap: a few stats)."""
    return all(o.intact(settings) for o in OUTPUTS)


def _setup_key(output: Output) -> str:
    return f"published_setup:{output.name}"


# Worker processes keep one read-only connection per database file (path, device, inode),
# and the settings of the publish they render for, unpickled once.
_readers: dict[tuple[str, int, int], Store] = {}
_shipped: dict[str, tuple[bytes, Settings]] = {}


def render_in_worker(
    db_path: Path, settings: Settings | bytes, output: str, job: object
) -> tuple[Rendered, list[Skipped]]:
    """`Output.render` in a worker process, reading the store through its own connection.

    Only the job goes in and only bytes come out: shipping the articles to the worker
    would cost about what rendering them does. While it publishes, the owner writes
    nothing but the posts' clean flags, which no `in_workers` output reads, so every job of
    one publish renders the same articles. `settings` come pickled once per publish
    (`_Renders`): pickling them with every job cost ~0.3 ms here and ~0.4 ms there.
    """
    from ..store import Store

    if isinstance(settings, bytes):
        kept = _shipped.get("settings")
        if kept is None or kept[0] != settings:
            kept = _shipped["settings"] = (settings, pickle.loads(settings))
        settings = kept[1]

    st = db_path.stat()
    key = (str(db_path), st.st_dev, st.st_ino)
    store = _readers.get(key)
    if store is None:
        for old in _readers.values():  # the file was replaced: its connection is stale
            old.close()
        _readers.clear()
        store = _readers[key] = Store(db_path, readonly=True)
    skipped: list[Skipped] = []
    return render_isolated(_BY_NAME[output], store, settings, job, skipped), skipped


class _Renders:
    """The `in_workers` jobs, rendering in worker processes (or here), written in plan
    order as they complete. At most `IN_FLIGHT` jobs per worker are submitted and not yet
    written, so finished documents do not pile up in memory while the others are written."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        jobs: Sequence[tuple[Output, object]],
        workers: Workers | None,
        skipped: list[Skipped],
        progress: Progress | None = None,
    ) -> None:
        self._progress = progress
        self._skipped = skipped
        self._store = store
        self._settings = settings
        self._jobs = jobs
        self._futures: list[Future[tuple[Rendered, list[Skipped]]] | None] = []
        self._next = 0  # the next job to write
        self._workers = None
        self._window = 0  # pragma: no mutate (not read while _workers is None)
        if (
            workers is not None
            and store.path is not None
            and len(jobs) >= (PARALLEL_JOBS if workers.running else 4 * PARALLEL_JOBS)
        ):
            self._workers = workers
            self._window = IN_FLIGHT * workers.processes
            self._db_path = store.path.resolve()
            self._sent: Settings | bytes = settings
            with contextlib.suppress(Exception):  # else sent as they are: they fail there
                self._sent = pickle.dumps(settings)
        self._top_up()

    def _top_up(self) -> None:
        if self._workers is None:  # rendering here, one job at a time as it is written
            return
        while len(self._futures) < min(len(self._jobs), self._next + self._window):
            output, job = self._jobs[len(self._futures)]
            future = self._workers.submit(
                render_in_worker, self._db_path, self._sent, output.name, job
            )
            self._futures.append(future)

    def write_ready(self, contexts: dict[str, Context]) -> None:
        """Write the jobs that are done, up to the first one still rendering; rendering
        here, the next job: the posts' batches and the article pages' are the same
        articles in the same order, each read once (`Store.sharing_loads`)."""
        if self._workers is None:
            if self._next < len(self._jobs):
                self._write_next(contexts)
            return
        while self._next < len(self._futures):
            future = self._futures[self._next]
            if future is None or not future.done():
                break
            self._write_next(contexts)
        self._top_up()

    def write_all(self, contexts: dict[str, Context]) -> None:
        while self._next < len(self._jobs):
            self._write_next(contexts)

    def _write_next(self, contexts: dict[str, Context]) -> None:
        output, job = self._jobs[self._next]
        future = None
        if self._next < len(self._futures):  # drop it once taken: it holds the bytes
            future, self._futures[self._next] = self._futures[self._next], None
        self._next += 1
        rendered = None
        if future is not None:
            try:
                rendered, skipped = future.result()
                self._skipped.extend(skipped)
            except Exception as exc:  # a dead worker, an unreadable database: render here
                log.exception("rendering %s in a worker failed; rendering the rest here", job)
                for pending in self._futures[self._next :]:
                    if pending is not None:
                        pending.cancel()
                if self._workers is not None:
                    self._workers.forget_if_broken(exc)
                self._workers, self._window = None, 0
                del self._futures[self._next :]
        if rendered is None:
            rendered = render_isolated(output, self._store, self._settings, job, self._skipped)
        output.write(contexts[output.name], job, rendered)
        if self._progress is not None:
            self._progress.step()
        self._top_up()
