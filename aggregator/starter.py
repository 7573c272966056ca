"""`aggregator init`: write the commented starter config shipped inside the package."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from .config import CONFIG_NAME, user_config_dir, user_data_dir
from .errors import ConfigError


def starter_text(storage_path: str = "var/aggregator.db", output_dir: str = "public") -> str:
    """The starter config with its state and output locations filled in."""
    text = resources.files("aggregator").joinpath("data/starter.toml").read_text("utf-8")
    # json.dumps of a path is a valid TOML basic string (quotes and backslashes escaped).
    text = text.replace('path = "var/aggregator.db"', f"path = {json.dumps(storage_path)}", 1)
    return text.replace('dir = "public"', f"dir = {json.dumps(output_dir)}", 1)


def write_starter(folder: str | None, env: Mapping[str, str], *, force: bool = False) -> Path:
    """Write <folder>/aggregator.toml; without a folder, into the user's config folder, with
    the database and outputs in the user's data folder (found from anywhere, no state kept
    among config files). An existing file is kept unless `force`."""
    if folder is None:
        target_dir = user_config_dir(env)
        data = user_data_dir(env)
        text = starter_text(str(data / "aggregator.db"), str(data / "public"))
    else:
        target_dir = Path(folder)
        text = starter_text()
    target = target_dir / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError("init", f"{target} already exists (keep it, or overwrite with --force)")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError("init", f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
