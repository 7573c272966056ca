"""`aggregator check-config`: what can be checked without the network, and `--probe`.

Nothing here creates or changes a file: writability is judged from the nearest existing
folder, the port by binding it for an instant.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from .dates import rfc3339, utcnow
from .errors import SourceError, classify
from .models import Settings, Source
from .pidfile import running_pid
from .urls import redact, redact_text


def offline_problems(settings: Settings, *, port: bool = True) -> list[str]:
    """Every problem `once`/`run` would meet that is visible without fetching anything."""
    problems: list[str] = []
    for i, s in enumerate(settings.sources):
        problem = _file_source_problem(s)
        if problem:
            problems.append(f"sources[{i}] ({s.name}): {problem}")
    problem = _writable_file(settings.storage_path)
    if problem:
        problems.append(f"storage.path: {problem}")
    problem = _writable_dir(settings.output.dir)
    if problem:
        problems.append(f"output.dir: {problem}")
    if settings.output.posts_dir is not None:
        problem = _writable_dir(settings.output.posts_dir)
        if problem:
            problems.append(f"output.posts_dir: {problem}")
    # The running daemon holds the port: not a problem (check-config before a reload).
    if port and running_pid(settings.storage_path) is None:
        problem = port_problem(settings.server_host, settings.server_port)
        if problem:
            problems.append(f"server.port: {problem}")
    return problems


def _file_source_problem(source: Source) -> str | None:
    if not source.url.lower().startswith("file:"):
        return None
    from .fetch import file_path

    try:
        path = file_path(source.url)
    except SourceError as exc:
        return str(exc)
    if not path.exists():
        return f"file not found: {path}"
    if not path.is_file():
        return f"not a file: {path}"
    if not os.access(path, os.R_OK):
        return f"not readable: {path}"
    return None


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_dir(path: Path) -> str | None:
    if path.exists():
        if not path.is_dir():
            return f"{path} exists and is not a folder"
        return None if os.access(path, os.W_OK | os.X_OK) else f"{path} is not writable"
    parent = _existing_ancestor(path)
    if not parent.is_dir():
        return f"cannot create {path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create {path}: {parent} is not writable"
    return None


def _writable_file(path: Path) -> str | None:
    if path.exists():
        if not path.is_file():
            return f"{path} exists and is not a file"
        if not os.access(path, os.R_OK | os.W_OK):
            return f"{path} is not readable and writable"
        # SQLite's WAL needs to create -wal/-shm files next to the database.
        return _writable_dir(path.parent)
    return _writable_dir(path.parent)


def port_problem(host: str, port: int) -> str | None:
    """Whether `run` could listen on host:port now (port 0: any free port, always fine)."""
    if port == 0:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return f"cannot listen on {host}:{port}: {reason} (is `aggregator run` running?)"
    return None


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """What one fetch of a source would give, stored nowhere."""

    source: str
    url: str
    ok: bool
    detail: str  # "25 items, newest 2026-…Z: title" or "http_404: …"


async def probe(settings: Settings) -> list[ProbeReport]:
    """Fetch and parse every source once, concurrently, without touching the store."""
    import asyncio

    from .fetch import Fetcher
    from .kinds import KINDS
    from .prepare import prepare

    now = utcnow()

    async def one(fetcher: Fetcher, s: Source) -> ProbeReport:
        url = redact(s.url)
        kind = KINDS[s.kind]
        try:
            got = await fetcher.fetch(kind.list_url(s.url, 1) or s.url, referer=kind.referer)
            if got.body is None:  # no validators sent, so a 304 is the server's oddity
                return ProbeReport(s.name, url, True, "304 Not Modified without validators")
            read = await asyncio.to_thread(
                prepare, got.body, got.url, got.headers.get("content-type"), s, now
            )
        except Exception as exc:
            return ProbeReport(s.name, url, False, f"{classify(exc)}: {redact_text(str(exc))}")
        warned = "".join(f"; {k}: {redact_text(message)}" for k, message in read.warnings)
        if read.items:  # a list whose pages are fetched when polled (a native Sina list)
            first = read.items[0].entry.title or "?"
            detail = f"{len(read.items)} item(s) listed, first: {first}"
            return ProbeReport(s.name, url, True, detail + warned)
        if not read.articles:
            return ProbeReport(s.name, url, True, "a valid feed with no items" + warned)
        newest = max(read.articles, key=lambda a: a.published)
        detail = f"{len(read.articles)} item(s), newest {rfc3339(newest.published)}: {newest.title}"
        return ProbeReport(s.name, url, True, detail + warned)

    async with Fetcher(settings.fetch) as fetcher:
        return list(await asyncio.gather(*(one(fetcher, s) for s in settings.sources)))
