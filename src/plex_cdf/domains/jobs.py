"""Jobs: one CDF event per Plex job, keyed by job number (the predecessor's ids, so its data carries over).

Plex has no modified-since filter on jobs, so two rows feed the same events: the open jobs, listed whole
every interval, and the completed jobs, by completed-date windows. A status or quantity change rewrites
the event. Each job's operations (fetched for new or changed jobs) link it to its workcenters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from plex_cdf.domains.common import (
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
from plex_cdf.items import Event, Item

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

# Structure only: an operation's progress changes without its job changing, and fetching every open job's
# operations every interval would cost a call per open job (far beyond Plex's 200 a minute).
OPERATION_SUMMARY_FIELDS = ("jobOperationNumber", "workcenterCode")


def job_external_id(pcn: str, job_number: str) -> str:
    return external_id(pcn, "job", job_number)


def job(record: Record, ctx: Context) -> Iterable[Item]:
    """One event per job: type `job`, subtype its status, from created to completed date, linked to its
    part and to the workcenters of its operations. Priority stays Plex's word (Low / Medium / High)."""
    job_number = key_text(record, "jobNumber")
    plex_id = text(record, "id") or job_number
    check_numbers(record, ("quantity", "quantityCompleted"))
    start = plex_ms(record, "createdDate")
    end = plex_ms(record, "completedDate")
    for name in ("dueDate", "earliestStartDateTime"):
        plex_ms(record, name)
    if start is not None and end is not None and end < start:
        raise Quarantine(f"completedDate: {record['completedDate']!r} is before createdDate")
    operations = _operations(record)
    part_id = text(record, "partId")
    yield Event(
        external_id=job_external_id(ctx.pcn, job_number),
        data_set="scheduling",
        type="job",
        subtype=text(record, "jobStatus"),
        start_time=start,
        end_time=end,
        description=_description(record, job_number),
        metadata=merged(
            metadata_from(record, JOB_FIELDS),
            _operation_metadata(operations),
            lineage(ctx.resource, plex_id),
        ),
        asset_external_ids=unique(
            [
                optional_readable_id(ctx, "part", part_id, text(record, "partNumberRevision")),
                *(_workcenter_link(op, ctx) for op in operations),
            ]
        ),
    )


def _operations(record: Record) -> Sequence[Record]:
    value = record.get(OPERATIONS)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(op, dict) for op in value):
        raise Quarantine(f"{OPERATIONS} is not a list of job operations: {str(value)[:80]!r}")
    return value


def _workcenter_link(operation: Record, ctx: Context) -> str | None:
    workcenter_id = text(operation, "workcenterId")
    return optional_readable_id(ctx, "workcenter", workcenter_id, text(operation, "workcenterCode"))


def _operation_metadata(operations: Sequence[Record]) -> dict[str, str]:
    """The routing as run: `"{jobOperationNumber}:{workcenterCode}:{jobOperationStatus}"` per operation,
    `;`-separated in Plex's order, plus the distinct workcenter codes."""
    if not operations:
        return {}
    steps = [":".join(text(op, f) or "" for f in OPERATION_SUMMARY_FIELDS) for op in operations]
    codes = unique(text(op, "workcenterCode") for op in operations)
    return {"operations": ";".join(steps), "workcenterCodes": ",".join(codes)}


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
        description="jobs by completed-date windows; same event ids as jobs_open",
    ),
    _jobs_listed(
        "jobs_canceled",
        CANCELED_JOB_STATUSES,
        "canceled jobs (they never get a completed date); only changed ones are written",
    ),
)
