"""Jobs as planners read them: one event per job number spanning its planned start to its completion, and
one event per job operation; fed by the open and canceled lists and by completed-date windows."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plex_cdf.domains import jobs
from plex_cdf.domains.resource import Quarantine, Snapshot, Window
from plex_cdf.items import JOB_KEY, SCHEDULED_END_KEY, SCHEDULED_START_KEY, Event
from tests.unit.fixtures.plex import PCN, lineage_problems, load, paging_params, run, undocumented

ROWS = {r.name: r for r in jobs.RESOURCES}
WC1 = f"PCN{PCN}_workcenter_NFF-01"
WC2 = f"PCN{PCN}_workcenter_PKG-02"
PART = f"PCN{PCN}_part_FG-1000-B"


def open_job(with_operations: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(load("jobs")[0])
    if with_operations:
        record[jobs.OPERATIONS] = load("job_operations")
    return record


def events_of(record: dict[str, Any], resource: str = "jobs_open") -> list[Event]:
    items = run(jobs.job, record, resource)
    assert all(isinstance(i, Event) for i in items), f"a job gives events only, got {items}"
    return [i for i in items if isinstance(i, Event)]


def event_of(record: dict[str, Any], resource: str = "jobs_open") -> Event:
    """The job's own event (the first; its operations' events follow)."""
    events = events_of(record, resource)
    assert events[0].type == "job" and all(e.type == "job_operation" for e in events[1:]), events
    return events[0]


def operations_of(record: dict[str, Any]) -> list[Event]:
    return events_of(record)[1:]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_job_event_is_keyed_by_job_number_so_the_predecessors_events_carry_over() -> None:
    event = event_of(open_job())
    assert event.external_id == f"PCN{PCN}_job_J-10001"
    assert event.type == "job" and event.data_set == "scheduling"
    assert event.metadata["sourceId"] == "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b01", "lineage keeps Plex's own id"


def test_both_rows_give_the_same_event_id_for_a_job() -> None:
    completed = copy.deepcopy(load("jobs")[1])
    completed["jobNumber"] = "J-10001"
    assert event_of(open_job(), "jobs_open").external_id == event_of(completed, "jobs_completed").external_id


def test_job_keeps_status_priority_words_quantities_and_dates() -> None:
    event = event_of(open_job())
    assert event.subtype == "In Process"
    assert event.metadata["priority"] == "High", "priority stays Plex's word, never a number"
    assert event.metadata["quantity"] == "500"
    assert event.metadata["quantityCompleted"] == "120"
    assert event.metadata["dueDate"] == "2025-03-03T18:00:00Z", "Plex's fields stay as sent"
    assert event.start_time == ms("2025-03-01T07:00:00+00:00"), "start is earliestStartDateTime, not created"
    assert event.end_time is None, "an open job has no end yet (CDF's ongoing event)"


def test_scheduled_start_and_due_date_are_fields_in_one_utc_form() -> None:
    record = open_job()
    record["earliestStartDateTime"] = "2025-03-01T02:00:00-05:00"
    event = event_of(record)
    assert event.metadata[SCHEDULED_START_KEY] == "2025-03-01T07:00:00.000+00:00"
    assert event.metadata[SCHEDULED_END_KEY] == "2025-03-03T18:00:00.000+00:00", "the due date"
    assert event.metadata["earliestStartDateTime"] == "2025-03-01T02:00:00-05:00", "and Plex's text as sent"


def test_a_due_date_past_the_year_9999_in_utc_is_quarantined_not_a_crash() -> None:
    """Found by the slow property test: a due date of 9999-12-31 with a negative offset is in the year
    10000 in UTC, which no timestamp holds; the job is quarantined (bad data), not a failed transform."""
    record = open_job()
    record["dueDate"] = "9999-12-31T23:00:00-05:00"
    with pytest.raises(Quarantine, match="outside the years 1-9999"):
        run(jobs.job, record, "jobs_open")


def test_without_earliest_start_the_first_scheduled_operation_starts_the_job() -> None:
    record = open_job()
    record["earliestStartDateTime"] = None
    event = event_of(record)
    assert event.start_time == ms("2025-03-01T07:00:00+00:00"), "op 10's scheduled start, the earliest"
    assert event.metadata[SCHEDULED_START_KEY] == "2025-03-01T07:00:00.000+00:00"


def test_the_job_header_wins_over_its_operations_schedule() -> None:
    record = open_job()
    record["earliestStartDateTime"] = "2025-03-01T08:30:00Z"  # after op 10's scheduled 07:00
    assert event_of(record).start_time == ms("2025-03-01T08:30:00+00:00")


def test_an_unscheduled_job_starts_at_its_created_date_and_has_no_scheduled_start() -> None:
    record = open_job(with_operations=False)
    record["earliestStartDateTime"] = None
    event = event_of(record)
    assert event.start_time == ms("2025-03-01T06:00:00+00:00")
    assert SCHEDULED_START_KEY not in event.metadata, "a created date is not a schedule"


def test_completed_job_ends_at_its_completed_date_and_keeps_fractional_quantities() -> None:
    event = event_of(copy.deepcopy(load("jobs")[1]), "jobs_completed")
    assert event.end_time == 1740411000000
    assert event.start_time == 1740031200123, "no schedule: the created date; 7 fraction digits cut to ms"
    assert event.metadata["quantity"] == "200.5"
    assert event.metadata["priority"] == "Low"


def test_a_job_completed_before_its_planned_start_starts_at_its_completion() -> None:
    record = open_job(with_operations=False)
    record["jobStatus"], record["completedDate"] = "Complete", "2025-03-01T06:30:00Z"
    event = event_of(record, "jobs_completed")
    assert (event.start_time, event.end_time) == (ms("2025-03-01T06:30:00+00:00"),) * 2
    assert event.metadata[SCHEDULED_START_KEY] == "2025-03-01T07:00:00.000+00:00", "the plan is kept"


def test_a_closed_job_without_completed_date_ends_at_its_last_operation_or_its_start() -> None:
    record = open_job()
    record["jobStatus"] = "Complete"
    record[jobs.OPERATIONS][1]["completedDate"] = "2025-03-02T10:00:00Z"
    record[jobs.OPERATIONS][0]["completedDate"] = "2025-03-01T20:00:00Z"
    assert event_of(record).end_time == ms("2025-03-02T10:00:00+00:00"), "the latest operation completion"
    canceled = dict(open_job(), jobStatus="Canceled")
    event = event_of(canceled, "jobs_canceled")
    assert event.end_time == event.start_time == ms("2025-03-01T07:00:00+00:00"), (
        "no completion anywhere: zero length at its start, never an ongoing event"
    )


@pytest.mark.parametrize("status", [*jobs.OPEN_JOB_STATUSES, None])
def test_an_open_job_has_no_end(status: str | None) -> None:
    assert event_of(dict(open_job(), jobStatus=status)).end_time is None


def test_job_span_rules() -> None:
    assert jobs.job_span("In Process", 1, 5, None, []) == (5, None)
    assert jobs.job_span("Complete", 1, None, 9, []) == (1, 9)
    assert jobs.job_span("Complete", 1, 5, None, [7, 8]) == (5, 8)
    assert jobs.job_span("Canceled", 1, 5, None, []) == (5, 5)
    assert jobs.job_span("Complete", 1, 5, 3, []) == (3, 3)
    assert jobs.job_span("Complete", None, None, None, []) == (None, None)
    assert jobs.planned_start(None, [9, 4, 6]) == 4 and jobs.planned_start(2, [1]) == 2


def test_job_links_its_part_and_the_workcenters_of_its_operations_once_each() -> None:
    event = event_of(open_job())
    assert event.asset_external_ids == (PART, WC1, WC2)
    assert event.metadata["workcenterCodes"] == "NFF-01,PKG-02"
    assert "operations" not in event.metadata, "operations are their own events, not one joined string"


def test_each_operation_is_its_own_event_linked_to_its_job_and_workcenter() -> None:
    ops = operations_of(open_job())
    assert [o.external_id for o in ops] == [f"PCN{PCN}_job_operation_J-10001_{n}" for n in (10, 20, 30)]
    first = ops[0]
    assert (first.type, first.subtype, first.data_set) == ("job_operation", "Running", "scheduling")
    assert first.asset_external_ids == (WC1, PART)
    assert first.metadata[JOB_KEY] == jobs.job_external_id(PCN, "J-10001")
    assert first.metadata["jobNumber"] == "J-10001", "a planner filters a job's operations by its number"
    want = {"jobOperationNumber": "10", "operationCode": "FREEZE", "workcenterCode": "NFF-01"}
    assert want.items() <= first.metadata.items()
    assert {"setupTime": "0.5", "runTime": "2.0", "rate": "250", "unitOfMeasure": "pcs/hr"}.items() <= (
        first.metadata.items()
    )
    assert first.description == "Job J-10001 op 10 - FREEZE - at NFF-01"
    assert first.metadata["sourceId"] == "0a000000-0000-4000-8000-000000000010"
    assert "partNumber" not in first.metadata, "the job event carries the part's number"


def test_an_operation_spans_its_scheduled_start_to_its_completion() -> None:
    record = open_job()
    record[jobs.OPERATIONS][0]["completedDate"] = "2025-03-01T08:15:00Z"
    first, second = operations_of(record)[:2]
    assert (first.start_time, first.end_time) == (
        ms("2025-03-01T07:00:00+00:00"),
        ms("2025-03-01T08:15:00+00:00"),
    )
    assert (second.start_time, second.end_time) == (ms("2025-03-01T09:00:00+00:00"), None), "still open"
    assert second.metadata[SCHEDULED_START_KEY] == "2025-03-01T09:00:00.000+00:00"
    assert second.metadata[SCHEDULED_END_KEY] == "2025-03-03T18:00:00.000+00:00", "its due date"


def test_an_operation_without_number_is_keyed_by_its_plex_id() -> None:
    record = open_job()
    record[jobs.OPERATIONS][2]["jobOperationNumber"] = None
    third = operations_of(record)[2]
    assert third.external_id == f"PCN{PCN}_job_operation_J-10001_0a000000-0000-4000-8000-000000000030"


def test_job_without_operations_links_only_its_part() -> None:
    events = events_of(open_job(with_operations=False))
    assert len(events) == 1 and events[0].asset_external_ids == (PART,)
    assert "workcenterCodes" not in events[0].metadata


def test_a_status_or_quantity_change_changes_the_event_under_the_same_id() -> None:
    before = event_of(open_job())
    record = open_job()
    record["jobStatus"], record["quantityCompleted"] = "Completed", 500
    after = event_of(record)
    assert after.external_id == before.external_id
    assert (after.subtype, after.metadata["quantityCompleted"]) == ("Completed", "500")


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("jobNumber", None, "missing jobNumber"),
        ("jobNumber", {"n": 1}, "jobNumber is not text"),
        ("jobNumber", "J" * 201, "jobNumber is longer than 200"),
        ("quantity", "500 pcs", "quantity is not a number"),
        ("createdDate", "01/03/2025", "createdDate"),
        ("dueDate", 20250303, "dueDate is not a date-time"),
        ("completedDate", "2025-02-01T00:00:00Z", "completedDate.*before createdDate"),
        (jobs.OPERATIONS, "oops", "operations is not a list"),
        (jobs.OPERATIONS, [{"workcenterId": "x"}], "neither jobOperationNumber nor jobOperationId"),
        (jobs.OPERATIONS, [{"jobOperationNumber": 10, "runTime": "2 h"}], "operations 10: runTime is not"),
        (
            jobs.OPERATIONS,
            [{"jobOperationNumber": 10, "completedDate": "soon"}],
            "operations 10: completedDate",
        ),
    ],
)
def test_a_job_that_cannot_be_mapped_is_quarantined_naming_the_field(
    field: str, value: object, why: str
) -> None:
    record = open_job()
    record[field] = value
    with pytest.raises(Quarantine, match=why):
        run(jobs.job, record, "jobs_open")


def test_open_jobs_are_listed_whole_by_status_and_never_marked_inactive() -> None:
    row = ROWS["jobs_open"]
    assert isinstance(row.mode, Snapshot) and not row.mode.mark_inactive, (
        "a job leaving the list is completed"
    )
    assert row.params["jobStatuses"] == jobs.OPEN_JOB_STATUSES
    assert not {"Complete", "Completed", "Canceled"} & set(jobs.OPEN_JOB_STATUSES)


def test_canceled_jobs_are_listed_on_their_own_so_their_events_do_not_stay_open() -> None:
    row = ROWS["jobs_canceled"]
    assert isinstance(row.mode, Snapshot) and not row.mode.mark_inactive
    assert "Canceled" in row.params["jobStatuses"]
    canceled = dict(open_job(), jobStatus="Canceled")
    assert event_of(canceled, "jobs_canceled").subtype == "Canceled"


def test_completed_jobs_come_in_completed_date_windows() -> None:
    mode = ROWS["jobs_completed"].mode
    assert isinstance(mode, Window)
    assert (mode.begin_param, mode.end_param) == ("completedDateBegin", "completedDateEnd")


def test_both_rows_fetch_job_operations_for_the_workcenter_links() -> None:
    for row in jobs.RESOURCES:
        assert row.children is not None and row.children.attach_as == jobs.OPERATIONS, row.name
        assert (
            row.children.path == "/scheduling/v1/jobs/{parent}/operations" and row.children.parent_key == "id"
        )


def test_no_row_asks_plex_for_paging() -> None:
    assert paging_params(jobs.RESOURCES) == [], "Plex ignores paging parameters; sending them is a bug"


def test_fixtures_carry_exactly_the_documented_fields() -> None:
    assert all(sorted(r) == sorted(jobs.JOB_FIELDS) for r in load("jobs")), "jobs.json drifted"
    assert all(sorted(r) == sorted(jobs.JOB_OPERATION_FIELDS) for r in load("job_operations"))


def test_every_job_event_carries_its_lineage() -> None:
    for row in jobs.RESOURCES:
        items = [i for r in load("jobs") for i in run(row.transform, r, row.name)]
        assert lineage_problems(items, row.name) == [], f"{row.name}: events not traceable to Plex"


def test_mapping_doc_names_every_job_and_job_operation_field() -> None:
    missing = undocumented(ROWS["jobs_open"], jobs.JOB_FIELDS + jobs.JOB_OPERATION_FIELDS)
    assert missing == [], f"docs/mapping.md misses: {missing}"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=300),
    st.sampled_from(["2025-03-01T06:00:00Z", "2025-03-01", "not a date", "9999-99-99T99:99Z"]),
    st.lists(st.dictionaries(st.sampled_from(["workcenterId", "workcenterCode"]), st.text(max_size=5))),
)


@settings(max_examples=150, deadline=None)
@given(record=st.fixed_dictionaries({f: VALUES for f in (*jobs.JOB_FIELDS, jobs.OPERATIONS)}))
def test_any_job_is_mapped_or_quarantined_never_crashes(record: dict[str, Any]) -> None:
    try:
        items = run(jobs.job, record, "jobs_open")
    except Quarantine as err:
        assert str(err), "a quarantine must say why"
    else:
        assert [i.type for i in items if isinstance(i, Event)][:1] == ["job"], "the job's event comes first"
        assert len(items) == 1 + len(record[jobs.OPERATIONS] or []), "and one event per operation"
