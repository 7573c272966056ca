"""Dates as feeds write them (China time by default) → aware UTC, absurd ones → first-seen."""

from __future__ import annotations

import calendar
import email.utils
import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import feedparser.datetimes
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import parse_date, utcnow

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
    value, fallback = parse_date(raw, NOW)
    assert (value, fallback) == (EXPECTED, False)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        # Numeric forms with a zone: CST is China Standard Time here too, not US Central.
        "2024-03-05 10:00 CST",
        "2024-03-05 10:00:00 cst",
        "2024年03月05日 10:00 CST",
        "2024-03-05T10:00 GMT+8",
        "2024-03-05 10:00 UTC+08:00",
        "2024-03-05 10:00 UTC +8",
        "2024-03-05 10:00 gmt+0800",
        "2024-03-05 10:00 +08",
        "2024-03-05 10:00 GMT+08",
        "2024-03-05 02:00 UTC",
        "2024-03-05 02:00 GMT",
        "2024-03-05 02:00Z",
        "2024-03-05 02:00 z",
        # Negative and half-hour offsets, numeric and RFC 822.
        "2024-03-04T21:00:00-05:00",
        "2024-03-04 21:00 -0500",
        "2024-03-04 21:00 GMT-5",
        "2024-03-04 22:30 -03:30",
        "2024-03-05 07:30 +05:30",
        "Mon, 04 Mar 2024 21:00:00 -0500",
        "Mon, 04 Mar 2024 21:00:00 GMT-5",
        "Mon, 04 Mar 2024 21:00:00 UTC-05:00",
        "Mon, 04 Mar 2024 22:30:00 GMT-3:30",
        "Tue, 05 Mar 2024 07:30:00 GMT+5:30",
        "Tue, 05 Mar 2024 10:00:00 UTC+8",
        "Tue, 05 Mar 2024 10:00:00 UTC+08:00",
        "Tue, 05 Mar 2024 10:00:00 GMT+0800",
        # Zone names as Chinese and Asian feeds mean them.
        "Tue, 05 Mar 2024 10:00:00 CCT",
        "Tue, 05 Mar 2024 10:00:00 HKT",
        "Tue, 05 Mar 2024 10:00:00 SGT",
        "Tue, 05 Mar 2024 10:00:00 BJT",
        "Tue, 05 Mar 2024 11:00:00 JST",
        "Tue, 05 Mar 2024 11:00:00 KST",
        "Tue, 05 Mar 2024 02:00:00 UTC",
        "Tue, 05 Mar 2024 02:00:00 UT",
        "Tue, 05 Mar 2024 02:00:00 Z",
        "Tue, 05 Mar 2024 10:00:00 -0000",  # "zone unknown": China time
        # Short offsets as Chinese feeds write them: hours alone are hours (an RFC 822 parser
        # alone reads '+8' as eight minutes), three digits are hours and minutes.
        "2024-03-05 10:00 +8",
        "2024-03-05T10:00:00+8",
        "2024-03-05 10:00:00+8",
        "2024-03-05 10:00 +8:00",
        "2024-03-05 10:00 +800",
        "2024年03月05日 10:00 +8",
        "2024年03月05日 10:00:00 GMT+8",
        "2024-03-04 21:00 -5",
        "2024-03-05 07:30 +530",
        "Tue, 05 Mar 2024 10:00:00 +8",
        "Tue, 05 Mar 2024 10:00:00 +08",
        "Tue, 05 Mar 2024 10:00:00 +800",
        "Tue, 05 Mar 2024 10:00:00 +8:00",
        "Mon, 04 Mar 2024 21:00:00 -5",
        "Tue Mar 05 2024 10:00:00 GMT+0800 (中国标准时间)",  # JavaScript's Date.toString()
        # The rest of ISO 8601.
        "20240305T100000",
        "20240305T020000Z",
        "20240305T020000z",
        "2024-03-05T10",
    ],
)
def test_zones_and_offsets(raw: str) -> None:
    value, fallback = parse_date(raw, NOW)
    assert (value, fallback) == (EXPECTED, False)
    assert value.tzinfo is UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05 10:00:00.5", EXPECTED.replace(microsecond=500_000)),
        ("2024-03-05 10:00:00,25", EXPECTED.replace(microsecond=250_000)),
        ("2024-03-05T10:00:00.000007+08:00", EXPECTED.replace(microsecond=7)),
        ("2024-03-05 10:00:00.123456789", EXPECTED.replace(microsecond=123_456)),
        ("1709604000123", EXPECTED.replace(microsecond=123_000)),
        # Twelve digits are milliseconds (as seconds they would be the year 5138).
        ("999999999999", datetime(2001, 9, 9, 1, 46, 39, 999_000, tzinfo=UTC)),
        ("999999999", datetime(2001, 9, 9, 1, 46, 39, tzinfo=UTC)),
        ("2024-W10-2", datetime(2024, 3, 4, 16, 0, tzinfo=UTC)),  # Tuesday, China midnight
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),  # the earliest kept
        ("2024-03-07T00:00:00Z", NOW + timedelta(days=1)),  # the latest kept
    ],
)
def test_known_answers(raw: str, expected: datetime) -> None:
    assert parse_date(raw, NOW) == (expected, False)


@pytest.mark.parametrize(
    "raw",
    [
        "1999-12-31T23:59:59Z",
        "2024-03-07T00:00:01Z",
        "2024-03-05 10:00 +24:00",
        "Tue, 05 Mar 2024 10:00:00 GMT+24",
        "2024-02-30 10:00",
        "2024-03-05 10:00 +05:30 extra",
        # Offsets that are no offset: minutes past 59, five digits, one minute digit, a
        # sign with no digits, an offset after a bare date (an hour as likely as a zone).
        "2024-03-05 10:00 +0860",
        "Tue, 05 Mar 2024 10:00:00 +0860",
        "2024-03-05 10:00 +080",
        "Tue, 05 Mar 2024 10:00:00 +080",
        "2024-03-05 10:00 +08:0",
        "2024-03-05 10:00 +08000",
        "Tue, 05 Mar 2024 10:00:00 +08000",
        "2024-03-05 10:00 +",
        "2024-03-05-08",
        "2024-03-05 +8",
    ],
)
def test_just_outside_the_limits_falls_back(raw: str) -> None:
    assert parse_date(raw, NOW) == (NOW, True)


def test_a_date_longer_than_a_hundred_characters_is_not_a_date() -> None:
    # Runs of spaces inside an RFC 822 date are allowed, so the length alone decides.
    def padded(length: int) -> str:
        head, tail = "Tue, 05 Mar 2024 10:00:00", "+0800"
        return head + " " * (length - len(head) - len(tail)) + tail

    assert parse_date(padded(100), NOW) == (EXPECTED, False)
    assert parse_date(padded(101), NOW) == (NOW, True)
    assert parse_date("  " + padded(100) + "  ", NOW) == (EXPECTED, False)


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
    shanghai_now = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    value, fallback = parse_date(None, shanghai_now)
    assert fallback and value == NOW and value.tzinfo is UTC
    # The limit "a day ahead" is a day ahead of that instant, not of its wall clock.
    assert parse_date("2024-03-06T23:00:00Z", shanghai_now) == (
        datetime(2024, 3, 6, 23, tzinfo=UTC),
        False,
    )


def test_a_naive_now_is_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        value, fallback = parse_date(None, NOW.replace(tzinfo=None))
        assert fallback and value == NOW and value.tzinfo is UTC
        assert parse_date("2024-03-06T23:00:00Z", NOW.replace(tzinfo=None))[1] is False
    finally:
        monkeypatch.undo()
        time.tzset()


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


_ZONES = st.sampled_from(
    [
        ZoneInfo(name)
        for name in (
            "Asia/Shanghai",
            "UTC",
            "America/New_York",
            "America/St_Johns",
            "Europe/London",
            "Asia/Kolkata",
            "Asia/Kathmandu",
            "Pacific/Chatham",
        )
    ]
)


def _offset_text(when: datetime, colon: bool) -> str:
    minutes = int(when.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2024, 3, 4), timezones=_ZONES),
    st.sampled_from(["rfc822", "iso", "numeric", "chinese"]),
)
def test_any_instant_in_any_zone_round_trips(when: datetime, form: str) -> None:
    """The oracle beside the never-raises property: the instant zoneinfo says a wall clock
    and offset mean, written the ways feeds write it, comes back exactly."""
    when = when.replace(microsecond=0)
    if form == "rfc822":
        raw = email.utils.format_datetime(when)
    elif form == "iso":
        raw = when.isoformat()
    elif form == "numeric":
        raw = when.strftime("%Y/%m/%d %H:%M:%S ") + _offset_text(when, colon=False)
    else:
        raw = when.strftime("%Y年%m月%d日 %H:%M:%S") + _offset_text(when, colon=True)
    assert parse_date(raw, NOW) == (when.astimezone(UTC), False)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2024, 3, 4)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_rfc822_with_an_offset_agrees_with_feedparser(wall: datetime, minutes: int) -> None:
    """Where feedparser reads a date right (an explicit numeric offset), it is the reference."""
    when = wall.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    raw = email.utils.format_datetime(when)
    reference = feedparser.datetimes._parse_date(raw)
    assert reference is not None
    expected = datetime.fromtimestamp(calendar.timegm(reference), UTC)
    assert parse_date(raw, NOW) == (expected, False)


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


def test_utcnow_is_the_current_instant_in_utc() -> None:
    before = datetime.now(UTC)
    now = utcnow()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


# --- offsets written short --------------------------------------------------------------

_WALLS = st.datetimes(min_value=datetime(2000, 1, 3), max_value=datetime(2024, 3, 3))
_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=5)


def _offset_meaning(token: str) -> timedelta | None:
    """The offset a token means by the rule feeds follow, computed independently of the
    parser: ±h or ±hh are hours; ±hmm, ±hhmm, ±h:mm, ±hh:mm hours and minutes; minutes
    under 60 and the whole under a day. None: not an offset."""
    sign, body = (-1 if token[0] == "-" else 1), token[1:]
    if ":" in body:
        hours, minutes = body.split(":")
        if len(hours) not in (1, 2) or len(minutes) != 2:
            return None
    elif len(body) <= 2:
        hours, minutes = body, "0"
    elif len(body) <= 4:
        hours, minutes = body[:-2], body[-2:]
    else:
        return None
    if int(minutes) >= 60 or int(hours) * 60 + int(minutes) >= 24 * 60:
        return None
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


@settings(max_examples=400, deadline=None)
@given(
    _WALLS,
    st.sampled_from("+-"),
    _DIGITS,
    st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=3)),
    st.sampled_from(["", "GMT", "UTC", "GMT ", "UTC "]),
    st.sampled_from(["numeric", "iso", "chinese", "rfc822"]),
)
def test_any_offset_token_means_what_the_rule_says_or_is_refused(
    wall: datetime, sign: str, hours: str, minutes: str | None, prefix: str, form: str
) -> None:
    """Every token of sign and digits (with or without a colon) is either an offset by the
    rule above, read exactly, or refused: never read some other way (as minutes, say)."""
    wall = wall.replace(microsecond=0)
    token = sign + hours + ("" if minutes is None else ":" + minutes)
    if form == "numeric":
        raw = wall.strftime("%Y-%m-%d %H:%M:%S ") + prefix + token
    elif form == "iso":
        raw = wall.strftime("%Y-%m-%dT%H:%M:%S") + prefix + token
    elif form == "chinese":
        raw = wall.strftime("%Y年%m月%d日 %H:%M:%S ") + prefix + token
    else:
        raw = email.utils.format_datetime(wall)[:-6] + " " + prefix + token  # no zone
    meaning = _offset_meaning(token)
    if form == "rfc822" and prefix == "" and token == "-0000":
        expected = wall.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)  # unknown
    elif meaning is None:
        assert parse_date(raw, NOW) == (NOW, True), raw
        return
    else:
        expected = wall.replace(tzinfo=UTC) - meaning
    assert parse_date(raw, NOW) == (expected, False), raw


@settings(max_examples=300, deadline=None)
@given(
    _WALLS,
    st.integers(min_value=-12, max_value=14),
    st.sampled_from([0, 30, 45]),
    st.sampled_from(["h", "hh", "hmm", "hhmm", "h:mm", "hh:mm"]),
    st.sampled_from(["", "GMT", "UTC", "GMT "]),
    st.sampled_from(["numeric", "iso", "chinese", "rfc822"]),
)
def test_real_offsets_written_short_round_trip(
    wall: datetime, hours: int, minutes: int, style: str, prefix: str, form: str
) -> None:
    """The offsets the world uses (−12 to +14 hours, on the hour, half or three quarters),
    written every short way, mean the instant the wall clock and offset say."""
    if "m" not in style:
        minutes = 0  # hours alone carry no minutes
    sign = -1 if hours < 0 else 1
    h = f"{abs(hours):02d}" if style.startswith("hh") else str(abs(hours))
    token = ("-" if sign < 0 else "+") + h + (":" if ":" in style else "")
    token += f"{minutes:02d}" if "m" in style else ""
    wall = wall.replace(microsecond=0)
    raw = {
        "numeric": wall.strftime("%Y/%m/%d %H:%M:%S ") + prefix + token,
        "iso": wall.strftime("%Y-%m-%dT%H:%M:%S") + prefix + token,
        "chinese": wall.strftime("%Y年%m月%d日 %H:%M:%S ") + prefix + token,
        "rfc822": email.utils.format_datetime(wall)[:-6] + " " + prefix + token,
    }[form]
    offset = sign * timedelta(hours=abs(hours), minutes=minutes)
    assert parse_date(raw, NOW) == (wall.replace(tzinfo=UTC) - offset, False), raw
