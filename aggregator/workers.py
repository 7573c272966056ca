"""A lazily started pool of worker processes for the CPU-bound stages (parse, clean, dedup
signature), so a big ingest uses every core instead of one thread under the GIL.

Small documents stay in a thread of the main process: shipping them costs more than it
saves. A crashed worker (BrokenProcessPool) fails only the poll it was running; the pool
is started afresh for the next one.

Workers are forked from a fork server that imported PRELOAD once, instead of each importing
it. They ignore SIGINT/SIGTERM (the main process shuts them down) and leave by themselves
when the main process is gone, however it ended.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .errors import SourceError

if TYPE_CHECKING:  # multiprocessing is imported only when a pool is started
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.context import BaseContext

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MIN_BYTES = 64 * 1024  # documents smaller than this are processed in a thread


# What worker jobs run (`prepare`, `complete`, `outputs.render_in_worker`), the modules they
# import inside functions (measured: every module a worker of a cold `once` had loaded), and
# the CLI, which a worker re-runs as `__mp_main__` when `aggregator` was started as a script:
# imported once, by the fork server, so each worker forked from it starts with them loaded.
PRELOAD = (
    "aggregator.cli",
    "aggregator.prepare",
    "aggregator.clean",
    "aggregator.dedup",
    "aggregator.merge",
    "aggregator.normalize",
    "aggregator.parse",
    "aggregator.sites.domains",
    "aggregator.outputs",
    "aggregator.outputs.formats",
    "aggregator.store",
    "feedgen.feed",
    "lxml.etree",
    "lxml.html",
    "nh3",
    "numpy",
    "opencc",
    "publicsuffixlist",
)
_STOPPING = {signal.SIGINT, signal.SIGTERM}


def _worker_init() -> None:
    # The main process owns SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # A main process killed outright (kill -9, OOM) cannot shut the pool down: the worker
    # would wait for work forever. It leaves as soon as the main process is gone. Not by
    # its parent: a worker's parent is the fork server, which outlives the main process.
    threading.Thread(target=_exit_with_main, daemon=True).start()


def _exit_with_main() -> None:
    import multiprocessing

    main = multiprocessing.parent_process()  # the process that started us, not our parent
    if main is not None:
        main.join()  # its end of a pipe: readable at its exit, whichever way it ended
    os._exit(1)


class Workers:
    """`await workers.run(size, fn, *args)`: in a worker process when worth it."""

    def __init__(self, processes: int, min_bytes: int = MIN_BYTES) -> None:
        self.processes = processes
        self.min_bytes = min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # polls start it from the loop, publishing from a thread

    @property
    def running(self) -> bool:
        """Whether the worker processes are started (no call starts them to answer)."""
        return self._pool is not None

    async def run(self, size: int, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.processes < 1 or size < self.min_bytes:
            return await asyncio.to_thread(fn, *args, **kwargs)
        from concurrent.futures.process import BrokenProcessPool

        pool = self._started()
        if pool is None:
            return await asyncio.to_thread(fn, *args, **kwargs)
        try:
            # From a thread: a submit that starts a worker waits until the fork server has
            # preloaded and forked it, which must not hold up the event loop. Cancelled, it
            # still waits for that thread: the pool's shutdown must not race a starting worker.
            submitting = asyncio.ensure_future(
                asyncio.to_thread(pool.submit, _call, fn, args, kwargs)
            )
            try:
                future = await asyncio.shield(submitting)
            except asyncio.CancelledError:
                await asyncio.wait({submitting})
                raise
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            log.error("a worker process died; starting a new pool")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise SourceError("worker_crashed", "the worker process died") from exc

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T] | None:
        """Start `fn(*args)` in a worker process; None when there are no worker processes
        or the pool is broken (the caller then does the work itself)."""
        if self.processes < 1:
            return None
        from concurrent.futures.process import BrokenProcessPool

        pool = self._started()
        if pool is None:
            return None
        try:
            return pool.submit(fn, *args)
        except BrokenProcessPool as exc:
            self.forget_if_broken(exc)
            return None

    def forget_if_broken(self, error: BaseException) -> None:
        """After `error` from a submitted call: if a worker died (BrokenProcessPool), drop
        the pool so the next call starts a new one."""
        from concurrent.futures.process import BrokenProcessPool

        if not isinstance(error, BrokenProcessPool):
            return
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _started(self) -> ProcessPoolExecutor | None:
        """The pool, started if need be; None when processes cannot be started here (no
        /dev/shm, a process limit): the work is then done in threads, said once."""
        with self._lock:
            if self._pool is None and self.processes > 0:
                from concurrent.futures import ProcessPoolExecutor

                try:
                    self._pool = ProcessPoolExecutor(
                        max_workers=self.processes,
                        mp_context=_context(),
                        initializer=_worker_init,
                    )
                except (OSError, ImportError, ValueError) as exc:
                    log.warning("cannot start worker processes (%s); working in threads", exc)
                    self.processes = 0
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _context() -> BaseContext:
    """Not fork: the main process has threads (uvicorn, to_thread workers). A fork server
    with PRELOAD imported, started once per main process; spawn where that would not import
    this package (see `_preload_is_ours`)."""
    import multiprocessing

    if not _preload_is_ours():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver, resource_tracker

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    # Started here, with SIGINT/SIGTERM blocked (as multiprocessing's resource tracker is
    # started): the server inherits the mask, and its workers from it, so a Ctrl-C or a
    # `kill` of the process group neither kills it mid-import nor interrupts a worker before
    # `_worker_init` ignores them. It leaves when the main process and its workers are gone.
    # Run again for every new pool: a fork server killed since is started afresh, masked.
    # The resource tracker first: starting it unblocks both signals when it is done.
    resource_tracker.ensure_running()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return context


def _preload_is_ours() -> bool:
    """Whether the fork server would preload this very package. Python 3.11 to 3.12.7 start
    it as `python -c …` and ignore the sys.path sent to it (CPython gh-117378): its sys.path
    starts with the working directory, where another checkout's `aggregator` would be found
    first. Its other entries come from the same interpreter and environment as ours."""
    from importlib.machinery import PathFinder

    package = __package__ or "aggregator"
    there = PathFinder.find_spec(package, [os.getcwd()])
    if there is None or there.origin is None:
        return True
    here = sys.modules[package].__file__
    same = here is not None and os.path.realpath(there.origin) == os.path.realpath(here)
    if not same:
        log.info("another %s package in %s: worker processes are spawned", package, os.getcwd())
    return same


def _call(fn: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return fn(*args, **kwargs)
