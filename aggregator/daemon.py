"""`aggregator run`: wiring of scheduler, polls, publisher and server in one event loop.

Shutdown order on SIGTERM/SIGINT: stop scheduling, let in-flight polls finish (each commits
its batch in one transaction), publish once more if anything changed, stop the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from . import __version__
from . import serving as http
from .dates import rfc3339, utcnow
from .errors import ConfigError
from .fetch import Fetcher
from .metrics import Metrics
from .models import Settings, Source, SourceState
from .outputs import Skipped, SkipReport, find_missing, publish, skip_report, skipped_by_output
from .outputs import intact as outputs_intact
from .pidfile import PidFile
from .poll import Pipeline, poll_source
from .server import create_app
from .store import Store
from .urls import redact, redact_text
from .workers import Workers

log = logging.getLogger(__name__)


class _Publisher:
    """Coalesces publish requests: many polls finishing together cause one rebuild.

    The last attempt's failure is kept for /healthz: outputs that cannot be written are
    an outage even while every poll succeeds."""

    def __init__(self, p: Pipeline, delay: float = 0.5) -> None:
        self._p = p
        self._delay = delay
        self._wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.error: str | None = None  # the last publish's failure; None once one succeeds
        # What the last publish that ran left out (outputs.skip_report), for /healthz.
        self.skipped: SkipReport = {"skipped": 0, "by_output": {}, "articles": []}

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
            left_out: list[Skipped] = []
            changed = await p.db(publish, p.settings, p.store, p.workers, skipped=left_out)
            if changed:
                log.info("published %d changed output(s)", len(changed))
            self.error = None
            self.skipped = await p.db(skip_report, p.store)
            if p.metrics is not None:
                p.metrics.observe_publish(skipped_by_output(left_out), self.skipped["skipped"])
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            log.exception("publishing failed; previous outputs stay in place")

    async def flush(self) -> None:
        if self._task is not None:
            await self._task


TICK = 0.5  # seconds between looks at which sources are due
OUTPUTS_CHECK = 10  # ticks between looks at whether the outputs are still there
# Looks at the outputs between two that list every per-article folder even if its state
# says nobody touched it (a coarse file-system clock can hide a removal): about 30 min.
OUTPUTS_RECOUNT = 360


class Daemon:
    """Scheduler + HTTP server in one event loop.

    When each source is polled next is data (`due`, saved as `sources.next_poll` by each
    poll), not a one-shot job per source: one APScheduler interval job (the tick) starts
    every due source that is not already being polled. A poll longer than its interval
    just makes the next one start late (overruns coalesce); a tick never waits for a poll,
    so it cannot be skipped by it; and whatever a poll raises, the source gets a due time
    again. Nothing can drop a source from the schedule but `set_sources`.
    """

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.workers = Workers(settings.workers)
        self.p = Pipeline(settings, store, fetcher, self.metrics, workers=self.workers)
        self.publisher = _Publisher(self.p)
        self.sources: dict[str, Source] = {}
        self.states: dict[str, SourceState] = {}
        self.due: dict[str, datetime] = {}  # source name → when it is polled next
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self.started_at: dict[str, datetime] = {}  # in-flight polls: when each started
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.stopping = False
        self._ticks = 0
        self._completeness: asyncio.Task[None] | None = None
        self.rng = random.Random()
        self.grace = 3.0  # seconds in-flight polls get on shutdown

    def health(self) -> tuple[bool, dict[str, Any]]:
        now = utcnow()
        sources = []
        for s in self.sources.values():
            st = self.states.get(s.name)
            due = self.due.get(s.name)
            sources.append(
                {
                    "name": s.name,
                    "state": _source_health(st),
                    "url": redact(st.url if st else s.url),
                    "last_success": _iso(st.last_success) if st else None,
                    "last_error": redact_text(st.last_error) if st and st.last_error else None,
                    "last_error_kind": st.last_error_kind if st else None,
                    "error_count": st.error_count if st else 0,
                    "last_warning": st.last_warning if st else None,
                    "next_poll": _iso(due),
                    "polling": s.name in self.inflight,
                    "overdue": self._overdue(s, now),
                    "gone": st.gone if st else False,
                    "pages_pending": st.pages_pending if st else 0,
                    "last_page_error": redact_text(st.last_page_error)
                    if st and st.last_page_error
                    else None,
                }
            )
        failing = [x for x in sources if x["state"] in ("failing", "gone")]
        warned = [x for x in sources if x["last_warning"]]
        overdue = [x["name"] for x in sources if x["overdue"]]
        healthy = (
            self.scheduler.running
            and not self.stopping
            and len(failing) < len(sources)
            and not overdue
            and self.publisher.error is None
        )
        if not healthy:
            status = "unhealthy"
        elif failing or warned or self.publisher.skipped["skipped"]:
            status = "degraded"
        elif any(x["state"] == "pending" for x in sources):
            status = "starting"  # some source has not had its first successful poll yet
        else:
            status = "ok"
        publishing = {
            "ok": self.publisher.error is None,
            "error": self.publisher.error,
            "skipped": self.publisher.skipped["skipped"],
            "skipped_by_output": self.publisher.skipped["by_output"],
            "skipped_articles": self.publisher.skipped["articles"],
        }
        return healthy, {"status": status, "publishing": publishing, "sources": sources}

    def _overdue(self, source: Source, now: datetime) -> bool:
        """Late by more than twice the interval; a poll in progress gets the fetch deadline
        on top (it started on time and ends by then, unless something is stuck)."""
        st = self.states.get(source.name)
        due = self.due.get(source.name)
        if due is None or (st is not None and st.gone):
            return False
        late = 2 * source.interval
        started = self.started_at.get(source.name)
        if started is not None:
            due, late = started, late + self.settings.fetch.deadline
        return (now - due).total_seconds() > late

    async def _tick(self) -> None:
        """Start every due source that is not being polled already. Never raises."""
        try:
            if self.stopping:
                return
            now = utcnow()
            self._ticks += 1
            if self._ticks % OUTPUTS_CHECK == 0:
                # Removed, emptied or thinned out while running: every source may say 304
                # for hours, so publishing cannot wait for a change.
                if not outputs_intact(self.settings):
                    self.publisher.request()  # it rebuilds in full
                elif self._completeness is None or self._completeness.done():
                    force = self._ticks % (OUTPUTS_CHECK * OUTPUTS_RECOUNT) == 0
                    self._completeness = asyncio.create_task(self.restore_missing(force=force))
            for name, when in self.due.items():
                if when <= now and name not in self.inflight:
                    self.started_at[name] = now
                    task = asyncio.create_task(self._poll(self.sources[name]))
                    self.inflight[name] = task
        except Exception:  # the tick must survive anything: it is the whole schedule
            log.exception("scheduler tick failed")

    async def restore_missing(self, *, force: bool = False) -> None:
        """Have the next publish write the posts and pages that went missing. Never raises."""
        try:
            if await self.p.db(find_missing, self.settings, self.p.store, force=force):
                self.publisher.request()
        except Exception:
            log.exception("looking for missing output files failed; looking again later")

    async def _poll(self, source: Source) -> None:
        """Poll one source and give it its next due time, whatever happens."""
        name = source.name
        when: datetime | None = None
        try:
            result = await poll_source(self.p, source, utcnow())
            if result.changed:
                self.publisher.request()
            # A gone source is still looked at on its interval (cheaply, no network) so
            # that `aggregator enable` takes effect without a restart.
            when = result.next_poll
            self.states[name] = await self.p.db(self.p.store.source_state, name, source.url)
        except asyncio.CancelledError:
            raise  # shutting down
        except Exception:
            log.exception("%s: poll failed outside the pipeline; polled again later", name)
        finally:
            self.inflight.pop(name, None)
            self.started_at.pop(name, None)
            if self.sources.get(name) is source:  # not removed or replaced meanwhile
                self.due[name] = when or utcnow() + timedelta(seconds=source.interval)

    async def set_sources(self, sources: Iterable[Source]) -> None:
        """Make `sources` the polled set (start, and reload: added, removed, re-timed or
        re-pointed sources). A poll in flight for a removed or changed source finishes but
        does not reschedule the old definition."""
        now = utcnow()
        wanted = {s.name: s for s in sources}
        for name in set(self.sources) - set(wanted):
            del self.sources[name]
            self.due.pop(name, None)
            self.states.pop(name, None)
        for name, s in wanted.items():
            old = self.sources.get(name)
            if old == s:
                continue
            st = await self.p.db(self.p.store.source_state, s.name, s.url)
            self.states[name] = st
            self.metrics.restore(st)
            self.sources[name] = s
            # Spread the first polls so a restart does not hit every source at once.
            first = now + timedelta(seconds=self.rng.uniform(0, min(s.interval, 5.0)))
            retimed = old is not None and old.interval != s.interval
            if retimed and not st.error_count and st.last_success:
                # A reload changed the interval: count it from the last poll, not the stored
                # next poll (computed with the old interval). A backoff is kept as it is.
                first = max(first, st.last_success + timedelta(seconds=s.interval))
            elif st.next_poll and st.next_poll > first:  # a backoff survives a restart
                first = st.next_poll
            self.due[name] = first
            _log_plan(s, st, first, now)

    async def reload(self) -> None:
        """Re-read the config file and apply it; a bad one is refused, the old one kept.

        Sources are added, removed, re-timed and re-pointed; output settings and the log
        level apply at once. What the store, the server and the fetcher were built with
        (database, output folder, listen address, fetch limits, dedup, workers) needs a
        restart: a change there is logged and the running value kept.
        """
        from . import config, logs

        old = self.settings
        try:
            new = await asyncio.to_thread(config.load, old.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            return
        was, now = _restart_only(old), _restart_only(new)
        for key in was:
            if now[key] != was[key]:
                log.warning("reload: %s changed; that takes effect after a restart", key)
        new = replace(
            new,
            storage_path=old.storage_path,
            output=replace(new.output, dir=old.output.dir),
            server_host=old.server_host,
            server_port=old.server_port,
            fetch=old.fetch,
            dedup=old.dedup,
            workers=old.workers,
        )
        before = dict(self.sources)
        after = {s.name: s for s in new.sources}
        self.settings = self.p.settings = new
        if new.log_level != old.log_level:
            logs.set_level(new.log_level)
        await self.set_sources(new.sources)
        added = [n for n in after if n not in before]
        removed = [n for n in before if n not in after]
        changed = [n for n in after if n in before and after[n] != before[n]]
        if new.output != old.output:
            self.publisher.request()
        if not (added or removed or changed or new != old):
            log.info("reloaded %s: nothing changed", new.config_path)
            return
        log.info(
            "reloaded %s: %d source(s); added: %s; removed: %s; changed: %s%s",
            new.config_path,
            len(after),
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
            ", ".join(changed) or "none",
            "; output settings changed: publishing again" if new.output != old.output else "",
        )

    async def start(self) -> None:
        await self.set_sources(self.settings.sources)
        await self.restore_missing()
        await self.publisher.publish_now()  # serve what is stored at once
        self.scheduler.add_job(
            self._tick,
            "interval",
            seconds=TICK,
            id="tick",
            next_run_time=utcnow(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.start()

    async def stop(self) -> None:
        self.stopping = True
        self.scheduler.pause()
        inflight = set(self.inflight.values())
        if inflight:
            # Polls still fetching after a short grace are cancelled: nothing of theirs is
            # stored yet, and a batch being stored finishes its transaction first (Pipeline.db).
            log.info("waiting for %d in-flight poll(s)", len(inflight))
            _, pending = await asyncio.wait(inflight, timeout=self.grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._completeness is not None:
            await self._completeness
        await self.publisher.flush()
        async with self.p.db_lock:  # no store call is running past this point
            pass
        await asyncio.to_thread(self.workers.close)
        self.scheduler.shutdown(wait=False)


async def run_daemon(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, reloading the config on SIGHUP; returns the exit code."""
    with PidFile(settings.storage_path):  # one daemon per database; `reload` finds it
        return await _serve(settings)


async def _serve(settings: Settings) -> int:
    listener = _listen(settings.server_host, settings.server_port)  # fail before polling
    fd_limit = http.raise_fd_limit()
    cap = http.connection_cap(fd_limit, http.fd_reserve(settings))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    hup = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hup.set)
    store = Store(settings.storage_path, settings.dedup)
    reloads: asyncio.Task[None] | None = None
    try:
        async with Fetcher(settings.fetch) as fetcher:
            daemon = Daemon(settings, store, fetcher)
            _log_setup(settings, served_url(settings.server_host, listener.getsockname()[1]))
            log.info("connections: at most %d at once (open-files limit %d)", cap, fd_limit)
            await daemon.start()
            reloads = asyncio.create_task(_reload_on(hup, daemon))
            from .live import LiveSite

            live = LiveSite(
                settings.output, settings.storage_path, lambda: daemon.health()[1]["sources"]
            )
            app = create_app(
                settings.output.dir, health=daemon.health, metrics=daemon.metrics, site=live
            )
            config = uvicorn.Config(
                app,
                host=settings.server_host,
                port=settings.server_port,
                lifespan="off",
                access_log=False,
                log_config=None,  # its loggers go through ours (logs.setup)
                timeout_keep_alive=int(http.KEEP_ALIVE),
                limit_concurrency=cap,
            )
            server = http.Server(config, cap)
            listener.guard(cap, fd_limit, server.make_room)
            http.limit_server_logs()
            serving = asyncio.create_task(server.serve(sockets=[listener]))
            stopping = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            code = 0
            if serving in done:  # the server ended by itself: it could not bind, most likely
                log.error("HTTP server stopped unexpectedly")
                code = 1
            log.info("shutting down")
            reloads.cancel()
            await daemon.stop()
            server.should_exit = True
            if serving not in done:
                await serving
            stopping.cancel()
            live.close()
            return code
    finally:
        if reloads is not None:
            reloads.cancel()
        store.close()
        listener.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)


async def _reload_on(hup: asyncio.Event, daemon: Daemon) -> None:
    """Reload on each SIGHUP; several arriving during one reload cause one more."""
    while True:
        await hup.wait()
        hup.clear()
        log.info("SIGHUP: reloading %s", daemon.settings.config_path)
        try:
            await daemon.reload()
        except Exception:  # keep serving with what runs now
            log.exception("reload failed; keeping the running config")


def _listen(host: str, port: int) -> http.Listener:
    """Bind the HTTP port up front: a port in use is a clear configuration error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = http.Listener(family)
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


def _restart_only(s: Settings) -> dict[str, object]:
    """Settings the store, server, fetcher and workers were built with (see `reload`)."""
    return {
        "storage.path": s.storage_path,
        "output.dir": s.output.dir,
        "server.host": s.server_host,
        "server.port": s.server_port,
        "[fetch]": s.fetch,
        "[dedup]": s.dedup,
        "workers": s.workers,
    }


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
