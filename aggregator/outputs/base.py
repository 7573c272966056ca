"""The interface every output implements, and what the publisher hands it.

An output turns stored articles (or the configuration) into files. Publishing asks each
registered output, in registration order, to

1. `plan` what changed since the last publish: a list of jobs (small, picklable values);
2. `render` each job to bytes, reading only the `ArticleView` (so jobs of an output with
   `in_workers` can render in worker processes, each through its own read-only connection);
3. `write` the rendered documents (by default: each file unless its bytes are unchanged);

and, once every file is durable, `finish` (acknowledge the changes it consumed).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import quote

from ..atomic import write_atomic
from ..database import iso, parse_dt
from ..dates import utcnow
from ..models import OutputSettings, Settings, StoredArticle

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)

Rendered = list[tuple[str, bytes]]  # (path relative to the output's folder, bytes)
FIRST_PUBLISH = "first_publish"  # meta key: when an empty store was first published


def url(settings: OutputSettings, rel_path: str) -> str:
    """Absolute URL of an output file (category slugs may be non-ASCII)."""
    return settings.base_url + quote(rel_path)


class ArticleView(Protocol):
    """Read-only view of the store that rendering needs (a worker's connection is one)."""

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Newest first by published, ties by id."""
        ...

    def categories(self) -> list[str]:
        """Every category in use, sorted."""
        ...

    def count(self, category: str | None = None) -> int: ...

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        """Oldest first in insertion order (stable positions for archives)."""
        ...

    def articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        """The stored articles of `ids` that still exist, in that order."""
        ...

    def copies(self, ids: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
        """The copies merged into each article of `ids`: (source, link, title)."""
        ...


@dataclass
class Context:
    """One publish as one output sees it."""

    settings: Settings
    store: Store
    full: bool  # its setup changed or its files are gone: plan everything, not just changes
    dirty_categories: frozenset[str]  # categories whose articles changed since the last publish
    changed: list[Path] = field(default_factory=list)  # files written or removed, for fsync
    now: datetime = field(default_factory=utcnow)  # when this publish runs

    def empty_updated(self) -> datetime:
        """The `updated` of a feed document with no entries, true and stable: the last
        change of the store's articles (the one that left the document empty) — the last
        deletion, or the date of the article stored last (an archive tail not begun) —
        or, if it never held one, its first publish (recorded: the next ones repeat it)."""
        last = self.store.last_change()
        if last is not None:
            return last
        first = self.store.get_meta(FIRST_PUBLISH)
        if first is None:
            first = iso(self.now.replace(microsecond=0))
            self.store.set_meta(FIRST_PUBLISH, first)
        return parse_dt(first)

    def put(self, folder: Path, rel: str, data: bytes) -> None:
        """Write one file unless its bytes are unchanged (made durable at the end)."""
        path = folder / rel
        if write_atomic(path, data, durable=False):
            self.changed.append(path)

    def remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        self.changed.append(path)


class Output:
    """Base of every output; subclasses set `name` and implement `plan` and `render`."""

    name: ClassVar[str]  # unique: jobs and the store's publish records carry it
    in_workers: ClassVar[bool] = False  # its jobs may render in worker processes
    # Its documents link to other outputs' files: written after them, so a reader following
    # a link never finds the file missing.
    links_others: ClassVar[bool] = False

    def folder(self, settings: OutputSettings) -> Path:
        """The folder its rendered paths are relative to."""
        return settings.dir

    def setup(self, settings: Settings) -> str:
        """Everything besides the stored articles its bytes depend on: when this changes,
        the next publish renders it in full."""
        return repr(settings.output)

    def intact(self, settings: Settings) -> bool:
        """Whether its files are still there (else the next publish renders it in full)."""
        return True

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        """Folders of its other files: when someone else adds or removes an entry there,
        the next publish plans it in full (completeness.py), so a file removed by hand
        comes back without waiting for a change."""
        return ()

    def article_files(self, settings: Settings) -> tuple[Path, str] | None:
        """The folder holding one file of this output per stored article, named
        `<slug><suffix>`, and that suffix; None when it writes no such files. Files missing
        there are written again (completeness.py)."""
        return None

    def plan(self, ctx: Context) -> Sequence[object]:
        """The jobs to render in this publish, in writing order."""
        raise NotImplementedError

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        """The documents of one job. Reads nothing but `view`, `settings` and `job`."""
        raise NotImplementedError

    def write(self, ctx: Context, job: object, rendered: Rendered) -> None:
        folder = self.folder(ctx.settings.output)
        for rel, data in rendered:
            ctx.put(folder, rel, data)

    def finish(self, ctx: Context) -> None:
        """After every output's files are durable: acknowledge what this publish consumed."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An article one output left out because it could not be rendered."""

    output: str
    id: str
    title: str
    link: str
    reason: str


def render_isolated(
    output: Output,
    view: ArticleView,
    settings: Settings,
    job: object,
    skipped: list[Skipped] | None = None,
) -> Rendered:
    """`output.render`, leaving out (logging, and adding to `skipped`) any article that
    cannot be rendered.

    Whatever got into the store (a body lxml refuses, written before the ingest limits),
    one article must not stop the publishing of all the others. Costs nothing until a
    render fails: then each article the job read is tried alone.
    """
    try:
        return output.render(view, settings, job)
    except Exception as exc:
        failure = exc
    read: dict[str, StoredArticle] = {}

    def record(a: StoredArticle) -> bool:
        read[a.id] = a
        return True

    with contextlib.suppress(Exception):  # it fails again, having read the articles
        output.render(_Only(view, record), settings, job)
    bad: set[str] = set()
    for a in read.values():
        try:
            output.render(_Only(view, _is(a.id)), settings, job)
        except Exception as exc:
            bad.add(a.id)
            log.error("publishing %s skips article %s (%s): %s", output.name, a.id, a.link, exc)
            if skipped is not None:
                reason = (str(exc) or type(exc).__name__)[:200]
                skipped.append(Skipped(output.name, a.id, a.title, a.link, reason))
    if not bad:
        raise failure  # not one article's fault
    return output.render(_Only(view, lambda x: x.id not in bad), settings, job)


def _is(article_id: str) -> Callable[[StoredArticle], bool]:
    return lambda a: a.id == article_id


class _Only:
    """The view, showing only the articles `keep` accepts."""

    def __init__(self, view: ArticleView, keep: Callable[[StoredArticle], bool]) -> None:
        self._view = view
        self._keep = keep

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        return [a for a in self._view.recent(limit, category) if self._keep(a)]

    def categories(self) -> list[str]:
        return self._view.categories()

    def count(self, category: str | None = None) -> int:
        return self._view.count(category)

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        return [a for a in self._view.page(offset, limit, category) if self._keep(a)]

    def articles(self, ids: Sequence[str]) -> list[StoredArticle]:
        return [a for a in self._view.articles(ids) if self._keep(a)]

    def copies(self, ids: Sequence[str]) -> dict[str, list[tuple[str, str, str]]]:
        return self._view.copies(ids)
