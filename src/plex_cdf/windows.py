"""Date-window planning: pure functions from a watermark and the clock to the windows to fetch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from plex_cdf.domains.resource import DataSourceWindow, TimeRange, Window
from plex_cdf.plant import PlantTime, local_days, shift_days

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


def plan(
    begin: datetime, end: datetime, mode: Window | DataSourceWindow, plant: PlantTime
) -> Iterator[TimeRange]:
    """The windows a windowed resource fetches over [begin, end): the plant's local days for per-day
    figures, its shift days for per-shift figures, else spans of at most max_span cut on multiples of
    align (or of max_span)."""
    if mode.plant_days:
        return local_days(begin, end, plant.zone)
    if isinstance(mode, Window) and mode.shift_days:
        return shift_days(begin, end, plant)
    return split(begin, end, mode.max_span, mode.align or mode.max_span)
