"""Config stage: validation names the key and the problem; paths resolve against the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import config
from aggregator.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """
[storage]
path = "var/a.db"
[output]
dir = "public"
base_url = "http://127.0.0.1:8080"
title = "新浪财经聚合"
[server]
host = "127.0.0.1"
port = 8080
[[sources]]
name = "新浪财经－国內"
url = "https://rsshub.app/sina/finance/china/1686"
categories = ["金融", "新浪财经"]
author = "新浪财经"
interval = "5m"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sub" / "agg.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_config_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, MINIMAL))
    base = (tmp_path / "sub").resolve()
    assert s.storage_path == base / "var/a.db"
    assert s.output.dir == base / "public"
    assert s.output.base_url == "http://127.0.0.1:8080/"
    (src,) = s.sources
    assert src.name == "新浪财经－国內"
    assert src.categories == ("金融", "新浪财经")
    assert src.interval == 300.0
    assert "sina-aggregator/" in s.fetch.user_agent


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda t: t.replace('interval = "5m"', 'interval = "often"'), "sources[0].interval"),
        (lambda t: t.replace("port = 8080", "port = 99999"), "server.port"),
        (
            lambda t: t.replace('base_url = "http://127.0.0.1:8080"', 'base_url = "x"'),
            "output.base_url",
        ),
        (lambda t: t.replace("[storage]\npath", "[storage]\npaht"), "storage.paht"),
        (lambda t: t.replace('title = "新浪财经聚合"\n', ""), "output.title"),
        (
            lambda t: t.replace('url = "https://rsshub.app', 'url = "ftp://rsshub.app'),
            "sources[0].url",
        ),
        (lambda t: t + '[[sources]]\nname = "新浪财经－国內"\nroute = "/x"\n', "sources[1].name"),
        (lambda t: t.split("[[sources]]")[0], "sources"),
        (lambda t: t + "\n[dedup]\npolicy = 'sometimes'\n", "dedup.policy"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, change, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, change(MINIMAL)))
    assert info.value.key == key


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(write(tmp_path, "[storage\n"))
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.toml")


def test_defaults_share_rsshub_base_and_interval(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'url = "https://rsshub.app/sina/finance/china/1686"', 'route = "/sina/finance/china/1686"'
    ).replace('interval = "5m"\n', "")
    text = text.replace(
        "[[sources]]",
        '[defaults]\nrsshub = "http://127.0.0.1:1200/"\ninterval = "90s"\n\n[[sources]]',
    )
    (src,) = config.load(write(tmp_path, text)).sources
    assert src.url == "http://127.0.0.1:1200/sina/finance/china/1686"
    assert src.interval == 90.0


def test_file_urls_are_relative_to_the_config(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'url = "https://rsshub.app/sina/finance/china/1686"', 'url = "file:feeds/a.xml"'
    )
    (src,) = config.load(write(tmp_path, text)).sources
    assert src.url == (tmp_path / "sub/feeds/a.xml").resolve().as_uri()


def test_server_table_is_optional_with_the_readme_defaults(tmp_path: Path) -> None:
    text = MINIMAL.replace('[server]\nhost = "127.0.0.1"\nport = 8080\n', "")
    assert "[server]" not in text
    s = config.load(write(tmp_path, text))
    assert (s.server_host, s.server_port) == ("127.0.0.1", 8080)


def test_config_path_precedence(tmp_path: Path) -> None:
    cwd, xdg = tmp_path / "cwd", tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path / "home")}
    assert config.config_path("x.toml", {**env, "AGGREGATOR_CONFIG": "y.toml"}, cwd) == Path(
        "x.toml"
    )
    assert config.config_path(None, {**env, "AGGREGATOR_CONFIG": "y.toml"}, cwd) == Path("y.toml")
    # Without either: ./aggregator.toml, ./config/aggregator.toml, then the user's folder.
    found = [
        cwd / "aggregator.toml",
        cwd / "config/aggregator.toml",
        xdg / "sina-aggregator/aggregator.toml",
    ]
    for path in reversed(found):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
        assert config.config_path(None, env, cwd) == path
    # ~/.config when XDG_CONFIG_HOME is unset
    home_env = {"HOME": str(tmp_path / "home")}
    assert config.user_config_dir(home_env) == tmp_path / "home/.config/sina-aggregator"


def test_no_config_found_says_where_it_looked(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with pytest.raises(ConfigError) as info:
        config.config_path(None, env, tmp_path)
    message = str(info.value)
    assert str(tmp_path / "aggregator.toml") in message
    assert str(tmp_path / "config/aggregator.toml") in message
    assert str(tmp_path / "xdg/sina-aggregator/aggregator.toml") in message
    assert "aggregator init" in message


@pytest.mark.parametrize("name", ["aggregator.toml", "demo.toml"])
def test_shipped_configs_are_valid(name: str) -> None:
    s = config.load(REPO / "config" / name)
    assert s.sources
    names = [src.name for src in s.sources]
    assert len(names) == len(set(names))


def test_durations() -> None:
    assert config.parse_duration("5m") == 300
    assert config.parse_duration("1.5h") == 5400
    assert config.parse_duration(30) == 30
    assert config.parse_duration("250ms") == 0.25
    assert config.parse_duration("soon") is None
    assert config.parse_duration(True) is None


def test_posts_can_go_straight_into_a_hexo_site(tmp_path: Path) -> None:
    s = config.load(write(tmp_path, MINIMAL))
    assert s.output.posts == (tmp_path / "sub").resolve() / "public" / "posts"
    text = MINIMAL.replace('dir = "public"', 'dir = "public"\nposts_dir = "blog/source/_posts"')
    s = config.load(write(tmp_path, text))
    assert s.output.posts == (tmp_path / "sub").resolve() / "blog/source/_posts"


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('interval = "5m"', "interval = nan", "sources[0].interval"),
        ('interval = "5m"', "interval = inf", "sources[0].interval"),
        ('interval = "5m"', "interval = 1e300", "sources[0].interval"),
        ('interval = "5m"', 'interval = "99999d"', "sources[0].interval"),
        ("[server]", "[dedup]\nwindow_days = nan\n[server]", "dedup.window_days"),
        ("[server]", "[fetch]\ndeadline = -inf\n[server]", "fetch.deadline"),
        ('path = "var/a.db"', 'path = "public/agg.db"', "storage.path"),
        ('path = "var/a.db"', 'path = "public/sub/../x/agg.db"', "storage.path"),
        ('dir = "public"', 'dir = "/"', "output.dir"),
        ('dir = "public"', f'dir = "{Path.home()}"', "output.dir"),
        ('title = "新浪财经聚合"', 'title = "t"\nposts_dir = "var"', "storage.path"),
    ],
)
def test_dangerous_or_non_finite_values_are_refused(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    assert old in MINIMAL
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, MINIMAL.replace(old, new)))
    assert info.value.key == key


def test_a_config_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        config.load(Path("/dev/zero"))
    big = tmp_path / "big.toml"
    big.write_text(MINIMAL + "#" * (2 << 20), encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than"):
        config.load(big)


def test_defaults_and_allowed_keys_come_from_the_settings_dataclasses(tmp_path: Path) -> None:
    import dataclasses

    from aggregator.errors import ConfigError
    from aggregator.models import DedupSettings, FetchSettings, OutputSettings

    s = config.load(write(tmp_path, MINIMAL))
    assert s.dedup == DedupSettings()
    assert s.fetch == FetchSettings(user_agent=s.fetch.user_agent)
    plain = OutputSettings(dir=s.output.dir, base_url=s.output.base_url, title=s.output.title)
    assert s.output == plain
    for cls, table in (
        (FetchSettings, "fetch"),
        (OutputSettings, "output"),
        (DedupSettings, "dedup"),
    ):
        header = f"[{table}]\n"
        text = (
            MINIMAL.replace(header, header + "not_a_key = 1\n")
            if header in MINIMAL
            else MINIMAL + f"\n{header}not_a_key = 1\n"
        )
        with pytest.raises(ConfigError) as err:
            config.load(write(tmp_path, text))
        listed = str(err.value).split("allowed here: ")[1].rstrip(")").split(", ")
        assert sorted(listed) == sorted(f.name for f in dataclasses.fields(cls)), table
