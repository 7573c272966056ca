"""A real feed reader (newsboat) subscribes to the served combined and category feeds.

newsboat reloads both feeds from our app under uvicorn on 127.0.0.1 and stores what it
understood in its SQLite cache, which we read back. Needs the Debian package `newsboat`:
skipped when it is missing, except under CI (env var CI set), where that is a failure.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from aggregator.metrics import Metrics
from aggregator.outputs.feeds import category_slug
from aggregator.server import create_app
from tests.asgiserver import ThreadedServer
from tests.processes import newsboat_binary
from tests.published import published

CATEGORY = "新浪财经－国內"


def test_newsboat_reads_combined_and_category_feeds(tmp_path: Path) -> None:
    binary = newsboat_binary()
    out = tmp_path / "public"
    app = create_app(out, health=lambda: (True, {}), metrics=Metrics())
    with ThreadedServer(app) as srv:
        base = f"http://127.0.0.1:{srv.port}/"
        view = published(tmp_path, 9, base_url=base)
        view.publish()
        combined = base + "feed.atom"
        category = base + "categories/" + quote(category_slug(CATEGORY)) + ".rss"
        (tmp_path / "urls").write_text(f"{combined}\n{category}\n", "utf-8")
        (tmp_path / "config").write_text("", "utf-8")
        cache = tmp_path / "cache.db"
        run = subprocess.run(
            [binary, "-x", "reload", "-u", "urls", "-c", str(cache), "-C", "config"],
            cwd=tmp_path,
            env={"HOME": str(tmp_path), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    feeds, items = read_cache(cache)
    assert feeds == {combined: "新浪财经聚合", category: f"新浪财经聚合 · {CATEGORY}"}
    by_id = {a.id: a for a in view.stored()}
    # newsboat keys items by guid: an item in both feeds is stored once, under either feed.
    assert sorted(items) == sorted(by_id)
    for guid, (feed_url, title, author, url, content) in items.items():
        art = by_id[guid]
        assert (title, author, url) == (art.title, art.author, art.link)
        number = art.title.rsplit("#", 1)[1]
        assert f"正文{number} " in content and "{{ 模板 }}" in content
        if feed_url == category:
            assert CATEGORY in art.categories
    in_category = {g for g, row in items.items() if row[0] == category}
    assert in_category  # the category feed was read, not only the combined one


def read_cache(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, str, str, str, str]]]:
    with sqlite3.connect(path) as db:
        feeds = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
        rows = db.execute("SELECT guid, feedurl, title, author, url, content FROM rss_item")
        items = {r[0]: tuple(r[1:]) for r in rows}
    db.close()
    return feeds, items
