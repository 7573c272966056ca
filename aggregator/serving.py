"""The HTTP server of `aggregator run` and its limits: uvicorn, bounded.

Idle or trickling connections must not take every file descriptor (and with them the
fetches, the database and publishing): the soft fd limit is raised to the hard one at
start; a connection that has not sent a complete request head within `HEADER_TIMEOUT`
is closed (uvicorn itself only times out idle keep-alive connections); beyond
`max_connections` the longest-waiting such connections are closed first; requests beyond
the cap are answered 503 by uvicorn. Repeated server warnings are rate-limited, so a
flood of bad connections cannot flood the log.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import time
import weakref
from collections.abc import Generator
from typing import Any

import uvicorn

HEADER_TIMEOUT = 5.0  # seconds to send a request head (slowloris)
KEEP_ALIVE = 5.0  # seconds an idle keep-alive connection stays open
FD_RESERVE = 256  # descriptors kept for the database, fetches, output files and workers
MAX_CONNECTIONS = 4096
LOG_BURST = 10  # records of one kind per minute, then one note and silence


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one (systemd's default soft limit is
    1024); returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 1 << 16 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def connection_cap(fd_limit: int) -> int:
    return max(32, min(MAX_CONNECTIONS, fd_limit - FD_RESERVE))


class Server(uvicorn.Server):
    """uvicorn without its own signal handling (the daemon owns SIGTERM/SIGINT), closing
    connections that hold a descriptor without sending a request."""

    def __init__(self, config: uvicorn.Config, max_connections: int) -> None:
        super().__init__(config)
        self.max_connections = max_connections
        # connection → when it was first seen waiting for a request head
        self._waiting: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def on_tick(self, counter: int) -> bool:
        if counter % 5 == 0:  # every half second (uvicorn ticks every 0.1 s)
            self.reap(time.monotonic())
        return await super().on_tick(counter)

    def reap(self, now: float) -> None:
        """Close connections waiting too long for a request head, and the longest-waiting
        ones while there are more connections than the cap."""
        waiting = []
        for conn in list(self.server_state.connections):
            cycle = getattr(conn, "cycle", None)
            busy = cycle is not None and not cycle.response_complete
            idle = getattr(conn, "timeout_keep_alive_task", None) is not None  # uvicorn's
            if busy or idle:
                self._waiting.pop(conn, None)
                continue
            since = self._waiting.setdefault(conn, now)
            waiting.append((since, conn))
        waiting.sort(key=lambda w: w[0])
        excess = len(self.server_state.connections) - self.max_connections
        for since, conn in waiting:
            if now - since > HEADER_TIMEOUT or excess > 0:
                excess -= 1
                self._waiting.pop(conn, None)
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    transport.close()


class RateLimit(logging.Filter):
    """At most `LOG_BURST` records of one message per minute per logger; the next says
    that more are being dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        now = time.monotonic()
        start, count = self._seen.get(key, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        count += 1
        if len(self._seen) > 1000:  # messages with their data in them: forget old ones
            self._seen.clear()
        self._seen[key] = (start, count)
        if count == LOG_BURST + 1:
            record.msg = f"{record.getMessage()} (more like this in the next minute not logged)"
            record.args = None
        return count <= LOG_BURST + 1


def limit_server_logs() -> None:
    """Rate-limit what uvicorn and asyncio log about connections (a flood of bad clients,
    accept() out of descriptors) so the log cannot grow without bound."""
    for name in ("uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RateLimit) for f in logger.filters):
            logger.addFilter(RateLimit())
