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
# The year as written: two digits are a legal (obsolete) RFC 822 year, "0026" is not.
_RFC822_YEAR = re.compile(r"\b\d{1,2}\s+[A-Za-z]{3,}\.?\s+(-?\d+)\b")
_RFC822_ZONE = re.compile(r"\s(?:(?:GMT|UTC)\s*([+-]\d{1,2}(?::?\d{2})?)|([A-Z]{1,4}))\s*$")

# Numeric dates: 2024-03-05, 2024/03/05, 2024.03.05, 2024年03月05日, optional time and zone.
_NUMERIC = re.compile(
    r"""^\s*(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?
        (?:\s*(?:T|\s)?\s*(?P<h>\d{1,2})\s*[:时]\s*(?P<mi>\d{1,2})
           (?:\s*[:分]\s*(?P<s>\d{1,2})(?:[.,](?P<frac>\d{1,9}))?)?\s*[分秒]?)?
        \s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?|(?:GMT|UTC)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?|CST)?\s*$""",
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
    return _to_utc(value, _zone(g["tz"]))


def _zone(token: str | None) -> tzinfo:
    if not token:
        return SHANGHAI
    token = token.upper()
    if token == "CST":
        return timezone(timedelta(hours=8))
    for prefix in ("GMT", "UTC"):
        token = token.removeprefix(prefix).strip()
    if token in ("", "Z"):
        return UTC
    return _offset(token)


def _offset(token: str) -> timezone:
    """'+08', '+0800', '+08:00', '+8' → a fixed offset."""
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    # timezone() refuses a day or more (+25:00): ValueError.
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def _parse_rfc822(text: str) -> datetime:
    year = _RFC822_YEAR.search(text)
    if year and (
        year.group(1).startswith("-") or (len(year.group(1)) > 2 and int(year.group(1)) < 100)
    ):
        # year 0000, 0026 or negative: email.utils would read 2000 or 2026
        raise ValueError(f"absurd year {year.group(1)}")
    zone: tzinfo = SHANGHAI
    m = _RFC822_ZONE.search(text)
    if m and (m.group(1) or m.group(2).upper() in _ZONE_NAMES):
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
