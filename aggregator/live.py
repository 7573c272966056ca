"""The pages the server renders per request (SPEC §12): /search, and `/` while nothing is
stored yet (from the sources' state as /healthz has it, not as it was at the last publish).
Blocking: the server calls them in a thread."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from . import search
from .models import OutputSettings
from .outputs.html import render_empty, render_search


class LiveSite:
    def __init__(
        self,
        settings: OutputSettings,
        db_path: Path,
        sources: Callable[[], Sequence[Mapping[str, Any]]],
    ) -> None:
        self.settings = settings
        self.searcher = search.Searcher(db_path)
        self._sources = sources

    def search_page(self, query_string: bytes) -> bytes:
        params = parse_qs(
            query_string.decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
        )
        raw = _param(params, "q")
        start_raw = _param(params, "start")
        start = int(start_raw) if start_raw.isdigit() and len(start_raw) < 10 else 0
        query = search.parse_query(raw)
        results = self.searcher.search(raw, start) if query.terms else None
        return render_search(self.settings, results, query, start)

    def empty_page(self) -> bytes:
        return render_empty(self.settings, self._sources(), live=True)

    def close(self) -> None:
        self.searcher.close()


def _param(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name)
    return values[0] if values else ""
