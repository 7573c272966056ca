"""Source names as operators type them: width, case, 繁/简 and spaces do not matter."""

from __future__ import annotations

import pytest

from aggregator.errors import UsageError
from aggregator.names import find_source

NAMES = ["新浪财经－国內", "新浪财经－宏观经济", "证券时报网－快讯", "Reuters World"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("新浪财经－国內", "新浪财经－国內"),
        ("新浪财经-国内", "新浪财经－国內"),  # ASCII hyphen, simplified 内
        ("新浪財經－國內", "新浪财经－国內"),  # traditional
        ("新浪财经 － 国内", "新浪财经－国內"),  # spaces
        ("ｒｅｕｔｅｒｓ ｗｏｒｌｄ", "Reuters World"),  # full width, case
        ("REUTERS WORLD", "Reuters World"),
    ],
)
def test_names_match_however_typed(typed: str, meant: str) -> None:
    assert find_source(typed, NAMES) == meant


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as info:
        find_source("新浪财经－宏观", NAMES)
    assert str(info.value) == (
        "no source named '新浪财经－宏观' in the config; "
        "did you mean '新浪财经－宏观经济' or '新浪财经－国內'?"  # the closest first
    )
    with pytest.raises(UsageError) as info:
        find_source("zzz", NAMES)
    assert str(info.value) == "no source named 'zzz' in the config"


def test_names_equal_once_folded_are_ambiguous() -> None:
    with pytest.raises(UsageError, match="matches several sources"):
        find_source("a-b", ["A-B", "a－b"])
