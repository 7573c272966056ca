"""Atomic, change-aware file writes: readers never see a half-written file."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Write `data` to `path` unless it already holds exactly these bytes.

    Returns True when the file changed. The bytes go to a temporary file in the same
    folder, then are renamed over the target (atomic on POSIX): readers see the old file or
    the new one, never a mix, even if the process is killed. `durable` also fsyncs before
    the rename, so a power loss cannot leave an empty file; files that can be rebuilt from
    the database (posts) skip it: one fsync per post cost 10 % of a cold ingest.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # One dot-file per writing process and thread, reused for every file of the folder:
    # never served, never shared by two writers, and reusing one name made creating 6,000
    # posts 10× faster here than a fresh temporary name per file (mkstemp or per target).
    tmp = path.parent / f".write-{os.getpid()}-{threading.get_ident()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True
