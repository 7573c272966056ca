"""parse_feed: every feed version (golden files), Chinese encodings however labelled, hostile
and broken documents, and a property test: bytes in → ParsedFeed or ParseError, nothing else."""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
import subprocess
import sys
import xml.sax.saxutils
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feedgen.feed import FeedGenerator
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator import parse as parse_module
from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.parse import (
    _CP1252,
    _parse_fast,
    _parse_feedparser,
    _prepare,
    decode,
    parse_feed,
)

FEEDS = Path(__file__).parent / "data" / "feeds"
BASE = "http://example.com/feeds/x.xml"
ZH = json.loads((FEEDS / "zh-text.json").read_text("utf-8"))
TEMPLATE = (FEEDS / "zh-utf8.xml").read_text("utf-8")
GOLDEN = sorted(p for p in FEEDS.iterdir() if p.with_suffix(".expected.json").exists())


# What native sources state beyond a feed item: a feed never sets them.
NATIVE_ONLY = ("identity", "outlet", "categories", "tags")


def as_plain(feed: ParsedFeed) -> Any:
    plain = json.loads(json.dumps(dataclasses.asdict(feed)))
    for entry in plain["entries"]:
        for name in NATIVE_ONLY:
            assert entry.pop(name) in ((), [], None), name
        if entry["content_base"] is None:  # shown where an xml:base is in scope
            del entry["content_base"]
    return plain


def assert_zh_exact(feed: ParsedFeed) -> None:
    assert feed.title == ZH["channel"]
    assert [e.title for e in feed.entries] == [i["title"] for i in ZH["items"]]
    assert [e.content_html for e in feed.entries] == [i["body"] for i in ZH["items"]]
    assert [e.link for e in feed.entries] == [i["link"] for i in ZH["items"]]


def encoded(encoding: str, declared: str | None) -> bytes:
    """The Chinese sample feed in `encoding`, its XML declaration naming `declared`."""
    text = TEMPLATE.replace('encoding="UTF-8"', f'encoding="{declared}"' if declared else "")
    return text.encode(encoding)


# --- feed versions ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_every_feed_version_matches_its_golden_file(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text("utf-8"))
    assert as_plain(parse_feed(path.read_bytes(), url=BASE)) == expected


def test_golden_versions_cover_rss_and_atom() -> None:
    versions = {parse_feed(p.read_bytes(), url=BASE).version for p in GOLDEN}
    assert versions == {"rss091n", "rss092", "rss10", "rss20", "atom03", "atom10"}


def test_raw_guid_and_dates_are_kept() -> None:
    feed = parse_feed((FEEDS / "rss20.xml").read_bytes(), url="https://rsshub.example/sina/x")
    first = feed.entries[0]
    assert first.guid == "12345"  # not resolved against the feed URL
    assert first.link == "https://rsshub.example/d/1.html"  # relative link made absolute
    assert first.published_raw == "2024年03月05日 10:00"  # raw: feedparser would misread it
    assert first.updated_raw is None  # no aliasing of updated to published
    assert feed.ttl_minutes == 30


def test_content_encoded_wins_over_description() -> None:
    feed = parse_feed((FEEDS / "rss20.xml").read_bytes(), url=BASE)
    assert feed.entries[0].content_html == '<p>Rich <img src="/i.png"> body</p>'
    assert feed.entries[0].image_urls == (
        "http://example.com/thumb.jpg",
        "http://example.com/media.png",
    )  # the video is not an image


# --- encodings -------------------------------------------------------------------------------

ENCODINGS = ["utf-8", "gb2312", "gbk", "gb18030"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("declare", [True, False], ids=["declared", "undeclared"])
@pytest.mark.parametrize("header", [None, "right", "utf-8", "gbk", "iso-8859-1"])
def test_chinese_feed_decodes_exactly_however_labelled(
    encoding: str, declare: bool, header: str | None
) -> None:
    body = encoded(encoding, encoding if declare else None)
    charset = encoding if header == "right" else header
    content_type = f"application/rss+xml; charset={charset}" if charset else None
    assert_zh_exact(parse_feed(body, url=BASE, content_type=content_type))


@pytest.mark.parametrize(
    ("actual", "declared"),
    [
        ("gbk", "utf-8"),
        ("utf-8", "gb2312"),
        ("utf-8", "gbk"),
        ("gb18030", "utf-8"),
        ("gbk", "iso-8859-1"),
    ],
)
def test_wrong_xml_declaration_does_not_produce_mojibake(actual: str, declared: str) -> None:
    assert_zh_exact(parse_feed(encoded(actual, declared), url=BASE))


@pytest.mark.parametrize("name", ["zh-utf8.xml", "zh-gb2312.xml", "zh-gbk.xml", "zh-gb18030.xml"])
def test_committed_encoded_samples(name: str) -> None:
    assert_zh_exact(parse_feed((FEEDS / name).read_bytes(), url=BASE))


def test_gb18030_only_characters() -> None:
    title = "𠮷野家财报：营收增长" + "€"  # outside GBK / GB2312
    text = TEMPLATE.replace(ZH["items"][0]["title"], title)
    body = text.replace('encoding="UTF-8"', 'encoding="gb2312"').encode("gb18030")
    assert parse_feed(body, url=BASE).entries[0].title == title


@pytest.mark.parametrize("bom", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_and_utf16(bom: str) -> None:
    body = encoded(bom, "gb2312")  # the BOM wins over a wrong declaration
    assert_zh_exact(parse_feed(body, url=BASE))


_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # starts with UTF-16-LE's BOM: must be told apart
    (codecs.BOM_UTF32_BE, "utf-32-be"),
]


@pytest.mark.parametrize(("bom", "encoding"), _BOMS, ids=[e for _, e in _BOMS])
def test_every_bom_decodes_astral_characters_exactly(bom: bytes, encoding: str) -> None:
    title = "𠮷野家财报：营收增长 😀"  # outside the Basic Multilingual Plane
    text = TEMPLATE.replace(ZH["items"][0]["title"], title).replace('encoding="UTF-8"', "")
    feed = parse_feed(bom + text.encode(encoding), url=BASE)
    assert feed.entries[0].title == title
    assert [e.title for e in feed.entries[1:]] == [i["title"] for i in ZH["items"][1:]]


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=40).filter(lambda t: not t.startswith(("\ufeff", "\x00"))),
    bom=st.sampled_from(_BOMS),
)
def test_decode_round_trips_any_text_under_its_bom(text: str, bom: tuple[bytes, str]) -> None:
    """The oracle beside the arbitrary-bytes property: text encoded by Python's own codecs
    comes back exactly (astral characters, NULs, controls included)."""
    mark, encoding = bom
    assert decode(mark + text.encode(encoding)) == text
    if encoding == "utf-8":
        assert decode(text.encode("utf-8"), content_type="text/xml; charset=gbk") == text


def _pair_refs(c: str, hexadecimal: bool) -> str:
    """`c` as the two character references of its UTF-16 surrogate pair (JavaScript style)."""
    units = [int.from_bytes(c.encode("utf-16-be")[i : i + 2]) for i in (0, 2)]
    return "".join(f"&#x{u:X};" if hexadecimal else f"&#{u};" for u in units)


@settings(max_examples=100, deadline=None)
@given(c=st.characters(min_codepoint=0x10000), hexadecimal=st.booleans())
def test_astral_characters_escaped_as_surrogate_pairs_come_back(c: str, hexadecimal: bool) -> None:
    """𠮷 written as &#55362;&#57271; (two halves, each no character) is 𠮷, not ��."""
    text = TEMPLATE.replace(ZH["items"][0]["title"], f"野家{_pair_refs(c, hexadecimal)}财报")
    assert parse_feed(text.encode("utf-8"), url=BASE).entries[0].title == f"野家{c}财报"


def test_lone_surrogate_references_stay_replacement_characters() -> None:
    lone = "&#55362;孤&#57271;&#xDFB7;&#xD842;"
    text = TEMPLATE.replace(ZH["items"][0]["title"], lone)
    assert (
        parse_feed(text.encode("utf-8"), url=BASE).entries[0].title == "\ufffd孤\ufffd\ufffd\ufffd"
    )


def test_one_corrupt_byte_does_not_ruin_the_feed() -> None:
    body = encoded("gbk", "gbk")
    cut = body.index(ZH["items"][1]["body"][:8].encode("gbk"))
    damaged = body[:cut] + b"\xff" + body[cut:]
    feed = parse_feed(damaged, url=BASE)
    assert [e.title for e in feed.entries] == [i["title"] for i in ZH["items"]]
    assert feed.entries[0].content_html == ZH["items"][0]["body"]


def test_undecodable_garbage_is_an_encoding_error() -> None:
    with pytest.raises(ParseError) as info:
        decode(b"<rss>" + bytes([0xFF, 0x80]) * 500 + b"</rss>")
    assert info.value.kind == "encoding"


def test_control_characters_are_dropped_not_fatal() -> None:
    text = TEMPLATE.replace(ZH["items"][0]["title"], "\x0b" + ZH["items"][0]["title"] + "\x00")
    text = text.replace("原标题", "原\x1f标题\x08")
    assert_zh_exact(parse_feed(text.encode("utf-8"), url=BASE))


# --- hostile and broken documents -------------------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "aaaaaaaaaa">\n'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
    '<rss version="2.0"><channel><title>&b;</title></channel></rss>'
)


@pytest.mark.parametrize(
    "doc",
    [
        LAUGHS,
        LAUGHS.replace("<!DOCTYPE", "<!-- <rss> --><!doctype"),  # hidden behind a comment
        '<!DOCTYPE rss SYSTEM "x.dtd" [ ]><rss version="2.0"><channel/></rss>',  # empty subset
        '<!DOCTYPE rss PUBLIC "-//[odd]//EN" "a.dtd" [<!ENTITY x "y">]><rss/>',
        '<rss version="2.0"><!ENTITY x "y"><channel><title>t</title></channel></rss>',
    ],
)
def test_entity_declarations_are_refused_before_parsing(doc: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(doc.encode("utf-8"), url=BASE)
    assert info.value.kind == "entities"


def test_external_doctype_and_entity_text_in_cdata_are_fine() -> None:
    rss091 = (FEEDS / "rss091.xml").read_bytes()  # DOCTYPE without internal subset
    assert len(parse_feed(rss091, url=BASE).entries) == 2
    text = TEMPLATE.replace("原标题", "<![CDATA[ <!ENTITY is XML ]]>原标题", 0)
    body = text.replace(ZH["items"][2]["body"], "<p>about &lt;!ENTITY&gt; in XML</p>")
    assert len(parse_feed(body.encode("utf-8"), url=BASE).entries) == 3


@pytest.mark.parametrize("ref", ["&#xD800;", "&#x110000;", "&#99999999999;"])
def test_character_references_feedparser_chokes_on(ref: str) -> None:
    """Not well-formed, so feedparser's loose parser reads them; it used to crash on these."""
    body = f'<rss version="2.0"><channel><item><title>a{ref}b</title></item></channel></rss>'
    try:
        feed = parse_feed(body.encode(), url=BASE)
    except ParseError as exc:
        assert exc.kind == "malformed"
    else:
        assert len(feed.entries) == 1


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\x00\x01\x02"])
def test_empty_bodies(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url=BASE)
    assert info.value.kind == "empty"


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>",
        b"<html><body><p>Service Unavailable",
        '<html><head><meta charset="gbk"><title>错误</title></head></html>'.encode("gbk"),
    ],
)
def test_html_pages_are_not_feeds(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body, url=BASE, content_type="text/html")
    assert info.value.kind == "not_a_feed"


def test_truncated_feed_keeps_entries_before_the_cut() -> None:
    full = TEMPLATE.encode("utf-8")
    cut = full[: full.rindex(b"<description>") + 40]  # inside the last item's body
    feed = parse_feed(cut, url=BASE)
    assert [e.title for e in feed.entries] == [i["title"] for i in ZH["items"][:2]]
    assert [e.content_html for e in feed.entries] == [i["body"] for i in ZH["items"][:2]]


def test_truncated_before_first_entry_is_malformed() -> None:
    full = TEMPLATE.encode("utf-8")
    with pytest.raises(ParseError) as info:
        parse_feed(full[: full.index(b"<item>") + 20], url=BASE)
    assert info.value.kind == "malformed"


def test_well_formed_feed_without_entries_is_valid() -> None:
    body = b'<rss version="2.0"><channel><title>quiet</title><ttl>60</ttl></channel></rss>'
    feed = parse_feed(body, url=BASE)
    assert (feed.title, feed.entries, feed.ttl_minutes) == ("quiet", (), 60)


@pytest.mark.parametrize("ttl", ["abc", "-5", "0", "99999999"])
def test_absurd_ttl_is_ignored(ttl: str) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>'
    assert parse_feed(body.encode(), url=BASE).ttl_minutes is None


# --- property tests --------------------------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "<rss version='2.0'>",
        "<channel>",
        "<item>",
        "</item>",
        "<title>",
        "</title>",
        "<![CDATA[",
        "]]>",
        "<!DOCTYPE rss [",
        "<!ENTITY a 'b'>",
        "]>",
        "&a;",
        "&amp;",
        "<feed xmlns='http://www.w3.org/2005/Atom'>",
        "<entry>",
        "<content type='html'>",
        "<?xml version='1.0' encoding='gbk'?>",
        "新浪财经",
        "\x00",
        "\ufeff",
        "<html>",
        "<guid>",
        "</guid>",
        "<link>",
        "/x",
        "<pubDate>",
        "2024年",
        "</rss>",
        "</feed>",
    ]
)


def assert_parses_or_parse_error(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(body, url=BASE, content_type=content_type)
    except ParseError as exc:
        assert exc.kind in {"empty", "entities", "encoding", "not_a_feed", "malformed"}
    else:
        assert isinstance(feed, ParsedFeed)
        assert not re.search(
            "[\x00-\x08\x0b\x0c\x0e-\x1f]", "".join(e.title or "" for e in feed.entries)
        )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=2000),
    charset=st.sampled_from([None, "utf-8", "gbk", "latin-1", "bogus"]),
)
def test_arbitrary_bytes_give_feed_or_parse_error(body: bytes, charset: str | None) -> None:
    assert_parses_or_parse_error(body, f"text/xml; charset={charset}" if charset else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40),
    encoding=st.sampled_from(["utf-8", "gb18030", "utf-16"]),
)
def test_feedlike_documents_give_feed_or_parse_error(parts: list[str], encoding: str) -> None:
    body = codecs.encode("".join(parts), encoding, errors="replace")
    assert_parses_or_parse_error(body, None)


_TITLE = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S"], exclude_characters="\ufffe\uffff"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(_TITLE, min_size=1, max_size=5),
    kind=st.sampled_from(["rss", "atom"]),
)
def test_feeds_written_by_feedgen_read_back_exactly(titles: list[str], kind: str) -> None:
    """The oracle beside the never-fails properties: a feed a real writer (feedgen) made from
    known items gives back those items, field for field, as feedparser also reads them.
    Text that reads as UTF-8 once encoded as Latin-1 (`Â¡`) is feedparser's mojibake repair,
    followed on purpose (`test_latin1_read_utf8_is_repaired_like_feedparser`)."""
    assume(not any(_looks_like_mojibake(t) for t in titles))
    gen = FeedGenerator()
    gen.id(BASE)
    gen.title("频道")
    gen.link(href=BASE, rel="alternate")
    gen.description("d")
    for n, title in enumerate(titles):
        item = gen.add_entry(order="append")
        item.id(f"https://feeds.example/g/{n}")
        item.title(title)
        item.link(href=f"https://feeds.example/a/{n}.html")
        if kind == "rss":
            item.description(f"<p>{title}</p>")
        else:
            item.content(f"<p>{title}</p>", type="html")
    body = gen.rss_str() if kind == "rss" else gen.atom_str()
    feed = parse_feed(body, url=BASE)
    assert [(e.title, e.link, e.guid, e.content_html) for e in feed.entries] == [
        (t, f"https://feeds.example/a/{n}.html", f"https://feeds.example/g/{n}", f"<p>{t}</p>")
        for n, t in enumerate(titles)
    ]
    reference = feedparser.parse(body)
    assert [e.title for e in feed.entries] == [e.title for e in reference.entries]
    assert [e.link for e in feed.entries] == [e.link for e in reference.entries]


def _looks_like_mojibake(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return False
    return True


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_latin1_read_utf8_is_repaired_like_feedparser(kind: str) -> None:
    gen = FeedGenerator()
    gen.id(BASE)
    gen.title("频道")
    gen.link(href=BASE, rel="alternate")
    gen.description("d")
    item = gen.add_entry()
    item.id(f"{BASE}g/1")
    item.title("æ\x96°æµª Â¡")  # UTF-8 bytes of 新浪 and ¡ once read as Latin-1
    item.link(href=f"{BASE}a/1.html")
    body = gen.rss_str() if kind == "rss" else gen.atom_str()
    assert parse_feed(body, url=BASE).entries[0].title == "新浪 ¡"
    assert feedparser.parse(body).entries[0].title == "新浪 ¡"


# --- lxml fast path == feedparser path -------------------------------------------------------

DEMO = Path(__file__).parent.parent / "config" / "demo"
# every feed document in the repo: golden files, encodings, RSSHub / Atom samples, the demo
# config's feeds and two workload-A feeds rendered by bench/workload.py (build_items/render_rss)
ALL_FEEDS = sorted(
    [*FEEDS.glob("*.xml"), *FEEDS.glob("*.rdf"), *DEMO.glob("*.xml"), *DEMO.glob("*.atom")]
)
# the shapes the fast path exists for: it must take them, not fall back
FAST_SHAPES = [
    FEEDS / "rsshub-rich.xml",
    FEEDS / "atom-rich.xml",
    FEEDS / "rss20.xml",
    FEEDS / "atom10.xml",
    FEEDS / "workload-a-1.xml",
    FEEDS / "workload-a-2.xml",
    FEEDS / "zh-gbk.xml",
    DEMO / "sina-china.xml",
    DEMO / "zhihu.atom",
]


def both_paths(body: bytes, url: str = BASE) -> tuple[ParsedFeed | None, ParsedFeed]:
    """(fast path result or None, feedparser path result) for the same prepared bytes."""
    text, data = _prepare(body, None)
    return _parse_fast(data, url), _parse_feedparser(data, text, url)


def test_every_fixture_in_the_repo_is_covered() -> None:
    names = {p.name for p in ALL_FEEDS}
    assert {"workload-a-1.xml", "zhihu.atom", "sina-china.xml", "rss10.rdf"} <= names
    assert len(ALL_FEEDS) >= 20


@pytest.mark.parametrize("path", ALL_FEEDS, ids=lambda p: p.name)
def test_fast_path_equals_feedparser_on_every_fixture(path: Path) -> None:
    fast, slow = both_paths(path.read_bytes())
    assert fast is None or fast == slow
    assert parse_feed(path.read_bytes(), url=BASE) == slow


@pytest.mark.parametrize("path", FAST_SHAPES, ids=lambda p: p.name)
def test_fast_path_takes_the_common_shapes(path: Path) -> None:
    fast, slow = both_paths(path.read_bytes(), "https://rsshub.app/sina/finance/china")
    assert fast is not None
    assert fast == slow
    assert fast.entries


def test_parse_feed_goes_through_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wiring: with feedparser made unusable, RSSHub output still parses; RSS 0.91 does not."""

    def unusable(data: bytes, text: str, url: str) -> ParsedFeed:
        raise AssertionError("feedparser path taken")

    monkeypatch.setattr(parse_module, "_parse_feedparser", unusable)
    assert len(parse_feed((FEEDS / "workload-a-1.xml").read_bytes(), url=BASE).entries) == 6
    with pytest.raises(AssertionError):
        parse_feed((FEEDS / "rss091.xml").read_bytes(), url=BASE)


def test_feedparser_is_imported_only_for_a_document_the_fast_path_leaves() -> None:
    # feedparser costs ~30-60 ms of CPU to import: a process that only reads RSSHub-shaped
    # feeds (every worker process of a cold ingest, a poll with one changed feed) never pays it.
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from aggregator.parse import parse_feed\n"
        f"feeds = Path({str(FEEDS)!r})\n"
        "fast = parse_feed((feeds / 'workload-a-1.xml').read_bytes(), url='http://e.com/')\n"
        "assert len(fast.entries) == 6\n"
        "assert 'feedparser' not in sys.modules, 'imported for the fast path'\n"
        "slow = parse_feed((feeds / 'rss091.xml').read_bytes(), url='http://e.com/')\n"
        "assert slow.entries, 'rss 0.91 read'\n"
        "assert 'feedparser' in sys.modules, 'the general path ran without it'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_fast_path_fields_of_the_rich_samples() -> None:
    """Not only equal to feedparser: the fields the rich samples were written to exercise."""
    rss, _ = both_paths((FEEDS / "rsshub-rich.xml").read_bytes(), "https://rsshub.app/x")
    assert rss is not None
    assert (rss.title, rss.link, rss.ttl_minutes) == (
        "新浪财经－要闻 & 快讯",
        "https://finance.sina.com.cn/?from=rss&tab=1",
        5,
    )
    first, second, third, fourth = rss.entries
    assert first.title == "央行：保持流动性合理充裕"
    assert first.content_html.startswith("<p>正文")  # content:encoded beats description
    assert first.image_urls == (
        "https://n.sinaimg.cn/cover.jpg",
        "https://rsshub.app/thumb/1.png",
        "https://n.sinaimg.cn/m.webp",
        "https://n.sinaimg.cn/m2.png",
    )
    assert (second.link, second.author) == (second.guid, "张三")  # permalink guid as link
    assert second.content_html == "<p>escaped &amp; HTML</p>"
    assert third.guid == "doc-icccccccccccccc"
    assert third.link == "https://rsshub.app/roll/2026-11-27/doc-icccccccccccccc.shtml?a=1&b=2"
    assert (fourth.title, fourth.link, fourth.guid) == (None, None, None)
    atom, _ = both_paths((FEEDS / "atom-rich.xml").read_bytes(), "https://rsshub.app/x")
    assert atom is not None and atom.version == "atom10"
    first, second, third, fourth = atom.entries
    assert first.title == "CPU 的指令集 & 存放"  # html title: tags dropped, entities decoded
    assert first.author == "温戈 (wen@example.com)"
    assert first.image_urls == ("https://pic1.zhimg.com/cover.jpg",)
    assert second.content_html == "only a &lt;summary&gt;, as text"
    assert (second.link, second.author) == ("https://rsshub.app/story/2", "anon@example.com")
    assert (third.link, third.content_html) == (third.guid, "a &lt; b &amp; c")
    assert fourth.content_html == "<p>empty content: the summary</p>"


PROLOG = '<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="/x.xsl"?>\n<!-- c -->\n'
# feedparser quirks the fast path reproduces rather than falls back on
QUIRKS = [
    PROLOG
    + '<rss version="2.0.1"><channel>junk<title>t</title><item>junk<guid ISPERMALINK="false">'
    'http:///a</guid><enclosure URL="/i.JPG" TYPE="" LENGTH="1"/></item></channel></rss><!---->',
    PROLOG + '<rss version="2.0"><channel><item><link></link><guid>http://g/</guid></item>'
    "<item><guid>http:////g2</guid><link>  </link></item></channel></rss>",
    '<rss version="2.0"><channel><link>a&amp;amp;b&amp;c;d</link>'
    "<item><link>a&amp;amp;b&amp;c;d</link></item></channel></rss>",
    '<feed xmlns="http://www.w3.org/2005/Atom"><entry><author>  Bob <name></name> tail </author>'
    '<title type="html">&lt;p&gt;a &amp;amp; b</title></entry><title>late</title><link href=""/>'
    "</feed>",
    '<feed xmlns="http://www.w3.org/2005/Atom"><id>http:///f</id><entry><id>http:///e</id>'
    '<link rel="enclosure" href="/a.png"/><link rel="enclosure" type="image/png" href=""/>'
    "</entry></feed>",
    '<rss version="2.0"><channel><ttl>\u0663</ttl><item><title>\u00c3\u00a9\x85</title>'
    "<description>\x80 ok</description></item></channel></rss>",
    '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss"><channel><item>'
    '<media:thumbnail url=""/><media:content url="/v" medium="Image"/></item></channel></rss>',
]


@pytest.mark.parametrize("doc", QUIRKS)
def test_fast_path_reproduces_feedparser_quirks(doc: str) -> None:
    fast, slow = both_paths(doc.encode("utf-8"), "https://rsshub.app/x")
    assert fast is not None
    assert fast == slow


RSS_HEAD = (
    '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
)
ATOM_HEAD = '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'


@pytest.mark.parametrize(
    "doc",
    [
        RSS_HEAD + "<item><title>a</title><foo>unknown</foo></item></channel></rss>",
        RSS_HEAD + "<item><title>a</title><title>b</title></item></channel></rss>",
        RSS_HEAD + '<item><link xml:base="http://b/">x</link></item></channel></rss>',
        RSS_HEAD + '<item><source url="http://s/">s</source></item></channel></rss>',
        RSS_HEAD + "<item><dc:date>2024-01-01</dc:date></item></channel></rss>",
        RSS_HEAD + "<item><title>a</title></item><item><title>cut</title>",  # truncated
        RSS_HEAD.replace('"2.0"', '"0.92"') + "<item><title>a</title></item></channel></rss>",
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        "<channel><item><title>a</title></item></channel></rss>",
        '<rss version="2.0" xmlns:x="http://purl.org/rss/1.0/"><channel><item/></channel></rss>',
        ATOM_HEAD + '<entry><content type="xhtml"><div>x</div></content></entry></feed>',
        ATOM_HEAD + '<entry><content type="image/png">AAAA</content></entry></feed>',
        ATOM_HEAD + '<entry><content src="http://x/"/></entry></feed>',
        ATOM_HEAD + '<entry><title type="xhtml">x</title></entry></feed>',
        ATOM_HEAD + "<entry><link>http://text-link/</link></entry></feed>",
        ATOM_HEAD + '<entry xml:base="http://b/"><link href="x"/></entry></feed>',
        ATOM_HEAD + "<entry><source><id>x</id></source></entry></feed>",
        '<!DOCTYPE rss SYSTEM "x.dtd"><rss version="2.0"><channel><item/></channel></rss>',
        '<?xml version="1.1"?><rss version="2.0"><channel><item/></channel></rss>',
    ],
)
def test_fast_path_falls_back_when_in_doubt(doc: str) -> None:
    fast, slow = both_paths(doc.encode("utf-8"))
    assert fast is None
    assert parse_feed(doc.encode("utf-8"), url=BASE) == slow


def test_windows_1252_table_is_feedparsers() -> None:
    from feedparser.html import _cp1252  # the table the fast path must reproduce

    assert dict(_CP1252) == dict(_cp1252)


# --- property: generated RSS 2.0 / Atom 1.0 documents ------------------------------------------

WORDS = st.sampled_from(
    [
        "新浪财经",
        "央行：利率",
        "A & B",
        "<b>bold</b>",
        "a < b > c",
        "&amp;",
        "&copy;",
        "&#160;",
        "]]>",
        "é",
        "Ã©",
        "\x85",
        "\x80\x9f",
        "\u3000",
        "\xa0",
        "\t\n ",
        "'\"",
        "\r\n",
        "x",
        "http://e.com/?a=1&b=2",
    ]
)
TEXT = st.one_of(st.lists(WORDS, max_size=4).map("".join), st.text(max_size=8))
URLS = st.sampled_from(
    [
        "/d/1.html",
        "d/rel.html",
        "http://e.com/a?x=1&y=2",
        "http://e.com/a?x=1&amp;y=2",
        "http://e.com/a?x=1&copy;y",
        "https:///triple.html",
        "//cdn.e.com/x.jpg",
        "http://e.com/中文.png",
        " http://e.com/pad.gif ",
        "",
        "doc-123",
        "tag:e.com,2024:1",
    ]
)
MIMES = st.sampled_from([None, "", "image/jpeg", "IMAGE/PNG", "video/mp4", "text/html"])


@st.composite
def xml_text(draw: st.DrawFn, value: str) -> str:
    """`value` as element content: escaped, CDATA, or character references."""
    mode = draw(st.sampled_from(["escape", "cdata", "charref"]))
    if mode == "cdata":
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    if mode == "charref":
        return "".join(c if c.isalnum() and c.isascii() else f"&#{ord(c)};" for c in value)
    return xml.sax.saxutils.escape(value)


@st.composite
def element(
    draw: st.DrawFn, tag: str, attrs: str = "", value: st.SearchStrategy[str] = TEXT
) -> str:
    space = draw(st.sampled_from(["", " ", "\n  "]))
    prefix, colon, local = tag.rpartition(":")
    tag = prefix + colon + draw(st.sampled_from([local, local, local.upper()]))  # any case
    return f"{space}<{tag}{attrs}>{draw(xml_text(draw(value)))}</{tag}>"


def attr(name: str, value: str | None) -> str:
    return "" if value is None else f" {name}={xml.sax.saxutils.quoteattr(value)}"


SURPRISES = st.sampled_from(
    [
        "",
        "",
        "",
        "<foo>x</foo>",
        "<title>again</title>",
        '<link xml:base="http://b/">x</link>',
        "<comments>c</comments>",
        '<category domain="d">cat</category>',
        "<!-- comment -->",
        "<?pi x?>",
    ]
)


@st.composite
def rss_item(draw: st.DrawFn) -> str:
    parts = [draw(element("title"))] if draw(st.booleans()) else []
    if draw(st.booleans()):
        parts.append(draw(element("link", value=URLS)))
    if draw(st.booleans()):
        permalink = draw(st.sampled_from([None, "true", "false", "False"]))
        parts.append(draw(element("guid", attr("isPermaLink", permalink), URLS)))
    for tag in ("description", "content:encoded", "pubDate"):
        if draw(st.booleans()):
            parts.append(draw(element(tag)))
    if draw(st.booleans()):
        parts.append(draw(element(draw(st.sampled_from(["author", "dc:creator"])))))
    for _ in range(draw(st.integers(0, 2))):
        url, mime = draw(URLS), draw(MIMES)
        parts.append(f"<enclosure{attr('url', url)}{attr('type', mime)} length='1'/>")
    for _ in range(draw(st.integers(0, 2))):
        parts.append(f"<media:thumbnail{attr('url', draw(URLS))}/>")
    for _ in range(draw(st.integers(0, 2))):
        medium = draw(st.sampled_from([None, "image", "video"]))
        parts.append(
            f"<media:content{attr('url', draw(URLS))}{attr('medium', medium)}"
            f"{attr('type', draw(MIMES))}/>"
        )
    parts.append(draw(SURPRISES))
    return "<item>" + "".join(draw(st.permutations(parts))) + "</item>"


@st.composite
def rss_document(draw: st.DrawFn) -> str:
    head = [draw(element("title"))] if draw(st.booleans()) else []
    if draw(st.booleans()):
        head.append(draw(element("link", value=URLS)))
    if draw(st.booleans()):
        ttl = st.sampled_from(["5", " 30 ", "abc", "0", "²", "99999999"])
        head.append(draw(element("ttl", value=ttl)))
    if draw(st.booleans()):
        head.append('<atom:link href="http://rsshub.app/x" rel="self" type="application/rss+xml"/>')
    if draw(st.booleans()):
        head.append("<image><url>/logo.png</url><title>logo</title><link>/l</link></image>")
    items = draw(st.lists(rss_item(), max_size=3))
    extra = draw(st.sampled_from(["", "", ' xmlns:itunes="http://www.itunes.com/dtds/x.dtd"']))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f' xmlns:media="http://search.yahoo.com/mrss/"{extra}><channel>'
        + "".join(draw(st.permutations(head + items)))  # items may come first
        + "</channel></rss>"
    )


TEXT_TYPES = st.sampled_from([None, "text", "html", "HTML", "text/html", "xhtml"])


@st.composite
def atom_link(draw: st.DrawFn) -> str:
    rel = draw(st.sampled_from([None, "alternate", "ALTERNATE", "enclosure", "self", "related"]))
    mime = draw(st.sampled_from([None, "text/html", "html", "image/png", "application/pdf"]))
    return f"<link{attr('href', draw(URLS))}{attr('rel', rel)}{attr('type', mime)}/>"


@st.composite
def atom_entry(draw: st.DrawFn) -> str:
    parts = draw(st.lists(atom_link(), max_size=3))
    for tag in ("title", "content", "summary"):
        if draw(st.booleans()):
            parts.append(draw(element(tag, attr("type", draw(TEXT_TYPES)))))
    for tag, value in (("id", URLS), ("published", TEXT), ("updated", TEXT)):
        if draw(st.booleans()):
            parts.append(draw(element(tag, value=value)))
    if draw(st.booleans()):
        inner = [draw(element(tag)) for tag in ("name", "email", "uri") if draw(st.booleans())]
        own = draw(st.sampled_from(["", " ", "Bob"]))
        parts.append("<author>" + own + "".join(inner) + "</author>")
    parts.append(draw(SURPRISES))
    return "<entry>" + "".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_document(draw: st.DrawFn) -> str:
    head = draw(st.lists(atom_link(), max_size=2))
    if draw(st.booleans()):
        head.append(draw(element("title", attr("type", draw(TEXT_TYPES)))))
    if draw(st.booleans()):
        head.append(draw(element("id", value=URLS)))
    entries = draw(st.lists(atom_entry(), max_size=3))
    lang = draw(st.sampled_from(["", ' xml:lang="zh-CN"']))
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"{lang}>'
        + "".join(draw(st.permutations(head + entries)))
        + "</feed>"
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(rss_document(), atom_document()))
def test_fast_path_falls_back_or_equals_feedparser(doc: str) -> None:
    try:
        fast, slow = both_paths(doc.encode("utf-8"), "https://rsshub.app/sina/x")
    except ParseError:
        return  # refused before either parser ran (e.g. only control characters)
    if fast is not None:
        assert fast == slow


@pytest.mark.parametrize("ref", ["&#xD800;", "&#x110000;", "&#99999999999;", "&#0;", "&#x1;"])
def test_a_bad_character_reference_is_replaced_not_fatal(ref: str) -> None:
    items = "".join(
        f"<item><title>第{i}条{ref if i == 2 else ''}</title>"
        f"<link>https://a.example/{i}</link></item>"
        for i in range(1, 4)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
    feed = parse_feed((body + "</channel></rss>").encode(), url="https://a.example/")
    assert [e.title for e in feed.entries] == ["第1条", "第2条\ufffd", "第3条"]
    assert feed.problem is None


def test_a_truncated_document_says_so() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>一</title><link>https://a.example/1</link></item>"
        "<item><title>二</title><link>https://a.example/2</link></item><item><title>三"
    )
    feed = parse_feed(body.encode(), url="https://a.example/")
    assert [e.title for e in feed.entries] == ["一", "二"]
    assert feed.problem == "truncated document: kept its 2 complete item(s)"


@pytest.mark.parametrize("ref", ["&#x0000000041;", "&#000000065;", "&#0065;"])
def test_a_character_reference_with_leading_zeros_is_its_character(ref: str) -> None:
    """XML allows leading zeros: &#000000065; is 'A' (it used to become U+FFFD)."""
    body = f'<rss version="2.0"><channel><item><title>a{ref}b</title></item></channel></rss>'
    assert parse_feed(body.encode(), url=BASE).entries[0].title == "aAb"


# --- boundaries (mutation testing, issue 18) ------------------------------------------------


def _title_with(ref: str) -> str | None:
    body = f'<rss version="2.0"><channel><item><title>a{ref}b</title></item></channel></rss>'
    return parse_feed(body.encode(), url=BASE).entries[0].title


@pytest.mark.parametrize(
    ("ref", "title"),
    [
        ("&#x10FFFF;", "a\U0010ffffb"),  # the last code point
        ("&#1114111;", "a\U0010ffffb"),
        ("&#x110000;", "a\ufffdb"),
        ("&#1114112;", "a\ufffdb"),
        ("&#126;", "a~b"),
        ("&#127;", "a\ufffdb"),  # DEL, and NUL, are no characters of a feed
        ("&#x7f;", "a\ufffdb"),
        ("&#0;", "a\ufffdb"),
        ("&#xFFFE;", "a\ufffdb"),
        ("&#" + "9" * 5000 + ";", "a\ufffdb"),
    ],
)
def test_character_references_are_read_or_replaced(ref: str, title: str) -> None:
    assert _title_with(ref) == title


@pytest.mark.parametrize(("ttl", "minutes"), [("1", 1), (" 30 ", 30), ("10080", 10080)])
def test_ttl_of_up_to_a_week_is_kept(ttl: str, minutes: int) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>'
    assert parse_feed(body.encode(), url=BASE).ttl_minutes == minutes


@pytest.mark.parametrize("ttl", ["10081", "²", "1.5"])
def test_ttl_beyond_a_week_or_not_a_number_is_ignored(ttl: str) -> None:
    body = f'<rss version="2.0"><channel><title>t</title><ttl>{ttl}</ttl></channel></rss>'
    assert parse_feed(body.encode(), url=BASE).ttl_minutes is None


@pytest.mark.parametrize(
    ("body", "replaced"),
    [
        (b"<rss>" + b"a" * 95 + b"\xff", 1),  # one bad byte in a short body
        (b"<rss>" + b"a" * 1000 + b"\xff" * 10, 10),  # one in a hundred characters
    ],
)
def test_a_few_corrupt_bytes_are_replaced(body: bytes, replaced: int) -> None:
    assert decode(body).count("\ufffd") == replaced


@pytest.mark.parametrize(
    "body", [b"<rss>" + b"a" * 95 + b"\xff\xff", b"<rss>" + b"a" * 1000 + b"\xff" * 11]
)
def test_more_corrupt_bytes_are_an_encoding_error(body: bytes) -> None:
    with pytest.raises(ParseError) as info:
        decode(body)
    assert info.value.kind == "encoding"


SUBSET = '<!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel/></rss>'


@pytest.mark.parametrize(
    "prolog",
    [
        "\ufeff",
        "\n \t",
        '<?xml version="1.0"?>',
        '<?xml-stylesheet href="a.xsl"?>\n',
        "<!-- a comment -->",
        "<!-- ? > -- --><?pi x?>",
    ],
)
def test_an_internal_subset_is_found_after_any_prolog(prolog: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed((prolog + SUBSET).encode("utf-8"), url=BASE)
    assert info.value.kind == "entities"


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE rss SYSTEM "a[1].dtd">',  # a bracket inside a quoted id opens nothing
        "<!DOCTYPE rss PUBLIC '-//x[y]//EN' 'b.dtd'>",
        "<!doctype rss>",
    ],
)
def test_a_doctype_without_a_subset_is_fine(doctype: str) -> None:
    body = doctype + '<rss version="2.0"><channel><item><title>t</title></item></channel></rss>'
    assert [e.title for e in parse_feed(body.encode(), url=BASE).entries] == ["t"]


def test_the_http_charset_decodes_a_body_without_a_declaration() -> None:
    doc = '<rss version="2.0"><channel><title>繁體中文</title><item><title>測試標題</title>'
    body = (doc + "<link>http://x/1</link></item></channel></rss>").encode("big5")
    feed = parse_feed(body, url=BASE, content_type="text/xml; charset=big5")
    assert (feed.title, feed.entries[0].title) == ("繁體中文", "測試標題")


def test_an_unknown_charset_label_is_passed_over() -> None:
    body = encoded("gbk", None)
    cut = body.index(ZH["items"][1]["body"][:8].encode("gbk"))
    damaged = body[:cut] + b"\xff" + body[cut:]
    feed = parse_feed(damaged, url=BASE, content_type="text/xml; charset=x-no-such-charset")
    assert [e.title for e in feed.entries] == [i["title"] for i in ZH["items"]]


def test_relative_links_resolve_on_the_general_path_too() -> None:
    rdf = (
        (FEEDS / "rss10.rdf").read_text("utf-8").replace("http://example.com/c/1.html", "/c/1.html")
    )
    feed = parse_feed(rdf.encode(), url="https://feeds.example.org/rss10")
    assert feed.entries[0].link == "https://feeds.example.org/c/1.html"


def test_a_body_its_bom_does_not_decode_is_an_encoding_error() -> None:
    with pytest.raises(ParseError) as info:
        decode(codecs.BOM_UTF8 + b"<rss>\xff\xfe</rss>")
    assert info.value.kind == "encoding"
    assert str(info.value).startswith("body marked utf-8 does not decode: ")


@pytest.mark.parametrize(
    ("body", "replaced"),
    [
        (b"<rss>" + b"a" * 93 + b"\xff", 1),  # 99 characters: one replacement is allowed
        (b"<rss>" + b"a" * 985 + b"\xff" * 10, 10),  # exactly one in a hundred
    ],
)
def test_corrupt_bytes_up_to_the_limit_exactly_are_replaced(body: bytes, replaced: int) -> None:
    assert decode(body).count("\ufffd") == replaced


def test_too_corrupt_a_body_says_which_encodings_were_tried() -> None:
    with pytest.raises(ParseError) as info:
        decode(b"<rss>" + bytes([0xFF, 0x80]) * 500 + b"</rss>")
    assert str(info.value) == "body does not decode as UTF-8, its declared charset or GB18030"


RSS_ITEM = '<rss version="2.0"><channel><item><title>a [1] b</title></item></channel></rss>'


@pytest.mark.parametrize(
    "doc",
    [
        '<!DOCTYPE XRSS [ ]><rss version="2.0"><channel/></rss>',  # an empty subset
        "<!DOCTYPE rss ['x'>]><rss/>",
    ],
)
def test_any_internal_subset_is_refused(doc: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(doc.encode(), url=BASE)
    assert info.value.kind == "entities"


def test_a_bracket_after_the_doctype_opens_no_subset() -> None:
    feed = parse_feed(("<!DOCTYPE rss>" + RSS_ITEM).encode(), url=BASE)
    assert feed.entries[0].title == "a [1] b"


def test_an_unclosed_doctype_is_not_a_feed_not_entities() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b'<!DOCTYPE rss SYSTEM "a.dtd"', url=BASE)
    assert info.value.kind != "entities"


def test_a_broken_document_says_what_the_parser_found() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b'<rss version="2.0"><channel><title>t</ti', url=BASE)
    assert info.value.kind == "malformed"
    message = str(info.value)  # the XML parser's own words, where it stopped
    assert message.startswith("no usable entry: ") and message.endswith("unclosed token")


RSS_WITH = (
    '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>c</title>'
    "{channel}<item><title>t</title><link>https://example.com/1</link>{item}</item>"
    "</channel></rss>"
)
ATOM_WITH = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>c</title>{feed}<entry><title>t</title>'
    "<id>https://example.com/1</id>{entry}</entry></feed>"
)


@pytest.mark.parametrize(
    "doc",
    [
        RSS_WITH.format(
            channel="",
            item='<media:content url="https://example.com/a.jpg" type="image/jpeg" medium="image"'
            ' width="1" height="2" fileSize="3" duration="4" bitrate="5" lang="zh"/>',
        ),
        RSS_WITH.format(
            channel="",
            item='<media:thumbnail url="https://example.com/t.jpg" width="1" height="2"'
            ' time="12:05:01.123"/>',
        ),
        RSS_WITH.format(
            channel="",
            item='<enclosure url="https://example.com/e.png" length="10" type="image/png"/>'
            '<category domain="https://example.com/c">财经</category>'
            '<guid isPermaLink="false">x-1</guid><comments>https://example.com/c</comments>',
        ),
        RSS_WITH.format(
            channel='<category domain="d">c</category><image><title>i</title><url>https://'
            "example.com/i.png</url><link>https://example.com/</link><width>1</width><height>2"
            "</height><description>d</description></image>",
            item="",
        ),
        ATOM_WITH.format(
            feed='<link href="https://example.com/" rel="alternate" type="text/html"'
            ' hreflang="zh" title="t" length="1"/><generator uri="https://g" version="1">g'
            '</generator><category term="a" scheme="s" label="l"/>',
            entry='<category term="a" scheme="s" label="l"/><author><name>n</name>'
            "<email>e@example.com</email><uri>https://example.com/n</uri></author>",
        ),
        ATOM_WITH.format(feed="", entry='<author xml:lang="zh"><name>n</name></author>'),
    ],
    ids=[
        "media-content",
        "media-thumbnail",
        "item-extras",
        "channel-image",
        "atom-attributes",
        "atom-author-lang",
    ],
)
def test_the_fast_path_takes_the_standard_attributes_and_children(doc: str) -> None:
    fast, slow = both_paths(doc.encode("utf-8"), "https://rsshub.app/x")
    assert fast is not None
    assert fast == slow


def test_a_wrong_8bit_label_does_not_outvote_the_least_damaged_reading() -> None:
    """A GBK feed with one corrupt byte, served as Hebrew (ISO-8859-8): nothing decodes
    strictly, and GB18030 (one replacement) beats the label that garbles every character."""
    body = encoded("gbk", "gbk")
    cut = body.index(ZH["items"][1]["body"][:8].encode("gbk"))
    damaged = body[:cut] + b"\xff" + body[cut:]
    feed = parse_feed(damaged, url=BASE, content_type="text/xml; charset=iso-8859-8")
    assert [e.title for e in feed.entries] == [i["title"] for i in ZH["items"]]


def test_at_equal_damage_utf8_wins_over_gb18030() -> None:
    """UTF-8 whose Chinese runs have an even byte count reads as GB18030 too (as garbage);
    with one corrupt byte both readings hold one U+FFFD, and the UTF-8 one is the text."""
    body = b"<rss><title>" + "新浪财经".encode() + b"</title>\xff" + b"a" * 100 + b"</rss>"
    assert decode(body) == "<rss><title>新浪财经</title>\ufffd" + "a" * 100 + "</rss>"


def test_a_media_content_without_medium_is_an_image_by_its_type_first() -> None:
    """No `medium`: the MIME type decides, and only without one the URL's extension."""
    item = (
        '<media:content url="https://n.sinaimg.cn/pic?id=1" type="image/jpeg"/>'
        '<media:content url="https://n.sinaimg.cn/clip.jpg" type="video/mp4"/>'
        '<media:content url="https://n.sinaimg.cn/plain.png"/>'
    )
    body = RSS_WITH.format(channel="", item=item).encode()
    expected = ("https://n.sinaimg.cn/pic?id=1", "https://n.sinaimg.cn/plain.png")
    fast, slow = both_paths(body, "https://rsshub.app/x")
    assert fast is not None and fast.entries[0].image_urls == expected
    assert slow.entries[0].image_urls == expected


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"", "empty", "empty body"),
        (b" \r\n\t", "empty", "empty body"),
        (b"\x00\x01\x1f", "empty", "body holds only whitespace or control characters"),
        (b"<foo><bar", "malformed", "not well-formed XML: <unknown>:2:5: unclosed token"),
        (
            b'<?xml version="1.0"?><notafeed/>',
            "not_a_feed",
            "no RSS or Atom document (an HTML page?)",
        ),
        (SUBSET.encode(), "entities", "document declares entities (DTD internal subset)"),
        (
            b'<rss version="2.0"><!ENTITY x "y"><channel/></rss>',
            "entities",
            "document declares entities (DTD internal subset)",
        ),
    ],
)
def test_a_refused_document_says_why(body: bytes, kind: str, message: str) -> None:
    """The error recorded for a source names the problem: its kind and its exact words."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, url=BASE)
    assert (info.value.kind, str(info.value)) == (kind, message)


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("<name>a</name><name>b</name>", "b"),
        ("<name>a</name><email>e@x</email><name>b</name>", "b (e@x)"),
        ("<email>e@x</email><name>a</name><email>f@x</email>", "a (f@x)"),
        ("<name>a</name><name></name><email>e@x</email>", "e@x"),
    ],
)
def test_a_repeated_author_name_or_email_the_last_wins(author: str, expected: str) -> None:
    doc = ATOM_WITH.format(feed="", entry=f"<author>{author}</author>")
    fast, slow = both_paths(doc.encode(), "https://rsshub.app/x")
    assert fast is not None and fast.entries[0].author == expected
    assert slow.entries[0].author == expected


ATOM_CONTENTS = (
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>https://example.com/1'
    "</id>{}</entry></feed>"
)
PLAIN = '<content type="text/plain">plain &lt;b&gt;</content>'
RICH = '<content type="html">&lt;p&gt;rich&lt;/p&gt;</content>'
RICH2 = '<content type="text/html">&lt;p&gt;second&lt;/p&gt;</content>'


@pytest.mark.parametrize(
    ("contents", "expected"),
    [
        (PLAIN + RICH, "<p>rich</p>"),
        (RICH + PLAIN, "<p>rich</p>"),
        (RICH + RICH2, "<p>rich</p>"),
        (PLAIN + RICH2 + RICH, "<p>second</p>"),
        (PLAIN, "plain &lt;b&gt;"),
    ],
)
def test_of_several_contents_the_first_html_one_is_the_body(contents: str, expected: str) -> None:
    feed = parse_feed(ATOM_CONTENTS.format(contents).encode(), url=BASE)
    assert feed.entries[0].content_html == expected


def test_an_enclosure_without_a_url_gives_no_image() -> None:
    """RSS 0.92 (the general path): an image enclosure with no url names no image."""
    body = (
        '<rss version="0.92"><channel><title>t</title><item><title>a</title>'
        '<enclosure type="image/jpeg" length="1"/>'
        '<enclosure url="https://example.com/e.jpg" type="image/jpeg" length="1"/>'
        "</item></channel></rss>"
    )
    assert parse_feed(body.encode(), url=BASE).entries[0].image_urls == (
        "https://example.com/e.jpg",
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_a_utf16_body_without_bom_that_does_not_decode_says_so(encoding: str) -> None:
    cut = "<?xml version='1.0'?><rss/>".encode(encoding) + b"\x00"  # an odd byte count
    with pytest.raises(ParseError) as info:
        decode(cut)
    assert info.value.kind == "encoding"
    assert str(info.value).startswith("body marked utf-16 does not decode: ")


def test_content_reaches_the_cleaner_as_written_on_the_general_path() -> None:
    """feedparser neither sanitizes (nh3 does, later, once) nor resolves against xml:base."""
    body = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://b.example/dir/"><title>t'
        '</title><entry><id>http://x/1</id><link href="a.html"/><content type="html">&lt;p&gt;'
        '&lt;img src="i.png"&gt;&lt;script&gt;x()&lt;/script&gt;&lt;/p&gt;</content></entry></feed>'
    )
    entry = parse_feed(body.encode(), url=BASE).entries[0]
    assert entry.content_html == '<p><img src="i.png"><script>x()</script></p>'
    assert entry.link == "http://b.example/dir/a.html"


def test_a_latin1_feed_labelled_so_decodes_by_its_label() -> None:
    """Bytes GB18030 cannot read (a lone high byte before ASCII): the 8-bit label decides."""
    doc = '<rss version="2.0"><channel><title>Café</title><item><title>Crème brûlée à 5 €</title>'
    body = (doc + "</item></channel></rss>").replace("€", "EUR").encode("iso-8859-1")
    feed = parse_feed(body, url=BASE, content_type="application/rss+xml; charset=ISO-8859-1")
    assert (feed.title, feed.entries[0].title) == ("Café", "Crème brûlée à 5 EUR")


@pytest.mark.parametrize(
    "prolog",
    [
        '<?xml version="1.0"' + " " * 210 + 'encoding="gbk"?>',  # a long declaration
        '<?xml version="1.0" encoding="gbk"' + " " * 210 + "?>",
        '<?php encoding="gbk"?>',  # a label only feedparser's own sniffing would read
    ],
)
def test_a_declared_charset_the_bytes_are_not_in_is_overruled_on_both_paths(prolog: str) -> None:
    """UTF-8 bytes declared GBK: 新浪财经 reads as GBK too (as 鏂版氮璐㈢粡); the text wins."""
    doc = '<rss version="2.0"><channel><title>新浪财经</title><item><title>新浪财经</title>'
    body = (prolog + doc + "</item></channel></rss>").encode("utf-8")
    fast, slow = both_paths(body)
    for feed in (slow, parse_feed(body, url=BASE), *([fast] if fast else [])):
        assert (feed.title, feed.entries[0].title) == ("新浪财经", "新浪财经")


def test_a_well_formed_feed_without_entries_is_valid_on_the_general_path() -> None:
    body = '<rss version="0.92"><channel><title>quiet</title><link>/news/</link><ttl>30</ttl>'
    feed = parse_feed((body + "</channel></rss>").encode(), url=BASE)
    assert feed == ParsedFeed(
        title="quiet",
        link="http://example.com/news/",
        version="rss092",
        ttl_minutes=30,
        entries=(),
        problem=None,
    )


BOZO_ITEMS = (  # &nbsp; is no XML entity: not well-formed, read by feedparser's loose parser
    '<rss version="2.0"><channel><title>t</title><item><title>a&nbsp;b</title></item>'
    "<item><title>c</title></item></channel></rss>"
)


@pytest.mark.parametrize(
    "tail",
    [
        "",
        "\n",
        " " * 10_000,  # whitespace of any length
        "<!-- " + "x" * 4_080 + " -->\n",  # the closing tag and its comments in 4 KB
    ],
)
def test_a_complete_but_broken_document_keeps_every_entry(tail: str) -> None:
    feed = parse_feed((BOZO_ITEMS + tail).encode(), url=BASE)
    assert ([e.title for e in feed.entries], feed.problem) == (["a\xa0b", "c"], None)


def test_the_closing_tag_is_looked_for_in_the_last_4_kb() -> None:
    """A bounded search (hostile input): a closing tag followed by more than 4 KB of comments
    is not seen, and the last entry is dropped as if cut short."""
    feed = parse_feed((BOZO_ITEMS + "<!--" + "x" * 4_084 + "-->").encode(), url=BASE)
    assert ([e.title for e in feed.entries], feed.problem) == (
        ["a\xa0b"],
        "truncated document: kept its 1 complete item(s)",
    )


def test_a_well_formed_document_with_a_processing_instruction_after_its_root_is_complete() -> None:
    body = '<rss version="0.92"><channel><title>t</title><item><title>a</title></item>'
    feed = parse_feed(
        (body + "<item><title>b</title></item></channel></rss><?pi x?>").encode(), url=BASE
    )
    assert ([e.title for e in feed.entries], feed.problem) == (["a", "b"], None)


@pytest.mark.parametrize(("padding", "kind"), [(4_087, "not_a_feed"), (4_088, "malformed")])
def test_an_html_page_is_recognised_by_its_first_4096_characters(padding: int, kind: str) -> None:
    """Broken markup with no feed in it: an HTML tag ending within the first 4096 characters
    makes it an HTML page (not_a_feed), else it is malformed XML."""
    with pytest.raises(ParseError) as info:
        parse_feed(("<x>" + " " * padding + "<html><p>").encode(), url=BASE)
    assert info.value.kind == kind


@pytest.mark.parametrize(
    "prolog",
    ["", "\n \t", " \ufeff", '<?xml version="1.0"?>', "<!-- c -->\n", "<?pi x?><!-- c -->"],
)
@pytest.mark.parametrize(
    "subset",
    ["[ ]", '[<!ATTLIST item x CDATA "y">]'],  # a subset with no <!ENTITY in it
)
def test_an_internal_subset_without_entities_is_refused_after_any_prolog(
    prolog: str, subset: str
) -> None:
    doc = f'{prolog}<!DOCTYPE rss {subset}><rss version="2.0"><channel/></rss>'
    with pytest.raises(ParseError) as info:
        parse_feed(doc.encode("utf-8"), url=BASE)
    assert info.value.kind == "entities"


@pytest.mark.parametrize("mime", ["text", "TEXT", "plain", "text/plain", "Text/Plain"])
def test_plain_text_content_is_escaped_but_keeps_its_quotes(mime: str) -> None:
    """Plain text becomes HTML text: < and & escaped, quotes left as written (both paths)."""
    entry = f'<content type="{mime}">say "hi" &amp; \'bye\' &lt;3</content>'
    doc = ATOM_WITH.format(feed="", entry=entry)
    fast, slow = both_paths(doc.encode(), "https://rsshub.app/x")
    assert fast is not None
    for feed in (fast, slow):
        assert feed.entries[0].content_html == "say \"hi\" &amp; 'bye' &lt;3"


@pytest.mark.parametrize(
    ("mime", "html"),
    [
        (None, False),
        ("text", False),
        ("TEXT", False),
        ("plain", False),
        ("text/plain", False),
        ("html", True),
        ("HTML", True),
        ("text/html", True),
        ("Text/HTML", True),
    ],
)
def test_the_fast_path_takes_every_spelling_of_text_and_html(mime: str | None, html: bool) -> None:
    """Atom text constructs typed text or html, however spelled: read on the fast path, the
    same as feedparser reads them (an html title loses its tags)."""
    typed = attr("type", mime)
    doc = ATOM_WITH.format(
        feed=f"<subtitle{typed}>s</subtitle><rights{typed}>r</rights>",
        entry=f"<summary{typed}>&lt;b&gt;x&lt;/b&gt;</summary>",
    ).replace("<title>t</title>", f"<title{typed}>&lt;b&gt;t&lt;/b&gt; &amp;amp;</title>")
    fast, slow = both_paths(doc.encode(), "https://rsshub.app/x")
    assert fast is not None and fast == slow
    entry = fast.entries[0]
    assert entry.title == ("t &" if html else "<b>t</b> &amp;")
    assert entry.content_html == ("<b>x</b>" if html else "&lt;b&gt;x&lt;/b&gt;")


@pytest.mark.parametrize(
    ("mime", "is_alternate"),
    [
        (None, True),
        ("html", True),
        ("xhtml", True),
        ("text/html", True),
        ("application/xhtml+xml", True),
        ("TEXT/HTML", True),
        ("application/pdf", False),
    ],
)
def test_an_atom_entry_link_is_its_alternate_html_link(
    mime: str | None, is_alternate: bool
) -> None:
    link = f'<link rel="alternate" href="https://example.com/a"{attr("type", mime)}/>'
    doc = ATOM_WITH.format(feed="", entry=link)
    fast, slow = both_paths(doc.encode(), "https://rsshub.app/x")
    expected = "https://example.com/a" if is_alternate else "https://example.com/1"  # else the id
    assert fast is not None and fast.entries[0].link == expected
    assert slow.entries[0].link == expected


@pytest.mark.parametrize(
    ("feed", "entry", "dates"),
    [
        (
            "<subtitle>s1</subtitle><rights>r</rights><subtitle>s2</subtitle><rights>r2</rights>",
            "",
            (None, None),
        ),
        ("<author><name>a</name></author><author><email>e@x</email></author>", "", (None, None)),
        (
            "",
            "<published>p1</published><updated>u1</updated><published>p2</published>",
            ("p2", "u1"),
        ),
        ("", "<updated>u1</updated><published></published><updated>u2</updated>", (None, "u2")),
    ],
)
def test_the_fast_path_takes_repeats_feedparser_reads_the_same(
    feed: str, entry: str, dates: tuple[str | None, str | None]
) -> None:
    """Repeated elements whose last copy wins in feedparser as on the fast path."""
    fast, slow = both_paths(ATOM_WITH.format(feed=feed, entry=entry).encode(), BASE)
    assert fast is not None and fast == slow
    assert (fast.entries[0].published_raw, fast.entries[0].updated_raw) == dates


@pytest.mark.parametrize(
    ("feed", "entry", "field", "value"),
    [
        ("", "<title>t2</title>", "title", "t"),  # feedparser keeps the first title
        ("", "<id>https://example.com/2</id>", "link", "https://example.com/1"),
        (
            "",
            "<author><name>a</name></author><author><email>e@x</email></author>",
            "author",
            "a (e@x)",
        ),
        (
            "",
            '<summary type="html">&lt;p&gt;s1&lt;/p&gt;</summary><summary></summary>',
            "content_html",
            "<p>s1</p>",
        ),
        (
            "<id>https://example.com/f1</id><id>https://example.com/f2</id>",
            "",
            "feed link",
            "https://example.com/f1",
        ),
    ],
)
def test_a_repeat_the_fast_path_would_read_differently_is_read_as_feedparser_does(
    feed: str, entry: str, field: str, value: str
) -> None:
    body = ATOM_WITH.format(feed=feed, entry=entry).encode()
    parsed = parse_feed(body, url=BASE)
    _, slow = both_paths(body)
    assert parsed == slow
    got = parsed.link if field == "feed link" else getattr(parsed.entries[0], field)
    assert got == value


@pytest.mark.parametrize("error", [ValueError("bad character reference"), OverflowError("big")])
def test_a_feedparser_crash_is_recorded_as_malformed(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """feedparser's loose parser used to crash on some character references (they are replaced
    before it runs now); should another input crash it, the source records a malformed feed."""

    def crash(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(feedparser, "parse", crash)
    with pytest.raises(ParseError) as info:
        parse_feed((FEEDS / "rss091.xml").read_bytes(), url=BASE)
    assert (info.value.kind, str(info.value)) == ("malformed", f"feedparser failed: {error!r}")
    assert info.value.__cause__ is error


def test_an_atom_image_enclosure_is_made_absolute_on_both_paths() -> None:
    entry = '<link rel="enclosure" type="image/jpeg" href="/img/a.jpg"/>'
    fast, slow = both_paths(ATOM_WITH.format(feed="", entry=entry).encode(), "https://rsshub.app/x")
    assert fast is not None
    for feed in (fast, slow):
        assert feed.entries[0].image_urls == ("https://rsshub.app/img/a.jpg",)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("", "rss"),
        (' version=""', "rss"),
        (' version="3.0"', "rss"),
        (' version="0.91"', "rss091u"),
    ],
)
def test_an_rss_root_without_a_2x_version_is_read_by_feedparser(
    version: str, expected: str
) -> None:
    body = f"<rss{version}><channel><title>t</title><item><title>a</title></item></channel></rss>"
    fast, slow = both_paths(body.encode())
    assert fast is None
    feed = parse_feed(body.encode(), url=BASE)
    assert feed == slow
    assert (feed.version, [e.title for e in feed.entries]) == (expected, ["a"])


@pytest.mark.parametrize(
    ("channels", "title", "items"),
    [
        (  # a channel's xml:base applies to its item links
            '<channel xml:base="http://b.example/dir/"><title>t</title><item><title>a</title>'
            "<link>x.html</link></item></channel>",
            "t",
            [("a", "http://b.example/dir/x.html")],
        ),
        (  # two channels: feedparser reads the items of both, the last title
            "<channel><title>t</title><item><title>a</title></item></channel>"
            "<channel><title>u</title><item><title>b</title></item></channel>",
            "u",
            [("a", None), ("b", None)],
        ),
    ],
)
def test_an_unusual_rss_channel_is_read_as_feedparser_reads_it(
    channels: str, title: str, items: list[tuple[str, str | None]]
) -> None:
    feed = parse_feed(f'<rss version="2.0">{channels}</rss>'.encode(), url=BASE)
    assert (feed.title, [(e.title, e.link) for e in feed.entries]) == (title, items)


@pytest.mark.parametrize(
    ("channel", "link"),
    [
        ("<link>https:///example.com/news/</link>", "https://example.com/news/"),  # slashes fixed
        (  # an alternate atom:link becomes the channel link in feedparser
            '<link>https://example.com/</link><atom:link href="https://example.com/alt"'
            ' rel="alternate"/>',
            "https://example.com/alt",
        ),
        ('<atom:link href="https://example.com/alt"/>', "https://example.com/alt"),
        (
            '<link>https://example.com/</link><atom:link href="https://rsshub.app/x"'
            ' rel="self" type="application/rss+xml"/>',
            "https://example.com/",
        ),
    ],
)
def test_the_channel_link_is_read_as_feedparser_reads_it(channel: str, link: str) -> None:
    body = (
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
        f"{channel}<item><title>a</title></item></channel></rss>"
    )
    fast, slow = both_paths(body.encode())
    assert parse_feed(body.encode(), url=BASE).link == slow.link == link
    assert fast is None or fast.link == link


def test_a_processing_instruction_after_the_doctype_does_not_hide_its_subset() -> None:
    doc = '<?pi x?><!DOCTYPE rss [ ]><rss version="2.0"><channel/><?pi y?></rss>'
    with pytest.raises(ParseError) as info:
        parse_feed(doc.encode(), url=BASE)
    assert info.value.kind == "entities"


def test_an_xml_base_after_an_xml_lang_is_still_seen() -> None:
    """xml:base changes how feedparser resolves links: the fast path must not skip it."""
    entry = '<link href="x.html"/>'
    doc = ATOM_WITH.format(feed="", entry=entry).replace(
        "<entry>", '<entry xml:lang="zh" xml:base="http://b.example/dir/">'
    )
    fast, slow = both_paths(doc.encode(), "https://rsshub.app/x")
    assert fast is None
    assert slow.entries[0].link == "http://b.example/dir/x.html"


def test_xmlns_in_escaped_html_does_not_keep_a_feed_off_the_fast_path() -> None:
    item = "<description>&lt;svg xmlns=&quot;http://www.w3.org/2000/svg&quot;/&gt;</description>"
    fast, slow = both_paths(RSS_WITH.format(channel="", item=item).encode(), BASE)
    assert fast is not None and fast == slow
    assert fast.entries[0].content_html == '<svg xmlns="http://www.w3.org/2000/svg"/>'


_DECLARATION_PARTS = st.sampled_from(
    ['<?xml version="1.0"', " encoding=", "'gbk'", '"GB2312"', "?>", " ", "\n", "<rss>", "x"]
)


@settings(max_examples=300)
@given(st.lists(_DECLARATION_PARTS, max_size=8).map("".join), st.text(max_size=20))
def test_the_declared_encoding_becomes_utf8_as_the_regex_sub_made_it(head: str, rest: str) -> None:
    # Matched at the start only, for speed: the same text as the anchored pattern's sub.
    text = head + rest
    expected = parse_module._DECL_ENCODING_TEXT.sub(r"\1\2utf-8\2", text)
    assert parse_module._utf8_declared(text) == expected
    assert (
        parse_module._utf8_declared("<?xml encoding='gbk'?><a/>") == "<?xml encoding='utf-8'?><a/>"
    )


_XML_BASES = st.sampled_from(
    # ("../" never climbs above a root: libxml2 would keep it, RFC 3986 drops it)
    [None, "http://b.example/dir/", "https://c.example/deep/", "sub/", "../up/", "/root/"]
)


@given(
    st.sampled_from(["atom", "rss"]),
    _XML_BASES,
    st.lists(st.tuples(_XML_BASES, _XML_BASES), min_size=1, max_size=4),
)
def test_a_body_s_base_is_the_xml_base_in_scope(
    kind: str, top: str | None, entries: list[tuple[str | None, str | None]]
) -> None:
    """What each entry's body's relative URLs resolve against: lxml's reading of XML Base
    (the body element's `base`, the feed's URL when no xml:base is in scope), whatever the
    siblings before it declared."""

    def base(b: str | None) -> str:
        return "" if b is None else f' xml:base="{b}"'

    body = '&lt;img src="i.png"&gt;'
    if kind == "atom":
        doc = f'<feed xmlns="http://www.w3.org/2005/Atom"{base(top)}><title>t</title>' + "".join(
            f'<entry{base(e)}><id>urn:x:{i}</id><title>t</title><link href="/{i}.html"/>'
            f'<content type="html"{base(c)}>{body}</content></entry>'
            for i, (e, c) in enumerate(entries)
        )
        doc, tag = doc + "</feed>", "{http://www.w3.org/2005/Atom}content"
    else:
        doc = f'<rss version="2.0"><channel{base(top)}><title>t</title>' + "".join(
            f"<item{base(e)}><title>t</title><link>/{i}.html</link>"
            f"<description{base(c)}>{body}</description></item>"
            for i, (e, c) in enumerate(entries)
        )
        doc, tag = doc + "</channel></rss>", "description"
    fast, slow = both_paths(doc.encode())
    assert fast == (None if "xml:base" in doc else slow)  # the fast path leaves any xml:base
    tree = etree.fromstring(doc.encode(), base_url=BASE)
    expected = [None if el.base == BASE else el.base for el in tree.iter(tag)]
    assert [e.content_base for e in parse_feed(doc.encode(), url=BASE).entries] == expected
    assert [e.content_base for e in slow.entries] == expected


def test_a_truncated_document_s_bodies_keep_their_xml_base() -> None:
    doc = (
        '<rss version="2.0"><channel xml:base="http://b.example/dir/"><title>t</title>'
        '<item><title>a</title><description>&lt;img src="1.png"&gt;</description></item>'
        '<item xml:base="/other/"><title>b</title><description>&lt;img src="2.png"&gt;'
        "</description></item><item><title>c</title><description>cut sh"
    )
    feed = parse_feed(doc.encode(), url=BASE)
    assert feed.problem == "truncated document: kept its 2 complete item(s)"
    assert [e.content_base for e in feed.entries] == [
        "http://b.example/dir/",
        "http://b.example/other/",
    ]
