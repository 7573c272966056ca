"""parse_feed: every feed version (golden files), Chinese encodings however labelled, hostile
and broken documents, and a property test: bytes in → ParsedFeed or ParseError, nothing else."""

from __future__ import annotations

import codecs
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.models import ParsedFeed
from aggregator.parse import decode, parse_feed

FEEDS = Path(__file__).parent / "data" / "feeds"
BASE = "http://example.com/feeds/x.xml"
ZH = json.loads((FEEDS / "zh-text.json").read_text("utf-8"))
TEMPLATE = (FEEDS / "zh-utf8.xml").read_text("utf-8")
GOLDEN = sorted(
    p for p in FEEDS.iterdir() if p.suffix in (".xml", ".rdf") and not p.stem.startswith("zh-")
)


def as_plain(feed: ParsedFeed) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(feed)))


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
