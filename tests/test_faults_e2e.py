"""End to end: `aggregator once` with one good source and many faulty ones.

The good source's articles are published, `once` exits 1, and every faulty source has its
failure recorded with a clear kind (read back through `aggregator status`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree

from tests.faultserver import (
    Behaviour,
    Drip,
    FaultServer,
    GzipBomb,
    Redirect,
    Reset,
    Stall,
    Static,
)

REPO = Path(__file__).resolve().parents[1]
GOOD_FEED = REPO / "config" / "demo" / "sina-macro.xml"
GOOD_TITLE = "工信部印发促进中小企业发展规划：推动中小企业高质量发展"
ATOM = "{http://www.w3.org/2005/Atom}"
DEADLINE = 2.0
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b'<rss version="2.0"><channel><title>&b;</title></channel></rss>'
)
HTML = b"<!DOCTYPE html><html><head><title>502</title></head><body>Bad Gateway</body></html>"

# path → (behaviour, the error kind `status` must record)
FAULTS: dict[str, tuple[Behaviour, str]] = {
    "/404": (Static(b"missing", status=404), "http_404"),
    "/410": (Static(b"gone", status=410), "http_410"),
    "/500": (Static(b"oops", status=500), "http_5xx"),
    "/429": (Static(b"", status=429, headers={"Retry-After": "600"}), "http_429"),
    "/stall": (Stall(seconds=60), "timeout"),
    "/drip": (Drip(GOOD_FEED.read_bytes(), interval=0.2), "timeout"),
    "/reset": (Reset(), "connect"),
    "/loop": (Redirect("/loop"), "redirect_loop"),
    "/bomb": (GzipBomb(64 << 20), "too_large"),
    "/html": (Static(HTML, headers={"Content-Type": "text/html"}), "not_a_feed"),
    "/empty": (Static(b""), "empty"),
    "/laughs": (Static(LAUGHS), "entities"),
}


def write_config(tmp: Path, sources: dict[str, str]) -> Path:
    lines = [
        "[storage]",
        'path = "var/agg.db"',
        "[output]",
        'dir = "public"',
        'base_url = "http://127.0.0.1:8080/"',
        'title = "新浪财经聚合"',
        "[server]",
        'host = "127.0.0.1"',
        "port = 8080",
        "[fetch]",
        f'deadline = "{DEADLINE:g}s"',
        f"max_bytes = {1 << 20}",
        f"max_decompressed = {2 << 20}",
    ]
    for name, url in sources.items():
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            f'url = "{url}"',
            'categories = ["金融", "新浪财经"]',
            'author = "新浪财经"',
            'interval = "5m"',
        ]
    path = tmp / "agg.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def test_faulty_sources_are_recorded_and_do_not_stop_the_good_one(tmp_path: Path) -> None:
    with FaultServer() as server:
        sources = {"good": server.add("/good", Static(GOOD_FEED.read_bytes(), etag='"g1"'))}
        for path, (behaviour, _) in FAULTS.items():
            sources[f"bad{path.replace('/', '-')}"] = server.add(path, behaviour)
        cfg = write_config(tmp_path, sources)

        started = time.monotonic()
        once = run_cli("once", "-c", str(cfg))
        took = time.monotonic() - started
        status = run_cli("status", "-c", str(cfg))

    assert once.returncode == 1, once.stderr
    assert took < 60  # the stalled and drip-fed sources are cut at the deadline
    root = etree.parse(str(tmp_path / "public" / "feed.atom")).getroot()
    titles = [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")]
    assert titles == [GOOD_TITLE]  # nothing from any faulty source, nothing lost from good

    assert status.returncode == 0, status.stderr
    states = {s["name"]: s for s in json.loads(status.stdout)}
    assert states["good"]["last_error_kind"] is None and states["good"]["etag"] == '"g1"'
    recorded = {name: states[name]["last_error_kind"] for name in sources if name != "good"}
    expected = {f"bad{p.replace('/', '-')}": kind for p, (_, kind) in FAULTS.items()}
    assert recorded == expected
    for name in expected:
        assert states[name]["last_error"]  # a readable reason, not just a label
        assert states[name]["error_count"] == 1
    assert states["bad-410"]["gone"] is True
    assert states["bad-404"]["next_poll"] is not None  # retried later, never given up
