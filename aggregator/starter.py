"""`aggregator init`: write the commented starter config shipped inside the package."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from .config import CONFIG_NAME, user_config_dir, user_data_dir
from .errors import ConfigError


def starter_text(
    storage_path: str = "var/aggregator.db", output_dir: str = "public", host: str = "127.0.0.1"
) -> str:
    """The starter config with its state and output locations and listen address filled in."""
    text = resources.files("aggregator").joinpath("data/starter.toml").read_text("utf-8")
    # json.dumps of a path is a valid TOML basic string (quotes and backslashes escaped).
    text = text.replace('path = "var/aggregator.db"', f"path = {json.dumps(storage_path)}", 1)
    text = text.replace('host = "127.0.0.1"', f"host = {json.dumps(host)}", 1)
    return text.replace('dir = "public"', f"dir = {json.dumps(output_dir)}", 1)


def write_starter(
    folder: str | None,
    env: Mapping[str, str],
    *,
    data: str | None = None,
    host: str = "127.0.0.1",
    force: bool = False,
) -> Path:
    """Write <folder>/aggregator.toml; without a folder, into the user's config folder, with
    the database and outputs in the user's data folder (found from anywhere, no state kept
    among config files). `data`: the folder for the database and outputs (a container's
    volume); `host`: where `run` listens. An existing file is kept unless `force`."""
    target_dir = user_config_dir(env) if folder is None else Path(folder)
    if data is None and folder is None:
        data = str(user_data_dir(env))
    if data is None:
        text = starter_text(host=host)
    else:
        base = Path(data).absolute()
        text = starter_text(str(base / "aggregator.db"), str(base / "public"), host)
    target = target_dir / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError("init", f"{target} already exists (keep it, or overwrite with --force)")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError("init", f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
