"""Worker processes: same results as in-process, errors cross intact, a crash is survived."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.dedup import Signature
from aggregator.errors import ParseError, SourceError
from aggregator.models import Source
from aggregator.prepare import prepare
from aggregator.workers import Workers
from tests.faultserver import FaultServer, Static
from tests.processes import (
    RSS_TYPE,
    alive,
    descendants,
    free_port,
    gone,
    group,
    write_config,
)

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


# A main process with two workers: prints its workers and what each saw, then waits to be
# killed. argv: the work each worker reports, evaluated there (stdlib only: it must not
# import anything itself).
PARENT = """
import asyncio, json, sys
from aggregator.workers import Workers

SEEN = (
    "[m in __import__('sys').modules for m in ('numpy', 'aggregator.outputs')]"
    " + [__import__('aggregator').__file__, __import__('os').getppid()]"
)

async def main():
    workers = Workers(2, min_bytes=0)
    seen = await asyncio.gather(*(workers.run(1, eval, SEEN) for _ in range(4)))
    print(json.dumps({"workers": list(workers._pool._processes), "seen": seen}), flush=True)
    await asyncio.sleep(600)

if __name__ == "__main__":  # not in a spawned worker, which runs this as __mp_main__
    asyncio.run(main())
"""


def _start_parent(script: Path, cwd: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    script.write_text(PARENT, encoding="utf-8")
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=cwd
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line, "the parent script failed"
    report: dict[str, Any] = json.loads(line)
    return parent, report


def _kill(parent: subprocess.Popen[str]) -> list[int]:
    """SIGKILL (no shutdown code runs in it); the processes it left at that moment."""
    family = descendants(parent.pid)
    parent.kill()
    parent.wait()
    if parent.stdout is not None:  # orphans would hold the pipe: do not read to its end
        parent.stdout.close()
    return family


def test_workers_are_forked_preloaded_and_leave_with_the_main_process(tmp_path: Path) -> None:
    parent, report = _start_parent(tmp_path / "parent.py", REPO)
    try:
        pids = report["workers"]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        for numpy, outputs, package, ppid in report["seen"]:
            assert (numpy, outputs) == (True, True), "imported by the fork server, once"
            assert Path(package).resolve() == REPO / "aggregator" / "__init__.py"
            assert ppid != parent.pid and ppid in descendants(parent.pid), "the fork server's"
    finally:
        family = _kill(parent)
    assert set(pids) < set(family)
    assert gone(family), "a worker, the fork server or the resource tracker stayed behind"


def test_a_package_in_the_working_directory_is_never_preloaded(tmp_path: Path) -> None:
    # Started as `python -c`, the fork server would find ./aggregator before this checkout's
    # (CPython gh-117378): such a run spawns its workers instead.
    imported = tmp_path / "imported"
    shadow = tmp_path / "other" / "aggregator"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"open({str(imported)!r}, 'w').close()\n")
    (tmp_path / "bin").mkdir()
    parent, report = _start_parent(tmp_path / "bin" / "parent.py", shadow.parent)
    try:
        for numpy, _, package, ppid in report["seen"]:
            assert Path(package).resolve() == REPO / "aggregator" / "__init__.py"
            assert ppid == parent.pid and not numpy, "spawned, nothing preloaded"
        assert not imported.exists(), "the other checkout's package was imported"
    finally:
        family = _kill(parent)
    assert gone(family)


def _big_feed(index: int) -> bytes:
    """An RSS document over `Workers.min_bytes`: parsed in a worker process."""
    items = "".join(
        f"<item><title>第{index}-{i}条：市场快讯</title>"
        f"<link>https://finance.sina.com.cn/roll/doc-isig{index}{i:05d}.shtml</link>"
        f"<pubDate>Mon, 05 Jan 2026 08:{i % 60:02d}:00 +0800</pubDate>"
        f"<description><![CDATA[<p>{'市场消息' * 40}{i}</p>]]></description></item>"
        for i in range(300)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>"
    ).encode()


def _fork_server(pid: int) -> int | None:
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                if b"multiprocessing.forkserver" in fh.read():
                    return child
        except OSError:
            continue
    return None


def _soon(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    """`wait_for`, looking every 10 ms: a stop aimed at a moment must not miss it."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# (command, to whom, signal, when): "starting" as soon as the fork server is there (it is
# importing PRELOAD), "storing" once the first source is stored (the others are being stored
# or published, workers at work).
STOPS = [
    ("once", "group", signal.SIGINT, "starting"),  # Ctrl-C in a terminal
    ("once", "group", signal.SIGINT, "storing"),  # the store closes after its last call
    ("once", "group", signal.SIGTERM, "starting"),  # a service manager stopping the group
    ("once", "main", signal.SIGTERM, "starting"),  # `kill PID`
    ("once", "main", signal.SIGTERM, "storing"),
    ("run", "group", signal.SIGINT, "starting"),
    ("run", "group", signal.SIGTERM, "starting"),
    ("run", "main", signal.SIGTERM, "storing"),
]


@pytest.mark.parametrize(("command", "target", "sig", "when"), STOPS)
def test_stopping_leaves_no_process_and_no_traceback(
    tmp_path: Path, command: str, target: str, sig: signal.Signals, when: str
) -> None:
    with FaultServer() as server:
        names = [f"大{i}" for i in range(4)]
        for i in range(4):
            server.add(f"/big{i}.xml", Static(_big_feed(i), headers=RSS_TYPE))
        sources = [(n, server.url(f"/big{i}.xml"), ["金融", n]) for i, n in enumerate(names)]
        cfg = write_config(tmp_path, sources, port=free_port())
        cfg.write_text("workers = 2\n" + cfg.read_text(encoding="utf-8"), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
        with open(tmp_path / "stderr", "w+") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator", command, "-c", str(cfg)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group, as a terminal's job is
            )
            try:
                assert _soon(lambda: _fork_server(proc.pid) is not None), "no fork server"
                if when == "storing":
                    stored = tmp_path / "stderr"
                    assert _soon(lambda: " ok new=" in stored.read_text(encoding="utf-8"))
                if target == "group":
                    os.killpg(proc.pid, sig)
                else:
                    proc.send_signal(sig)
                code = proc.wait(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert gone(group(proc.pid) or [], 15), "a process of the stopped run stayed"
            err.seek(0)
            log = err.read()
    assert "Traceback" not in log, log
    expected = {signal.SIGINT: 130, signal.SIGTERM: -signal.SIGTERM}
    assert code == (0 if command == "run" else expected[sig]), log
