"""The product as a subprocess (`aggregator once|run`), its config, and reading what it wrote:
the helpers of the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from lxml import etree

from tests.faultserver import FaultServer, Static

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "demo"
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
