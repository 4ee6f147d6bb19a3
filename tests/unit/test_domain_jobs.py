"""Jobs: one event per job number, fed by the open-jobs list and by completed-date windows."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plex_cdf.domains import jobs
from plex_cdf.domains.resource import Quarantine, Snapshot, Window
from plex_cdf.items import Event
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


def event_of(record: dict[str, Any], resource: str = "jobs_open") -> Event:
    items = run(jobs.job, record, resource)
    assert len(items) == 1 and isinstance(items[0], Event), f"a job should give one event, got {items}"
    return items[0]


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
    assert event.metadata["dueDate"] == "2025-03-03T18:00:00Z"
    assert event.start_time == 1740808800000, "start is the job's created date"
    assert event.end_time is None, "an open job has no end yet"


def test_completed_job_ends_at_its_completed_date_and_keeps_fractional_quantities() -> None:
    event = event_of(copy.deepcopy(load("jobs")[1]), "jobs_completed")
    assert event.end_time == 1740411000000
    assert event.start_time == 1740031200123, "seven fraction digits are cut to milliseconds"
    assert event.metadata["quantity"] == "200.5"
    assert event.metadata["priority"] == "Low"


def test_job_links_its_part_and_the_workcenters_of_its_operations_once_each() -> None:
    event = event_of(open_job())
    assert event.asset_external_ids == (PART, WC1, WC2)
    assert event.metadata["operations"] == "10:NFF-01;20:PKG-02;30:NFF-01"
    assert event.metadata["workcenterCodes"] == "NFF-01,PKG-02"


def test_job_without_operations_links_only_its_part() -> None:
    event = event_of(open_job(with_operations=False))
    assert event.asset_external_ids == (PART,)
    assert "operations" not in event.metadata


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
        assert len(items) == 1
