"""The corpus posts (tests/data/corpus, produced by the old pipeline) as feed input.

Each post's body becomes what a feed would carry: the old pipeline escaped braces as
`&#123;`/`&#125;`, real feeds have literal braces, so they are turned back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from aggregator.models import ParsedEntry, Source

CORPUS = Path(__file__).parent / "data" / "corpus"
GOLDEN = Path(__file__).parent / "data" / "golden"

# Article URL patterns per outlet, so relative URLs and identities look like the real thing.
_LINKS = {
    "新浪财经": "https://finance.sina.com.cn/china/gncj/2021-12-17/doc-ikyakumx{n}.shtml",
    "知乎": "https://daily.zhihu.com/story/{n}",
}
_DEFAULT_LINK = "https://www.example.com/news/{n}.html"


@dataclass(frozen=True)
class CorpusPost:
    """One corpus post: its front matter as written and its body as a feed would carry it."""

    name: str  # file stem
    title: str
    categories: tuple[str, ...]
    author: str
    date_raw: str
    body: str

    @property
    def link(self) -> str:
        n = int(hashlib.sha1(self.name.encode()).hexdigest()[:8], 16) % 10**7
        outlet = next((k for k in _LINKS if self.author.startswith(k)), None)
        return _LINKS.get(outlet or "", _DEFAULT_LINK).format(n=f"{n:07d}")

    def entry(self, *, title: str | None = None, keep_title: bool = True) -> ParsedEntry:
        return ParsedEntry(
            guid=self.link,
            link=self.link,
            title=(title if title is not None else self.title) if keep_title else None,
            content_html=self.body,
            published_raw=self.date_raw,
            updated_raw=None,
            author=None,
        )

    def source(self) -> Source:
        return Source(
            name=self.categories[-1],
            url="https://rsshub.app/example",
            categories=self.categories[:-1],
            author=self.author,
            interval=300.0,
        )


def load(path: Path) -> CorpusPost:
    text = path.read_text(encoding="utf-8").lstrip()
    assert text.startswith("---\n"), path
    front, rest = text[4:].split("\n---\n", 1)
    meta = yaml.load(front, Loader=yaml.BaseLoader)  # strings only: dates stay as written
    body = rest.strip()
    body = body.removeprefix("<div>").removesuffix("</div>")
    body = body.replace("&#123;", "{").replace("&#125;", "}")
    return CorpusPost(
        name=path.stem,
        title=meta["title"],
        categories=tuple(meta["categories"]),
        author=meta["author"],
        date_raw=meta["date"],
        body=body,
    )


def all_posts() -> list[CorpusPost]:
    return [load(p) for p in sorted(CORPUS.glob("*.md"))]
