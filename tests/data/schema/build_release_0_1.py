"""Build `release-0.1.db`: a database written by the release before schema versions.

Run once, from a checkout of commit 6d39997 (the last release without `PRAGMA
user_version`), with that checkout's venv:

    git worktree add /tmp/old 6d39997 && cd /tmp/old && python3 -m venv .venv \
        && .venv/bin/pip install -q -e . \
        && .venv/bin/python /path/to/tests/data/schema/build_release_0_1.py OUT.db

It polls the offline demo (articles, merges across channels and outlets, copies), then
records what only a long-running daemon accumulates: validators, a backoff, a redirect seen
once, a 410, and a deleted article (tombstones). `tests/test_migrations.py` opens the result
with the current code and checks that every one of these survived the upgrade.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator.store import Store

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def main(out: Path) -> None:
    repo = Path(__file__).resolve().parents[3] if len(sys.argv) < 3 else Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        cfg_dir = Path(tmp) / "config"
        shutil.copytree(repo / "config" / "demo", cfg_dir / "demo")
        text = (repo / "config" / "demo.toml").read_text(encoding="utf-8")
        text = text.replace('"../var/demo.db"', f'"{Path(tmp) / "old.db"}"')
        text = text.replace('"../demo-public"', f'"{Path(tmp) / "public"}"')
        (cfg_dir / "demo.toml").write_text(text, encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "aggregator", "once", "-c", str(cfg_dir / "demo.toml")],
            check=True,
        )
        store = Store(Path(tmp) / "old.db")
        s = store.source_state("新浪财经－国內", "file:demo/sina-china.xml")
        store.save_state(
            replace(
                s,
                etag='"v1-etag"',
                last_modified="Tue, 01 Dec 2026 03:00:00 GMT",
                error_count=3,
                last_error="HTTP 503",
                last_error_kind="http_5xx",
                next_poll=datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
                redirect_candidate="https://example.org/moved.xml",
            )
        )
        g = store.source_state("新浪财经－宏观经济", "file:demo/sina-macro.xml")
        store.save_state(replace(g, gone=True, last_error_kind="http_410"))
        victim = store.recent(1)[0]
        assert store.delete(victim.id, NOW) is not None
        store.close()
        con = __import__("sqlite3").connect(Path(tmp) / "old.db")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("VACUUM")
        con.close()
        shutil.copy(Path(tmp) / "old.db", out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
