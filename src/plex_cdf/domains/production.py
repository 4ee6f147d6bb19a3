"""Production history and live workcenter state.

Production, scrap, workcenter-status and labor entries become events, fetched in date windows with a
lookback; Plex gives them no id, so each is keyed by its documented key fields (joined in the order of
`Resource.key`, hashed into the external id, kept readable in metadata `plex_id`). Per workcenter, good and
scrap quantities become time series (one point per transaction time, the sum of the quantities booked at
that instant), and the control endpoint's current status a string step series sampled every run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import timedelta

from plex_cdf.domains.common import (
    LINK_FIELDS,
    READABLE,
    check_numbers,
    key_text,
    lineage,
    linked_id,
    merged,
    metadata_from,
    number,
    optional_readable_id,
    plex_ms,
    readable_id,
    readable_name,
    text,
    unique,
)
from plex_cdf.domains.resource import Context, Get, PerParent, Quarantine, Record, Resource, Window
from plex_cdf.domains.status import StatusClass, StatusInterval, classify, entry_start, status_intervals
from plex_cdf.ids import external_id, hashed_key, joined_key
from plex_cdf.items import Datapoints, Event, Item, TimeSeries
from plex_cdf.plex.dates import to_epoch_ms

PRODUCTION_KEY = ("workcenterId", "transactionDate", "serialNo", "partOperationId")
SCRAP_KEY = ("workcenterId", "transactionDate", "serialNo", "partOperationId", "scrapReason")
STATUS_KEY = ("workcenterId", "logDate")
WORKCENTER_STATUSES = "workcenter_statuses"  # the status list (master data): which statuses are down
LINKED_LISTS = (READABLE["workcenter"].list, READABLE["part"].list)
"""The master-data lists whose codes the entries' links are keyed by."""
LABOR_KEY = ("employeeId", "workcenterId", "beginTime", "jobId", "partOperationId")

PRODUCTION_FIELDS = (
    "transactionDate",
    "workcenterId",
    "workcenterCode",
    "serialNo",
    "lotNo",
    "employeeId",
    "quantity",
    "jobId",
    "jobCode",
    "jobNo",
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationNumber",
    "operationCode",
    "masterUnitNo",
    "masterUnitId",
    "lotId",
    "heatCode",
    "heatNo",
    "heatId",
    "unit",
    "trackingNo",
    "shelfDateTime",
    "manufacturedDateTime",
    "bestByDateTime",
    "useByDateTime",
    "sellByDateTime",
)
PRODUCTION_DATES = (
    "shelfDateTime",
    "manufacturedDateTime",
    "bestByDateTime",
    "useByDateTime",
    "sellByDateTime",
)
SCRAP_FIELDS = (
    "transactionDate",
    "scrapReason",
    "transactionType",
    "quantity",
    "workcenterId",
    "workcenterCode",
    "jobId",
    "jobCode",
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationNumber",
    "operationCode",
    "serialNo",
)
STATUS_FIELDS = (
    "workcenterId",
    "workcenterCode",
    "logDate",
    "workcenterStatus",
    "jobId",
    "jobCode",
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationNumber",
    "operationCode",
    "duration",
)
LABOR_FIELDS = (
    "employeeId",
    "accountId",
    "costActivity",
    "workcenterId",
    "workcenterCode",
    "jobId",
    "jobCode",
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationNumber",
    "operationCode",
    "beginTime",
    "endTime",
    "duration",
)
DROPPED_PERSONAL = ("employeeName", "employee")
"""Employee names stay in Plex (personal data); the employee id is kept."""


def history_window() -> Window:
    """Plex's history endpoints take `beginDate`/`endDate`; day-long windows, two hours of lookback for
    entries booked late."""
    return Window(
        begin_param="beginDate", end_param="endDate", max_span=timedelta(days=1), lookback=timedelta(hours=2)
    )


def good_quantity_external_id(pcn: str, workcenter_id: str) -> str:
    """The workcenter's good quantity series in pieces."""
    return external_id(pcn, "wc_good_quantity", workcenter_id)


def status_external_id(pcn: str, workcenter_id: str) -> str:
    return external_id(pcn, "wc_status", workcenter_id)


def status_history_external_id(pcn: str, workcenter_id: str) -> str:
    return external_id(pcn, "wc_status_history", workcenter_id)


# --- history entries as events ------------------------------------------------------------------------


def _entry_event(
    record: Record,
    ctx: Context,
    *,
    kind: str,
    key: tuple[str, ...],
    time_field: str,
    fields: tuple[str, ...],
    subtype_field: str | None,
    end_field: str | None = None,
) -> Event:
    """The event shared by every history entry: keyed by its key fields, at its time, linked to its
    workcenter and part."""
    workcenter_id = key_text(record, "workcenterId")
    start = plex_ms(record, time_field, required_field=True)
    end = plex_ms(record, end_field) if end_field else start
    if start is not None and end is not None and end < start:
        raise Quarantine(f"{end_field}: {record.get(end_field or '')!r} is before {time_field}")
    for name in key:
        text(record, name)  # a list or object in a key field would make a meaningless key
    joined = joined_key(record, key)
    part_id = text(record, "partId")
    return Event(
        external_id=external_id(ctx.pcn, kind, hashed_key(joined)),
        data_set="production",
        type=kind,
        subtype=text(record, subtype_field) if subtype_field else None,
        start_time=start,
        end_time=end,
        description=readable_name(text(record, "workcenterCode"), text(record, "partNumberRevision")),
        metadata=merged(metadata_from(record, fields), lineage(ctx.resource, joined)),
        asset_external_ids=unique(
            [
                readable_id(ctx, "workcenter", workcenter_id, text(record, "workcenterCode")),
                optional_readable_id(ctx, "part", part_id, text(record, "partNumberRevision")),
            ]
        ),
    )


def production_entry(record: Record, ctx: Context) -> Iterable[Item]:
    check_numbers(record, ("quantity",))
    for name in PRODUCTION_DATES:
        plex_ms(record, name)
    yield _entry_event(
        record,
        ctx,
        kind="production",
        key=PRODUCTION_KEY,
        time_field="transactionDate",
        fields=PRODUCTION_FIELDS,
        subtype_field="operationCode",
    )


def scrap_entry(record: Record, ctx: Context) -> Iterable[Item]:
    check_numbers(record, ("quantity",))
    yield _entry_event(
        record,
        ctx,
        kind="scrap",
        key=SCRAP_KEY,
        time_field="transactionDate",
        fields=SCRAP_FIELDS,
        subtype_field="scrapReason",
    )


def workcenter_status_entry(record: Record, ctx: Context) -> Iterable[Item]:
    """A status entry as the interval [logDate, logDate + duration seconds) (docs/mapping.md), its status
    and class as fields; a status Plex counts as down (`downtimeStatus`) is also a `downtime` event with the
    status as its reason. An entry without a positive duration gets its end from the next entry in
    `status_history`, or stays open."""
    check_numbers(record, ("duration",))
    _, begin, length = entry_start(record)
    try:
        cls: StatusClass | None = classify(record, ctx.lookups.get(WORKCENTER_STATUSES, ()))[1]
    except Quarantine:
        cls = None  # a status the list does not (yet) know: the entry is kept, unclassified
    yield from status_events(record, ctx, cls, None if length is None else begin + int(length))


def status_events(record: Record, ctx: Context, cls: StatusClass | None, end: int | None) -> Iterable[Event]:
    event = _entry_event(
        record,
        ctx,
        kind="workcenter_status",
        key=STATUS_KEY,
        time_field="logDate",
        fields=STATUS_FIELDS,
        subtype_field="workcenterStatus",
    )
    status = text(record, "workcenterStatus") or ""
    fields = {"status": status, "durationUnit": "s", **({"statusClass": cls.kind} if cls else {})}
    event = replace(event, end_time=end, metadata=merged(event.metadata, fields))
    yield event
    if cls is not None and cls.down:
        yield replace(
            event,
            external_id=downtime_external_id(ctx.pcn, event.external_id),
            type="downtime",
            metadata=merged(event.metadata, {"reason": status}),
        )


def downtime_external_id(pcn: str, status_event_id: str) -> str:
    """The downtime event of a status entry: the entry's hashed key under kind `downtime`."""
    return external_id(pcn, "downtime", status_event_id.rsplit("_", 1)[-1])


def status_series(
    ts_id: str, name: str, workcenter_id: str, description: str, ctx: Context, code: str | None = None
) -> TimeSeries:
    """A workcenter's status as a string step series (text, no unit)."""
    return TimeSeries(
        external_id=ts_id,
        name=name,
        data_set="production",
        asset_external_id=linked_id(ctx, "workcenter", workcenter_id, code),
        is_step=True,
        is_string=True,
        description=description,
        metadata=merged({"workcenterId": workcenter_id}, lineage(ctx.resource, workcenter_id)),
    )


def status_history(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Per workcenter, the status over time as a string step series (a point at each entry's start); and
    the end, from the next entry, of entries Plex sent without a duration."""
    intervals = status_intervals(records, ctx.lookups.get(WORKCENTER_STATUSES, ()))
    per_workcenter: dict[str, list[StatusInterval]] = defaultdict(list)
    for interval in intervals:
        per_workcenter[interval.workcenter_id].append(interval)
        if interval.end_from_next and interval.end is not None:
            # A record its own transform refuses (and counts) adds no event; the others keep theirs.
            with suppress(Quarantine):
                yield from status_events(interval.record, ctx, interval.cls, interval.end)
    for workcenter_id, spans in per_workcenter.items():
        ts_id = status_history_external_id(ctx.pcn, workcenter_id)
        code = next((s.workcenter_code for s in spans if s.workcenter_code), None)
        yield status_series(
            ts_id,
            f"{code or workcenter_id} status history",
            workcenter_id,
            "Workcenter status from the status log: the status that began at each point",
            ctx,
            code,
        )
        yield Datapoints(external_id=ts_id, points=tuple(sorted({(s.begin, s.status) for s in spans})))


def labor_entry(record: Record, ctx: Context) -> Iterable[Item]:
    check_numbers(record, ("duration",))
    yield _entry_event(
        record,
        ctx,
        kind="labor",
        key=LABOR_KEY,
        time_field="beginTime",
        end_field="endTime",
        fields=LABOR_FIELDS,
        subtype_field="costActivity",
    )


# --- per-workcenter quantity series -------------------------------------------------------------------


COUNT_UNITS = frozenset({"ea", "each", "pc", "pcs", "piece", "pieces"})
"""Units of measure that mean pieces: entries in them add up in the workcenter's series (unit `pcs`)."""
PIECES = "pcs"


def good_quantities(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Good quantity booked per transaction time (the sum of the entries at that instant, not a running
    counter): per workcenter for entries in pieces, per workcenter and part for any other unit of measure or
    none named, so no series adds up different units."""
    return _quantity_series(records, ctx, "good quantity", "wc_good_quantity", "wc_part_good_quantity")


def scrap_quantities(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Scrap quantity, as good_quantities. Plex's scrap entries name no unit, so scrap is per workcenter
    and part (one part, one unit of measure)."""
    return _quantity_series(records, ctx, "scrap quantity", "wc_scrap_quantity", "wc_part_scrap_quantity")


@dataclass(frozen=True)
class QuantitySeries:
    """Where one entry's quantity goes: its series key, the series' unit, and its workcenter and part."""

    key: str
    unit: str | None
    workcenter_id: str
    part_id: str | None


def quantity_series_of(
    record: Record, workcenter_id: str, per_workcenter: str, per_part: str
) -> QuantitySeries:
    unit = _unit(record)
    if unit is not None and unit.lower() in COUNT_UNITS:
        return QuantitySeries(f"{per_workcenter}:{workcenter_id}", PIECES, workcenter_id, None)
    part_id = _display(record, "partId") or "no-part"
    return QuantitySeries(f"{per_part}:{workcenter_id}_{part_id}", unit, workcenter_id, part_id)


def _unit(record: Record) -> str | None:
    value = record.get("unit")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _display(record: Record, name: str) -> str | None:
    """A display or key field that must not sink a series when malformed."""
    value = record.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _quantity_series(
    records: Sequence[Record], ctx: Context, what: str, per_workcenter: str, per_part: str
) -> Iterable[Item]:
    sums: dict[QuantitySeries, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    labels: dict[QuantitySeries, str] = {}
    codes: dict[QuantitySeries, str | None] = {}
    for record in records:
        booked = _booked(record)
        if booked is None:
            continue  # the record's own transform quarantines it
        workcenter_id, at, quantity = booked
        target = quantity_series_of(record, workcenter_id, per_workcenter, per_part)
        sums[target][at] += quantity
        codes[target] = _display(record, "workcenterCode")
        code = codes[target] or workcenter_id
        part = _display(record, "partNumberRevision") or target.part_id
        labels[target] = code if target.part_id is None else f"{code} {part}"
    for target, by_time in sums.items():
        kind, key = target.key.split(":", 1)
        ts_id = external_id(ctx.pcn, kind, key)
        unit_text = target.unit or "the part's unit of measure (Plex names none)"
        yield TimeSeries(
            external_id=ts_id,
            name=f"{labels[target]} {what}",
            data_set="production",
            asset_external_id=linked_id(ctx, "workcenter", target.workcenter_id, codes.get(target)),
            unit=target.unit,
            description=f"{what.capitalize()} booked per transaction time (not a counter), in {unit_text}",
            metadata=merged(
                {"workcenterId": target.workcenter_id, "measure": "quantity per entry"},
                {"partId": target.part_id} if target.part_id else {},
                lineage(ctx.resource, key),
            ),
        )
        yield Datapoints(external_id=ts_id, points=tuple(sorted(by_time.items())))


def _booked(record: Record) -> tuple[str, int, float] | None:
    """(workcenter id, epoch ms, quantity) of a well-formed entry, None for one the transform rejects."""
    try:
        workcenter_id = key_text(record, "workcenterId")
        at = plex_ms(record, "transactionDate", required_field=True)
        quantity = number(record, "quantity")
    except Quarantine:
        return None
    if at is None or quantity is None:
        return None
    return workcenter_id, at, quantity


# --- current workcenter status ------------------------------------------------------------------------


def workcenter_current_status(record: Record, ctx: Context) -> Iterable[Item]:
    """The control endpoint's status description, sampled now, into a string step series; written only
    when it differs from the last value written."""
    parent = ctx.parent or {}
    workcenter_id = key_text(record, "id") if text(record, "id") else key_text(parent, "workcenterId")
    label = readable_name(
        text(record, "code") or text(parent, "workcenterCode"), text(record, "name") or text(parent, "name")
    )
    ts_id = status_external_id(ctx.pcn, workcenter_id)
    yield status_series(
        ts_id,
        f"{label or workcenter_id} status",
        workcenter_id,
        "Workcenter status description (Plex control status), sampled each run",
        ctx,
        text(record, "code") or text(parent, "workcenterCode"),
    )
    status = text(record, "statusDescription")
    if status:
        yield Datapoints(external_id=ts_id, points=((to_epoch_ms(ctx.now), status),), latest_only=True)


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name="production_entries",
        domain="production",
        source=Get("/production/v1/production-history/production-entries"),
        mode=history_window(),
        key=PRODUCTION_KEY,
        transform=production_entry,
        finish=good_quantities,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
    ),
    Resource(
        name="scrap_entries",
        domain="production",
        source=Get("/production/v1/production-history/scrap-entries"),
        mode=history_window(),
        key=SCRAP_KEY,
        transform=scrap_entry,
        finish=scrap_quantities,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
    ),
    Resource(
        name="workcenter_status_entries",
        domain="production",
        source=Get("/production/v1/production-history/workcenter-status-entries"),
        mode=history_window(),
        key=STATUS_KEY,
        transform=workcenter_status_entry,
        finish=status_history,
        lookup=(WORKCENTER_STATUSES, *LINKED_LISTS),
        lookup_fields=LINK_FIELDS,
    ),
    Resource(
        name="labor_entries",
        domain="production",
        source=Get("/production/v1/production-history/labor-entries"),
        mode=history_window(),
        key=LABOR_KEY,
        transform=labor_entry,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
    ),
    Resource(
        name="workcenter_control_status",
        domain="production",
        source=Get("/production/v1/control/workcenters/{parent}"),
        mode=PerParent(
            parent="workcenters",
            parent_key="workcenterId",
            only_changed=False,
            full_refresh=None,
            object=True,
        ),
        key=("id",),
        transform=workcenter_current_status,
        lookup=(READABLE["workcenter"].list,),
        lookup_fields=LINK_FIELDS,
        description="each workcenter's current status, polled at the cadence the budget's polling share"
        " allows (every workcenter once per workcenters / (share x calls a minute) minutes)",
    ),
)
