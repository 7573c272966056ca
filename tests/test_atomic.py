"""Atomic writes: whole files only, unchanged bytes untouched, no temporaries left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aggregator.atomic import fsync_all, write_atomic


def test_write_only_when_bytes_differ(tmp_path: Path) -> None:
    p = tmp_path / "a" / "feed.atom"
    assert write_atomic(p, b"one")
    mtime = p.stat().st_mtime_ns
    assert not write_atomic(p, b"one")
    assert p.stat().st_mtime_ns == mtime
    assert write_atomic(p, b"two", durable=False)
    assert p.read_bytes() == b"two"
    assert [f.name for f in p.parent.iterdir()] == ["feed.atom"], "no temporary left"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "feed.atom"
    write_atomic(p, b"old")

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(p, b"new")
    assert p.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["feed.atom"]


@pytest.mark.parametrize("count", [3, 100])
def test_fsync_all_few_and_many(tmp_path: Path, count: int) -> None:
    paths = [tmp_path / f"{i}.md" for i in range(count)]
    for p in paths:
        write_atomic(p, b"x", durable=False)
    fsync_all([*paths, tmp_path / "gone.md"])  # a file removed meanwhile is no error
    assert all(p.read_bytes() == b"x" for p in paths)
