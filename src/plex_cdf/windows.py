"""Time and record types shared by every room, and date-window planning: pure functions from a watermark
and the clock to the windows to fetch."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from plex_cdf.plant import Period, PlantTime, local_days, shift_days

Record = Mapping[str, Any]  # one Plex record as it arrived (a JSON object)


TimeRange = Period
"""A half-open UTC window [begin, end): the plant clock's period type, so windows and plant days are one."""


class Windowed(Protocol):
    """What window planning reads of a windowed mode (`domains.resource.Window`)."""

    @property
    def max_span(self) -> timedelta: ...
    @property
    def align(self) -> timedelta | None: ...
    @property
    def plant_days(self) -> bool: ...
    @property
    def shift_days(self) -> bool: ...


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


def plan(begin: datetime, end: datetime, mode: Windowed, plant: PlantTime) -> Iterator[TimeRange]:
    """The windows a windowed resource fetches over [begin, end): the plant's local days for per-day
    figures, its shift days for per-shift figures, else spans of at most max_span cut on multiples of
    align (or of max_span)."""
    if mode.plant_days:
        return local_days(begin, end, plant.zone)
    if mode.shift_days:
        return shift_days(begin, end, plant)
    return split(begin, end, mode.max_span, mode.align or mode.max_span)
