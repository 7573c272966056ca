"""End to end against hostile upstreams (issue 17): `aggregator once`/`run`/`status`/
`check-config` as subprocesses, real HTTP servers on 127.0.0.1, every output read back.
"""

from __future__ import annotations

import base64
import gzip
import json
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.faultserver import FaultServer, Static
from tests.processes import (
    REPO,
    RSS_TYPE,
    Daemon,
    Running,
    entry_titles,
    free_port,
    healthz,
    run_cli,
    snapshot,
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


def open_files_limit(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open files limit")


def test_slow_connections_cannot_take_the_server_down(tmp_path: Path) -> None:
    # 400 connections that never finish their request head, under a soft limit of 256
    # descriptors (systemd's default is 1024): the daemon raises its limit, keeps
    # answering, closes them after the header timeout, and does not flood its log.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip("the hard open-files limit here is too low to show the raise")
    port = free_port()
    with FaultServer() as server:
        server.add("/f.xml", Static(rss(item(1, "<p>一</p>")), headers=RSS_TYPE))
        cfg = write_config(tmp_path, [("源", server.url("/f.xml"), ["金融", "源"])], port)

        def low_limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

        proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator", "run", "-c", str(cfg)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=low_limit,
        )
        slow: list[socket.socket] = []
        try:
            assert wait_for(lambda: healthz(port).status_code == 200)
            assert open_files_limit(proc.pid)[0] > 256, "the soft limit was raised"
            for _ in range(400):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n")  # and nothing more
                slow.append(s)
            started = time.monotonic()
            assert healthz(port).status_code == 200
            assert time.monotonic() - started < 3
            for s in slow:
                s.settimeout(15)
                assert s.recv(1024) == b"", "closed by the server after the header timeout"
        finally:
            for s in slow:
                s.close()
            proc.terminate()
            _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr[-2000:]
    assert len(stderr) < 50_000


def test_unwritable_outputs_are_a_clear_error_and_lose_nothing(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.add("/f.xml", Static(rss(item(1, "<p>一</p>")), headers=RSS_TYPE))
        cfg = write_config(tmp_path, [("源", server.url("/f.xml"), ["金融", "源"])])
        (tmp_path / "public").write_text("a file where the output folder should be")
        done = run_cli("once", "-c", str(cfg))
        assert done.returncode == 1
        assert "cannot write the outputs" in done.stderr and "Traceback" not in done.stderr
        (tmp_path / "public").unlink()
        again = run_cli("once", "-c", str(cfg))  # stored the first time: published now
        assert again.returncode == 0, again.stderr
        assert entry_titles(tmp_path / "public") == ["第1条"]


@pytest.mark.slow  # two daemon start-ups and a 5 s look: about 15 s here
def test_posts_and_pages_deleted_come_back_byte_identical(tmp_path: Path) -> None:
    # Finding 10: files deleted while their folder remains, with the daemon running (every
    # source says 304: nothing else would publish) and while it is stopped.
    with FaultServer() as server:
        body = rss(*(item(n, f"<p>第{n}条正文。</p>") for n in range(1, 7)))
        server.add("/f.xml", Static(body, headers=RSS_TYPE, etag='"v1"'))
        port = free_port()
        cfg = write_config(tmp_path, [("源", server.url("/f.xml"), ["金融", "源"])], port)
        public = tmp_path / "public"
        with Running(cfg) as d:
            # Removals while a publish writes are only found by the daemon's 30 min look:
            # wait until the one that wrote the articles is done.
            assert wait_for(lambda: d.text().count("published ") >= 2)
            assert len(list((public / "articles").glob("*.html"))) == 6
            before = snapshot(public)
            gone = [*sorted(public.glob("posts/*.md"))[:2], sorted(public.glob("articles/*"))[3]]
            gone += [public / "feed.rss", next(public.glob("categories/*.atom"))]
            for path in gone:
                path.unlink()
            d.wait_for("restoring the files of", timeout=20)  # 3, unless a look fell mid-way
            assert wait_for(lambda: all(p.is_file() for p in gone))
            after = snapshot(public)
            assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
            rewritten = {k for k in after if after[k][1] != before[k][1]}
            assert rewritten == {str(p.relative_to(public)) for p in gone}, "exactly those"
        gone = [*sorted(public.glob("posts/*.md"))[3:], sorted(public.glob("articles/*"))[0]]
        for path in gone:
            path.unlink()
        done = run_cli("once", "-c", str(cfg))
        assert done.returncode == 0, done.stderr
        assert "restoring the files of 4 article(s): posts 3, article_pages 1" in done.stderr
        assert {k: v[0] for k, v in snapshot(public).items()} == {k: v[0] for k, v in after.items()}


@pytest.mark.slow  # a daemon, 2,000 connections and a poll cycle: 10-20 s here
@pytest.mark.parametrize("limit", [256])
def test_a_burst_of_connections_under_a_low_hard_fd_limit(tmp_path: Path, limit: int) -> None:
    # 2,000 connections opened as fast as possible against a daemon whose hard limit is
    # `limit` descriptors: those beyond its budget are closed at once, it never runs out
    # of descriptors, keeps polling and publishing, and answers /healthz.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        pytest.skip("this test's own client needs 2,200 descriptors")
    port = free_port()
    with FaultServer() as server:
        server.add("/f.xml", Static(rss(item(1, "<p>一</p>")), headers=RSS_TYPE, etag='"1"'))
        cfg = write_config(tmp_path, [("源", server.url("/f.xml"), ["金融", "源"])], port)
        cfg.write_text(cfg.read_text().replace('interval = "1m"', 'interval = "1s"'))
        log = tmp_path / "run.log"

        def low_limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        with log.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "run", "-c", str(cfg)],
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=err,
                preexec_fn=low_limit,
            )
        burst: list[socket.socket] = []
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2200), hard))
        try:
            assert wait_for(lambda: healthz(port).json()["status"] == "ok")
            assert open_files_limit(proc.pid) == (limit, limit)
            for _ in range(2000):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                burst.append(s)
            # While they are held open: a new article is polled and published.
            server.add(
                "/f.xml",
                Static(
                    rss(item(1, "<p>一</p>"), item(2, "<p>二</p>")), headers=RSS_TYPE, etag='"2"'
                ),
            )
            public = tmp_path / "public"
            assert wait_for(lambda: sorted(entry_titles(public)) == ["第1条", "第2条"], 20)
            assert wait_for(lambda: healthz(port).status_code == 200, 20), "answers during it"
            for s in burst:
                s.close()
            burst.clear()
            assert wait_for(lambda: healthz(port).json()["status"] == "ok", 20)
            served = httpx.get(f"http://127.0.0.1:{port}/feed.atom", timeout=5)
            assert served.status_code == 200 and "第2条" in served.text
        finally:
            for s in burst:
                s.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    assert "Too many open files" not in text and "out of system resource" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert len(text) < 50_000, "the log is not flooded"
