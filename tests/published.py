"""Articles and a real store to publish them from, for the publishing, server and reader
tests (the `publisher` fixture in conftest.py builds on it)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import outputs
from aggregator.identity import identity_keys
from aggregator.models import (
    Article,
    DedupSettings,
    FetchSettings,
    OutputSettings,
    Settings,
    StoredArticle,
)
from aggregator.store import Store

BASE = "http://127.0.0.1:8080/"
T0 = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
CHANNELS = ("新浪财经－国內", "宏观经济", "A/B 股: 美股?")


def make_article(i: int, *, published: datetime | None = None, **changes: object) -> Article:
    """Article i: Chinese title, braces and a control char in the body, 3 channels rotating."""
    pub = published or T0 + timedelta(minutes=7 * ((i * 5) % 23))  # not insertion order
    channel = CHANNELS[i % len(CHANNELS)]
    link = f"https://finance.sina.com.cn/china/2024-03-05/doc-inaaa{i:04d}.shtml"
    title = f"工信部印发规划第{i}号：推动“高质量”发展 & <增长> #{i}"
    key, alts = identity_keys(link, None, title, pub.isoformat())
    article = Article(
        key=key,
        alt_keys=alts,
        link=link,
        title=title,
        published=pub,
        date_is_fallback=False,
        author="新浪财经" if i % 2 else "财联社",
        categories=("金融", "新浪财经", channel),
        content_html=f"<p>　　正文{i} {{{{ 模板 }}}} 股价\x0b上涨 <b>5%</b></p>",
        text=f"正文{i} 股价上涨 5%",
        cover=f"https://n.sinaimg.cn/finance/{i}.jpg" if i % 4 else None,
        source_name=channel,
    )
    return replace(article, **changes)  # type: ignore[arg-type]


def mobile_copy(a: Article) -> Article:
    """The same story as another channel carries it, under its finance.sina.cn URL."""
    docid = a.key.removeprefix("sina:")
    link = f"https://finance.sina.cn/2024-03-05/detail-i{docid}.d.html"
    key, alts = identity_keys(link, None, a.title, a.published.isoformat())
    return replace(a, key=key, alt_keys=alts, link=link, source_name="手机新浪网")


@dataclass
class Publisher:
    """A real store and the outputs published from it."""

    store: Store
    settings: Settings
    now: datetime = field(default=T0 + timedelta(days=1))

    @property
    def dir(self) -> Path:
        return self.settings.output.dir

    def add(self, *articles: Article, now: datetime | None = None) -> None:
        self.store.upsert(list(articles), now or self.now)

    def publish(self) -> list[Path]:
        return outputs.publish(self.settings, self.store)

    def stored(self) -> list[StoredArticle]:
        """Every stored article, in insertion order."""
        return self.store.page(0, self.store.count())


def make_settings(root: Path, base_url: str = BASE, **output: object) -> Settings:
    """Settings with the database in `root`/db and the outputs in `root`/public."""
    return Settings(
        config_path=root / "aggregator.toml",
        storage_path=root / "db" / "aggregator.db",
        output=OutputSettings(
            dir=root / "public",
            base_url=base_url,
            title=str(output.pop("title", "新浪财经聚合")),
            **output,  # type: ignore[arg-type]
        ),
        server_host="127.0.0.1",
        server_port=8080,
        sources=(),
        fetch=FetchSettings(user_agent="sina-aggregator tests"),
        dedup=DedupSettings(policy="keep"),  # the test articles look alike on purpose
    )


def published(root: Path, n: int, base_url: str = BASE, **output: object) -> Publisher:
    """A Publisher under `root` holding articles 0..n-1, each also seen at its mobile URL.
    The caller closes `.store`."""
    settings = make_settings(root, base_url, **output)
    p = Publisher(Store(settings.storage_path, settings.dedup), settings)
    articles = [make_article(i) for i in range(n)]
    if articles:
        p.add(*articles)
        p.add(*(mobile_copy(a) for a in articles), now=p.now + timedelta(minutes=1))
    return p
