"""ParsedEntry → Article: true titles, dates, categories, author, link, identity, cover."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.identity import identity_keys
from aggregator.models import ParsedEntry, Source
from aggregator.normalize import UNTITLED, categories_of, clean_title, normalize_entry
from aggregator.parse import parse_feed
from tests.corpus_posts import CorpusPost, all_posts

POSTS = all_posts()
IDS = [p.name for p in POSTS]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCE = Source(
    name="新浪财经－国內",
    url="https://rsshub.app/sina/finance/china/1686",
    categories=("金融", "新浪财经"),
    author="新浪财经",
    interval=300.0,
)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
LINK = "https://finance.sina.com.cn/china/gncj/2021-12-17/doc-ikyakumx4470283.shtml"


def entry(**changes: object) -> ParsedEntry:
    base = ParsedEntry(
        guid=LINK,
        link=LINK,
        title="标题",
        content_html="<p>　　正文。</p>",
        published_raw="Fri, 17 Dec 2021 05:09:33 GMT",
        updated_raw=None,
        author=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("post", POSTS, ids=IDS)
def test_corpus_post(post: CorpusPost) -> None:
    article = normalize_entry(post.entry(), post.source(), NOW)
    assert article.title == post.title
    assert article.categories == post.categories
    assert article.author == post.author
    assert article.link == post.link
    assert not article.date_is_fallback
    assert article.published.tzinfo is UTC
    assert article.cover is None or article.cover.startswith("https://")
    assert "picsum" not in (article.cover or "")
    assert "343233024.png" not in (article.cover or "")
    assert "责任编辑" not in article.content_html


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (
            "023%! 华夏合肥高新REIT刷新公众配售比例纪录",
            "0.23%! 华夏合肥高新REIT刷新公众配售比例纪录",
        ),
        (
            "0卡0糖饮料是否健康？专家建议每天保证15升以上饮水量",
            "0卡0糖饮料是否健康？专家建议每天保证1.5升以上饮水量",
        ),
    ],
)
def test_true_titles_kept_exactly(name: str, title: str) -> None:
    post = next(p for p in POSTS if p.name == name)
    assert normalize_entry(post.entry(), post.source(), NOW).title == title


@pytest.mark.parametrize(
    "name",
    [
        "103次！长征系列火箭创造连续发射成功新纪录",
        "10家钢厂上调废钢采购价20-450元",
        "b88532e-1-7月长江干线港口完成货物吞吐量超20亿吨",
    ],
)
def test_untitled_live_items_take_the_bracketed_headline(name: str) -> None:
    post = next(p for p in POSTS if p.name == name)
    article = normalize_entry(post.entry(keep_title=False), post.source(), NOW)
    assert article.title == post.title


def test_untitled_item_without_headline_takes_first_sentence() -> None:
    article = normalize_entry(
        entry(title=None, content_html="<p>　　央行今日开展逆回购操作。其余</p>"), SOURCE, NOW
    )
    assert article.title == "央行今日开展逆回购操作"
    long = "长" * 200
    assert normalize_entry(entry(title="", content_html=long), SOURCE, NOW).title == "长" * 59 + "…"
    assert normalize_entry(entry(title="  ", content_html=""), SOURCE, NOW).title == UNTITLED


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("A &amp; B", "A & B"),
        ("<b>粗</b>标题", "粗标题"),
        ("  多个\n  空白\t字符 ", "多个 空白 字符"),
        ("x < y > z", "x < y > z"),
        ('标题："引号" [方括号] #井号 yes: no', '标题："引号" [方括号] #井号 yes: no'),
        ("控制\x00字符\x1f", "控制字符"),
        ("&#55362;&#57271;野家 &#xD83D;&#xDE00;", "𠮷野家 😀"),
        ("a/b?c*d“e”", "a/b?c*d“e”"),
    ],
)
def test_clean_title(raw: str, title: str) -> None:
    assert clean_title(raw) == title


def test_categories_source_then_channel_deduped() -> None:
    assert categories_of(SOURCE) == ("金融", "新浪财经", "新浪财经－国內")
    twice = replace(SOURCE, categories=("金融", "新浪财经－国內", "金融"))
    assert categories_of(twice) == ("金融", "新浪财经－国內")


def test_author_from_item_else_source() -> None:
    assert normalize_entry(entry(author="证券时报网"), SOURCE, NOW).author == "证券时报网"
    assert normalize_entry(entry(author=None), SOURCE, NOW).author == "新浪财经"


def test_link_absolutized_or_guid() -> None:
    relative = normalize_entry(entry(link="/china/doc-iabcdefg1.shtml", guid=None), SOURCE, NOW)
    assert relative.link == "https://rsshub.app/china/doc-iabcdefg1.shtml"
    from_guid = normalize_entry(entry(link=None, guid=LINK), SOURCE, NOW)
    assert from_guid.link == LINK
    opaque = normalize_entry(entry(link=None, guid="tag:sina,2021:1"), SOURCE, NOW)
    assert opaque.link == ""
    assert opaque.key == "guid:tag:sina,2021:1"


def test_the_provenance_link_travels_with_the_article() -> None:
    """Worked out where the item is prepared: the store records it as it comes."""
    tracked = "http://Finance.Sina.com.cn:80/china/doc-iabcdefg1.shtml?utm_source=rss&b=2#c"
    article = normalize_entry(entry(link=tracked, guid=None), SOURCE, NOW)
    assert article.link == tracked.replace("Finance.Sina", "finance.sina")  # as published
    assert article.canonical_link == "https://finance.sina.com.cn/china/doc-iabcdefg1.shtml?b=2"
    opaque = normalize_entry(entry(link=None, guid="tag:sina,2021:1"), SOURCE, NOW)
    assert opaque.canonical_link == opaque.link == ""


def test_identity_from_identity_module() -> None:
    article = normalize_entry(entry(), SOURCE, NOW)
    assert (article.key, article.alt_keys) == identity_keys(
        LINK, LINK, "标题", article.published.isoformat()
    )
    assert article.key == "sina:kyakumx4470283"


def test_identity_stable_when_date_is_fallback() -> None:
    e = entry(link=None, guid=None, published_raw="Invalid Date")
    first = normalize_entry(e, SOURCE, NOW)
    later = normalize_entry(e, SOURCE, datetime(2026, 1, 2, tzinfo=UTC))
    assert first.date_is_fallback and first.published == NOW
    assert first.key == later.key and first.key.startswith("hash:")


def test_dates() -> None:
    article = normalize_entry(entry(published_raw="2021年12月17日 13:09"), SOURCE, NOW)
    assert article.published == datetime(2021, 12, 17, 5, 9, tzinfo=UTC)
    updated_only = normalize_entry(
        entry(published_raw=None, updated_raw="2021-12-17T13:09:33+08:00"), SOURCE, NOW
    )
    assert updated_only.published == datetime(2021, 12, 17, 5, 9, 33, tzinfo=UTC)
    assert not updated_only.date_is_fallback


def test_cover_falls_back_to_enclosures_with_the_same_rules() -> None:
    e = entry(
        content_html="<p>文</p>",
        image_urls=(
            "https://picsum.photos/400/300",
            "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
            "data:image/png;base64,AA",
            "http://n.sinaimg.cn/real.jpg",
        ),
    )
    assert normalize_entry(e, SOURCE, NOW).cover == "https://n.sinaimg.cn/real.jpg"
    body_image = entry(
        content_html='<img src="https://n.sinaimg.cn/body.jpg">',
        image_urls=("https://n.sinaimg.cn/real.jpg",),
    )
    assert normalize_entry(body_image, SOURCE, NOW).cover == "https://n.sinaimg.cn/body.jpg"


def test_content_cleaned_against_the_article_link() -> None:
    article = normalize_entry(
        entry(content_html='<p class="x">　　文<a href="/a.html">链</a></p><!-- c -->'), SOURCE, NOW
    )
    assert article.content_html == (
        '<p>　　文<a href="https://finance.sina.com.cn/a.html" '
        'rel="noopener noreferrer nofollow">链</a></p>'
    )
    assert article.text == "文链"
    assert article.source_name == "新浪财经－国內"


_ANY = st.one_of(st.none(), st.text(max_size=30))


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        ParsedEntry,
        guid=_ANY,
        link=st.one_of(_ANY, st.sampled_from(["//x.example/a", "http://[::1", "javascript:x"])),
        title=_ANY,
        content_html=st.text(max_size=80),
        published_raw=_ANY,
        updated_raw=_ANY,
        author=_ANY,
        image_urls=st.lists(st.text(max_size=20), max_size=2).map(tuple),
    )
)
def test_any_entry_normalizes(e: ParsedEntry) -> None:
    article = normalize_entry(e, SOURCE, NOW)
    assert article.title and article.title == article.title.strip()
    assert not _ILLEGAL.search(article.title + article.author + article.content_html)
    assert article.published.tzinfo is UTC
    assert article.link == "" or article.link.startswith(("http://", "https://"))
    assert article.cover is None or article.cover.startswith("https://")
    assert article.key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "alert(1)"),  # escaped once in the XML
        ("<b>A &amp; B</b>", "A & B"),
        ("\u202egnp.exe \u2066x\u2069", "gnp.exe x"),
        ("《三体》<i>上</i> 1<2", "《三体》上 1<2"),
        ("长" * 400, "长" * 299 + "…"),
    ],
)
def test_titles_stay_plain_text(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


def test_a_cut_title_is_recorded_on_the_article() -> None:
    entry = ParsedEntry(None, "https://a.example/1", "长" * 100_000, "<p>x</p>", None, None, None)
    a = normalize_entry(entry, Source("源", "https://a.example/", ("金融",), "作者", 60), NOW)
    assert len(a.title) == 300
    assert a.limits == ("title over 300 characters: cut",)


def test_a_body_s_relative_urls_resolve_against_its_xml_base() -> None:
    """The xml:base in scope of the body when there is one (parse.py reads it), else the
    item's link."""
    body = '<p><img src="i.png"><a href="../q.html">q</a></p>'
    based = normalize_entry(
        entry(content_html=body, content_base="http://img.example.org/a/b/"), SOURCE, NOW
    )
    assert 'src="https://img.example.org/a/b/i.png"' in based.content_html
    assert 'href="http://img.example.org/a/q.html"' in based.content_html
    plain = normalize_entry(entry(content_html=body), SOURCE, NOW).content_html
    assert 'src="https://finance.sina.com.cn/china/gncj/2021-12-17/i.png"' in plain
    assert 'href="https://finance.sina.com.cn/china/gncj/q.html"' in plain


def test_an_item_s_xml_base_is_out_of_scope_for_the_next_item() -> None:
    feed = (Path(__file__).parent / "data" / "feeds" / "rss20-xml-base.xml").read_bytes()
    entries = parse_feed(feed, url="http://example.com/feeds/x.xml").entries
    bodies = [normalize_entry(e, SOURCE, NOW).content_html for e in entries]
    assert 'src="https://img.example.org/a/b/1.png"' in bodies[0]
    assert 'src="https://example.com/r/2.png"' in bodies[1]  # against its own link


def test_an_article_crosses_a_pickle_whole() -> None:
    """Workers pickle every prepared article to the main process (`Article.__reduce__`):
    every field comes back, the signature included, whatever field is set."""
    import pickle
    from dataclasses import fields

    from aggregator.dedup import signature
    from aggregator.models import Article

    article = Article(
        key="sina:1",
        alt_keys=("url:https://example.com/1",),
        link="https://example.com/1",
        title="标题",
        published=datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC),
        date_is_fallback=True,
        author="作者",
        categories=("金融", "新浪财经"),
        content_html="<p>正文</p>",
        text="正文",
        cover="https://example.com/c.jpg",
        source_name="新浪财经",
        canonical_link="https://example.com/1",
        editor="编辑",
        signature=signature("标题", "正文" * 30),
        limits=("depth",),
        outlet="来源",
        tags=("贵州茅台 sh600519",),
    )
    defaults = Article(**{f.name: None for f in fields(Article)})  # type: ignore[arg-type]
    assert all(getattr(article, f.name) != getattr(defaults, f.name) for f in fields(Article))
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(article, protocol=protocol))
        assert back == article and type(back) is Article
