"""Atomic, change-aware file writes: readers never see a half-written file."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Write `data` to `path` unless it already holds exactly these bytes.

    Returns True when the file changed. The bytes go to a temporary file in the same
    folder, then are renamed over the target (atomic on POSIX): readers see the old file or
    the new one, never a mix, even if the process is killed. `durable` also fsyncs before
    the rename, so a power loss cannot leave an empty file. Writers of many files pass
    durable=False and call `fsync_all` once at the end instead: on ext4 every fsync
    commits the journal and flushes every other file's pending data with it, which made
    creating 6,000 posts beside a few hundred fsynced feeds take seconds.
    """
    target = os.fspath(path)
    try:
        if os.stat(target).st_size == len(data) and _read(target) == data:
            return False
    except FileNotFoundError:
        pass
    # One dot-file per writing process and thread, reused for every file of the folder:
    # never served, never shared by two writers, and reusing one name made creating 6,000
    # posts 10× faster here than a fresh temporary name per file (mkstemp or per target).
    folder = os.path.dirname(target)
    tmp = os.path.join(folder, f".write-{os.getpid()}-{threading.get_ident()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileNotFoundError:  # the folder first; not checked per file (a syscall each)
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, flags, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def fsync_all(paths: Iterable[Path], many: int = 64) -> None:
    """Make files written with durable=False (and their folders' entries) durable.

    Past `many` files one sync() of the system is cheaper than an fsync each (6,000 posts:
    1.4 s of fsyncs; the journal is committed once instead of per file).
    """
    paths = list(paths)
    if len(paths) > many:
        os.sync()
        return
    for path in paths:
        _fsync(path)
    for folder in {path.parent for path in paths}:
        _fsync(folder)  # the renames themselves


def _fsync(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
