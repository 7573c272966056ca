"""One HTML page per article (articles/<slug>.html, SPEC §12), written again when its article
changed — the same change marks as the Hexo posts (`Store.dirty_post_ids`, read at planning,
before the posts output acknowledges them) — and removed when the article is deleted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import Settings
from .base import ArticleView, Context, Output, Rendered
from .html import article_path, render_article

BATCH = 250  # articles loaded and rendered at a time


@dataclass(frozen=True, slots=True)
class ArticlesBatch:
    """The pages of these articles (by id) are to be written."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Removals:
    """The pages of deleted articles, by slug, are to be removed."""

    slugs: tuple[str, ...]


class ArticlePages(Output):
    name = "article_pages"
    in_workers = True  # renders from the ArticleView alone

    def intact(self, settings: Settings) -> bool:
        return (settings.output.dir / "articles").is_dir()

    def article_files(self, settings: Settings) -> tuple[Path, str]:
        return settings.output.dir / "articles", ".html"  # html.article_path

    def plan(self, ctx: Context) -> Sequence[ArticlesBatch | Removals]:
        ids = ctx.store.all_ids() if ctx.full else ctx.store.dirty_post_ids()
        jobs: list[ArticlesBatch | Removals] = [
            ArticlesBatch(tuple(ids[i : i + BATCH])) for i in range(0, len(ids), BATCH)
        ]
        jobs.append(Removals(tuple(ctx.store.deleted_slugs())))
        (ctx.settings.output.dir / "articles").mkdir(parents=True, exist_ok=True)
        return jobs

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        if isinstance(job, Removals):
            return []
        assert isinstance(job, ArticlesBatch)
        articles = view.articles(job.ids)
        copies = view.copies(job.ids)
        return [
            (article_path(a.slug), render_article(settings.output, a, copies.get(a.id, ())))
            for a in articles
        ]

    def write(self, ctx: Context, job: object, rendered: Rendered) -> None:
        if isinstance(job, Removals):
            for slug in job.slugs:
                ctx.remove(ctx.settings.output.dir / article_path(slug))
            return
        super().write(ctx, job, rendered)
