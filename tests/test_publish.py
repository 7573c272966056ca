"""Publishing: feeds valid and parseable, deterministic, archived, per category, and a page."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from aggregator.models import OutputSettings, StoredArticle
from aggregator.publish import ATOM_NS, FH_NS, category_slug, is_full_archive, publish

DATA = Path(__file__).parent / "data"
BASE = "http://127.0.0.1:8080/"
A = f"{{{ATOM_NS}}}"
T0 = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
CHANNELS = ("新浪财经－国內", "宏观经济", "A/B 股: 美股?")


@dataclass
class ListView:
    """The store's read-only view, backed by a list in insertion order."""

    articles: list[StoredArticle] = field(default_factory=list)

    def _in(self, category: str | None) -> list[StoredArticle]:
        return [a for a in self.articles if category is None or category in a.categories]

    def recent(self, limit: int, category: str | None = None) -> list[StoredArticle]:
        by_id = sorted(self._in(category), key=lambda a: a.id)
        return sorted(by_id, key=lambda a: a.published, reverse=True)[:limit]

    def categories(self) -> list[str]:
        return sorted({c for a in self.articles for c in a.categories})

    def count(self, category: str | None = None) -> int:
        return len(self._in(category))

    def page(self, offset: int, limit: int, category: str | None = None) -> list[StoredArticle]:
        return self._in(category)[offset : offset + limit]


def make_article(i: int, *, published: datetime | None = None) -> StoredArticle:
    """Article i: Chinese title, braces and a control char in the body, 3 channels rotating."""
    pub = published or T0 + timedelta(minutes=7 * ((i * 5) % 23))  # not insertion order
    channel = CHANNELS[i % len(CHANNELS)]
    return StoredArticle(
        id=f"urn:uuid:00000000-0000-5000-8000-{i:012d}",
        slug=f"2024-03-05-a{i}",
        link=f"https://finance.sina.com.cn/china/2024-03-05/doc-inaaa{i:04d}.shtml",
        title=f"工信部印发规划第{i}号：推动“高质量”发展 & <增长> #{i}",
        published=pub,
        updated=pub + timedelta(minutes=i % 3),
        author="新浪财经" if i % 2 else "财联社",
        categories=("金融", "新浪财经", channel),
        content_html=f"<p>　　正文{i} {{{{ 模板 }}}} 股价\x0b上涨 <b>5%</b></p>",
        cover=f"https://n.sinaimg.cn/finance/{i}.jpg" if i % 4 else None,
        links=(
            f"https://finance.sina.com.cn/china/2024-03-05/doc-inaaa{i:04d}.shtml",
            f"https://finance.sina.cn/2024-03-05/detail-inaaa{i:04d}.d.html",
        ),
    )


def settings_for(tmp: Path, **kw: int) -> OutputSettings:
    return OutputSettings(dir=tmp, base_url=BASE, title="新浪财经聚合", **kw)  # type: ignore[arg-type]


def view_of(n: int) -> ListView:
    return ListView([make_article(i) for i in range(n)])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def parse(path: Path) -> feedparser.FeedParserDict:
    return feedparser.parse(io.BytesIO(path.read_bytes()))


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(DATA / "atom.rng")))


def test_atom_documents_are_valid_rfc4287(tmp_path: Path, atom_schema: etree.RelaxNG) -> None:
    view = view_of(13)
    publish(view, settings_for(tmp_path, feed_size=5, archive_size=4))
    atoms = sorted(tmp_path.rglob("*.atom"))
    assert len(atoms) >= 1 + len(view.categories()) + 4
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
def test_feeds_parse_back_intact(tmp_path: Path, name: str) -> None:
    view = view_of(9)
    publish(view, settings_for(tmp_path, feed_size=6))
    parsed = parse(tmp_path / name)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    expected = view.recent(6)
    assert [e.id for e in parsed.entries] == [a.id for a in expected]
    assert [e.title for e in parsed.entries] == [a.title for a in expected]
    first, art = parsed.entries[0], expected[0]
    assert first.link == art.link
    assert first.published_parsed[:6] == art.published.timetuple()[:6]
    assert [t.term for t in first.tags] == list(art.categories)
    assert first.author == art.author
    body = first.content[0].value if name == "feed.atom" else first.summary
    assert "{{ 模板 }}" in body and "\x0b" not in body and "<b>5%</b>" in body


def test_atom_carries_provenance_cover_and_true_dates(tmp_path: Path) -> None:
    view = view_of(5)
    publish(view, settings_for(tmp_path))
    root = etree.parse(str(tmp_path / "feed.atom")).getroot()
    entries = {e.findtext(f"{A}id"): e for e in root.iter(f"{A}entry")}
    art = view.articles[1]
    entry = entries[art.id]
    rels = {(link.get("rel"), link.get("href")) for link in entry.iter(f"{A}link")}
    assert ("related", art.links[1]) in rels
    assert ("enclosure", art.cover) in rels
    assert entry.findtext(f"{A}published") == art.published.isoformat()
    assert entry.findtext(f"{A}updated") == art.updated.isoformat()
    newest_update = max(a.updated for a in view.articles)
    assert root.findtext(f"{A}updated") == newest_update.isoformat()
    assert (tmp_path / "feed.atom").read_bytes().count(b"CDATA") == 0


def test_json_feed_1_1(tmp_path: Path) -> None:
    view = view_of(7)
    publish(view, settings_for(tmp_path, feed_size=4))
    feed = json.loads((tmp_path / "feed.json").read_text("utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "新浪财经聚合"
    assert feed["feed_url"] == BASE + "feed.json"
    items = feed["items"]
    expected = view.recent(4)
    assert [it["id"] for it in items] == [a.id for a in expected]
    for it, art in zip(items, expected, strict=True):
        assert it["title"] == art.title
        assert it["content_html"] == art.content_html.replace("\x0b", "")  # XML-illegal char
        assert datetime.fromisoformat(it["date_published"]) == art.published
        assert it["tags"] == list(art.categories)
        assert it.get("image") == art.cover
        assert set(art.links) <= set(it["_provenance"]["links"])
    assert "工信部" in (tmp_path / "feed.json").read_text("utf-8")  # not \\u-escaped


def test_newest_first_and_feed_size(tmp_path: Path) -> None:
    view = view_of(30)
    publish(view, settings_for(tmp_path, feed_size=10))
    for name in ("feed.atom", "feed.rss"):
        entries = parse(tmp_path / name).entries
        assert len(entries) == 10
        dates = [e.published_parsed for e in entries]
        assert dates == sorted(dates, reverse=True)
        assert dates[0][:6] == max(a.published for a in view.articles).timetuple()[:6]


def test_publishing_twice_changes_nothing(tmp_path: Path) -> None:
    view = view_of(12)
    settings = settings_for(tmp_path, feed_size=5, archive_size=5)
    first = publish(view, settings)
    before = snapshot(tmp_path)
    assert {tmp_path / p for p in before} == set(first)
    assert publish(view, settings) == []
    assert snapshot(tmp_path) == before


def test_same_articles_give_identical_bytes_in_a_fresh_dir(tmp_path: Path) -> None:
    publish(view_of(12), settings_for(tmp_path / "a", archive_size=5))
    publish(view_of(12), settings_for(tmp_path / "b", archive_size=5))
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_new_article_changes_only_what_it_must(tmp_path: Path) -> None:
    view = view_of(10)
    settings = settings_for(tmp_path, feed_size=50, archive_size=4)
    publish(view, settings)
    view.articles.append(make_article(10))
    changed = {p.relative_to(tmp_path).as_posix() for p in publish(view, settings)}
    assert "feed.atom" in changed
    assert "archive/3.atom" in changed  # the tail page filled up
    assert not {"archive/1.atom", "archive/2.atom"} & changed  # full pages are immutable


def walk_archives(tmp_path: Path, start: str) -> list[list[str]]:
    """Follow prev-archive from `start`; the ids of each document visited."""
    docs: list[list[str]] = []
    path: Path | None = tmp_path / start
    seen: set[Path] = set()
    while path is not None:
        assert path not in seen, "prev-archive loop"
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        docs.append([e.findtext(f"{A}id") or "" for e in root.iter(f"{A}entry")])
        prev = [x.get("href") for x in root.iter(f"{A}link") if x.get("rel") == "prev-archive"]
        path = tmp_path / unquote(str(prev[0]).removeprefix(BASE)) if prev else None
    return docs


@pytest.mark.parametrize("count", [0, 3, 8, 11])
def test_prev_archive_chain_reaches_every_article_once(tmp_path: Path, count: int) -> None:
    view = view_of(count)
    settings = settings_for(tmp_path, feed_size=3, archive_size=4)
    for n in range(count + 1):  # grow one article at a time, as polls do
        publish(ListView(view.articles[:n]), settings)
    archived = [i for doc in walk_archives(tmp_path, "feed.atom")[1:] for i in doc]
    assert sorted(archived) == sorted(a.id for a in view.articles)
    assert len(archived) == len(set(archived))


def test_full_archive_pages_are_marked_and_linked(tmp_path: Path) -> None:
    publish(view_of(9), settings_for(tmp_path, archive_size=4))
    page1 = etree.parse(str(tmp_path / "archive/1.atom")).getroot()
    tail = etree.parse(str(tmp_path / "archive/3.atom")).getroot()
    assert page1.find(f"{{{FH_NS}}}archive") is not None
    assert is_full_archive((tmp_path / "archive/1.atom").read_bytes())
    assert not is_full_archive((tmp_path / "archive/3.atom").read_bytes())
    assert tail.find(f"{{{FH_NS}}}archive") is None
    rels = {x.get("rel"): x.get("href") for x in page1.iter(f"{A}link")}
    assert rels["current"] == BASE + "feed.atom"
    assert rels["next-archive"] == BASE + "archive/2.atom"
    assert "prev-archive" not in rels
    assert len(page1.findall(f"{A}entry")) == 4 and len(tail.findall(f"{A}entry")) == 1


def test_category_feeds_and_index(tmp_path: Path) -> None:
    view = view_of(9)
    publish(view, settings_for(tmp_path))
    index = json.loads((tmp_path / "categories/index.json").read_text("utf-8"))
    assert [row["name"] for row in index] == view.categories()
    for row in index:
        assert row["count"] == view.count(row["name"])
        for ext in ("atom", "rss", "json"):
            path = tmp_path / "categories" / f"{row['slug']}.{ext}"
            assert path.is_file()
            assert row[ext] == BASE + "categories/" + row[ext].split("/")[-1]
        parsed = parse(tmp_path / "categories" / f"{row['slug']}.atom")
        assert parsed.bozo == 0
        assert [e.id for e in parsed.entries] == [a.id for a in view.recent(50, row["name"])]


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


@given(st.text(max_size=80), st.text(max_size=80))
def test_slugs_are_safe_and_tell_names_apart(a: str, b: str) -> None:
    for name in (a, b):
        slug = category_slug(name)
        assert slug and slug.strip(".") and len(slug.encode()) <= 200
        assert all(c.isprintable() and c not in '/\\:*?"<>|%# ' for c in slug)
    if a != b:
        assert category_slug(a) != category_slug(b)


def test_control_characters_never_reach_any_output(tmp_path: Path) -> None:
    art = replace(make_article(1), title="标题\x08含控制符", author="作者\x1f")
    publish(ListView([art]), settings_for(tmp_path))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8")
            assert not any(c in text for c in "\x08\x0b\x1f"), path
            assert not any(e in text for e in ("\\u000b", "\\u001f", "\\b")), path  # JSON escapes
    assert parse(tmp_path / "feed.atom").entries[0].title == "标题含控制符"


def test_empty_store_publishes_valid_empty_feeds(
    tmp_path: Path, atom_schema: etree.RelaxNG
) -> None:
    publish(ListView(), settings_for(tmp_path))
    assert atom_schema.validate(etree.parse(str(tmp_path / "feed.atom")))
    assert parse(tmp_path / "feed.rss").bozo == 0
    assert json.loads((tmp_path / "feed.json").read_text())["items"] == []


def test_revised_article_updates_in_place(tmp_path: Path) -> None:
    view = view_of(4)
    settings = settings_for(tmp_path)
    publish(view, settings)
    old = view.articles[2]
    view.articles[2] = replace(old, title="更正后的标题", updated=old.updated + timedelta(hours=1))
    publish(view, settings)
    entries = parse(tmp_path / "feed.atom").entries
    assert [e.title for e in entries if e.id == old.id] == ["更正后的标题"]
    assert len(entries) == 4
