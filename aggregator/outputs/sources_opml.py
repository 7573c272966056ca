"""sources.opml: the configured sources as OPML 2.0, so a reader can subscribe to them all.

A source no reader can read (a native Sina kind's JSON API, a local file) is listed as this
site's feed of its channel (`categories/<slug>.atom`, the channel being the source's name),
so the default all-native config lists every channel, not nothing. It depends on the
configuration only: rendered again when the sources or the site change, not when the
articles do (its `setup`). `aggregator export-opml` writes the same document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import Settings, Source
from .base import ArticleView, Context, Output, Rendered, url

PATH = "sources.opml"


@dataclass(frozen=True, slots=True)
class OpmlJob:
    """The one document."""


class SourcesOpml(Output):
    name = "sources-opml"

    def setup(self, settings: Settings) -> str:
        return repr((settings.output.title, settings.output.base_url, settings.sources))

    def intact(self, settings: Settings) -> bool:
        return (settings.output.dir / PATH).is_file()

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir,)

    def plan(self, ctx: Context) -> Sequence[OpmlJob]:
        return [OpmlJob()] if ctx.full else []

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        return [(PATH, document(settings))]


def document(settings: Settings) -> bytes:
    """The sources as OPML: each by its own feed URL, or by this site's feed of its channel."""
    from .. import opml  # see outputs/__init__
    from .feeds import category_stem
    from .html import category_path

    def republished(source: Source) -> tuple[str, str]:
        feed = f"{category_stem(source.name)}.atom"
        return url(settings.output, feed), url(settings.output, category_path(source.name))

    return opml.render(settings.sources, f"{settings.output.title} · sources", republished)
