"""The orchestrator: the one place that knows the order of the stages.

fetch → (skip if 304 or byte-identical) → parse → clean/normalize → store → record state.
Blocking stages (parse, clean, SQLite) run in worker threads so the event loop keeps
serving HTTP and other polls. A failing source never raises out of `poll_source`: the
failure is classified, recorded on the source's row, and reflected in its next poll time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from .dates import rfc3339
from .errors import FetchError, SourceError, StoreError, classify
from .fetch import Fetcher
from .kinds import KINDS, Item, Kind, item_from_json, item_to_json
from .listed import Listed, ListedRow
from .models import (
    FetchResult,
    PollResult,
    PollStatus,
    Settings,
    Source,
    SourceState,
)
from .prepare import PageJob, Prepared, complete, prepare
from .progress import Progress
from .schedule import next_delay
from .sites.domains import same_site
from .store import Store, UpsertResult
from .urls import redact_text, with_credentials_of
from .workers import Workers

if TYPE_CHECKING:
    from .metrics import Metrics

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Pipeline:
    """Everything a poll needs, built once per process and passed explicitly."""

    settings: Settings
    store: Store
    fetcher: Fetcher
    metrics: Metrics | None  # None: nobody reads them (`once`); skips prometheus' import
    rng: random.Random = field(default_factory=random.Random)
    db_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    workers: Workers = field(default_factory=lambda: Workers(0))
    # Article pages by (item key, version): being fetched or fetched and not yet stored
    # (lists polled together that carry the same article share one request), and the last
    # ones stored (a list that looked them up just before they were stored attaches to them).
    page_flights: dict[tuple[str, str], asyncio.Future[FetchResult]] = field(default_factory=dict)
    pages_stored: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a store call in a worker thread, one at a time.

        A cancelled caller still waits for the thread: the lock is released only once the
        transaction has committed or rolled back, so shutdown can close the database safely.
        """
        async with self.db_lock:
            call = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
            try:
                return await asyncio.shield(call)
            except asyncio.CancelledError:
                await asyncio.wait({call})
                raise


async def poll_source(
    p: Pipeline,
    source: Source,
    now: datetime,
    turn: Callable[[], Awaitable[object]] | None = None,
) -> PollResult:
    """Poll one source once and record the outcome. Never raises for source failures.

    `turn`, when given, is awaited before storing: `poll_all` uses it to store batches in
    config order, so which copy of a cross-outlet story is kept does not depend on timing.
    """
    started = time.monotonic()
    try:
        state = await p.db(p.store.source_state, source.name, source.url)
    except StoreError as exc:  # locked or failing database: nothing to record it in
        return _unrecorded(p, source, exc, now, started)
    if state.gone:  # not polled at all: nothing to count, the gauges already say it
        return PollResult(source.name, "gone", error_kind="http_410", error=state.last_error)
    fetch_seconds = None
    try:
        kind = KINDS[source.kind]
        fetched = await p.fetcher.fetch(
            kind.list_url(state.url, 1) or state.url,
            etag=state.etag,
            last_modified=state.last_modified,
            referer=kind.referer,
        )
        fetch_seconds = time.monotonic() - started
        result, state = await _process(p, source, state, fetched, now, turn)
    except (SourceError, StoreError) as exc:
        result, state = _failure(p, source, state, exc, now)
    except Exception as exc:  # a bug must not kill the daemon; record it like a failure
        log.exception("internal error while polling %s", source.name)
        result, state = _failure(p, source, state, exc, now)
    if fetch_seconds is None and isinstance(result.error_kind, str):
        fetch_seconds = time.monotonic() - started  # a failed fetch took this long too
    result = replace(
        result,
        elapsed=time.monotonic() - started,
        next_poll=state.next_poll,
        fetch_seconds=fetch_seconds,
    )
    try:
        await p.db(p.store.save_state, state)
    except StoreError as exc:
        # The next poll time is in `result` all the same: the caller keeps polling, and
        # whatever this poll stored is stored again idempotently next time.
        log.error("%s: could not record the poll's outcome: %s", source.name, exc)
    if p.metrics is not None:
        p.metrics.observe_poll(result, now)
    _log_result(result)
    return result


async def _process(
    p: Pipeline,
    source: Source,
    state: SourceState,
    fetched: FetchResult,
    now: datetime,
    turn: Callable[[], Awaitable[object]] | None,
) -> tuple[PollResult, SourceState]:
    kind = KINDS[source.kind]
    state = replace(
        state,
        etag=fetched.etag or state.etag,
        last_modified=fetched.last_modified or state.last_modified,
    )
    # 304 and byte-identical bodies prove the redirect target serves what already parsed.
    body_hash = hashlib.sha256(fetched.body).hexdigest() if fetched.body is not None else None
    prepared = None
    if body_hash is None or body_hash == state.body_hash:
        state = _adopt_redirect(state, fetched)
        status: PollStatus = "not_modified" if body_hash is None else "unchanged"
    else:
        assert fetched.body is not None
        content_type = fetched.headers.get("content-type")
        known = frozenset() if kind.tracks_items else await p.db(p.store.item_hashes, source.name)
        args = (fetched.body, fetched.url, content_type, source, now, known)
        if known:
            # A feed stored before changes by a few items, which are all that get prepared:
            # not worth starting (or shipping to) worker processes, whatever its size.
            prepared = await asyncio.to_thread(prepare, *args)
        else:
            prepared = await p.workers.run(len(fetched.body), prepare, *args)
        # The warning stays on the source until a document parses without one (a 304 or an
        # identical body says the same document is still served).
        warning = "; ".join(message for _, message in prepared.warnings) or None
        state = _adopt_redirect(replace(state, body_hash=body_hash, last_warning=warning), fetched)
        status = "ok"
    if kind.tracks_items:  # pages waiting from earlier polls are due even when nothing moved
        counts = await _tracked(p, source, kind, state.url, prepared, now, turn)
    elif prepared is not None:
        if turn is not None:
            await turn()
        items = (source.name, prepared.hashes)
        counts = await p.db(p.store.upsert, prepared.articles, now, items)
    else:
        counts = UpsertResult()
    result = PollResult(
        source.name,
        status,
        new=counts.new,
        updated=counts.updated,
        merged=counts.merged,
        unchanged=counts.unchanged + (prepared.unchanged if prepared is not None else 0),
        warnings=tuple(prepared.warnings) if prepared is not None else (),
    )
    ttl = prepared.ttl_minutes if prepared is not None else None
    return result, _success(p, source, state, fetched, now, ttl=ttl)


# --- kinds that track their items: more list pages, article pages --------------

PAGE_RETRY_MAX = 6 * 3600.0  # a failing page is tried again at least this often


async def _tracked(
    p: Pipeline,
    source: Source,
    kind: Kind,
    url: str,
    first: Prepared | None,
    now: datetime,
    turn: Callable[[], Awaitable[object]] | None,
) -> UpsertResult:
    """New or revised items of a list → articles, each page fetched once per version."""
    items, mine = await _list_pages(p, source, kind, url, first, now)
    fresh = [i for i in items if (m := mine.get(i.key)) is None or m.done != i.version]
    paged = [i for i in fresh if i.page_url is not None]
    handled = await p.db(p.store.handled_anywhere, [i.key for i in paged]) if paged else set()
    whole = [i for i in fresh if i.page_url is None]
    attach = [i for i in paged if (i.key, i.version) in handled]
    wanted = [(i, mine[i.key].attempts if i.key in mine else 0) for i in paged if i not in attach]
    room = source.page_budget - len(wanted)
    retries = await p.db(p.store.pending_items, source.name, now, room, [i.key for i, _ in wanted])
    wanted += [(item_from_json(data), attempts) for data, attempts in retries]
    rows: list[ListedRow] = []
    fetch: list[tuple[Item, int]] = []
    for item, attempts in wanted:
        refusal = _refusal(url, item.page_url)
        if refusal:
            log.warning("%s: %s", source.name, refusal)
            rows.append(_row(item, error=refusal, error_kind="refused", refused=True))
        elif len(fetch) < source.page_budget:
            fetch.append((item, attempts))
        else:  # over this poll's budget: the next poll takes it
            rows.append(_row(item))
    results = await asyncio.gather(*(_page(p, kind, url, item) for item, _ in fetch))
    jobs: list[PageJob] = []
    for (item, attempts), got in zip(fetch, results, strict=True):
        if got is STORED:  # another list stored it meanwhile
            attach.append(item)
        elif isinstance(got, SourceError):
            rows.append(_failed(p, source, item, attempts, got.kind, str(got), now))
        elif isinstance(got, FetchResult) and got.body is not None:
            jobs.append(PageJob(item, got.body, got.url, got.headers.get("content-type")))
    if not (whole or jobs or attach):
        if rows:
            await p.db(p.store.record_listed, source.name, rows, now)
        _landed(p, [], [i for i, _ in fetch])
        return UpsertResult()
    size = sum(len(j.body) for j in jobs)
    done = await p.workers.run(size, complete, source, whole, jobs, attach, now)
    tries = dict(fetch)
    for job in jobs:
        if job.item.key in done.failed:
            kind_, message = done.failed[job.item.key]
            rows.append(_failed(p, source, job.item, tries[job.item], kind_, message, now))
    rows += [_row(i, done=True) for i in (*whole, *attach)]
    rows += [_row(j.item, done=True) for j in jobs if j.item.key in done.articles]
    if turn is not None:
        await turn()
    counts = await p.db(p.store.upsert, list(done.articles.values()), now)
    if done.attach:
        extra = await p.db(p.store.attach, done.attach, now)
        counts = replace(counts, merged=counts.merged + extra.merged)
    await p.db(p.store.record_listed, source.name, rows, now)
    _landed(p, [j.item for j in jobs if j.item.key in done.articles], [i for i, _ in fetch])
    return counts


PAGES_STORED_MEMORY = 10_000  # (key, version) pairs remembered as stored in this process


def _landed(p: Pipeline, stored: list[Item], fetched: list[Item]) -> None:
    """The poll recorded its pages: the stored ones are remembered, the flights let go."""
    for item in stored:
        p.pages_stored[(item.key, item.version)] = None
        p.pages_stored.move_to_end((item.key, item.version))
    while len(p.pages_stored) > PAGES_STORED_MEMORY:
        p.pages_stored.popitem(last=False)
    for item in fetched:
        p.page_flights.pop((item.key, item.version), None)


async def _list_pages(
    p: Pipeline, source: Source, kind: Kind, url: str, first: Prepared | None, now: datetime
) -> tuple[list[Item], dict[str, Listed]]:
    """The items of list page 1, then of page 2… until a page holds an item this source
    already listed, or the poll's list pages are used (a first poll backfills)."""
    if first is None:
        return [], {}
    limit = (
        source.list_pages
        if await p.db(p.store.has_listed, source.name)
        else (source.backfill_pages)
    )
    items: dict[str, Item] = {}
    mine: dict[str, Listed] = {}
    prepared, page = first, 1
    while True:
        new = [i for i in prepared.items if i.key not in items]
        known = await p.db(p.store.listed, source.name, [i.key for i in new])
        mine.update(known)
        items.update((i.key, i) for i in new)
        page += 1
        next_url = kind.list_url(url, page)
        if known or not new or not prepared.more or page > limit or next_url is None:
            break
        try:
            fetched = await p.fetcher.fetch(next_url, referer=kind.referer)
            if fetched.body is None:
                break
            ctype = fetched.headers.get("content-type")
            prepared = await p.workers.run(
                len(fetched.body), prepare, fetched.body, fetched.url, ctype, source, now
            )
        except SourceError as exc:  # keep what the earlier pages gave
            log.warning(
                "%s: list page %d failed (%s): %s",
                source.name,
                page,
                exc.kind,
                redact_text(str(exc)),
            )
            break
    return list(items.values()), mine


class _Stored:
    """A page another list stored while this one was deciding to fetch it."""


STORED = _Stored()


async def _page(
    p: Pipeline, kind: Kind, list_url: str, item: Item
) -> FetchResult | SourceError | _Stored:
    """Fetch an item's page once per version, however many lists carry it right now."""
    assert item.page_url is not None
    flight = (item.key, item.version)
    if flight in p.pages_stored:
        return STORED
    pending = p.page_flights.get(flight)
    if pending is None:  # kept until the poll that started it has stored its pages
        pending = asyncio.ensure_future(
            p.fetcher.fetch(item.page_url, referer=kind.referer, within_site_of=list_url)
        )
        p.page_flights[flight] = pending
    try:
        return await asyncio.shield(pending)
    except SourceError as exc:
        return exc


def _refusal(list_url: str, page_url: str | None) -> str | None:
    """Why a page may not be fetched for a list at `list_url`, or None: pages come only from
    the list's own site (same registrable domain; a local list: its own folder)."""
    if page_url is None:
        return "no page URL"
    if same_site(list_url, page_url):
        return None
    return redact_text(f"page {page_url} is not on the site of {list_url}: not fetched")


def _row(item: Item, *, done: bool = False, **error: Any) -> ListedRow:
    return ListedRow(
        key=item.key,
        version=item.version,
        page_url=item.page_url,
        item=None if done else item_to_json(item),
        done=done,
        **error,
    )


def _failed(
    p: Pipeline, source: Source, item: Item, attempts: int, kind: str, message: str, now: datetime
) -> ListedRow:
    """A page that failed: tried again on a later poll, later each time (never given up)."""
    message = redact_text(message)
    log.warning("%s: page of %s failed (%s): %s", source.name, item.key, kind, message)
    delay = min(PAGE_RETRY_MAX, source.interval * 2.0 ** min(attempts, 20))
    retry = now + timedelta(seconds=delay * p.rng.uniform(0.5, 1.0))
    return _row(item, error=message, error_kind=kind, next_try=retry)


def _adopt_redirect(state: SourceState, fetched: FetchResult) -> SourceState:
    """A 301/308 is followed at once; the stored URL moves only when seen twice and parsed."""
    target = fetched.permanent_redirect
    if not target:
        return replace(state, redirect_candidate=None)
    if state.redirect_candidate == target:
        log.info("%s moved permanently to %s: adopting the new URL", state.name, target)
        return replace(state, url=with_credentials_of(target, state.url), redirect_candidate=None)
    return replace(state, redirect_candidate=target)


def _success(
    p: Pipeline,
    source: Source,
    state: SourceState,
    fetched: FetchResult,
    now: datetime,
    ttl: int | None = None,
) -> SourceState:
    delay = next_delay(
        interval=source.interval,
        error_count=0,
        retry_after=fetched.retry_after,
        ttl_minutes=ttl,
        rng=p.rng,
    )
    return replace(
        state,
        last_success=now,
        last_error=None,
        last_error_kind=None,
        error_count=0,
        next_poll=now + timedelta(seconds=delay),
    )


def _failure(
    p: Pipeline, source: Source, state: SourceState, exc: BaseException, now: datetime
) -> tuple[PollResult, SourceState]:
    kind = classify(exc)
    message = redact_text(str(exc) or type(exc).__name__)
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    errors = state.error_count + 1
    delay = next_delay(
        interval=source.interval, error_count=errors, retry_after=retry_after, rng=p.rng
    )
    gone = kind == "http_410"
    state = replace(
        state,
        last_error=message,
        last_error_kind=kind,
        error_count=errors,
        gone=gone,
        next_poll=None if gone else now + timedelta(seconds=delay),
    )
    status: PollStatus = "gone" if gone else "error"
    return PollResult(source.name, status, error_kind=kind, error=message), state


def _unrecorded(
    p: Pipeline, source: Source, exc: StoreError, now: datetime, started: float
) -> PollResult:
    """A poll that could not even read its source's state: failed, retried after a backoff."""
    delay = next_delay(interval=source.interval, error_count=1, rng=p.rng)
    result = PollResult(
        source.name,
        "error",
        error_kind=classify(exc),
        error=str(exc),
        elapsed=time.monotonic() - started,
        next_poll=now + timedelta(seconds=delay),
    )
    if p.metrics is not None:
        p.metrics.observe_poll(result, now)
    _log_result(result)
    return result


def _log_result(r: PollResult) -> None:
    after = rfc3339(r.next_poll) if r.next_poll else "not scheduled"
    for kind, message in r.warnings:
        log.warning("%s: %s: %s", r.source, kind, message)
    if r.status in ("error", "gone"):
        log.warning(
            "%s: %s (%s): %s; next poll %s", r.source, r.status, r.error_kind, r.error, after
        )
    else:
        log.info(
            "%s: %s new=%d updated=%d merged=%d (%.2fs); next poll %s",
            r.source,
            r.status,
            r.new,
            r.updated,
            r.merged,
            r.elapsed,
            after,
        )


async def poll_all(
    p: Pipeline, sources: tuple[Source, ...], now: datetime, progress: Progress | None = None
) -> list[PollResult]:
    """Poll the sources concurrently (the fetcher bounds per-host concurrency); store their
    batches in config order, so the first-listed outlet's copy of a story is the kept one."""
    stored = [asyncio.Event() for _ in sources]

    async def one(i: int, source: Source) -> PollResult:
        try:
            return await poll_source(p, source, now, stored[i - 1].wait if i else None)
        finally:
            stored[i].set()
            if progress is not None:
                progress.step()

    polls = [asyncio.ensure_future(one(i, s)) for i, s in enumerate(sources)]
    try:
        return list(await asyncio.gather(*polls))
    except asyncio.CancelledError:
        # gather returns at the first poll cancelled; the others may still wait for a store
        # call in its thread (`Pipeline.db`), and the caller closes the store next.
        await asyncio.wait(polls)
        raise
