"""Builds pairs.jsonl, the labelled near-duplicate set, from corpus/ plus constructed variants.

Run from the repo root: ``.venv/bin/python tests/data/dedup/build_pairs.py``. Deterministic
(fixed seed), so the committed pairs.jsonl is reproducible. Each line:
``{"kind": ..., "label": true|false, "a": {title, text, published}, "b": {...}}``,
label true = same story. Labels are set by construction, never by the detector.
"""

from __future__ import annotations

import html
import itertools
import json
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from opencc import OpenCC  # type: ignore[import-untyped]

HERE = Path(__file__).parent
Doc = dict[str, str]

WIRE_PREFIXES = [
    "财联社{m}月{d}日电，",
    "证券时报网讯，",
    "证券时报e公司讯，",
    "中证网讯（记者 王明）",
    "新浪财经讯 ",
    "中新网{m}月{d}日电 ",
    "上证报中国证券网讯 ",
    "",
]
CREDITS = ["", "(央视)", "（中新经纬APP）", "（记者 李华）", "（新华社）"]
EDITOR_LINES = ["", "<p>责任编辑：张三</p>", "<p>来源：中国新闻网</p>"]
SOURCE_TITLE_PREFIXES = ["财联社：", "【财联社】", "新浪财经｜", "证券时报网：", "中证网 - "]


def load_corpus() -> dict[str, Doc]:
    docs: dict[str, Doc] = {}
    for path in sorted((HERE / "corpus").glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        front, body = raw.split("---\n", 2)[1:]
        found_title = re.search(r"^title: '(.*)'$", front, re.M)
        found_date = re.search(r"^date: (.*)$", front, re.M)
        assert found_title and found_date
        stamp = found_date.group(1)
        when = (
            parsedate_to_datetime(stamp)
            if "," in stamp
            else datetime.fromisoformat(stamp).replace(tzinfo=UTC)
        )
        docs[path.stem] = {
            "title": found_title.group(1),
            "text": body,
            "published": when.isoformat(),
        }
    return docs


def plain(body: str) -> str:
    """Visible text of a corpus body, paragraphs on lines (how a cleaned body reads)."""
    body = re.sub(r"<!--.*?-->|<style.*?</style>", "", body, flags=re.S)
    body = re.sub(r"</?(p|div|br)\b[^>]*>", "\n", body)
    body = html.unescape(re.sub(r"<[^>]+>", "", body))
    lines = [ln.strip() for ln in body.splitlines()]
    junk = ("海量资讯", "责任编辑")
    return "\n".join(ln for ln in lines if ln and not any(j in ln for j in junk))


def rewrap(text: str, rng: random.Random) -> str:
    """Same words, other markup: <p> per line or per sentence, spacing changed."""
    if rng.random() < 0.5:
        parts = [p for p in re.split(r"(?<=。)", text.replace("\n", "")) if p]
    else:
        parts = text.splitlines()
    indent = rng.choice(["", "　　", "  "])
    return "<div>" + "\n".join(f"<p>{indent}{html.escape(p)}</p>" for p in parts) + "</div>"


def widen(text: str) -> str:
    """ASCII letters/digits/punctuation → full width (what some CMSes emit)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def punct_variant(title: str, rng: random.Random) -> str:
    swaps = [("，", ","), ("：", ":"), ("？", "?"), ("！", "!"), (" ", "")]
    for a, b in swaps:
        title = title.replace(a, b) if rng.random() < 0.5 else title.replace(b, a)
    extra = rng.choice(["", " ", "！", "……", "　"])
    return title + extra


def excerpt(text: str, n: int) -> str:
    out = ""
    for line in text.splitlines():
        if len(out) >= n:
            break
        out += line
    return out


def wire_copy(text: str, when: datetime, rng: random.Random) -> str:
    prefix = rng.choice(WIRE_PREFIXES).format(m=when.month, d=when.day)
    credit = rng.choice(CREDITS)
    editor = rng.choice(EDITOR_LINES)
    lines = text.splitlines()
    lines[0] = prefix + lines[0]
    lines[-1] = lines[-1] + credit
    return "<div>" + "".join(f"<p>{html.escape(ln)}</p>" for ln in lines) + editor + "</div>"


def edit_chars(text: str, rng: random.Random, n: int) -> str:
    """A few characters dropped: an editor's touch, not another story."""
    chars = list(text)
    for _ in range(n):
        if len(chars) > 10:
            del chars[rng.randrange(len(chars))]
    return "".join(chars)


def rephrase(title: str) -> str:
    parts = [p for p in re.split(r"[，：？！,:?! ]+", title) if p]
    if len(parts) > 1:
        return "，".join(reversed(parts))
    return f"记者获悉：{title}，详情公布"


def side(title: str, text: str, when: datetime) -> dict[str, str]:
    return {"title": title, "text": text, "published": when.isoformat()}


def pair(kind: str, label: bool, a: dict[str, str], b: dict[str, str]) -> dict[str, object]:
    return {"kind": kind, "label": label, "a": a, "b": b}


def positives(docs: dict[str, Doc], rng: random.Random) -> list[dict[str, object]]:
    s2t = OpenCC("s2t")
    out: list[dict[str, object]] = []
    for x, y in itertools.combinations(("trio-sina", "trio-stcn", "trio-cls"), 2):
        out.append(pair("corpus-trio", True, dict(docs[x]), dict(docs[y])))
    for doc in docs.values():
        title, when = doc["title"], datetime.fromisoformat(doc["published"])
        text = plain(doc["text"])
        short = excerpt(text, 300)

        def later(hours: float, t: datetime = when) -> datetime:
            return t + timedelta(hours=hours)

        a = side(title, doc["text"], when)
        out.append(pair("rewrap", True, a, side(title, rewrap(text, rng), later(1))))
        out.append(pair("title-punct", True, a, side(punct_variant(title, rng), text, later(2))))
        out.append(pair("title-width", True, a, side(widen(title), widen(text), later(3))))
        out.append(
            pair("traditional", True, a, side(s2t.convert(title), s2t.convert(text), later(5)))
        )
        out.append(pair("title-brackets", True, a, side(f"【{title}】", short, later(0.5))))
        prefix = rng.choice(SOURCE_TITLE_PREFIXES)
        out.append(pair("title-source-prefix", True, a, side(prefix + title, text, later(4))))
        for k in range(2):  # same excerpt run by two outlets under different datelines
            b1 = side(title, wire_copy(short, when, rng), later(k))
            b2 = side(title, wire_copy(short, when, rng), later(6 + k))
            out.append(pair("wire-copies", True, b1, b2))
        p1, p2 = rng.sample(SOURCE_TITLE_PREFIXES, 2)  # each outlet signs the title
        b1 = side(p1 + title, wire_copy(short, when, rng), later(1))
        b2 = side(p2 + title, wire_copy(short, when, rng), later(2))
        out.append(pair("wire-signed-titles", True, b1, b2))
        # Retitled copy: a clause added in front, body the same words under another wrapper.
        retitle = rng.choice(["独家：", "最新！", "刚刚，", "官方通报："]) + title
        out.append(
            pair("retitle-insert", True, a, side(retitle, wire_copy(text, when, rng), later(8)))
        )
        if len(text) > 200:
            edited = edit_chars(text, rng, max(2, len(text) // 150))
            out.append(pair("retitle-edited", True, a, side(retitle, edited, later(20))))
        out.append(pair("full-vs-excerpt", True, a, side(title, excerpt(text, 120), later(30))))
        # Rephrased title (its clauses in another order) over a lightly edited body.
        lead = rephrase(title)
        if len(text) > 150:
            edited = edit_chars(text, rng, max(3, len(text) // 60))
            out.append(pair("retitle-rephrase", True, a, side(lead, edited, later(12))))
            # Paragraphs reordered and a related-reading line appended.
            paras = text.splitlines()
            moved = "\n".join(paras[1:] + paras[:1]) + "\n相关阅读：更多财经资讯请关注本站"
            out.append(pair("reordered", True, a, side(prefix + lead, moved, later(10))))
        if len(text) > 600:  # honest hard case: a retitled excerpt shares few 3-grams
            b = side(lead, wire_copy(excerpt(text, 150), when, rng), later(1))
            out.append(pair("retitled-excerpt", True, a, b))
    return out


def fact_clauses(title: str, text: str) -> list[str]:
    """Clauses of the body a headline could quote: figures first, then any."""
    seen = {re.sub(r"\W", "", title)}
    out = []
    for clause in re.split(r"[。！？；\n]", text):
        clause = clause.strip(" ，,：:")
        key = re.sub(r"\W", "", clause)
        if not 8 <= len(clause) <= 32 or key in seen or re.search(r"原标题|来源|[【】#]", clause):
            continue
        seen.add(key)
        out.append(clause)
    return sorted(out, key=lambda c: not re.search(r"\d", c))


def body_html(text: str, first: str = "") -> str:
    """The same words as <p> paragraphs, after an optional first paragraph."""
    paras = ([first] if first else []) + text.splitlines()
    return "<div>" + "".join(f"<p>{html.escape(p)}</p>" for p in paras) + "</div>"


def retitles(docs: dict[str, Doc], rng: random.Random) -> list[dict[str, object]]:
    """One body under two or three headlines (issue 13): each headline quotes another fact
    of the body, or extends the first with a quote; the copies differ only in wrappers a
    republication adds (dateline, 原标题 line, an echo of the earlier headline, credits)."""
    out: list[dict[str, object]] = []
    for name, doc in docs.items():
        if name.startswith("trio-") and name != "trio-sina":
            continue
        title, when = doc["title"], datetime.fromisoformat(doc["published"])
        # The story's paragraphs: a republished copy puts its dateline on the first of them.
        lines = [ln for ln in plain(doc["text"]).splitlines() if not ln.startswith("原标题")]
        text = "\n".join(lines)
        # Headlines quote the body beyond its first paragraph (an echoed headline right above
        # the paragraph it repeats is another layout, not handled).
        facts = fact_clauses(title, "\n".join(lines[1:]))
        if len(facts) < 2:
            continue
        t1, t2 = facts[0], facts[1]
        quote = rng.choice(["{t}：“{q}”", "{t}，{q}", "{t} {q}"]).format(t=title, q=facts[-1])
        orig = side(title, doc["text"], when)
        first = side(t1, wire_copy(text, when, rng), when + timedelta(minutes=4))
        # The third copy carries the earlier headline: as its 原标题 line, or echoed on top.
        origin = body_html(text, f"原标题：{t1}")
        echoed = body_html(text, t1)
        second = side(t2, origin, when + timedelta(minutes=9))
        third = side(t2, echoed, when + timedelta(minutes=15))
        out.append(pair("retitle-fact", True, orig, first))
        out.append(pair("retitle-fact", True, orig, second))
        out.append(pair("retitle-fact", True, first, second))
        out.append(pair("retitle-fact-echo", True, first, third))
        quoted = side(quote, wire_copy(text, when, rng), when + timedelta(minutes=30))
        out.append(pair("retitle-quote", True, orig, quoted))
        out.append(pair("retitle-quote", True, first, quoted))
    # A statistics release put out three times, each headline quoting another of its figures.
    for month, figures in ((7, ("3.8", "2.7", "5.7")), (8, ("4.2", "5.4", "5.8"))):
        release = (
            f"国家统计局今日发布数据显示，{month}月份，规模以上工业增加值同比实际增长"
            f"{figures[0]}%，比上月加快0.3个百分点。\n"
            f"{month}月份，社会消费品零售总额同比增长{figures[1]}%，其中，除汽车以外的消费品"
            "零售额增长2.9%。\n"
            f"{month}月份，全国城镇调查失业率为{figures[2]}%，比上月下降0.1个百分点。"
            "国家统计局新闻发言人表示，国民经济延续恢复发展态势，但恢复基础仍需巩固。"
        )
        headlines = (
            f"统计局：{month}月份规模以上工业增加值同比增长{figures[0]}%",
            f"{month}月份社会消费品零售总额同比增长{figures[1]}%",
            f"{month}月全国城镇调查失业率为{figures[2]}%",
        )
        at = datetime(2022, month + 1, 15, 2, 0, tzinfo=UTC)
        copies = [
            side(headlines[0], body_html(release), at),
            side(headlines[1], wire_copy(release, at, rng), at + timedelta(minutes=5)),
            side(
                headlines[2],
                body_html(release, f"原标题：{headlines[0]}"),
                at + timedelta(minutes=12),
            ),
        ]
        for x, y in itertools.combinations(copies, 2):
            out.append(pair("release-three-headlines", True, x, y))
    return out


SECTORS = ["半导体", "白酒", "光伏", "券商", "煤炭", "医药", "军工", "汽车"]


def daily_column(day: int, rng: random.Random) -> tuple[str, str]:
    moves = [f"{rng.randint(1, 90) / 100:.2f}" for _ in range(3)]
    up, down = rng.sample(SECTORS, 2)
    title = f"8月{day}日早盘：沪指高开{moves[0]}%"
    body = (
        f"<p>8月{day}日，A股三大指数集体高开，沪指涨{moves[0]}%，深成指涨{moves[1]}%，"
        f"创业板指涨{moves[2]}%。</p><p>板块方面，{up}板块涨幅居前，{down}板块走弱，"
        "两市超过三千只个股上涨。</p>"
    )
    return title, body


def region_report(place: str, growth: str) -> tuple[str, str]:
    title = f"1-7月{place}规模以上工业增加值同比增长{growth}%"
    body = (
        f"<p>{place}统计局8月16日发布数据，1-7月，{place}规模以上工业增加值同比增长{growth}%，"
        "增速比1-6月加快0.2个百分点。分门类看，采矿业增加值增长，制造业增长，"
        "电力、热力、燃气及水生产和供应业增长。</p>"
    )
    return title, body


def earnings_report(company: str, profit: str, growth: str) -> tuple[str, str]:
    title = f"{company}上半年净利润{profit}亿元 同比增长{growth}%"
    body = (
        f"<p>{company}8月9日晚间披露半年度报告，上半年实现归属于上市公司股东的净利润{profit}亿元，"
        f"同比增长{growth}%。公司表示，报告期内主营业务保持稳定，经营活动现金流量净额同比改善，"
        "研发投入持续增加。</p>"
    )
    return title, body


def buyback_flash(company: str, low: int, high: int, price: int) -> tuple[str, str]:
    title = f"{company}：拟回购不超过{high}亿元股份"
    body = (
        f"<p>【{title}】财联社8月9日电，{company}公告，拟以集中竞价交易方式回购公司股份，"
        f"回购资金总额不低于{low}亿元且不超过{high}亿元，回购价格不超过{price}元/股。</p>"
    )
    return title, body


def hard_negatives(rng: random.Random) -> list[dict[str, object]]:
    """What looks like one body under several headlines and is not (issue 13)."""
    out: list[dict[str, object]] = []
    base = datetime(2022, 8, 8, 1, 30, tzinfo=UTC)
    editions = {day: daily_column(day, rng) for day in range(8, 13)}
    for d1, d2 in itertools.combinations(editions, 2):
        if d2 - d1 > 2:
            continue
        (t1, b1), (t2, b2) = editions[d1], editions[d2]
        a = side(t1, b1, base + timedelta(days=d1 - 8))
        b = side(t2, b2, base + timedelta(days=d2 - 8))
        out.append(pair("daily-column", False, a, b))
    # A column whose body is the same words every day: its editions still differ by day.
    notice = (
        "<p>本栏目每个交易日开盘前发布，汇总当日重要公告、新股申购、限售股解禁安排和"
        "停复牌信息，供投资者参考，不构成投资建议。</p>"
    )
    for d1, d2 in ((8, 9), (9, 10), (10, 12)):
        a = side(f"8月{d1}日投资提示", notice, base + timedelta(days=d1 - 8))
        b = side(f"8月{d2}日投资提示", notice, base + timedelta(days=d2 - 8))
        out.append(pair("daily-column-same-words", False, a, b))
    growths = ["3.8", "4.1", "3.8", "5.2", "3.8"]
    for (p1, g1), (p2, g2) in itertools.combinations(zip(PLACES[:5], growths, strict=True), 2):
        t1, b1 = region_report(p1, g1)
        t2, b2 = region_report(p2, g2)
        out.append(pair("template-places", False, side(t1, b1, base), side(t2, b2, base)))
    results = [("12.5", "8.3"), ("12.5", "8.3"), ("30.1", "15.2"), ("7.9", "-3.4"), ("12.5", "9.1")]
    for (c1, r1), (c2, r2) in itertools.combinations(zip(COMPANIES[:5], results, strict=True), 2):
        t1, b1 = earnings_report(c1, *r1)
        t2, b2 = earnings_report(c2, *r2)
        out.append(pair("template-companies", False, side(t1, b1, base), side(t2, b2, base)))
    # The same templates under headlines written differently: the titles cannot be aligned,
    # only the bodies' swapped names and figures tell the reports apart.
    styles = [
        "{c}上半年净利润{p}亿元 同比增长{g}%",
        "{c}半年报出炉",
        "{c}发布半年报",
        "业绩快报：{c}",
    ]
    for (i, (c1, r1)), (j, (c2, r2)) in itertools.combinations(
        enumerate(zip(COMPANIES[:5], results, strict=True)), 2
    ):
        b1, b2 = earnings_report(c1, *r1)[1], earnings_report(c2, *r2)[1]
        t1 = styles[i % 4].format(c=c1, p=r1[0], g=r1[1])
        t2 = styles[j % 4].format(c=c2, p=r2[0], g=r2[1])
        out.append(
            pair("template-companies-other-headline", False, side(t1, b1, base), side(t2, b2, base))
        )
    for p1, p2 in itertools.combinations(PLACES[:5], 2):
        (t1, b1), (_, b2) = covid_template(p1, 8), covid_template(p2, 8)
        a, b = side(t1, b1, base), side(f"最新通报：{p2}疫情防控情况", b2, base)
        out.append(pair("place-swap-other-headline", False, a, b))
    flashes = [
        buyback_flash(c, rng.randint(1, 5), rng.randint(6, 20), rng.randint(20, 90))
        for c in COMPANIES
    ]
    flashes.append(buyback_flash(COMPANIES[0], 2, 8, 40))
    flashes.append(buyback_flash(COMPANIES[0], 3, 10, 40))
    for (t1, b1), (t2, b2) in itertools.combinations(flashes, 2):
        out.append(pair("flash-template", False, side(t1, b1, base), side(t2, b2, base)))
    # Flashes whose facts are all in the headline and its echo: the rest is a shared line.
    for c1, c2 in itertools.combinations(COMPANIES[:4], 2):
        a, b = (
            side(
                f"{c}股价盘中涨停",
                f"<p>【{c}股价盘中涨停】财联社8月9日电，盘中异动，详见行情。</p>",
                base,
            )
            for c in (c1, c2)
        )
        out.append(pair("flash-echo-facts", False, a, b))
    return out


INDICATORS = ["规模以上工业增加值", "社会消费品零售总额", "固定资产投资", "货物进出口总额"]
REGIONS = ["内蒙古自治区", "广西壮族自治区", "新疆维吾尔自治区", "宁夏回族自治区"]
PLACES = ["上海", "北京", "广州", "深圳", "天津", "重庆", "杭州", "成都", "武汉", "南京"]
COMPANIES = ["贵州茅台", "五粮液", "宁德时代", "比亚迪", "招商银行", "中国平安", "隆基绿能"]


def covid_template(place: str, day: int) -> tuple[str, str]:
    title = f"{place}昨日本土无新增"
    body = (
        f"<p>{place}市卫健委通报，8月{day}日0—24时，{place}无新增本土确诊病例，"
        f"无新增本土无症状感染者，无新增境外输入确诊病例。截至8月{day}日24时，"
        f"{place}累计报告本土确诊病例和无症状感染者已全部治愈出院，"
        "现有隔离观察人员均已解除医学观察。相关部门提醒市民继续做好个人防护，"
        "坚持戴口罩、勤洗手、常通风，配合做好健康监测。</p>"
    )
    return title, body


def stock_template(company: str, verb: str) -> tuple[str, str]:
    title = f"{company}股价午后{verb}停"
    body = (
        f"<p>财联社8月9日电，{company}今日午后股价快速{'拉升' if verb == '涨' else '下挫'}，"
        f"截至发稿{verb}停，成交额超过20亿元，换手率3.5%。"
        "市场人士认为，板块近期波动加大，资金分歧明显，投资者需关注业绩披露节奏。</p>"
    )
    return title, body


def stats_template(month: int, value: str) -> tuple[str, str]:
    title = f"1-{month}月全国规模以上工业增加值同比增长{value}%"
    body = (
        f"<p>国家统计局数据显示，1-{month}月，全国规模以上工业增加值同比增长{value}%。"
        f"分三大门类看，采矿业增加值增长{value}%，制造业增长{value}%，"
        "电力、热力、燃气及水生产和供应业增长5.0%。"
        "分经济类型看，国有控股企业增加值增长，股份制企业增长，外商及港澳台商投资企业下降。</p>"
    )
    return title, body


def indicator_template(indicator: str, region: str = "全国") -> tuple[str, str]:
    title = f"1-7月{region}{indicator}同比增长3.5%"
    body = (
        f"<p>统计部门8月15日发布数据显示，1-7月，{region}{indicator}同比增长3.5%，"
        f"增速比1-6月加快0.1个百分点。从环比看，7月{region}{indicator}比上月增长0.4%。"
        "分析人士表示，随着稳经济一揽子政策持续显效，经济运行总体延续恢复态势，"
        "但仍需关注外部环境变化带来的不确定性。</p>"
    )
    return title, body


def swap_numbers(title: str, text: str, rng: random.Random) -> tuple[str, str] | None:
    """Same template, other figures: every number of the title changed, in the body too."""
    numbers = sorted(set(re.findall(r"\d+(?:\.\d+)?", title)), key=len, reverse=True)
    if not numbers:
        return None
    for n in numbers:
        new = str(int(float(n)) + rng.randint(1, 3)) if "." not in n else f"{float(n) + 0.3:.1f}"
        title, text = title.replace(n, new), text.replace(n, new)
    return title, text


def negatives(docs: dict[str, Doc], rng: random.Random) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    base = datetime(2022, 8, 9, 8, 0, tzinfo=UTC)
    for p1, p2 in itertools.combinations(PLACES, 2):
        t1, b1 = covid_template(p1, 8)
        t2, b2 = covid_template(p2, 8)
        out.append(pair("place-swap", False, side(t1, b1, base), side(t2, b2, base)))
    for c1, c2 in itertools.combinations(COMPANIES, 2):
        t1, b1 = stock_template(c1, "涨")
        t2, b2 = stock_template(c2, "涨")
        out.append(pair("name-swap", False, side(t1, b1, base), side(t2, b2, base)))
    for c in COMPANIES:
        t1, b1 = stock_template(c, "涨")
        t2, b2 = stock_template(c, "跌")
        out.append(pair("verb-swap", False, side(t1, b1, base), side(t2, b2, base)))
    for (m1, v1), (m2, v2) in itertools.combinations([(6, "3.4"), (7, "3.5"), (8, "3.6")], 2):
        t1, b1 = stats_template(m1, v1)
        t2, b2 = stats_template(m2, v2)
        a, b = side(t1, b1, base), side(t2, b2, base + timedelta(days=1))
        out.append(pair("month-swap", False, a, b))
    for i1, i2 in itertools.combinations(INDICATORS, 2):
        t1, b1 = indicator_template(i1)
        t2, b2 = indicator_template(i2)
        out.append(pair("indicator-swap", False, side(t1, b1, base), side(t2, b2, base)))
    for r1, r2 in itertools.combinations(REGIONS, 2):
        t1, b1 = indicator_template(INDICATORS[0], r1)
        t2, b2 = indicator_template(INDICATORS[0], r2)
        out.append(pair("long-place-swap", False, side(t1, b1, base), side(t2, b2, base)))
    for doc in docs.values():
        when = datetime.fromisoformat(doc["published"])
        text = plain(doc["text"])
        a = side(doc["title"], doc["text"], when)
        gap = timedelta(days=rng.choice([4, 5, 8, 30]))
        out.append(pair("outside-window", False, a, side(doc["title"], text, when + gap)))
        swapped = swap_numbers(doc["title"], text, rng)
        if swapped:
            b = side(swapped[0], swapped[1], when + timedelta(hours=2))
            out.append(pair("number-swap", False, a, b))
    names = sorted(docs)
    for x, y in itertools.combinations(names, 2):
        if x.startswith("trio") and y.startswith("trio"):
            continue
        a, b = dict(docs[x]), dict(docs[y])
        b["published"] = a["published"]  # inside the window: only content may separate them
        out.append(pair("different-corpus", False, a, b))
    return out


def main() -> None:
    rng = random.Random(20260918)
    docs = load_corpus()
    rows = positives(docs, rng) + negatives(docs, rng)
    rows += retitles(docs, rng) + hard_negatives(rng)
    with (HERE / "pairs.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    pos = sum(1 for r in rows if r["label"])
    print(f"{len(rows)} pairs: {pos} same story, {len(rows) - pos} different")


if __name__ == "__main__":
    main()
