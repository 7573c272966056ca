"""A lazily started pool of worker processes for the CPU-bound stages (parse, clean, dedup
signature), so a big ingest uses every core instead of one thread under the GIL.

Small documents stay in a thread of the main process: shipping them costs more than it
saves. A crashed worker (BrokenProcessPool) fails only the poll it was running; the pool
is started afresh for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .errors import SourceError

if TYPE_CHECKING:  # multiprocessing is imported only when a pool is started
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MIN_BYTES = 64 * 1024  # documents smaller than this are processed in a thread


ORPHAN_CHECK = 0.5  # seconds between a worker's looks at whether its parent still lives


def _worker_init(parent: int) -> None:
    # The parent owns SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # A parent killed outright (kill -9, OOM) cannot shut the pool down: the worker would
    # wait for work forever. It leaves as soon as it has been re-parented.
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK)
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
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, _call, fn, args, kwargs)
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
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                try:
                    # spawn, not fork: the parent has threads (uvicorn, to_thread workers).
                    self._pool = ProcessPoolExecutor(
                        max_workers=self.processes,
                        mp_context=multiprocessing.get_context("spawn"),
                        initializer=_worker_init,
                        initargs=(os.getpid(),),
                    )
                except (OSError, ImportError) as exc:
                    log.warning("cannot start worker processes (%s); working in threads", exc)
                    self.processes = 0
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _call(fn: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return fn(*args, **kwargs)
