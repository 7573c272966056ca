"""A progress line on stderr for long work (first backfill, full rebuilds) — only when stderr
is a terminal, and only once the work has taken a second: short runs and logs stay clean."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_DELAY = 1.0  # seconds before the first line is drawn
_EVERY = 0.2  # seconds between redraws


class Progress:
    """`step(n)` as work is done; `done()` clears the line. Silent unless on a terminal."""

    def __init__(self, what: str, total: int, stream: TextIO | None = None) -> None:
        self.what = what
        self.total = total
        self.count = 0
        self._stream = stream or sys.stderr
        self._on = self._stream.isatty()
        self._start = time.monotonic()
        self._drawn = 0.0  # monotonic time of the last redraw; 0: nothing on screen

    def step(self, n: int = 1) -> None:
        self.count += n
        if not self._on:
            return
        now = time.monotonic()
        if now - self._start < _DELAY or now - self._drawn < _EVERY:
            return
        self._drawn = now
        self._stream.write(f"\r{self.what}: {self.count}/{self.total}\x1b[K")
        self._stream.flush()

    def done(self) -> None:
        if self._on and self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = 0.0
