"""Plex date formats: what Plex accepts (UTC, a literal `Z`, 0 to 7 fraction digits) and a lenient parser
for what it sends back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from plex_cdf.windows import TimeRange

_LENIENT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)

# `YYYY-MM-DDThh:mm:ss[.f]Z`, 1 to 9 fraction digits, ASCII digits only: what Plex sends nearly always.
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z").fullmatch


def format_plex_datetime(value: datetime) -> str:
    """`YYYY-MM-DDThh:mm:ss.fffffffZ`-style: UTC, seconds always, fraction only when non-zero (at most 6
    digits, which is within Plex's 7). Naive datetimes are taken as UTC."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_plex_datetime(text: str) -> datetime:
    """Lenient: optional seconds, any fraction length (cut to microseconds), `Z`, an offset or none (UTC),
    a date alone (midnight UTC). Raises ValueError naming the text otherwise."""
    if _CANONICAL(text):
        # The form Plex sends nearly always, read by the standard library's C parser (a tenth of the
        # regex's cost; a medium cold run parses some 80,000 of them); the same instant either way.
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # e.g. a month 13: the lenient path below names the text
    return _lenient(text)


def _lenient(text: str) -> datetime:
    match = _LENIENT.match(text.strip())
    if match is None:
        raise ValueError(f"not a Plex date-time: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    parsed = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro, tzinfo=UTC
    )
    if zone and zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        try:
            parsed -= timedelta(minutes=offset_minutes)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00: the year 10000 in UTC
            raise ValueError(f"{text!r} is outside the years 1-9999 in UTC") from None
    return parsed


def to_epoch_ms(value: datetime) -> int:
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return int(utc.timestamp() * 1000)


_EPOCH = datetime(1970, 1, 1)  # naive: whole seconds format without a zone, the zone is appended


def iso_utc(ms: int | None) -> str | None:
    """Epoch ms as ISO 8601 UTC with milliseconds, the form CDF's data modeling writes timestamps in.
    Raises ValueError for an instant outside the years 1-9999 (no such timestamp)."""
    if ms is None:
        return None
    # Integer arithmetic (`ms / 1000` as a float is off by a millisecond near the year 9999), and whole
    # seconds formatted with the milliseconds appended: a quarter less time than an aware datetime's
    # `isoformat(timespec=...)`, on every event's start and end.
    seconds, millis = divmod(ms, 1000)
    try:
        return f"{(_EPOCH + timedelta(seconds=seconds)).isoformat()}.{millis:03d}+00:00"
    except OverflowError as err:
        raise ValueError(f"{ms} ms from 1970 is outside the years 1-9999") from err


_UX_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%b %d %Y %I:%M%p", "%m/%d/%Y")


def parse_datasource_datetime(text: str, zone: tzinfo = UTC) -> datetime:
    """A Data Source output date: the ISO form first (lenient, as above), then the US-style text that
    outputs converted from SQL varchar carry (`03/01/2024 06:30:00 PM`, `Mar  1 2024  6:30PM`). A date
    with `Z` or an offset is that instant; one without a zone is read on the plant's clock `zone` (a
    tenant's data sources show the plant's local time). Raises ValueError naming the text otherwise."""
    squeezed = " ".join(text.split())
    if _LENIENT.match(squeezed) is not None:
        if _ZONED.search(squeezed):
            return parse_plex_datetime(squeezed)
        return _on_clock(parse_plex_datetime(squeezed).replace(tzinfo=None), zone)
    for pattern in _UX_FORMATS:
        try:
            return _on_clock(datetime.strptime(squeezed, pattern), zone)
        except ValueError:
            continue
    raise ValueError(f"not a Plex date-time: {text!r}")


_ZONED = re.compile(r"(Z|z|[+-]\d{2}:?\d{2})$")


def _on_clock(naive: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time in `zone` as a UTC instant (a skipped time read with the offset before the change,
    a repeated one as its first occurrence)."""
    return naive.replace(tzinfo=zone).astimezone(UTC)


def window_params(window: TimeRange, begin: str, end: str) -> dict[str, str]:
    """A window as the request parameters (Connect) or inputs (Data Source API) that bound it: the one
    place a window becomes Plex dates."""
    return {begin: format_plex_datetime(window.begin), end: format_plex_datetime(window.end)}
