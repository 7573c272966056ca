"""One log format for everything the process logs: ours, uvicorn's and APScheduler's.

Every record goes through one stderr handler, as text (`2026-12-01T03:03:01Z INFO
aggregator.daemon: …`) or one JSON object per line for log shippers. uvicorn's start/stop
chatter and APScheduler's per-job lines ("Added job", "Running job", "executed
successfully") are demoted to DEBUG: the daemon says itself what it serves and polls.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

from .dates import rfc3339
from .urls import RedactCredentials

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Loggers whose INFO lines are routine chatter (httpx: one line per request); their warnings
# and errors stay as they are.
_CHATTY = ("apscheduler", "uvicorn", "httpx")


def _when(record: logging.LogRecord) -> str:
    return rfc3339(datetime.fromtimestamp(record.created, UTC))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{_when(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": _when(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class _Demote(logging.Filter):
    """Turns INFO from the chatty libraries into DEBUG, then applies the configured level."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith(_CHATTY):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


def set_level(level: str) -> None:
    """Change the level of the handler `setup` installed (a reloaded config)."""
    numeric = logging.getLevelName(level)
    root = logging.getLogger()
    root.setLevel(numeric)
    for handler in root.handlers:
        for f in handler.filters:
            if isinstance(f, _Demote):
                f.level = numeric


def setup(level: str, fmt: LogFormat = "text", stream: TextIO | None = None) -> None:
    """Route every logger through one handler on stderr (idempotent: replaces handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    numeric = logging.getLevelName(level)
    handler.addFilter(_Demote(numeric))
    handler.addFilter(RedactCredentials())  # no password reaches a log line
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # The root level only lets records reach the handler; the handler's filter decides.
    # Chatty libraries stay at INFO so their demoted lines show at DEBUG.
    root.setLevel(numeric)
    for name in (*_CHATTY, "uvicorn.error", "uvicorn.access"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
        lib.setLevel(logging.NOTSET)
