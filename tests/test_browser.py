"""A real browser on the site (SPEC §12): Debian's chromium, driven by Playwright, loads `/`,
an article, a category and a search at phone and desktop widths — no horizontal overflow,
category names never broken, every on-site link answering — and keeps screenshots in
tests/artifacts/screenshots/ (git-ignored) for people to look at.

Skipped when chromium or Playwright is missing, except under CI, where it fails instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from aggregator import config
from aggregator.live import LiveSite
from aggregator.metrics import Metrics
from aggregator.models import Settings
from aggregator.outputs import publish as publish_outputs
from aggregator.server import create_app
from aggregator.store import Store
from tests.asgiserver import ThreadedServer
from tests.published import art

REPO = Path(__file__).resolve().parents[1]
SHOTS = Path(__file__).parent / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No network, no first-run work, no GPU: the flags a headless CI machine needs.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (390, 1280)
LONG_CATEGORY = "超长的分类名称用来检验手机宽度下分类名不会从中间断开也不会让页面横向溢出"
# Covers point at Sina's image hosts, out of reach here: the browser gets this instead.
PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400">'
    b'<rect width="640" height="400" fill="#c9d6e8"/></svg>'
)


def _playwright() -> Any:
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
    if sync_api is None or not Path(CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: chromium or playwright is missing")
        pytest.skip("chromium or playwright not installed")
    return sync_api


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings, Store]]:
    """The offline demo polled for real, plus one article with a very long category."""
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(REPO / "config", root / "config")
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    cfg = root / "config" / "demo.toml"
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "once", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    settings = config.load(cfg)
    store = Store(settings.storage_path)
    long_one = art(
        "https://example.com/long.html",
        title="一个很长的标题：" + "长江干线港口货物吞吐量" * 4,
        cats=("金融", LONG_CATEGORY),
        published=datetime(2022, 8, 10, 1, 0, tzinfo=UTC),
    )
    store.upsert([long_one], datetime(2022, 8, 10, 1, 0, tzinfo=UTC))
    publish_outputs(settings, store)
    live = LiveSite(settings.output, settings.storage_path, lambda: [])
    app = create_app(settings.output.dir, health=lambda: (True, {}), metrics=Metrics(), site=live)
    try:
        with ThreadedServer(app) as srv:
            yield f"http://127.0.0.1:{srv.port}", settings, store
    finally:
        live.close()
        store.close()


@pytest.fixture(scope="module")
def browser(site: tuple[str, Settings, Store]) -> Iterator[Any]:
    sync_api = _playwright()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _offline(route: Any) -> None:
    if route.request.resource_type == "image":
        route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)
    else:
        route.abort()


def _pages(base: str, store: Store) -> dict[str, str]:
    seed = next(a for a in store.recent(100) if a.title.startswith("工信部"))
    return {
        "index": "/",
        "article": f"/articles/{seed.slug}.html",
        "category": "/categories/新浪财经－国內.html",
        "search": "/search?q=中小企业",
        "page1": "/pages/1.html",
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_and_links_work(
    browser: Any, site: tuple[str, Settings, Store], width: int
) -> None:
    base, _, store = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), _offline)
    checked: set[str] = set()
    try:
        for name, path in _pages(base, store).items():
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} overflows by {overflow}px at {width}px"
            # A category name is one unbroken line, however long.
            lines = page.evaluate(
                "[...document.querySelectorAll('.cats a')].map(a => a.getClientRects().length)"
            )
            assert all(n == 1 for n in lines), (path, lines)
            heights = page.evaluate(
                "[...document.querySelectorAll('.cats a')].map(a => a.getBoundingClientRect()"
                ".height / parseFloat(getComputedStyle(a).lineHeight))"
            )
            assert all(h < 1.9 for h in heights), (path, heights)
            for href in page.evaluate("[...document.links].map(a => a.href)"):
                if urlsplit(href).netloc != urlsplit(base).netloc or href in checked:
                    continue
                checked.add(href)
                got = page.request.get(href)
                assert got.status == 200, f"{href} (linked from {path}) answers {got.status}"
            page.screenshot(path=str(SHOTS / f"{width}-{name}.png"), full_page=True)
        assert page.evaluate("document.scripts.length") == 0
    finally:
        page.close()


def test_following_links_from_the_index_reaches_an_article(
    browser: Any, site: tuple[str, Settings, Store]
) -> None:
    base, _, store = site
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), _offline)
    try:
        page.goto(base + "/")
        first = page.locator("ol.list h2 a").first
        title = first.inner_text()
        first.click()
        page.wait_for_load_state()
        assert "/articles/" in page.url
        assert page.locator("h1").inner_text() == title
        assert page.locator(".body").inner_text().strip()  # the full text is on the page
        page.locator(".cats a").first.click()  # a category of it
        page.wait_for_load_state()
        assert "/categories/" in page.url and page.locator("ol.list li").count() > 0
        page.fill("header input[name=q]", "长江")
        page.press("header input[name=q]", "Enter")
        page.wait_for_load_state()
        assert "/search?q=" in page.url and page.locator("mark").count() > 0
        href = page.locator("ol.hits h2 a").first.get_attribute("href")
        assert href is not None
        assert page.request.get(urljoin(page.url, href)).status == 200
        assert len(store.recent(1000)) > 10
    finally:
        page.close()
