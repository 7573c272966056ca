"""End to end against hostile upstreams (issue 17): `aggregator once`/`run`/`status`/
`check-config` as subprocesses, real HTTP servers on 127.0.0.1, every output read back.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import httpx

from tests.faultserver import FaultServer, Static
from tests.processes import (
    RSS_TYPE,
    Daemon,
    entry_titles,
    free_port,
    healthz,
    run_cli,
    wait_for,
    write_config,
)

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


def item(n: int, body: str) -> str:
    return (
        f"<item><title>第{n}条</title><link>https://finance.sina.com.cn/a/doc-i{n}.shtml</link>"
        f"<pubDate>Mon, 05 Jan 2026 0{n}:00:00 +0800</pubDate>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


def rss(*items: str, close: bool = True) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    return (head + "".join(items) + ("</channel></rss>" if close else "")).encode()


def test_a_huge_item_is_cut_and_every_other_article_still_published(tmp_path: Path) -> None:
    huge = "<p>" + "巨" * 200 + "x" * 10_500_000 + "</p>"
    body = gzip.compress(rss(item(1, "<p>第一条正文。</p>"), item(2, huge), item(3, "<p>三</p>")))
    with FaultServer() as server:
        server.add("/huge.xml", Static(body, headers={**RSS_TYPE, "Content-Encoding": "gzip"}))
        server.add("/other.xml", Static(rss(item(4, "<p>别的源。</p>")), headers=RSS_TYPE))
        cfg = write_config(
            tmp_path,
            [
                ("大源", server.url("/huge.xml"), ["金融", "大源"]),
                ("别的源", server.url("/other.xml"), ["金融", "别的源"]),
            ],
        )
        done = run_cli("once", "-c", str(cfg), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    titles = entry_titles(tmp_path / "public")
    assert sorted(titles) == ["第1条", "第2条", "第3条", "第4条"]
    atom = (tmp_path / "public" / "feed.atom").stat().st_size
    assert atom < 4_000_000, "the huge body was cut to the per-item limit"
    states = {s["name"]: s for s in json.loads(run_cli("status", "-c", str(cfg)).stdout)}
    assert "1 item(s) cut" in states["大源"]["last_warning"]
    assert states["别的源"]["last_warning"] is None
    assert "大源: limits: 1 item(s) cut" in done.stderr


def test_a_truncated_document_is_recorded_as_partial(tmp_path: Path) -> None:
    whole = rss(item(1, "<p>一</p>"), item(2, "<p>二</p>"), item(3, "<p>三</p>"))
    cut = whole[: whole.index(b"<item><title>\xe7\xac\xac3") + 40]
    port = free_port()
    with FaultServer() as server:
        server.add("/cut.xml", Static(cut, headers=RSS_TYPE))
        cfg = write_config(tmp_path, [("半源", server.url("/cut.xml"), ["金融", "半源"])], port)
        done = run_cli("once", "-c", str(cfg))
        assert done.returncode == 0, done.stderr
        assert "半源: partial: truncated document" in done.stderr
        assert sorted(entry_titles(tmp_path / "public")) == ["第1条", "第2条"]
        status = json.loads(run_cli("status", "-c", str(cfg)).stdout)
        assert status[0]["last_warning"].startswith("truncated document")
        fresh = tmp_path / "daemon"
        fresh.mkdir()
        cfg = write_config(fresh, [("半源", server.url("/cut.xml"), ["金融", "半源"])], port)
        with Daemon(cfg):
            assert wait_for(lambda: healthz(port).json()["status"] == "degraded")
            source = healthz(port).json()["sources"][0]
            assert source["last_warning"].startswith("truncated document")
            warned = 'aggregator_poll_warnings_total{kind="partial",source="半源"} 1.0'
            assert wait_for(lambda: warned in httpx.get(f"http://127.0.0.1:{port}/metrics").text)
