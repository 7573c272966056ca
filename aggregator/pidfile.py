"""How `aggregator reload` finds the daemon: a pid file next to the database.

`aggregator run` creates `<database>.pid`, writes its pid and holds an exclusive lock on
it (flock) for as long as it runs; the lock dies with the process, so a file left by a
killed daemon is recognised as stale, never trusted. The same lock keeps a second
`aggregator run` off the same database.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from pathlib import Path

from .errors import AggregatorError, ConfigError


def pid_path(storage_path: Path) -> Path:
    return storage_path.with_name(storage_path.name + ".pid")


class PidFile:
    """Held by the running daemon (a context manager)."""

    def __init__(self, storage_path: Path) -> None:
        self.path = pid_path(storage_path)
        self._fd: int | None = None

    def __enter__(self) -> PidFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                "storage.path",
                f"another `aggregator run` (pid {other}) is using {self.path.parent}"
                f"/{self.path.name.removesuffix('.pid')}",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            os.close(self._fd)  # releases the lock
            self._fd = None


def running_pid(storage_path: Path) -> int | None:
    """The pid of the `aggregator run` using this database, or None when none runs."""
    try:
        fd = os.open(pid_path(storage_path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # locked: the daemon is alive and its pid is in the file
            return int(os.read(fd, 32).decode("ascii").strip())
        return None  # a file left by a killed daemon
    finally:
        os.close(fd)


def signal_daemon(storage_path: Path, sig: signal.Signals = signal.SIGHUP) -> int:
    """Send `sig` to the `aggregator run` using this database; returns its pid."""
    pid = running_pid(storage_path)
    if pid is None:
        path = pid_path(storage_path)
        why = f"{path.name} is stale" if path.exists() else f"no {path.name}"
        raise AggregatorError(f"no `aggregator run` is running on {storage_path} ({why})")
    os.kill(pid, sig)
    return pid
