"""The pages people and programs start from: index.html and categories/index.json.

Both list every category and link to the feeds, so they are written after the feeds.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ..dates import SHANGHAI
from ..models import OutputSettings, Settings, StoredArticle
from ..xmlchars import xml_safe
from .base import ArticleView, Context, Output, Rendered, url
from .feeds import category_slug


@dataclass(frozen=True, slots=True)
class PagesJob:
    """Both pages (they are rendered at every publish: the newest articles move)."""


class Pages(Output):
    name = "pages"
    links_others = True

    def plan(self, ctx: Context) -> Sequence[PagesJob]:
        return [PagesJob()]

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        out = settings.output
        cats = [(name, category_slug(name)) for name in view.categories()]
        newest = view.recent(out.feed_size)
        return [
            ("categories/index.json", _category_index(view, cats, out)),
            ("index.html", render_index(newest, cats, out)),
        ]


def _category_index(
    view: ArticleView, cats: Sequence[tuple[str, str]], settings: OutputSettings
) -> bytes:
    rows = [
        {
            "name": name,
            "slug": slug,
            "count": view.count(name),
            "atom": url(settings, f"categories/{slug}.atom"),
            "rss": url(settings, f"categories/{slug}.rss"),
            "json": url(settings, f"categories/{slug}.json"),
        }
        for name, slug in cats
    ]
    return (json.dumps(rows, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


_CSS = """
body{margin:0 auto;max-width:46rem;padding:1rem;font:16px/1.6 system-ui,-apple-system,
"PingFang SC","Microsoft YaHei",sans-serif;color:#222;background:#fafafa}
header a,nav a{margin-right:.6rem}
article{display:flex;gap:.8rem;padding:.8rem 0;border-bottom:1px solid #ddd}
article img{width:7rem;height:5rem;object-fit:cover;flex:none;border-radius:4px}
h2{font-size:1.05rem;margin:0 0 .3rem}
.meta{font-size:.85rem;color:#666}
nav{font-size:.9rem;line-height:2}
@media (max-width:30rem){article{flex-direction:column}article img{width:100%;height:auto}}
"""


def render_index(
    articles: Sequence[StoredArticle], cats: Sequence[tuple[str, str]], settings: OutputSettings
) -> bytes:
    """A small, script-free HTML page of `articles` with links to every feed."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(settings.title)}</title>",
        '<link rel="alternate" type="application/atom+xml" href="feed.atom">',
        '<link rel="alternate" type="application/rss+xml" href="feed.rss">',
        '<link rel="alternate" type="application/feed+json" href="feed.json">',
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{e(settings.title)}</h1>",
        '<a href="feed.atom">Atom</a><a href="feed.rss">RSS</a><a href="feed.json">JSON Feed</a>',
        "</header>",
        '<nav aria-label="分类">分类：'
        + "".join(f'<a href="categories/{quote(s)}.atom">{e(n)}</a>' for n, s in cats)
        + "</nav><main>",
    ]
    parts += [_index_article(a) for a in articles]
    parts.append("</main></body></html>\n")
    return "\n".join(parts).encode()


def _index_article(a: StoredArticle) -> str:
    def e(text: str) -> str:
        return html.escape(xml_safe(text))

    local = a.published.astimezone(SHANGHAI)
    cover = (
        f'<img src="{e(a.cover)}" alt="" loading="lazy" referrerpolicy="no-referrer">'
        if a.cover
        else ""
    )
    return (
        f"<article>{cover}<div>"
        f'<h2><a href="{e(a.link)}" rel="noopener noreferrer">{e(a.title)}</a></h2>'
        f'<div class="meta"><time datetime="{local.isoformat()}">'
        f"{local:%Y-%m-%d %H:%M}</time> · {e(a.author)}"
        + (f" · 来源：{e(a.outlet)}" if a.outlet and a.outlet != a.author else "")
        + f" · {e(' / '.join(a.categories))}</div>"
        "</div></article>"
    )
