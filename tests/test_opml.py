"""OPML: the sources out and back, through a real feed reader (newsboat) too."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator import config, opml
from aggregator.errors import ConfigError
from aggregator.models import Source
from aggregator.outputs import sources_opml
from aggregator.outputs.feeds import category_slug
from tests.processes import cli, demo_config, newsboat_binary


def source(name: str, url: str, *categories: str) -> Source:
    return Source(name=name, url=url, categories=categories, author=name, interval=300.0)


# Names and categories as people write them: any printable text, no leading/trailing space
# (config strips them), no '/' or ',' inside a category (OPML's path separators).
_text = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
_category = _text.filter(lambda c: "/" not in c and "," not in c)


@given(
    st.lists(
        st.tuples(_text, st.lists(_category, max_size=3)),
        min_size=1,
        max_size=5,
        unique_by=lambda x: x[0],
    )
)
def test_render_then_parse_gives_the_sources_back(items: list[tuple[str, list[str]]]) -> None:
    sources = [
        source(name, f"https://feeds.example/{i}.xml", *cats)
        for i, (name, cats) in enumerate(items)
    ]
    back = opml.parse(opml.render(sources, "新浪财经聚合"))
    assert back == [opml.OpmlSource(s.name, s.url, s.categories) for s in sources]


def test_render_is_opml_2_with_categories_and_no_credentials() -> None:
    data = opml.render(
        [
            source(
                "新浪财经－国內", "https://rsshub.app/sina/finance/china/1686", "金融", "新浪财经"
            ),
            source("私人", "https://me:s3cret@feeds.example:8443/private.xml"),
        ],
        "新浪财经聚合",
    )
    text = data.decode("utf-8")
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<opml version=\"2.0\">")
    assert "<title>新浪财经聚合</title>" in text
    assert 'category="/金融/新浪财经"' in text
    assert 'xmlUrl="https://feeds.example:8443/private.xml"' in text
    assert "s3cret" not in text and "me@" not in text


def test_parse_reads_folders_as_categories_and_names_untitled_feeds() -> None:
    data = """<?xml version="1.0"?>
<opml version="1.0"><head/><body>
  <outline text="财经"><outline text="外媒">
    <outline type="rss" title="Reuters" xmlUrl="https://r.example/rss"/>
    <outline type="rss" xmlUrl="https://r.example/world/rss" category="/World,/Other"/>
  </outline></outline>
  <outline type="rss" text="" title="" xmlUrl="https://u:p@plain.example/feed/"/>
</body></opml>""".encode()
    assert opml.parse(data) == [
        opml.OpmlSource("Reuters", "https://r.example/rss", ("财经", "外媒")),
        opml.OpmlSource("r.example/world/rss", "https://r.example/world/rss", ("World",)),
        opml.OpmlSource("plain.example/feed", "https://u:p@plain.example/feed/", ()),
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"<rss/>", "not an OPML document"),
        (b"<opml><head/></opml>", "no <body>"),
        (b"<opml><body>", "not well-formed"),
        (
            b'<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b'<opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>',
            "declares XML entities",
        ),
        (b'<!DOCTYPE opml SYSTEM "x.dtd"><opml><body/></opml>', "declares a DTD"),
    ],
)
def test_bad_opml_is_refused_clearly(data: bytes, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        opml.parse(data)


def test_plan_import_skips_what_is_configured_by_url_or_folded_name() -> None:
    configured = [source("新浪财经－国內", "https://a.example/1")]
    plan = opml.plan_import(
        [
            opml.OpmlSource("anything", "https://a.example/1"),
            opml.OpmlSource("新浪財經-國内", "https://a.example/2"),
            opml.OpmlSource("new", "https://a.example/3"),
            opml.OpmlSource("NEW", "https://a.example/4"),
        ],
        configured,
    )
    assert [o.url for o in plan.new] == ["https://a.example/3"]
    assert [why for _, why in plan.skipped] == [
        "already configured as '新浪财经－国內'",
        "the name is taken by '新浪财经－国內' (another URL)",
        "the name is taken by 'new' (another URL)",
    ]


# --- the commands ------------------------------------------------------------------------


# Two subscribable sources besides the demo's local files (which an export leaves out).
# The demo config's two file: sources, as its site republishes their channels.
DEMO_CHANNELS = [
    "http://127.0.0.1:8080/" + quote(f"categories/{category_slug(name)}.atom")
    for name in ("新浪财经－国內", "证券时报网－快讯")
]
WEB = (
    '[[sources]]\nname = "路透中文"\nurl = "https://cn.reuters.example/rss"\n'
    'categories = ["外媒"]\n'
    '[[sources]]\nname = "Caixin"\nurl = "https://caixin.example/feed.xml?key=s3cret&x=1"\n'
)


def test_export_import_round_trip_through_newsboat(tmp_path: Path) -> None:
    binary = newsboat_binary()
    src = demo_config(tmp_path / "a", extra_sources=WEB)
    exported = cli("export-opml", "-c", str(src))
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "ours.opml").write_text(exported.stdout, encoding="utf-8")

    # A real feed reader imports our list and exports its own.
    reader = tmp_path / "reader"
    reader.mkdir()
    (reader / "urls").write_text("")
    (reader / "config").write_text("")
    env = {"HOME": str(reader), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
    base = [binary, "-u", "urls", "-c", "cache.db", "-C", "config"]
    for args in (["-i", str(tmp_path / "ours.opml")], ["-e"]):
        run = subprocess.run(
            base + args, cwd=reader, env=env, capture_output=True, timeout=60, check=True
        )
    (tmp_path / "reader.opml").write_bytes(run.stdout)

    # Into another config: both sources added; importing again adds nothing.
    dst = demo_config(tmp_path / "b")
    dst.write_text(
        dst.read_text().split("[[sources]]")[0]
        + '[[sources]]\nname = "x"\nurl = "https://x.example/"\n'
    )
    before = config.load(dst)
    done = cli("import-opml", str(tmp_path / "reader.opml"), "-c", str(dst))
    assert done.returncode == 0, done.stderr
    after = config.load(dst)
    assert [s.url for s in after.sources] == [
        "https://x.example/",
        *DEMO_CHANNELS,  # the demo's file: sources, as the first site republishes them
        "https://cn.reuters.example/rss",
        "https://caixin.example/feed.xml?x=1",  # the access key is never exported
    ]
    assert after.storage_path == before.storage_path
    assert "imported 4 source(s)" in done.stdout
    again = cli("import-opml", str(tmp_path / "reader.opml"), "-c", str(dst))
    assert again.returncode == 0
    assert "none new" in again.stdout and "already configured as" in again.stdout


def test_import_that_would_break_the_config_changes_nothing(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path)
    before = cfg.read_bytes()
    (tmp_path / "bad.opml").write_text(
        '<opml version="2.0"><body><outline text="ftp" xmlUrl="ftp://x.example/feed"/></body></opml>'
    )
    done = cli("import-opml", str(tmp_path / "bad.opml"), "-c", str(cfg))
    assert done.returncode == 2
    assert "sources[2].url" in done.stderr and "config unchanged" in done.stderr
    assert cfg.read_bytes() == before
    missing = cli("import-opml", str(tmp_path / "nope.opml"), "-c", str(cfg))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_export_to_a_file_lists_what_others_can_subscribe_to(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, extra_sources=WEB)
    done = cli("-c", str(cfg), "export-opml", "-o", str(tmp_path / "out.opml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote 4 source(s) to {tmp_path / 'out.opml'}\n"
    data = (tmp_path / "out.opml").read_bytes()
    assert opml.parse(data) == [
        # local file: sources: not their path, the site's feed of their channel
        opml.OpmlSource("新浪财经－国內", DEMO_CHANNELS[0], ("金融", "新浪财经")),
        opml.OpmlSource("证券时报网－快讯", DEMO_CHANNELS[1], ("金融", "证券时报网")),
        opml.OpmlSource("路透中文", "https://cn.reuters.example/rss", ("外媒",)),
        opml.OpmlSource("Caixin", "https://caixin.example/feed.xml?x=1", ()),
    ]
    assert b"file:" not in data and b"sina-china.xml" not in data
    # what the site publishes as sources.opml
    assert data == sources_opml.document(config.load(cfg))
