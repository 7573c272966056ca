"""Finding published files that vanished while their folder remains, so the next publish
writes them again: posts and article pages (exactly those), and the other outputs' files
(archive pages, category feeds and pages, numbered pages, the feeds: those outputs are
planned in full, which rewrites only what differs).

Publishing writes a post only when its article changed, so a deleted file would otherwise
stay missing until then. Looking costs nothing while nobody else touched a folder: its
state (device, inode, modification time) is recorded after each publish that left it
complete and after each look, and a folder whose state is the recorded one is not listed.
Otherwise it is listed once: as many of our files as there are articles means complete
(a dictionary lookup per name, no store scan); fewer, and the articles whose file is
missing are found and marked to be written again (`Store.mark_posts_dirty`), which the
next publish does. A publish after one new article therefore stays as cheap as before:
two stats per folder.

The other outputs name the folders they write (`Output.watched`); one whose state is not
the one recorded by the last publish was changed by someone else, and its outputs are
planned in full by the next publish (`touched`). A folder never recorded (a database from
before this check) counts as untouched and is recorded by the next publish.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import Settings
from .base import Output

if TYPE_CHECKING:
    from ..store import Store

# What our per-article file names look like: `<date>-<12 hex digits>` (posts.post_slug)
# then the output's suffix. Other files (a Hexo site's own posts) are not counted.
_OURS = re.compile(r"-[0-9a-f]{12}$")


@dataclass
class Missing:
    """What one look found: per output, the files missing, and how many articles were
    marked to be written again."""

    files: dict[str, list[str]] = field(default_factory=dict)
    articles: int = 0

    def __bool__(self) -> bool:
        return self.articles > 0

    def summary(self) -> str:
        counts = ", ".join(f"{name} {len(names)}" for name, names in self.files.items() if names)
        first = next((names[0] for names in self.files.values() if names), "")
        return f"{counts} (first: {first})"


def folder_state(folder: Path) -> str | None:
    """What changes whenever an entry of `folder` is added, removed or renamed."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}"


def _key(output: Output) -> str:
    return f"complete_folder:{output.name}"


def _watch_key(output: Output, folder: Path, settings: Settings) -> str:
    try:
        rel = folder.relative_to(settings.output.dir).as_posix()
    except ValueError:
        rel = str(folder)
    return f"watched_folder:{output.name}:{rel}"


def touched(outputs: Sequence[Output], settings: Settings, store: Store) -> list[str]:
    """The outputs one of whose watched folders someone else changed since the last
    publish recorded it."""
    names = []
    for o in outputs:
        for folder in o.watched(settings):
            recorded = store.get_meta(_watch_key(o, folder, settings))
            if recorded is not None and recorded != (folder_state(folder) or "missing"):
                names.append(o.name)
                break
    return names


def states_before(outputs: Sequence[Output], settings: Settings, store: Store) -> dict[str, bool]:
    """Per output with per-article files: whether its folder is still as last recorded
    (then, after a publish, it is complete again and its new state can be recorded)."""
    seen = {}
    for o in outputs:
        files = o.article_files(settings)
        if files is not None:
            state = folder_state(files[0])
            seen[o.name] = state is not None and store.get_meta(_key(o)) == state
    return seen


def states_after(
    outputs: Sequence[Output],
    settings: Settings,
    untouched: dict[str, bool],
    full: dict[str, bool],
) -> dict[str, str]:
    """Right after a publish's last write: the states to record once it is done (`record`)
    of the per-article folders it left complete (untouched by others before it, or
    written in full) and of every watched folder (each output is complete now). Taken
    before the files are made durable: a file removed by someone else from then on (not
    during the writing itself) changes the folder's state after this, so it is found."""
    states: dict[str, str] = {}
    for o in outputs:
        files = o.article_files(settings)
        if files is not None and (untouched.get(o.name) or full.get(o.name)):
            state = folder_state(files[0])
            if state is not None:
                states[_key(o)] = state
        for folder in o.watched(settings):
            states[_watch_key(o, folder, settings)] = folder_state(folder) or "missing"
    return states


def record(store: Store, states: dict[str, str]) -> None:
    changed = {k: v for k, v in states.items() if store.get_meta(k) != v}
    if changed:
        store.set_metas(changed)


def find_missing(
    outputs: Sequence[Output], settings: Settings, store: Store, *, force: bool = False
) -> Missing:
    """Mark the articles whose published file is missing to be written again.

    A folder whose state is the recorded one is not looked at unless `force`. A missing
    folder is left to `publish` (its output is then rebuilt in full). Articles whose post
    is already marked (new or changed, written by the next publish anyway) are not
    counted. Each folder looked at is recorded as seen, so a file that cannot be written
    (an article publishing skips) is looked for again only once someone else touches the
    folder.
    """
    found = Missing()
    ids: set[str] = set()
    counts: tuple[int, int] | None = None  # (articles, articles whose post is pending)
    slugs: list[tuple[str, str]] | None = None
    for o in outputs:
        files = o.article_files(settings)
        if files is None:
            continue
        folder, suffix = files
        state = folder_state(folder)
        if state is None or (not force and store.get_meta(_key(o)) == state):
            continue
        names = _ours(folder, suffix)
        if counts is None:
            counts = store.count(), store.dirty_post_count()
        total, pending = counts
        if pending == 0 and len(names) >= total:
            store.set_meta(_key(o), state)
            continue
        if slugs is None:
            slugs = store.written_slugs()
        lost = [(i, s) for i, s in slugs if s + suffix not in names]
        found.files[o.name] = [str(folder / (s + suffix)) for _, s in lost]
        ids.update(i for i, _ in lost)
        store.set_meta(_key(o), state)
    if ids:
        store.mark_posts_dirty(sorted(ids))
        found.articles = len(ids)
    return found


def _ours(folder: Path, suffix: str) -> set[str]:
    names = set()
    with os.scandir(folder) as entries:
        for e in entries:
            name = e.name
            if name.endswith(suffix) and _OURS.search(name, 0, len(name) - len(suffix)):
                names.add(name)
    return names
