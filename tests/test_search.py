"""Search (SPEC §12) on a real store: any substring of title or text is found, the index
follows revisions, merges and deletes, and a query is only ever literal text."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator import search
from aggregator.search import MAX_QUERY, PAGE, Searcher, parse_query
from aggregator.store import Store
from tests.published import BODY, NOW, art


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "a.db")
    yield s
    s.close()


def find(store: Store, q: str) -> list[str]:
    return [h.title for h in search.search(store.db, parse_query(q)).hits]


def test_any_substring_of_text_or_title_is_found(store: Store) -> None:
    store.upsert([art("https://example.com/1")], NOW)
    other = art(
        "https://example.com/2", title="央行开展逆回购操作", text="央行今日开展7天期逆回购。"
    )
    store.upsert([other], NOW)
    title = "1-7月长江干线港口完成货物吞吐量超20亿吨"
    assert find(store, "集装箱铁水联运") == [title]  # 3+ characters: the trigram index
    assert find(store, "港口") == [title]  # 2 characters: the fallback
    assert find(store, "吨") == [title]  # 1 character
    assert find(store, "逆回购") == ["央行开展逆回购操作"]
    assert find(store, "干线港口完成") == [title]  # in the title
    assert find(store, "港口 同比增长") == [title]  # every term must appear
    assert find(store, "港口 逆回购") == []
    assert find(store, "不存在的词语") == []


def test_title_matches_first_then_newest_published_not_arrival(store: Store) -> None:
    """The best match first (every term in the title), then the rest; within each, the
    newest published first — whatever order the articles arrived in."""

    def add(n: int, title: str, text: str, hours: int) -> str:
        a = art(
            f"https://example.com/{n}",
            title=title,
            text=text,
            published=NOW - timedelta(hours=hours),
        )
        store.upsert([a], NOW + timedelta(minutes=n))  # arrival: n
        return title

    old_title = add(1, "长江港口吞吐量创新高", "正文说了别的事情。", hours=30)
    newest_body = add(2, "今日要闻", "长江港口吞吐量同比增长。", hours=1)
    split = add(3, "长江航运快讯", "港口吞吐平稳，吞吐量持平。", hours=2)  # terms apart: body rank
    older_body = add(4, "一周回顾", "提到长江港口吞吐量的旧闻。", hours=20)
    new_title = add(5, "长江港口吞吐量再创新高", "正文。", hours=3)
    add(6, "无关新闻", "完全无关的内容。", hours=0)
    ranked = [new_title, old_title, newest_body, older_body]
    assert find(store, "港口吞吐量") == ranked
    assert find(store, "长江港口吞吐量") == ranked
    assert find(store, "长江 吞吐量") == [new_title, old_title, newest_body, split, older_body]
    assert find(store, "港口 长江") == [new_title, old_title, newest_body, split, older_body]


def test_a_scan_is_newest_published_first(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for n, hours in enumerate([5, 1, 9, 3]):
        title = f"芯片新闻{n}" if n == 2 else f"新闻{n}"
        text = f"第{n}条，芯片。"
        a = art(
            f"https://example.com/{n}",
            title=title,
            text=text,
            published=NOW - timedelta(hours=hours),
        )
        store.upsert([a], NOW)
    monkeypatch.setattr(search, "MAX_EXPANSION", 0)  # every short term scanned
    results = search.search(store.db, parse_query("芯片"))
    assert [h.title for h in results.hits] == ["新闻1", "新闻3", "新闻0", "芯片新闻2"]
    assert not results.ranked  # too common to rank: the page says newest first only
    assert search.search(store.db, parse_query("芯片新闻")).ranked


def test_pages_follow_the_order(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A first poll stores a list newest first: arrival is the reverse of publication.
    for i in range(PAGE + 5):
        a = art(
            f"https://example.com/{i}",
            title=f"第{i}号公告",
            text=f"公告正文编号{i}，内容{i * 7}",
            published=NOW - timedelta(minutes=i),
        )
        store.upsert([a], NOW)
    newest = [f"第{i}号公告" for i in range(PAGE + 5)]
    for q in ("公告正文", "公告"):  # through the index; through its vocabulary
        first = search.search(store.db, parse_query(q))
        assert [h.title for h in first.hits] == newest[:PAGE] and first.next_start
        rest = search.search(store.db, parse_query(q), first.next_start)
        assert [h.title for h in rest.hits] == newest[PAGE:] and rest.next_start is None
    monkeypatch.setattr(search, "MAX_EXPANSION", 0)  # a scan pages the same way
    first = search.search(store.db, parse_query("公告"))
    rest = search.search(store.db, parse_query("公告"), first.next_start)
    assert [h.title for h in (*first.hits, *rest.hits)] == newest


def test_a_common_term_is_ranked_block_by_block_of_its_newest_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matches are ranked `RANK_BLOCK` at a time, newest arrivals first; pages run on
    across blocks without a gap or a repeat."""
    _store_of(store, 7)  # arrival i; the later an article arrived, the older it is
    monkeypatch.setattr(search, "RANK_BLOCK", 3)
    # blocks by arrival, newest first: 6 5 4 | 3 2 1 | 0; each newest published first
    expected = [f"第{i}号" for i in (4, 5, 6, 1, 2, 3, 0)]
    assert find(store, "共同的内容") == expected
    monkeypatch.setattr(search, "PAGE", 2)
    seen: list[str] = []
    start = None
    while True:
        page = search.search(store.db, parse_query("共同的内容"), start)
        seen += [h.title for h in page.hits]
        if page.next_start is None:
            break
        start = page.next_start
    assert seen == expected


def test_match_is_shown_in_context(store: Store) -> None:
    store.upsert([art("https://example.com/1")], NOW)
    (hit,) = search.search(store.db, parse_query("铁水联运")).hits
    marked = f"{search.HIT_START}铁水联运{search.HIT_END}"
    assert marked in hit.snippet
    assert len(hit.snippet) < 80 and hit.snippet.startswith("…")


def test_index_follows_revisions_merges_and_deletes(store: Store) -> None:
    a = art("https://example.com/1")
    store.upsert([a], NOW)
    revised = replace(a, text="更正后的正文：港口数据有误。", content_html="<p>更正后的正文</p>")
    assert store.upsert([revised], NOW + timedelta(hours=1)).updated == 1
    assert find(store, "铁水联运") == []
    assert find(store, "港口数据有误") == [a.title]
    copy = art("https://www.stcn.com/x.html", source="证券时报网", text=revised.text)
    assert store.upsert([copy], NOW + timedelta(hours=1)).merged == 1
    assert find(store, "港口数据有误") == [a.title]  # one article, not two
    (stored,) = store.recent(1)
    store.delete(stored.id, NOW + timedelta(hours=2))
    assert find(store, "港口数据有误") == [] and find(store, "港口") == []
    (n,) = store.db.execute("SELECT COUNT(*) FROM search_fts").fetchone()
    assert n == 0


def test_a_failed_batch_leaves_the_index_as_it_was(store: Store) -> None:
    store.upsert([art("https://example.com/1")], NOW)

    class Boom(Exception):
        pass

    bad = replace(art("https://example.com/2", title="新文章标题", text="全新的正文内容"))
    original = store._flush

    def flush_then_fail(rows):  # type: ignore[no-untyped-def]
        original(rows)
        if rows is not None:
            raise Boom

    store._flush = flush_then_fail  # type: ignore[method-assign]
    with pytest.raises(Boom):
        store.upsert([bad], NOW)
    store._flush = original  # type: ignore[method-assign]
    assert find(store, "全新的正文") == []
    assert store.count() == 1


SYNTAX = [
    '"',
    '""',
    '"港口',
    "*",
    "港口*",
    "AND",
    "港口 OR 央行",
    "NOT 港口",
    "NEAR(港口 吞吐量)",
    "title:港口",
    "body:港口",
    "(港口",
    ")",
    "{title body}: 港口",
    "^港口",
    "港口 + 央行",
    "%",
    "_",
    "\\",
    "'",
    "港口%",
    "-港口",
    "\x00",
]


@pytest.mark.parametrize("q", SYNTAX)
def test_query_syntax_is_literal_text(store: Store, q: str) -> None:
    store.upsert([art("https://example.com/1")], NOW)
    store.upsert(
        [art("https://example.com/2", title="含有 NEAR(港口 吞吐量) 的标题", text="x")], NOW
    )
    found = find(store, q)  # never raises
    for title in found:  # and whatever it finds holds the words literally
        stored = next(a for a in store.recent(5) if a.title == title)
        haystack = (stored.title + BODY + "x").lower()
        assert all(t.lower() in haystack for t in q.split()), (q, title)
    if q in ("_", "*", '"', "\\", "'"):
        assert found == []  # not a wildcard, not an error ('%' is in the text: found)


def test_long_queries_are_cut() -> None:
    q = parse_query("港" * 5000)
    assert q.cut and len(q.text) == MAX_QUERY
    assert not parse_query("港口").cut
    assert parse_query("  港口\t\n吞吐量  ").terms == ("港口", "吞吐量")
    assert parse_query("").terms == () and parse_query("   ").terms == ()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_substring_of_the_text_finds_the_article(store: Store, data: st.DataObject) -> None:
    if store.count() == 0:
        store.upsert([art("https://example.com/1")], NOW)
    start = data.draw(st.integers(0, len(BODY) - 1))
    length = data.draw(st.integers(1, 12))
    piece = BODY[start : start + length]
    if not piece.strip():
        return
    assert find(store, piece) == ["1-7月长江干线港口完成货物吞吐量超20亿吨"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=40))
def test_no_query_raises(store: Store, q: str) -> None:
    if store.count() == 0:
        store.upsert([art("https://example.com/1")], NOW)
    search.search(store.db, parse_query(q))


def test_searcher_reads_on_its_own_read_only_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    searcher = Searcher(tmp_path / "a.db")
    try:
        store.upsert([art("https://example.com/1")], NOW)
        assert [h.title for h in searcher.search("铁水联运").hits] == [store.recent(1)[0].title]
        conn = searcher._conn()
        with pytest.raises(sqlite3.OperationalError):
            conn.execute("DELETE FROM search_fts")
        # A new article committed by the writer is visible to the next search.
        store.upsert([art("https://example.com/2", title="新消息", text="全新的正文内容")], NOW)
        assert [h.title for h in searcher.search("全新的正文").hits] == ["新消息"]
    finally:
        searcher.close()
        store.close()


def test_short_terms_go_through_the_index_even_at_the_end_of_a_text(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.upsert([art("https://example.com/1", title="无关标题", text="这是芯片")], NOW)
    store.upsert([art("https://example.com/2", title="芯片行业", text="别的内容")], NOW)
    store.upsert([art("https://example.com/3", title="Ab", text="没有")], NOW)
    assert find(store, "芯片") == ["芯片行业", "无关标题"]
    assert search.search(store.db, parse_query("片")).ranked  # the index, not a scan
    assert find(store, "片") == ["芯片行业", "无关标题"]
    assert find(store, "ab") == ["Ab"] and find(store, "b") == ["Ab"]
    assert find(store, "芯片 别的") == ["芯片行业"]
    assert find(store, "无芯") == []
    (hit,) = search.search(store.db, parse_query("芯片 这是")).hits
    assert search.PAD not in hit.snippet + hit.title


def test_a_term_too_common_to_expand_is_scanned(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.upsert([art("https://example.com/1", title="无关标题", text="这是芯片")], NOW)
    monkeypatch.setattr(search, "MAX_EXPANSION", 0)
    assert find(store, "芯片") == ["无关标题"]
    assert find(store, "芯片 这是芯片") == ["无关标题"]


def test_a_long_term_needs_its_characters_in_a_row_in_one_column(store: Store) -> None:
    """The index keeps no positions: every trigram of 港口数据 is in the first article,
    but never in a row; the second has it split between title and text. Neither is found,
    as a phrase query did not find them; the third, which holds it, is."""
    apart = art("https://example.com/1", title="第一篇", text="港口数量增加，口数据统计完成。")
    split = art("https://example.com/2", title="港口数", text="数据都在正文里。")
    holds = art("https://example.com/3", title="第三篇", text="今年港口数据有误。")
    store.upsert([apart, split, holds], NOW)
    assert sorted(find(store, "港口数据")) == ["第三篇"]
    assert sorted(find(store, "港口数")) == ["港口数", "第一篇", "第三篇"]
    (hit,) = search.search(store.db, parse_query("港口数据")).hits
    assert f"{search.HIT_START}港口数据{search.HIT_END}" in hit.snippet


def test_case_is_folded_as_the_index_folds_it(store: Store) -> None:
    """İ is not i to the trigram tokenizer (a regex's IGNORECASE says it is), ſ is s and
    ς is σ to it (Python's lower() says they are not)."""
    store.upsert(
        [
            art("https://example.com/1", title="第一篇", text="ais在前，isa在后，只有aİsa连着"),
            art("https://example.com/2", title="第二篇", text="ſtatus报告全文"),
            art("https://example.com/3", title="第三篇", text="ΟΔΟΣ的报道"),
        ],
        NOW,
    )
    assert find(store, "aisa") == []
    assert find(store, "aİsa") == ["第一篇"]
    assert find(store, "STATUS报告") == ["第二篇"]
    assert find(store, "οδος的") == ["第三篇"]


# Characters whose case the index folds, among them some that Python's lower() or a regex's
# IGNORECASE fold otherwise (ſ → s, ς → σ, ϐ → β; İ is not folded at all): a query writes
# each character of the text as any of its group.
_LOOKALIKE = ["aA", "sSſ", "kK", "σΣς", "βϐ", "iIİ", "港", "口"]
_CASED = "".join(_LOOKALIKE)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.text(_CASED, min_size=4, max_size=30), min_size=1, max_size=6), data=st.data()
)
def test_long_terms_find_what_a_phrase_query_finds(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], data: st.DataObject
) -> None:
    """A term of 4+ characters finds exactly the articles a phrase query of it finds in
    an index with positions (FTS5 detail=full, the same trigram tokenizer), case folding
    included."""
    store = Store(tmp_path_factory.mktemp("fold") / "a.db")
    reference = sqlite3.connect(":memory:")
    try:
        store.upsert(
            [
                art(f"https://example.com/{i}", title=f"标题{i}号", text=t)
                for i, t in enumerate(texts)
            ],
            NOW,
        )
        reference.execute("CREATE VIRTUAL TABLE r USING fts5(title, body, tokenize = 'trigram')")
        rows = store.db.execute("SELECT rowid, title, body FROM search_fts").fetchall()
        reference.executemany("INSERT INTO r (rowid, title, body) VALUES (?,?,?)", rows)
        source = data.draw(st.sampled_from(texts))
        at = data.draw(st.integers(0, max(0, len(source) - 4)))
        group = {c: g for g in _LOOKALIKE for c in g}
        term = "".join(data.draw(st.sampled_from(group[c])) for c in source[at : at + 6])
        if len(term) < 4:
            return
        phrase = '"' + term.replace('"', '""') + '"'
        expected = {
            r[0] for r in reference.execute("SELECT rowid FROM r WHERE r MATCH ?", (phrase,))
        }
        found = {h.seq for h in search.search(store.db, parse_query(term)).hits}
        assert found == expected, term
    finally:
        reference.close()
        store.close()


# --- bounded cost: a budget on every page, cursors instead of offsets -------------------


def _store_of(store: Store, n: int, text: str = "共同的内容") -> list[int]:
    """n articles holding `text`; arrival is the reverse of publication (as a first poll
    stores a list). Returns their seqs, newest published first."""
    for i in range(n):
        a = art(
            f"https://example.com/{i}",
            title=f"第{i}号",
            text=f"{text}{i}",
            published=NOW - timedelta(minutes=i),
        )
        store.upsert([a], NOW + timedelta(seconds=i))
    return [h.seq for h in search.search(store.db, parse_query(text)).hits]


def _every_page(store: Store, q: str, limit: int = 500) -> tuple[list[int], int, int]:
    """Follow the next links from the first page: (seqs in page order, pages, pages cut)."""
    seqs: list[int] = []
    start, pages, cut = None, 0, 0
    while pages < limit:
        page = search.search(store.db, parse_query(q), start)
        seqs += [h.seq for h in page.hits]
        pages += 1
        cut += page.partial
        if page.next_start is None:
            return seqs, pages, cut
        start = page.next_start
    raise AssertionError(f"still paging after {limit} pages")


def _ticking(monkeypatch: pytest.MonkeyPatch, budget: int) -> None:
    """A budget of `budget` looks at a clock that moves one second at each look: a cut
    after as many rows as that (or SQLite steps), whatever the machine's speed."""
    ticks = itertools.count()
    monkeypatch.setattr(search, "_now", lambda: float(next(ticks)))
    monkeypatch.setattr(search, "BUDGET", float(budget))


@pytest.mark.parametrize("q", ["共同的内容", "共同", "同"])  # long term, short: index, scan
def test_a_spent_budget_cuts_the_page_and_its_link_continues_where_it_stopped(
    store: Store, monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    """A page cut short by the budget holds what was found until then, says it was cut,
    and links on from the last row it examined: following the links finds every match
    once (a block cut short is ranked as it was read, and read again for its next page)."""
    _store_of(store, 45)
    monkeypatch.setattr(search, "RANK_BLOCK", 8)
    if q == "同":
        monkeypatch.setattr(search, "MAX_EXPANSION", 0)  # a scan, newest published first
    whole, _, cut = _every_page(store, q)
    assert len(whole) == 45 and cut == 0
    _ticking(monkeypatch, 12)
    first = search.search(store.db, parse_query(q))
    assert first.partial and first.next_start and len(first.hits) < PAGE
    seqs, pages, cut = _every_page(store, q)
    assert sorted(seqs) == sorted(whole)  # none lost, none twice
    assert cut > 0 and pages > 3
    if q == "同":
        assert seqs == whole  # a scan keeps the published order across cuts


def test_pages_stay_put_when_articles_arrive_between_them(store: Store) -> None:
    """A cursor, not an offset: an article stored after page 1 was shown neither shifts
    page 2 (no repeat, no gap) nor appears in it (it is above the first page)."""
    newest = _store_of(store, PAGE + 5)
    first = search.search(store.db, parse_query("共同的内容"))
    late = art("https://example.com/late", title="晚到", text="共同的内容晚到", published=NOW)
    store.upsert([late], NOW + timedelta(hours=1))
    rest = search.search(store.db, parse_query("共同的内容"), first.next_start)
    assert [h.seq for h in (*first.hits, *rest.hits)] == newest + [
        h.seq for h in rest.hits[len(newest) - PAGE :]
    ]
    assert [h.seq for h in first.hits] == newest[:PAGE]
    assert "晚到" not in [h.title for h in rest.hits] and len(rest.hits) == 5


def test_a_page_reads_no_row_of_an_earlier_block(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deep pages cost what one page costs: the rows a page examines all lie below where
    its cursor points (no OFFSET skipping the earlier pages' rows again)."""
    _store_of(store, 60)
    monkeypatch.setattr(search, "RANK_BLOCK", 10)
    monkeypatch.setattr(search, "PAGE", 5)
    examined: list[list[int]] = []
    real = search._examined

    def spy(*args: object, **kwargs: object) -> Iterator[tuple[int, int]]:
        for row in real(*args, **kwargs):  # type: ignore[arg-type]
            examined[-1].append(row[0])
            yield row

    monkeypatch.setattr(search, "_examined", spy)
    start = None
    pages = 0
    while True:
        examined.append([])
        page = search.search(store.db, parse_query("共同的内容"), start)
        pages += 1
        if start is not None:
            hi = int(start[1:].split("_")[0])
            assert examined[-1] and max(examined[-1]) < hi
        if page.next_start is None:
            break
        start = page.next_start
    assert pages == 12
    assert sum(map(len, examined)) <= 2 * 60 + pages  # each row read twice at most


@pytest.mark.parametrize(
    "start", ["", "x", "20", "r", "r-1", "r1_2", "s", "s-5", "r" + "9" * 40, "s999999999"]
)
def test_a_start_that_is_no_cursor_gives_a_page_never_an_error(store: Store, start: str) -> None:
    newest = _store_of(store, 3)
    for q in ("共同的内容", "共"):
        seqs = [h.seq for h in search.search(store.db, parse_query(q), start).hits]
        assert seqs in (newest, [])  # the first page, or (a cursor past the end) nothing


def test_a_forged_cursor_over_every_row_is_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every article holds both trigrams of 口数据港, none the whole term: every row of a
    forged block over all rows would be read and rejected, until the budget stops it."""
    _store_of(store, 60, "港口数据，数据港")
    assert search.search(store.db, parse_query("口数据港")).hits == ()
    _ticking(monkeypatch, 12)
    page = search.search(store.db, parse_query("口数据港"), "r999999999_1_0")
    assert page.partial and page.hits == ()
