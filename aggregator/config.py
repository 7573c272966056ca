"""The only reader of the TOML config and the environment: validates, returns frozen Settings.

Every problem raises ConfigError naming the key (e.g. `sources[2].interval`) and the problem.
Relative paths resolve against the config file's folder. Sources may share settings through
`[defaults]` (RSSHub base URL, interval, categories, author).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import PROJECT_URL, __version__
from .errors import ConfigError
from .kinds import DEFAULT_KIND, KINDS
from .models import DedupSettings, FetchSettings, OutputSettings, Settings, Source

DEFAULT_CONFIG = Path("config/aggregator.toml")
DEFAULT_INTERVAL = 300.0
MIN_INTERVAL = 1.0
MAX_DURATION = 30 * 86400.0  # a month: longer intervals and timeouts are mistakes
MAX_CONFIG_BYTES = 1 << 20

_TOP_KEYS = {
    "storage",
    "output",
    "server",
    "fetch",
    "dedup",
    "defaults",
    "sources",
    "log_level",
    "workers",
}
_SOURCE_KEYS = {
    "name",
    "url",
    "route",
    "categories",
    "author",
    "interval",
    "kind",  # feed (default) | sina-roll | sina-zhibo
    "list_pages",  # list pages one poll may read (sina kinds)
    "backfill_pages",  # list pages the first poll reads (sina kinds)
    "page_budget",  # article pages one poll may fetch (sina-roll)
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


APP_DIR = "sina-aggregator"  # folder name under the user's config and data folders
CONFIG_NAME = "aggregator.toml"


def user_config_dir(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/sina-aggregator, else ~/.config/sina-aggregator."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / APP_DIR


def user_data_dir(env: Mapping[str, str]) -> Path:
    """$XDG_DATA_HOME/sina-aggregator, else ~/.local/share/sina-aggregator."""
    base = env.get("XDG_DATA_HOME") or str(
        Path(env.get("HOME") or Path.home()) / ".local" / "share"
    )
    return Path(base) / APP_DIR


def candidates(env: Mapping[str, str], cwd: Path) -> list[Path]:
    """Where a config is looked for when neither -c nor $AGGREGATOR_CONFIG names one."""
    return [
        cwd / CONFIG_NAME,
        cwd / DEFAULT_CONFIG,
        user_config_dir(env) / CONFIG_NAME,
    ]


def config_path(cli_value: str | None, env: Mapping[str, str], cwd: Path | None = None) -> Path:
    """-c wins, then $AGGREGATOR_CONFIG, then the first of `candidates` that exists."""
    if cli_value:
        return Path(cli_value)
    if env.get("AGGREGATOR_CONFIG"):
        return Path(env["AGGREGATOR_CONFIG"])
    looked = candidates(env, cwd or Path.cwd())
    for path in looked:
        if path.is_file():
            return path
    raise ConfigError(
        "config",
        "no config file found; looked for "
        + ", ".join(str(p) for p in looked)
        + " (give one with -c or $AGGREGATOR_CONFIG, or write a starter with `aggregator init`)",
    )


def load(path: Path) -> Settings:
    """Read and validate the config file at `path`."""
    try:
        with path.open("rb") as fh:
            # Not a regular file (/dev/zero, a FIFO) or a huge one: refused, not read forever.
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ConfigError("config", f"{path} is not a regular file")
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("config", f"file not found: {path}") from None
    except OSError as exc:
        raise ConfigError("config", f"cannot read {path}: {exc.strerror}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError("config", f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("config", f"{path} is not UTF-8: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{path} is not valid TOML: {exc}") from exc
    return parse(data, path.resolve())


def parse(data: Mapping[str, Any], path: Path) -> Settings:
    """Validate an already-decoded TOML document whose file lives at `path`."""
    base = path.parent
    _no_unknown(data, _TOP_KEYS, "")
    storage = _table(data, "storage", required=True)
    _no_unknown(storage, {"path"}, "storage")
    output = _table(data, "output", required=True)
    server = _table(data, "server")
    defaults = _table(data, "defaults")
    _no_unknown(defaults, {"rsshub", "interval", "categories", "author"}, "defaults")

    log_level = _str(data, "log_level", "log_level", default=_d(Settings, "log_level")).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("log_level", "must be one of DEBUG, INFO, WARNING, ERROR")

    storage_path = _path(storage, "path", "storage.path", base)
    out = _output(output, base)
    _check_places(storage_path, out)
    return Settings(
        workers=_int(data, "workers", "workers", default=_default_workers(), lo=0, hi=64),
        config_path=path,
        storage_path=storage_path,
        output=out,
        server_host=_str(server, "host", "server.host", default="127.0.0.1"),
        server_port=_port(server),
        sources=_sources(data, defaults, base),
        fetch=_fetch(_table(data, "fetch")),
        dedup=_dedup(_table(data, "dedup")),
        log_level=log_level,
    )


def _check_places(storage: Path, out: OutputSettings) -> None:
    """Refuse layouts that would publish the database or write outputs all over a system:
    everything under the output folder (and the posts folder, which Hexo publishes) is
    served, and publishing removes posts it no longer has."""
    home = Path.home().resolve()
    for key, folder in (("output.dir", out.dir), ("output.posts_dir", out.posts)):
        real = folder.resolve()
        if real == Path(real.anchor) or real == home:
            raise ConfigError(key, f"must be a folder of its own, not {folder}")
        db = storage.resolve()
        if db == real or real in db.parents:
            raise ConfigError(
                "storage.path", f"{storage} is inside {key} ({folder}): it would be published"
            )


def _default_workers() -> int:
    """One worker process per core, up to 4; none on a single core (threads do)."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(cores, 4)


def _output(t: Mapping[str, Any], base: Path) -> OutputSettings:
    _no_unknown(t, _keys(OutputSettings), "output")
    base_url = _str(t, "base_url", "output.base_url")
    if not _is_http_url(base_url):
        raise ConfigError("output.base_url", f"must be an absolute http(s) URL, got {base_url!r}")
    if not base_url.endswith("/"):
        base_url += "/"
    default_image = _str(t, "default_image", "output.default_image", default="") or None
    if default_image and not default_image.startswith("https://"):
        raise ConfigError("output.default_image", "must be an absolute https:// URL")

    def d(name: str) -> Any:
        return _d(OutputSettings, name)

    return OutputSettings(
        dir=_path(t, "dir", "output.dir", base),
        base_url=base_url,
        title=_str(t, "title", "output.title"),
        feed_size=_int(t, "feed_size", "output.feed_size", default=d("feed_size"), lo=1, hi=10**4),
        archive_size=_int(
            t, "archive_size", "output.archive_size", default=d("archive_size"), lo=10, hi=10**4
        ),
        default_image=default_image,
        posts_dir=_path(t, "posts_dir", "output.posts_dir", base) if "posts_dir" in t else None,
    )


def _port(t: Mapping[str, Any]) -> int:
    _no_unknown(t, {"host", "port"}, "server")
    return _int(t, "port", "server.port", default=8080, lo=0, hi=65535)


def _fetch(t: Mapping[str, Any]) -> FetchSettings:
    _no_unknown(t, _keys(FetchSettings), "fetch")
    ua = f"sina-aggregator/{__version__} (+{PROJECT_URL})"

    def d(name: str) -> Any:
        return _d(FetchSettings, name)

    return FetchSettings(
        user_agent=_str(t, "user_agent", "fetch.user_agent", default=ua),
        connect_timeout=_duration(
            t, "connect_timeout", "fetch.connect_timeout", d("connect_timeout")
        ),
        deadline=_duration(t, "deadline", "fetch.deadline", d("deadline")),
        max_bytes=_int(
            t, "max_bytes", "fetch.max_bytes", default=d("max_bytes"), lo=1024, hi=1 << 31
        ),
        max_decompressed=_int(
            t,
            "max_decompressed",
            "fetch.max_decompressed",
            default=d("max_decompressed"),
            lo=1024,
            hi=1 << 31,
        ),
        per_host=_int(t, "per_host", "fetch.per_host", default=d("per_host"), lo=1, hi=64),
        total=_int(t, "total", "fetch.total", default=d("total"), lo=1, hi=512),
        max_redirects=_int(
            t, "max_redirects", "fetch.max_redirects", default=d("max_redirects"), lo=0, hi=20
        ),
    )


def _dedup(t: Mapping[str, Any]) -> DedupSettings:
    _no_unknown(t, _keys(DedupSettings), "dedup")
    policy = _str(t, "policy", "dedup.policy", default=_d(DedupSettings, "policy"))
    if policy not in ("merge", "keep"):
        raise ConfigError("dedup.policy", f"must be 'merge' or 'keep', got {policy!r}")
    window = t.get("window_days", _d(DedupSettings, "window_days"))
    if (
        isinstance(window, bool)
        or not isinstance(window, int | float)
        or not 0 <= window <= 3650  # False for NaN too
    ):
        raise ConfigError("dedup.window_days", "must be a number of days from 0 to 3650")
    return DedupSettings(policy="merge" if policy == "merge" else "keep", window_days=float(window))


def _sources(
    data: Mapping[str, Any], defaults: Mapping[str, Any], base: Path
) -> tuple[Source, ...]:
    raw = data.get("sources")
    if raw is None:
        raise ConfigError("sources", "missing: add at least one [[sources]] table")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("sources", "must be a non-empty array of [[sources]] tables")
    rsshub = _str(defaults, "rsshub", "defaults.rsshub", default="https://rsshub.app")
    if not _is_http_url(rsshub):
        raise ConfigError("defaults.rsshub", f"must be an absolute http(s) URL, got {rsshub!r}")
    d_interval = _duration(defaults, "interval", "defaults.interval", DEFAULT_INTERVAL)
    d_categories = _str_list(defaults, "categories", "defaults.categories", default=[])
    d_author = _str(defaults, "author", "defaults.author", default="")
    sources: list[Source] = []
    seen: set[str] = set()
    for i, s in enumerate(raw):
        key = f"sources[{i}]"
        if not isinstance(s, dict):
            raise ConfigError(key, "must be a table")
        _no_unknown(s, _SOURCE_KEYS, key)
        name = _str(s, "name", f"{key}.name").strip()
        if not name:
            raise ConfigError(f"{key}.name", "must not be empty")
        if name in seen:
            raise ConfigError(f"{key}.name", f"duplicate source name {name!r}")
        seen.add(name)
        author = _str(s, "author", f"{key}.author", default=d_author).strip() or name
        kind = _str(s, "kind", f"{key}.kind", default=DEFAULT_KIND)
        if kind not in KINDS:
            raise ConfigError(f"{key}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        if kind != DEFAULT_KIND and "route" in s:
            raise ConfigError(
                f"{key}.route", f"an RSSHub route is a feed: give kind {kind!r} a url"
            )
        sources.append(
            Source(
                name=name,
                url=_source_url(s, key, rsshub, base),
                categories=tuple(_str_list(s, "categories", f"{key}.categories", d_categories)),
                author=author,
                interval=_duration(s, "interval", f"{key}.interval", d_interval),
                kind=kind,
                list_pages=_int(s, "list_pages", f"{key}.list_pages", default=5, lo=1, hi=100),
                backfill_pages=_int(
                    s, "backfill_pages", f"{key}.backfill_pages", default=2, lo=1, hi=100
                ),
                page_budget=_int(
                    s, "page_budget", f"{key}.page_budget", default=100, lo=0, hi=10_000
                ),
            )
        )
    return tuple(sources)


def _source_url(s: Mapping[str, Any], key: str, rsshub: str, base: Path) -> str:
    has_url, has_route = "url" in s, "route" in s
    if has_url == has_route:
        raise ConfigError(f"{key}.url", "give exactly one of 'url' or 'route' (an RSSHub path)")
    if has_route:
        route = _str(s, "route", f"{key}.route")
        if not route.startswith("/"):
            raise ConfigError(f"{key}.route", f"must start with '/', got {route!r}")
        return rsshub.rstrip("/") + route
    url = _str(s, "url", f"{key}.url").strip()
    if url.startswith("file:"):
        # file:relative/path is relative to the config folder, like every other path.
        return _file_url(url, base)
    if not _is_http_url(url):
        raise ConfigError(f"{key}.url", f"must be an http(s):// or file: URL, got {url!r}")
    return url


def _file_url(url: str, base: Path) -> str:
    """`file:relative/x.xml` (relative to the config folder) or `file:///abs` → file:///abs."""
    local = url[len("file:") :]
    if local.startswith("//"):
        local = local[2:]
    path = Path(local)
    return (path if path.is_absolute() else base / path).resolve().as_uri()


# --- small typed readers -------------------------------------------------------------


def _keys(cls: type[Any]) -> set[str]:
    """The keys of a config table: the fields of the settings dataclass it fills."""
    return {f.name for f in dataclasses.fields(cls)}


def _d(cls: type[Any], name: str) -> Any:
    """A setting's default: the one its dataclass declares (models.py)."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    assert field.default is not dataclasses.MISSING, name
    return field.default


def _no_unknown(t: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    for k in t:
        if k not in allowed:
            name = f"{prefix}.{k}" if prefix else k
            raise ConfigError(name, f"unknown key (allowed here: {', '.join(sorted(allowed))})")


def _table(data: Mapping[str, Any], key: str, *, required: bool = False) -> Mapping[str, Any]:
    if key not in data:
        if required:
            raise ConfigError(key, f"missing: add a [{key}] table")
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _str(t: Mapping[str, Any], k: str, name: str, default: str | None = None) -> str:
    if k not in t:
        if default is None:
            raise ConfigError(name, "missing (required)")
        return default
    v = t[k]
    if not isinstance(v, str):
        raise ConfigError(name, f"must be a string, got {type(v).__name__}")
    return v


def _int(t: Mapping[str, Any], k: str, name: str, *, default: int, lo: int, hi: int) -> int:
    v = t.get(k, default)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(name, f"must be an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {v}")
    return v


def _str_list(t: Mapping[str, Any], k: str, name: str, default: list[str]) -> list[str]:
    v = t.get(k, default)
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise ConfigError(name, "must be an array of non-empty strings")
    return [x.strip() for x in v]


def _path(t: Mapping[str, Any], k: str, name: str, base: Path) -> Path:
    p = Path(_str(t, k, name))
    if not str(p).strip():
        raise ConfigError(name, "must not be empty")
    return p if p.is_absolute() else base / p


def parse_duration(value: object) -> float | None:
    """'5m', '30s', '1h', '1.5h', '250ms' or a number of seconds → seconds (None if invalid:
    also NaN, infinities and anything over `MAX_DURATION`, which no timer can hold)."""
    seconds = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds is None or not math.isfinite(seconds) or seconds > MAX_DURATION:
        return None
    return seconds


def _duration(t: Mapping[str, Any], k: str, name: str, default: float) -> float:
    if k not in t:
        return default
    seconds = parse_duration(t[k])
    if seconds is None:
        raise ConfigError(
            name, f"must be a duration like '30s', '5m', '1h' (at most 30 days), got {t[k]!r}"
        )
    if seconds < MIN_INTERVAL and name.endswith("interval"):
        raise ConfigError(name, f"must be at least {MIN_INTERVAL:g}s, got {t[k]!r}")
    if seconds <= 0:
        raise ConfigError(name, f"must be positive, got {t[k]!r}")
    return seconds


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
