"""Worker processes: same results as in-process, errors cross intact, a crash is survived."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.dedup import Signature
from aggregator.errors import ParseError, SourceError
from aggregator.models import Source
from aggregator.prepare import prepare
from aggregator.workers import Workers

REPO = Path(__file__).resolve().parents[1]
SINA = (REPO / "config" / "demo" / "sina-china.xml").read_bytes()
SOURCE = Source("新浪财经－国內", "https://example.com/", ("金融", "新浪财经"), "新浪财经", 300)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARGS = (SINA, "https://finance.sina.com.cn/china/", None, SOURCE, NOW)


def _die() -> None:
    os._exit(3)


def test_worker_process_gives_what_a_thread_gives() -> None:
    async def go() -> None:
        workers = Workers(2, min_bytes=0)
        try:
            in_thread = await Workers(0).run(len(SINA), prepare, *ARGS)
            in_worker = await workers.run(len(SINA), prepare, *ARGS)
            assert in_worker == in_thread
            ttl, articles, warnings = (
                in_worker.ttl_minutes,
                in_worker.articles,
                in_worker.warnings,
            )
            assert ttl == 5 and len(articles) == 11 and warnings == []
            assert all(isinstance(a.signature, Signature) for a in articles)
            assert workers._pool is not None, "the document really went to a worker"
        finally:
            workers.close()

    asyncio.run(go())


def test_small_documents_stay_in_process() -> None:
    async def go() -> None:
        workers = Workers(2)  # default threshold: 64 KiB
        await workers.run(len(SINA), prepare, *ARGS)
        assert workers._pool is None
        workers.close()

    asyncio.run(go())


def test_errors_and_crashes_cross_the_process_boundary() -> None:
    async def go() -> None:
        workers = Workers(1, min_bytes=0)
        try:
            with pytest.raises(ParseError) as info:
                await workers.run(1, prepare, b"<html>502</html>", *ARGS[1:])
            assert info.value.kind == "not_a_feed"
            with pytest.raises(SourceError) as crash:
                await workers.run(1, _die)
            assert crash.value.kind == "worker_crashed"
            prepared = await workers.run(len(SINA), prepare, *ARGS)  # a fresh pool
            assert len(prepared.articles) == 11
        finally:
            workers.close()

    asyncio.run(go())


def test_a_submitted_call_that_kills_its_worker_gets_a_fresh_pool_next() -> None:
    workers = Workers(1)
    try:
        assert Workers(0).submit(pow, 2, 10) is None, "no processes: the caller does it"
        first = workers.submit(_die)
        assert first is not None
        error = first.exception(timeout=30)
        assert error is not None
        workers.forget_if_broken(error)
        assert workers._pool is None
        again = workers.submit(pow, 2, 10)
        assert again is not None and again.result(timeout=30) == 1024
        workers.forget_if_broken(ValueError("not a crash"))
        assert workers._pool is not None, "only a dead worker drops the pool"
    finally:
        workers.close()


PARENT = """
import asyncio, os, sys
from aggregator.workers import Workers

async def main():
    workers = Workers(2, min_bytes=0)
    await workers.run(1, os.getpid)
    await asyncio.gather(*(workers.run(1, os.getpid) for _ in range(4)))
    print(" ".join(str(p) for p in workers._pool._processes), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"  # a zombie is dead, just unreaped
    except FileNotFoundError:
        return False


def test_worker_processes_exit_when_their_parent_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
    finally:
        parent.kill()  # SIGKILL: no shutdown code runs in the parent
        parent.wait()
        if parent.stdout is not None:  # orphans would hold the pipe: do not read to its end
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "orphaned workers left behind"
