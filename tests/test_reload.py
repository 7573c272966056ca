"""Reload without restart: SIGHUP and `aggregator reload` against a real `aggregator run`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from tests.processes import DEMO, Running, cli, demo_config


def wait_until(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def served(text: str) -> str:
    m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", text)
    assert m, text
    return m.group(1)


def health_names(base: str) -> list[str]:
    return [s["name"] for s in httpx.get(base + "healthz", timeout=5).json()["sources"]]


def test_reload_adds_removes_and_retimes_sources_and_refuses_a_bad_config(
    tmp_path: Path,
) -> None:
    cfg = demo_config(tmp_path)
    shutil.copy(DEMO / "cls.xml", tmp_path / "cls.xml")
    original = cfg.read_text(encoding="utf-8")
    with Running(cfg) as run:
        text = run.wait_for("证券时报网－快讯: ok")
        text = run.wait_for("新浪财经－国內: ok")
        base = served(text)
        pid = run.proc.pid
        assert (tmp_path / "var/agg.db.pid").read_text() == f"{pid}\n"

        # Remove 证券时报网, add 财联社, poll 新浪财经 every 10 minutes instead of 5.
        edited = original.split('[[sources]]\nname = "证券时报网－快讯"')[0]
        edited = edited.replace(
            'name = "新浪财经－国內"\n', 'name = "新浪财经－国內"\ninterval = "10m"\n'
        )
        edited += (
            '[[sources]]\nname = "财联社－电报"\nurl = "file:cls.xml"\ncategories = ["金融"]\n'
        )
        cfg.write_text(edited, encoding="utf-8")
        done = cli("reload", "-c", str(cfg))
        assert done.returncode == 0, done.stderr
        assert (
            done.stdout
            == f"sent SIGHUP to `aggregator run` (pid {pid}); its log says what changed\n"
        )
        text = run.wait_for("财联社－电报: ok")
        assert re.search(
            r"reloaded \S+aggregator\.toml: 2 source\(s\); added: 财联社－电报; "
            r"removed: 证券时报网－快讯; changed: 新浪财经－国內",
            text,
        ), text
        m = re.search(
            r"source 新浪财经－国內: \S+ every 10m; last success (\S+Z); next poll (\S+Z)", text
        )
        assert m, text
        last, following = (datetime.fromisoformat(x) for x in m.groups())
        assert 599 <= (following - last).total_seconds() <= 601, "re-timed from the last poll"
        assert health_names(base) == ["新浪财经－国內", "财联社－电报"]

        # A bad config: `aggregator reload` refuses to send it ...
        cfg.write_text(edited.replace('interval = "10m"', 'interval = "often"'), encoding="utf-8")
        refused = cli("reload", "-c", str(cfg))
        assert refused.returncode == 2
        assert "sources[0].interval" in refused.stderr and "nothing sent" in refused.stderr
        # ... and a SIGHUP with it is refused by the daemon, which keeps running as it was.
        os.kill(pid, signal.SIGHUP)
        text = run.wait_for("reload refused")
        assert re.search(
            r"ERROR aggregator\.daemon: reload refused, keeping the running config: "
            r"sources\[0\]\.interval: must be a duration",
            text,
        )
        assert health_names(base) == ["新浪财经－国內", "财联社－电报"]
        assert httpx.get(base + "feed.atom", timeout=5).status_code == 200

        # What needs a restart is said so, and the rest still applies.
        cfg.write_text(
            edited.replace('path = "var/agg.db"', 'path = "var/other.db"').replace(
                'title = "新浪财经聚合"', 'title = "我的财经"'
            ),
            encoding="utf-8",
        )
        os.kill(pid, signal.SIGHUP)
        text = run.wait_for("storage.path changed")
        assert re.search(
            r"WARNING aggregator\.daemon: reload: storage\.path changed; that takes "
            r"effect after a restart",
            text,
        )
        assert wait_until(lambda: "我的财经" in httpx.get(base + "feed.atom", timeout=5).text)
        assert not (tmp_path / "var/other.db").exists()
    assert run.proc.returncode == 0
    assert not (tmp_path / "var/agg.db.pid").exists(), "the pid file goes with the daemon"
    gone = cli("reload", "-c", str(cfg))
    assert gone.returncode == 1 and "no `aggregator run` is running" in gone.stderr


def test_one_daemon_per_database(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = demo_config(tmp_path, port=port)
    with Running(cfg) as run:
        run.wait_for(f"serving http://127.0.0.1:{port}/")
        second = cli("run", "-c", str(cfg))
        assert second.returncode == 2
        assert f"another `aggregator run` (pid {run.proc.pid}) is using" in second.stderr
        # Checking the config before a reload: the daemon's own port is no problem.
        checked = cli("check-config", "-c", str(cfg))
        assert checked.returncode == 0, checked.stdout
        assert f"`aggregator run` (pid {run.proc.pid}) uses this database" in checked.stdout
    # A pid file left by a killed daemon is not trusted.
    (tmp_path / "var/agg.db.pid").write_text("999999\n")
    stale = cli("reload", "-c", str(cfg))
    assert stale.returncode == 1 and "is stale" in stale.stderr
