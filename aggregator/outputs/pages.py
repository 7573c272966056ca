"""categories/index.json: every category with its feeds, for programs (people get
index.html and the category pages from site_pages.py). Written after the feeds it links.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import OutputSettings, Settings
from .base import ArticleView, Context, Output, Rendered, url
from .feeds import category_slug


@dataclass(frozen=True, slots=True)
class PagesJob:
    """The category index (rendered at every publish: the counts move)."""


class Pages(Output):
    name = "pages"
    links_others = True

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir / "categories",)

    def plan(self, ctx: Context) -> Sequence[PagesJob]:
        return [PagesJob()]

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        out = settings.output
        cats = [(name, category_slug(name)) for name in view.categories()]
        return [
            ("categories/index.json", _category_index(view, cats, out)),
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
