"""End to end: `aggregator once` / `run` as subprocesses against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.faultserver import Drip, FaultServer, Static
from tests.processes import (
    ATOM,
    DEMO,
    REPO,
    RSS_TYPE,
    Daemon,
    atom_entries,
    entry_titles,
    free_port,
    healthz,
    run_cli,
    serve_demo,
    snapshot,
    wait_for,
    write_config,
)


def three_sources(server: FaultServer) -> list[tuple[str, str, list[str]]]:
    return [
        ("新浪财经－国內", serve_demo(server, "sina-china.xml"), ["金融", "新浪财经"]),
        ("证券时报网－快讯", serve_demo(server, "stcn.xml"), ["金融", "证券时报网"]),
        ("财联社－电报", serve_demo(server, "cls.xml"), ["金融", "财联社"]),
    ]


def test_first_and_second_poll(server: FaultServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, three_sources(server))
    public = tmp_path / "public"

    first = run_cli("once", "-c", str(cfg))
    assert first.returncode == 0, first.stderr
    titles = entry_titles(public)
    # 11 Sina + 2 证券时报网 + 3 财联社 items; the 长江干线港口 story runs at all three
    # outlets and comes out once.
    assert titles.count("1-7月长江干线港口完成货物吞吐量超20亿吨") == 1
    assert "0.23%! 华夏合肥高新REIT刷新公众配售比例纪录" in titles
    assert "103次！长征系列火箭创造连续发射成功新纪录" in titles
    assert len(titles) == len(set(titles)) == 14
    posts = sorted((public / "posts").glob("*.md"))
    assert len(posts) == 14
    for ext in ("rss", "json"):
        assert (public / f"feed.{ext}").stat().st_size > 1000
    before = snapshot(public)

    second = run_cli("once", "-c", str(cfg))
    assert second.returncode == 0, second.stderr
    conditional = [r for r in server.requests if "if-none-match" in r.headers]
    assert len(conditional) == 3, "the second poll must send the stored ETag"
    assert all(r.headers["if-none-match"] == '"v1"' for r in conditional)
    assert snapshot(public) == before, "nothing changed upstream: outputs untouched"

    # Outputs wiped (or a new output dir): rebuilt from the store, although every source
    # answers 304 — byte for byte the same.
    shutil.rmtree(public)
    third = run_cli("once", "-c", str(cfg))
    assert third.returncode == 0, third.stderr
    assert {k: v[0] for k, v in snapshot(public).items()} == {k: v[0] for k, v in before.items()}

    # Changed output settings are published at once too.
    cfg.write_text(cfg.read_text().replace('title = "新浪财经聚合"', 'title = "我的财经"'))
    assert run_cli("once", "-c", str(cfg)).returncode == 0
    assert "我的财经" in (public / "feed.atom").read_text(encoding="utf-8")


def _once_importing(cfg: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`aggregator once` in a fresh interpreter, and every module it imported."""
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aggregator", "once", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    lines = [line.split("|") for line in done.stderr.splitlines()]
    return done, {f[2].strip() for f in lines if f[0].startswith("import time:") and len(f) == 3}


def test_a_run_that_publishes_nothing_loads_no_template_engine(
    server: FaultServer, tmp_path: Path
) -> None:
    # Cron runs `once` every few minutes, and most runs find nothing new (every source 304).
    cfg = write_config(tmp_path, three_sources(server))
    first, imported = _once_importing(cfg)
    assert first.returncode == 0, first.stderr
    assert "jinja2" in imported, "rendering pages loads it"
    again, imported = _once_importing(cfg)
    assert again.returncode == 0, again.stderr
    assert "; 0 file(s) written" in again.stderr
    assert "jinja2" not in imported


def test_one_source_failing_does_not_stop_the_others(server: FaultServer, tmp_path: Path) -> None:
    server.add("/broken.xml", Static(b"<html>oops</html>", status=500))
    sources = [*three_sources(server)[:2], ("坏源", server.url("/broken.xml"), ["金融", "坏源"])]
    cfg = write_config(tmp_path, sources)
    done = run_cli("once", "-c", str(cfg))
    assert done.returncode == 1
    assert "坏源" in done.stderr and "http_5xx" in done.stderr
    assert len(entry_titles(tmp_path / "public")) == 12  # 11 Sina + 2 证券时报网, 长江 once

    status = run_cli("status", "-c", str(cfg))
    states = {s["name"]: s for s in json.loads(status.stdout)}
    assert states["坏源"]["last_error_kind"] == "http_5xx"
    assert states["坏源"]["error_count"] == 1
    assert states["坏源"]["next_poll"] is not None
    assert states["新浪财经－国內"]["error_count"] == 0
    assert states["新浪财经－国內"]["last_success"] is not None

    # The broken source recovers; what was stored from the others stays.
    server.add("/broken.xml", Static((DEMO / "cls.xml").read_bytes(), headers=RSS_TYPE))
    again = run_cli("once", "-c", str(cfg))
    assert again.returncode == 0, again.stderr
    assert len(entry_titles(tmp_path / "public")) == 14


def test_revision_updates_in_place_and_delete_is_for_good(
    server: FaultServer, tmp_path: Path
) -> None:
    body = (DEMO / "cls.xml").read_bytes()
    server.add("/cls.xml", Static(body, headers=RSS_TYPE, etag='"a"'))
    cfg = write_config(tmp_path, [("财联社－电报", server.url("/cls.xml"), ["金融", "财联社"])])
    public = tmp_path / "public"
    assert run_cli("once", "-c", str(cfg)).returncode == 0
    ids = {e.findtext(f"{ATOM}id") for e in atom_entries(public)}
    posts = {p.name for p in (public / "posts").glob("*.md")}

    revised = body.replace("共34家钢厂下调废钢采购价".encode(), "共35家钢厂下调废钢采购价".encode())
    assert revised != body
    server.add("/cls.xml", Static(revised, headers=RSS_TYPE, etag='"b"'))
    assert run_cli("once", "-c", str(cfg)).returncode == 0
    assert {e.findtext(f"{ATOM}id") for e in atom_entries(public)} == ids
    assert {p.name for p in (public / "posts").glob("*.md")} == posts
    text = "".join((public / "posts" / p).read_text(encoding="utf-8") for p in posts)
    assert "共35家钢厂" in text and "共34家钢厂" not in text

    link = next(
        e.find(f"{ATOM}link").get("href")  # type: ignore[union-attr]
        for e in atom_entries(public)
        if "废钢" in (e.findtext(f"{ATOM}title") or "")
    )
    deleted = run_cli("delete", "-c", str(cfg), link)
    assert deleted.returncode == 0, deleted.stderr
    assert not any("废钢" in t for t in entry_titles(public))
    assert len(list((public / "posts").glob("*.md"))) == len(posts) - 1
    server.add("/cls.xml", Static(body, headers=RSS_TYPE, etag='"c"'))
    assert run_cli("once", "-c", str(cfg)).returncode == 0
    assert not any("废钢" in t for t in entry_titles(public)), "a deleted article stays gone"


RELEASE = (
    "<p>国家统计局今日发布数据显示，7月份，规模以上工业增加值同比实际增长3.8%，"
    "比上月加快0.3个百分点。</p><p>7月份，社会消费品零售总额同比增长2.7%，"
    "其中，除汽车以外的消费品零售额增长2.9%。</p><p>7月份，全国城镇调查失业率为5.4%，"
    "比上月下降0.1个百分点。国家统计局新闻发言人表示，国民经济延续恢复发展态势。</p>"
)


def rss(items: list[tuple[str, str, str, str]]) -> bytes:
    """An RSS 2.0 channel of (doc id, title, body HTML, pubDate) items, at Sina's URLs."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>',
        "<title>新浪财经－国內</title><link>https://finance.sina.com.cn/china/</link>",
    ]
    for doc, title, body, date in items:
        link = f"https://finance.sina.com.cn/china/2022-08-15/doc-{doc}.shtml"
        out.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{date}</pubDate><description><![CDATA[{body}]]></description></item>"
        )
    return ("".join(out) + "</channel></rss>").encode()


def test_a_story_republished_under_new_headlines_comes_out_once(
    server: FaultServer, tmp_path: Path
) -> None:
    """Issue 13: Sina puts one release out three times, each headline quoting another of its
    figures, the body the same but for the 原标题 line; a sister city's report in the same
    words stays a story of its own."""
    first = "7月份规模以上工业增加值同比增长3.8%"
    retitles = ["7月份社会消费品零售总额同比增长2.7%", "统计局：7月全国城镇调查失业率为5.4%"]
    items = [("imhvaaaa0000001", first, RELEASE, "Mon, 15 Aug 2022 02:00:00 GMT")]
    server.add("/china.xml", Static(rss(items), headers=RSS_TYPE, etag='"1"'))
    cfg = write_config(
        tmp_path, [("新浪财经－国內", server.url("/china.xml"), ["金融", "新浪财经"])]
    )
    public = tmp_path / "public"
    assert run_cli("once", "-c", str(cfg)).returncode == 0

    sister = RELEASE.replace("国家统计局", "上海市统计局").replace("3.8%", "4.6%")
    items += [
        (
            "imhvaaaa0000002",
            retitles[0],
            f"<p>原标题：{first}</p>{RELEASE}",
            "Mon, 15 Aug 2022 02:06:00 GMT",
        ),
        (
            "imhvaaaa0000003",
            retitles[1],
            f"<p>{retitles[0]}</p>{RELEASE}<p>责任编辑：张三</p>",
            "Mon, 15 Aug 2022 02:15:00 GMT",
        ),
        (
            "imhvaaaa0000004",
            "7月份上海规模以上工业增加值同比增长4.6%",
            sister,
            "Mon, 15 Aug 2022 02:20:00 GMT",
        ),
    ]
    server.add("/china.xml", Static(rss(items), headers=RSS_TYPE, etag='"2"'))
    done = run_cli("once", "-c", str(cfg))
    assert done.returncode == 0, done.stderr

    titles = entry_titles(public)
    assert sorted(titles) == sorted([first, "7月份上海规模以上工业增加值同比增长4.6%"])
    assert len(list((public / "posts").glob("*.md"))) == 2
    feed = json.loads((public / "feed.json").read_text(encoding="utf-8"))
    (merged,) = [it for it in feed["items"] if it["title"] == first]
    assert merged["_alternative_titles"] == {"titles": retitles}
    assert len(merged["_provenance"]["links"]) == 3, "every copy's link kept"
    (other,) = [it for it in feed["items"] if it["title"] != first]
    assert "_alternative_titles" not in other
    rss_doc = (public / "feed.rss").read_text(encoding="utf-8")
    assert rss_doc.count("<item>") == 2 and retitles[0] not in rss_doc


def test_demo_config_works_offline(tmp_path: Path) -> None:
    text = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('"../var/demo.db"', f'"{tmp_path}/demo.db"')
    text = text.replace('"../demo-public"', f'"{tmp_path}/public"')
    text = text.replace('"file:demo/', f'"file:{DEMO}/')
    cfg = tmp_path / "demo.toml"
    cfg.write_text(text, encoding="utf-8")
    done = run_cli("once", "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    public = tmp_path / "public"
    entries = atom_entries(public)
    n_items = sum(
        (DEMO / f).read_bytes().count(b"<item>") + (DEMO / f).read_bytes().count(b"<entry>")
        for f in ("sina-china.xml", "stcn.xml", "cls.xml", "cs.xml", "zhihu.atom")
    )
    # every demo item is there once; the 长江 story's copies at two other outlets merge.
    assert len(entries) == n_items - 2
    assert len(list((public / "posts").glob("*.md"))) == len(entries)
    seed = next(e for e in entries if (e.findtext(f"{ATOM}title") or "").startswith("工信部"))
    terms = {c.get("term") for c in seed.findall(f"{ATOM}category")}
    assert {"新浪财经－国內", "新浪财经－宏观经济"} <= terms, (
        "seen in two channels, listed once each"
    )
    assert (public / "index.html").read_text(encoding="utf-8").count("工信部印发") >= 1


def test_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, [("源", "https://example.com/feed", ["金融"])])
    cfg.write_text(cfg.read_text().replace('path = "var/agg.db"', "path = 3"), encoding="utf-8")
    done = run_cli("once", "-c", str(cfg))
    assert done.returncode == 2
    assert "storage.path" in done.stderr
    shipped = run_cli("check-config", "-c", str(REPO / "config" / "aggregator.toml"))
    problems = [line for line in shipped.stdout.splitlines() if line.startswith("problem: ")]
    # Port 8080 may be taken by something else on a shared machine; nothing else may fail.
    assert all(p.startswith("problem: server.port: ") for p in problems), shipped.stdout
    assert shipped.returncode == (2 if problems else 0)


def test_run_serves_and_stops_cleanly_on_sigterm(server: FaultServer, tmp_path: Path) -> None:
    port = free_port()
    cfg = write_config(tmp_path, three_sources(server)[1:], port=port)
    base = f"http://127.0.0.1:{port}"
    with Daemon(cfg) as d:
        assert wait_for(lambda: all(x["last_success"] for x in healthz(port).json()["sources"]))
        health = healthz(port)
        assert health.status_code == 200
        names = {s["name"] for s in health.json()["sources"]}
        assert names == {"证券时报网－快讯", "财联社－电报"}
        assert all(x["next_poll"] and not x["last_error"] for x in health.json()["sources"])
        assert wait_for(
            lambda: all(t in httpx.get(f"{base}/feed.atom").text for t in ("长征系列火箭", "REIT"))
        )
        feed = httpx.get(f"{base}/feed.atom", timeout=2)
        assert feed.status_code == 200
        assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert "华夏合肥高新REIT" in feed.text
        etag = feed.headers["etag"]
        again = httpx.get(f"{base}/feed.atom", headers={"If-None-Match": etag}, timeout=2)
        assert again.status_code == 304
        # The website: search finds the story, its page on the site answers.
        found = httpx.get(f"{base}/search", params={"q": "长征系列火箭"}, timeout=5)
        assert found.status_code == 200 and "<mark>长征系列火箭</mark>" in found.text
        page = re.search(r'href="(articles/[^"]+\.html)"', found.text)
        assert page is not None
        assert httpx.get(f"{base}/{page.group(1)}", timeout=2).status_code == 200
        assert page.group(1) in httpx.get(f"{base}/", timeout=2).text
    assert d.returncode == 0, d.stderr
    assert d.stop_seconds < 5
    public = tmp_path / "public"
    assert not list(public.rglob(".*.tmp")), "no half-written file left behind"
    assert len(entry_titles(public)) == 4  # the 长江 story at both outlets merges


def test_sigterm_during_a_stuck_poll_stops_within_seconds(
    server: FaultServer, tmp_path: Path
) -> None:
    port = free_port()
    body = (DEMO / "cls.xml").read_bytes()
    server.add("/drip.xml", Drip(body, interval=0.5))  # would take ~20 minutes
    sources = [
        ("证券时报网－快讯", serve_demo(server, "stcn.xml"), ["金融", "证券时报网"]),
        ("慢源", server.url("/drip.xml"), ["金融", "慢源"]),
    ]
    cfg = write_config(tmp_path, sources, port=port)
    cfg.write_text(cfg.read_text().replace('deadline = "10s"', 'deadline = "300s"'))
    with Daemon(cfg) as d:
        assert wait_for(lambda: bool(server.requests_to("/drip.xml")))
        feed = tmp_path / "public" / "feed.atom"
        assert wait_for(lambda: "华夏合肥高新REIT" in feed.read_text(encoding="utf-8"))
        time.sleep(1)  # the drip poll is in flight
    assert d.returncode == 0, d.stderr
    assert d.stop_seconds < 10, f"shutdown took {d.stop_seconds:.1f}s"
    assert "华夏合肥高新REIT" in (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8")
    con = sqlite3.connect(tmp_path / "var" / "agg.db")
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_a_failing_source_never_stops_the_others_in_the_daemon(
    server: FaultServer, tmp_path: Path
) -> None:
    port = free_port()
    no_ttl = (DEMO / "stcn.xml").read_bytes().replace(b"<ttl>5</ttl>", b"")
    server.add("/ok.xml", Static(no_ttl, headers=RSS_TYPE, etag='"s"'))
    server.add("/down.xml", Static(b"", status=503, headers={"Retry-After": "1"}))
    sources = [
        ("证券时报网－快讯", server.url("/ok.xml"), ["金融", "证券时报网"]),
        ("坏源", server.url("/down.xml"), ["金融", "坏源"]),
    ]
    cfg = write_config(tmp_path, sources, port=port)
    cfg.write_text(cfg.read_text().replace('interval = "1m"', 'interval = "1s"'))
    with Daemon(cfg) as d:
        assert wait_for(lambda: len(server.requests_to("/ok.xml")) >= 4, timeout=40)
        health = healthz(port)
        assert health.status_code == 200, "one source failing is degraded, not down"
        state = {s["name"]: s for s in health.json()["sources"]}
        assert state["坏源"]["last_error_kind"] == "http_5xx"
        assert state["坏源"]["error_count"] >= 1
        assert state["证券时报网－快讯"]["error_count"] == 0
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'aggregator_poll_failures_total{kind="http_5xx",source="坏源"}' in metrics
        assert 'aggregator_fetch_seconds_count{source="证券时报网－快讯"}' in metrics
    assert d.returncode == 0, d.stderr
    assert "华夏合肥高新REIT" in (tmp_path / "public" / "feed.atom").read_text(encoding="utf-8")


def test_port_in_use_is_a_clear_configuration_error(server: FaultServer, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = write_config(tmp_path, three_sources(server)[1:], port=port)
        done = run_cli("run", "-c", str(cfg), timeout=30)
    assert done.returncode == 2
    assert "server.port" in done.stderr and "Traceback" not in done.stderr
    assert not server.requests, "nothing is polled when the daemon cannot serve"
