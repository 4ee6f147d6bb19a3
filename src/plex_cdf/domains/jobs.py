"""Jobs as planners read them: one CDF event per Plex job, keyed by job number (the predecessor's ids),
spanning its planned start to its completion, and one event per job operation (its routing step as run:
sequence, workcenter, status, schedule, quantities).

Plex has no modified-since filter on jobs, so three rows feed the same events: the open and the canceled
jobs, listed whole every interval, and the completed jobs, by completed-date windows. A change of the job
record rewrites its events; its operations are fetched then (for new or changed jobs only), so an
operation's status is as Plex had it when its job last changed. The rules: docs/mapping.md, "Jobs".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from plex_cdf.domains.common import (
    LINK_FIELDS,
    READABLE,
    check_numbers,
    key_text,
    lineage,
    merged,
    metadata_from,
    optional_readable_id,
    plex_ms,
    readable_name,
    text,
    unique,
)
from plex_cdf.domains.resource import Children, Context, Get, Quarantine, Record, Resource, Snapshot, Window
from plex_cdf.ids import external_id
from plex_cdf.items import JOB_KEY, SCHEDULED_END_KEY, SCHEDULED_START_KEY, Event, Item
from plex_cdf.plex.dates import iso_utc

JOB_FIELDS = (
    "id",
    "externalJobCode",
    "jobNumber",
    "createdDate",
    "partId",
    "partNumber",
    "partRevision",
    "partNumberRevision",
    "dueDate",
    "completedDate",
    "quantity",
    "quantityCompleted",
    "jobStatus",
    "buildingId",
    "buildingCode",
    "jobType",
    "earliestStartDateTime",
    "priority",
)
JOB_OPERATION_FIELDS = (
    "jobId",
    "jobNumber",
    "partId",
    "partNumber",
    "partRevision",
    "partNumberRevision",
    "jobOperationId",
    "jobOperationNumber",
    "operationCode",
    "workcenterId",
    "workcenterCode",
    "quantity",
    "quantityCompleted",
    "dueDate",
    "scheduledStartDate",
    "completedDate",
    "jobOperationStatus",
    "setupTime",
    "rate",
    "unitOfMeasure",
    "runTime",
    "batchCriteria",
    "partOperationType",
    "batchOperation",
    "preProcessOperation",
)
OPEN_JOB_STATUSES = ("Open", "Scheduled", "Released", "In Process", "Hold")
"""Statuses of jobs not yet completed; a job leaving them shows up in the completed-date windows."""
CANCELED_JOB_STATUSES = ("Canceled", "Cancelled")
"""A canceled job leaves the open list without a completed date; listed on its own so its event does not
keep its last open status forever."""

LINKED_LISTS = (READABLE["part"].list, READABLE["workcenter"].list)
"""The master-data lists whose codes the job events' links are keyed by."""
OPERATIONS = "operations"
"""Where the Children enrichment puts a job's operations."""

# An operation's part is its job's: the job event carries the part's number and revision.
OPERATION_METADATA_FIELDS = tuple(
    f for f in JOB_OPERATION_FIELDS if f not in ("partNumber", "partRevision", "partNumberRevision")
)
OPERATION_NUMBERS = ("quantity", "quantityCompleted", "setupTime", "rate", "runTime")


def job_external_id(pcn: str, job_number: str) -> str:
    return external_id(pcn, "job", job_number)


def job_operation_external_id(pcn: str, job_number: str, operation: str) -> str:
    """`PCN{pcn}_job_operation_{jobNumber}_{jobOperationNumber}`: what the job's routing screen shows."""
    return external_id(pcn, "job_operation", f"{job_number}_{operation}")


def is_closed(status: str | None) -> bool:
    """A job whose status is none of the open ones (completed, closed, canceled, ...); no status: open."""
    return status is not None and status not in OPEN_JOB_STATUSES


def planned_start(earliest_start: int | None, operation_starts: Sequence[int]) -> int | None:
    """The job's planned start: Plex's `earliestStartDateTime` (the job header, re-read every interval,
    so always current); else its earliest operation's `scheduledStartDate`; else None."""
    if earliest_start is not None:
        return earliest_start
    return min(operation_starts, default=None)


def job_span(
    status: str | None,
    created: int | None,
    planned: int | None,
    completed: int | None,
    operations_completed: Sequence[int],
) -> tuple[int | None, int | None]:
    """The job event's (start, end), the rules of docs/mapping.md:

    - start: the planned start, else the created date (a job Plex has not scheduled);
    - end: `completedDate`; a closed job (completed, canceled, ...) without one ends at its last
      operation's `completedDate`, else at its start (a zero-length event, so it never reads as running);
      an open job has no end (CDF's ongoing event);
    - a job completed before its planned start starts at its completion (the plan is kept as a field).
    """
    start = planned if planned is not None else created
    end = completed
    if end is None and is_closed(status):
        end = max(operations_completed, default=start)
    if start is not None and end is not None and end < start:
        start = end
    return start, end


def _planned(ms: int | None) -> str | None:
    """A planned time as data modeling writes timestamps; Quarantine past the year 9999 (in UTC)."""
    try:
        return iso_utc(ms)
    except ValueError as err:
        raise Quarantine(f"a planned time: {err}") from None


def _schedule(start: int | None, end: int | None) -> dict[str, str]:
    return {
        key: value
        for key, value in ((SCHEDULED_START_KEY, _planned(start)), (SCHEDULED_END_KEY, _planned(end)))
        if value is not None
    }


def job(record: Record, ctx: Context) -> Iterable[Item]:
    """One event per job (type `job`, subtype its status) spanning its planned start to its completion,
    linked to its part and to the workcenters of its operations; and one event per operation (type
    `job_operation`, subtype the operation's status), linked to its workcenter and part, with the job's
    event id in metadata. Priority stays Plex's word (Low / Medium / High)."""
    job_number = key_text(record, "jobNumber")
    plex_id = text(record, "id") or job_number
    check_numbers(record, ("quantity", "quantityCompleted"))
    created = plex_ms(record, "createdDate")
    completed = plex_ms(record, "completedDate")
    due = plex_ms(record, "dueDate")
    earliest = plex_ms(record, "earliestStartDateTime")
    if created is not None and completed is not None and completed < created:
        raise Quarantine(f"completedDate: {record['completedDate']!r} is before createdDate")
    operations = _operations(record)
    job_id = job_external_id(ctx.pcn, job_number)
    part_id = text(record, "partId")
    part_link = optional_readable_id(ctx, "part", part_id, text(record, "partNumberRevision"))
    steps = [_operation_event(op, job_id, job_number, part_link, ctx) for op in operations]
    scheduled = planned_start(earliest, [s.scheduled for s in steps if s.scheduled is not None])
    status = text(record, "jobStatus")
    start, end = job_span(
        status, created, scheduled, completed, [s.done for s in steps if s.done is not None]
    )
    yield Event(
        external_id=job_id,
        data_set="scheduling",
        type="job",
        subtype=status,
        start_time=start,
        end_time=end,
        description=_description(record, job_number),
        metadata=merged(
            metadata_from(record, JOB_FIELDS),
            _workcenter_codes(operations),
            _schedule(scheduled, due),
            lineage(ctx.resource, plex_id),
        ),
        asset_external_ids=unique([part_link, *(_workcenter_link(op, ctx) for op in operations)]),
    )
    for step in steps:
        yield step.event


def _operations(record: Record) -> Sequence[Record]:
    value = record.get(OPERATIONS)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
        raise Quarantine(f"{OPERATIONS} is not a list of job operations: {str(value)[:80]!r}")
    return value


@dataclass(frozen=True)
class _Step:
    """An operation's event and the times its job's span is derived from."""

    event: Event
    scheduled: int | None
    done: int | None


def _operation_event(
    operation: Record, job_id: str, job_number: str, part_link: str | None, ctx: Context
) -> _Step:
    """One operation as its own event: from its scheduled start to its completion (open while it runs),
    subtype its status; a field Plex sent wrong quarantines the job, naming the operation."""
    number = text(operation, "jobOperationNumber") or text(operation, "jobOperationId")
    if number is None:
        raise Quarantine(f"{OPERATIONS}: an operation has neither jobOperationNumber nor jobOperationId")
    try:
        check_numbers(operation, OPERATION_NUMBERS)
        scheduled = plex_ms(operation, "scheduledStartDate")
        done = plex_ms(operation, "completedDate")
        due = plex_ms(operation, "dueDate")
    except Quarantine as err:
        raise Quarantine(f"{OPERATIONS} {number}: {err}") from None
    start = scheduled if scheduled is None or done is None else min(scheduled, done)
    code = text(operation, "operationCode")
    workcenter = text(operation, "workcenterCode")
    event = Event(
        external_id=job_operation_external_id(ctx.pcn, job_number, number),
        data_set="scheduling",
        type="job_operation",
        subtype=text(operation, "jobOperationStatus"),
        start_time=start,
        end_time=done,
        description=readable_name(
            f"Job {job_number} op {number}", code, f"at {workcenter}" if workcenter else None
        ),
        metadata=merged(
            metadata_from(operation, OPERATION_METADATA_FIELDS),
            _schedule(scheduled, due),
            {JOB_KEY: job_id},
            lineage(ctx.resource, text(operation, "jobOperationId") or f"{job_number}|{number}"),
        ),
        asset_external_ids=unique([_workcenter_link(operation, ctx), part_link]),
    )
    return _Step(event, scheduled, done)


def _workcenter_link(operation: Record, ctx: Context) -> str | None:
    workcenter_id = text(operation, "workcenterId")
    return optional_readable_id(ctx, "workcenter", workcenter_id, text(operation, "workcenterCode"))


def _workcenter_codes(operations: Sequence[Record]) -> dict[str, str]:
    """The distinct workcenter codes of the job's operations, in routing order (a readable summary; each
    operation is its own event)."""
    codes = unique(text(op, "workcenterCode") for op in operations)
    return {"workcenterCodes": ",".join(codes)} if codes else {}


def _description(record: Record, job_number: str) -> str:
    part = text(record, "partNumberRevision") or text(record, "partNumber")
    quantity = text(record, "quantity")
    return readable_name(f"Job {job_number}", part, f"qty {quantity}" if quantity else None) or job_number


JOB_OPERATIONS = Children(
    path="/scheduling/v1/jobs/{parent}/operations", parent_key="id", attach_as=OPERATIONS
)


def _jobs_listed(name: str, statuses: tuple[str, ...], description: str) -> Resource:
    """Jobs in the given statuses, listed whole every interval (no inactive marking: a job leaving the
    list has moved to another status, which another row picks up)."""
    return Resource(
        name=name,
        domain="jobs",
        source=Get("/scheduling/v1/jobs", {"jobStatuses": statuses}),
        mode=Snapshot(mark_inactive=False),
        key=("jobNumber",),
        transform=job,
        children=JOB_OPERATIONS,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
        description=description,
    )


RESOURCES: tuple[Resource, ...] = (
    _jobs_listed(
        "jobs_open",
        OPEN_JOB_STATUSES,
        "jobs not yet completed, listed whole every interval (leaving the list means completed)",
    ),
    Resource(
        name="jobs_completed",
        domain="jobs",
        source=Get("/scheduling/v1/jobs"),
        mode=Window(
            begin_param="completedDateBegin",
            end_param="completedDateEnd",
            max_span=timedelta(days=1),
            lookback=timedelta(hours=2),
        ),
        key=("jobNumber",),
        transform=job,
        children=JOB_OPERATIONS,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
        description="jobs by completed-date windows; same event ids as jobs_open",
    ),
    _jobs_listed(
        "jobs_canceled",
        CANCELED_JOB_STATUSES,
        "canceled jobs (they never get a completed date); only changed ones are written",
    ),
)
