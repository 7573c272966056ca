"""Logging: one format for our loggers and the libraries'; progress only on a terminal."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from aggregator import logs
from aggregator.progress import Progress

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (DEBUG|INFO|WARNING|ERROR) [\w.]+: .+$")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def emit_all() -> None:
    logging.getLogger("aggregator.daemon").info("serving http://127.0.0.1:8080/")
    logging.getLogger("apscheduler.scheduler").info('Added job "x" to job store "default"')
    logging.getLogger("apscheduler.executors.default").info('Job "x" executed successfully')
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/ 200 OK")
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("apscheduler.scheduler").error("job store failed")


@pytest.mark.usefixtures("restore_logging")
def test_library_chatter_is_demoted_and_everything_shares_one_format() -> None:
    out = io.StringIO()
    logs.setup("INFO", "text", out)
    emit_all()
    lines = out.getvalue().splitlines()
    assert all(LINE.match(line) for line in lines), lines
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO aggregator.daemon: serving http://127.0.0.1:8080/",
        "WARNING uvicorn.error: Invalid HTTP request received.",
        "ERROR apscheduler.scheduler: job store failed",
    ]

    out = io.StringIO()
    logs.setup("DEBUG", "text", out)
    emit_all()
    levels = [line.split(" ")[1:3] for line in out.getvalue().splitlines()]
    assert levels == [
        ["INFO", "aggregator.daemon:"],
        ["DEBUG", "apscheduler.scheduler:"],
        ["DEBUG", "apscheduler.executors.default:"],
        ["DEBUG", "uvicorn.error:"],
        ["DEBUG", "httpx:"],
        ["WARNING", "uvicorn.error:"],
        ["ERROR", "apscheduler.scheduler:"],
    ]


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_carry_time_level_logger_message_and_exception() -> None:
    out = io.StringIO()
    logs.setup("INFO", "json", out)
    log = logging.getLogger("aggregator.poll")
    log.warning("新浪财经－国內: error (http_503)")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("internal error")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "新浪财经－国內: error (http_503)"
    assert (first["level"], first["logger"]) == ("WARNING", "aggregator.poll")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["time"])
    assert "ValueError: boom" in second["exception"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_after_a_second_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr("aggregator.progress.time.monotonic", lambda: clock[0])
    term, pipe = Terminal(), io.StringIO()
    shown, silent = Progress("writing posts", 500, term), Progress("writing posts", 500, pipe)
    for p in (shown, silent):
        p.step(100)  # within the first second: nothing drawn
    assert term.getvalue() == ""
    clock[0] += 1.5
    for p in (shown, silent):
        p.step(150)
        p.done()
    assert term.getvalue() == "\rwriting posts: 250/500\x1b[K\r\x1b[K"
    assert pipe.getvalue() == "", "not a terminal: silent"
