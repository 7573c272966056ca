"""Hexo posts in the schema README shows: exact format, YAML-safe for any title, safe names.

Writing, rewriting and removing them is tested through the outputs layer in test_publish."""

from __future__ import annotations

import html
import locale
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import rfc822_gmt
from aggregator.models import StoredArticle
from aggregator.outputs.hexo import render_post
from aggregator.outputs.posts import post_name, post_slug

COVER = "https://n.sinaimg.cn/finance/real-article-image.jpg"
ARTICLE = StoredArticle(
    id="urn:uuid:00000000-0000-5000-8000-000000000000",
    slug="2021-12-17-0123456789ab",
    link="https://finance.sina.com.cn/china/gncj/2021-12-17/doc-ikyakumx4470283.shtml",
    title="工信部印发促进中小企业发展规划：推动中小企业高质量发展",
    published=datetime(2021, 12, 17, 5, 9, 33, tzinfo=UTC),
    updated=datetime(2021, 12, 17, 5, 9, 33, tzinfo=UTC),
    author="新浪财经",
    categories=("金融", "新浪财经", "新浪财经－国內"),
    content_html="<p>　　正文{{ x }}{% raw %}</p>\n<p>第二段</p>",
    cover=COVER,
)


def front_matter(post: str) -> tuple[dict[str, object], list[str], str]:
    assert post.startswith("---\n")
    head, body = post[4:].split("\n---\n", 1)
    return yaml.safe_load(head), [line.split(":", 1)[0] for line in head.splitlines()], body


def test_exact_schema() -> None:
    assert render_post(ARTICLE) == (
        "---\n"
        "title: '工信部印发促进中小企业发展规划：推动中小企业高质量发展'\n"
        "categories:\n"
        " - 金融\n"
        " - 新浪财经\n"
        " - 新浪财经－国內\n"
        f"headimg: '{COVER}'\n"
        "author: 新浪财经\n"
        "comments: false\n"
        "date: Fri, 17 Dec 2021 05:09:33 GMT\n"
        f"thumbnail: '{COVER}'\n"
        "---\n"
        "\n"
        "<div>\n"
        "<p>　　正文&#123;&#123; x &#125;&#125;&#123;% raw %&#125;</p>\n"
        "<p>第二段</p>\n"
        "</div>\n"
    )


def test_key_order_and_values() -> None:
    meta, keys, _ = front_matter(render_post(ARTICLE))
    assert keys[:2] == ["title", "categories"]
    top = [k for k in keys if not k.startswith(" ")]
    assert top == ["title", "categories", "headimg", "author", "comments", "date", "thumbnail"]
    assert meta["comments"] is False
    assert meta["categories"] == list(ARTICLE.categories)
    assert meta["headimg"] == meta["thumbnail"] == COVER


def test_no_image_omits_headimg_and_thumbnail() -> None:
    meta, keys, _ = front_matter(render_post(replace(ARTICLE, cover=None)))
    assert "headimg" not in keys and "thumbnail" not in keys
    meta, _, _ = front_matter(render_post(replace(ARTICLE, cover=None), "https://x.example/d.png"))
    assert meta["headimg"] == meta["thumbnail"] == "https://x.example/d.png"


def test_date_in_english_whatever_the_locale() -> None:
    saved = locale.setlocale(locale.LC_TIME)
    for name in ("zh_CN.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8"):
        try:
            locale.setlocale(locale.LC_TIME, name)
            break
        except locale.Error:
            continue
    try:
        published = datetime(2024, 3, 5, 2, 0, 7, tzinfo=UTC)
        post = render_post(replace(ARTICLE, published=published))
        assert "\ndate: Tue, 05 Mar 2024 02:00:07 GMT\n" in post
    finally:
        locale.setlocale(locale.LC_TIME, saved)


def test_a_date_in_another_zone_is_written_in_gmt(monkeypatch: pytest.MonkeyPatch) -> None:
    shanghai = datetime(2024, 3, 5, 10, 0, 7, tzinfo=ZoneInfo("Asia/Shanghai"))
    new_york = datetime(2024, 3, 4, 21, 0, 7, tzinfo=ZoneInfo("America/New_York"))
    # Whatever zone the machine runs in.
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert rfc822_gmt(shanghai) == "Tue, 05 Mar 2024 02:00:07 GMT"
        assert rfc822_gmt(new_york) == "Tue, 05 Mar 2024 02:00:07 GMT"
        post = render_post(replace(ARTICLE, published=shanghai))
        assert "\ndate: Tue, 05 Mar 2024 02:00:07 GMT\n" in post
    finally:
        monkeypatch.undo()
        time.tzset()


def test_no_categories_is_an_empty_list() -> None:
    for categories in ((), ("", " \n ")):
        post = render_post(replace(ARTICLE, categories=categories))
        meta, _, _ = front_matter(post)
        assert meta["categories"] == []
        assert "\ncategories: []\n" in post


def test_an_empty_body_is_an_empty_div() -> None:
    for content in ("", "  \n ", "\x00"):
        assert render_post(replace(ARTICLE, content_html=content)).endswith("---\n\n<div></div>\n")


@pytest.mark.parametrize(
    "content",
    [
        "<pre>a{b}\n\n\n  c</pre>\n\n<p>```js</p>",
        "<p>{{ x }}{% raw %}</p>\n \t\n<p>`code`</p>",
        "<p>一</p>\n\n\n\n<p>二</p>",
    ],
)
def test_the_body_shows_a_browser_the_same_characters(content: str) -> None:
    """Escaping for Hexo changes how the body is written, never what a reader sees."""
    _, _, body = front_matter(render_post(replace(ARTICLE, content_html=content)))
    inner = body.strip("\n").removeprefix("<div>\n").removesuffix("\n</div>")
    assert html.unescape(inner) == content


def test_braces_never_reach_nunjucks_and_no_blank_line_in_body() -> None:
    html = "<pre>a{b}\n\n\n  c</pre>\n\n<p>```js</p>"
    _, _, body = front_matter(render_post(replace(ARTICLE, content_html=html)))
    assert "{" not in body and "}" not in body and "`" not in body
    lines = body.strip("\n").split("\n")
    assert all(line.strip() for line in lines), lines
    assert lines[0] == "<div>" and lines[-1] == "</div>"


NASTY_TITLES = [
    "它说: 是的",
    "#开头",
    "[方括号]",
    "{花括号}",
    "yes",
    "No",
    "null",
    "~",
    "2021-12-17",
    "2021-12-17 13:09:33",
    "12:30",
    "0x1F",
    "1e3",
    ".inf",
    "'单引号'",
    '"双引号"',
    "''",
    "- 破折号",
    "? 问号",
    "* 星号 & 和 ! 叹号 % 百分 @ at ` 反引号",
    "| 管道 > 大于",
    "a # 注释?",
    "😀 emoji 标题",
    "",
    "   ",
    "多行\n标题\r\n第三行",
    "制表\t符",
    "\u2028行分隔\u2029段分隔\x85NEL",
    "控制\x00\x01\x7f\x9f字符",
    "\ufeffBOM",
    "0.23%! 华夏合肥高新REIT刷新公众配售比例纪录",
]


def _expected(title: str) -> str:
    """Line breaks become spaces; what YAML cannot carry (C0 but tab, DEL, C1, surrogates,
    U+FFFE/U+FFFF) goes; nothing else changes."""
    title = re.sub("[\r\n\x85\u2028\u2029]+", " ", title)
    return re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", "", title).strip()


@pytest.mark.parametrize("title", NASTY_TITLES)
def test_any_title_round_trips(title: str) -> None:
    meta, _, _ = front_matter(render_post(replace(ARTICLE, title=title)))
    assert meta["title"] == _expected(title)


@pytest.mark.parametrize("name", ["yes", "a: b", "#c", "2021-12-17", "[x]", "1", "新浪财经 - 国內"])
def test_categories_and_author_stay_strings(name: str) -> None:
    meta, _, _ = front_matter(render_post(replace(ARTICLE, author=name, categories=(name, "金融"))))
    assert meta["author"] == name
    assert meta["categories"] == [name, "金融"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=15))
def test_property_title_and_author_round_trip(title: str, author: str) -> None:
    post = render_post(replace(ARTICLE, title=title, author=author or "作者"))
    meta, _, _ = front_matter(post)
    assert isinstance(meta["title"], str)
    assert meta["title"] == _expected(title)
    assert isinstance(meta["author"], str)


@pytest.mark.parametrize("slug", ["../escape", "a/b", "", ".hidden", "a\\b"])
def test_unsafe_slugs_refused(slug: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"unsafe post slug: {slug!r}")):
        post_name(slug)


@pytest.mark.parametrize(
    ("key", "date", "slug"),
    [
        ("sina:mizmscv5449371", "2022-08-09", "2022-08-09-fd116cc88f5a"),
        ("sina:mizmscv5449371", "2022-08-09T10:00", "2022-08-09t10-00-fd116cc88f5a"),
        ("k", "--Weird Date!!", "weird-date-13fbd79c3d39"),
    ],
)
def test_post_slug_is_stable_and_safe(key: str, date: str, slug: str) -> None:
    assert post_slug(key, date) == slug
