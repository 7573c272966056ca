"""End to end against hostile upstreams (issue 17): `aggregator once`/`run`/`status`/
`check-config` as subprocesses, real HTTP servers on 127.0.0.1, every output read back.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from tests.faultserver import FaultServer, Static
from tests.test_e2e import RSS_TYPE, Daemon, free_port, healthz, run_cli, wait_for, write_config

SECRET = "s3cr3t-pa55"

RELATIVE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>内部源</title><link>/</link>
<item><title>相对链接的新闻</title><link>/news/1.html</link><guid>/news/1.html</guid>
<pubDate>Mon, 05 Jan 2026 08:00:00 +0800</pubDate>
<enclosure url="/img/cover.jpg" type="image/jpeg" length="1"/>
<description><![CDATA[<p>正文<a href="2.html">下一篇</a></p><p><img src="/img/in-body.jpg"></p>
<p>第三段文字。</p>]]></description></item>
</channel></rss>
"""


def every_output(public: Path) -> dict[str, str]:
    return {
        str(p.relative_to(public)): p.read_text(encoding="utf-8", errors="replace")
        for p in public.rglob("*")
        if p.is_file()
    }


def test_a_password_in_a_source_url_is_sent_but_never_published_logged_or_shown(
    tmp_path: Path,
) -> None:
    with FaultServer() as server:
        server.add("/feed.xml", Static(RELATIVE_FEED.encode(), headers=RSS_TYPE))
        server.add("/missing.xml", Static(b"no", status=404))
        port = free_port()
        good = server.url("/feed.xml").replace("http://", f"http://reader:{SECRET}@")
        bad = server.url("/missing.xml").replace("http://", f"http://reader:{SECRET}@")
        cfg = write_config(
            tmp_path, [("内部源", good, ["金融", "内部源"]), ("坏源", bad, ["金融", "坏源"])], port
        )
        done = run_cli("once", "-c", str(cfg))
        assert done.returncode == 1, done.stderr  # the 404 source
        sent = server.requests_to("/feed.xml")[0].headers["authorization"]
        assert sent == "Basic " + base64.b64encode(f"reader:{SECRET}".encode()).decode()

        public = tmp_path / "public"
        outputs = every_output(public)
        assert any("/news/1.html" in text for text in outputs.values()), "links resolved"
        assert any("/img/in-body.jpg" in text for text in outputs.values())
        leaks = [name for name, text in outputs.items() if SECRET in text or "reader@" in text]
        assert not leaks, f"password published in {leaks}"
        assert SECRET not in done.stderr, "password logged"

        status = run_cli("status", "-c", str(cfg))
        assert status.returncode == 0
        assert SECRET not in status.stdout
        assert {s["last_error_kind"] for s in json.loads(status.stdout)} == {None, "http_404"}
        checked = run_cli("check-config", "-c", str(cfg))
        assert checked.returncode == 0 and SECRET not in checked.stdout

        with Daemon(cfg) as d:
            assert wait_for(lambda: all(x["next_poll"] for x in healthz(port).json()["sources"]))
            assert wait_for(lambda: healthz(port).json()["sources"][1]["error_count"] >= 1)
            assert SECRET not in healthz(port).text
            served = httpx.get(f"http://127.0.0.1:{port}/feed.atom", timeout=5).text
            assert "/news/1.html" in served and SECRET not in served
        assert SECRET not in d.stderr
