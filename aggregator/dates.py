"""Publication dates as feeds write them → aware UTC datetimes.

Sina writes China time in many ways; feedparser's own date handling reads naive times as
UTC, `CST` as US Central and `2024年03月05日` as garbage, so the raw string is parsed here.
Naive times are Asia/Shanghai. Absurd dates fall back to the first-seen time (`now`).
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_AHEAD = timedelta(days=1)

# Zone abbreviations as Chinese feeds mean them (CST = China Standard Time, not US Central).
_ZONE_NAMES: dict[str, str] = {
    "CST": "+0800",
    "CCT": "+0800",
    "HKT": "+0800",
    "SGT": "+0800",
    "BJT": "+0800",
    "JST": "+0900",
    "KST": "+0900",
    "UTC": "+0000",
    "UT": "+0000",
    "GMT": "+0000",
    "Z": "+0000",
}
# A numeric offset as feeds write it: hours alone (+8, +08), hours and minutes (+800, +0800,
# +8:00, +08:00). What it means is checked by `_offset` (minutes < 60, under a day).
_OFFSET = r"[+-](?:\d{1,2}:\d{2}|\d{1,4})"
_OFFSET_FULL = re.compile(_OFFSET)
# The year as written: two digits are a legal (obsolete) RFC 822 year, "0026" is not.
_RFC822_YEAR = re.compile(r"\b\d{1,2}\s+[A-Za-z]{3,}\.?\s+(-?\d+)\b")
# Any signed tail is taken as an offset and must be a valid one: email.utils would read
# '+8' as eight minutes and ignore '+8:0'.
_RFC822_ZONE = re.compile(r"\s(?:(?:(?:GMT|UTC)\s*)?([+-][\d:]*)|([A-Z]{1,4}))\s*$")

# Numeric dates: 2024-03-05, 2024/03/05, 2024.03.05, 2024年03月05日, optional time and zone.
_NUMERIC = re.compile(
    r"""^\s*(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?
        (?:\s*(?:T|\s)?\s*(?P<h>\d{1,2})\s*[:时]\s*(?P<mi>\d{1,2})
           (?:\s*[:分]\s*(?P<s>\d{1,2})(?:[.,](?P<frac>\d{1,9}))?)?\s*[分秒]?)?
        \s*(?P<tz>Z|(?:GMT|UTC)?\s*"""
    + _OFFSET
    + r"""|GMT|UTC|CST)?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_EPOCH = re.compile(r"^\s*(\d{9,13})(?:\.\d+)?\s*$")


def parse_date(raw: str | None, now: datetime) -> tuple[datetime, bool]:
    """(aware UTC datetime, is_fallback): `now` when the date is missing or absurd."""
    now_utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    parsed = _parse(raw) if raw else None
    if parsed is None or parsed < _EARLIEST or parsed > now_utc + _MAX_AHEAD:
        return now_utc, True
    return parsed, False


def _parse(raw: str) -> datetime | None:
    """Each form goes to the one parser that knows it. A text that has a form but is invalid
    in it (month 13, offset +25:00) is rejected rather than handed to a parser with other
    rules, which could read it differently and would hide the first parser's mistakes."""
    text = raw.strip()
    if not text or len(text) > 100:
        return None
    try:
        if m := _EPOCH.match(text):
            return _from_epoch(m)
        if m := _NUMERIC.match(text):
            return _from_numeric(m)
        if text[:4].isdigit():
            # The rest of ISO 8601: basic (20240305T100000Z), week and hour-only forms.
            return _to_utc(datetime.fromisoformat(text.replace("z", "Z")))
        return _parse_rfc822(text)
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def _to_utc(value: datetime, default_zone: tzinfo = SHANGHAI) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_zone)
    return value.astimezone(UTC)


def _from_epoch(m: re.Match[str]) -> datetime:
    digits = m.group(1)
    seconds = int(digits) / 1000 if len(digits) >= 12 else int(digits)
    return datetime.fromtimestamp(seconds, UTC)


def _from_numeric(m: re.Match[str]) -> datetime:
    g = m.groupdict()
    micro = int((g["frac"] or "0")[:6].ljust(6, "0"))
    value = datetime(
        int(g["y"]),
        int(g["mo"]),
        int(g["d"]),
        int(g["h"] or 0),
        int(g["mi"] or 0),
        int(g["s"] or 0),
        micro,
    )
    return _to_utc(value, _zone(g["tz"], g["h"] is not None))


def _zone(token: str | None, has_time: bool) -> tzinfo:
    if not token:
        return SHANGHAI
    if not has_time and token[0] in "+-":
        # '2024-03-05-08' or '+8' after a bare date: an hour as likely as an offset
        raise ValueError(f"offset {token} without a time")
    token = token.upper()
    if token == "CST":
        return timezone(timedelta(hours=8))
    for prefix in ("GMT", "UTC"):
        token = token.removeprefix(prefix).strip()
    if token in ("", "Z"):
        return UTC
    return _offset(token)


def _offset(token: str) -> timezone:
    """'+8', '+08', '+800', '+0800', '+8:00', '+08:00' → a fixed offset (`_OFFSET`'s forms).

    One or two digits are hours (ISO 8601's ±hh; RFC 822 parsers read '+8' as eight
    minutes), three or four are hours and minutes. Minutes of 60 or more are not a time."""
    if not _OFFSET_FULL.fullmatch(token):
        raise ValueError(f"not an offset: {token}")
    sign = -1 if token[0] == "-" else 1
    hours, _, minutes = token[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    if int(minutes or 0) >= 60:
        raise ValueError(f"offset {token}: minutes out of range")
    # timezone() refuses a day or more (+25:00): ValueError.
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def _parse_rfc822(text: str) -> datetime:
    year = _RFC822_YEAR.search(text)
    if year and (
        year.group(1).startswith("-") or (len(year.group(1)) > 2 and int(year.group(1)) < 100)
    ):
        # year 0000, 0026 or negative: email.utils would read 2000 or 2026
        raise ValueError(f"absurd year {year.group(1)}")
    zone: tzinfo = SHANGHAI
    m = _RFC822_ZONE.search(text)
    # '-0000' alone is RFC 2822's "zone unknown": left to email.utils, which reads it naive.
    if m and (m.group(1) or m.group(2).upper() in _ZONE_NAMES) and m.group(0).strip() != "-0000":
        zone = _offset(m.group(1) or _ZONE_NAMES[m.group(2).upper()])
        text = text[: m.start()]
    # Naive when the text names no zone or '-0000' ("unknown"): then China time, or the zone
    # read above.
    return _to_utc(email.utils.parsedate_to_datetime(text), zone)


def utcnow() -> datetime:
    """The current time, aware, in UTC. Only the orchestrators read the clock; the stages
    are handed `now`, so tests can run them at any time."""
    return datetime.now(UTC)


def rfc3339(dt: datetime) -> str:
    """The one timestamp format shown to operators (status, /healthz, logs): UTC, `Z`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822_gmt(when: datetime) -> str:
    """`Fri, 17 Dec 2021 05:09:33 GMT`, English names whatever the process locale."""
    d = when.astimezone(UTC)
    return (
        f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year:04d} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} GMT"
    )
