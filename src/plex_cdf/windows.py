"""Time and record types shared by every room, and date-window planning: pure functions from a watermark
and the clock to the windows to fetch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Record = Mapping[str, Any]  # one Plex record as it arrived (a JSON object)


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC window [begin, end)."""

    begin: datetime
    end: datetime


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def floor_to(value: datetime, step: timedelta) -> datetime:
    """The latest multiple of `step` (counted from the Unix epoch, UTC) at or before `value`."""
    return EPOCH + ((value - EPOCH) // step) * step


def window_start(
    watermark: datetime | None, now: datetime, lookback: timedelta, first_reach: timedelta
) -> datetime:
    """Where the next run begins: the watermark less the lookback (late rows), or `first_reach` before now."""
    return now - first_reach if watermark is None else watermark - lookback


def split(
    begin: datetime, end: datetime, max_span: timedelta, align: timedelta | None = None
) -> Iterator[TimeRange]:
    """[begin, end) cut into consecutive windows of at most max_span; with align, the cuts fall on
    multiples of align (so daily figures cover whole UTC days) and begin is first floored to one."""
    if align is not None:
        begin = floor_to(begin, align)
    cursor = begin
    while cursor < end:
        stop = cursor + max_span
        if align is not None:
            stop = max(floor_to(stop, align), cursor + align)
        stop = min(stop, end)
        yield TimeRange(cursor, stop)
        cursor = stop
