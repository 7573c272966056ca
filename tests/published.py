"""Articles for the tests: `art` (one poll's Article, for the store and orchestrator tests),
`make_article` and a real store to publish them from (the `publisher` fixture in
conftest.py builds on it) for the publishing, server and reader tests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import outputs
from aggregator.identity import identity_keys, provenance_link
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
        canonical_link=provenance_link(link),
    )
    return replace(article, **changes)  # type: ignore[arg-type]


def mobile_copy(a: Article) -> Article:
    """The same story as another channel carries it, under its finance.sina.cn URL."""
    docid = a.key.removeprefix("sina:")
    link = f"https://finance.sina.cn/2024-03-05/detail-i{docid}.d.html"
    key, alts = identity_keys(link, None, a.title, a.published.isoformat())
    return replace(
        a,
        key=key,
        alt_keys=alts,
        link=link,
        canonical_link=provenance_link(link),
        source_name="手机新浪网",
    )


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
        return outputs.publish(self.settings, self.store, now=self.now)

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


# --- one poll's articles, for the store tests ---------------------------------------------

NOW = datetime(2022, 8, 9, 15, 0, tzinfo=UTC)
BODY = (
    "记者从交通运输部长江航务管理局获悉，随着长江航运高质量发展深入推进，长江航运服务长江经济带、"
    "长三角一体化等国家战略能力明显提升。今年1-7月，长江干线港口完成货物吞吐量20.2亿吨、"
    "集装箱吞吐量1367万标箱，同比增长1.0%、6.0%；港口集装箱铁水联运量完成21.7万标箱，同比增长86.5%。"
)


def art(
    link: str,
    title: str = "1-7月长江干线港口完成货物吞吐量超20亿吨",
    text: str = BODY,
    source: str = "新浪财经－国內",
    cats: tuple[str, ...] = ("金融", "新浪财经"),
    published: datetime = NOW,
) -> Article:
    key, alts = identity_keys(link, None, title, published.isoformat())
    return Article(
        key=key,
        alt_keys=alts,
        link=link,
        title=title,
        published=published,
        date_is_fallback=False,
        author=cats[-1],
        categories=(*cats, source),
        content_html=f"<p>{text}</p>",
        text=text,
        cover=None,
        source_name=source,
        canonical_link=provenance_link(link),
    )
