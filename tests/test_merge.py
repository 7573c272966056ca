"""The merge decision (merge.py): pure, so every branch is checked without a database."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.merge import Known, content_hash, decide, known_outcome, merged_categories
from tests.published import art

KEYS = ("sina:abc", "url:https://finance.sina.com.cn/a.shtml")


def test_a_tombstoned_key_wins_over_everything() -> None:
    assert decide(KEYS, {"url:https://finance.sina.com.cn/a.shtml"}, {"sina:abc": (1, 0)}) == (
        "deleted"
    )


def test_unknown_keys_are_left_to_near_duplicate_detection() -> None:
    assert decide(KEYS, set(), {"sina:other": (1, 0)}) is None


def test_the_storys_own_key_wins_over_a_copys() -> None:
    known = {"sina:abc": (7, 1), "url:https://finance.sina.com.cn/a.shtml": (3, 0)}
    assert decide(KEYS, set(), known) == Known(3, through_copy=False)
    assert decide(KEYS[:1], set(), known) == Known(7, through_copy=True)
    # whichever was stored first
    known = {"sina:abc": (3, 1), "url:https://finance.sina.com.cn/a.shtml": (7, 0)}
    assert decide(KEYS, set(), known) == Known(7, through_copy=False)


@pytest.mark.parametrize(
    ("through_copy", "revised", "learnt", "outcome"),
    [
        (False, True, False, "updated"),
        (False, True, True, "updated"),
        (False, False, True, "merged"),
        (False, False, False, "unchanged"),
        (True, True, True, "merged"),  # a copy's new text never replaces the kept story's
        (True, True, False, "unchanged"),
        (True, False, False, "unchanged"),
    ],
)
def test_known_outcome(through_copy: bool, revised: bool, learnt: bool, outcome: str) -> None:
    assert known_outcome(through_copy, revised, learnt) == outcome


@given(st.lists(st.text(max_size=3), max_size=6), st.lists(st.text(max_size=3), max_size=6))
def test_merged_categories_keep_first_seen_order_without_repeats(
    stored: list[str], incoming: list[str]
) -> None:
    merged = merged_categories(stored, incoming)
    assert len(merged) == len(set(merged)) == len(set(stored) | set(incoming))
    assert merged[: len(dict.fromkeys(stored))] == list(dict.fromkeys(stored))


def test_content_hash_known_answers() -> None:
    """The hash is stored: an article stored before outlet and tags existed must hash as it
    did then (else every stored article reads as revised on its next poll)."""
    a = art("https://finance.sina.com.cn/china/gncj/2022-08-09/doc-imizmscv5449371.shtml")
    assert content_hash(a) == "0fe710f19a4bdd3c7502651ac3917534e874d7b6"
    full = replace(
        a, cover="https://n.sinaimg.cn/c.jpg", outlet="证券时报", tags=("贵州茅台 sh600519",)
    )
    assert content_hash(full) == "6c953cf00e337684e08592bcdb8ec34d52a35cec"
    assert content_hash(replace(a, tags=full.tags)) == "250869d6457bc76a3ef19136901b041d829d1bf0"


def test_text_moved_between_fields_is_a_change() -> None:
    a = art("https://example.com/a", title="标题甲乙")
    moved = replace(a, title="标题甲", content_html="乙" + a.content_html)
    assert content_hash(moved) != content_hash(a)
    assert content_hash(replace(a, outlet="甲", tags=("乙",))) != content_hash(
        replace(a, outlet="甲乙")
    )
