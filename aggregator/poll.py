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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .dates import rfc3339
from .errors import FetchError, SourceError, StoreError
from .fetch import Fetcher
from .models import (
    FetchResult,
    PollResult,
    PollStatus,
    Settings,
    Source,
    SourceState,
)
from .prepare import prepare
from .progress import Progress
from .schedule import classify, next_delay
from .store import Store
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
        fetched = await p.fetcher.fetch(
            state.url, etag=state.etag, last_modified=state.last_modified
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
    state = replace(
        state,
        etag=fetched.etag or state.etag,
        last_modified=fetched.last_modified or state.last_modified,
    )
    # 304 and byte-identical bodies prove the redirect target serves what already parsed.
    if fetched.body is None or hashlib.sha256(fetched.body).hexdigest() == state.body_hash:
        state = _adopt_redirect(state, fetched)
    if fetched.body is None:
        return PollResult(source.name, "not_modified"), _success(p, source, state, fetched, now)
    body_hash = hashlib.sha256(fetched.body).hexdigest()
    if body_hash == state.body_hash:
        return PollResult(source.name, "unchanged"), _success(p, source, state, fetched, now)
    content_type = fetched.headers.get("content-type")
    ttl, articles, warnings = await p.workers.run(
        len(fetched.body), prepare, fetched.body, fetched.url, content_type, source, now
    )
    if turn is not None:
        await turn()
    counts = await p.db(p.store.upsert, articles, now)
    # The warning stays on the source until a document parses without one (a 304 or an
    # identical body says the same document is still served).
    warning = "; ".join(message for _, message in warnings) or None
    state = _adopt_redirect(replace(state, body_hash=body_hash, last_warning=warning), fetched)
    result = PollResult(
        source.name,
        "ok",
        new=counts.new,
        updated=counts.updated,
        merged=counts.merged,
        unchanged=counts.unchanged,
        warnings=tuple(warnings),
    )
    return result, _success(p, source, state, fetched, now, ttl=ttl)


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

    return list(await asyncio.gather(*(one(i, s) for i, s in enumerate(sources))))
