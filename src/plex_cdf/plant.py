"""Plant time: the tenant's time zone and shift calendar, as pure functions over UTC instants.

A plant counts its days from local midnight to local midnight, so a day is 23 or 25 hours long when the
clocks change, and its shifts start and end at local wall-clock times (a night shift may end the next day).
Everything here takes and returns aware datetimes; instants are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    """A half-open span of time [begin, end), both aware (UTC)."""

    begin: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    """A named shift: local start and end times on the days of week it starts (0 = Monday). An end at or
    before the start means the shift ends on the next day."""

    name: str
    start: time
    end: time
    days: frozenset[int] = frozenset(range(7))

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class PlantTime:
    """A tenant's plant clock: its IANA time zone and its shifts (none: per-day figures only)."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    shifts: tuple[Shift, ...] = ()

    @property
    def name(self) -> str:
        return self.zone.key


UTC_PLANT = PlantTime()


def wall_clock(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. A time the clocks skip is read with the offset before
    the change (02:30 on a spring-forward night at 02:00 is 03:30 summer time; midnight skipped is the
    first instant of the day); a time that happens twice is its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    """The plant's calendar day an instant falls on."""
    return instant.astimezone(zone).date()


def day_range(day: date, zone: ZoneInfo) -> Period:
    """[local midnight, next local midnight) in UTC: 24 hours, or 23 and 25 on the days the clocks change."""
    return Period(wall_clock(day, time(0), zone), wall_clock(day + timedelta(days=1), time(0), zone))


def day_start(instant: datetime, zone: ZoneInfo) -> datetime:
    """The start (UTC) of the local day an instant falls on."""
    return day_range(local_day(instant, zone), zone).begin


def local_days(begin: datetime, end: datetime, zone: ZoneInfo) -> Iterator[Period]:
    """[begin, end) as whole plant days, begin first moved back to its local midnight; the last window ends
    at `end` when `end` falls inside a day (the day so far)."""
    day = local_day(begin, zone)
    while True:
        span = day_range(day, zone)
        if span.begin >= end:
            return
        yield Period(span.begin, min(span.end, end))
        day += timedelta(days=1)


def shift_days(begin: datetime, end: datetime, plant: PlantTime) -> Iterator[Period]:
    """[begin, end) as the plant's shift days: each from the earliest shift start on one local day to that
    time on the next (06:00 to 06:00 for shifts at 06:00, 14:00 and 22:00), so a night shift lies inside
    the day it starts on; none without shifts. The last ends at `end` when `end` falls inside it."""
    if not plant.shifts:
        return
    first = min(shift.start for shift in plant.shifts)
    day = local_day(begin, plant.zone)
    if wall_clock(day, first, plant.zone) > begin:
        day -= timedelta(days=1)
    while True:
        start = wall_clock(day, first, plant.zone)
        if start >= end:
            return
        yield Period(start, min(wall_clock(day + timedelta(days=1), first, plant.zone), end))
        day += timedelta(days=1)


def shift_periods(day: date, plant: PlantTime) -> list[tuple[Shift, Period]]:
    """The shifts that start on a plant day, each as its UTC period (a night shift ends the next day)."""
    periods = []
    for shift in plant.shifts:
        if day.weekday() not in shift.days:
            continue
        ends_on = day + timedelta(days=1) if shift.crosses_midnight else day
        begin, end = wall_clock(day, shift.start, plant.zone), wall_clock(ends_on, shift.end, plant.zone)
        if end > begin:
            periods.append((shift, Period(begin, end)))
    return periods


def overlap_ms(begin: int, end: int, period_begin: int, period_end: int) -> int:
    """How many milliseconds of [begin, end) fall inside [period_begin, period_end)."""
    return max(0, min(end, period_end) - max(begin, period_begin))


def within(instants: Iterable[int], period: Period) -> Iterator[int]:
    """The epoch-ms instants inside a half-open period."""
    low, high = to_ms(period.begin), to_ms(period.end)
    return (at for at in instants if low <= at < high)


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def read_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """A date-time Plex sent without a zone, read on the plant's wall clock, as a UTC instant."""
    return wall_clock(naive.date(), naive.time(), zone)
