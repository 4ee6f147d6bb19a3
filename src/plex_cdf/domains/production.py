"""Production history and live workcenter state.

Production, scrap, workcenter-status and labor entries become events, fetched in date windows with a
lookback; Plex gives them no id, so each is keyed by its documented key fields (joined in the order of
`Resource.key`, hashed into the external id, kept readable in metadata `plex_id`). Per workcenter, good and
scrap quantities become time series (one point per transaction time, the sum of the quantities booked at
that instant), and the control endpoint's current status a string step series sampled every run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

from plex_cdf.domains.common import (
    check_numbers,
    key_text,
    lineage,
    merged,
    metadata_from,
    number,
    plex_ms,
    readable_name,
    text,
    unique,
)
from plex_cdf.domains.resource import Context, Get, PerParent, Quarantine, Record, Resource, Window
from plex_cdf.ids import external_id, hashed_key, joined_key
from plex_cdf.items import Datapoints, Event, Item, TimeSeries
from plex_cdf.plex.dates import to_epoch_ms

PRODUCTION_KEY = ("workcenterId", "transactionDate", "serialNo", "partOperationId")
SCRAP_KEY = ("workcenterId", "transactionDate", "serialNo", "partOperationId", "scrapReason")
STATUS_KEY = ("workcenterId", "logDate")
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
    return external_id(pcn, "wc_good_quantity", workcenter_id)


def scrap_quantity_external_id(pcn: str, workcenter_id: str) -> str:
    return external_id(pcn, "wc_scrap_quantity", workcenter_id)


def status_external_id(pcn: str, workcenter_id: str) -> str:
    return external_id(pcn, "wc_status", workcenter_id)


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
                external_id(ctx.pcn, "workcenter", workcenter_id),
                external_id(ctx.pcn, "part", part_id) if part_id else None,
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
    """A status change at `logDate`; `duration` is kept as Plex sends it (its unit is undocumented), so
    the event has no end time."""
    check_numbers(record, ("duration",))
    yield _entry_event(
        record,
        ctx,
        kind="workcenter_status",
        key=STATUS_KEY,
        time_field="logDate",
        fields=STATUS_FIELDS,
        subtype_field="workcenterStatus",
    )


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


def good_quantities(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Good quantity per workcenter: one point per transaction time, the sum booked at that instant (a
    rerun over an overlapping window writes the same sums again)."""
    return _quantity_series(records, ctx, "good quantity", good_quantity_external_id)


def scrap_quantities(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """Scrap quantity per workcenter, as good_quantities."""
    return _quantity_series(records, ctx, "scrap quantity", scrap_quantity_external_id)


def _quantity_series(
    records: Sequence[Record], ctx: Context, what: str, series_id: Callable[[str, str], str]
) -> Iterable[Item]:
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    codes: dict[str, str] = {}
    for record in records:
        booked = _booked(record)
        if booked is None:
            continue  # the record's own transform quarantines it
        workcenter_id, at, quantity = booked
        sums[workcenter_id][at] += quantity
        code = record.get("workcenterCode")  # a display name only: a bad one must not sink the series
        codes[workcenter_id] = code if isinstance(code, str) and code.strip() else workcenter_id
    for workcenter_id, by_time in sums.items():
        ts_id = series_id(ctx.pcn, workcenter_id)
        yield TimeSeries(
            external_id=ts_id,
            name=f"{codes[workcenter_id]} {what}",
            data_set="production",
            asset_external_id=external_id(ctx.pcn, "workcenter", workcenter_id),
            description=f"{what.capitalize()} booked per transaction time, in the part's unit",
            metadata=merged({"workcenterId": workcenter_id}, lineage(ctx.resource, workcenter_id)),
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
    yield TimeSeries(
        external_id=ts_id,
        name=f"{label or workcenter_id} status",
        data_set="production",
        asset_external_id=external_id(ctx.pcn, "workcenter", workcenter_id),
        is_step=True,
        is_string=True,
        description="Workcenter status description (Plex control status), sampled each run",
        metadata=merged({"workcenterId": workcenter_id}, lineage(ctx.resource, workcenter_id)),
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
    ),
    Resource(
        name="scrap_entries",
        domain="production",
        source=Get("/production/v1/production-history/scrap-entries"),
        mode=history_window(),
        key=SCRAP_KEY,
        transform=scrap_entry,
        finish=scrap_quantities,
    ),
    Resource(
        name="workcenter_status_entries",
        domain="production",
        source=Get("/production/v1/production-history/workcenter-status-entries"),
        mode=history_window(),
        key=STATUS_KEY,
        transform=workcenter_status_entry,
    ),
    Resource(
        name="labor_entries",
        domain="production",
        source=Get("/production/v1/production-history/labor-entries"),
        mode=history_window(),
        key=LABOR_KEY,
        transform=labor_entry,
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
        description="each workcenter's current status, polled every run",
    ),
)
