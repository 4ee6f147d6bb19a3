"""Workcenter status entries as intervals: what the plant was doing, from when to when, and what it cost.

Plex logs a workcenter's status changes (`workcenter-status-entries`): `logDate` is when the status began
and `duration` how long it lasted, in seconds (the published OpenAPI document: "Duration that the workcenter
was in the workcenter status given in seconds"). An entry's interval is [logDate, logDate + duration); an
entry without a positive duration ends where the workcenter's next entry begins, or stays open.

How a status counts comes from the status list's flags (`workcenter-statuses`): off and idle time is not
planned; every other status is planned time; statuses flagged `downtimeStatus` are down, the planned time
lost that Plex's daily performance report counts as `Downtime_DB`. Run time is planned time less down time
(so setup counts as run time, as in Plex's report).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from plex_cdf.domains.common import flag, index_by, number, plex_ms, required_text, text
from plex_cdf.domains.resource import Quarantine, Record
from plex_cdf.plant import overlap_ms

DURATION_MS_PER_UNIT = 1000
LATEST_END_MS = 4_102_444_799_999
"""2099-12-31T23:59:59.999Z, the latest time CDF stores; an entry whose duration runs past it is refused."""
"""`duration` is in seconds (OpenAPI: List_Workcenter_Status_Entries_item.duration)."""

StatusKind = Literal["production", "setup", "down", "idle", "off", "other"]


@dataclass(frozen=True)
class StatusClass:
    """How a status counts: `planned` time (not off, not idle), and of that `down` (downtimeStatus)."""

    kind: StatusKind
    planned: bool
    down: bool


def status_class(status: Record) -> StatusClass:
    """The status list's flags as one class; off and idle win over the other flags."""
    if flag(status, "offStatus"):
        return StatusClass("off", planned=False, down=False)
    if flag(status, "idleStatus"):
        return StatusClass("idle", planned=False, down=False)
    if flag(status, "downtimeStatus"):
        return StatusClass("down", planned=True, down=True)
    if flag(status, "setupStatus"):
        return StatusClass("setup", planned=True, down=False)
    if flag(status, "productionStatus"):
        return StatusClass("production", planned=True, down=False)
    return StatusClass("other", planned=True, down=False)


@dataclass(frozen=True)
class StatusInterval:
    """One entry as an interval in epoch ms; `end` None while the status still holds."""

    workcenter_id: str
    workcenter_code: str | None
    begin: int
    end: int | None
    status: str
    cls: StatusClass | None  # None: a status the status list does not know (counted nowhere)
    record: Record
    end_from_next: bool = False  # the end is the next entry's start, not logDate + duration


def entry_start(entry: Record) -> tuple[str, int, float | None]:
    """(workcenter id, logDate ms, duration ms or None); Quarantine naming the bad field."""
    workcenter_id = required_text(entry, "workcenterId")
    begin = plex_ms(entry, "logDate", required_field=True)
    assert begin is not None
    duration = number(entry, "duration")
    if duration is not None and (duration != duration or duration < 0 or duration == float("inf")):
        raise Quarantine(f"duration is not a finite non-negative number of seconds: {duration!r}")
    if duration and begin + duration * DURATION_MS_PER_UNIT > LATEST_END_MS:
        raise Quarantine(f"duration runs past the year 2099: {duration!r} seconds")
    return workcenter_id, begin, None if not duration else duration * DURATION_MS_PER_UNIT


def classify(entry: Record, statuses: Sequence[Record]) -> tuple[str, StatusClass]:
    """The entry's status description and its class; Quarantine when the status list does not know it."""
    description = required_text(entry, "workcenterStatus")
    status = index_by(statuses, "description").get(description)
    if status is None:
        raise Quarantine(f"workcenterStatus: {description!r} is not in the workcenter-status list")
    return description, status_class(status)


def status_intervals(entries: Iterable[Record], statuses: Sequence[Record]) -> list[StatusInterval]:
    """Every well-formed entry as an interval, ordered per workcenter by start (entries a transform
    quarantines are left out; a status the list does not know has no class). Without a positive duration,
    an entry ends where the workcenter's next one begins."""
    per_workcenter: dict[str, list[tuple[int, float | None, str, StatusClass | None, Record]]] = defaultdict(
        list
    )
    for entry in entries:
        try:
            workcenter_id, begin, length = entry_start(entry)
            description = required_text(entry, "workcenterStatus")
            text(entry, "workcenterCode")
        except Quarantine:
            continue
        try:
            cls: StatusClass | None = classify(entry, statuses)[1]
        except Quarantine:
            cls = None
        per_workcenter[workcenter_id].append((begin, length, description, cls, entry))
    intervals = []
    for workcenter_id, rows in per_workcenter.items():
        rows.sort(key=lambda row: row[0])
        starts = [row[0] for row in rows]
        for i, (begin, length, description, cls, entry) in enumerate(rows):
            following = next((s for s in starts[i + 1 :] if s > begin), None)
            end = begin + int(length) if length is not None else following
            code = text(entry, "workcenterCode")
            intervals.append(
                StatusInterval(
                    workcenter_id, code, begin, end, description, cls, entry, end_from_next=length is None
                )
            )
    return intervals


@dataclass(frozen=True)
class StatusTime:
    """Milliseconds of one workcenter inside one period."""

    planned: int = 0
    down: int = 0

    @property
    def run(self) -> int:
        return self.planned - self.down


def time_in(intervals: Iterable[StatusInterval], begin: int, end: int) -> Mapping[str, StatusTime]:
    """Planned and down milliseconds per workcenter inside [begin, end); an open interval counts up to
    `end` (the period so far)."""
    totals: dict[str, StatusTime] = {}
    for interval in intervals:
        if interval.cls is None or not interval.cls.planned:
            continue
        inside = overlap_ms(interval.begin, end if interval.end is None else interval.end, begin, end)
        if inside <= 0:
            continue
        seen = totals.get(interval.workcenter_id, StatusTime())
        totals[interval.workcenter_id] = StatusTime(
            seen.planned + inside, seen.down + (inside if interval.cls.down else 0)
        )
    return totals
