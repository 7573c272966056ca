"""Dates as feeds write them (China time by default) → aware UTC, absurd ones → first-seen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import parse_date

NOW = datetime(2024, 3, 6, 0, 0, tzinfo=UTC)
# 2024-03-05 10:00 in Shanghai.
EXPECTED = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "Tue, 05 Mar 2024 02:00:00 GMT",
        "Tue, 05 Mar 2024 02:00:00 +0000",
        "Tue, 05 Mar 2024 10:00:00 +0800",
        "Tue, 05 Mar 2024 10:00:00 CST",  # China Standard Time, not US Central
        "Tue, 05 Mar 2024 10:00:00 GMT+8",
        "Tue, 5 Mar 2024 10:00:00",  # no zone: China time
        "05 Mar 2024 10:00 +0800",
        "2024-03-05T02:00:00Z",
        "2024-03-05T10:00:00+08:00",
        "2024-03-05T10:00:00.000+0800",
        "2024-03-05T10:00:00",
        "2024-03-05 10:00:00",
        "2024-03-05 10:00",
        "2024/03/05 10:00",
        "2024/3/5 10:00:00",
        "2024年03月05日 10:00",
        "2024年3月5日 10:00:00",
        "2024年03月05日10时00分",
        "  2024-03-05 10:00:00  ",
        "1709604000",
        "1709604000000",
    ],
)
def test_accepted_forms(raw: str) -> None:
    assert parse_date(raw, NOW) == (EXPECTED, False)


def test_date_only_is_midnight_in_shanghai() -> None:
    assert parse_date("2024-03-05", NOW) == (datetime(2024, 3, 4, 16, 0, tzinfo=UTC), False)


def test_other_zones_respected() -> None:
    assert parse_date("Tue, 05 Mar 2024 02:00:00 EST", NOW)[0] == datetime(
        2024, 3, 5, 7, 0, tzinfo=UTC
    )
    assert parse_date("2024-03-05T10:00:00+09:00", NOW)[0] == datetime(2024, 3, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "Invalid Date",
        "NaN",
        "yesterday",
        "2024-13-45 10:00",
        "2024-03-07 10:00",  # more than a day ahead of NOW
        "2099-01-01T00:00:00Z",
        "1999-12-31 23:59",
        "Thu, 01 Jan 1970 00:00:00 GMT",
        "0",
        "99999999999999999999",
        "Tue, 05 Mar 2024 10:00:00 +9999",
    ],
)
def test_absurd_or_missing_falls_back_to_now(raw: str | None) -> None:
    assert parse_date(raw, NOW) == (NOW, True)


def test_now_is_returned_in_utc() -> None:
    shanghai_now = NOW.astimezone(datetime.now(UTC).astimezone().tzinfo)
    value, fallback = parse_date(None, shanghai_now)
    assert fallback and value == NOW and value.tzinfo is UTC


def test_within_a_day_ahead_is_kept() -> None:
    ahead = NOW + timedelta(hours=20)
    assert parse_date(ahead.isoformat(), NOW) == (ahead, False)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(r"\d{4}[-/年]\d{1,2}[-/月]\d{1,2}.{0,20}")))
def test_never_raises_always_aware_utc(raw: str) -> None:
    value, fallback = parse_date(raw, NOW)
    assert value.tzinfo is UTC
    assert datetime(2000, 1, 1, tzinfo=UTC) <= value <= NOW + timedelta(days=1)
    if fallback:
        assert value == NOW


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2024, 3, 5)))
def test_round_trip_of_shanghai_wall_clock(wall: datetime) -> None:
    wall = wall.replace(microsecond=0)
    raw = wall.strftime("%Y-%m-%d %H:%M:%S")
    value, fallback = parse_date(raw, NOW)
    assert not fallback
    assert value.astimezone(UTC) == value
    assert value == wall.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.mark.parametrize(
    "raw",
    [
        "Mon, 01 Jan 0000 00:00:00 GMT",
        "Sat, 01 Jan -001 00:00:00 GMT",
        "Tue, 05 Mar 0024 02:00:00 GMT",
        "0000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
    ],
)
def test_year_zero_and_negative_years_are_absurd_not_2000(raw: str) -> None:
    assert parse_date(raw, NOW) == (NOW, True)


def test_two_digit_years_stay_legal() -> None:
    assert parse_date("Tue, 05 Mar 24 02:00:00 GMT", NOW) == (EXPECTED, False)
