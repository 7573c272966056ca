"""kill -9 of `aggregator run` at random points (issue 17): after every kill the database
passes its integrity check, nothing committed before is lost, and no process of the killed
daemon is left behind; a last `aggregator once` stores every article ever served."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.faultserver import FaultServer, _Handler, _send_head
from tests.processes import REPO, descendants, free_port, gone, run_cli, write_config

KILLS = 22


class Growing:
    """A feed that has three more articles at every request (all of them, oldest last),
    each with a body big enough that the documents go to the worker processes."""

    def __init__(self) -> None:
        self.requests = 0
        self.served: set[str] = set()
        self._lock = threading.Lock()

    def serve(self, handler: _Handler, stop: threading.Event) -> None:
        with self._lock:
            self.requests += 1
            count = 3 * self.requests
        items = []
        for i in reversed(range(count)):
            link = f"https://finance.sina.com.cn/roll/doc-ikill{i:06d}.shtml"
            body = f"<p>第{i}条快讯。</p>" + f"<p>{'市场消息' * 60}{i}</p>" * 4
            items.append(
                f"<item><title>第{i}条：市场快讯{i * 7919 % 1000}</title><link>{link}</link>"
                f"<pubDate>Mon, 05 Jan 2026 08:{i % 60:02d}:00 +0800</pubDate>"
                f"<description><![CDATA[{body}]]></description></item>"
            )
        with self._lock:
            self.served.update(
                f"https://finance.sina.com.cn/roll/doc-ikill{i:06d}.shtml" for i in range(count)
            )
        data = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            + "".join(items)
            + "</channel></rss>"
        ).encode()
        _send_head(
            handler,
            200,
            {"Content-Type": "application/rss+xml", "Content-Length": str(len(data))},
        )
        handler.wfile.write(data)


def stored_keys(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {link for (link,) in con.execute("SELECT link FROM articles")}
    finally:
        con.close()


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    feed = Growing()
    with FaultServer() as server:
        server.add("/roll.xml", feed)
        cfg = write_config(tmp_path, [("滚动", server.url("/roll.xml"), ["金融", "滚动"])])
        text = cfg.read_text(encoding="utf-8").replace('interval = "1m"', 'interval = "1s"')
        text = text.replace("port = 8080", f"port = {free_port()}")
        cfg.write_text("workers = 2\n" + text, encoding="utf-8")  # big documents go to them
        db = tmp_path / "var" / "agg.db"
        kept: set[str] = set()
        for _ in range(KILLS):
            proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "run", "-c", str(cfg)],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if rng.random() < 0.25:  # during start-up (opening, migrating the database)
                time.sleep(rng.uniform(0.2, 1.5))
            else:  # once it polls: while parsing, storing, publishing or idle
                before = feed.requests
                deadline = time.monotonic() + 15
                while feed.requests == before and time.monotonic() < deadline:
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 1.5))
            family = descendants(proc.pid)  # a fork server's workers are its grandchildren
            proc.kill()
            proc.wait()
            assert gone(family, 5), "the killed daemon left processes"
            if db.exists():
                now = stored_keys(db)
                assert kept <= now, f"lost {sorted(kept - now)[:3]}"
                kept = now
        assert feed.requests >= KILLS // 2, "the daemon was killed before it ever polled"
        assert len(kept) > 0
        done = run_cli("once", "-c", str(cfg))
        assert done.returncode == 0, done.stderr
        served = set(feed.served)
    final = stored_keys(db)
    assert served <= final, f"never stored: {sorted(served - final)[:3]}"
