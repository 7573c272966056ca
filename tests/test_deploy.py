"""Deployment files: the Dockerfile's commands and README's systemd unit, checked without
building an image or installing a unit (CI has neither Docker nor a running systemd)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator import config
from tests.processes import Running, cli, demo_config

REPO = Path(__file__).resolve().parents[1]


def dockerfile() -> str:
    # Join continuation lines: one instruction per line.
    return (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")


def instructions(name: str) -> list[str]:
    return [
        line.split(None, 1)[1]
        for line in dockerfile().splitlines()
        if line.strip() and line.split(None, 1)[0] == name
    ]


def test_dockerfile_slim_non_root_with_a_state_volume() -> None:
    (base,) = instructions("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base)
    (user,) = instructions("USER")
    assert user.strip() not in ("root", "0")
    (volume,) = instructions("VOLUME")
    assert volume.strip() == "/var/lib/sina-aggregator"
    assert json.loads(instructions("CMD")[-1]) == ["aggregator", "run"]
    env = " ".join(instructions("ENV"))
    assert "AGGREGATOR_CONFIG=/etc/sina-aggregator/aggregator.toml" in env


def test_dockerfile_init_makes_a_config_that_serves_from_the_volume(tmp_path: Path) -> None:
    (run,) = [r for r in instructions("RUN") if "aggregator init" in r]
    init = shlex.split(run.split("&&")[0])
    assert init[:2] == ["aggregator", "init"]
    args = [
        a.replace("/etc/sina-aggregator", str(tmp_path / "etc")).replace(
            "/var/lib/sina-aggregator", str(tmp_path / "volume")
        )
        for a in init[2:]
    ]
    done = cli("init", *args)
    assert done.returncode == 0, done.stderr
    s = config.load(tmp_path / "etc/aggregator.toml")
    assert s.storage_path == tmp_path / "volume/aggregator.db"
    assert s.output.dir == tmp_path / "volume/public"
    assert (s.server_host, s.server_port) == ("0.0.0.0", 8080)
    assert "EXPOSE 8080" in dockerfile()


def test_dockerfile_healthcheck_asks_healthz(tmp_path: Path) -> None:
    (check,) = instructions("HEALTHCHECK")
    command = json.loads(check.split("CMD", 1)[1])
    assert command[0] == "python" and "http://127.0.0.1:8080/healthz" in command[-1]
    cfg = demo_config(tmp_path)
    with Running(cfg) as run:
        text = run.wait_for("证券时报网－快讯: ok")
        port = re.search(r"serving http://127\.0\.0\.1:(\d+)/", text)
        assert port
        probe = [sys.executable, *command[1:-1], command[-1].replace("8080", port.group(1))]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    down = subprocess.run(probe, capture_output=True, timeout=30)
    assert down.returncode != 0, "no daemon: unhealthy"


def readme_unit() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"```ini\n(# /etc/systemd/system/sina-aggregator\.service\n.*?)```", readme, re.S)
    assert m, "README shows the systemd unit"
    return m.group(1)


def test_readme_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    unit = readme_unit()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    # verify insists that ExecStart's program exists: point it at this installation's.
    m = re.search(r"^ExecStart=(\S+)", unit, re.M)
    assert m and m.group(1).endswith("/bin/aggregator")
    installed = Path(sys.executable).parent / "aggregator"
    assert installed.exists()
    path = tmp_path / "sina-aggregator.service"
    path.write_text(unit.replace(m.group(1), str(installed)), encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr  # unknown keys are only warnings


@pytest.mark.slow
def test_a_wheel_install_can_start_with_init(tmp_path: Path) -> None:
    """Build the wheel (from a copy: no build/ in the checkout), install it into a fresh
    venv, and write the starter config with the installed `aggregator init`."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(
        REPO / "aggregator", src / "aggregator", ignore=shutil.ignore_patterns("__pycache__")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(tmp_path / "dist"), str(src)],
        timeout=600,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("sina_aggregator-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-deps: `init` needs nothing but the package itself.
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "-q", "install", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    home = tmp_path / "home"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}
    done = subprocess.run(
        [str(venv / "bin/aggregator"), "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    written = home / ".config/sina-aggregator/aggregator.toml"
    settings = config.load(written)
    assert settings.storage_path == home / ".local/share/sina-aggregator/aggregator.db"
    assert len(settings.sources) >= 10
