"""Command line: config discovery, init, check-config, status, delete, enable, once's summary.

Every test runs the real `python -m aggregator` in a subprocess on real files (the offline
demo feeds) or against a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator import config
from aggregator.store import Store
from tests.faultserver import FaultServer, Static
from tests.processes import DEMO, REPO, RFC3339, Running, cli, demo_config
from tests.published import NOW, make_article


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# --- config discovery and init ---------------------------------------------------------


def test_config_option_before_or_after_the_subcommand(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    after = cli("check-config", "-c", str(cfg))
    before = cli("-c", str(cfg), "check-config")
    assert after.returncode == before.returncode == 0, after.stdout + after.stderr
    assert after.stdout == before.stdout
    assert "configuration OK" in after.stdout


def test_config_is_found_from_the_working_folder_and_the_user_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    demo_config(project)
    found = cli("check-config", cwd=project, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert found.returncode == 0, found.stderr
    assert str((project / "aggregator.toml").resolve()) in found.stdout

    # From an unrelated folder: the user's config folder.
    xdg = tmp_path / "xdg"
    demo_config(xdg / "sina-aggregator")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = cli("check-config", cwd=elsewhere, env={"XDG_CONFIG_HOME": str(xdg)})
    assert found.returncode == 0, found.stderr
    assert str(xdg / "sina-aggregator" / "aggregator.toml") in found.stdout

    missing = cli("check-config", cwd=elsewhere, env={"XDG_CONFIG_HOME": str(tmp_path / "none")})
    assert missing.returncode == 2
    assert "no config file found" in missing.stderr and "aggregator init" in missing.stderr
    assert files_under(elsewhere) == set()


def test_init_writes_a_working_commented_starter(tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = cli("init", str(target))
    assert done.returncode == 0, done.stderr
    path = target / "aggregator.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count("\n#") >= 5, "the starter explains itself"
    settings = config.load(path)
    assert settings.storage_path == (target / "var/aggregator.db").resolve()
    assert settings.output.dir == (target / "public").resolve()
    # The same channels as the repository's default config (one list, two copies: kept equal).
    shipped = config.load(REPO / "config" / "aggregator.toml")
    assert [(s.name, s.kind, s.url, s.interval) for s in settings.sources] == [
        (s.name, s.kind, s.url, s.interval) for s in shipped.sources
    ]
    assert {s.kind for s in settings.sources} == {"sina-roll", "sina-zhibo"}, "native lists"
    assert len(settings.sources) >= 10

    again = cli("init", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr
    path.write_text("# mine\n", encoding="utf-8")
    assert cli("init", str(target)).returncode == 2
    assert path.read_text(encoding="utf-8") == "# mine\n", "never overwritten without --force"
    assert cli("init", str(target), "--force").returncode == 0
    assert path.read_text(encoding="utf-8") == text


def test_init_without_a_folder_goes_to_the_user_folders(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = cli("init", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "cfg/sina-aggregator/aggregator.toml"
    settings = config.load(path)
    assert settings.storage_path == tmp_path / "data/sina-aggregator/aggregator.db"
    assert settings.output.dir == tmp_path / "data/sina-aggregator/public"
    # Found from anywhere now.
    assert config.config_path(None, env, tmp_path / "somewhere") == path


def test_the_starter_ships_inside_the_package() -> None:
    from importlib import resources

    text = resources.files("aggregator").joinpath("data/starter.toml").read_text("utf-8")
    tomllib.loads(text)
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "data/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["aggregator"]


# --- check-config --------------------------------------------------------------------


def test_check_config_finds_what_once_and_run_would_meet(tmp_path: Path) -> None:
    cfg = demo_config(
        tmp_path, extra_sources='[[sources]]\nname = "gone"\nurl = "file:missing.xml"\n'
    )
    (tmp_path / "public").write_text("a file where the output folder should be")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg.write_text(cfg.read_text().replace("port = 0", f"port = {port}"))
        before = files_under(tmp_path)
        done = cli("check-config", "-c", str(cfg))
    assert done.returncode == 2, done.stdout
    out = done.stdout
    assert "sources[2] (gone): file not found: " in out and "missing.xml" in out
    assert "output.dir: " in out and "is not a folder" in out
    assert f"server.port: cannot listen on 127.0.0.1:{port}" in out
    assert "3 problem(s) found" in out
    assert files_under(tmp_path) == before, "check-config creates nothing"


def test_check_config_shows_each_source_s_kind_and_categories(tmp_path: Path) -> None:
    extra = (
        '[[sources]]\nname = "滚动"\nkind = "sina-roll"\n'
        'url = "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686"\n'
        'interval = "2m"\n'
    )
    done = cli("check-config", "-c", str(demo_config(tmp_path, extra_sources=extra)))
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[1].startswith("  新浪财经－国內 (feed): file:")
    assert lines[1].endswith("sina-china.xml every 300s → 金融 / 新浪财经 / 新浪财经－国內")
    assert lines[3] == (
        "  滚动 (sina-roll): https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1686"
        " every 120s → 滚动"
    ), "no categories configured: filed under its name alone, no dangling arrow"


def test_check_config_probe_fetches_each_source_once(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.add("/ok.xml", Static((DEMO / "stcn.xml").read_bytes()))
        cfg = demo_config(
            tmp_path,
            extra_sources=(
                f'[[sources]]\nname = "http ok"\nurl = "{server.url("/ok.xml")}"\n'
                f'[[sources]]\nname = "http 404"\nurl = "{server.url("/nothing.xml")}"\n'
            ),
        )
        done = cli("check-config", "--probe", "-c", str(cfg))
        assert len(server.requests) == 2
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"ok http ok: 2 item\(s\), newest \d{4}-\d\d-\d\dT\S+Z: ", done.stdout)
    assert "FAILED http 404: http_404" in done.stdout
    assert "ok 新浪财经－国內: 11 item(s)" in done.stdout
    assert not (tmp_path / "var").exists(), "a probe stores nothing"


# --- once, status, delete, enable --------------------------------------------------------


def test_once_logs_each_failure_once_and_ends_with_a_summary(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, extra_sources='[[sources]]\nname = "坏"\nurl = "file:bad.xml"\n')
    (tmp_path / "bad.xml").write_text("<html>not a feed</html>")
    done = cli("once", "-c", str(cfg))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert f"once: config {cfg.resolve()}; database {tmp_path.resolve()}" in lines[0], lines[0]
    assert sum("坏" in line for line in lines) == 2, "the failure, then the summary naming it"
    assert re.fullmatch(
        r"\S+ INFO aggregator\.once: once: sources 2 ok, 1 failed \(坏\); articles 12 new, "
        r"0 updated, 1 merged; \d+ file\(s\) written; \d+\.\ds",
        lines[-1],
    ), lines[-1]
    assert all(RFC3339.match(line.split(" ", 1)[0]) for line in lines)


def test_once_says_how_many_articles_publishing_left_out(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    store = Store(tmp_path / "var" / "agg.db")  # stored before the ingest limits existed
    store.upsert([make_article(7, content_html="x" * 10_000_001)], NOW)
    store.close()
    done = cli("once", "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert re.search(
        r"file\(s\) written, 1 article\(s\) left out \(could not be rendered\); ", last
    )
    assert "left out 1 article(s)" in cli("status", "-c", str(cfg)).stderr


def test_log_format_json(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    done = cli("once", "--log-format", "json", "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert records and all(set(r) == {"time", "level", "logger", "message"} for r in records)
    assert all(RFC3339.match(r["time"]) for r in records)
    assert records[-1]["message"].startswith("once: sources 2 ok, 0 failed;")


def test_status_reads_only_and_uses_one_timestamp_format(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    before = files_under(tmp_path)
    missing = cli("status", "-c", str(cfg))
    assert missing.returncode == 1 and "nothing has been polled" in missing.stderr
    assert files_under(tmp_path) == before, "status never creates the database"

    assert cli("once", "-c", str(cfg)).returncode == 0
    db = tmp_path / "var/agg.db"
    stamp = db.stat().st_mtime_ns
    done = cli("status", "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    states = json.loads(done.stdout)
    assert [s["name"] for s in states] == ["新浪财经－国內", "证券时报网－快讯"]
    for s in states:
        assert RFC3339.match(s["last_success"]) and RFC3339.match(s["next_poll"])
    assert db.stat().st_mtime_ns == stamp


def test_delete_by_post_file_and_twice(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    assert cli("once", "-c", str(cfg)).returncode == 0
    post = sorted((tmp_path / "public/posts").glob("*.md"))[0]
    done = cli("delete", post.name, "-c", str(cfg))
    assert done.returncode == 0, done.stderr
    assert f"post {post.name}" in done.stdout and not post.exists()
    again = cli("delete", str(post), "-c", str(cfg))
    assert again.returncode == 0
    assert re.fullmatch(
        rf"{re.escape(str(post))}: already deleted at \S+Z; nothing to do\n", again.stdout
    )
    other = sorted((tmp_path / "public/posts").glob("*.md"))[0]
    assert cli("delete", f"public/posts/{other.name}", "-c", str(cfg)).returncode == 0
    assert not other.exists()
    nothing = cli("delete", "2020-01-01-nothing.md", "-c", str(cfg))
    assert nothing.returncode == 1 and "no stored article matches" in nothing.stderr


def test_enable_finds_names_however_typed(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, extra_sources='[[sources]]\nname = "Bad Feed"\nurl = "file:b.x"\n')
    (tmp_path / "b.x").write_text("not a feed")
    assert cli("once", "-c", str(cfg)).returncode == 1

    # Width (－/-), traditional/simplified (內/内), case.
    healthy = cli("enable", "新浪财经-国内", "-c", str(cfg))
    assert healthy.returncode == 0, healthy.stderr
    assert healthy.stdout == "新浪财经－国內: not gone and not backing off; nothing to enable\n"
    reset = cli("enable", "bad feed", "-c", str(cfg))
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout.startswith("Bad Feed: backoff reset after 1 failure(s) (last: ")
    assert "nothing to enable" in cli("enable", "BAD FEED", "-c", str(cfg)).stdout

    typo = cli("enable", "新浪财经－国外", "-c", str(cfg))
    assert typo.returncode == 2
    assert "no source named '新浪财经－国外'" in typo.stderr
    assert "did you mean '新浪财经－国內'?" in typo.stderr


@pytest.mark.parametrize("command", ["check-config", "status", "export-opml"])
def test_read_only_commands_create_nothing(tmp_path: Path, command: str) -> None:
    cfg = demo_config(tmp_path)
    before = files_under(tmp_path)
    cli(command, "-c", str(cfg))
    assert files_under(tmp_path) == before


# --- run: what it says at start -------------------------------------------------------------


def test_run_says_where_it_serves_and_when_each_source_is_polled(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, extra_sources='[[sources]]\nname = "坏"\nurl = "file:bad.xml"\n')
    (tmp_path / "bad.xml").write_text("<html>not a feed</html>")
    assert cli("once", "-c", str(cfg)).returncode == 1  # 坏 is now backing off
    with Running(cfg) as run:
        text = run.wait_for("source 坏: ", timeout=60)
    lines = text.splitlines()
    messages = [line.split(": ", 1)[1] if ": " in line else line for line in lines]
    assert messages[0].startswith("sina-aggregator 0.") and "starting (pid " in messages[0]
    assert lines[1].endswith(f"config: {cfg.resolve()}")
    assert lines[2].endswith(f"database: {(tmp_path / 'var/agg.db').resolve()}")
    assert lines[3].endswith(f"output: {(tmp_path / 'public').resolve()}")
    serving = re.search(r"serving (http://127\.0\.0\.1:(\d+)/): feed \1feed\.atom", text)
    assert serving and int(serving.group(2)) > 0, "port 0: the real port is named"
    assert re.search(
        r"source 新浪财经－国內: file://\S+sina-china\.xml every 5m; last success \S+Z; "
        r"next poll \S+Z \(in (\d+m)?(\d+s)?\)",
        text,
    )
    assert re.search(
        r"source 坏: file://\S+bad\.xml every 5m; backing off after 1 failure\(s\) "
        r"\(last: not_a_feed: .+?\); next poll \S+Z \(in (\d+m)?(\d+s)?\)",
        text,
    ), text
    # Nothing in another format, no per-job scheduler chatter, no uvicorn banner.
    assert all(RFC3339.match(line.split(" ", 1)[0]) for line in lines), text
    for chatter in ("Added job", "Running job", "executed successfully", "Started server"):
        assert chatter not in text
    assert run.proc.returncode == 0


def test_run_debug_shows_the_library_chatter_in_our_format(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    cfg.write_text("log_level = 'DEBUG'\n" + cfg.read_text())
    with Running(cfg) as run:
        text = run.wait_for("executed successfully", timeout=60)
    assert re.search(
        r"source 证券时报网－快讯: \S+ every 5m; never polled; first poll \S+Z \(in \ds\)", text
    )
    chatter = [line for line in text.splitlines() if "apscheduler" in line]
    assert chatter and all(" DEBUG apscheduler." in line for line in chatter)


def test_health_of_a_source_that_never_succeeded_is_pending() -> None:
    from datetime import UTC, datetime

    from aggregator.daemon import _source_health
    from aggregator.models import SourceState

    fresh = SourceState(name="a", url="https://x/")
    assert _source_health(None) == _source_health(fresh) == "pending"
    assert _source_health(replace(fresh, last_success=datetime.now(UTC))) == "ok"
    assert _source_health(replace(fresh, error_count=2)) == "failing"
    assert _source_health(replace(fresh, error_count=1, gone=True)) == "gone"


def test_probe_reads_a_native_sina_list_without_fetching_its_pages(tmp_path: Path) -> None:
    shutil.copy(DEMO / "sina" / "roll-pageid155-lid1686.json", tmp_path / "roll.json")
    cfg = demo_config(
        tmp_path,
        extra_sources='[[sources]]\nname = "原生"\nkind = "sina-roll"\nurl = "file:roll.json"\n',
    )
    done = cli("check-config", "--probe", "-c", str(cfg))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"ok 原生: \d+ item\(s\) listed, first: \S+", done.stdout), done.stdout
    assert not (tmp_path / "var").exists(), "a probe stores nothing"


def test_enable_a_gone_source(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.add("/gone.xml", Static(b"gone", status=410))
        cfg = demo_config(
            tmp_path,
            extra_sources=f'[[sources]]\nname = "旧源"\nurl = "{server.url("/gone.xml")}"\n',
        )
        assert cli("once", "-c", str(cfg)).returncode == 1
    states = {s["name"]: s for s in json.loads(cli("status", "-c", str(cfg)).stdout)}
    assert states["旧源"]["gone"] is True
    done = cli("enable", "舊源", "-c", str(cfg))  # traditional 舊 finds 旧
    assert done.returncode == 0, done.stderr
    assert done.stdout == "旧源: enabled again after 410 Gone; it is polled on its next turn\n"
    states = {s["name"]: s for s in json.loads(cli("status", "-c", str(cfg)).stdout)}
    assert states["旧源"]["gone"] is False and states["旧源"]["error_count"] == 0
    again = cli("enable", "旧源", "-c", str(cfg))
    assert again.stdout == "旧源: not gone and not backing off; nothing to enable\n"
