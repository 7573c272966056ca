"""The product as a subprocess (`aggregator once|run`), its config, and reading what it wrote:
the helpers of the end-to-end tests."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.faultserver import FaultServer, Static

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "demo"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # the one timestamp format
ATOM = "{http://www.w3.org/2005/Atom}"
RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def write_config(tmp: Path, sources: list[tuple[str, str, list[str]]], port: int = 8080) -> Path:
    lines = [
        "[storage]",
        'path = "var/agg.db"',
        "[output]",
        'dir = "public"',
        f'base_url = "http://127.0.0.1:{port}/"',
        'title = "新浪财经聚合"',
        "[server]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[fetch]",
        'deadline = "10s"',
    ]
    for name, url, cats in sources:
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            f'url = "{url}"',
            "categories = [" + ", ".join(f'"{c}"' for c in cats) + "]",
            f'author = "{cats[-1]}"',
            'interval = "1m"',
        ]
    path = tmp / "agg.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def atom_entries(public: Path) -> list[etree._Element]:
    root = etree.parse(str(public / "feed.atom")).getroot()
    return root.findall(f"{ATOM}entry")


def entry_titles(public: Path) -> list[str]:
    return [e.findtext(f"{ATOM}title") or "" for e in atom_entries(public)]


def snapshot(public: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(public)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(public.rglob("*"))
        if p.is_file()
    }


def serve_demo(server: FaultServer, name: str, etag: str = '"v1"') -> str:
    server.add(f"/{name}", Static((DEMO / name).read_bytes(), headers=RSS_TYPE, etag=etag))
    return server.url(f"/{name}")


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, ppid, pgrp, …"""
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """Running, that is: a zombie has ended and only waits to be reaped."""
    try:
        return _stat(pid)[0] != "Z"
    except OSError:
        return False


def _live() -> dict[int, list[str]]:
    """Every live (not zombie) process's /proc stat fields, by pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = _stat(entry)
            except (OSError, IndexError):
                continue  # ended while we looked
            if fields[0] != "Z":
                found[int(entry)] = fields
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`: its children, theirs (a fork server's workers), …"""
    parents = {p: int(fields[1]) for p, fields in _live().items()}
    found, frontier = [], [pid]
    while frontier:
        below = [p for p, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


def group(pgid: int) -> list[int]:
    """Every live process of process group `pgid` (what a terminal's Ctrl-C reaches)."""
    return [p for p, fields in _live().items() if int(fields[2]) == pgid]


def gone(pids: list[int], timeout: float = 10) -> bool:
    """Whether every one of `pids` has ended within `timeout` seconds."""
    return wait_for(lambda: not any(alive(p) for p in pids), timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """`aggregator run` as a subprocess; leaving the block sends SIGTERM and waits."""

    def __init__(self, cfg: Path) -> None:
        self.cfg = cfg
        self.returncode: int | None = None
        self.stderr = ""
        self.stop_seconds = 0.0

    def __enter__(self) -> Daemon:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "-c", str(self.cfg)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate()
        self.stop_seconds = time.monotonic() - started
        self.returncode = self.proc.returncode


def wait_for(predicate: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    return False


def healthz(port: int) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


# --- the operator commands (tests/test_cli.py and beside it) --------------------------


def cli(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if k not in ("AGGREGATOR_CONFIG", "XDG_CONFIG_HOME")
    }
    # The package must be importable from any working folder (it is installed editable,
    # but a plain checkout is importable from the repo only).
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**base, **(env or {})},
    )


def demo_config(folder: Path, *, extra_sources: str = "", port: int = 0) -> Path:
    """A config polling two demo feeds (copied next to it) into folder/public."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("sina-china.xml", "stcn.xml"):
        shutil.copy(DEMO / name, folder / name)
    path = folder / "aggregator.toml"
    path.write_text(
        f"""
[storage]
path = "var/agg.db"
[output]
dir = "public"
base_url = "http://127.0.0.1:8080/"
title = "新浪财经聚合"
[server]
host = "127.0.0.1"
port = {port}
[[sources]]
name = "新浪财经－国內"
url = "file:sina-china.xml"
categories = ["金融", "新浪财经"]
[[sources]]
name = "证券时报网－快讯"
url = "file:stcn.xml"
categories = ["金融", "证券时报网"]
{extra_sources}""",
        encoding="utf-8",
    )
    return path


class Running:
    """`aggregator run` in a subprocess, its stderr in a file readable while it runs."""

    def __init__(self, cfg: Path, *args: str) -> None:
        self.cfg = cfg
        self.args = args
        self.log = cfg.parent / "run.log"

    def __enter__(self) -> Running:
        env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
        self._fh = self.log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "-c", str(self.cfg), *self.args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._fh,
        )
        return self

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.text()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not logged; log so far:\n{self.text()}")

    def __exit__(self, *exc: object) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._fh.close()


def newsboat_binary() -> str:
    found = shutil.which("newsboat")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("newsboat is required in CI (apt-get install newsboat)")
        pytest.skip("newsboat not installed (Debian package 'newsboat')")
    return found
