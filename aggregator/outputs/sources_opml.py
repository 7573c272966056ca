"""sources.opml: the configured sources as OPML 2.0, so a reader can subscribe to them all.

It depends on the configuration only: rendered again when the sources change, not when the
articles do (its `setup` is the sources).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import Settings
from .base import ArticleView, Context, Output, Rendered

PATH = "sources.opml"


@dataclass(frozen=True, slots=True)
class OpmlJob:
    """The one document."""


class SourcesOpml(Output):
    name = "sources-opml"

    def setup(self, settings: Settings) -> str:
        return repr((settings.output.title, settings.sources))

    def intact(self, settings: Settings) -> bool:
        return (settings.output.dir / PATH).is_file()

    def watched(self, settings: Settings) -> tuple[Path, ...]:
        return (settings.output.dir,)

    def plan(self, ctx: Context) -> Sequence[OpmlJob]:
        return [OpmlJob()] if ctx.full else []

    def render(self, view: ArticleView, settings: Settings, job: object) -> Rendered:
        from .. import opml  # see outputs/__init__

        return [(PATH, opml.render(settings.sources, f"{settings.output.title} · sources"))]
