"""`aggregator run`: wiring of scheduler, polls, publisher and server in one event loop.

Shutdown order on SIGTERM/SIGINT: stop scheduling, let in-flight polls finish (each commits
its batch in one transaction), publish once more if anything changed, stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from . import __version__
from .dates import rfc3339
from .errors import ConfigError
from .fetch import Fetcher
from .metrics import Metrics
from .models import PollResult, Settings, Source, SourceState
from .once import utcnow
from .poll import Pipeline, poll_source, write_outputs
from .server import create_app
from .store import Store
from .workers import Workers

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _Publisher:
    """Coalesces publish requests: many polls finishing together cause one rebuild."""

    def __init__(self, p: Pipeline, delay: float = 0.5) -> None:
        self._p = p
        self._delay = delay
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def request(self) -> None:
        self._wanted.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while self._wanted.is_set():
            await asyncio.sleep(self._delay)
            self._wanted.clear()
            await self.publish_now()

    async def publish_now(self) -> None:
        try:
            p = self._p
            changed = await p.db(write_outputs, p.settings, p.store, p.workers)
            if changed:
                log.info("published %d changed output(s)", len(changed))
        except Exception:
            log.exception("publishing failed; previous outputs stay in place")

    async def flush(self) -> None:
        if self._task is not None:
            await self._task


class Daemon:
    """Scheduler + HTTP server in one event loop."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.workers = Workers(settings.workers)
        self.p = Pipeline(settings, store, fetcher, self.metrics, workers=self.workers)
        self.publisher = _Publisher(self.p)
        self.states: dict[str, SourceState] = {}
        self.inflight: set[asyncio.Task[PollResult]] = set()
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.stopping = False
        self.rng = random.Random()
        self.grace = 3.0  # seconds in-flight polls get on shutdown

    def health(self) -> tuple[bool, dict[str, Any]]:
        sources = []
        for s in self.settings.sources:
            st = self.states.get(s.name)
            sources.append(
                {
                    "name": s.name,
                    "state": _source_health(st),
                    "url": st.url if st else s.url,
                    "last_success": _iso(st.last_success) if st else None,
                    "last_error": st.last_error if st else None,
                    "last_error_kind": st.last_error_kind if st else None,
                    "error_count": st.error_count if st else 0,
                    "next_poll": _iso(st.next_poll) if st else None,
                    "gone": st.gone if st else False,
                }
            )
        states = [x["state"] for x in sources]
        failing = sum(x in ("failing", "gone") for x in states)
        healthy = self.scheduler.running and not self.stopping and failing < len(sources)
        if not healthy:
            status = "unhealthy"
        elif failing:
            status = "degraded"
        elif "pending" in states:
            status = "starting"  # some source has not had its first successful poll yet
        else:
            status = "ok"
        return healthy, {"status": status, "sources": sources}

    async def _job(self, source: Source) -> None:
        if self.stopping:
            return
        task = asyncio.create_task(poll_source(self.p, source, utcnow()))
        self.inflight.add(task)
        try:
            result = await task
        except asyncio.CancelledError:
            return  # shutting down
        finally:
            self.inflight.discard(task)
        self.states[source.name] = await self.p.db(
            self.p.store.source_state, source.name, source.url
        )
        if result.changed:
            self.publisher.request()
        # A gone source is still looked at on its interval (cheaply, no network) so that
        # `aggregator enable` takes effect without a restart.
        when = result.next_poll or utcnow() + timedelta(seconds=source.interval)
        self._schedule(source, when)

    def _schedule(self, source: Source, when: datetime) -> None:
        if self.stopping:
            return
        self.scheduler.add_job(
            self._job, "date", run_date=when, args=[source], id=source.name, replace_existing=True
        )

    async def start(self) -> None:
        now = utcnow()
        for s in self.settings.sources:
            st = await self.p.db(self.p.store.source_state, s.name, s.url)
            self.states[s.name] = st
            self.metrics.restore(st)
        await self.publisher.publish_now()  # serve what is stored at once
        self.scheduler.start()
        for s in self.settings.sources:
            st = self.states[s.name]
            # Spread the first polls so a restart does not hit every source at once.
            first = now + timedelta(seconds=self.rng.uniform(0, min(s.interval, 5.0)))
            if st.next_poll and st.next_poll > first:
                first = st.next_poll
            _log_plan(s, st, first, now)
            self._schedule(s, first)

    async def stop(self) -> None:
        self.stopping = True
        self.scheduler.pause()
        if self.inflight:
            # Polls still fetching after a short grace are cancelled: nothing of theirs is
            # stored yet, and a batch being stored finishes its transaction first (Pipeline.db).
            log.info("waiting for %d in-flight poll(s)", len(self.inflight))
            _, pending = await asyncio.wait(self.inflight, timeout=self.grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self.publisher.flush()
        async with self.p.db_lock:  # no store call is running past this point
            pass
        await asyncio.to_thread(self.workers.close)
        self.scheduler.shutdown(wait=False)


async def run_daemon(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    listener = _listen(settings.server_host, settings.server_port)  # fail before polling
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    store = Store(settings.storage_path, settings.dedup)
    try:
        async with Fetcher(settings.fetch) as fetcher:
            daemon = Daemon(settings, store, fetcher)
            _log_setup(settings, served_url(settings.server_host, listener.getsockname()[1]))
            await daemon.start()
            app = create_app(settings.output.dir, health=daemon.health, metrics=daemon.metrics)
            config = uvicorn.Config(
                app,
                host=settings.server_host,
                port=settings.server_port,
                lifespan="off",
                access_log=False,
                log_config=None,  # its loggers go through ours (logs.setup)
            )
            server = _Server(config)
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            code = 0
            if serving in done:  # the server ended by itself: it could not bind, most likely
                log.error("HTTP server stopped unexpectedly")
                code = 1
            log.info("shutting down")
            await daemon.stop()
            server.should_exit = True
            if serving not in done:
                await serving
            stopping.cancel()
            return code
    finally:
        store.close()
        listener.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _listen(host: str, port: int) -> socket.socket:
    """Bind the HTTP port up front: a port in use is a clear configuration error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            "server.port", f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc
    return sock


def _source_health(st: SourceState | None) -> str:
    """ok | pending (never succeeded, not failing yet) | failing | gone."""
    if st is None:
        return "pending"
    if st.gone:
        return "gone"
    if st.error_count:
        return "failing"
    return "ok" if st.last_success else "pending"


def _iso(dt: datetime | None) -> str | None:
    return rfc3339(dt) if dt else None


def served_url(host: str, port: int) -> str:
    """The URL to open for what `run` serves on host:port."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host)
    if shown is None:
        shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _log_setup(settings: Settings, url: str) -> None:
    """One line per essential fact, before anything else happens."""
    log.info("sina-aggregator %s starting (pid %d)", __version__, os.getpid())
    log.info("config: %s", settings.config_path)
    log.info("database: %s", settings.storage_path.resolve())
    log.info("output: %s", settings.output.dir.resolve())
    if settings.output.posts_dir is not None:
        log.info("posts: %s", settings.output.posts_dir.resolve())
    every = " (all interfaces)" if settings.server_host in ("0.0.0.0", "::", "") else ""
    log.info("serving %s%s: feed %sfeed.atom, health %shealthz", url, every, url, url)


def _log_plan(source: Source, state: SourceState, when: datetime, now: datetime) -> None:
    """When a source is polled next, and why then (first poll, schedule, backoff, gone)."""
    wait = _human(max(0.0, (when - now).total_seconds()))
    head = f"source {source.name}: {state.url} every {_human(source.interval)}"
    if state.gone:
        log.warning(
            "%s; gone (410 Gone): not polled until `aggregator enable %s`", head, source.name
        )
    elif state.error_count:
        log.info(
            "%s; backing off after %d failure(s) (last: %s: %s); next poll %s (in %s)",
            head,
            state.error_count,
            state.last_error_kind,
            state.last_error,
            rfc3339(when),
            wait,
        )
    elif state.last_success is None:
        log.info("%s; never polled; first poll %s (in %s)", head, rfc3339(when), wait)
    else:
        log.info(
            "%s; last success %s; next poll %s (in %s)",
            head,
            rfc3339(state.last_success),
            rfc3339(when),
            wait,
        )


def _human(seconds: float) -> str:
    """120 → '2m', 5400 → '1h30m', 4 → '4s'."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m}m{r}s" if r else f"{m}m"
    h, r = divmod(s, 3600)
    m = r // 60
    return f"{h}h{m}m" if m else f"{h}h"
