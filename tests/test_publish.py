"""Publishing: feeds valid and parseable, deterministic, archived, per category, and a page."""

from __future__ import annotations

import email.utils
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from aggregator import outputs
from aggregator.models import OutputSettings, StoredArticle
from aggregator.outputs import article_pages, completeness, formats, sources_opml
from aggregator.outputs.archives import FH_NS, is_full_archive
from aggregator.outputs.feeds import category_slug
from aggregator.outputs.formats import ATOM_NS, FeedDoc, render_atom, render_json, render_rss
from aggregator.store import Store
from aggregator.workers import Workers
from tests.published import BASE, T0, Publisher, make_article, mobile_copy

Make = Callable[..., Publisher]

DATA = Path(__file__).parent / "data"
A = f"{{{ATOM_NS}}}"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def make_settings_output() -> OutputSettings:
    return OutputSettings(dir=Path("out"), base_url=BASE, title="财经")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def parse(path: Path) -> feedparser.FeedParserDict:
    return feedparser.parse(io.BytesIO(path.read_bytes()))


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))


def test_atom_documents_are_valid_rfc4287(publisher: Make, atom_schema: etree.RelaxNG) -> None:
    p = publisher(13, feed_size=5, archive_size=4)
    p.publish()
    atoms = sorted(p.dir.rglob("*.atom"))
    assert len(atoms) >= 1 + len(p.store.categories()) + 4
    for path in atoms:
        doc = etree.parse(str(path))
        assert atom_schema.validate(doc), (path, atom_schema.error_log)


def test_schema_rejects_an_invalid_atom_document(atom_schema: etree.RelaxNG) -> None:
    # Guards the guard: an entry without atom:id must fail validation.
    bad = (
        f'<feed xmlns="{ATOM_NS}"><id>urn:x</id><title>t</title>'
        "<updated>2024-01-01T00:00:00Z</updated>"
        "<entry><title>t</title><updated>2024-01-01T00:00:00Z</updated></entry></feed>"
    )
    assert not atom_schema.validate(etree.fromstring(bad).getroottree())


@pytest.mark.parametrize("name", ["feed.atom", "feed.rss"])
def test_feeds_parse_back_intact(publisher: Make, name: str) -> None:
    p = publisher(9, feed_size=6)
    p.publish()
    parsed = parse(p.dir / name)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    expected = p.store.recent(6)
    assert [e.id for e in parsed.entries] == [a.id for a in expected]
    assert [e.title for e in parsed.entries] == [a.title for a in expected]
    first, art = parsed.entries[0], expected[0]
    assert first.link == art.link
    assert first.published_parsed[:6] == art.published.timetuple()[:6]
    assert [t.term for t in first.tags] == list(art.categories)
    assert first.author == art.author
    body = first.content[0].value if name == "feed.atom" else first.summary
    assert "{{ 模板 }}" in body and "\x0b" not in body and "<b>5%</b>" in body


def test_atom_carries_provenance_cover_and_true_dates(publisher: Make) -> None:
    p = publisher(5)
    revised = make_article(3, title="更正后的标题")
    p.add(revised, now=p.now + timedelta(hours=2))  # so one entry has updated != published
    p.publish()
    root = etree.parse(str(p.dir / "feed.atom")).getroot()
    entries = {e.findtext(f"{A}id"): e for e in root.iter(f"{A}entry")}
    stored = p.stored()
    art = stored[1]
    entry = entries[art.id]
    rels = {(link.get("rel"), link.get("href")) for link in entry.iter(f"{A}link")}
    assert art.links[1] != art.link and "finance.sina.cn" in art.links[1]
    assert ("related", art.links[1]) in rels
    assert ("enclosure", art.cover) in rels
    assert entry.findtext(f"{A}published") == art.published.isoformat()
    assert entry.findtext(f"{A}updated") == art.updated.isoformat()
    newest_update = max(a.updated for a in stored)
    assert newest_update > max(a.published for a in stored)
    assert root.findtext(f"{A}updated") == newest_update.isoformat()
    assert (p.dir / "feed.atom").read_bytes().count(b"CDATA") == 0


def test_json_feed_1_1(publisher: Make) -> None:
    p = publisher(7, feed_size=4)
    p.publish()
    feed = json.loads((p.dir / "feed.json").read_text("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "新浪财经聚合"
    assert feed["feed_url"] == BASE + "feed.json"
    items = feed["items"]
    expected = p.store.recent(4)
    assert [it["id"] for it in items] == [a.id for a in expected]
    for it, art in zip(items, expected, strict=True):
        assert it["title"] == art.title
        assert it["content_html"] == art.content_html.replace("\x0b", "")  # XML-illegal char
        assert datetime.fromisoformat(it["date_published"]) == art.published
        assert it["tags"] == list(art.categories)
        assert it.get("image") == art.cover
        assert set(art.links) <= set(it["_provenance"]["links"])
    assert "工信部" in (p.dir / "feed.json").read_text("utf-8")  # not \\u-escaped
    assert all("_alternative_titles" not in it for it in items)  # only for merged retitles


def test_each_entry_is_rendered_once_and_documents_stay_byte_identical(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents sharing entries (the feed, a category feed, the archive) render each entry
    once; a document put together from entries rendered before holds exactly the bytes of
    the same document rendered whole, whatever its order, length or neighbours."""
    p = publisher(12)
    arts = p.stored()
    revised = replace(arts[3], title="长江航运：" + arts[3].title, alt_titles=("旧标题",))
    out = p.settings.output
    links = (("prev-archive", "a/1.atom"),)
    doc = FeedDoc("t & <x>", "archive/2.atom", "feed.atom", links, True, empty_updated=p.now)
    render = {
        "atom": lambda some: render_atom(some, doc, out),
        "rss": lambda some: render_rss(some, "t", "feed.rss", out, p.now),
        "json": lambda some: render_json(some, "t", "feed.json", out),
    }
    cases = [arts[:5], arts[3:9], arts[9:1:-1], [arts[0]], [], arts, [revised, *arts[4:7]]]
    rendered: dict[str, list[int]] = {"atom": [], "rss": [], "json": []}

    def counting(name: str) -> None:
        real = getattr(formats, f"_{name}")

        def count(some, *args):  # type: ignore[no-untyped-def]
            rendered[name].append(len(some))
            return real(some, *args)

        monkeypatch.setattr(formats, f"_{name}", count)

    for name in rendered:
        counting(name)
    monkeypatch.setattr(formats, "DIRECT", False)  # every entry through feedgen, then cut out
    formats.ENTRIES.clear()
    documents = {(n, i): render[n](case) for i, case in enumerate(cases) for n in render}
    # Each article's entry (the revised one too) was rendered once; heads have no entries.
    assert {name: sum(counts) for name, counts in rendered.items()} == {
        name: len(arts) + 1 for name in rendered
    }
    for (name, i), data in documents.items():
        formats.ENTRIES.clear()
        assert data == render[name](cases[i]), (name, i)  # rendered whole, as before
    json_items = json.loads(documents[("json", 6)])["items"]
    assert [it["title"] for it in json_items] == [revised.title, *(a.title for a in arts[4:7])]
    atom_entries = etree.fromstring(documents[("atom", 2)]).findall(f"{A}entry")
    assert [e.findtext(f"{A}id") for e in atom_entries] == [a.id for a in arts[9:1:-1]]


def test_json_feed_lists_alternative_titles(publisher: Make) -> None:
    p = publisher(2)
    first, second = p.stored()
    alts = ("长江干线集装箱吞吐量1367万标箱", "铁水联运量同比增长86.5%\x0b")
    doc = render_json(
        [replace(first, alt_titles=alts), second], "t", "feed.json", p.settings.output
    )
    first_item, second_item = json.loads(doc)["items"]
    assert first_item["title"] == first.title
    assert first_item["_alternative_titles"] == {
        "titles": ["长江干线集装箱吞吐量1367万标箱", "铁水联运量同比增长86.5%"]
    }
    assert "_alternative_titles" not in second_item


def test_newest_first_and_feed_size(publisher: Make) -> None:
    p = publisher(30, feed_size=10)
    p.publish()
    for name in ("feed.atom", "feed.rss"):
        entries = parse(p.dir / name).entries
        assert len(entries) == 10
        dates = [e.published_parsed for e in entries]
        assert dates == sorted(dates, reverse=True)
        assert dates[0][:6] == max(a.published for a in p.stored()).timetuple()[:6]


def test_publishing_twice_changes_nothing(publisher: Make) -> None:
    p = publisher(12, feed_size=5, archive_size=5)
    first = p.publish()
    before = snapshot(p.dir)
    assert {p.dir / name for name in before} == set(first)
    assert p.publish() == []
    assert snapshot(p.dir) == before


def test_a_publish_with_nothing_changed_renders_nothing(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = publisher(3)
    p.publish()
    rendered: list[str] = []
    for o in outputs.OUTPUTS:
        real = o.render

        def render(view, settings, job, _real=real, _name=o.name):  # type: ignore[no-untyped-def]
            rendered.append(_name)
            return _real(view, settings, job)

        monkeypatch.setattr(o, "render", render)
    assert p.publish() == []
    assert rendered == []
    p.add(make_article(3))
    assert p.publish() != []
    assert {"feed", "archives", "category-feeds", "posts", "pages"} <= set(rendered)


def test_same_articles_give_identical_bytes_in_a_fresh_dir(publisher: Make, tmp_path: Path) -> None:
    a = publisher(12, root=tmp_path / "a", archive_size=5)
    b = publisher(12, root=tmp_path / "b", archive_size=5)
    a.publish()
    b.publish()
    assert snapshot(a.dir) == snapshot(b.dir)


def test_new_article_changes_only_what_it_must(publisher: Make) -> None:
    p = publisher(10, feed_size=50, archive_size=4)
    p.publish()
    p.add(make_article(10))
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert "feed.atom" in changed and "index.html" in changed
    assert "archive/3.atom" in changed  # the tail page filled up
    assert not {"archive/1.atom", "archive/2.atom"} & changed  # full pages are immutable
    assert [c for c in changed if c.startswith("posts/")] == [
        f"posts/{p.store.page(10, 1)[0].slug}.md"
    ]


def walk_archives(folder: Path, start: str) -> list[list[str]]:
    """Follow prev-archive from `start`; the ids of each document visited."""
    docs: list[list[str]] = []
    path: Path | None = folder / start
    seen: set[Path] = set()
    while path is not None:
        assert path not in seen, "prev-archive loop"
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        docs.append([e.findtext(f"{A}id") or "" for e in root.iter(f"{A}entry")])
        prev = [x.get("href") for x in root.iter(f"{A}link") if x.get("rel") == "prev-archive"]
        path = folder / unquote(str(prev[0]).removeprefix(BASE)) if prev else None
    return docs


@pytest.mark.parametrize("count", [0, 3, 8, 11])
def test_prev_archive_chain_reaches_every_article_once(publisher: Make, count: int) -> None:
    p = publisher(0, feed_size=3, archive_size=4)
    p.publish()
    for i in range(count):  # grow one article at a time, as polls do
        p.add(make_article(i))
        p.publish()
    archived = [i for doc in walk_archives(p.dir, "feed.atom")[1:] for i in doc]
    assert sorted(archived) == sorted(a.id for a in p.stored())
    assert len(archived) == len(set(archived)) == count


def test_full_archive_pages_are_marked_and_linked(publisher: Make) -> None:
    p = publisher(9, archive_size=4)
    p.publish()
    page1 = etree.parse(str(p.dir / "archive/1.atom")).getroot()
    tail = etree.parse(str(p.dir / "archive/3.atom")).getroot()
    assert page1.find(f"{{{FH_NS}}}archive") is not None
    assert is_full_archive((p.dir / "archive/1.atom").read_bytes())
    assert not is_full_archive((p.dir / "archive/3.atom").read_bytes())
    assert tail.find(f"{{{FH_NS}}}archive") is None
    rels = {x.get("rel"): x.get("href") for x in page1.iter(f"{A}link")}
    assert rels["current"] == BASE + "feed.atom"
    assert rels["next-archive"] == BASE + "archive/2.atom"
    assert "prev-archive" not in rels
    assert len(page1.findall(f"{A}entry")) == 4 and len(tail.findall(f"{A}entry")) == 1


def test_category_feeds_and_index(publisher: Make) -> None:
    p = publisher(9)
    p.publish()
    index = json.loads((p.dir / "categories/index.json").read_text("utf-8"))
    assert [row["name"] for row in index] == p.store.categories()
    assert len(index) == 5
    for row in index:
        assert row["count"] == p.store.count(row["name"])
        for ext in ("atom", "rss", "json"):
            path = p.dir / "categories" / f"{row['slug']}.{ext}"
            assert path.is_file()
            assert row[ext] == BASE + "categories/" + row[ext].split("/")[-1]
        parsed = parse(p.dir / "categories" / f"{row['slug']}.atom")
        assert parsed.bozo == 0
        assert [e.id for e in parsed.entries] == [a.id for a in p.store.recent(50, row["name"])]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("宏观经济", "宏观经济"), ("新浪财经－国內", "新浪财经－国內"), ("us-stocks", "us-stocks")],
)
def test_safe_category_names_are_their_own_slug(name: str, expected: str) -> None:
    assert category_slug(name) == expected


@pytest.mark.parametrize("name", ["A/B 股: 美股?", "..", "CON", "Macro", "a%2fb", "", "x" * 300])
def test_unsafe_category_names_get_a_stable_safe_slug(name: str) -> None:
    slug = category_slug(name)
    assert slug == category_slug(name)
    assert slug and slug not in (".", "..") and len(slug.encode()) <= 200
    assert not set(slug) & set('/\\:*?"<>|% #\x00')
    assert category_slug("macro") != category_slug("Macro")


@pytest.mark.parametrize(
    "name", ["con", "prn", "aux", "nul", "com1", "com9", "lpt1", "lpt9", "Nul", "COM1"]
)
def test_windows_reserved_names_never_become_a_file_stem(name: str) -> None:
    """Windows cannot create con.atom or nul.xml: a category so named gets a digest."""
    slug = category_slug(name)
    assert slug.split("-")[0] == name.lower() and slug != name.lower()
    assert re.fullmatch(r"[0-9a-f]{8}", slug.split("-")[1])


@given(st.text(max_size=80), st.text(max_size=80))
def test_slugs_are_safe_and_tell_names_apart(a: str, b: str) -> None:
    for name in (a, b):
        slug = category_slug(name)
        assert slug and slug.strip(".") and len(slug.encode()) <= 200
        assert all(c.isprintable() and c not in '/\\:*?"<>|%# ' for c in slug)
    if a != b:
        assert category_slug(a) != category_slug(b)


def test_control_characters_never_reach_any_output(publisher: Make) -> None:
    p = publisher(0)
    p.add(make_article(1, title="标题\x08含控制符", author="作者\x1f"))
    p.publish()
    files = [path for path in p.dir.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} >= {".atom", ".rss", ".json", ".html", ".md"}
    for path in files:
        text = path.read_text("utf-8")
        assert not any(c in text for c in "\x08\x0b\x1f"), path
        assert not any(e in text for e in ("\\u000b", "\\u001f", "\\b")), path  # JSON escapes
    assert parse(p.dir / "feed.atom").entries[0].title == "标题含控制符"


def test_index_page(publisher: Make) -> None:
    p = publisher(6)
    p.publish()
    page = (p.dir / "index.html").read_text("utf-8")
    assert "<script" not in page and 'name="viewport"' in page
    for art in p.stored():  # on-site pages, not off to the source
        assert f'href="articles/{art.slug}.html"' in page and art.link not in page
        assert "工信部印发规划第" in page and "&lt;增长&gt;" in page
    newest = p.store.recent(1)[0]
    local = newest.published + timedelta(hours=8)
    assert f"{local:%Y-%m-%d %H:%M}" in page  # Asia/Shanghai time
    oldest = p.store.recent(6)[-1]
    assert page.index(f"{newest.slug}.html") < page.index(f"{oldest.slug}.html")
    assert 'href="feed.atom"' in page and 'href="feed.rss"' in page
    for name in p.store.categories():
        assert f"categories/{category_slug(name)}.html" in unquote(page)


def test_empty_store_publishes_valid_empty_feeds(
    publisher: Make, atom_schema: etree.RelaxNG
) -> None:
    p = publisher(0)
    p.publish()
    assert atom_schema.validate(etree.parse(str(p.dir / "feed.atom")))
    assert parse(p.dir / "feed.rss").bozo == 0
    assert json.loads((p.dir / "feed.json").read_text())["items"] == []


def test_revised_article_updates_in_place(publisher: Make) -> None:
    p = publisher(4)
    p.publish()
    old = p.store.page(2, 1)[0]
    p.add(make_article(2, title="更正后的标题"), now=p.now + timedelta(hours=1))
    p.publish()
    entries = parse(p.dir / "feed.atom").entries
    assert [e.title for e in entries if e.id == old.id] == ["更正后的标题"]
    assert len(entries) == 4
    post = (p.settings.output.posts / f"{old.slug}.md").read_text("utf-8")
    assert "更正后的标题" in post


def test_deleted_article_leaves_every_output(publisher: Make) -> None:
    p = publisher(4)
    p.publish()
    gone = p.store.page(1, 1)[0]
    assert p.store.delete(gone.id, p.now) is not None
    changed = p.publish()
    assert p.settings.output.posts / f"{gone.slug}.md" in changed
    assert not (p.settings.output.posts / f"{gone.slug}.md").exists()
    for path in p.dir.rglob("*"):
        if path.is_file():
            assert gone.link not in path.read_text("utf-8"), path


def test_changed_sources_rewrite_only_the_opml(publisher: Make) -> None:
    from dataclasses import replace

    from aggregator.models import Source

    p = publisher(3)
    p.publish()
    source = Source(
        "新浪财经－国內",
        "https://u:pw@rsshub.example/sina?key=s3cret&limit=5",
        ("金融",),
        "新浪财经",
        300.0,
    )
    local = Source("本地", "file:///srv/feeds/local.xml", ("金融",), "本地", 300.0)
    native = Source(
        "新浪财经－宏观经济",
        "https://feed.mix.sina.com.cn/api/roll/get?pageid=155&lid=1687",
        ("金融",),
        "新浪财经",
        300.0,
        kind="sina-roll",
    )
    p.settings = replace(p.settings, sources=(source, local, native))
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert changed == {"sources.opml"}
    opml = etree.parse(str(p.dir / "sources.opml")).getroot()
    feed, by_file, by_api = opml.iter("outline")
    assert feed.get("xmlUrl") == "https://rsshub.example/sina?limit=5"  # no secrets
    assert feed.get("text") == "新浪财经－国內" and feed.get("category") == "/金融"
    assert feed.get("htmlUrl") is None
    # A file: source is nobody else's to read, a native one is a JSON API: each is listed
    # as this site's feed of its channel (and the channel's page).
    for outline, name in ((by_file, "本地"), (by_api, "新浪财经－宏观经济")):
        assert outline.get("text") == name and outline.get("category") == "/金融"
        slug = category_slug(name)
        assert outline.get("xmlUrl") == BASE + quote(f"categories/{slug}.atom")
        assert outline.get("htmlUrl") == BASE + quote(f"categories/{slug}.html")


def test_sources_opml_of_the_default_config_lists_every_channel_s_feed(tmp_path: Path) -> None:
    """The default config reads Sina natively: none of its URLs is a feed, so each source
    is listed as the site's feed of its channel — and that is the feed the site writes."""
    from aggregator import config

    conf = config.load(Path(__file__).parents[1] / "config" / "aggregator.toml")
    assert conf.sources and all(s.kind != "feed" for s in conf.sources)
    conf = replace(conf, output=replace(conf.output, dir=tmp_path / "public"))
    outlines = etree.fromstring(sources_opml.document(conf)).findall("body/outline")
    assert [o.get("text") for o in outlines] == [s.name for s in conf.sources]
    base = conf.output.base_url
    store = Store(tmp_path / "db", conf.dedup)
    try:
        channel = conf.sources[3]
        store.upsert([make_article(1, categories=("金融", channel.name))], T0)
        outputs.publish(conf, store, now=T0)
    finally:
        store.close()
    feed = next(o.get("xmlUrl") or "" for o in outlines if o.get("text") == channel.name)
    assert feed.startswith(base) and (tmp_path / "public" / unquote(feed[len(base) :])).is_file()
    assert (tmp_path / "public" / "sources.opml").read_bytes() == sources_opml.document(conf)


@pytest.mark.slow  # a 10 M character body: 10 s here
def test_an_article_that_cannot_be_rendered_is_skipped_not_fatal(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    # Stored before the ingest limits existed (or by any other way): a body lxml refuses
    # (a text node over 10 M characters) must not stop the other articles' publishing.
    p = publisher(5, archive_size=4)
    p.add(make_article(7, content_html="x" * 10_000_001))
    bad = p.store.page(5, 1)[0]
    p.publish()
    for name in ("feed.atom", "feed.rss", "archive/2.atom"):
        ids = [e.id for e in parse(p.dir / name).entries]
        assert bad.id not in ids and len(ids) == (5 if name.startswith("feed") else 1), name
    assert bad.id in caplog.text and "skips article" in caplog.text
    assert len(list((p.dir / "posts").glob("*.md"))) == 6, "its post is not the problem"


def test_posts_and_pages_deleted_are_found_and_written_again_byte_identical(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    p = publisher(12)
    p.publish()
    before = snapshot(p.dir)
    posts = sorted((p.dir / "posts").glob("*.md"))
    pages = sorted((p.dir / "articles").glob("*.html"))
    gone = [posts[0], posts[5], pages[5], pages[11]]
    for path in gone:
        path.unlink()
    assert outputs.intact(p.settings), "every folder is still there"
    assert p.publish() == [], "nothing changed in the store: publishing alone writes nothing"
    assert outputs.find_missing(p.settings, p.store) == 3  # articles: posts 0, 5 and page 11
    assert "restoring the files of 3 article(s): posts 2, article_pages 2" in caplog.text
    written = p.publish()
    assert sorted(written) == sorted(gone), "exactly the missing files are written"
    assert snapshot(p.dir) == before
    assert outputs.find_missing(p.settings, p.store) == 0


def test_an_untouched_folder_is_not_listed_until_a_forced_look(publisher: Make) -> None:
    # The recorded folder state (set by the last publish) spares the listing; a removal
    # the state cannot show (here: the folder's time set back) is found by a forced look.
    p = publisher(4)
    p.publish()
    folder = p.dir / "posts"
    st = folder.stat()
    next(folder.glob("*.md")).unlink()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert outputs.find_missing(p.settings, p.store) == 0
    assert outputs.find_missing(p.settings, p.store, force=True) == 1
    p.publish()
    assert len(list(folder.glob("*.md"))) == 4


def test_a_publish_after_one_new_article_keeps_the_folders_recorded(publisher: Make) -> None:
    # The flat incremental cost: after a publish that wrote a post, the next look does
    # not list the folders (their state was recorded by the publish).
    p = publisher(4)
    p.publish()
    p.add(make_article(9))
    p.publish()
    assert completeness.touched(outputs.OUTPUTS, p.settings, p.store) == []
    folder = p.dir / "posts"
    st = folder.stat()
    next(folder.glob("*.md")).unlink()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns))  # as the publish left it
    assert outputs.find_missing(p.settings, p.store) == 0


def test_a_folder_is_looked_at_once_per_change_by_someone_else(publisher: Make) -> None:
    # A file that cannot be written again (an article publishing skips) must not be
    # looked for, marked and skipped every few seconds: the look records the folder.
    p = publisher(3)
    p.publish()
    next((p.dir / "articles").glob("*.html")).unlink()
    assert outputs.find_missing(p.settings, p.store) == 1
    assert outputs.find_missing(p.settings, p.store) == 0
    assert len(p.publish()) == 1
    assert outputs.find_missing(p.settings, p.store) == 0


@pytest.mark.slow  # a 10 M character body, twice, and worker processes: 25 s here
def test_what_a_publish_leaves_out_is_reported_and_recorded(
    publisher: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Through real worker processes (every job in them) and in this process: the same
    # files, the same report, kept in the store for `status` and a restarted daemon.
    monkeypatch.setattr(outputs, "PARALLEL_JOBS", 1)
    monkeypatch.setattr(article_pages, "BATCH", 2)
    reports = []
    for root, n in ((tmp_path / "here", 0), (tmp_path / "workers", 2)):
        p = publisher(5, root=root)
        p.add(make_article(7, content_html="x" * 10_000_001))
        bad = p.store.page(5, 1)[0]
        left_out: list[outputs.Skipped] = []
        pool = Workers(n)
        try:
            outputs.publish(p.settings, p.store, pool, skipped=left_out)
        finally:
            pool.close()
        assert {s.id for s in left_out} == {bad.id}
        assert len(list((p.dir / "articles").glob("*.html"))) == 6
        reports.append((snapshot(p.dir), outputs.skip_report(p.store)))
    (files, report), (by_workers, report_workers) = reports
    assert by_workers == files and report_workers == report
    assert report["skipped"] == 1
    assert report["by_output"] == {"archives": 1, "category-feeds": 1, "feed": 1}
    (shown,) = report["articles"]
    assert shown["id"] == bad.id and shown["title"] == bad.title and shown["link"] == bad.link
    assert shown["reason"].startswith("Resource limit exceeded: Text node too long")
    assert p.store.delete(bad.id, p.now) is not None
    outputs.publish(p.settings, p.store)
    assert outputs.skip_report(p.store) == {"skipped": 0, "by_output": {}, "articles": []}


def test_an_empty_store_publishes_no_archive_page(publisher: Make) -> None:
    # Nothing to reach, and its `updated` could only be made up (it was 2000-01-01).
    def prev_archive(p: Publisher) -> list[str]:
        root = etree.parse(str(p.dir / "feed.atom")).getroot()
        return [x.get("href", "") for x in root.iter(f"{A}link") if x.get("rel") == "prev-archive"]

    p = publisher(0)
    p.publish()
    assert (p.dir / "feed.atom").is_file() and not (p.dir / "archive" / "1.atom").exists()
    assert prev_archive(p) == []
    p.add(make_article(1))
    p.publish()
    assert prev_archive(p) == [BASE + "archive/1.atom"]
    (entry,) = parse(p.dir / "archive" / "1.atom").entries
    assert p.store.delete(entry.id, p.now) is not None
    p.publish()
    assert not (p.dir / "archive" / "1.atom").exists(), "the deleted article's page goes"
    assert prev_archive(p) == []


def _heads(p: Publisher, stem: str = "feed") -> tuple[str, str]:
    """The Atom feed's `updated` and the RSS channel's lastBuildDate of a feed set."""
    atom = etree.parse(str(p.dir / f"{stem}.atom")).getroot()
    rss = etree.parse(str(p.dir / f"{stem}.rss")).getroot()
    return atom.findtext(f"{A}updated") or "", rss.findtext("channel/lastBuildDate") or ""


def _dated(when: datetime) -> tuple[str, str]:
    return when.isoformat(), email.utils.format_datetime(when)


def test_an_empty_store_dates_its_feed_by_its_first_publish_and_keeps_that_date(
    publisher: Make, atom_schema: etree.RelaxNG
) -> None:
    """Not a made-up 2000-01-01: the feed has been as it is since the store's first
    publish, and says so at every later publish (byte-identical while nothing changes)."""
    p = publisher(0)
    first = p.now.replace(microsecond=0)
    p.publish()
    assert _heads(p) == _dated(first)
    assert atom_schema.validate(etree.parse(str(p.dir / "feed.atom")))
    before = snapshot(p.dir)
    p.now += timedelta(hours=5)
    (p.dir / "feed.rss").unlink()  # a full publish of the feeds, hours later
    p.publish()
    assert snapshot(p.dir) == before
    reopened = Store(p.settings.storage_path, p.settings.dedup)  # the date is stored
    try:
        (p.dir / "feed.atom").unlink()
        outputs.publish(p.settings, reopened, now=p.now + timedelta(days=3))
        assert snapshot(p.dir) == before
    finally:
        reopened.close()


def test_a_feed_emptied_by_deletions_is_dated_by_the_last_one(
    publisher: Make, atom_schema: etree.RelaxNG
) -> None:
    p = publisher(0)
    one, two = make_article(1), make_article(2)  # in different channels
    p.add(one)
    p.add(two, now=p.now + timedelta(minutes=3))
    p.publish()
    channel = category_slug(two.categories[-1])
    deleted = p.now + timedelta(hours=1, microseconds=250)
    assert p.store.delete(two.link, deleted) is not None
    p.now += timedelta(hours=2)
    p.publish()
    # the channel feed lost its only article: dated by that deletion, not the publish
    assert _heads(p, f"categories/{channel}") == _dated(deleted)
    assert p.store.delete(one.link, deleted + timedelta(minutes=1)) is not None
    p.now += timedelta(hours=2)
    p.publish()
    assert _heads(p) == _dated(deleted + timedelta(minutes=1))
    assert _heads(p, f"categories/{category_slug('金融')}") == _dated(
        deleted + timedelta(minutes=1)
    )
    for path in [p.dir / "feed.atom", *(p.dir / "categories").glob("*.atom")]:
        assert atom_schema.validate(etree.parse(str(path))), path


def test_an_empty_archive_tail_is_dated_by_the_article_that_filled_the_page_before(
    publisher: Make, atom_schema: etree.RelaxNG
) -> None:
    p = publisher(0, archive_size=2)
    last = make_article(2, published=T0 - timedelta(days=2))  # older than the first
    p.add(make_article(1, published=T0))
    p.add(last, now=p.now + timedelta(minutes=9))
    p.now += timedelta(hours=1)
    p.publish()
    tail = etree.parse(str(p.dir / "archive" / "2.atom"))
    assert tail.getroot().find(f"{A}entry") is None
    # its date, not its arrival: the same input gives the same bytes whenever it is run
    assert tail.getroot().findtext(f"{A}updated") == last.published.isoformat()
    assert atom_schema.validate(tail)


def test_a_feed_without_entries_needs_a_date_given() -> None:
    doc = FeedDoc("t", "feed.atom", "feed.atom")
    with pytest.raises(ValueError, match="no entries"):
        render_atom([], doc, make_settings_output())
    with pytest.raises(ValueError, match="no entries"):
        render_rss([], "t", "feed.rss", make_settings_output())


def test_archive_pages_feeds_and_pages_removed_by_hand_come_back(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    # Full archive pages are never rewritten and a category's feed only when it changes:
    # removed by hand, they came back never (or at that change).
    p = publisher(13, archive_size=4, page_size=4)
    p.publish()
    before = snapshot(p.dir)
    gone = [
        p.dir / "archive" / "1.atom",
        p.dir / "archive" / "2.atom",
        p.dir / "feed.rss",
        next((p.dir / "categories").glob("*.json")),
        p.dir / "categories" / "index.json",
        p.dir / "pages" / "2.html",
    ]
    for path in gone:
        path.unlink()
    assert outputs.intact(p.settings)
    assert outputs.find_missing(p.settings, p.store) > 0, "the daemon publishes again"
    written = p.publish()
    assert "outputs changed by someone else: writing" in caplog.text
    assert sorted(written) == sorted(gone), "exactly those: the rest is byte-identical"
    assert snapshot(p.dir) == before
    assert p.publish() == [] and outputs.find_missing(p.settings, p.store) == 0


# --- golden files: the published documents of a known store, byte for byte ----------------

GOLDEN = DATA / "publish"
# The files the feed outputs write (posts, article and site pages are other stages').
FEED_FILES = re.compile(
    r"feed\.(atom|rss|json)|categories/[^/]+\.(atom|rss|json)|archive/.*|sources\.opml"
)


def golden_store(publisher: Make) -> Publisher:
    """Seven articles over three channels, each also seen at its mobile URL: covers of
    three image types (one with a query, one in capitals) and none, an outlet, stocks."""
    from aggregator.models import Source

    p = publisher(0, feed_size=3, archive_size=2)
    covers = {
        1: "https://n.sinaimg.cn/finance/1.PNG?w=640&x=a.jpg",
        2: "https://n.sinaimg.cn/finance/2.gif",
        3: "https://n.sinaimg.cn/finance/3.webp?v=2?w=1",
    }
    arts = [
        make_article(
            i, cover=covers.get(i, f"https://n.sinaimg.cn/finance/{i}.jpg" if i % 4 else None)
        )
        for i in range(7)
    ]
    arts[5] = replace(arts[5], outlet="证券时报", tags=("贵州茅台 600519", "宁德时代 300750"))
    p.add(*arts)
    p.add(*(mobile_copy(a) for a in arts), now=p.now + timedelta(minutes=1))
    p.settings = replace(
        p.settings,
        sources=(
            Source(
                "新浪财经－国內",
                "https://rsshub.example/sina/china",
                ("金融", "新浪"),
                "新浪财经",
                300.0,
            ),
            Source("宏观/经济", "http://feeds.example/macro.xml", (), "新浪财经", 600.0),
        ),
    )
    return p


def test_feed_outputs_match_their_golden_files(publisher: Make) -> None:
    """Regenerate after an intended change with
    `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_publish.py -k golden`, then read every diff."""
    p = golden_store(publisher)
    p.publish()
    files = {k: v for k, v in snapshot(p.dir).items() if FEED_FILES.fullmatch(k)}
    if os.environ.get("UPDATE_GOLDEN"):
        for rel, data in files.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_bytes(data)
    assert GOLDEN.is_dir(), f"no golden files: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert files == snapshot(GOLDEN)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("", "e3b0c442"),  # nothing kept: the digest alone
        ("Macro", "macro-cdf16ec1"),  # lowercased: a digest tells it from "macro"
        ("CON", "con-a3dbc4b6"),
        ("x" * 300, "x" * 60 + "-0d4e2ca9"),  # cut to 60 characters
        ("e\u0301", "é-bf12767b"),  # NFC: the composed letter, and a digest (the name changed)
        ("a--b", "a-b-90827a2e"),  # runs of '-' become one
        ("_x_", "x-f1f6bd62"),  # no leading or trailing '-' or '_'
        ("新浪 财经", "新浪-财经-eddec00e"),
        ("a\u00a0b", "a-b-9507017c"),  # a no-break space is no letter and no punctuation
        ("¡Hola!", "¡hola-ffb94855"),  # non-ASCII punctuation stays, ASCII goes
        ("新浪财经＊国内", "新浪财经＊国内"),  # full-width punctuation is safe
        ("a_b", "a_b"),
        ("ａｂ", "ａｂ"),
    ],
)
def test_category_slugs_known_answers(name: str, slug: str) -> None:
    assert category_slug(name) == slug


def test_a_category_feed_follows_its_articles(publisher: Make) -> None:
    """A new article rewrites its categories' feeds and no other's; when a category's last
    article is deleted its feeds stay, empty, and the index drops it."""
    p = publisher(6)
    p.publish()
    p.add(make_article(6, categories=("金融", "快讯")))
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert {c for c in changed if re.fullmatch(r"categories/.*\.(atom|rss|json)", c)} == {
        f"categories/{slug}.{ext}"
        for slug in ("金融", "快讯", "index")
        for ext in ("atom", "rss", "json")
    } - {"categories/index.atom", "categories/index.rss"}
    flash = p.dir / "categories" / "快讯.atom"
    parsed = parse(flash)
    assert parsed.feed.title == "新浪财经聚合 · 快讯"
    assert [e.title for e in parsed.entries] == [make_article(6).title]
    (only,) = p.store.recent(1, "快讯")
    assert p.store.delete(only.id, p.now) is not None
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert {"categories/快讯.atom", "categories/快讯.rss", "categories/快讯.json"} <= changed
    assert parse(flash).entries == []
    assert parse(p.dir / "categories" / "快讯.rss").entries == []
    assert json.loads((p.dir / "categories" / "快讯.json").read_bytes())["items"] == []
    index = json.loads((p.dir / "categories" / "index.json").read_bytes())
    assert "快讯" not in [row["name"] for row in index]


def test_outputs_whose_files_are_gone_are_written_again_in_full(publisher: Make) -> None:
    p = publisher(5, archive_size=2)
    p.publish()
    before = snapshot(p.dir)
    assert outputs.intact(p.settings)
    for gone in ("feed.atom", "sources.opml"):
        (p.dir / gone).unlink()
        assert not outputs.intact(p.settings), gone
        written = {path.relative_to(p.dir).as_posix() for path in p.publish()}
        assert gone in written
        assert outputs.intact(p.settings) and snapshot(p.dir) == before
    import shutil

    shutil.rmtree(p.dir / "categories")
    assert not outputs.intact(p.settings)
    written = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert {k for k in before if k.startswith("categories/")} <= written
    assert snapshot(p.dir) == before


def test_archive_pages_filled_between_two_publishes_are_all_written_full(publisher: Make) -> None:
    p = publisher(0, archive_size=2)
    p.add(make_article(0))
    p.publish()
    assert sorted(path.name for path in (p.dir / "archive").iterdir()) == ["1.atom"]
    p.add(*(make_article(i) for i in range(1, 7)))
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert {c for c in changed if c.startswith("archive/")} == {
        "archive/1.atom",  # was the tail, now full
        "archive/2.atom",
        "archive/3.atom",
        "archive/4.atom",  # the new tail: one article
    }
    ids = [a.id for a in p.stored()]
    for n in (1, 2, 3):
        data = (p.dir / "archive" / f"{n}.atom").read_bytes()
        assert is_full_archive(data), n
        assert [e.id for e in feedparser.parse(data).entries] == ids[2 * n - 2 : 2 * n]
    tail = (p.dir / "archive" / "4.atom").read_bytes()
    assert not is_full_archive(tail)
    assert [e.id for e in feedparser.parse(tail).entries] == ids[6:]
    p.add(make_article(7))
    changed = {path.relative_to(p.dir).as_posix() for path in p.publish()}
    assert {c for c in changed if c.startswith("archive/")} == {"archive/4.atom", "archive/5.atom"}
    assert is_full_archive((p.dir / "archive" / "4.atom").read_bytes())


def test_a_full_archive_page_is_told_by_its_first_bytes() -> None:
    marker = f'<fh:archive xmlns:fh="{FH_NS}"/>'.encode()
    head = b"<?xml version='1.0' encoding='UTF-8'?>\n<feed>\n  "
    assert is_full_archive(head + marker + b"<id>x</id>")
    assert not is_full_archive(head + b"<id>x</id>")
    assert is_full_archive(b" " * (512 - len(marker)) + marker)
    assert not is_full_archive(
        b" " * (513 - len(marker)) + marker
    )  # an entry's text, not the marker


def test_sources_opml_follows_the_title_and_sources(publisher: Make) -> None:
    from aggregator.models import Source

    p = publisher(1)
    p.publish()
    opml = etree.parse(str(p.dir / "sources.opml")).getroot()
    assert opml.findtext("head/title") == "新浪财经聚合 · sources"
    assert opml.findall("body/outline") == []
    p.settings = replace(p.settings, output=replace(p.settings.output, title="财经"))
    p.publish()
    assert (
        etree.parse(str(p.dir / "sources.opml")).getroot().findtext("head/title")
        == "财经 · sources"
    )
    src = Source("宏观", "https://rsshub.example/macro", ("金融",), "新浪财经", 300.0)
    p.settings = replace(p.settings, sources=(src,))
    assert {path.name for path in p.publish()} == {"sources.opml"}
    (outline,) = etree.parse(str(p.dir / "sources.opml")).getroot().iter("outline")
    assert outline.get("xmlUrl") == "https://rsshub.example/macro"


# --- rendering one article at a time when one cannot be rendered (base.render_isolated) ---


class _Listing(outputs.Output):
    """A real output of the interface: one line per article of a job's category, read
    through every method of the view; an article whose title holds "坏" cannot be rendered."""

    name = "listing"

    def plan(self, ctx: outputs.Context) -> list[str]:
        return ctx.store.categories()

    def render(self, view: outputs.ArticleView, settings: object, job: object) -> outputs.Rendered:
        assert isinstance(job, str)
        recent = view.recent(50, job)
        paged = view.page(0, 50, job)
        fetched = view.articles([a.id for a in paged])
        copies = view.copies([a.id for a in fetched])
        lines = [f"{job} {view.count(job)}/{view.count()} of {len(view.categories())}"]
        for a in [*recent, *paged, *fetched]:
            if "坏" in a.title:
                raise ValueError(f"cannot render {a.title}" if job != "宏观经济" else "")
            lines.append(f"{a.id} {len(copies.get(a.id, []))}")
        return [(f"{job}.txt", "\n".join(lines).encode())]


def test_one_article_that_cannot_be_rendered_leaves_only_itself_out(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    p = publisher(4)
    p.add(make_article(4, title="坏" + "x" * 300))  # in 宏观经济 (channel 1 of 3)
    p.add(make_article(5, title="坏的"))  # in A/B 股
    bad = {a.id: a for a in p.stored() if "坏" in a.title}
    listing = _Listing()
    skipped: list[outputs.Skipped] = []
    done = {
        job: outputs.render_isolated(listing, p.store, p.settings, job, skipped)
        for job in listing.plan(outputs.Context(p.settings, p.store, True, frozenset()))
    }
    good = [a for a in p.stored() if a.id not in bad]
    for job, rendered in done.items():
        ((name, data),) = rendered
        assert name == f"{job}.txt"
        head, *lines = data.decode().split("\n")
        assert head == f"{job} {p.store.count(job)}/6 of 5"
        mine = [a.id for a in good if job in a.categories]
        copies = p.store.copies(mine)
        assert sorted(lines) == sorted(f"{i} {len(copies.get(i, []))}" for i in mine * 3)
    by_id: dict[str, list[outputs.Skipped]] = {}
    for s in skipped:
        by_id.setdefault(s.id, []).append(s)
    assert set(by_id) == set(bad)
    for i, found in by_id.items():
        a = bad[i]
        assert {s.title for s in found} == {a.title} and {s.link for s in found} == {a.link}
        assert {s.output for s in found} == {"listing"}
    errors = {r.getMessage() for r in caplog.records if r.levelname == "ERROR"}
    a = bad[min(bad)]
    assert f"publishing listing skips article {a.id} ({a.link}): " in {
        m[: m.index("): ") + 3] for m in errors
    }
    reasons = {s.reason for s in skipped}
    assert "ValueError" in reasons  # an exception without a message: its type
    assert "cannot render 坏的" in reasons
    assert "cannot render 坏" + "x" * 185 in reasons  # cut to 200 characters


def test_a_failure_that_is_no_articles_fault_is_raised(publisher: Make) -> None:
    class Broken(_Listing):
        def render(self, view, settings, job):  # type: ignore[no-untyped-def]
            if len(view.recent(50, None)) > 1:  # too big together, fine alone
                raise OSError("disk full")
            return []

    p = publisher(2)
    skipped: list[outputs.Skipped] = []
    with pytest.raises(OSError, match="disk full"):
        outputs.render_isolated(Broken(), p.store, p.settings, "金融", skipped)
    assert skipped == []


def test_the_skip_report_counts_every_article_and_describes_the_first_five() -> None:
    left_out = [
        outputs.Skipped(out, f"id{i}", f"标题{i}", f"https://x/{i}", f"reason {i}")
        for i in range(7)
        for out in (("feed", "archives", "feed") if i == 0 else ("archives",))
    ]
    assert outputs.skipped_by_output(left_out) == {"archives": 7, "feed": 1}
    report = outputs._report(left_out)
    assert report["skipped"] == 7
    assert report["by_output"] == {"archives": 7, "feed": 1}
    assert report["articles"] == [
        {
            "id": "id0",
            "title": "标题0",
            "link": "https://x/0",
            "reason": "reason 0",
            "outputs": ["feed", "archives"],
        },
        *(
            {
                "id": f"id{i}",
                "title": f"标题{i}",
                "link": f"https://x/{i}",
                "reason": f"reason {i}",
                "outputs": ["archives"],
            }
            for i in range(1, 5)
        ),
    ]


def test_a_store_never_published_has_an_empty_skip_report(publisher: Make) -> None:
    p = publisher(1)
    assert outputs.skip_report(p.store) == {"skipped": 0, "by_output": {}, "articles": []}


def test_a_worker_renders_what_this_process_renders(publisher: Make, tmp_path: Path) -> None:
    """Through its own read-only connection per database file (a new file: a new one), with
    the settings it is sent, pickled once per publish or not (new ones: taken)."""
    import pickle

    from aggregator.outputs.feeds import FeedSetJob, render_feed_set

    a = publisher(3, root=tmp_path / "a")
    b = publisher(5, root=tmp_path / "b")
    b.settings = replace(b.settings, output=replace(b.settings.output, base_url="http://b.test/"))
    job = FeedSetJob("feed", "t", None, "archive/1.atom")
    try:
        for p, sent in ((a, a.settings), (a, pickle.dumps(a.settings)), (b, None), (a, None)):
            rendered, skipped = outputs.render_in_worker(
                p.settings.storage_path, sent or pickle.dumps(p.settings), "feed", job
            )
            assert rendered == render_feed_set(p.store, p.settings, job) and skipped == []
            assert len(feedparser.parse(rendered[0][1]).entries) == p.store.count()
        assert len(outputs._readers) == 1
        (reader,) = outputs._readers.values()
        with pytest.raises(Exception, match="readonly"):
            reader.set_meta("x", "y")
    finally:
        for reader in outputs._readers.values():
            reader.close()
        outputs._readers.clear()
        outputs._shipped.clear()


def test_finding_missing_files_says_what_it_restores(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    p = publisher(3)
    p.publish()
    post = next((p.dir / "posts").glob("*.md"))
    post.unlink()
    assert outputs.find_missing(p.settings, p.store) == 1
    (record,) = [r for r in caplog.records if r.name == "aggregator.outputs"]
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        f"outputs incomplete: restoring the files of 1 article(s): posts 1 (first: {post})"
    )


def test_publishing_on_a_terminal_counts_every_document_written(
    publisher: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter(range(1_000_000))  # a second passes between any two looks at the clock
    monkeypatch.setattr("aggregator.progress.time.monotonic", lambda: float(next(clock)))
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    quiet = publisher(3, root=tmp_path / "quiet", archive_size=2)
    quiet.publish()  # not asked for (the daemon): nothing drawn, even on a terminal
    assert term.getvalue() == ""
    p = publisher(3, root=tmp_path / "shown", archive_size=2)
    outputs.publish(p.settings, p.store, progress=True)
    drawn = term.getvalue()
    assert drawn.endswith("\r\x1b[K"), "the line is cleared at the end"
    counts = re.findall(r"\rpublishing: (\d+)/(\d+)\x1b\[K", drawn)
    total = int(counts[0][1])
    assert [(int(n), int(t)) for n, t in counts] == [(n, total) for n in range(1, total + 1)]
    # posts and article pages 3 each, archives 2, the feed 1, categories 5, pages 1,
    # site pages (index, categories, list pages) and sources.opml: more than 15.
    assert total > 15
    assert outputs.publish(p.settings, p.store, progress=True) == []


def test_outputs_changed_by_someone_else_are_named(
    publisher: Make, caplog: pytest.LogCaptureFixture
) -> None:
    p = publisher(3, archive_size=2)
    p.publish()
    (p.dir / "archive" / "1.atom").unlink()
    (p.dir / "sources.opml").rename(p.dir / "sources.old")
    p.publish()
    (record,) = [r for r in caplog.records if "changed by someone else" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        # in registry order: the archive folder, and the folder holding feed.* and the OPML
        "outputs changed by someone else: writing archives, feed, sources-opml again in full"
    )


def test_the_entries_kept_are_the_most_recently_used(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = publisher(5)
    a, b, c, d, e = p.stored()
    out = p.settings.output
    monkeypatch.setattr(formats.ENTRIES, "size", 3)

    def kept() -> list[tuple[str, str]]:
        return [(k.format, k.article.id) for k in formats.ENTRIES.keys_by_use()]

    render_json([a, b, c], "t", "feed.json", out)
    assert kept() == [("json", a.id), ("json", b.id), ("json", c.id)]
    render_json([a], "t", "feed.json", out)  # used again: kept longest
    render_json([d], "t", "feed.json", out)
    assert kept() == [("json", c.id), ("json", a.id), ("json", d.id)]
    render_rss([e, a], "t", "feed.rss", out)
    assert kept() == [("json", d.id), ("rss", e.id), ("rss", a.id)]
    whole = render_json([a, b, c, d, e], "t", "feed.json", out)
    formats.ENTRIES.clear()
    assert render_json([a, b, c, d, e], "t", "feed.json", out) == whole


def test_a_big_publish_starts_the_worker_processes_and_a_small_one_does_not(
    publisher: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A full rebuild of 15 articles: 8 archive pages, the feed, 5 category feeds and 2
    # batches of article pages may render in workers: 16 jobs, as many as 4 × 4.
    here: list[str] = []  # the jobs rendered in this process (the workers are spawned)
    for o in outputs.OUTPUTS:
        if o.in_workers:
            real = o.render

            def render(view, settings, job, _real=real, _name=o.name):  # type: ignore[no-untyped-def]
                here.append(_name)
                return _real(view, settings, job)

            monkeypatch.setattr(o, "render", render)
    files = []
    for parallel, started in ((4, True), (5, False)):
        monkeypatch.setattr(outputs, "PARALLEL_JOBS", parallel)
        p = publisher(15, root=tmp_path / str(parallel), archive_size=2)
        pool = Workers(1)
        here.clear()
        try:
            outputs.publish(p.settings, p.store, pool)
            assert pool.running == started, parallel
        finally:
            pool.close()
        assert len(here) == (0 if started else 16), parallel
        files.append(snapshot(p.dir))
    assert files[0] == files[1]


def test_each_output_whose_folder_someone_else_changed_is_counted(publisher: Make) -> None:
    p = publisher(3)
    p.publish()
    (p.dir / "categories" / "index.json").unlink()
    # category feeds, the category index and the site's category pages share the folder
    assert outputs.find_missing(p.settings, p.store) == 3
    p.publish()
    assert outputs.find_missing(p.settings, p.store) == 0
    (p.dir / "archive" / "1.atom").unlink()
    next((p.dir / "posts").glob("*.md")).unlink()
    assert outputs.find_missing(p.settings, p.store) == 2  # one article, the archives


def test_a_json_item_without_a_web_link_has_no_url(publisher: Make) -> None:
    p = publisher(1)
    (art,) = p.stored()
    bare = replace(art, link="", links=("", art.links[1]), cover=None, outlet=None)
    (item,) = json.loads(render_json([bare], "t", "feed.json", p.settings.output))["items"]
    assert "url" not in item and "image" not in item and "_outlet" not in item
    assert item["_provenance"] == {"links": [art.links[1]]}
    assert item["id"] == art.id


def test_what_any_output_leaves_out_is_reported(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever its place in the writing order: an output written first, and one written
    after the others because it links them."""

    class Linking(_Listing):
        name = "listing-linked"
        links_others = True

    monkeypatch.setattr(outputs, "OUTPUTS", (*outputs.OUTPUTS, _Listing(), Linking()))
    p = publisher(3)
    p.add(make_article(3, title="坏的"))
    (bad,) = [a for a in p.stored() if a.title == "坏的"]
    left_out: list[outputs.Skipped] = []
    outputs.publish(p.settings, p.store, skipped=left_out)
    assert {(s.output, s.id) for s in left_out} == {
        ("listing", bad.id),
        ("listing-linked", bad.id),
    }
    report = outputs.skip_report(p.store)
    assert report["by_output"] == {"listing": 1, "listing-linked": 1}
    assert (p.dir / "金融.txt").read_text().count("\n") == 3 * 3  # 3 good articles, 3 views


def test_when_the_workers_fail_the_rest_is_rendered_here(
    publisher: Make,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A job the worker processes cannot take (here: settings that cannot be sent to them)
    is rendered in this process, and so is every job after it: the same files."""
    from dataclasses import dataclass

    from aggregator.models import Source

    @dataclass(frozen=True)
    class Unsendable(Source):
        hook: object = None

    src = Unsendable("宏观", "https://rsshub.example/macro", ("金融",), "新浪财经", 300.0)
    src = replace(src, hook=lambda: None)  # a lambda cannot be pickled
    monkeypatch.setattr(outputs, "PARALLEL_JOBS", 1)
    files = []
    for n in (0, 1):
        p = publisher(15, root=tmp_path / str(n), archive_size=2)
        p.settings = replace(p.settings, sources=(src,))
        pool = Workers(n)
        try:
            outputs.publish(p.settings, p.store, pool)
            assert pool.running == bool(n), "a job it cannot take does not break the pool"
        finally:
            pool.close()
        files.append(snapshot(p.dir))
    assert files[0] == files[1]
    (record,) = [r for r in caplog.records if "in a worker failed" in r.getMessage()]
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert re.fullmatch(
        r"rendering \S+\(.*\) in a worker failed; rendering the rest here", record.getMessage()
    )


def test_what_is_rendered_here_after_the_workers_failed_still_reports_what_it_left_out(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a worker failed, the job it could not take and every job after it render in
    this process: an article they cannot render is left out and reported as it would be
    by a worker."""
    from dataclasses import dataclass

    from aggregator.models import Source

    @dataclass(frozen=True)
    class Unsendable(Source):
        hook: object = None

    class Pooled(_Listing):
        name = "listing-pooled"
        in_workers = True

    src = Unsendable("宏观", "https://rsshub.example/macro", ("金融",), "新浪财经", 300.0)
    src = replace(src, hook=lambda: None)  # a lambda cannot be pickled: the submit fails
    monkeypatch.setattr(outputs, "PARALLEL_JOBS", 1)
    monkeypatch.setattr(outputs, "OUTPUTS", (*outputs.OUTPUTS, Pooled()))
    p = publisher(3)
    p.add(make_article(3, title="坏的"))
    (bad,) = [a for a in p.stored() if a.title == "坏的"]
    p.settings = replace(p.settings, sources=(src,))
    left_out: list[outputs.Skipped] = []
    pool = Workers(1)
    try:
        outputs.publish(p.settings, p.store, pool, skipped=left_out)
    finally:
        pool.close()
    assert {(s.output, s.id) for s in left_out} == {("listing-pooled", bad.id)}
    assert outputs.skip_report(p.store)["by_output"] == {"listing-pooled": 1}
    assert (p.dir / "金融.txt").read_text().count("\n") == 3 * 3  # 3 good articles, 3 views


# Text with what XML escapes, what lxml refuses and xml_safe drops, CJK and beyond the BMP.
_XML_TEXT = st.text(st.sampled_from(list("a 中文&<>\"'\r\n\t\x0b\x85\x7f\ufffe😀]")), max_size=12)


@st.composite
def _stored(draw: st.DrawFn) -> StoredArticle:
    when = st.datetimes(
        datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=st.sampled_from([UTC, SHANGHAI])
    )
    maybe = st.one_of(st.none(), _XML_TEXT)
    return StoredArticle(
        id=draw(st.one_of(st.just("urn:uuid:d5714b4b-c0b2-58a6-949c-3fe37582f55a"), _XML_TEXT)),
        slug="2024-01-01-abc",
        link=draw(_XML_TEXT),
        title=draw(_XML_TEXT),
        published=draw(when),
        updated=draw(when),
        author=draw(_XML_TEXT),
        categories=tuple(draw(st.lists(_XML_TEXT, max_size=3))),
        content_html=draw(_XML_TEXT),
        cover=draw(maybe),
        links=tuple(draw(st.lists(_XML_TEXT, max_size=3))),
        outlet=draw(maybe),
        tags=tuple(draw(st.lists(_XML_TEXT, max_size=2))),
    )


@settings(max_examples=300)
@given(_stored())
def test_an_entry_written_directly_holds_the_bytes_feedgen_and_lxml_give_it(
    a: StoredArticle,
) -> None:
    """The Atom entries and RSS items written without feedgen are the ones feedgen and lxml
    serialize, byte for byte; an article they would render otherwise (an empty field, an id
    lxml refuses) is left to them. JSON Feed items are the ones `json.dumps` indents."""
    out = make_settings_output()
    doc = FeedDoc("t", "archive/2.atom", "feed.atom", (("prev-archive", "a/1.atom"),), True)
    cases = (
        (formats._ATOM, formats._atom_entry, lambda: formats._atom([a], doc, out, a.updated)),
        (formats._RSS, formats._rss_item, lambda: formats._rss([a], "t", "f.rss", out, a.updated)),
        (formats._JSON, formats._json_entry, lambda: formats._json([a], "t", "f.json", out)),
    )
    for layout, direct, whole in cases:
        data = direct(a)
        try:
            pieces = formats._cut(layout, whole(), 1)
        except ValueError:  # feedgen or lxml refuses the article: so must the direct path
            assert data is None
            continue
        assert data is None or [data] == pieces


def test_an_outlet_that_sanitizes_to_nothing_is_left_to_feedgen(publisher: Make) -> None:
    """A DEL-only outlet: feedgen's path writes an empty <source> title; the direct
    writers, which would write none, decline it (found by the property above)."""
    p = publisher(1)
    a = replace(p.stored()[0], outlet="\x7f")
    assert formats._atom_entry(a) is None and formats._rss_item(a) is None
    out, doc = p.settings.output, FeedDoc("t", "feed.atom", "feed.atom")
    direct = (render_atom([a], doc, out), render_rss([a], "t", "feed.rss", out))
    formats.ENTRIES.clear()
    formats.DIRECT = False
    try:
        assert direct == (render_atom([a], doc, out), render_rss([a], "t", "feed.rss", out))
    finally:
        formats.DIRECT = True


def test_the_usual_article_s_entries_are_written_directly(publisher: Make) -> None:
    """Stored articles take the direct path, and documents made of its entries are the
    documents feedgen renders whole."""
    p = publisher(6)
    arts = [
        replace(
            a, cover=f"https://n.sinaimg.cn/{i}.png", outlet="证券时报", tags=("茅台 sh600519",)
        )
        if i % 2
        else a
        for i, a in enumerate(p.stored())
    ]
    out = p.settings.output
    doc = FeedDoc("t", "feed.atom", "feed.atom")
    assert all(formats._atom_entry(a) and formats._rss_item(a) for a in arts)
    arts[2] = replace(arts[2], alt_titles=("另一个标题", ""), links=())

    def documents() -> tuple[bytes, ...]:
        return (
            render_atom(arts, doc, out),
            render_rss(arts, "t", "feed.rss", out),
            render_json(arts, "t", "feed.json", out),
        )

    direct = documents()
    formats.ENTRIES.clear()
    formats.DIRECT = False
    try:
        assert direct == documents()
    finally:
        formats.DIRECT = True


@given(st.datetimes(timezones=st.sampled_from([UTC, SHANGHAI])))
def test_an_rss_date_is_the_one_feedgen_writes(when: datetime) -> None:
    """Items written directly date themselves as feedgen does (its C-locale strftime),
    any year, any offset."""
    from feedgen.util import formatRFC2822

    assert formats.rfc2822(when) == formatRFC2822(when)


def test_a_feed_set_sanitizes_each_article_once_and_a_revision_again(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Atom, RSS and JSON of the same articles share their sanitized fields; a revised
    article (any field) is sanitized afresh."""
    p = publisher(4)
    arts = p.stored()
    out = p.settings.output
    bodies: list[str] = []
    real = formats.xml_safe

    def counted(text: str) -> str:
        if text in {a.content_html for a in arts} | {"<p>改</p>"}:
            bodies.append(text)
        return real(text)

    monkeypatch.setattr(formats, "xml_safe", counted)
    formats.ENTRIES.clear()
    formats.FIELDS.clear()
    doc = FeedDoc("t", "feed.atom", "feed.atom")

    def feed_set(articles: list[StoredArticle]) -> tuple[bytes, ...]:
        return (
            render_atom(articles, doc, out),
            render_rss(articles, "t", "feed.rss", out),
            render_json(articles, "t", "feed.json", out),
        )

    documents = feed_set(arts)
    assert sorted(bodies) == sorted(a.content_html for a in arts)
    revised = replace(arts[0], content_html="<p>改</p>")
    again = feed_set([revised, *arts[1:]])
    assert bodies[len(arts) :] == ["<p>改</p>"]
    assert b"&lt;p&gt;\xe6\x94\xb9" in again[0] and documents[1:] != again[1:]


def test_a_publish_reads_an_article_once_for_its_post_and_its_page(
    publisher: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering here, each batch of posts is followed by the same articles' pages, which
    take the articles just read; nothing is kept once the publish is over, so the next
    one reads a revision."""
    from aggregator import store as store_module
    from aggregator.outputs import posts

    monkeypatch.setattr(posts, "BATCH", 3)
    monkeypatch.setattr(article_pages, "BATCH", 3)
    monkeypatch.setattr(outputs, "SHARED_LOADS", 3)  # one batch
    p = publisher(7)
    read: dict[str, list[int]] = {}
    by = ["?"]
    real_read = store_module.Store._read

    def counted(self: Store, seqs: list[int]) -> dict[int, StoredArticle]:
        read.setdefault(by[0], []).extend(seqs)
        return real_read(self, seqs)

    monkeypatch.setattr(store_module.Store, "_read", counted)
    for o in (outputs.OUTPUTS[0], outputs.OUTPUTS[1]):
        real = o.render

        def render(view, settings, job, _real=real, _name=o.name):  # type: ignore[no-untyped-def]
            by[0] = _name
            try:
                return _real(view, settings, job)
            finally:
                by[0] = "?"

        monkeypatch.setattr(o, "render", render)
    p.publish()
    assert sorted(read["posts"]) == list(range(1, 8))
    assert not read.get("article_pages")  # every page's article was the post's just read
    assert p.store._shared is None
    first = p.stored()[0]
    p.add(replace(make_article(0), title="更正后的标题"), now=p.now + timedelta(hours=1))
    p.publish()
    page = (p.dir / "articles" / f"{first.slug}.html").read_text("utf-8")
    assert "更正后的标题" in page
