"""Change tracking for the outputs: what changed since the last publish.

A generation number moves with every change anything published could show; categories whose
articles changed are listed until their feeds are published; each article's post is marked
dirty until written; tombstones keep a deleted article's slug so its post is removed. The
`meta` table keeps what the last publish recorded (outputs.publish).
"""

from __future__ import annotations

from collections.abc import Iterable

from .database import Database


class ChangeTracking(Database):
    """What the outputs need to know to publish only what changed."""

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta (k, v) VALUES ('generation', '1')"
            " ON CONFLICT (k) DO UPDATE SET v = CAST(v AS INTEGER) + 1"
        )

    def _touch_categories(self, seq: int | None) -> None:
        """Remember the categories whose feeds must be re-rendered at the next publish."""
        self._db.execute(
            "INSERT OR IGNORE INTO dirty_categories (category)"
            " SELECT category FROM article_categories WHERE seq = ?",
            (seq,),
        )

    def dirty_categories(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT category FROM dirty_categories")}

    def clear_dirty_categories(self, done: set[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM dirty_categories WHERE category = ?", [(c,) for c in done])

    def generation(self) -> int:
        """A number that changes whenever anything published could have changed."""
        row = self._db.execute("SELECT v FROM meta WHERE k = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (k, v) VALUES (?, ?)"
                " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                (key, value),
            )

    def set_metas(self, values: dict[str, str]) -> None:
        """Several `set_meta` in one transaction."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO meta (k, v) VALUES (?, ?)"
                " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                list(values.items()),
            )

    def dirty_post_ids(self) -> list[str]:
        """Articles whose post must be written again, in insertion order."""
        return [
            r[0]
            for r in self._db.execute("SELECT id FROM articles WHERE post_dirty = 1 ORDER BY seq")
        ]

    def mark_posts_clean(self, ids: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("UPDATE articles SET post_dirty = 0 WHERE id = ?", [(i,) for i in ids])

    def dirty_post_count(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM articles WHERE post_dirty = 1").fetchone()[0]
        )

    def written_slugs(self) -> list[tuple[str, str]]:
        """(id, slug) of every article whose post is written (not marked dirty)."""
        return [
            (r[0], r[1])
            for r in self._db.execute("SELECT id, slug FROM articles WHERE post_dirty = 0")
        ]

    def mark_posts_dirty(self, ids: Iterable[str]) -> None:
        """Their published files are to be written again (they went missing): the next
        publish writes them even though nothing else changed."""
        with self._tx() as db:
            db.executemany("UPDATE articles SET post_dirty = 1 WHERE id = ?", [(i,) for i in ids])
            self._bump_generation()

    def mark_all_posts_dirty(self) -> None:
        with self._tx() as db:
            db.execute("UPDATE articles SET post_dirty = 1")

    def deleted_slugs(self) -> list[str]:
        return [
            r[0]
            for r in self._db.execute("SELECT DISTINCT slug FROM tombstones WHERE slug IS NOT NULL")
        ]
