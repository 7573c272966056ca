"""Near-duplicate stories: folding, fingerprint, the story rule, the SQLite index."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC  # type: ignore[import-untyped]

from aggregator import dedup
from aggregator.dedup import (
    Candidate,
    NearDupIndex,
    fingerprint,
    same_story,
    strip_boilerplate,
    title_key,
)
from aggregator.migrations import migrate

DATA = Path(__file__).parent / "data" / "dedup"
# Characters the fast paths special-case: full-width and compatibility forms, traditional
# characters, combining marks, astral characters, a lone surrogate.
ALPHABET_WIDE = st.sampled_from(
    list("長江貨物长江货物ＡＢ１２％，　…①㎡ﬁ\u0301\u0308eé가각\U00020000𠀀𠮷\ud800a1 ")
)
T0 = datetime(2022, 8, 9, 14, 0, tzinfo=UTC)
BODY = (
    "记者从交通运输部长江航务管理局获悉，随着长江航运高质量发展深入推进，长江航运服务长江经济带、"
    "长三角一体化等国家战略能力明显提升。今年1-7月，长江干线港口完成货物吞吐量20.2亿吨、"
    "集装箱吞吐量1367万标箱，同比增长1.0%、6.0%。"
)


def corpus(name: str) -> Candidate:
    raw = (DATA / "corpus" / f"{name}.md").read_text(encoding="utf-8")
    front, body = raw.split("---\n", 2)[1:]
    title = re.search(r"^title: '(.*)'$", front, re.M)
    date = re.search(r"^date: (.*)$", front, re.M)
    assert title and date
    return Candidate(title.group(1), body, parsedate_to_datetime(date.group(1)))


def covid(place: str) -> Candidate:
    return Candidate(
        f"{place}昨日本土无新增",
        f"<p>{place}市卫健委通报，8月8日0—24时，{place}无新增本土确诊病例，无新增本土无症状感染者，"
        f"无新增境外输入确诊病例。截至8月8日24时，{place}累计报告本土确诊病例已全部治愈出院，"
        "相关部门提醒市民继续做好个人防护，坚持戴口罩、勤洗手、常通风。</p>",
        T0,
    )


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "dedup.db")
    yield connection
    connection.close()


@pytest.fixture
def index(conn: sqlite3.Connection) -> NearDupIndex:
    idx = NearDupIndex(conn)
    migrate(conn)
    return idx


# --- title_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "1-7月长江干线港口完成货物吞吐量超20亿吨",
        "１－７月长江干线港口完成货物吞吐量超２０亿吨",  # full width
        " 1-7月 长江干线港口完成货物吞吐量 超20亿吨！ ",  # spaces, punctuation
        "【1-7月长江干线港口完成货物吞吐量超20亿吨】",
        "“1-7月长江干线港口”完成《货物吞吐量》超20亿吨……",
        "1-7月長江幹線港口完成貨物吞吐量超20億噸",  # traditional
    ],
)
def test_title_key_folds_presentation(variant: str) -> None:
    assert title_key(variant) == "1-7月长江干线港口完成货物吞吐量超20亿吨"


def test_title_key_keeps_what_distinguishes() -> None:
    assert title_key("10年国债ETF涨停") == "10年国债etf涨停"
    assert title_key("上海昨日本土无新增") != title_key("北京昨日本土无新增")
    assert title_key("") == ""
    # Punctuation inside a number is part of it.
    assert title_key("每天保证1.5升以上饮水量") != title_key("每天保证15升以上饮水量")
    assert title_key("标题1-11") != title_key("标题11-1")
    assert title_key("收入1,000亿") == title_key("收入1000亿")


# --- fingerprint and boilerplate ------------------------------------------------------------


@pytest.mark.parametrize(
    "wrapped",
    [
        f"财联社8月9日电，{BODY}",
        f"证券时报网讯，{BODY}",
        f"证券时报e公司讯，{BODY}",
        f"中新网6月12日电 {BODY}",
        f"中证网讯（记者 张舒琳）{BODY}",
        f"【1-7月长江干线港口完成货物吞吐量超20亿吨】财联社8月9日电，{BODY} (央视)  ",
        f"<p>原标题：长江干线港口</p><p>{BODY}（中新经纬APP）</p><p>责任编辑：李墨轩</p>",
        f"<div><p>　　{BODY}</p>\n<p>来源：中国新闻网</p></div>",
    ],
)
def test_fingerprint_ignores_wire_boilerplate(wrapped: str) -> None:
    assert strip_boilerplate(wrapped).replace("\n", "") == strip_boilerplate(BODY)
    assert fingerprint(wrapped) == fingerprint(BODY)


def test_boilerplate_removal_spares_real_openings() -> None:
    # (NFKC folds the full-width comma; nothing else may change.)
    text = "国家电网公司8月9日宣布,迎峰度夏期间电力供应总体平稳。"
    assert strip_boilerplate(text) == text
    assert strip_boilerplate("新华社发布消息,稳增长政策加力。") == "新华社发布消息,稳增长政策加力。"


def test_fingerprint_is_signed_int64_and_separates_stories() -> None:
    values = [fingerprint(corpus(n).text) for n in ("trio-sina", "doc01", "doc05", "seed")]
    assert all(-(2**63) <= v < 2**63 for v in values)
    assert len(set(values)) == len(values)
    assert fingerprint("") == 0


# Pinned: stored signatures must not change by accident (the index compares new articles
# with rows written by earlier versions). Values computed by the original scalar code.
SEED_SKETCH = (
    5721017, 8790942, 10168328, 17648891, 19664763, 20451984, 21785721, 24368199, 32385908,
    45073302, 58108153, 58534050, 67150022, 73020988, 76049296, 82507392, 85813007, 103819019,
    106343818, 110413135, 113718738, 114619655, 116801408, 117105962, 121112640, 126218276,
    132843650, 134163192, 142589496, 142892265, 147128722, 149099735, 155380730, 157710833,
    169711836, 177788582, 181856542, 182701739, 191430351, 192255576, 195018078, 195431447,
    208295343, 212714160, 213252218, 223490446, 231261332, 239138270,
)  # fmt: skip
SEED_BANDS = (
    -7130093766333859547, 9199402842525406596, 2632528495903511125, -9064465079380030586,
    -254523209129792338, 6313146059666699199, 7987726517197940211, -6929405473636672315,
)  # fmt: skip


@pytest.mark.parametrize("arrays", [True, False], ids=["numpy", "lanes"])
def test_signature_of_a_corpus_text_is_pinned(
    arrays: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dedup, "_use_arrays", lambda: arrays)
    seed = corpus("seed")
    sig = dedup.signature(seed.title, seed.text)
    assert sig.key == "工信部印发促进中小企业发展规划推动中小企业高质量发展"
    assert (sig.fp, sig.shingles) == (0x3D820CEA83BE0D84, 882)
    assert fingerprint(seed.text) == 4432119184658140548
    assert sig.sketch == SEED_SKETCH
    assert sig.bands == SEED_BANDS
    # Its first line may echo a headline, so the body is kept whole and without that line.
    assert (sig.body, sig.lead, sig.rest) == (
        4827349464986309913,
        -5472464086820165026,
        -2889387509131795076,
    )


def test_traditional_to_simplified_is_one_pass() -> None:
    # OpenCC maps 薴 → 苧 and 苧 → 苎: the table (built afresh, not the cached one) resolves
    # the chain, so folding once is folding for good.
    table = dedup._t2s_table.__wrapped__()
    assert table[ord("薴")] == table[ord("苧")] == "苎"
    assert all(
        table.get(ord(simplified), simplified) == simplified for simplified in table.values()
    )
    assert dedup.fold("薴麻") == dedup.fold("苧麻") == "苎麻"


def test_a_range_tilde_is_a_dash_in_the_title_key() -> None:
    assert title_key("1～7月出口增长") == title_key("1-7月出口增长") == "1-7月出口增长"
    assert title_key("涨1.5%") == "涨1.5"
    assert title_key("1~7月") != title_key("17月")


def test_a_figure_only_one_title_names_is_no_conflict() -> None:
    # A retitle may add the figure; two titles naming different figures are two stories.
    assert not dedup.titles_conflict("央行宣布降准", "央行宣布降准0.5个百分点")
    assert dedup.titles_conflict("央行降准0.5个百分点", "央行降准0.25个百分点")


def test_hamming_and_jaccard_known_answers() -> None:
    assert dedup.hamming(0b1100, 0b1010) == 2
    assert dedup.hamming(-1, 0) == 64  # signed int64 as stored: all 64 bits differ
    assert dedup.jaccard_estimate([1, 2, 3], [2, 3, 4]) == 0.5
    assert dedup.jaccard_estimate([1, 2], [1, 2]) == 1.0
    assert dedup.jaccard_estimate([], []) == 0.0


def _sig(fp: int, shingles: int, sketch: tuple[int, ...]) -> dedup.Signature:
    return dedup.Signature(title="", key="", fp=fp, shingles=shingles, sketch=sketch)


def test_near_identical_bodies_at_the_thresholds() -> None:
    n = dedup.MIN_SHINGLES
    far = tuple(range(1000, 1000 + n))
    # SimHash exactly MAX_HAMMING bits apart is near; one more bit is not (sketches apart).
    within = (1 << dedup.MAX_HAMMING) - 1
    assert dedup.bodies_near_identical(_sig(0, n, tuple(range(n))), _sig(within, n, far))
    beyond = (1 << (dedup.MAX_HAMMING + 1)) - 1
    assert not dedup.bodies_near_identical(_sig(0, n, tuple(range(n))), _sig(beyond, n, far))
    # Too few shingles to vouch for anything, even when identical.
    assert not dedup.bodies_near_identical(_sig(0, n - 1, far), _sig(0, n - 1, far))
    # Jaccard exactly MIN_JACCARD (0.6: 6 of 10 shared, sketch of the union) is near.
    a, b = tuple(range(8)), (0, 1, 2, 3, 4, 5, 8, 9)
    assert dedup.jaccard_estimate(a, b) == dedup.MIN_JACCARD
    assert dedup.bodies_near_identical(_sig(0, n, a), _sig(beyond, n, b))


def _scalar_shingle_hashes(chars: str) -> set[int]:
    """The definition, one gram at a time: `_mix` of (a << 42) | (b << 21) | c."""
    codes = [ord(c) for c in chars]
    if len(codes) < dedup.SHINGLE_LEN:
        return {dedup._mix(sum(c << (21 * i) for i, c in enumerate(codes)))} if codes else set()
    return {
        dedup._mix((a << 42) | (b << 21) | c)
        for a, b, c in zip(codes, codes[1:], codes[2:], strict=False)
    }


def _scalar_gram_hashes(chars: str) -> list[int]:
    """Every gram's hash in text order, repeats included (the body identity's lead count)."""
    codes = [ord(c) for c in chars]
    if len(codes) < dedup.SHINGLE_LEN:
        return list(_scalar_shingle_hashes(chars))
    grams = zip(codes, codes[1:], codes[2:], strict=False)
    return [dedup._mix((a << 42) | (b << 21) | c) for a, b, c in grams]


def _scalar_simhash(hashes: list[int]) -> int:
    return sum(1 << i for i in range(64) if 2 * sum(h >> i & 1 for h in hashes) > len(hashes))


def _scalar_minima(ordered: list[int]) -> list[int]:
    """One-permutation MinHash by its definition: per bin the smallest hash, an empty bin
    borrowing the cyclically next bin's plus the steps, each `_mix`ed."""
    firsts = {h >> dedup._BIN_SHIFT: h for h in reversed(ordered)}  # smallest per bin
    minima = []
    if firsts:
        for b in range(dedup._BINS):
            step = next(s for s in range(dedup._BINS) if (b + s) % dedup._BINS in firsts)
            minima.append(dedup._mix(firsts[(b + step) % dedup._BINS] + step))
    return minima


@settings(deadline=None)
@given(st.text(ALPHABET_WIDE, max_size=120) | st.text(max_size=120))
def test_both_hashings_match_the_scalar_definition(chars: str) -> None:
    ordered = sorted(_scalar_shingle_hashes(chars))
    for hashed in (dedup._shingled_arrays(chars), dedup._shingled_lanes(chars)):
        assert list(hashed.grams) == _scalar_gram_hashes(chars)
        assert hashed.shingles == len(ordered)
        assert hashed.fp == _scalar_simhash(ordered)
        prefixes = sorted({h >> 32 for h in ordered})[: dedup.SKETCH_SIZE]
        assert hashed.sketch == tuple(prefixes)
        minimal = len(ordered) >= dedup.MIN_SHINGLES
        assert hashed.minima == (_scalar_minima(ordered) if minimal else [])


@pytest.mark.parametrize("size", [0xFFFF, 0xFFFF + 1])
def test_simhash_counts_many_hashes_without_wrapping(size: int) -> None:
    # Up to 0xFFFF hashes the bits are counted in uint16, beyond in uint32: at the edge of
    # each a bit every hash has, one most have, and one most lack.
    rng = np.random.default_rng(size)
    values = rng.integers(0, 2**62, size=size, dtype=np.uint64) | np.uint64(2**63)
    values[: size // 2 + 1] |= np.uint64(2**62)  # bit 62: one more than half have it
    ordered = np.unique(values)
    assert ordered.size == size
    fp = dedup._simhash(ordered)
    assert fp == dedup._lane_simhash(ordered.tolist())
    assert fp >> 62 == 0b11


@settings(deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40, unique=True))
def test_minhash_bins_match_the_scalar_definition(values: list[int]) -> None:
    ordered = sorted(values)
    minima = dedup._bin_minima(np.array(ordered, dtype=np.uint64)).tolist()
    assert minima == _scalar_minima(ordered)
    assert dedup._lane_bin_minima(ordered) == minima
    _assert_band_keys(minima)


def _assert_band_keys(minima: list[int]) -> None:
    keys = []
    for band in range(dedup.BANDS):
        acc = band
        for value in minima[band * dedup.ROWS : (band + 1) * dedup.ROWS]:
            acc = dedup._mix(acc ^ value)
        keys.append(acc - 2**64 if acc >= 2**63 else acc)
    assert dedup._band_keys(minima) == tuple(keys)


def test_a_borrowed_bin_minimum_past_two_to_the_64_is_mixed_as_the_exact_sum() -> None:
    # An empty bin borrows the next bin's minimum plus its steps: from the top of the last
    # bin that sum passes 2**64, which `_mix` takes whole (its shifts see the 65th bit), so
    # the densified value must not wrap like the array arithmetic around it.
    top = 2**64 - 1
    minima = dedup._bin_minima(np.array([5, top], dtype=np.uint64)).tolist()
    assert dedup._lane_bin_minima([5, top]) == minima
    assert minima[31] == dedup._mix(top)  # the last bin holds it
    assert minima[30] == dedup._mix(top + 1) != dedup._mix(0)  # borrowed: 2**64, unwrapped
    assert minima[1] == dedup._mix(top + 30)
    assert minima[0] == dedup._mix(5)  # bin 0 holds 5
    assert minima[1] == 3590904339235474638  # known answers: the scalar code of 337d91c
    assert dedup._band_keys(minima) == (
        -4074127415148989504, 1750719299986710815, -6318220323860222498, 8214115678481433173,
        -2178972695475445005, 3487942092329772826, 6888282251035607019, 3183987663447957426,
    )  # fmt: skip
    _assert_band_keys(minima)


@settings(deadline=None)
@given(
    st.text(ALPHABET_WIDE | st.sampled_from(list(dedup._COMMON_COMPAT)), max_size=80)
    | st.text(max_size=80)
)
def test_fast_folding_matches_unicodedata(text: str) -> None:
    assert dedup._nfkc(text) == unicodedata.normalize("NFKC", text)
    assert dedup._to_simplified(text) == text.translate(dedup._t2s_table())


@settings(deadline=None)
@given(st.text(ALPHABET_WIDE | st.sampled_from(list("_-，。 \n!")), max_size=40) | st.text())
def test_word_characters_are_kept_as_the_run_regex_keeps_them(text: str) -> None:
    # _NOT_WORD deletes one character a match, for speed: the same as deleting runs.
    assert dedup._NOT_WORD.sub("", text) == re.sub(r"[\W_]+", "", text)


@given(st.text(st.sampled_from(list("尽在新浪财经APP视频加载中 x\n")), max_size=24) | st.text())
def test_junk_lines_are_what_the_regex_matched(line: str) -> None:
    assert dedup._junk_line(line) == bool(re.search(r"尽在新浪财经APP|^视频加载中", line))
    assert dedup._junk_line("视频加载中，请稍候") and dedup._junk_line("…尽在新浪财经APP")
    assert not dedup._junk_line("请稍候，视频加载中")


# --- same_story -----------------------------------------------------------------------------


def test_corpus_trio_from_three_outlets_is_one_story() -> None:
    sina, stcn, cls = corpus("trio-sina"), corpus("trio-stcn"), corpus("trio-cls")
    for a, b in [(sina, stcn), (sina, cls), (stcn, cls)]:
        assert same_story(a, b)
        assert same_story(b, a)


def test_retitled_copy_with_same_body_is_one_story() -> None:
    a = Candidate("1-7月长江干线港口完成货物吞吐量超20亿吨", f"<p>{BODY}</p>", T0)
    b = Candidate("独家：长江干线港口货物吞吐量超20亿吨", f"证券时报网讯，{BODY}", T0)
    assert same_story(a, b)


def test_template_bodies_with_swapped_place_are_different_stories() -> None:
    assert not same_story(covid("上海"), covid("北京"))
    assert same_story(covid("上海"), covid("上海"))


@pytest.mark.parametrize(
    ("title_a", "title_b"),
    [
        ("1-7月长江干线港口完成货物吞吐量超20亿吨", "1-6月长江干线港口完成货物吞吐量超20亿吨"),
        ("1-7月全国财政收入同比增20%", "1-7月全国财政收入同比增2.0%"),
        ("贵州茅台股价午后涨停", "贵州茅台股价午后跌停"),
        ("1-7月内蒙古自治区工业增加值增长", "1-7月广西壮族自治区工业增加值增长"),
    ],
)
def test_conflicting_titles_separate_near_identical_bodies(title_a: str, title_b: str) -> None:
    # Bodies a sentence apart: near-identical, not the same body, so the titles decide.
    edited = BODY + "业内人士认为，航运市场仍将保持平稳。"
    assert dedup.bodies_near_identical(
        dedup.signature(title_a, BODY), dedup.signature(title_b, edited)
    )
    assert not same_story(Candidate(title_a, BODY, T0), Candidate(title_b, edited, T0))
    assert not same_story(Candidate(title_a, edited, T0), Candidate(title_b, BODY, T0))


@pytest.mark.parametrize(
    ("title_a", "title_b"),
    [
        ("呼和浩特发布会", "乌鲁木齐发布会"),  # a swap of four characters, the longest "short" one
        ("发布会呼和浩特", "发布会乌鲁木齐"),
        ("上海发布会", "北京发布会"),
        ("上海昨日本土无新增", "北京昨日本土无新增"),
    ],
)
def test_a_swapped_place_of_up_to_four_characters_is_another_story(
    title_a: str, title_b: str
) -> None:
    assert dedup.titles_conflict(title_a, title_b)
    assert dedup.titles_conflict(title_b, title_a)


@pytest.mark.parametrize(
    ("title_a", "title_b"),
    [
        # One release, each headline quoting another of its figures (issue 13).
        ("1-7月长江干线港口完成货物吞吐量超20亿吨", "1-7月长江干线集装箱吞吐量1367万标箱"),
        ("长江干线港口集装箱吞吐量同比增长6.0%", "长江干线港口货物吞吐量同比增长1.0%"),
        # A headline extended with a quote from the body.
        (
            "长江航运服务国家战略能力明显提升",
            "长江航运服务国家战略能力明显提升：“货物吞吐量20.2亿吨”",
        ),
    ],
)
def test_one_body_under_conflicting_headlines_is_one_story(title_a: str, title_b: str) -> None:
    assert dedup.titles_conflict(title_a, title_b) or dedup.title_key(title_a) != dedup.title_key(
        title_b
    )
    a = Candidate(title_a, f"<p>{BODY}</p><p>责任编辑：张三</p>", T0)
    for wrapped in (
        f"财联社8月9日电，{BODY}（央视）",
        f"<p>原标题：{title_a}</p><p>{BODY}</p>",
        f"<p>{title_a}</p><p>中新网8月9日电 {BODY}</p>",  # the earlier headline echoed
        f"【{title_b}】{BODY}",  # its own headline echoed
    ):
        b = Candidate(title_b, wrapped, T0 + timedelta(minutes=5))
        assert same_story(a, b), wrapped
        assert same_story(b, a), wrapped


def test_same_body_names_the_same_words() -> None:
    title = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    sig = dedup.signature(title, BODY)
    # Paragraph breaks, markup, width, script and punctuation are presentation.
    rewrapped = "<div><p>" + BODY.replace("。", "。</p>\n<p>　　") + "</p></div>"
    assert dedup.same_body(sig, dedup.signature("另一个标题", rewrapped))
    assert dedup.same_body(sig, dedup.signature("另一个标题", OpenCC("s2t").convert(BODY)))
    assert dedup.same_body(sig, dedup.signature("另一个标题", BODY.replace("，", " ")))
    # One figure, one place, one character more: another body.
    for other in (
        BODY.replace("20.2亿吨", "20.3亿吨"),
        BODY.replace("长江航务", "珠江航务"),
        BODY + "。",
        BODY.replace("明显提升", "明显提高"),
    ):
        if dedup.title_key(other) == dedup.title_key(BODY):
            continue  # punctuation only: the same words
        assert not dedup.same_body(sig, dedup.signature("另一个标题", other)), other
    # Too little text to vouch for a story.
    short = "详见公司公告，以上内容仅供参考。"
    assert not dedup.same_body(dedup.signature("甲", short), dedup.signature("乙", short))


def test_an_echo_with_other_facts_is_not_the_same_body() -> None:
    # Flashes carry their facts in the 【】 echo: another echo over the same words is
    # another flash, unless the echo is one of the two headlines.
    a = dedup.signature("标题", f"【上海昨日新增1例】{BODY}")
    b = dedup.signature("标题二", f"【北京昨日新增2例】{BODY}")
    assert not dedup.same_body(a, b)
    assert dedup.same_body(
        dedup.signature("上海昨日新增1例", f"【上海昨日新增1例】{BODY}"),
        dedup.signature("北京昨日新增2例", f"【北京昨日新增2例】{BODY}"),
    )


@pytest.mark.parametrize(
    ("title_a", "title_b", "body_b"),
    [
        # Another place in the same words, under a headline that cannot be aligned.
        ("上海昨日本土无新增", "最新通报：北京疫情防控情况", covid("北京").text),
        ("上海昨日本土无新增", "最新通报：上饶疫情防控情况", covid("上饶").text),  # one character
        # Another day's figure, the headline without figures.
        (
            "上海昨日本土无新增",
            "最新通报：上海疫情防控情况",
            covid("上海").text.replace("8月8日", "8月9日"),
        ),
    ],
)
def test_bodies_differing_in_a_template_slot_are_different_stories(
    title_a: str, title_b: str, body_b: str
) -> None:
    a, b = covid("上海"), Candidate(title_b, body_b, T0)
    assert dedup.same_signature(
        dedup.signature(title_a, a.text), dedup.signature(title_b, b.text)
    )  # the signatures alone would merge them
    assert dedup.bodies_conflict(a, b) and dedup.bodies_conflict(b, a)
    assert not same_story(a, b)


def test_edits_are_not_template_slots() -> None:
    a = Candidate("1-7月长江干线港口完成货物吞吐量超20亿吨", BODY, T0)
    for edited in (
        BODY.replace("记者从", "据央视新闻8月9日从"),  # attribution rewritten, a date added
        BODY.replace("明显提升", "显著提高"),  # wording
        BODY[:-20],  # cut short
        "今日消息，" + BODY + "业内人士认为，航运市场仍将保持平稳。",
    ):
        b = Candidate("长江航运：今年货物吞吐量超20亿吨", edited, T0)
        assert not dedup.bodies_conflict(a, b), edited
    assert dedup.bodies_conflict(a, Candidate(a.title, BODY.replace("20.2亿吨", "21.4亿吨"), T0))


def test_editions_of_a_daily_column_stay_apart_even_word_for_word() -> None:
    notice = (
        "本栏目每个交易日开盘前发布，汇总当日重要公告、新股申购、限售股解禁安排和停复牌信息，"
        "供投资者参考，不构成投资建议。"
    )
    a = Candidate("8月9日投资提示", notice, T0)
    assert not same_story(a, Candidate("8月10日投资提示", notice, T0 + timedelta(days=1)))
    assert not same_story(a, Candidate("周二投资提示", notice, T0))  # 周二 is not 9日
    assert same_story(a, Candidate("【8月9日】投资提示", notice, T0))
    assert dedup.days_conflict("8月9日早盘", "8月10日早盘")
    assert dedup.days_conflict("周一早盘", "星期二早盘")
    assert not dedup.days_conflict("8月9日早盘", "9日早盘：沪指高开")
    assert not dedup.days_conflict("8月9日早盘", "早盘：沪指高开")


def test_different_corpus_stories_stay_distinct() -> None:
    names = ["trio-sina", "doc01", "doc02", "doc05", "doc08", "seed"]
    docs = [corpus(n) for n in names]
    for i, a in enumerate(docs):
        for b in docs[i + 1 :]:
            assert not same_story(a, Candidate(b.title, b.text, a.published))


def test_window_is_respected() -> None:
    a = Candidate("1-7月长江干线港口完成货物吞吐量超20亿吨", BODY, T0)
    later = Candidate(a.title, BODY, T0 + timedelta(days=4))
    assert not same_story(a, later)
    assert same_story(a, later, window=timedelta(days=5))
    assert same_story(a, later, window=timedelta(days=4))  # the window's edge is inside


# --- NearDupIndex ---------------------------------------------------------------------------


def test_index_merges_the_corpus_trio(index: NearDupIndex) -> None:
    sina, stcn, cls = corpus("trio-sina"), corpus("trio-stcn"), corpus("trio-cls")
    assert index.find(cls, dedup.DEFAULT_WINDOW) is None
    index.add("cls", cls)
    assert index.find(sina, dedup.DEFAULT_WINDOW) == "cls"
    index.add("sina", sina, "cls")
    assert index.find(stcn, dedup.DEFAULT_WINDOW) == "cls"


def test_index_finds_body_copies_under_another_title(index: NearDupIndex) -> None:
    index.add("x", Candidate("1-7月长江干线港口完成货物吞吐量超20亿吨", f"<p>{BODY}</p>", T0))
    retitled = Candidate("长江航运服务国家战略能力明显提升", f"财联社8月9日电，{BODY}（央视）", T0)
    assert index.find(retitled, dedup.DEFAULT_WINDOW) == "x"
    assert index.find(covid("上海"), dedup.DEFAULT_WINDOW) is None


def test_index_keeps_distinct_stories_distinct(index: NearDupIndex) -> None:
    index.add("sh", covid("上海"))
    assert index.find(covid("北京"), dedup.DEFAULT_WINDOW) is None
    assert index.find(covid("上海"), dedup.DEFAULT_WINDOW) == "sh"


def test_index_respects_the_window(index: NearDupIndex) -> None:
    index.add("x", Candidate("标题", BODY, T0))
    for days, expected in [(2.9, "x"), (-2.9, "x"), (3.5, None), (-3.5, None)]:
        cand = Candidate("标题", BODY, T0 + timedelta(days=days))
        assert index.find(cand, timedelta(days=3)) == expected
    assert index.find(Candidate("标题", BODY, T0 + timedelta(days=3.5)), timedelta(days=4)) == "x"


def test_index_answers_the_earliest_stored_deterministically(index: NearDupIndex) -> None:
    # Stored order, not publication order, decides which copy is the kept one.
    index.add("second-published", Candidate("标题", BODY, T0 + timedelta(hours=5)))
    index.add("first-published", Candidate("【标题】", BODY, T0))
    answers = {index.find(Candidate("标题！", BODY, T0 + timedelta(hours=1))) for _ in range(5)}
    assert answers == {"second-published"}


def test_index_remove_promotes_the_earliest_copy(index: NearDupIndex) -> None:
    cand = Candidate("标题", BODY, T0)
    index.add("kept", cand)
    index.add("copy1", cand, "kept")
    index.add("copy2", cand, "kept")
    index.remove("kept")
    assert index.find(cand) == "copy1"
    index.remove("copy1")
    index.remove("copy2")
    index.remove("never-added")
    assert index.find(cand) is None


def test_a_copy_found_through_another_copy_resolves_to_the_kept_article(
    index: NearDupIndex,
) -> None:
    # The kept article is out of the window of the third copy; the second copy is not.
    index.add("kept", Candidate("标题", BODY, T0))
    index.add("copy", Candidate("标题", BODY, T0 + timedelta(days=2)), "kept")
    late = Candidate("标题", BODY, T0 + timedelta(days=4))
    assert index.find(late, timedelta(days=3)) == "kept"


def test_index_knows_the_headlines_a_story_was_merged_under(index: NearDupIndex) -> None:
    first, second, third = (
        "甲标题：港口吞吐量超20亿吨",
        "乙标题：集装箱1367万标箱",
        "丙标题：同比增长6.0%",
    )
    index.add("x", Candidate(first, BODY, T0))
    copy2 = Candidate(second, f"<p>原标题：{first}</p><p>{BODY}</p>", T0)
    assert index.find(copy2) == "x"
    # The third copy echoes the second's headline, which only the kept story's aliases know.
    copy3 = Candidate(third, f"<p>{second}</p><p>{BODY}</p>", T0)
    assert index.find(copy3) is None
    index.add_alias("x", second)
    index.add_alias("x", second)  # once is enough
    assert index.find(copy3) == "x"
    # A refresh (a revision of the kept story) keeps them.
    index.add("x", Candidate(first, BODY, T0))
    assert index.find(copy3) == "x"
    index.add_alias("never-added", second)


def test_alternative_titles_are_other_headlines_only() -> None:
    kept = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    assert (
        dedup.alternative_titles(kept, (), "【财联社】1-7月长江干线港口完成货物吞吐量超20亿吨！")
        == ()
    )
    got = dedup.alternative_titles(kept, ("乙",), "独家：乙", "丙", "丙。", "", kept)
    assert got == ("乙", "丙")


def test_readding_an_id_replaces_its_signature(index: NearDupIndex) -> None:
    index.add("x", Candidate("标题", BODY, T0))
    index.add("x", covid("上海"))
    assert index.find(Candidate("标题", BODY, T0)) is None
    assert index.find(covid("上海")) == "x"


def test_caller_owns_the_transaction(index: NearDupIndex, conn: sqlite3.Connection) -> None:
    conn.commit()  # the schema
    index.add("x", Candidate("标题", BODY, T0))
    assert conn.in_transaction
    conn.rollback()
    assert index.find(Candidate("标题", BODY, T0)) is None


def test_lookups_use_indexes_not_scans(index: NearDupIndex, conn: sqlite3.Connection) -> None:
    plan = conn.execute(
        "EXPLAIN QUERY PLAN " + dedup._find_sql(dedup.BANDS),
        dedup._find_params("k", range(dedup.BANDS), 0, 10),
    ).fetchall()
    details = " | ".join(row[-1] for row in plan)
    assert "SCAN dedup_" not in details, details
    assert "dedup_article_tkey" in details and "dedup_band" in details


def _lookalike(rng: random.Random, n: int) -> Candidate:
    """Title and body from six characters: every body shares the LSH buckets of the others."""
    vocab = "上下左右前后"
    title = "".join(rng.choices(vocab, k=16))
    return Candidate(title, "<p>" + "".join(rng.choices(vocab, k=200)) + "</p>", T0 + n * 10 * SEC)


SEC = timedelta(seconds=1)


def test_lookup_verifies_a_bounded_number_of_lookalikes(
    index: NearDupIndex, conn: sqlite3.Connection
) -> None:
    rng = random.Random(7)
    crowd = [_lookalike(rng, n) for n in range(300)]
    for n, cand in enumerate(crowd):
        index.add(f"c{n}", cand)
    probe = _lookalike(rng, 150)
    sig = dedup.signature(probe.title, probe.text)
    assert len(sig.bands) == dedup.BANDS
    params = dedup._find_params(sig.key, sig.bands, int(probe.published.timestamp()), 3 * 86400)
    rows = conn.execute(dedup._find_sql(dedup.BANDS), params).fetchall()
    assert len(rows) == dedup.MAX_VERIFIED  # the buckets hold all 300: the cap binds
    # A copy of a crowd member under its own title still finds it: the title key outranks
    # the crowd. An exact copy of the last body under a new title is still found to be a
    # copy: its original shares every band, so it is among the verified rows (the answer is
    # the earliest stored row the signature rule accepts, which may be another look-alike).
    assert index.find(Candidate(crowd[40].title + "！", crowd[40].text, probe.published)) == "c40"
    copy = Candidate("另一个标题", crowd[299].text, crowd[299].published)
    kept = index.find(copy)
    assert kept is not None
    found = crowd[int(kept[1:])]
    assert dedup.same_signature(
        dedup.signature(copy.title, copy.text), dedup.signature(found.title, found.text)
    )


# --- quality gate on the labelled set -------------------------------------------------------


def labelled_pairs() -> list[tuple[bool, Candidate, Candidate]]:
    rows = []
    for line in (DATA / "pairs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        a, b = (
            Candidate(s["title"], s["text"], datetime.fromisoformat(s["published"]))
            for s in (row["a"], row["b"])
        )
        rows.append((bool(row["label"]), a, b))
    return rows


def precision_recall(results: list[tuple[bool, bool]]) -> tuple[float, float]:
    tp = sum(1 for label, got in results if label and got)
    fp = sum(1 for label, got in results if got and not label)
    fn = sum(1 for label, got in results if label and not got)
    return tp / (tp + fp), tp / (tp + fn)


def test_labelled_set_is_large_and_balanced() -> None:
    pairs = labelled_pairs()
    positives = sum(1 for label, _, _ in pairs if label)
    assert len(pairs) >= 200
    assert 0.3 < positives / len(pairs) < 0.7


def test_same_story_meets_quality_goals() -> None:
    results = [(label, same_story(a, b)) for label, a, b in labelled_pairs()]
    precision, recall = precision_recall(results)
    assert precision >= 0.99, precision
    assert recall >= 0.97, recall


def test_index_find_meets_quality_goals() -> None:
    """As the store decides: the index names the kept story, the texts have the last word."""
    results = []
    for label, a, b in labelled_pairs():
        with sqlite3.connect(":memory:") as mem:
            idx = NearDupIndex(mem)
            migrate(mem)
            idx.add("a", a)
            results.append((label, idx.find(b) == "a" and not dedup.bodies_conflict(b, a)))
        mem.close()
    precision, recall = precision_recall(results)
    assert precision >= 0.99, precision
    assert recall >= 0.97, recall


# --- properties -----------------------------------------------------------------------------

# Characters that exercise the folding: CJK (simplified and traditional), digits in both
# widths, punctuation, brackets, spaces, Latin letters of both cases.
ALPHABET = st.sampled_from(list("上海北京長江干线貨物1２3.-：，【】《》“” \u3000AbcＡｂ％%0"))
titles = st.text(ALPHABET, max_size=20) | st.text(max_size=20)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(deadline=None)  # timing is for bench/, not for a loaded CI machine
@given(titles)
def test_title_key_is_idempotent(title: str) -> None:
    assert title_key(title_key(title)) == title_key(title)


@settings(deadline=None)
@given(st.text(max_size=300))
def test_fingerprint_is_deterministic_and_fits_sqlite(text: str) -> None:
    value = fingerprint(text)
    assert value == fingerprint(text)
    assert -(2**63) <= value < 2**63


@settings(max_examples=60, deadline=None)
@given(
    titles,
    titles,
    st.sampled_from([BODY, BODY[10:], "短", covid("上海").text]),
    st.sampled_from([BODY, f"财联社8月9日电，{BODY}", covid("北京").text]),
    moments,
    moments,
)
def test_same_story_is_symmetric(
    ta: str, tb: str, xa: str, xb: str, pa: datetime, pb: datetime
) -> None:
    a, b = Candidate(ta, xa, pa), Candidate(tb, xb, pb)
    assert same_story(a, b) == same_story(b, a)


def test_numpy_is_imported_only_to_sign_many_articles() -> None:
    # numpy costs ~125 ms of CPU to import: not paid by a process that only looks
    # signatures up (the store's main process of a pooled ingest) nor by one that signs a
    # few articles (a poll with one new article); a process that signs many switches to it
    # after ARRAYS_AFTER, with the same signatures.
    probe = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from aggregator import dedup, names, store\n"
        "index = dedup.NearDupIndex(store.Store(':memory:')._db)\n"
        "index.find(dedup.Candidate('t', 'x', datetime.now(UTC)), sig=dedup.Signature("
        "'t', 'k', 0, 0, ()))\n"
        "assert 'numpy' not in sys.modules, 'imported to look up'\n"
        "text = '记者从交通运输部长江航务管理局获悉，长江干线港口完成货物吞吐量20.2亿吨。' * 3\n"
        "first = [dedup.signature(f'标题{i}', text + str(i)) for i in range(dedup.ARRAYS_AFTER)]\n"
        "assert 'numpy' not in sys.modules, 'imported for a few'\n"
        "after = [dedup.signature(f'标题{i}', text + str(i)) for i in range(dedup.ARRAYS_AFTER)]\n"
        "assert 'numpy' in sys.modules, 'never imported'\n"
        "assert after == first, 'different signatures'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
