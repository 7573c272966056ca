"""The HTTP server of `aggregator run` and its limits: uvicorn, bounded.

Idle or trickling connections must not take every file descriptor (and with them the
fetches, the database and publishing): the soft fd limit is raised to the hard one at
start; the connections' budget is that limit less a reserve for everything else
(`fd_reserve`), enforced when a connection is accepted (`Listener`: one beyond it is
closed at once, however fast they come); a connection that has not sent a complete
request head within `HEADER_TIMEOUT` is closed (uvicorn itself only times out idle
keep-alive connections), and while the budget is full the longest-waiting such
connections are closed first, so new clients get in; requests beyond the cap are answered
503 by uvicorn. Repeated server warnings are rate-limited, so a flood of bad connections
cannot flood the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import socket
import time
import weakref
from collections.abc import Callable, Generator
from typing import Any

import uvicorn

from .models import Settings

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 5.0  # seconds to send a request head (slowloris)
KEEP_ALIVE = 5.0  # seconds an idle keep-alive connection stays open
MAX_CONNECTIONS = 4096
MIN_CONNECTIONS = 16
# Descriptors `Listener` never hands to a connection, whatever the count says: accept()
# returns the lowest free descriptor, so one this high means that many are in use.
FD_HEADROOM = 16
REFUSE_BATCH = 64  # connections refused per accept() call: the event loop keeps turning
PRUNE_EVERY = 0.02  # seconds between recounts of the open connections while at the budget
MAKE_ROOM_EVERY = 0.1  # seconds between closing waiting connections while at the budget
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


def fd_reserve(settings: Settings) -> int:
    """Descriptors kept from connections: the interpreter, log and pid file, the database
    and its WAL (twice: the live site reads it too), output files being written, the
    fetches (each concurrent one, and httpx's pool of 20 kept-alive connections) and the
    worker processes' pipes. About 14 are open at rest."""
    return 64 + settings.fetch.total + 20 + 4 * settings.workers


def connection_cap(fd_limit: int, reserve: int) -> int:
    """How many connections may be open at once under `fd_limit` descriptors."""
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, fd_limit - reserve))


class Listener(socket.socket):
    """The listening socket, admitting a connection only while the budget has room.

    asyncio calls `accept` until it raises BlockingIOError, accepting a whole burst
    before any connection is served or reaped; here one beyond the budget (or one whose
    descriptor number shows the process near its limit) is closed at once, so the
    process never runs out of descriptors, and `make_room` is asked to close the
    longest-waiting idle connections so new clients get in. The count is of accepted
    sockets still open, recounted only while at the budget.
    """

    def __init__(self, family: int) -> None:
        super().__init__(family, socket.SOCK_STREAM)
        self.budget = MAX_CONNECTIONS
        self.fd_ceiling = 1 << 30
        self.make_room: Callable[[], None] | None = None
        self.refused = 0
        self._open: list[socket.socket] = []
        self._counted = 0.0
        self._logged = 0.0

    def guard(self, budget: int, fd_limit: int, make_room: Callable[[], None]) -> None:
        self.budget = budget
        self.fd_ceiling = fd_limit - FD_HEADROOM
        self.make_room = make_room

    def accept(self) -> tuple[socket.socket, Any]:
        for _ in range(REFUSE_BATCH):
            fd, addr = self._accept()  # type: ignore[attr-defined]  # BlockingIOError: none left
            if fd < self.fd_ceiling and self._room():
                conn = socket.socket(self.family, self.type, self.proto, fileno=fd)
                self._open.append(conn)
                return conn, addr
            os.close(fd)
            self._refused()
        raise BlockingIOError  # more may be waiting: accepted on the next turn of the loop

    def _room(self) -> bool:
        if len(self._open) < self.budget:
            return True
        now = time.monotonic()
        if now - self._counted < PRUNE_EVERY:
            return False
        self._counted = now
        self._open = [s for s in self._open if s.fileno() != -1]
        return len(self._open) < self.budget

    def _refused(self) -> None:
        self.refused += 1
        if self.make_room is not None:
            self.make_room()
        now = time.monotonic()
        if now - self._logged >= 60:
            self._logged = now
            log.warning(
                "connections beyond the budget of %d (open-files limit less a reserve) are"
                " refused; %d so far",
                self.budget,
                self.refused,
            )


class Server(uvicorn.Server):
    """uvicorn without its own signal handling (the daemon owns SIGTERM/SIGINT), closing
    connections that hold a descriptor without sending a request."""

    def __init__(self, config: uvicorn.Config, max_connections: int) -> None:
        super().__init__(config)
        self.max_connections = max_connections
        # connection → when it was first seen waiting for a request head
        self._waiting: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._made_room = 0.0

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def on_tick(self, counter: int) -> bool:
        if counter % 5 == 0:  # every half second (uvicorn ticks every 0.1 s)
            self.reap(time.monotonic())
        return await super().on_tick(counter)

    def make_room(self) -> None:
        """The budget is full: close the longest-waiting eighth of the connections still
        waiting for a request head (at most every `MAKE_ROOM_EVERY` seconds)."""
        now = time.monotonic()
        if now - self._made_room >= MAKE_ROOM_EVERY:
            self._made_room = now
            self.reap(now, evict=max(1, self.max_connections // 8))

    def reap(self, now: float, evict: int = 0) -> None:
        """Close connections waiting too long for a request head, and the longest-waiting
        ones while there are more connections than the cap (and `evict` more)."""
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
        excess = len(self.server_state.connections) - self.max_connections + evict
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
