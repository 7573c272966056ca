"""Store stage on real SQLite: identity merges, revisions, near-duplicates, tombstones, states."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import paging, search
from aggregator.database import day, iso, parse_dt
from aggregator.dedup import signature
from aggregator.identity import canonical_url, provenance_link
from aggregator.models import DedupSettings, ListEntry, SourceState, StoredArticle
from aggregator.store import Store, UpsertResult
from tests.published import BODY, NOW, art


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "a.db")
    yield s  # type: ignore[misc]
    s.close()


SINA = "https://finance.sina.com.cn/china/gncj/2022-08-09/doc-imizmscv5449371.shtml"
SINA_WAP = "http://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html?from=wap&vt=4#top"


def test_new_then_unchanged(store: Store) -> None:
    assert store.upsert([art(SINA)], NOW).new == 1
    assert store.recent(1)[0].date_is_fallback is False
    again = store.upsert([art(SINA)], NOW + timedelta(minutes=5))
    assert (again.new, again.updated, again.merged, again.unchanged) == (0, 0, 0, 1)
    assert store.count() == 1


def test_same_article_in_two_channels_and_url_forms_is_one(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    r = store.upsert([art(SINA_WAP, source="新浪财经－宏观经济")], NOW)
    assert r.merged == 1 and r.new == 0
    (a,) = store.recent(10)
    assert a.categories == ("金融", "新浪财经", "新浪财经－国內", "新浪财经－宏观经济")
    assert len(a.links) == 2, "every source link kept as provenance"
    assert store.recent(10, category="新浪财经－宏观经济")[0].id == a.id


def test_revision_updates_in_place(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    (before,) = store.recent(1)
    later = NOW + timedelta(hours=1)
    r = store.upsert([art(SINA, text=BODY + "（更新）")], later)
    assert r.updated == 1
    (after,) = store.recent(1)
    assert (after.id, after.slug, after.published) == (before.id, before.slug, before.published)
    assert after.updated == later and "（更新）" in after.content_html
    assert store.count() == 1


def test_cross_outlet_copies_merge_by_default(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    stcn = art(
        "https://www.stcn.com/article/detail/667233.html",
        text="证券时报网讯，据央视新闻从" + BODY,
        source="证券时报网－快讯",
        cats=("金融", "证券时报网"),
        published=NOW + timedelta(minutes=20),
    )
    r = store.upsert([stcn], NOW)
    assert r.merged == 1
    (a,) = store.recent(10)
    assert "证券时报网－快讯" in a.categories
    assert "https://www.stcn.com/article/detail/667233.html" in a.links
    # Re-polling the copy is resolved by identity, never a second article.
    assert store.upsert([stcn], NOW).new == 0
    assert store.count() == 1


def test_one_body_under_new_headlines_is_one_story_with_its_other_titles(store: Store) -> None:
    """Issue 13: Sina republishes a release minutes later under headlines quoting other
    figures of it; the body is the same but for the 原标题 line and the dateline."""
    first = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    headlines = [
        first,
        "长江干线港口集装箱铁水联运量同比增长86.5%",
        "【财联社】长江干线港口集装箱铁水联运量同比增长86.5%",  # the same headline, signed
        "1-7月长江干线集装箱吞吐量1367万标箱",
    ]
    bodies = [BODY, f"原标题：{first}\n{BODY}", f"财联社8月9日电，{BODY}", f"{first}\n{BODY}"]
    for n, (title, text) in enumerate(zip(headlines, bodies, strict=True)):
        link = f"https://finance.sina.com.cn/roll/2022-08-09/doc-imizmscv54493{n}.shtml"
        r = store.upsert([art(link, title, text, published=NOW + timedelta(minutes=5 * n))], NOW)
        assert (r.new, r.merged) == ((1, 0) if n == 0 else (0, 1)), title
    (a,) = store.recent(10)
    assert a.title == first
    assert a.alt_titles == (headlines[1], headlines[3])
    assert len(a.links) == 4
    # A revision that takes one of them as its title no longer lists it as another.
    link0 = "https://finance.sina.com.cn/roll/2022-08-09/doc-imizmscv544930.shtml"
    assert store.upsert([art(link0, headlines[3], BODY + "（更新）")], NOW).updated == 1
    (a,) = store.recent(10)
    assert (a.title, a.alt_titles) == (headlines[3], (headlines[1],))


def test_a_headline_merged_under_is_echoed_by_later_copies(store: Store) -> None:
    """A copy's headline becomes one the story is known by: a later copy that opens its body
    with that headline (not the story's own) is the same story, though the three headlines
    quote different figures of it."""
    first = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    second = "长江干线港口集装箱铁水联运量同比增长86.5%"
    third = "1-7月长江干线集装箱吞吐量1367万标箱"
    items = [(first, BODY), (second, f"原标题：{first}\n{BODY}"), (third, f"{second}\n{BODY}")]
    for n, (title, text) in enumerate(items):
        link = f"https://finance.sina.com.cn/roll/2022-08-09/doc-imizmscv54494{n}.shtml"
        r = store.upsert([art(link, title, text, published=NOW + timedelta(minutes=5 * n))], NOW)
        assert (r.new, r.merged) == ((1, 0) if n == 0 else (0, 1)), title
    (a,) = store.recent(10)
    assert (a.title, a.alt_titles) == (first, (second, third))


def test_a_batch_credits_a_link_to_the_source_that_brought_it_first(tmp_path: Path) -> None:
    """As when stored one by one: an item without a link and its copy from another outlet
    (merged into it) share the story's one link row, which names the first item's source."""
    first = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    items = [
        art("", first, source="新浪财经－国內"),
        art(
            "",
            "长江干线港口集装箱铁水联运量同比增长86.5%",
            f"原标题：{first}\n{BODY}",
            "证券时报网",
        ),
    ]
    batched, single = Store(tmp_path / "b.db"), Store(tmp_path / "s.db")
    try:
        assert batched.upsert(items, NOW) == UpsertResult(new=1, merged=1)
        for item in items:
            single.upsert([item], NOW)
        links = "SELECT seq, url, source FROM article_links ORDER BY seq, url"
        assert batched._db.execute(links).fetchall() == [(1, "", "新浪财经－国內")]
        assert single._db.execute(links).fetchall() == batched._db.execute(links).fetchall()
    finally:
        batched.close()
        single.close()


def test_same_template_other_facts_stay_apart(store: Store) -> None:
    # The same wording filled with another company's figures: two stories, however alike.
    def report(company: str, profit: str) -> str:
        return (
            f"{company}8月9日晚间披露半年度报告，上半年实现归属于上市公司股东的净利润{profit}亿元，"
            "同比增长8.3%。公司表示，报告期内主营业务保持稳定，经营活动现金流量净额同比改善。"
        )

    items = [
        art("https://example.com/a", "贵州茅台上半年净利润297亿元", report("贵州茅台", "297")),
        art("https://example.com/b", "五粮液上半年净利润149亿元", report("五粮液", "149")),
        art("https://example.com/c", "宁德时代上半年净利润149亿元", report("宁德时代", "149")),
        # Headlines unlike the others: only the bodies' swapped names and figures tell.
        art("https://example.com/d", "比亚迪半年报出炉", report("比亚迪", "297")),
        art("https://example.com/e", "业绩快报：招商银行", report("招商银行", "149")),
    ]
    store.upsert(items, NOW)
    assert store.count() == 5
    assert all(a.alt_titles == () for a in store.recent(10))


def test_keep_policy_keeps_copies_apart(tmp_path: Path) -> None:
    s = Store(tmp_path / "k.db", DedupSettings(policy="keep"))
    s.upsert([art(SINA)], NOW)
    s.upsert([art("https://www.stcn.com/a/1.html", source="证券时报网－快讯")], NOW)
    assert s.count() == 2
    s.close()


def test_different_stories_stay_apart(store: Store) -> None:
    a = art(
        "https://example.com/sh",
        title="上海昨日本土无新增",
        text="上海市卫健委通报，昨日本土无新增确诊病例。",
    )
    b = art(
        "https://example.com/bj",
        title="北京昨日本土无新增",
        text="北京市卫健委通报，昨日本土无新增确诊病例。",
    )
    store.upsert([a, b], NOW)
    assert store.count() == 2


def test_deleted_article_never_comes_back(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    gone = store.delete(SINA_WAP, NOW)  # any URL form finds it
    assert gone is not None
    assert store.count() == 0
    assert store.upsert([art(SINA)], NOW).deleted == 1
    assert store.upsert([art(SINA_WAP)], NOW).deleted == 1
    assert store.count() == 0
    assert gone.slug in store.deleted_slugs()


def test_a_deleted_article_stays_gone_under_any_of_its_keys(store: Store) -> None:
    guid = "guid:tag:stcn.com,2022:667233"
    first = art("https://www.stcn.com/a/1.html")
    store.upsert([replace(first, alt_keys=(*first.alt_keys, guid))], NOW)
    assert store.delete(first.link, NOW) is not None
    # The story again under another URL: only its guid, not its main key, was deleted.
    again = art("https://stcn.com/mobile/1.html")
    assert again.key != first.key
    result = store.upsert([replace(again, alt_keys=(*again.alt_keys, guid))], NOW)
    assert (result.deleted, result.new, store.count()) == (1, 0, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"cover": "https://n.sinaimg.cn/finance/new-cover.jpg"},
        {"author": "证券时报网"},
        {"title": "长江干线港口1-7月货物吞吐量超20亿吨"},
        {"outlet": "证券时报"},
        {"tags": ("贵州茅台 sh600519",)},
    ],
)
def test_a_change_of_cover_author_title_outlet_or_tags_alone_is_a_revision(
    store: Store, change: dict[str, object]
) -> None:
    store.upsert([art(SINA)], NOW)
    result = store.upsert([replace(art(SINA), **change)], NOW + timedelta(hours=1))
    assert (result.updated, result.unchanged) == (1, 0)
    (stored,) = store.recent(1)
    field = next(iter(change))
    assert getattr(stored, field) == change[field]
    assert stored.updated == NOW + timedelta(hours=1)


def test_reading_order_and_pages(store: Store) -> None:
    arts = [
        art(
            f"https://example.com/{i}",
            title=f"第{i}条消息",
            text=f"正文{i}" * 30,
            published=NOW - timedelta(hours=i),
        )
        for i in range(5)
    ]
    store.upsert(arts, NOW)
    assert [a.title for a in store.recent(3)] == ["第0条消息", "第1条消息", "第2条消息"]
    assert [a.title for a in store.page(0, 2)] == ["第0条消息", "第1条消息"]  # insertion order
    assert [a.title for a in store.page(4, 10)] == ["第4条消息"]
    assert store.categories() == ["新浪财经", "新浪财经－国內", "金融"]
    assert store.count("金融") == 5


def test_source_state_round_trip_and_reset_on_url_change(store: Store) -> None:
    st = store.source_state("s", "https://a.example/feed")
    assert st.url == "https://a.example/feed" and st.error_count == 0
    saved = replace(
        st,
        etag='"x"',
        error_count=3,
        last_error="boom",
        last_error_kind="http_5xx",
        next_poll=NOW,
        last_success=NOW - timedelta(days=1),
    )
    store.save_state(saved)
    assert store.source_state("s", "https://a.example/feed") == saved
    moved = store.source_state("s", "https://b.example/feed")
    assert isinstance(moved, SourceState)
    assert (moved.url, moved.etag, moved.error_count) == ("https://b.example/feed", None, 0)
    assert moved.last_success == saved.last_success


CHILD = r"""
import random, sys
from datetime import UTC, datetime
from tests.published import art
from aggregator import paging, search
from aggregator.dedup import signature
from aggregator.identity import canonical_url, provenance_link
from aggregator.store import Store, UpsertResult

s = Store(sys.argv[1])
now = datetime(2022, 8, 9, tzinfo=UTC)
rng = random.Random(7)
def text() -> str:  # distinct bodies: no near-duplicate merges in this test
    return "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(200))
for batch in range(10_000):
    s.upsert([art(f"https://example.com/{batch}/{i}", title=f"标题{batch}之{i}", text=text())
              for i in range(20)], now)
    print(batch, flush=True)
"""


def test_killed_writer_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.stdout is not None
    committed = -1
    deadline = time.monotonic() + 30
    while committed < 15 and time.monotonic() < deadline:
        committed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert committed >= 15
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (n,) = con.execute("SELECT COUNT(*) FROM articles").fetchone()
    con.close()
    assert n >= (committed + 1) * 20 and n % 20 == 0, "whole batches only"


# --- a batch is stored exactly as its items one by one -----------------------------------

OTHER = (
    "国家统计局今日发布数据显示，前三季度全国规模以上工业增加值同比增长4.0%，其中制造业增长4.4%，"
    "高技术制造业增长2.3%，装备制造业增长5.0%，分经济类型看国有控股企业增长4.8%。"
)
# Items that collide in every way a batch can: the same doc in two URL forms (one key, an
# alt key), a retitled revision, a near-duplicate from another outlet, a story of its own,
# and an item whose key was deleted before.
POOL = (
    art(SINA),
    art(SINA_WAP, source="新浪财经－宏观经济"),
    art(SINA, text=BODY + "（更新）"),
    art(
        "https://www.stcn.com/a/1.html",
        title="长江干线港口1-7月完成货物吞吐量超20亿吨",
        source="证券时报网",
    ),
    art("https://example.com/other", title="前三季度规模以上工业增加值增长4.0%", text=OTHER),
    art("https://example.com/other#copy", title="前三季度规模以上工业增加值增长4.0%", text=OTHER),
    art("https://example.com/deleted", title="已删除的文章", text="删除" * 40),
)


def _snapshot(s: Store) -> tuple[object, ...]:
    db = s._db
    return (
        [(a.id, a.title, a.categories, a.links, a.content_html) for a in s.page(0, 100)],
        db.execute("SELECT key, is_copy FROM article_keys ORDER BY key").fetchall(),
        db.execute("SELECT key FROM copies ORDER BY key").fetchall(),
        db.execute("SELECT category FROM dirty_categories ORDER BY category").fetchall(),
        db.execute("SELECT category, seq FROM article_categories ORDER BY 1, 2").fetchall(),
        s.generation(),
    )


# The same items signed, as the workers hand them over: the store then screens a batch's
# near-duplicate lookups in one statement (NearDupIndex.screening), and a copy must still
# find the story an earlier item of its own batch stored.
SIGNED = tuple(replace(a, signature=signature(a.title, a.text)) for a in POOL)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(range(len(POOL))), max_size=9), st.booleans())
def test_a_batch_stores_what_its_items_store_one_by_one(picks: list[int], signed: bool) -> None:
    pool = SIGNED if signed else POOL
    with tempfile.TemporaryDirectory() as tmp:
        batched, single = Store(Path(tmp) / "b.db"), Store(Path(tmp) / "s.db")
        try:
            for s in (batched, single):
                s.upsert([pool[-1]], NOW)
                assert s.delete(pool[-1].link, NOW) is not None
            items = [pool[i] for i in picks]
            counts = batched.upsert(items, NOW)
            one_by_one = [single.upsert([a], NOW) for a in items]
            for field in ("new", "updated", "merged", "unchanged", "deleted"):
                assert getattr(counts, field) == sum(getattr(c, field) for c in one_by_one)
            assert _snapshot(batched)[:-1] == _snapshot(single)[:-1]
        finally:
            batched.close()
            single.close()


def test_a_batch_looks_up_near_duplicates_only_where_a_bucket_holds_a_candidate(
    store: Store,
) -> None:
    """Signed new articles with nothing alike stored: no ranked lookup runs; a copy of an
    article stored earlier in the same batch, or in an earlier one, is still merged."""
    texts = [
        f"第{i}号公告：" + "".join(chr(0x4E00 + 37 * i + j) for j in range(60)) for i in range(6)
    ]
    items = [
        replace(a, signature=signature(a.title, a.text))
        for a in (
            art(f"https://example.com/{i}", title=f"公告{i}标题", text=t)
            for i, t in enumerate(texts)
        )
    ]
    ranked: list[str] = []
    store._db.set_trace_callback(lambda sql: ranked.append(sql) if "SUM(w)" in sql else None)
    assert store.upsert(items[:4], NOW).new == 4
    assert ranked == []
    copies = [
        replace(items[4], key="copy:4", alt_keys=(), link="https://other.example/4"),
        replace(items[1], key="copy:1", alt_keys=(), link="https://other.example/1"),
    ]
    result = store.upsert([items[4], *copies, items[5]], NOW)
    assert (result.new, result.merged) == (2, 2)
    assert len(ranked) == 2, "only the two copies were looked up in full"
    assert store.count() == 6


def test_a_read_only_connection_sees_committed_articles_and_cannot_write(tmp_path: Path) -> None:
    odd = tmp_path / "a dir #1?" / "store.db"  # the path goes into a file: URI
    writer = Store(odd)
    reader = Store(odd, readonly=True)
    try:
        writer.upsert([art(SINA)], NOW)
        assert [a.title for a in reader.recent(5)] == [art(SINA).title]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader._db.execute("DELETE FROM articles")
    finally:
        reader.close()
        writer.close()


# --- publishing reads: what they return does not depend on how it is found ----------------

# The reads as the archive's size would have them: sorting, counting and skipping over
# every stored row. The store answers from indexes and maintained counts (migration 5).
REFERENCE_RECENT = (
    "SELECT a.seq FROM article_categories c JOIN articles a ON a.seq = c.seq"
    " WHERE c.category = ? ORDER BY a.published DESC, a.id LIMIT ?"
)


def _reference(s: Store, cats: list[str]) -> tuple[object, ...]:
    db = s._db
    counts = {
        c: db.execute(f"SELECT COUNT(*) FROM article_categories WHERE category = '{c}'").fetchone()[
            0
        ]
        for c in cats
    }
    total = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    recent = {c: [r[0] for r in db.execute(REFERENCE_RECENT, (c, 3))] for c in cats}
    pages = [
        [r[0] for r in db.execute("SELECT seq FROM articles ORDER BY seq LIMIT ? OFFSET ?", (2, o))]
        for o in range(total + 1)
    ]
    cat_pages = {
        c: [
            [
                r[0]
                for r in db.execute(
                    "SELECT seq FROM article_categories WHERE category = ?"
                    " ORDER BY seq LIMIT 2 OFFSET ?",
                    (c, o),
                )
            ]
            for o in range(counts[c] + 1)
        ]
        for c in cats
    }
    listed = [
        r[0] for r in db.execute("SELECT DISTINCT category FROM article_categories ORDER BY 1")
    ]
    return counts, total, recent, pages, cat_pages, listed


def _answers(s: Store, cats: list[str]) -> tuple[object, ...]:
    def seqs(arts: list[object]) -> list[int]:
        by_id = dict(s._db.execute("SELECT id, seq FROM articles"))
        return [by_id[a.id] for a in arts]  # type: ignore[attr-defined]

    counts = {c: s.count(c) for c in cats}
    total = s.count()
    recent = {c: seqs(s.recent(3, c)) for c in cats}
    pages = [seqs(s.page(o, 2)) for o in range(total + 1)]
    cat_pages = {c: [seqs(s.page(o, 2, c)) for o in range(counts[c] + 1)] for c in cats}
    return counts, total, recent, pages, cat_pages, s.categories()


PUBLISH_POOL = [
    art(
        f"https://example.com/p/{i}",
        title=f"第{i}号公告：{'甲乙丙丁戊'[i % 5]}公司",
        text=f"公告{i}" + "".join(chr(0x4E00 + (i * 131 + k * 7) % 9000) for k in range(120)),
        source=f"源{i % 3}",
        cats=(("金融", "新浪财经") if i % 2 else ("新浪财经",)),
        published=NOW - timedelta(hours=(i * 5) % 7),  # ties in published: order by id
    )
    for i in range(12)
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(range(len(PUBLISH_POOL)))), max_size=20))
def test_publishing_reads_match_the_full_scans(ops: list[tuple[bool, int]]) -> None:
    cats = ["金融", "新浪财经", "源0", "源1", "源2", "无此分类"]
    with tempfile.TemporaryDirectory() as tmp:
        s = Store(Path(tmp) / "p.db")
        try:
            for delete, i in ops:
                if delete:
                    s.delete(PUBLISH_POOL[i].link, NOW)  # cascades to article_categories
                else:
                    s.upsert(
                        [
                            PUBLISH_POOL[i],
                            replace(
                                PUBLISH_POOL[(i + 1) % 12],
                                source_name="源x",
                                categories=("金融", "源x"),
                            ),
                        ],
                        NOW,
                    )
                assert _answers(s, [*cats, "源x"]) == _reference(s, [*cats, "源x"])
        finally:
            s.close()


# --- another list carrying stored articles (Sina's channel lists) -------------------------


def test_a_list_attaches_its_channel_and_link_to_stored_articles_only(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    (before,) = store.recent(1)
    store.clear_dirty_categories(store.dirty_categories())
    generation = store.generation()
    later = NOW + timedelta(hours=1)
    channel = "新浪财经－宏观经济"
    # The same story at its mobile URL with other text, and a story never stored.
    result = store.attach(
        [art("https://example.com/new"), art(SINA_WAP, text="另一段正文" * 20, source=channel)],
        later,
    )
    assert (result.merged, result.unchanged, result.new, result.updated) == (1, 0, 0, 0)
    assert store.count() == 1, "attach never stores an article"
    (a,) = store.recent(10)
    assert a.categories == (*before.categories, channel)
    assert a.links == (*before.links, canonical_url(SINA_WAP))
    # Its content, dates and post stay those of the page it came from.
    assert (a.content_html, a.updated, a.title) == (
        before.content_html,
        before.updated,
        before.title,
    )
    assert [x.id for x in store.recent(10, category=channel)] == [a.id]
    assert store.generation() > generation
    assert channel in store.dirty_categories()
    assert store.attach([art(SINA_WAP, source=channel)], later) == UpsertResult(unchanged=1)
    assert store.generation() == generation + 1


def test_attach_counts_every_article(store: Store) -> None:
    others = [art(f"https://example.com/{i}", f"第{i}条", f"正文{i}" * 30) for i in range(2)]
    store.upsert(others, NOW)
    moved = [replace(a, categories=("宏观经济",), source_name="宏观经济") for a in others]
    assert store.attach(moved, NOW) == UpsertResult(merged=2)
    assert store.attach(moved, NOW) == UpsertResult(unchanged=2)


def test_a_new_url_form_alone_is_learnt_by_attach(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    generation = store.generation()
    result = store.attach([art(SINA + "?from=list")], NOW)  # same key, link already known
    assert result == UpsertResult(unchanged=1)
    copy = replace(art(SINA), alt_keys=(*art(SINA).alt_keys, "guid:sina-list-1"))
    assert store.attach([copy], NOW) == UpsertResult(merged=1)
    assert store.generation() == generation + 1
    assert store.delete("guid:sina-list-1", NOW) is not None, "the key attach learnt finds it"


def test_a_list_leaves_deleted_articles_alone(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    store.delete(SINA, NOW)
    generation = store.generation()
    assert store.attach([art(SINA_WAP, source="新浪财经－宏观经济")], NOW) == UpsertResult()
    assert (store.count(), store.generation()) == (0, generation)


def test_an_article_reads_back_as_it_was_stored(store: Store) -> None:
    full = replace(
        art(SINA, cats=("金融", "新浪财经", "金融")),  # a repeated category is kept once
        date_is_fallback=True,
        cover="https://n.sinaimg.cn/finance/cover.jpg",
        author="证券时报网",
        editor="张三",
        outlet="证券时报",
        tags=("贵州茅台 sh600519", "五粮液 sz000858"),
    )
    store.upsert([full], NOW + timedelta(minutes=3))
    (a,) = store.recent(1)
    assert a == StoredArticle(
        id="urn:uuid:d6ad82e1-72f0-5c5a-a3bc-5778872d5bdb",
        slug="2022-08-09-fd116cc88f5a",  # the date it was published, a hash of its key
        link=SINA,
        title=full.title,
        published=NOW,
        updated=NOW,
        author="证券时报网",
        categories=("金融", "新浪财经", "新浪财经－国內"),
        content_html=full.content_html,
        cover="https://n.sinaimg.cn/finance/cover.jpg",
        links=(SINA,),
        date_is_fallback=True,
        alt_titles=(),
        outlet="证券时报",
        tags=("贵州茅台 sh600519", "五粮液 sz000858"),
    )
    assert store.articles([a.id]) == [a]
    listed = ListEntry(a.id, a.slug, a.title, a.published, a.author, a.cover, a.outlet)
    assert store.list_entries([1]) == [listed]
    row = store._db.execute("SELECT editor, first_seen FROM articles").fetchone()
    assert row == ("张三", "2022-08-09T15:03:00.000000Z")
    # A revision rewrites every field it carries, and is then the stored version.
    revised = replace(
        full, title="新标题", cover=None, author="新浪财经", editor="李四", outlet=None, tags=()
    )
    later = NOW + timedelta(hours=2)
    assert store.upsert([revised], later).updated == 1
    (b,) = store.recent(1)
    assert (b.title, b.cover, b.author, b.outlet, b.tags) == ("新标题", None, "新浪财经", None, ())
    assert (b.id, b.slug, b.published, b.updated) == (a.id, a.slug, NOW, later)
    assert store._db.execute("SELECT editor FROM articles").fetchone() == ("李四",)
    assert store.upsert([revised], later + timedelta(hours=1)).unchanged == 1


# --- deleting ------------------------------------------------------------------------------

STCN_COPY = art(
    "https://www.stcn.com/article/detail/667233.html",
    text="证券时报网讯，据央视新闻从" + BODY,
    source="证券时报网－快讯",
    cats=("金融", "证券时报网"),
)


def test_deleting_a_story_deletes_its_merged_copies_too(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    assert store.upsert([STCN_COPY], NOW).merged == 1
    assert store.delete(SINA, NOW) is not None
    assert store.upsert([STCN_COPY], NOW).deleted == 1, "the copy's own key is tombstoned"
    assert store.count() == 0


def test_a_deleted_story_is_out_of_search_and_near_duplicate_matching(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    assert search.search(store._db, search.parse_query("长江干线")).hits != ()
    assert store.delete(SINA, NOW) is not None
    assert search.search(store._db, search.parse_query("长江干线")).hits == ()
    assert store._db.execute("SELECT COUNT(*) FROM search_fts").fetchone() == (0,)
    # Another outlet's copy of it, never seen before: a story of its own now.
    assert store.upsert([STCN_COPY], NOW).new == 1
    assert [a.link for a in store.recent(5)] == [STCN_COPY.link]


def test_an_article_is_found_by_id_slug_key_or_any_url_form(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    (a,) = store.recent(1)
    wap = "https://finance.sina.cn/2022-08-09/detail-imizmscv5449371.d.html"
    refs = [a.id, a.slug, art(SINA).key, SINA, SINA_WAP, wap, SINA.replace("https:", "HTTPS:")]
    for ref in refs:
        assert store._find_seq(ref) == 1, ref
    assert store._find_seq("https://finance.sina.com.cn/other.shtml") is None
    assert store.delete("no-such-article", NOW) is None
    assert store.delete(a.slug, NOW) == a
    for ref in refs:
        assert store.deleted_at(ref) == NOW, ref
    assert store.deleted_at("https://example.com/never-stored") is None
    assert store.deleted_at("urn:uuid:00000000-0000-5000-8000-000000000000") is None
    store.upsert([art("https://example.com/later")], NOW)
    (later,) = store.recent(1)
    store.delete(later.id, NOW + timedelta(days=1))
    assert store.deleted_at(later.id) == NOW + timedelta(days=1)
    assert store.deleted_at(a.id) == NOW


def test_merged_copies_are_listed_oldest_first(store: Store) -> None:
    store.upsert([art(SINA), art("https://example.com/other", "另一条", "另一条消息" * 20)], NOW)
    copies = [
        replace(
            STCN_COPY, link=f"https://www.stcn.com/article/detail/66723{n}.html", key=f"url:{n}"
        )
        for n in (3, 1, 2)
    ]
    store.upsert([copies[0]], NOW + timedelta(minutes=2))
    store.upsert(copies[1:], NOW + timedelta(minutes=1))  # one arrival: ordered by link
    story, other = sorted(store.recent(5), key=lambda a: a.link != SINA)
    listed = [("证券时报网－快讯", c.link, c.title) for c in (copies[1], copies[2], copies[0])]
    assert store.copies([story.id, other.id, "urn:uuid:none"]) == {story.id: listed}
    assert store.all_ids() == [story.id, other.id]


def test_the_item_hashes_of_a_source_are_those_of_its_last_stored_document(store: Store) -> None:
    store.upsert([art(SINA)], NOW, items=("新浪", [b"a", b"b"]))
    store.upsert([], NOW, items=("证券时报", [b"c"]))
    assert store.item_hashes("新浪") == {b"a", b"b"}
    store.upsert([art(SINA)], NOW, items=("新浪", [b"b", b"d", b"d"]))
    assert store.item_hashes("新浪") == {b"b", b"d"}
    assert store.item_hashes("证券时报") == {b"c"}
    assert store.item_hashes("无此来源") == frozenset()


def test_a_change_to_an_article_marks_the_closed_list_pages_holding_it(store: Store) -> None:
    arts = [art(f"https://example.com/{i}", f"第{i}条", f"正文{i}" * 30) for i in range(4)]
    store.upsert(arts, NOW)
    db = store._db
    for name in (paging.ALL, "金融"):
        paging.close_tail(db, name, 2)  # pages 1 (articles 1, 2) and 2, the tail
    paging.clear(db, paging.dirty(db))
    store.mark_posts_clean(store.all_ids())
    store.upsert([replace(arts[1], title="第1条（更新）")], NOW)
    assert sorted(paging.dirty(db)) == [(paging.ALL, 1), ("金融", 1)]
    assert store.dirty_post_ids() == [store.page(1, 1)[0].id]
    # Merged into: another channel's copy of article 0.
    paging.clear(db, paging.dirty(db))
    store.mark_posts_clean(store.all_ids())
    wap = "https://example.com/0?from=wap"
    copy = replace(arts[0], link=wap, canonical_link=provenance_link(wap), key="url:0-wap")
    copy = replace(copy, source_name="宏观经济", categories=("宏观经济",))
    assert store.upsert([copy], NOW).merged == 1
    assert sorted(paging.dirty(db)) == [(paging.ALL, 1), ("金融", 1)]
    assert store.dirty_post_ids() == [store.page(0, 1)[0].id]


def test_stored_lists_are_readable_utf8_json(store: Store) -> None:
    """An operator's `sqlite3` query sees the categories, titles and tags as written (and a
    CJK character stored as one character, not a six-byte escape)."""
    store.upsert([replace(art(SINA), tags=("贵州茅台 sh600519",))], NOW)
    assert store._db.execute("SELECT categories, tags FROM articles").fetchone() == (
        '["金融", "新浪财经", "新浪财经－国內"]',
        '["贵州茅台 sh600519"]',
    )
    other_headline = replace(STCN_COPY, title="长江干线港口1-7月完成货物吞吐量超20亿吨")
    assert store.upsert([other_headline], NOW).merged == 1  # a channel, another headline
    assert store._db.execute("SELECT alt_titles FROM articles").fetchone() == (
        '["长江干线港口1-7月完成货物吞吐量超20亿吨"]',
    )
    store.upsert([replace(art(SINA), title="新标题", tags=("五粮液",))], NOW)  # revised
    store.attach([art(SINA_WAP, source="宏观经济")], NOW)
    row = store._db.execute("SELECT categories, alt_titles, tags FROM articles").fetchone()
    assert row == (
        '["金融", "新浪财经", "新浪财经－国內", "证券时报网", "证券时报网－快讯", "宏观经济"]',
        '["长江干线港口1-7月完成货物吞吐量超20亿吨"]',
        '["五粮液"]',
    )


def test_pages_past_either_end_are_empty_and_deleted_seqs_are_left_out(store: Store) -> None:
    arts = [art(f"https://example.com/{i}", f"第{i}条", f"正文{i}" * 30) for i in range(5)]
    store.upsert(arts, NOW)
    for offset, limit in [(-1, 2), (5, 2), (8, 2), (2, 0), (0, -1)]:
        assert store.page(offset, limit) == [], (offset, limit)
        assert store.page(offset, limit, "金融") == [], (offset, limit)
    store.delete(arts[2].link, NOW)
    assert [a.title for a in store.list_entries([4, 3, 99, 1])] == ["第3条", "第0条"]
    assert [a.title for a in store.list_entries([5, 3, 1])] == ["第4条", "第0条"]
    assert store.list_entries([]) == []


def test_a_list_entry_carries_the_stored_article_s_listed_fields(store: Store) -> None:
    covers = [None, "https://n.sinaimg.cn/cover.jpg"]
    outlets = [None, "证券时报"]
    arts = [
        replace(
            art(
                f"https://example.com/{i}",
                f"第{i}条",
                f"正文{i}" * 30,
                published=NOW - timedelta(hours=i),
            ),
            cover=covers[i % 2],
            outlet=outlets[i // 2 % 2],
        )
        for i in range(4)
    ]
    store.upsert(arts, NOW)
    seqs = [seq for (seq,) in store.db.execute("SELECT seq FROM articles ORDER BY seq DESC")]
    by_id = {a.id: a for a in store.recent(10)}
    entries = store.list_entries(seqs)
    assert [e.title for e in entries] == ["第3条", "第2条", "第1条", "第0条"]
    for e in entries:
        a = by_id[e.id]
        assert (e.slug, e.title, e.published, e.author, e.cover, e.outlet) == (
            a.slug,
            a.title,
            a.published,
            a.author,
            a.cover,
            a.outlet,
        )
    assert {e.cover for e in entries} == set(covers) and {e.outlet for e in entries} == set(outlets)


def test_a_page_is_counted_from_the_nearer_end_of_its_list(store: Store) -> None:
    """The newest pages, rewritten on every publish, skip no rows however long the list."""
    arts = [art(f"https://example.com/{i}", f"第{i}条", f"正文{i}" * 30) for i in range(10)]
    store.upsert(arts, NOW)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        for category in (None, "金融"):
            statements.clear()
            assert [a.title for a in store.page(7, 2, category)] == ["第7条", "第8条"]
            assert any("DESC LIMIT 2 OFFSET 1" in s for s in statements), statements
            statements.clear()
            assert [a.title for a in store.page(1, 2, category)] == ["第1条", "第2条"]
            assert any("ORDER BY seq LIMIT 2 OFFSET 1" in s for s in statements), statements
    finally:
        store._db.set_trace_callback(None)


def test_the_generation_moves_with_every_batch_that_changes_something(store: Store) -> None:
    store.upsert([art(SINA)], NOW)
    other = art("https://example.com/other", "另一条", "另一条消息" * 20)
    third = art("https://example.com/third", "第三条", "第三条消息" * 20)
    batches = {
        "nothing new": ([art(SINA)], False),
        "a new and a merged one": ([art(SINA_WAP, source="宏观经济"), other], True),
        "a new and a revised one": ([art(SINA, text=BODY + "（更新）"), third], True),
        "a merged one": ([art(SINA_WAP, text=BODY + "（更新）", source="国际")], True),
        "a revised one": ([art(SINA, text=BODY + "（再更新）")], True),
    }
    counts = {}
    for name, (batch, moves) in batches.items():
        before = store.generation()
        r = store.upsert(batch, NOW)
        counts[name] = (r.new, r.updated, r.merged, r.unchanged)
        assert (store.generation() > before) is moves, name
    assert list(counts.values()) == [
        (0, 0, 0, 1),
        (1, 0, 1, 0),
        (1, 1, 0, 0),
        (0, 0, 1, 0),
        (0, 1, 0, 0),
    ]


def test_an_article_without_categories_is_stored_whole(store: Store) -> None:
    bare = replace(art(SINA), categories=())
    assert store.upsert([bare], NOW).new == 1
    assert store.upsert([bare], NOW).unchanged == 1
    (a,) = store.recent(1)
    assert (a.categories, a.links) == ((), (SINA,))


def test_the_signature_an_item_carries_is_the_one_it_is_matched_and_indexed_under(
    store: Store,
) -> None:
    """The poll's workers sign items off the store's lock (prepare.py); the store uses that
    signature, never signing the text again."""
    from aggregator.dedup import signature

    story = art(SINA)
    store.upsert([story], NOW)
    # Signed as the stored story: matched to it, whatever its text.
    unrelated = art("https://example.com/u", "上海昨日本土无新增", "上海市卫健委通报。" * 10)
    signed_as_story = replace(unrelated, signature=signature(story.title, story.text))
    assert store.upsert([signed_as_story], NOW).merged == 1
    # A revision is indexed under the signature it carries too.
    other = art("https://example.com/o", "前三季度规模以上工业增加值增长4.0%", OTHER)
    revised = replace(story, content_html="<p>修订</p>", signature=signature(other.title, OTHER))
    assert store.upsert([revised], NOW).updated == 1
    assert store.upsert([other], NOW).merged == 1
    assert store.count() == 1
    # A new story is indexed under the signature it carries.
    third = art("https://example.com/t", "上半年国民经济运行情况", OTHER[::-1])
    fresh = art("https://example.com/f", "深圳今日", "深圳发布会介绍夏季防汛准备。" * 5)
    assert store.upsert([replace(fresh, signature=signature(third.title, third.text))], NOW).new
    assert store.upsert([third], NOW).merged == 1
    assert store.count() == 2


def test_the_provenance_link_is_the_canonical_url(store: Store) -> None:
    link = "http://Example.com:80/news/1.html?utm_source=rss&b=2&a=1#comments"
    store.upsert([art(link)], NOW)
    (a,) = store.recent(1)
    assert (a.link, a.links) == (link, ("https://example.com/news/1.html?a=1&b=2",))


def test_new_articles_are_indexed_without_looking_up_what_they_replace(store: Store) -> None:
    """A cold ingest is almost all new articles: no per-article index lookup for them (a
    revision does look its old index row up, to replace it)."""
    arts = [art(f"https://example.com/{i}", f"第{i}条", f"正文{i}" * 30) for i in range(3)]
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    try:
        store.upsert(arts, NOW)
        assert not [s for s in statements if "FROM dedup_article WHERE id" in s]
        store.upsert([replace(arts[0], title="第0条（更新）")], NOW)
        assert [s for s in statements if "FROM dedup_article WHERE id" in s]
    finally:
        store._db.set_trace_callback(None)


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
def test_stored_times_are_written_as_strftime_writes_them(
    moment: datetime, offset: timedelta
) -> None:
    """`iso` and `day` take isoformat's faster path where it agrees with strftime, which
    the C library pads differently before the year 1000."""
    aware = moment.replace(tzinfo=timezone(offset))
    assert iso(aware) == aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert day(aware) == aware.strftime("%Y-%m-%d")
    if aware.astimezone(UTC).year >= 1000:  # (strftime's unpadded year does not parse back)
        assert parse_dt(iso(aware)) == aware
