"""Performance: OEE, availability, performance and quality per workcenter and day, as time series.

Three routes, one set of formulas (`oee_figures`):
- Plex's own daily report, data source 18765 `Daily_Performance_Report_Get`, one row per workcenter and
  part, summed per workcenter;
- Plex's current performance snapshot, data source 22870 `Workcenter_Performance_Simple_Get`, polled per
  workcenter;
- when 18765 is not granted, the same daily figures computed from Connect alone: workcenter-status entries
  (with the status list's flags) for time, production and scrap entries for counts, approved-workcenter
  rates for ideal cycle times.

Units: times in hours, counts in pieces, rates in pieces per hour, figures as fractions (1.0 = 100 %) on
every series, unit `fraction` (22870's percent is divided by 100).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from plex_cdf.domains.common import (
    KEY_MAP_FIELDS,
    LINK_FIELDS,
    index_by,
    integer_key,
    lineage,
    linked_id,
    mapped_id,
    merged,
    number,
    plex_ms,
    required_text,
    text,
)
from plex_cdf.domains.resource import (
    Context,
    DataSource,
    Finish,
    Get,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    Window,
)
from plex_cdf.domains.status import classify, entry_start, status_intervals, time_in
from plex_cdf.ids import external_id
from plex_cdf.items import Datapoints, Item, TimeSeries
from plex_cdf.plant import Shift, day_start, local_day, shift_periods
from plex_cdf.plex.dates import to_epoch_ms

DAY = timedelta(days=1)

# Lookup resources this module reads, by their row names: the key map is defined in `quality`, the entries
# in `production` (fetched again for this resource's daily windows), workcenters and statuses in
# `master_data`.
WORKCENTER_KEY_MAP = "workcenter_key_map"
PRODUCTION_ENTRIES = "production_entries"
SCRAP_ENTRIES = "scrap_entries"
WORKCENTER_STATUSES = "workcenter_statuses"
WORKCENTERS = "workcenters"
APPROVED_WORKCENTERS = "approved_workcenters"
RATE_FIELDS = ("workcenterId", "partOperationId", "idealRate", "standardProductionRate")
"""What the Connect OEE rows read of the approved workcenters (their lookup): the rates per operation."""

DAILY_PERFORMANCE = "daily_performance"
WORKCENTER_PERFORMANCE = "workcenter_performance"
OEE_FROM_CONNECT = "oee_from_connect"
OEE_PER_SHIFT = "oee_per_shift"


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
    None without run time, or with one so short that the quotient overflows (no datapoint holds infinity)."""
    if run_hours <= 0:
        return None
    value = max(ideal_hours, 0.0) / run_hours
    return value if math.isfinite(value) else None


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
    Figure("oee_daily", "OEE", "OEE = availability x performance x quality per plant day; fraction"),
    Figure("availability_daily", "Availability", "Run time / planned time per plant day; fraction 0-1"),
    Figure(
        "performance_daily", "Performance", "Ideal time of counted pieces / run time per plant day; fraction"
    ),
    Figure("quality_daily", "Quality", "Good / total pieces per plant day; fraction 0-1"),
)
CURRENT_PERFORMANCE = Figure(
    "performance_current",
    "Performance (current)",
    "Plex's current performance figure (sent in percent), as a fraction like every OEE figure",
)
FRACTION = "fraction"
"""The one scale of OEE and its factors everywhere: 1.0 = 100 %."""
PERCENT_PER_FRACTION = 100.0


@dataclass(frozen=True)
class Workcenter:
    plex_id: str  # Connect workcenterId
    code: str | None


def _series(wc: Workcenter, figure: Figure, ctx: Context, method: str, unit: str | None) -> TimeSeries:
    return TimeSeries(
        external_id=external_id(ctx.pcn, figure.kind, wc.plex_id),
        name=f"{wc.code or wc.plex_id} {figure.label}",
        data_set="production",
        asset_external_id=linked_id(ctx, "workcenter", wc.plex_id),
        unit=unit,
        description=figure.description,
        metadata=merged(
            lineage(ctx.resource, wc.plex_id),
            {"workcenterId": wc.plex_id, "method": method},
            {"workcenterCode": wc.code} if wc.code else {},
        ),
    )


DAILY_QUANTITIES: tuple[Figure, ...] = (
    Figure("good_quantity_daily", "good pieces", "Good pieces OEE counts per plant day; pieces"),
    Figure(
        "scrap_quantity_daily", "scrap pieces", "Scrap and reject pieces OEE counts per plant day; pieces"
    ),
)
PIECES = "pcs"


def per_shift(figure: Figure) -> Figure:
    """The same figure per shift: kind `..._shift`, a point at each shift's start."""
    return Figure(
        figure.kind.replace("_daily", "_shift"),
        f"{figure.label} per shift",
        figure.description.replace("per plant day", "per shift (points at the shift's start)"),
    )


SHIFT_FIGURES = tuple(per_shift(f) for f in DAILY_FIGURES)
SHIFT_QUANTITIES = tuple(per_shift(f) for f in DAILY_QUANTITIES)


def daily_items(wc: Workcenter, totals: OeeTotals, day_ms: int, ctx: Context, method: str) -> Iterable[Item]:
    """The daily series of one workcenter (four OEE figures, good and scrap pieces) and, for each defined
    figure, its point at the day's start."""
    return period_items(wc, totals, day_ms, ctx, method, DAILY_FIGURES + DAILY_QUANTITIES)


def period_items(
    wc: Workcenter, totals: OeeTotals, at_ms: int, ctx: Context, method: str, figures: tuple[Figure, ...]
) -> Iterable[Item]:
    """One workcenter's figures over one period (a day or a shift): OEE, A, P, Q as fractions, then good
    and scrap pieces; a point at the period's start for each defined value."""
    oee_values = oee_figures(totals)
    values = (
        oee_values.oee,
        oee_values.availability,
        oee_values.performance,
        oee_values.quality,
        totals.good_count,
        totals.total_count - totals.good_count,
    )
    for figure, value in zip(figures, values, strict=False):
        unit = PIECES if figure.kind.startswith(("good_quantity", "scrap_quantity")) else FRACTION
        series = _series(wc, figure, ctx, method, unit=unit)
        yield series
        if value is not None:
            yield Datapoints(series.external_id, ((at_ms, value),))


def day_start_ms(ctx: Context) -> int:
    """The window's start as epoch ms: daily figures need windows that are the plant's local days
    (`plant_days=True`), so each point sits at the plant's local midnight."""
    if ctx.window is None:
        raise ValueError(f"{ctx.resource}: daily OEE needs a date window, the runner gave none")
    begin = ctx.window.begin
    if begin != day_start(begin, ctx.plant.zone):
        raise ValueError(f"{ctx.resource}: daily OEE needs windows starting at local midnight, got {begin}")
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
    ideal = ideal_hours(total, rate)
    if not math.isfinite(ideal):  # a vanishing rate: the pieces would take forever, not a figure
        raise Quarantine(f"Standard_Production_Rate is too small for {total} pieces: {rate!r}")
    return OeeTotals(planned, run, ideal, good, total)


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
    """One 22870 row: Performance in percent, written as a fraction, sampled now and written only when it
    changed. The row names
    its workcenter by code only, so the code is looked up in the master-data workcenters list."""
    code = required_text(row, "Workcenter_Code")
    workcenter = index_by(ctx.lookups.get(WORKCENTERS, ()), "workcenterCode").get(code)
    plex_id = None if workcenter is None else text(workcenter, "workcenterId")
    if plex_id is None:
        raise Quarantine(f"Workcenter_Code: {code!r} is not in the workcenters list")
    value = number(row, "Performance")
    if value is not None and not math.isfinite(value):
        raise Quarantine(f"Performance is not a finite number: {value!r}")
    series = _series(
        Workcenter(plex_id, code), CURRENT_PERFORMANCE, ctx, "plex_workcenter_performance", FRACTION
    )
    yield series
    if value is not None:
        fraction = value / PERCENT_PER_FRACTION
        yield Datapoints(series.external_id, ((to_epoch_ms(ctx.now), fraction),), latest_only=True)


# --- Route 3: Connect alone ---------------------------------------------------------------------------

MS_PER_HOUR = 3_600_000


def check_status_entry(entry: Record, ctx: Context) -> Iterable[Item]:
    """Validates one status entry (Quarantine names the bad field); figures come from `finish_connect`."""
    entry_start(entry)
    classify(entry, ctx.lookups.get(WORKCENTER_STATUSES, ()))
    return ()


def status_totals(
    records: Sequence[Record], ctx: Context, period: tuple[int, int]
) -> Iterable[tuple[Workcenter, OeeTotals]]:
    """Planned and run hours per workcenter inside the period, from the entries as intervals (fetched from a
    day before the window, so a status that began the day before counts for its part in this one)."""
    intervals = status_intervals(records, ctx.lookups.get(WORKCENTER_STATUSES, ()))
    codes = {i.workcenter_id: i.workcenter_code for i in intervals if i.workcenter_code}
    for workcenter_id, spent in time_in(intervals, *period).items():
        totals = OeeTotals(planned_hours=spent.planned / MS_PER_HOUR, run_hours=spent.run / MS_PER_HOUR)
        yield Workcenter(workcenter_id, codes.get(workcenter_id)), totals


def _window_ms(ctx: Context) -> tuple[int, int]:
    if ctx.window is None:
        raise ValueError(f"{ctx.resource}: needs a date window, the runner gave none")
    return to_epoch_ms(ctx.window.begin), to_epoch_ms(ctx.window.end)


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


def _connect_parts(
    records: Sequence[Record], ctx: Context, period: tuple[int, int]
) -> Iterable[tuple[Workcenter, OeeTotals]]:
    """Status time and counted pieces of every workcenter inside the period (entries by transaction time)."""
    rates = _rates(ctx)
    yield from status_totals(records, ctx, period)
    for name, good in ((PRODUCTION_ENTRIES, True), (SCRAP_ENTRIES, False)):
        for entry in ctx.lookups.get(name, ()):
            try:
                at = plex_ms(entry, "transactionDate", required_field=True)
                if at is None or not period[0] <= at < period[1]:
                    continue
                wc = Workcenter(required_text(entry, "workcenterId"), text(entry, "workcenterCode"))
                yield wc, _count_entry(entry, rates, good)
            except Quarantine:
                continue  # the production domain quarantines and counts these


def _per_workcenter(parts: Iterable[tuple[Workcenter, OeeTotals]]) -> list[tuple[Workcenter, OeeTotals]]:
    per_workcenter: dict[str, tuple[Workcenter, OeeTotals]] = {}
    for wc, totals in parts:
        seen = per_workcenter.get(wc.plex_id)
        if seen is None:
            per_workcenter[wc.plex_id] = (wc, totals)
        else:
            per_workcenter[wc.plex_id] = (seen[0] if seen[0].code else wc, seen[1] + totals)
    return list(per_workcenter.values())


def finish_connect(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    day_ms = day_start_ms(ctx)
    for wc, totals in _per_workcenter(_connect_parts(records, ctx, _window_ms(ctx))):
        yield from daily_items(wc, totals, day_ms, ctx, method="computed_from_connect")


def shifts_in(ctx: Context) -> list[tuple[Shift, tuple[int, int]]]:
    """The shifts that start inside the window (a shift day), each as its epoch-ms period cut at the
    window's end."""
    begin, end = _window_ms(ctx)
    found = []
    for day in (
        {local_day(ctx.window.begin, ctx.plant.zone), local_day(ctx.window.end, ctx.plant.zone)}
        if ctx.window
        else ()
    ):
        for shift, period in shift_periods(day, ctx.plant):
            start = to_epoch_ms(period.begin)
            if begin <= start < end:
                found.append((shift, (start, min(to_epoch_ms(period.end), end))))
    return sorted(found, key=lambda item: item[1])


def finish_shifts(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Per shift of the plant's calendar: OEE and its factors, good and scrap pieces, from Connect (status
    intervals cut at the shift's bounds, entries by transaction time); a point at each shift's start."""
    for shift, period in shifts_in(ctx):
        for wc, totals in _per_workcenter(_connect_parts(records, ctx, period)):
            method = f"computed_from_connect, shift {shift.name}"
            yield from period_items(wc, totals, period[0], ctx, method, SHIFT_FIGURES + SHIFT_QUANTITIES)


def connect_oee_row(
    name: str, mode: Window, finish: Finish, description: str, fallback_for: str | None = None
) -> Resource:
    """A figure row computed from Connect: status entries fetched from a day before each window (statuses
    that began earlier), with the entries, statuses and rates it counts by."""
    return Resource(
        name=name,
        domain="performance",
        source=Get("/production/v1/production-history/workcenter-status-entries"),
        mode=mode,
        key=("workcenterId", "logDate", "workcenterStatus", "partOperationId"),
        transform=check_status_entry,
        finish=finish,
        lookup=(PRODUCTION_ENTRIES, SCRAP_ENTRIES, WORKCENTER_STATUSES, APPROVED_WORKCENTERS, WORKCENTERS),
        lookup_fields={**LINK_FIELDS, APPROVED_WORKCENTERS: RATE_FIELDS},
        fallback_for=fallback_for,
        description=description,
    )


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
        mode=Window("Start_Date", "End_Date", plant_days=True),
        key=("Workcenter_Key", "Part_Key", "Operation_Code"),
        transform=check_daily_row,
        finish=finish_daily_report,
        lookup=(WORKCENTER_KEY_MAP, WORKCENTERS),
        lookup_fields={**LINK_FIELDS, WORKCENTER_KEY_MAP: KEY_MAP_FIELDS},
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
        lookup_fields=LINK_FIELDS,
        optional=True,
        description="Workcenter_Performance_Simple_Get, all workcenters: current performance in percent",
    ),
    connect_oee_row(
        OEE_FROM_CONNECT,
        Window(begin_param="beginDate", end_param="endDate", plant_days=True, reach_back=DAY),
        finish_connect,
        "Daily OEE computed from Connect when data source 18765 is not granted",
        fallback_for=DAILY_PERFORMANCE,
    ),
    connect_oee_row(
        OEE_PER_SHIFT,
        Window(begin_param="beginDate", end_param="endDate", shift_days=True, reach_back=DAY),
        finish_shifts,
        "OEE and pieces per shift of the plant's calendar, from Connect (no call without shifts)",
    ),
)
