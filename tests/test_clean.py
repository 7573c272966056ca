"""Cleaning: golden outputs over the real corpus, junk rules, cover choice, fuzzing.

Regenerate the golden files after an intended change with
`UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_clean.py`, then read every diff.
"""

from __future__ import annotations

import html
import os
import re

import lxml.html
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator.clean import (
    _TEXT_SPACES,
    _collapse_line_breaks,
    _deeper_than,
    _parse_fragment,
    _strip_illegal_markup,
    clean_html,
    is_cover_url,
)
from tests.corpus_posts import GOLDEN, CorpusPost, all_posts

POSTS = all_posts()
IDS = [p.name for p in POSTS]
QR_CODE = "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
JUNK = (
    "海量资讯、精准解读",
    "责任编辑",
    "appendQr",
    "article_adlist",
    "<!--",
    "style",
    "cms-style",
    "<font",
    "天天财经",
    "视频加载中",
    "videoList",
    "股民福利",
    "查看知乎原文",
)
# The first real article image of each post that has one; every other post has none.
COVERS = {
    "0卡0糖饮料是否健康？专家建议每天保证15升以上饮水量": "https://n.sinaimg.cn/spider2021410/749/w579h170/20210410/3b34-knqqqmu3745732.jpg",
    "1-7月长江干线港口完成货物吞吐量超20亿吨": "https://n.sinaimg.cn/spider20220809/276/w1126h750/20220809/822a-d826a52af94c2ebac8e814727be0c392.jpg",
    "100万吨国家钾肥储备投放保春耕": "https://n.sinaimg.cn/finance/transform/162/w550h412/20220321/4889-f5ce02fff8883670f768fed846399f01.jpg",
    "AI 篮球裁判火了，走步算得特别准，就问哈登慌不慌": "https://n.sinaimg.cn/spider20220731/732/w478h254/20220731/3e3d-cd90e425739b5670b9ebf38ac7f702ee.gif",
    "CPU 的指令集存放在什么地方？": "https://pic2.zhimg.com/v2-9e30c39a96e952d0284f834c85a59cda_720w.jpg?source=8673f162",
}  # fmt: skip


def _flat(text: str) -> str:
    """Text compared without whitespace (the full-width indent included)."""
    return re.sub(r"\s+", "", text)


def source_paragraphs(post: CorpusPost) -> list[str]:
    """An independent oracle of the article text: every visible <p> of the source (or the
    whole text when the outlet writes no <p>), minus the editor credit."""
    body = re.sub(r"<!--.*?-->", "", post.body, flags=re.S)
    body = re.sub(r"<style.*?</style>", "", body, flags=re.S)
    paragraphs = [
        inner
        for attrs, inner in re.findall(r"<p(\s[^>]*)?>(.*?)</p>", body, flags=re.S)
        if "article-editor" not in attrs
    ]
    texts = [html.unescape(re.sub(r"<[^>]+>", "", p)) for p in paragraphs or [body]]
    return [_flat(t) for t in texts if _flat(t)]


@pytest.mark.parametrize("post", POSTS, ids=IDS)
def test_golden(post: CorpusPost) -> None:
    cleaned = clean_html(post.body, post.link)
    golden = GOLDEN / f"{post.name}.html"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(cleaned.html + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert cleaned.html + "\n" == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("post", POSTS, ids=IDS)
def test_no_junk_left(post: CorpusPost) -> None:
    cleaned = clean_html(post.body, post.link)
    for junk in JUNK:
        assert junk not in cleaned.html, junk
        assert junk not in cleaned.text, junk
    assert QR_CODE.split("//")[1] not in cleaned.html
    assert "picsum" not in cleaned.html
    assert not re.search(r"\s(id|class|style|on\w+)=", cleaned.html)
    assert not re.search(r"<p>[\s\u3000]*</p>|\n\s*\n", cleaned.html)


@pytest.mark.parametrize("post", POSTS, ids=IDS)
def test_article_text_all_there(post: CorpusPost) -> None:
    cleaned = clean_html(post.body, post.link)
    flat_text = _flat(cleaned.text)
    flat_html = _flat(html.unescape(re.sub(r"<[^>]+>", "", cleaned.html)))
    paragraphs = source_paragraphs(post)
    assert paragraphs
    for paragraph in paragraphs:
        assert paragraph in flat_text
        assert paragraph in flat_html


@pytest.mark.parametrize("post", POSTS, ids=IDS)
def test_cover_is_the_first_real_image(post: CorpusPost) -> None:
    cover = clean_html(post.body, post.link).cover
    assert cover == COVERS.get(post.name)
    if cover is not None:
        assert cover.startswith("https://")
        assert is_cover_url(cover)


def test_editor_credit_becomes_metadata() -> None:
    seed = next(p for p in POSTS if p.name.startswith("seed-"))
    assert clean_html(seed.body, seed.link).editor == "张亚楠"
    cleaned = clean_html('<p>正文</p><p class="article-editor">责任编辑：刘万里 SF014</p>', None)
    assert (cleaned.html, cleaned.editor) == ("<p>正文</p>", "刘万里 SF014")


def test_structure_kept() -> None:
    source = (
        '<p style="x">　　原标题：某标题 来源：央视</p><table class="t"><tr><td>1</td></tr></table>'
        "<ul><li><b>粗</b><i>斜</i></li></ul>"
        '<div class="img_wrapper"><img src="/a.jpg"><span class="img_descr">图说</span></div>'
        '<p><font cms-style="font-L strong-Bold">'
        '<font cms-style="strong-Bold">重点</font></font></p>'
    )
    out = clean_html(source, "http://finance.sina.com.cn/x/doc-iabcdefg.shtml").html
    assert "<p>　　原标题：某标题 来源：央视</p>" in out
    assert "<table><tbody><tr><td>1</td></tr></tbody></table>" in out
    assert "<li><b>粗</b><i>斜</i></li>" in out
    assert (
        '<figure><img src="https://finance.sina.com.cn/a.jpg" referrerpolicy="no-referrer">'
        "<figcaption>图说</figcaption></figure>"
    ) in out
    assert "<p><strong>重点</strong></p>" in out


def test_links_and_images_absolute() -> None:
    out = clean_html(
        '<p><a href="../b.html" target="_blank">b</a><img src="http://img.example/c.png">'
        '<img src="//img.example/d.png"><a href="javascript:alert(1)">x</a></p>',
        "http://site.example/news/a/1.html",
    ).html
    assert (
        '<a href="http://site.example/news/b.html" rel="noopener noreferrer nofollow">b</a>' in out
    )
    assert 'src="https://img.example/c.png"' in out
    assert 'src="https://img.example/d.png"' in out
    assert "javascript" not in out


@pytest.mark.parametrize(
    "img",
    [
        f'<img src="{QR_CODE}">',
        '<img src="https://t.example/p.gif" width="1" height="1">',
        '<img src="https://t.example/p.gif" width="2px">',
        '<img src="data:image/gif;base64,R0lGOD">',
        '<img src="javascript:alert(1)">',
        "<img>",
    ],
)
def test_junk_images_dropped(img: str) -> None:
    cleaned = clean_html(f"<p>文</p>{img}", "https://finance.sina.com.cn/")
    assert cleaned.html == "<p>文</p>"
    assert cleaned.cover is None


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://picsum.photos/400/300?random=1">',
        '<img class="avatar" src="https://pic1.zhimg.com/a.jpg">',
    ],
)
def test_never_a_cover(img: str) -> None:
    cleaned = clean_html(f'{img}<p>文</p><img src="https://img.example/real.jpg">', None)
    assert cleaned.cover == "https://img.example/real.jpg"


def test_lazy_image_source_used() -> None:
    cleaned = clean_html(
        '<img src="data:image/gif;base64,AA" data-src="/real.jpg">', "https://a.example/x"
    )
    assert cleaned.cover == "https://a.example/real.jpg"


def test_junk_between_markers_goes_whatever_it_holds() -> None:
    source = (
        "<p>正文</p><!-- 开户二维码 start --><div><b>任何广告</b></div>"
        "<!-- 开户二维码 end --><p>尾段</p>"
    )
    assert clean_html(source, None).html == "<p>正文</p><p>尾段</p>"


@pytest.mark.parametrize(
    "marker",
    ["文末二维码", "开户二维码", "总声明", "正文下iframe", "video-list", "编辑姓名及工作代码"],
)
def test_a_marker_repeated_four_times_brackets_one_block(marker: str) -> None:
    """Sina's QR block repeats its start/end comments: all between the first and the last
    goes, not only what lies inside each pair."""
    source = (
        f"<p>正文</p><!-- {marker} start --><div>甲</div><!-- {marker} end -->"
        f"<div>乙</div><!-- {marker} start --><div>丙</div><!-- {marker} end --><p>尾段</p>"
    )
    assert clean_html(source, None).html == "<p>正文</p><p>尾段</p>"


def test_one_marker_alone_removes_nothing() -> None:
    source = "<p>正文</p><!-- 文末二维码 start --><p>尾段</p>"
    assert clean_html(source, None).html == "<p>正文</p><p>尾段</p>"


@pytest.mark.parametrize(
    "hidden",
    [
        '<div style="display:none">隐藏<img src="https://a.example/x.jpg"></div>',
        '<span style="DISPLAY : None">隐藏</span>',
        '<div style="color:red; display: none !important"><p>隐藏</p></div>',
        "<div hidden>隐藏</div>",
    ],
)
def test_hidden_elements_go_with_their_content(hidden: str) -> None:
    cleaned = clean_html(f"<p>正文</p>{hidden}<p>尾段</p>", None)
    assert (cleaned.html, cleaned.text, cleaned.cover) == (
        "<p>正文</p><p>尾段</p>",
        "正文\n尾段",
        None,
    )


def test_visible_styles_keep_the_content() -> None:
    cleaned = clean_html('<p>正文</p><div style="display:block">可见</div>', None)
    assert cleaned.html == "<p>正文</p><div>可见</div>"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>&#55362;&#57271;野家</p>", "<p>𠮷野家</p>"),
        ("<p>&#xD842;&#xdfb7;野家 &#xD83D;&#xDE00;</p>", "<p>𠮷野家 😀</p>"),
        ("<p>&#55296;&#56320;|&#56319;&#57343;</p>", "<p>\U00010000|\U0010ffff</p>"),
        ("<p>&#55362;孤&#57271;</p>", "<p>孤</p>"),  # lone halves are no characters
    ],
)
def test_astral_characters_escaped_as_surrogate_pairs_are_kept(source: str, expected: str) -> None:
    assert clean_html(source, None).html == expected


def test_control_characters_removed() -> None:
    cleaned = clean_html("<p>a\x00b\x08c\x0bd\x1fe\ufffff&#1;g</p>", None)
    assert cleaned.html == "<p>abcdefg</p>"
    assert cleaned.text == "abcdefg"


@pytest.mark.parametrize("source", ["", "   ", "<!-- only a comment -->", "<style>p{}</style>"])
def test_empty_bodies(source: str) -> None:
    cleaned = clean_html(source, None)
    assert (cleaned.html, cleaned.text, cleaned.cover) == ("", "", None)


# --- fuzzing: arbitrary tag soup never yields active content -----------------------------

_TAGS = [
    "p",
    "div",
    "span",
    "a",
    "img",
    "script",
    "style",
    "iframe",
    "form",
    "svg",
    "font",
    "noscript",
    "object",
    "b",
    "table",
    "td",
    "math",
    "textarea",
    "template",
    "SCRIPT",
]
_ATTRS = st.sampled_from(
    [
        'onclick="alert(1)"',
        "onerror=alert(1)",
        'href="javascript:alert(1)"',
        'src="JaVaScRiPt:alert(1)"',
        'href=" javascript:alert(1)"',
        'style="background:url(javascript:x)"',
        'class="appendQr_wrap"',
        'src="//x.example/i.png"',
        'href="/rel"',
        'srcdoc="<script>alert(1)</script>"',
        'href="data:text/html,<script>alert(1)</script>"',
        "hidden",
        'width="1"',
    ]
)
_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@st.composite
def tag_soup(draw: st.DrawFn) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 5))
        tag = draw(st.sampled_from(_TAGS))
        if kind == 0:
            attrs = " ".join(draw(st.lists(_ATTRS, max_size=3)))
            parts.append(f"<{tag} {attrs}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(f"<!--{draw(_TEXT)}-->")
        elif kind == 3:
            parts.append("<script>alert(1)</script><style>p{}</style>")
        elif kind == 4:
            parts.append(
                draw(
                    st.sampled_from(
                        [
                            "&#1;",
                            "&#xD800;",
                            "&#128;",
                            "&#0;",
                            "&#x110000;",
                            "&#65535;",
                            "&amp;",
                            "&nbsp;",
                        ]
                    )
                )
            )
        else:
            parts.append(draw(_TEXT))
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(tag_soup(), st.sampled_from([None, "https://finance.sina.com.cn/a/b.shtml"]))
def test_fuzz_never_active_content(source: str, base: str | None) -> None:
    cleaned = clean_html(source, base)
    assert "<!--" not in cleaned.html
    if cleaned.html:
        # Markup-looking text is fine once escaped: inspect the parsed tree, not the string.
        tree = lxml.html.fragment_fromstring(cleaned.html, create_parent="div")
        for el in tree.iter():
            assert isinstance(el.tag, str), "comment or processing instruction"
            assert el.tag not in ("script", "style", "iframe", "form", "object", "embed", "svg")
            for name, value in el.attrib.items():
                assert not name.startswith("on"), name
                assert name not in ("style", "srcdoc", "class", "id"), name
                if name in ("href", "src"):
                    assert re.match(r"(https?|mailto):|[^:]*$", value.strip(), re.I), value
    # The output is well-formed enough for an XML feed: parseable, no illegal characters.
    etree.fromstring(f"<div>{_xmlish(cleaned.html)}</div>".encode())
    if cleaned.cover is not None:
        assert cleaned.cover.startswith("https://")


_DOCUMENT_PARTS = st.sampled_from(
    ["<body>", '<body class="x" id="y">', "</body>", "<html>", "</html>", "<head>",
     "<title>t</title>", "<!DOCTYPE html>", "<?pi x?>", "<plaintext>", "<frameset>", " ", "\n"]
)  # fmt: skip


def _lxml_fragment(source: str) -> str:
    """What `_parse_fragment` must give: lxml.html's fragments under a new <div>."""
    parser = etree.HTMLParser(huge_tree=True)
    try:
        nodes = lxml.html.fragments_fromstring(source, parser=parser)
    except (etree.ParserError, ValueError):
        return "None"
    except AssertionError:  # lxml.html: "too many bodies"
        return "AssertionError"
    root = parser.makeelement("div")
    if nodes and isinstance(nodes[0], str):
        root.text = nodes.pop(0)
    root.extend(nodes)
    return etree.tostring(root, method="html", encoding="unicode")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(tag_soup(), _DOCUMENT_PARTS), max_size=6).map("".join))
@example("a</body>b").via("text after the body: not kept")
@example("a</body><body class=x>b").via("two bodies: lxml.html refuses them")
@example("\n <p>a</p>").via("blank leading text: not kept")
def test_fragment_parsed_as_lxml_html_does(source: str) -> None:
    """The fragment is parsed in lxml.html's wrapper and its <body> kept as the root
    instead of moving its nodes: the same tree, whatever <body>/<html> tags it holds."""
    source = _strip_illegal_markup(source)  # as clean_html hands it over
    if not source.strip():
        return
    try:
        root = _parse_fragment(source)
    except AssertionError:
        assert _lxml_fragment(source) == "AssertionError"
        return
    got = "None" if root is None else etree.tostring(root, method="html", encoding="unicode")
    assert got == _lxml_fragment(source)


def _xmlish(fragment: str) -> str:
    """HTML void elements written the XML way, so lxml's XML parser can check the rest."""
    return re.sub(r"<(img|br|hr|col)\b([^>]*)>", r"<\1\2/>", fragment).replace("&nbsp;", "&#160;")


def test_deeply_nested_text_kept() -> None:
    # libxml2 drops everything below depth 255 unless told otherwise.
    cleaned = clean_html("<div>" * 600 + "<p>深处的正文</p>" + "</div>" * 600, None)
    assert cleaned.html == "<p>深处的正文</p>"


def test_inside_of_unwrapped_wrappers_still_cleaned() -> None:
    cleaned = clean_html(
        '<font><script>evil()</script><span class="appendQr_wrap">广告</span>'
        '<font><img src="http://i.example/a.jpg" class="x">文</font></font>',
        None,
    )
    assert cleaned.text == "文"
    assert cleaned.html == '<img src="https://i.example/a.jpg" referrerpolicy="no-referrer">文'


@pytest.mark.parametrize(
    ("source", "expected_html", "expected_text"),
    [
        # Empty blocks go, a layout <div> of blocks is unwrapped, one with text stays.
        (
            "<div> <p> </p> <div>\n<p>甲</p>\n\n<p><span> </span></p></div>乙</div>"
            "<section><p>丙</p></section>",
            "<div>\n<p>甲</p>\n乙</div><p>丙</p>",
            "甲\n乙\n丙",
        ),
        # Blank-line runs collapse, except inside <pre> and right after it (its tail).
        (
            "<pre>a\n\n\n b</pre>\n\n\n<p>c\n \n d</p>",
            "<pre>a\n\n\n b</pre>\n\n\n<p>c\nd</p>",
            "a\nb\nc\nd",
        ),
        ("<p>一</p>\n \n<p>二</p>  <br>  三", "<p>一</p>\n<p>二</p>  <br>  三", "一\n二\n三"),
    ],
)
def test_layout_tidied(source: str, expected_html: str, expected_text: str) -> None:
    cleaned = clean_html(source, None)
    assert (cleaned.html, cleaned.text) == (expected_html, expected_text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \n\t\r\x0b\x0c\x1c\u3000\xa0\x85\u2028ab", max_size=16))
def test_line_break_collapse_is_the_regex(text: str) -> None:
    assert _collapse_line_breaks(text) == re.sub(r"\s*\n\s*", "\n", text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \n\t\r\x0b\x0c\x1c\u3000\xa0\x85\u2028\u205fa长", max_size=16))
def test_text_spaces_are_the_plain_regex(text: str) -> None:
    # Written X X* for speed: the same runs as X+, each one space.
    assert _TEXT_SPACES.sub(" ", text) == re.sub(r"[^\S\n\u3000]+", " ", text)


def _depth(root: etree._Element) -> int:
    """Levels of elements below `root` (0: none), by walking the tree."""
    return max((1 + _depth(c) for c in root if isinstance(c.tag, str)), default=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(tag_soup(), max_size=6).map("".join), st.integers(0, 6))
def test_the_depth_check_agrees_with_the_walk(source: str, limit: int) -> None:
    root = _parse_fragment(source)
    if root is not None:
        assert _deeper_than(limit)(root) == (_depth(root) > limit)


@pytest.mark.parametrize("levels", [63, 64, 65])
def test_flattening_starts_one_level_past_the_limit(levels: int) -> None:
    body = "<blockquote>" * levels + "文字" + "</blockquote>" * levels
    cleaned = clean_html(body, None)
    flattened = any("nesting deeper" in limit for limit in cleaned.limits)
    assert flattened == (levels > 64)
    assert cleaned.text == "文字"


def test_deep_nesting_is_flattened_and_recorded() -> None:
    # (layout <div>s are unwrapped anyway: quotes in quotes are what nests for real)
    body = "<blockquote>" * 1000 + "<p>深处的文字</p>" + "</blockquote>" * 1000 + "<p>后文</p>"
    cleaned = clean_html(body, "https://a.example/")
    assert "深处的文字" in cleaned.text and "后文" in cleaned.text
    depth = max(
        len(list(el.iterancestors()))
        for el in lxml.html.fromstring(f"<div>{cleaned.html}</div>").iter()
    )
    assert depth <= 66
    assert cleaned.limits == ("nesting deeper than 64 levels: flattened",)


def test_a_huge_body_is_cut_and_recorded() -> None:
    body = "<p>" + "x" * 3_000_000 + "</p><p>end</p>"
    cleaned = clean_html(body, "https://a.example/")
    assert len(cleaned.html) <= 500_100 and len(cleaned.text) <= 500_000
    assert cleaned.limits == (
        "body markup over 2000000 characters: cut",
        "cleaned body over 500000 characters: cut",
    )
    assert clean_html("<p>normal</p>", None).limits == ()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Raw-text elements: their content is shown once, as written, in a <pre>.
        (
            "<p>a</p><xmp><b>x</b> &amp; y</xmp><p>b</p>",
            "<p>a</p><pre>&lt;b&gt;x&lt;/b&gt; &amp;amp; y</pre><p>b</p>",
        ),
        # <plaintext> runs to the end of the document, and no further.
        ("<p>a</p><plaintext><i>z</i> &lt;", "<p>a</p><pre>&lt;i&gt;z&lt;/i&gt; &amp;lt;</pre>"),
        ("<p>a</p><listing>q</listing>", "<p>a</p><pre>q</pre>"),
    ],
)
def test_raw_text_elements_are_escaped_once(html: str, expected: str) -> None:
    assert clean_html(html, "https://finance.sina.com.cn/").html == expected
