"""Hexo posts: `<slug>.md` in `OutputSettings.posts`, one per article (see hexo.py for the
file itself). A post is written again when its article changed (the store marks it dirty)
and removed when the article is deleted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import OutputSettings, Settings
from .base import ArticleView, Context, Output, Rendered

_SAFE_SLUG = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,200}$")
_SLUG_UNSAFE = re.compile(r"[^0-9a-z]+")


def post_slug(key: str, published_date: str) -> str:
    """File stem for the article's post: date prefix + short hash, safe everywhere.

    The store assigns it once, when the article is first stored, and keeps it (a revision
    or a merge never renames a post); tombstones keep it so the post can be removed."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    stem = _SLUG_UNSAFE.sub("-", published_date.lower())
    stem = stem.strip("-")  # pragma: no mutate (after lower() no "X" is left to strip)
    return f"{stem}-{digest}"


def post_name(slug: str) -> str:
    """The file name of the post of `slug`; refuses names that could leave the folder."""
    if not _SAFE_SLUG.match(slug):
        raise ValueError(f"unsafe post slug: {slug!r}")
    return f"{slug}.md"


BATCH = 250  # posts loaded, written and marked clean at a time


@dataclass(frozen=True, slots=True)
class PostsBatch:
    """The posts of these articles (by id) are to be written."""

    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Removals:
    """The posts of deleted articles, by slug, are to be removed."""

    slugs: tuple[str, ...]


class Posts(Output):
    """One Hexo post per article, rewritten when the article changed (its post is dirty)."""

    name = "posts"

    def folder(self, settings: OutputSettings) -> Path:
        return settings.posts

    def setup(self, settings: Settings) -> str:
        return repr((settings.output.posts, settings.output.default_image))

    def intact(self, settings: Settings) -> bool:
        return settings.output.posts.is_dir()

    def article_files(self, settings: Settings) -> tuple[Path, str]:
        return settings.output.posts, ".md"

    def plan(self, ctx: Context) -> Sequence[PostsBatch | Removals]:
        if ctx.full:  # outputs wiped, first run or new settings: rebuild every post
            ctx.store.mark_all_posts_dirty()
        ids = ctx.store.dirty_post_ids()
        jobs: list[PostsBatch | Removals] = [
            PostsBatch(tuple(ids[i : i + BATCH])) for i in range(0, len(ids), BATCH)
        ]
        jobs.append(Removals(tuple(ctx.store.deleted_slugs())))
        return jobs

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        if isinstance(job, Removals):
            return []
        assert isinstance(job, PostsBatch)
        from .hexo import render_post  # see outputs/__init__

        default_image = settings.output.default_image
        return [
            (post_name(a.slug), render_post(a, default_image).encode("utf-8"))
            for a in view.articles(job.ids)
        ]

    def write(self, ctx: Context, job: object, rendered: Rendered) -> None:
        if isinstance(job, Removals):
            for slug in job.slugs:
                ctx.remove(self.folder(ctx.settings.output) / post_name(slug))
            return
        assert isinstance(job, PostsBatch)
        super().write(ctx, job, rendered)
        ctx.store.mark_posts_clean(job.ids)
