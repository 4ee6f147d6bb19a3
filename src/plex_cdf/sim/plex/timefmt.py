"""Plex's date rules, applied as strictly as Plex applies them, and timestamps emitted as Plex emits them.

Internally every instant is an int of milliseconds since the Unix epoch (UTC); that keeps history generation
cheap and values exact when rendered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# What Plex accepts: date, `T`, hh:mm, optional seconds with 0 to 7 fraction digits, a literal `Z`.
_STRICT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?Z$")


class DateFormatError(ValueError):
    """A date Plex would reject; the message quotes the text."""


def parse_strict(text: str) -> int:
    """Milliseconds since the epoch for a date Plex accepts; digits past the millisecond are dropped."""
    match = _STRICT.match(text)
    if match is None:
        raise DateFormatError(f"{text!r} is not a UTC date-time like 2024-01-31T12:34:56.1234567Z")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC
        )
    except ValueError as error:
        raise DateFormatError(f"{text!r} is not a valid date-time: {error}") from None
    millis = int((fraction or "").ljust(3, "0")[:3])
    return int(value.timestamp()) * 1000 + millis


def emit(ms: int, style: int) -> str:
    """Plex-style text for an instant: UTC, `Z`, seconds always, 0 to 7 fraction digits.

    `style` (any int; taken modulo 8) picks the minimum digit count, so one stream of rows shows every
    width Plex produces while each value stays exact to the millisecond.
    """
    seconds, millis = divmod(ms, 1000)
    day, second_of_day = divmod(seconds, 86_400)
    hour, rest = divmod(second_of_day, 3600)
    text = f"{_day_text(day)}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}"
    digits = f"{millis:03d}".rstrip("0")
    width = max(len(digits), style % 8)
    return f"{text}.{digits.ljust(width, '0')}Z" if width else f"{text}Z"


@lru_cache(maxsize=4096)
def _day_text(day: int) -> str:
    """`YYYY-MM-DD` of a day number since the epoch; cached since rows cluster on few days."""
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


def to_ms(value: datetime) -> int:
    """Milliseconds since the epoch; a naive datetime is taken as UTC."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return int(aware.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def floor_day(ms: int) -> int:
    return ms - ms % DAY
