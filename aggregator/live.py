"""The pages the server renders per request (SPEC §12): /search, and `/` while nothing is
stored yet (from the sources' state as /healthz has it, not as it was at the last publish).

Searches run on threads of their own, `SEARCHES_AT_ONCE` at most, with at most
`SEARCHES_WAITING` more queued: a crowd of searches (each bounded by search.BUDGET) keeps
at most that many cores busy and never takes the threads that read and compress the
files being served (asyncio's default executor); one more is refused at once (the server
answers 503 with Retry-After) instead of queueing without end."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from . import search
from .models import OutputSettings
from .outputs.html import render_empty, render_search

SEARCHES_AT_ONCE = 2
SEARCHES_WAITING = 8


class SearchPage(NamedTuple):
    body: bytes
    cut: bool  # the search's time budget ran out before the page was complete


class LiveSite:
    def __init__(
        self,
        settings: OutputSettings,
        db_path: Path,
        sources: Callable[[], Sequence[Mapping[str, Any]]],
        at_once: int = SEARCHES_AT_ONCE,
        waiting: int = SEARCHES_WAITING,
    ) -> None:
        self.settings = settings
        self.searcher = search.Searcher(db_path)
        self._sources = sources
        # Running and queued; `acquire(blocking=False)`: one more is refused, never waits.
        self.searches = threading.BoundedSemaphore(at_once + waiting)
        self._threads = ThreadPoolExecutor(at_once, thread_name_prefix="search")

    async def search(self, query_string: bytes) -> SearchPage | None:
        """The search page, or None when too many searches are running or waiting."""
        if not self.searches.acquire(blocking=False):
            return None
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self.search_page, query_string)
        finally:
            self.searches.release()

    def search_page(self, query_string: bytes) -> SearchPage:
        params = parse_qs(
            query_string.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
        )
        raw = _param(params, "q")
        start = _param(params, "start") or None
        query = search.parse_query(raw)
        results = self.searcher.search(raw, start) if query.terms else None
        body = render_search(self.settings, results, query, later=start is not None)
        return SearchPage(body, bool(results and results.partial))

    def empty_page(self) -> bytes:
        return render_empty(self.settings, self._sources(), live=True)

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self.searcher.close()


def _param(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name)
    return values[0] if values else ""
