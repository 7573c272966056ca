"""Build the offline demo feeds (config/demo/*.xml) from the corpus posts in tests/data/corpus.

Each corpus post becomes one feed item shaped like RSSHub's output for its outlet: the body
(with the old pipeline's `&#123;`/`&#125;` turned back into braces) as description, the
front-matter date string as written, a plausible article URL. One Sina feed is encoded in
GB18030 but declared GB2312 (a real-world mislabel), one feed is Atom, and the seed article
also appears in a second channel under its finance.sina.cn URL form — so the demo shows
decoding, cleaning, identity merging and cross-outlet dedup at once.

Run: python tests/data/build_demo.py   (rewrites config/demo/*.xml deterministically)
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
OUT = HERE.parents[1] / "config" / "demo"

FEEDS = {
    "新浪财经": ("sina-china.xml", "新浪财经－国內", "https://finance.sina.com.cn/china/"),
    "证券时报网": ("stcn.xml", "证券时报网－快讯", "https://www.stcn.com/article/list/kx.html"),
    "财联社": ("cls.xml", "财联社－电报", "https://www.cls.cn/telegraph"),
    "中证网": ("cs.xml", "中证网－资讯", "https://www.cs.com.cn/"),
    "知乎": ("zhihu.atom", "知乎日报", "https://daily.zhihu.com/"),
}


def read_post(path: Path) -> tuple[dict[str, object], str]:
    text = path.read_text(encoding="utf-8").lstrip("\n")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    body = body.strip().replace("&#123;", "{").replace("&#125;", "}")
    return meta, body


def digits(seed: str, n: int) -> str:
    return str(int(hashlib.sha1(seed.encode()).hexdigest(), 16))[:n]


def doc_id(seed: str) -> str:
    return "k" + hashlib.sha1(seed.encode()).hexdigest()[:14]


def link_for(outlet: str, title: str, date: str) -> str:
    day = date[:10] if date[:4].isdigit() else "2022-01-01"
    if outlet == "新浪财经":
        return f"https://finance.sina.com.cn/china/gncj/{day}/doc-i{doc_id(title)}.shtml"
    if outlet == "证券时报网":
        return f"https://www.stcn.com/article/detail/{digits(title, 6)}.html"
    if outlet == "财联社":
        return f"https://www.cls.cn/detail/{digits(title, 7)}"
    if outlet == "中证网":
        return f"https://www.cs.com.cn/xwzx/hg/202108/t2021080{digits(title, 7)}.html"
    return f"https://daily.zhihu.com/story/{digits(title, 8)}"


def rss(channel: str, home: str, items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{escape(channel)}</title>\n<link>{escape(home)}</link>\n"
        f"<description>{escape(channel)} - Made with love by RSSHub</description>\n"
        "<generator>RSSHub</generator>\n<language>zh-cn</language>\n<ttl>5</ttl>\n"
        + "".join(items)
        + "</channel>\n</rss>\n"
    )


def rss_item(title: str, link: str, date: str, author: str, body: str) -> str:
    return (
        "<item>\n"
        f"<title>{escape(title)}</title>\n"
        f"<description><![CDATA[{body}]]></description>\n"
        f"<pubDate>{escape(date)}</pubDate>\n"
        f'<guid isPermaLink="false">{escape(link)}</guid>\n'
        f"<link>{escape(link)}</link>\n"
        f"<author>{escape(author)}</author>\n"
        "</item>\n"
    )


def atom(channel: str, home: str, entries: list[tuple[str, str, str, str, str]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(channel)}</title>\n<id>{escape(home)}</id>\n"
        f'<link href="{escape(home)}"/>\n<updated>2022-03-29T00:43:13+08:00</updated>\n'
    ]
    for title, link, date, author, body in entries:
        iso = date.replace(" ", "T") + "+08:00" if date[:4].isdigit() else date
        parts.append(
            "<entry>\n"
            f"<title>{escape(title)}</title>\n<id>{escape(link)}</id>\n"
            f'<link href="{escape(link)}"/>\n<published>{iso}</published>\n'
            f"<updated>{iso}</updated>\n<author><name>{escape(author)}</name></author>\n"
            f'<content type="html">{escape(body)}</content>\n</entry>\n'
        )
    parts.append("</feed>\n")
    return "".join(parts)


def main() -> None:
    groups: dict[str, list[tuple[str, str, str, str, str]]] = {k: [] for k in FEEDS}
    for path in sorted(CORPUS.glob("*.md")):
        meta, body = read_post(path)
        cats = meta.get("categories") or []
        assert isinstance(cats, list)
        outlet = next((c for c in cats if str(c).split(" ")[0] in FEEDS), None)
        outlet = str(outlet).split(" ")[0] if outlet else "新浪财经"
        title = str(meta["title"])
        date = str(meta["date"])
        author = str(meta.get("author", outlet)).split(" ")[0]
        groups[outlet].append((title, link_for(outlet, title, date), date, author, body))

    OUT.mkdir(parents=True, exist_ok=True)
    for outlet, (name, channel, home) in FEEDS.items():
        entries = groups[outlet]
        if name.endswith(".atom"):
            (OUT / name).write_text(atom(channel, home, entries), encoding="utf-8")
            continue
        doc = rss(channel, home, [rss_item(*e) for e in entries])
        if outlet == "新浪财经":
            # Real-world mislabel: GB18030 bytes under a GB2312 declaration.
            data = doc.replace('encoding="UTF-8"', 'encoding="gb2312"').encode("gb18030")
            (OUT / name).write_bytes(data)
        else:
            (OUT / name).write_text(doc, encoding="utf-8")

    # The seed article again, in another channel, under its finance.sina.cn URL form.
    seed = next(e for e in groups["新浪财经"] if e[0].startswith("工信部"))
    docid = seed[1].rsplit("doc-i", 1)[1].removesuffix(".shtml")
    alt = f"http://finance.sina.cn/2021-12-17/detail-i{docid}.d.html?from=wap&vt=4"
    macro = rss(
        "新浪财经－宏观经济",
        "https://finance.sina.com.cn/china/hgjj/",
        [rss_item(seed[0], alt, seed[2], seed[3], seed[4])],
    )
    (OUT / "sina-macro.xml").write_text(macro, encoding="utf-8")


if __name__ == "__main__":
    main()
