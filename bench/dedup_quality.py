"""Precision and recall of near-duplicate detection on the labelled set.

Usage: ``.venv/bin/python bench/dedup_quality.py [--show-errors]``. Evaluates
``same_story`` pairwise, and what the store decides: ``NearDupIndex.find`` (a fresh in-memory
SQLite index per pair: add ``a``, find ``b``) then ``bodies_conflict`` on the two texts.
Goals: precision ≥ 0.99, recall ≥ 0.97 (gated by tests/test_dedup.py).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from aggregator.dedup import DEFAULT_WINDOW, Candidate, NearDupIndex, bodies_conflict, same_story
from aggregator.migrations import migrate

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "dedup" / "pairs.jsonl"
Pair = tuple[str, bool, Candidate, Candidate]


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        a, b = (
            Candidate(s["title"], s["text"], datetime.fromisoformat(s["published"]))
            for s in (row["a"], row["b"])
        )
        rows.append((row["kind"], bool(row["label"]), a, b))
    return rows


def index_says(a: Candidate, b: Candidate) -> bool:
    """What the store decides: the index names the kept story, the texts have the last word."""
    conn = sqlite3.connect(":memory:")
    try:
        index = NearDupIndex(conn)
        migrate(conn)
        index.add("a", a)
        return index.find(b, DEFAULT_WINDOW) == "a" and not bodies_conflict(b, a)
    finally:
        conn.close()


def score(pairs: list[Pair], decide: Callable[[Candidate, Candidate], bool]) -> dict[str, object]:
    tp = fp = fn = 0
    errors: Counter[str] = Counter()
    for kind, label, a, b in pairs:
        got = decide(a, b)
        tp += got and label
        fp += got and not label
        fn += label and not got
        if got != label:
            errors[f"{kind} ({'missed' if label else 'false merge'})"] += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "errors": dict(errors)}


def main() -> None:
    pairs = load_pairs()
    pos = sum(1 for p in pairs if p[1])
    print(f"{len(pairs)} pairs ({pos} same story, {len(pairs) - pos} different)")
    for name, decide in (("same_story", same_story), ("index.find", index_says)):
        result = score(pairs, decide)
        print(f"{name:11s} precision {result['precision']:.4f}  recall {result['recall']:.4f}")
        if "--show-errors" in sys.argv:
            for kind, count in sorted(result["errors"].items()):  # type: ignore[attr-defined]
                print(f"    {count:3d}  {kind}")


if __name__ == "__main__":
    main()
