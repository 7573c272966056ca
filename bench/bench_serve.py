"""Requests/s of GET /feed.atom (full 200 and conditional 304) over loopback.

Compares our app (aggregator.server) with a minimal ASGI app returning the same bytes (the
ceiling), both under uvicorn with the same settings, each in its own process. Load comes
from wrk (Debian package `wrk`) or, when it is missing, a multi-connection httpx client.

    .venv/bin/python bench/bench_serve.py [--seconds 5] [--connections 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.identity import identity_keys, provenance_link  # noqa: E402
from aggregator.metrics import Metrics  # noqa: E402
from aggregator.models import (  # noqa: E402
    Article,
    DedupSettings,
    FetchSettings,
    OutputSettings,
    Settings,
)
from aggregator.outputs import publish  # noqa: E402
from aggregator.server import create_app  # noqa: E402
from aggregator.store import Store  # noqa: E402

Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]
UVICORN = {"host": "127.0.0.1", "log_level": "warning", "access_log": False, "lifespan": "off"}


def _publish(folder: Path, n: int) -> None:
    """Store `n` synthetic articles of realistic size and publish them, as `once` would."""
    t0 = datetime(2024, 3, 5, tzinfo=UTC)
    body = "<p>　　新浪财经讯 央行今日开展逆回购操作，市场流动性保持合理充裕。</p>" * 20
    articles = []
    for i in range(n):
        link = f"https://finance.sina.com.cn/china/doc-inaaa{i:04d}.shtml"
        title = f"基准测试文章第{i}号：市场流动性保持合理充裕"
        key, alts = identity_keys(link, None, title, "")
        articles.append(
            Article(
                key=key,
                alt_keys=alts,
                link=link,
                title=title,
                published=t0 + timedelta(minutes=i),
                date_is_fallback=False,
                author="新浪财经",
                categories=("金融", "新浪财经", "新浪财经－国內"),
                content_html=body,
                text=body,
                cover=f"https://n.sinaimg.cn/finance/{i}.jpg",
                source_name="新浪财经－国內",
                canonical_link=provenance_link(link),
            )
        )
    settings = Settings(
        config_path=folder / "bench.toml",
        storage_path=folder / "db" / "bench.db",
        output=OutputSettings(dir=folder / "public", base_url="http://127.0.0.1/", title="基准"),
        server_host="127.0.0.1",
        server_port=8080,
        sources=(),
        fetch=FetchSettings(user_agent="bench"),
        dedup=DedupSettings(policy="keep"),  # the synthetic articles look alike
    )
    store = Store(settings.storage_path, settings.dedup)
    try:
        store.upsert(articles, t0)
        publish(settings, store)
    finally:
        store.close()


def ceiling_app(body: bytes, etag: str) -> ASGI:
    """The least an ASGI app can do to serve these bytes and honour If-None-Match."""
    full = [
        (b"content-type", b"application/atom+xml; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"etag", etag.encode()),
    ]
    tag = etag.encode()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if any(k == b"if-none-match" and v == tag for k, v in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": full[2:]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": full})
        await send({"type": "http.response.body", "body": body})

    return app


def serve(kind: str, folder: Path, port: int) -> None:
    """Child process: run one app under uvicorn until killed."""
    import uvicorn

    if kind == "ours":
        app = create_app(folder, health=lambda: (True, {}), metrics=Metrics())
    else:
        body = (folder / "feed.atom").read_bytes()
        app = ceiling_app(body, sys.argv[sys.argv.index("--etag") + 1])
    uvicorn.run(app, port=port, **UVICORN)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            httpx.get(url, trust_env=False, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not start")


def run_wrk(url: str, headers: dict[str, str], seconds: int, conns: int) -> tuple[float, int]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, errors + (int(non2xx.group(1)) if non2xx else 0)


async def _httpx_load(
    url: str, headers: dict[str, str], seconds: int, conns: int
) -> tuple[float, int]:
    done = errors = 0
    limits = httpx.Limits(max_connections=conns)
    async with httpx.AsyncClient(limits=limits, trust_env=False, headers=headers) as client:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.monotonic() < stop:
                try:
                    r = await client.get(url)
                    errors += r.status_code not in (200, 304)
                except httpx.HTTPError:
                    errors += 1
                done += 1

        await asyncio.gather(*(worker() for _ in range(conns)))
    return done / seconds, errors


def load(url: str, headers: dict[str, str], seconds: int, conns: int) -> tuple[float, int]:
    if shutil.which("wrk"):
        return run_wrk(url, headers, seconds, conns)
    return asyncio.run(_httpx_load(url, headers, seconds, conns))


def measure(kind: str, folder: Path, etag: str, args: argparse.Namespace) -> dict[str, Any]:
    """Full and conditional load against one app; `etag` is what our app sends."""
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--dir", str(folder), "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--etag", etag])
    try:
        url = f"http://127.0.0.1:{port}/feed.atom"
        wait_ready(url)
        first = httpx.get(url, headers={"accept-encoding": "identity"}, trust_env=False)
        assert first.content == (folder / "feed.atom").read_bytes()
        plain = {"accept-encoding": "identity"}
        check = httpx.get(url, headers={**plain, "if-none-match": etag}, trust_env=False)
        assert check.status_code == 304, f"{kind}: conditional GET gave {check.status_code}"
        load(url, {}, 1, args.connections)  # warm-up
        full = load(url, {}, args.seconds, args.connections)
        cond = load(url, {"If-None-Match": etag}, args.seconds, args.connections)
    finally:
        proc.terminate()
        proc.wait(10)
    return {"full": full, "304": cond}


def _our_etag(folder: Path) -> str:
    """The ETag our app sends for feed.atom, asked from a short-lived in-process server."""

    async def ask() -> str:
        app = create_app(folder, health=lambda: (True, {}), metrics=Metrics())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            r = await client.get("/feed.atom", headers={"accept-encoding": "identity"})
            return r.headers["etag"]

    return asyncio.run(ask())


def _best(results: list[dict[str, Any]]) -> dict[str, tuple[float, int]]:
    """Highest req/s per case over rounds, with the errors of every round summed."""
    return {
        case: (max(r[case][0] for r in results), sum(r[case][1] for r in results))
        for case in ("full", "304")
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--articles", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--serve", choices=["ours", "ceiling"])
    p.add_argument("--dir", type=Path)
    p.add_argument("--port", type=int)
    p.add_argument("--etag")
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.dir, args.port)
        return
    with tempfile.TemporaryDirectory() as tmp:
        _publish(Path(tmp), args.articles)
        folder = Path(tmp) / "public"
        size = (folder / "feed.atom").stat().st_size
        etag = _our_etag(folder)
        tool = "wrk" if shutil.which("wrk") else "httpx"
        print(
            f"feed.atom {size} bytes, {args.connections} connections, {args.seconds}s, "
            f"best of {args.rounds} rounds, {tool}"
        )
        # Alternate the apps and keep each one's best round: the host may be busy.
        rounds = [
            (measure("ours", folder, etag, args), measure("ceiling", folder, etag, args))
            for _ in range(args.rounds)
        ]
        ours, ceiling = _best([r[0] for r in rounds]), _best([r[1] for r in rounds])
    for case in ("full", "304"):
        (o_rps, o_err), (c_rps, c_err) = ours[case], ceiling[case]
        print(
            f"{case:>4}: ours {o_rps:9.0f} req/s ({o_err} errors)   "
            f"ceiling {c_rps:9.0f} req/s ({c_err} errors)   ratio {o_rps / c_rps:.2f}"
        )


if __name__ == "__main__":
    main()
