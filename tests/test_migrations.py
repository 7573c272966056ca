"""Schema versions and migrations: a database written by an earlier release is
upgraded in place with nothing lost; one from a newer release is refused and left as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from array import array
from dataclasses import replace
from pathlib import Path

import pytest

from aggregator import config, migrations, search
from aggregator.dedup import headline_hash
from aggregator.errors import StoreError
from aggregator.migrations import LATEST, MIGRATIONS, Migration, SchemaTooNewError
from aggregator.outputs import publish as publish_outputs
from aggregator.store import Store
from tests.published import NOW, art

REPO = Path(__file__).resolve().parents[1]
RELEASE_0_1 = Path(__file__).parent / "data" / "schema" / "release-0.1.db"


def table_contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, by the columns the table has in that file."""
    con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out = {}
        for t in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
            out[t] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall(), key=repr)
        return out
    finally:
        con.close()


def rows_in(path: Path, table: str, columns: list[str]) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
    finally:
        con.close()


def column_names(path: Path, table: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    finally:
        con.close()


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    db = tmp_path / "var" / "old.db"
    db.parent.mkdir()
    shutil.copy(RELEASE_0_1, db)
    return db


def test_the_checked_in_database_is_from_before_versions() -> None:
    con = sqlite3.connect(f"{RELEASE_0_1.as_uri()}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA user_version").fetchone() == (0,)
        assert con.execute("SELECT COUNT(*) FROM articles").fetchone()[0] > 10
        assert con.execute("SELECT COUNT(*) FROM copies").fetchone()[0] > 0
        assert con.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0] > 0
    finally:
        con.close()


def test_release_0_1_database_is_upgraded_keeping_everything(old_db: Path) -> None:
    before = table_contents(old_db)
    Store(old_db).close()
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (LATEST,)
    for table, rows in before.items():
        old_columns = [
            r[1]
            for r in sqlite3.connect(f"{RELEASE_0_1.as_uri()}?mode=ro", uri=True).execute(
                f"PRAGMA table_info({table})"
            )
        ]
        assert set(old_columns) <= set(column_names(old_db, table)), table
        assert rows_in(old_db, table, old_columns) == rows, f"{table} changed in the upgrade"


def test_an_upgrade_says_which_step_runs_before_running_it(
    old_db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step may take minutes on a big store (migration 10 rebuilds the search index): the
    operator sees which one is running, not only that the upgrade ended."""
    seen: list[str] = []
    last = MIGRATIONS[-1]

    def watched(conn: sqlite3.Connection) -> None:
        seen.extend(r.getMessage() for r in caplog.records)
        last.apply(conn)

    steps = (*MIGRATIONS[:-1], Migration(last.number, last.summary, watched))
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    with caplog.at_level("INFO", logger="aggregator.migrations"):
        Store(old_db).close()
    assert seen[-1] == f"database {old_db}: schema version {last.number}: {last.summary}"
    assert [r.getMessage() for r in caplog.records][-1].endswith(
        f"schema upgraded from version 0 to {LATEST}"
    )


def test_a_new_database_says_nothing_of_upgrades(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="aggregator.migrations"):
        Store(tmp_path / "new.db").close()
    assert not [r for r in caplog.records if "schema" in r.getMessage()]


def test_upgraded_state_is_the_state_the_code_reads(old_db: Path) -> None:
    store = Store(old_db)
    try:
        china = store.source_state("新浪财经－国內", "file:demo/sina-china.xml")
        assert china.etag == '"v1-etag"'
        assert china.last_modified == "Tue, 01 Dec 2026 03:00:00 GMT"
        assert china.error_count == 3 and china.last_error_kind == "http_5xx"
        assert china.redirect_candidate == "https://example.org/moved.xml"
        assert china.next_poll is not None
        assert store.source_state("新浪财经－宏观经济", "file:demo/sina-macro.xml").gone
        assert len(store.deleted_slugs()) == 1
        seed = [a for a in store.recent(100) if a.title.startswith("工信部")]
        assert len(seed) == 1
        assert {"新浪财经－国內", "新浪财经－宏观经济"} <= set(seed[0].categories)
    finally:
        store.close()


def test_a_poll_after_the_upgrade_finds_every_story_known(old_db: Path, tmp_path: Path) -> None:
    """Merges, copies and tombstones survived: re-reading the same feeds adds nothing."""
    n_before = rows_in(old_db, "articles", ["COUNT(*)"])[0][0]
    text = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('"../var/demo.db"', f'"{old_db}"')
    text = text.replace('"../demo-public"', f'"{tmp_path / "public"}"')
    text = text.replace('"file:demo/', f'"file:{REPO / "config" / "demo"}/')
    native = text[text.index("# Native Sina sources") : text.index("# End of native sources")]
    text = text.replace(native, "")  # release 0.1 read only the feeds
    cfg = tmp_path / "demo.toml"
    cfg.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "AGGREGATOR_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "once", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert rows_in(old_db, "articles", ["COUNT(*)"])[0][0] == n_before
    (deleted,) = rows_in(old_db, "tombstones", ["DISTINCT slug"])
    posts = {p.stem for p in (tmp_path / "public" / "posts").glob("*.md")}
    assert len(posts) == n_before and deleted[0] not in posts


def test_a_new_database_starts_at_the_latest_version(tmp_path: Path) -> None:
    Store(tmp_path / "new.db").close()
    assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA user_version").fetchone() == (
        LATEST,
    )
    Store(tmp_path / "new.db").close()  # opening again applies nothing


def test_a_database_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE future (x)")
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.commit()
    con.close()
    before = db.read_bytes()
    with pytest.raises(SchemaTooNewError, match=r"newer release.*not modified"):
        Store(db)
    with pytest.raises(SchemaTooNewError):
        Store(db, readonly=True)
    assert db.read_bytes() == before
    assert not Path(f"{db}-wal").exists()


def test_the_cli_names_the_problem_with_a_newer_database(tmp_path: Path) -> None:
    db = tmp_path / "var" / "agg.db"
    db.parent.mkdir()
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version = {LATEST + 7}")
    con.commit()
    con.close()
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        '[storage]\npath = "var/agg.db"\n[output]\ndir = "public"\n'
        'base_url = "http://127.0.0.1:8080/"\ntitle = "t"\n[server]\n'
        '[[sources]]\nname = "s"\nurl = "file:none.xml"\n',
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "once", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"schema version {LATEST + 7}" in done.stderr and "Traceback" not in done.stderr


def test_an_empty_file_is_not_taken_as_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "agg.db"
    db.touch()
    with pytest.raises(StoreError, match="empty file"):
        Store(db)
    assert db.stat().st_size == 0


def test_a_failing_migration_leaves_the_database_at_its_version(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_contents(old_db)
    old_columns = {t: column_names(old_db, t) for t in before}

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE articles ADD COLUMN doomed TEXT")
        raise sqlite3.OperationalError("disk I/O error")

    broken = (*MIGRATIONS, Migration(LATEST + 1, "fails half way", half_done))
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    with pytest.raises(StoreError, match="disk I/O"):
        Store(old_db)
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (LATEST,)
    assert "doomed" not in column_names(old_db, "articles")
    # Migrations before the failing one did their work (new columns); no row was lost.
    assert all(rows_in(old_db, t, old_columns[t]) == rows for t, rows in before.items())


def test_a_read_only_connection_refuses_a_database_not_yet_upgraded(old_db: Path) -> None:
    with pytest.raises(StoreError, match="not upgraded yet"):
        Store(old_db, readonly=True)
    Store(old_db).close()
    Store(old_db, readonly=True).close()


def test_migrations_are_numbered_one_by_one() -> None:
    assert [m.number for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert all(m.summary for m in MIGRATIONS)


def test_version_1_gains_alternative_titles_from_its_copies(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 2 (issue 13): every article gets its alternative titles, rebuilt from the
    copies merged into it before (a copy under the same headline, up to punctuation or a
    signing outlet, adds none); the dedup index gains its body digests, 0 for old rows."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:1])
        m.setattr(migrations, "LATEST", 1)
        Store(old_db).close()
    con = sqlite3.connect(old_db)
    assert con.execute("PRAGMA user_version").fetchone() == (1,)
    (seq,) = con.execute(
        "SELECT seq FROM articles WHERE title = '1-7月长江干线港口完成货物吞吐量超20亿吨'"
    ).fetchone()
    copies = [
        (
            "url:https://example.com/2",
            "长江干线港口集装箱铁水联运量同比增长86.5%",
            "2022-08-09T14:20:00Z",
        ),
        (
            "url:https://example.com/3",
            "【财联社】1-7月长江干线港口完成货物吞吐量超20亿吨！",
            "2022-08-09T14:25:00Z",
        ),
        (
            "url:https://example.com/1",
            "1-7月长江干线集装箱吞吐量1367万标箱",
            "2022-08-09T14:10:00Z",
        ),
    ]
    con.executemany(
        "INSERT INTO copies (key, seq, source, link, title, first_seen)"
        " VALUES (?, ?, 's', ?, ?, ?)",
        [(k, seq, k[4:], t, at) for k, t, at in copies],
    )
    con.commit()
    con.close()
    before = table_contents(old_db)
    old_columns = {t: column_names(old_db, t) for t in before}

    store = Store(old_db)
    try:
        merged = [a for a in store.recent(100) if a.title.startswith("1-7月长江")]
        assert [a.alt_titles for a in merged] == [
            ("1-7月长江干线集装箱吞吐量1367万标箱", "长江干线港口集装箱铁水联运量同比增长86.5%")
        ]
        assert all(a.alt_titles == () for a in store.recent(100) if a not in merged)
    finally:
        store.close()
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (LATEST,)
    assert rows_in(old_db, "dedup_article", ["DISTINCT body, lead, rest"]) == [(0, 0, 0)]
    (aliases,) = [r[0] for r in rows_in(old_db, "dedup_article", ["aliases"]) if r[0]]
    assert aliases == array("q", (headline_hash(t) for t in merged[0].alt_titles)).tobytes()
    for table, rows in before.items():
        assert rows_in(old_db, table, old_columns[table]) == rows, table


def test_migration_3_adds_the_source_warning_keeping_the_sources(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rows_in(old_db, "sources", ["name", "url", "error_count"])
    with monkeypatch.context() as m:  # a version-2 database: what the release before wrote
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:2])
        m.setattr(migrations, "LATEST", 2)
        Store(old_db).close()
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (2,)
    assert "last_warning" not in column_names(old_db, "sources")
    Store(old_db).close()
    assert "last_warning" in column_names(old_db, "sources")
    assert rows_in(old_db, "sources", ["name", "url", "error_count"]) == before
    assert {r[0] for r in rows_in(old_db, "sources", ["last_warning"])} == {None}


def test_version_3_gains_outlets_tags_and_listed_items(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 4 (native sources): a database at version 3 keeps every row, its articles
    read with no outlet and no tags, and it can remember what native sources listed."""
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:3])
        m.setattr(migrations, "LATEST", 3)
        Store(old_db).close()
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (3,)
    before = table_contents(old_db)
    old_columns = {t: column_names(old_db, t) for t in before}
    store = Store(old_db)
    try:
        assert migrations.version(store._db) == LATEST >= 4
        articles = store.recent(100)
        assert articles and all(a.outlet is None and a.tags == () for a in articles)
        assert not store.has_listed("新浪财经－国內")
        state = store.source_state("新浪财经－国內", "file:demo/sina-china.xml")
        assert state.pages_pending == 0 and state.last_page_error is None
    finally:
        store.close()
    for table, rows in before.items():
        assert rows_in(old_db, table, old_columns[table]) == rows, table
    assert {"outlet", "tags"} <= set(column_names(old_db, "articles"))
    assert column_names(old_db, "listed")


def _at_version(db: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(migrations, "MIGRATIONS", MIGRATIONS[:version])
        m.setattr(migrations, "LATEST", version)
        Store(db).close()


def test_migration_5_fills_the_publishing_index_and_counts(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 5 on a version-4 database: every category row carries its article's
    published time and id, and the maintained counts are what counting finds."""
    _at_version(old_db, 4, monkeypatch)
    Store(old_db).close()
    con = sqlite3.connect(old_db)
    try:
        stale = con.execute(
            "SELECT COUNT(*) FROM article_categories c JOIN articles a ON a.seq = c.seq"
            " WHERE c.published != a.published OR c.id != a.id"
        ).fetchone()[0]
        assert stale == 0
        counted = con.execute(
            "SELECT category, COUNT(*) FROM article_categories GROUP BY category ORDER BY 1"
        ).fetchall()
        assert len(counted) > 2
        assert (
            con.execute("SELECT category, n FROM category_counts ORDER BY 1").fetchall() == counted
        )
        (total,) = con.execute("SELECT COUNT(*) FROM articles").fetchone()
        assert con.execute("SELECT n FROM article_count").fetchone() == (total,)
        plan = " ".join(
            r[-1]
            for r in con.execute(
                "EXPLAIN QUERY PLAN SELECT seq FROM article_categories WHERE category = ?"
                " ORDER BY published DESC, id LIMIT 50",
                ("x",),
            )
        )
        assert "article_categories_recent" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        con.close()


def test_migration_6_starts_with_no_item_known(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from version 5, every source's next changed document is prepared in full."""
    _at_version(old_db, 5, monkeypatch)
    store = Store(old_db)
    try:
        assert store.item_hashes("新浪财经－国內") == frozenset()
        assert column_names(old_db, "source_items") == ["source", "hash"]
    finally:
        store.close()


def test_version_6_gains_the_search_index_and_site_pages(
    old_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 7: every article stored before it is searchable and gets its page."""
    _at_version(old_db, 6, monkeypatch)  # the database as the previous release left it
    assert sqlite3.connect(old_db).execute("PRAGMA user_version").fetchone() == (6,)
    before = table_contents(old_db)
    store = Store(old_db)
    try:
        assert migrations.version(store.db) == LATEST
        n = store.count()
        assert store.db.execute("SELECT COUNT(*) FROM search_fts").fetchone() == (n,)
        hits = search.search(store.db, search.parse_query("中小企业发展规划")).hits
        assert [h.title[:3] for h in hits] == ["工信部"]
        assert [h.title[:3] for h in search.search(store.db, search.parse_query("规划")).hits]
        for table, rows in before.items():  # nothing else moved
            assert rows_in(old_db, table, column_names(old_db, table)) == rows, table
        settings = config.parse(
            {
                "storage": {"path": str(old_db)},
                "output": {"dir": str(tmp_path / "public"), "base_url": "http://x/", "title": "t"},
                "server": {"port": 8080},
                "sources": [{"name": "新浪财经－国內", "url": "https://example.com/"}],
            },
            tmp_path / "c.toml",
        )
        publish_outputs(settings, store)
        pages = list((tmp_path / "public" / "articles").glob("*.html"))
        assert len(pages) == n
    finally:
        store.close()


def test_migration_8_sets_the_search_index_merge_width_keeping_it_searchable(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from version 7: FTS5 merges 16 segments at a time; what was indexed before
    is found as before, and articles stored after it are indexed too."""
    _at_version(old_db, 7, monkeypatch)
    con = sqlite3.connect(old_db)
    assert con.execute("SELECT v FROM search_fts_config WHERE k = 'automerge'").fetchall() == []
    con.close()
    query = search.parse_query("中小企业发展规划")
    store = Store(old_db)
    try:
        assert migrations.version(store.db) == LATEST >= 8
        config_rows = store.db.execute("SELECT k, v FROM search_fts_config WHERE k = 'automerge'")
        assert config_rows.fetchall() == [("automerge", 16)]
        assert [h.title[:3] for h in search.search(store.db, query).hits] == ["工信部"]
        (n,) = store.db.execute("SELECT COUNT(*) FROM search_fts").fetchone()
        assert n == store.count()
        integrity = "INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)"
        store.db.execute(integrity)  # raises if the index disagrees with its content
    finally:
        store.close()


def test_migration_9_leaves_merging_to_automerge_keeping_it_searchable(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from version 8: no crisis merge before 64 segments (automerge merges in
    small steps); the index still finds what it held and holds every article."""
    _at_version(old_db, 8, monkeypatch)
    con = sqlite3.connect(old_db)
    assert con.execute("SELECT v FROM search_fts_config WHERE k = 'crisismerge'").fetchall() == []
    con.close()
    store = Store(old_db)
    try:
        assert migrations.version(store.db) == LATEST >= 9
        rows = store.db.execute("SELECT k, v FROM search_fts_config WHERE k LIKE '%merge'")
        assert sorted(rows.fetchall()) == [("automerge", 16), ("crisismerge", 64)]
        hits = search.search(store.db, search.parse_query("中小企业发展规划")).hits
        assert [h.title[:3] for h in hits] == ["工信部"]
        (n,) = store.db.execute("SELECT COUNT(*) FROM search_fts").fetchone()
        assert n == store.count()
        store.db.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        store.close()


def test_migration_10_drops_the_index_positions_finding_the_same(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from version 9: the index is rebuilt without positions (detail=none), with
    every article and its merge settings; each query finds the same hits, snippets included,
    and what is stored after it is indexed too."""
    _at_version(old_db, 9, monkeypatch)
    queries = ["中小企业发展规划", "规划", "工信部", "发展 规划", "的", "小企业"]
    con = sqlite3.connect(old_db)
    try:
        assert (
            "detail"
            not in con.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'search_fts'"
            ).fetchone()[0]
        )
        before = {q: search.search(con, search.parse_query(q)) for q in queries}
    finally:
        con.close()
    assert all(r.hits for r in before.values())
    store = Store(old_db)
    try:
        db = store.db
        assert migrations.version(db) == LATEST >= 10
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'search_fts'").fetchone()
        assert "detail = none" in sql
        rows = db.execute("SELECT k, v FROM search_fts_config WHERE k LIKE '%merge'")
        assert sorted(rows.fetchall()) == [("automerge", 16), ("crisismerge", 64)]
        for q, results in before.items():
            assert search.search(db, search.parse_query(q)) == results, q
        (n,) = db.execute("SELECT COUNT(*) FROM search_fts").fetchone()
        assert n == store.count()
        db.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)")
        store.upsert([art("https://example.com/m10", title="新闻", text="港口数据更新")], NOW)
        assert [h.title for h in search.search(db, search.parse_query("港口数据")).hits] == ["新闻"]
    finally:
        store.close()


def test_migration_11_keeps_the_counts_without_triggers(
    old_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgraded from version 10: the counting triggers are gone, the counts are what counting
    finds, and the store keeps them so as it stores, merges into and deletes articles."""
    _at_version(old_db, 10, monkeypatch)
    con = sqlite3.connect(old_db)
    try:
        triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        assert len(con.execute(triggers).fetchall()) == 4
    finally:
        con.close()

    def counted(db: sqlite3.Connection) -> tuple[object, ...]:
        return (
            db.execute("SELECT n FROM article_count").fetchone(),
            db.execute("SELECT category, n FROM category_counts ORDER BY 1").fetchall(),
        )

    def counting(db: sqlite3.Connection) -> tuple[object, ...]:
        return (
            db.execute("SELECT COUNT(*) FROM articles").fetchone(),
            db.execute(
                "SELECT category, COUNT(*) FROM article_categories GROUP BY 1 ORDER BY 1"
            ).fetchall(),
        )

    store = Store(old_db)
    try:
        db = store.db
        assert migrations.version(db) == LATEST >= 11
        assert db.execute(triggers).fetchall() == []
        assert counted(db) == counting(db) and counting(db)[0] > (2,)
        new = art("https://example.com/m11", title="新闻", text="港口数据更新", cats=("新类",))
        store.upsert([new], NOW)
        store.upsert([replace(new, source_name="另一源", categories=("又一类",))], NOW)
        assert ("又一类", 1) in counted(db)[1] and counted(db) == counting(db)
        store.delete(new.link, NOW)
        assert "新类" not in dict(counted(db)[1]) and counted(db) == counting(db)
    finally:
        store.close()
