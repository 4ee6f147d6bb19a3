"""Performance: OEE, availability, performance and quality per workcenter and day, as time series.

Three routes, one set of formulas (`oee_figures`):
- Plex's own daily report, data source 18765 `Daily_Performance_Report_Get`, one row per workcenter and
  part, summed per workcenter;
- Plex's current performance snapshot, data source 22870 `Workcenter_Performance_Simple_Get`, polled per
  workcenter;
- when 18765 is not granted, the same daily figures computed from Connect alone: workcenter-status entries
  (with the status list's flags) for time, production and scrap entries for counts, approved-workcenter
  rates for ideal cycle times.

Units: times in hours, counts in pieces, rates in pieces per hour, figures as fractions (1.0 = 100 %).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from plex_cdf.domains.common import (
    flag,
    index_by,
    integer_key,
    lineage,
    mapped_id,
    number,
    plex_ms,
    required_text,
    text,
)
from plex_cdf.domains.resource import Context, DataSource, Get, Quarantine, Record, Resource, Snapshot, Window
from plex_cdf.ids import external_id
from plex_cdf.items import Datapoints, Item, TimeSeries
from plex_cdf.plex.dates import to_epoch_ms

DAY = timedelta(days=1)
MINUTES_PER_HOUR = 60.0

# Lookup resources this module reads, by their row names: the key map is defined in `quality`, the entries
# in `production` (fetched again for this resource's daily windows), workcenters and statuses in
# `master_data`.
WORKCENTER_KEY_MAP = "workcenter_key_map"
PRODUCTION_ENTRIES = "production_entries"
SCRAP_ENTRIES = "scrap_entries"
WORKCENTER_STATUSES = "workcenter_statuses"
WORKCENTERS = "workcenters"
APPROVED_WORKCENTERS = "approved_workcenters"

DAILY_PERFORMANCE = "daily_performance"
WORKCENTER_PERFORMANCE = "workcenter_performance"
OEE_FROM_CONNECT = "oee_from_connect"


# --- The formulas (docs/mapping.md, "Performance (OEE)") -------------------------------


@dataclass(frozen=True)
class OeeTotals:
    """One workcenter over one period. Hours and pieces; `ideal_hours` is the sum over every counted piece
    of its ideal cycle time (1 / ideal rate), i.e. the time the counted pieces would take at ideal speed."""

    planned_hours: float = 0.0
    run_hours: float = 0.0
    ideal_hours: float = 0.0
    good_count: float = 0.0
    total_count: float = 0.0

    def __add__(self, other: OeeTotals) -> OeeTotals:
        return OeeTotals(
            self.planned_hours + other.planned_hours,
            self.run_hours + other.run_hours,
            self.ideal_hours + other.ideal_hours,
            self.good_count + other.good_count,
            self.total_count + other.total_count,
        )


@dataclass(frozen=True)
class OeeFigures:
    """Fractions; None where the denominator is zero (no planned time, no run time, nothing counted)."""

    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None


def availability(planned_hours: float, run_hours: float) -> float | None:
    """Run time / planned time, run time clamped to [0, planned]; None without planned time."""
    if planned_hours <= 0:
        return None
    return min(max(run_hours, 0.0), planned_hours) / planned_hours


def performance(ideal_hours: float, run_hours: float) -> float | None:
    """(Ideal cycle time x total count) / run time; not capped at 1 (above 1 means a rate set too low);
    None without run time."""
    if run_hours <= 0:
        return None
    return max(ideal_hours, 0.0) / run_hours


def quality(good_count: float, total_count: float) -> float | None:
    """Good / total, good clamped to [0, total]; None when nothing was counted."""
    if total_count <= 0:
        return None
    return min(max(good_count, 0.0), total_count) / total_count


def oee(a: float | None, p: float | None, q: float | None) -> float | None:
    """A x P x Q; None when any factor is undefined."""
    if a is None or p is None or q is None:
        return None
    return a * p * q


def oee_figures(totals: OeeTotals) -> OeeFigures:
    a = availability(totals.planned_hours, totals.run_hours)
    p = performance(totals.ideal_hours, totals.run_hours)
    q = quality(totals.good_count, totals.total_count)
    return OeeFigures(a, p, q, oee(a, p, q))


def ideal_hours(count: float, rate_per_hour: float | None) -> float:
    """The time `count` pieces take at the ideal rate; 0 when no positive rate is known (so those pieces
    add nothing to the performance numerator)."""
    if rate_per_hour is None or rate_per_hour <= 0:
        return 0.0
    return count / rate_per_hour


# --- Time series per workcenter --------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    kind: str  # external-id kind, e.g. PCN1_oee_daily_{workcenterId}
    label: str
    description: str


DAILY_FIGURES: tuple[Figure, ...] = (
    Figure("oee_daily", "OEE", "OEE = availability x performance x quality per UTC day; fraction"),
    Figure("availability_daily", "Availability", "Run time / planned time per UTC day; fraction 0-1"),
    Figure(
        "performance_daily", "Performance", "Ideal time of counted pieces / run time per UTC day; fraction"
    ),
    Figure("quality_daily", "Quality", "Good / total pieces per UTC day; fraction 0-1"),
)
CURRENT_PERFORMANCE = Figure(
    "performance_current", "Performance (current)", "Plex's current performance figure, in percent"
)


@dataclass(frozen=True)
class Workcenter:
    plex_id: str  # Connect workcenterId
    code: str | None


def _series(wc: Workcenter, figure: Figure, ctx: Context, method: str, unit: str | None) -> TimeSeries:
    return TimeSeries(
        external_id=external_id(ctx.pcn, figure.kind, wc.plex_id),
        name=f"{wc.code or wc.plex_id} {figure.label}",
        data_set="production",
        asset_external_id=external_id(ctx.pcn, "workcenter", wc.plex_id),
        unit=unit,
        description=figure.description,
        metadata={
            **lineage(ctx.resource, wc.plex_id),
            "workcenterId": wc.plex_id,
            **({"workcenterCode": wc.code} if wc.code else {}),
            "method": method,
        },
    )


def daily_items(wc: Workcenter, totals: OeeTotals, day_ms: int, ctx: Context, method: str) -> Iterable[Item]:
    """The four daily series of one workcenter and, for each defined figure, its point at the day's start."""
    figures = oee_figures(totals)
    values = (figures.oee, figures.availability, figures.performance, figures.quality)
    for figure, value in zip(DAILY_FIGURES, values, strict=True):
        series = _series(wc, figure, ctx, method, unit=None)
        yield series
        if value is not None:
            yield Datapoints(series.external_id, ((day_ms, value),))


def day_start_ms(ctx: Context) -> int:
    """The window's start as epoch ms; daily figures need windows cut at 00:00 UTC (Window.align = 1 day)."""
    if ctx.window is None:
        raise ValueError(f"{ctx.resource}: daily OEE needs a date window, the runner gave none")
    begin = ctx.window.begin.astimezone(UTC)
    if begin != datetime(begin.year, begin.month, begin.day, tzinfo=UTC):
        raise ValueError(f"{ctx.resource}: daily OEE needs windows starting at 00:00 UTC, got {begin}")
    return to_epoch_ms(begin)


# --- Route 1: data source 18765, daily report -------------------------------------------------------


def _non_negative(record: Record, name: str) -> float:
    """A count or a time column: null counts as 0; Quarantine when negative, infinite or not a number."""
    value = number(record, name) or 0.0
    if not math.isfinite(value) or value < 0:
        raise Quarantine(f"{name} is not a finite non-negative number: {value!r}")
    return value


def daily_report_totals(row: Record) -> OeeTotals:
    """One 18765 row (a workcenter and a part): planned and down time in hours, counts in pieces,
    Standard_Production_Rate in pieces per hour. Good = Production_Qty; total = good + scrap + reject."""
    planned = _non_negative(row, "Planned_Production_Time")
    downtime = _non_negative(row, "Downtime_DB")
    good = _non_negative(row, "Production_Qty")
    total = good + _non_negative(row, "Scrap_Qty") + _non_negative(row, "Reject_Qty")
    run = max(planned - downtime, 0.0)
    rate = _non_negative(row, "Standard_Production_Rate")
    return OeeTotals(planned, run, ideal_hours(total, rate), good, total)


def _daily_row_workcenter(row: Record, ctx: Context) -> Workcenter:
    key = integer_key(row, "Workcenter_Key")
    if key is None:
        raise Quarantine("missing Workcenter_Key")
    plex_id = mapped_id(ctx, WORKCENTER_KEY_MAP, key)
    if plex_id is None:
        raise Quarantine(f"Workcenter_Key: {key} has no Connect id in {WORKCENTER_KEY_MAP}")
    return Workcenter(plex_id, text(row, "Workcenter_Code"))


def check_daily_row(row: Record, ctx: Context) -> Iterable[Item]:
    """Validates one row (Quarantine names the bad column); the figures come from `finish_daily_report`."""
    _daily_row_workcenter(row, ctx)
    daily_report_totals(row)
    return ()


def _valid_daily_rows(rows: Sequence[Record], ctx: Context) -> Iterable[tuple[Workcenter, OeeTotals]]:
    for row in rows:
        try:
            yield _daily_row_workcenter(row, ctx), daily_report_totals(row)
        except Quarantine:
            continue  # counted by check_daily_row


def finish_daily_report(rows: Sequence[Record], ctx: Context) -> Iterable[Item]:
    day_ms = day_start_ms(ctx)
    per_workcenter: dict[str, tuple[Workcenter, OeeTotals]] = {}
    for wc, totals in _valid_daily_rows(rows, ctx):
        seen = per_workcenter.get(wc.plex_id)
        per_workcenter[wc.plex_id] = (seen[0], seen[1] + totals) if seen else (wc, totals)
    for wc, totals in per_workcenter.values():
        yield from daily_items(wc, totals, day_ms, ctx, method="plex_daily_performance_report")


# --- Route 2: data source 22870, current performance per workcenter ---------------------------------


def current_performance_to_points(row: Record, ctx: Context) -> Iterable[Item]:
    """One 22870 row: Performance in percent, sampled now and written only when it changed. The row names
    its workcenter by code only, so the code is looked up in the master-data workcenters list."""
    code = required_text(row, "Workcenter_Code")
    workcenter = index_by(ctx.lookups.get(WORKCENTERS, ()), "workcenterCode").get(code)
    plex_id = None if workcenter is None else text(workcenter, "workcenterId")
    if plex_id is None:
        raise Quarantine(f"Workcenter_Code: {code!r} is not in the workcenters list")
    value = number(row, "Performance")
    if value is not None and not math.isfinite(value):
        raise Quarantine(f"Performance is not a finite number: {value!r}")
    series = _series(Workcenter(plex_id, code), CURRENT_PERFORMANCE, ctx, "plex_workcenter_performance", "%")
    yield series
    if value is not None:
        yield Datapoints(series.external_id, ((to_epoch_ms(ctx.now), value),), latest_only=True)


# --- Route 3: Connect alone ---------------------------------------------------------------------------

STATUS_DURATION_HOURS_PER_UNIT = 1 / MINUTES_PER_HOUR
"""Workcenter-status entries' `duration` is taken to be in minutes (Plex does not document the unit)."""


@dataclass(frozen=True)
class StatusClass:
    """How a workcenter status counts: off and idle time (no work scheduled) is not planned; production
    time is run time; everything else (setup, downtime, maintenance, unflagged) is planned time lost."""

    planned: bool
    running: bool


def status_class(status: Record) -> StatusClass:
    if flag(status, "offStatus") or flag(status, "idleStatus"):
        return StatusClass(planned=False, running=False)
    return StatusClass(planned=True, running=flag(status, "productionStatus"))


def _status_entry(entry: Record, ctx: Context) -> tuple[Workcenter, OeeTotals]:
    """One workcenter-status entry as time: duration hours into planned and/or run time."""
    wc = Workcenter(required_text(entry, "workcenterId"), text(entry, "workcenterCode"))
    description = required_text(entry, "workcenterStatus")
    status = index_by(ctx.lookups.get(WORKCENTER_STATUSES, ()), "description").get(description)
    if status is None:
        raise Quarantine(f"workcenterStatus: {description!r} is not in the workcenter-status list")
    plex_ms(entry, "logDate", required_field=True)
    hours = _non_negative(entry, "duration") * STATUS_DURATION_HOURS_PER_UNIT
    kind = status_class(status)
    return wc, OeeTotals(
        planned_hours=hours if kind.planned else 0.0,
        run_hours=hours if kind.planned and kind.running else 0.0,
    )


def check_status_entry(entry: Record, ctx: Context) -> Iterable[Item]:
    """Validates one status entry (Quarantine names the bad field); figures come from `finish_connect`."""
    _status_entry(entry, ctx)
    return ()


def ideal_rate(approved: Record) -> float | None:
    """An approved workcenter's ideal rate in pieces per hour: idealRate, else standardProductionRate."""
    for name in ("idealRate", "standardProductionRate"):
        try:
            value = number(approved, name)
        except Quarantine:
            continue
        if value is not None and value > 0:
            return value
    return None


def check_approved_workcenter(approved: Record, ctx: Context) -> Iterable[Item]:
    """An approved workcenter is a lookup (rates for ideal cycle times) and makes no CDF object; one with
    an unusable key or rate is quarantined so the count shows it."""
    required_text(approved, "workcenterId")
    for name in ("idealRate", "standardProductionRate"):
        number(approved, name)
    return ()


def _rates(ctx: Context) -> dict[tuple[str, str], float]:
    rates: dict[tuple[str, str], float] = {}
    for approved in ctx.lookups.get(APPROVED_WORKCENTERS, ()):
        wc, part_op, rate = (
            approved.get("workcenterId"),
            approved.get("partOperationId"),
            ideal_rate(approved),
        )
        if isinstance(wc, str) and isinstance(part_op, str) and rate is not None:
            rates[(wc, part_op)] = rate
    return rates


def _count_entry(entry: Record, rates: Mapping[tuple[str, str], float], good: bool) -> OeeTotals:
    """A production (good) or scrap entry as counts, with the ideal time of its pieces."""
    quantity = _non_negative(entry, "quantity")
    part_op = text(entry, "partOperationId") or ""
    rate = rates.get((required_text(entry, "workcenterId"), part_op))
    return OeeTotals(
        ideal_hours=ideal_hours(quantity, rate), good_count=quantity if good else 0.0, total_count=quantity
    )


def _connect_parts(records: Sequence[Record], ctx: Context) -> Iterable[tuple[Workcenter, OeeTotals]]:
    rates = _rates(ctx)
    for entry in records:
        try:
            yield _status_entry(entry, ctx)
        except Quarantine:
            continue  # counted by check_status_entry
    for name, good in ((PRODUCTION_ENTRIES, True), (SCRAP_ENTRIES, False)):
        for entry in ctx.lookups.get(name, ()):
            try:
                wc = Workcenter(required_text(entry, "workcenterId"), text(entry, "workcenterCode"))
                yield wc, _count_entry(entry, rates, good)
            except Quarantine:
                continue  # the production domain quarantines and counts these


def finish_connect(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    day_ms = day_start_ms(ctx)
    per_workcenter: dict[str, tuple[Workcenter, OeeTotals]] = {}
    for wc, totals in _connect_parts(records, ctx):
        seen = per_workcenter.get(wc.plex_id)
        if seen is None:
            per_workcenter[wc.plex_id] = (wc, totals)
        else:
            per_workcenter[wc.plex_id] = (seen[0] if seen[0].code else wc, seen[1] + totals)
    for wc, totals in per_workcenter.values():
        yield from daily_items(wc, totals, day_ms, ctx, method="computed_from_connect")


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name=APPROVED_WORKCENTERS,
        domain="performance",
        source=Get("/production/v1/production-definitions/approved-workcenters"),
        mode=Snapshot(mark_inactive=False),
        key=("workcenterId", "partOperationId"),
        transform=check_approved_workcenter,
        description="Approved workcenters per part operation: ideal and standard rates, a lookup for OEE",
    ),
    Resource(
        name=DAILY_PERFORMANCE,
        domain="performance",
        source=DataSource(18765),
        mode=Window("Start_Date", "End_Date", max_span=DAY, align=DAY),
        key=("Workcenter_Key", "Part_Key", "Operation_Code"),
        transform=check_daily_row,
        finish=finish_daily_report,
        lookup=(WORKCENTER_KEY_MAP,),
        optional=True,
        description="Daily_Performance_Report_Get: Plex's daily figures per workcenter and part -> daily OEE",
    ),
    Resource(
        name=WORKCENTER_PERFORMANCE,
        domain="performance",
        source=DataSource(22870),
        mode=Snapshot(mark_inactive=False),
        key=("Workcenter_Code",),
        transform=current_performance_to_points,
        lookup=(WORKCENTERS,),
        optional=True,
        description="Workcenter_Performance_Simple_Get, all workcenters: current performance in percent",
    ),
    Resource(
        name=OEE_FROM_CONNECT,
        domain="performance",
        source=Get("/production/v1/production-history/workcenter-status-entries"),
        mode=Window(begin_param="beginDate", end_param="endDate", max_span=DAY, align=DAY),
        key=("workcenterId", "logDate", "workcenterStatus", "partOperationId"),
        transform=check_status_entry,
        finish=finish_connect,
        lookup=(PRODUCTION_ENTRIES, SCRAP_ENTRIES, WORKCENTER_STATUSES, APPROVED_WORKCENTERS),
        fallback_for=DAILY_PERFORMANCE,
        description="Daily OEE computed from Connect when data source 18765 is not granted",
    ),
)
