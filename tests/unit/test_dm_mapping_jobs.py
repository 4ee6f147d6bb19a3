"""Jobs and their operations as data-modeling nodes: planned times in CogniteSchedulable's properties, an
operation's job as a direct relation and its numbers as typed properties."""

from __future__ import annotations

import copy
from typing import Any

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.mapping import Spaces, event_node, event_view
from plex_cdf.domains import jobs
from plex_cdf.items import Event
from tests.unit.fixtures.plex import PCN, load, run

SPACES = Spaces("plex_cdf", f"plex_{PCN}")
SOURCE = SPACES.ref(model.SOURCE_SYSTEM_ID)


def job_events() -> list[Event]:
    record: dict[str, Any] = copy.deepcopy(load("jobs")[0])
    record[jobs.OPERATIONS] = load("job_operations")
    return [e for e in run(jobs.job, record, "jobs_open") if isinstance(e, Event)]


def props_of(event: Event) -> dict[str, Any]:
    node = event_node(event, SPACES, SOURCE)
    (source,) = node["sources"]
    assert source["source"]["externalId"] == event_view(event)
    return dict(source["properties"])


def test_a_job_node_carries_actual_and_scheduled_times() -> None:
    job = props_of(job_events()[0])
    assert job["startTime"] == "2025-03-01T07:00:00.000+00:00"
    assert "endTime" not in job, "an open job has no end yet"
    assert job["scheduledStartTime"] == "2025-03-01T07:00:00.000+00:00"
    assert job["scheduledEndTime"] == "2025-03-03T18:00:00.000+00:00", "the due date"
    assert "scheduledStartTime" not in job["extractedData"], "a property, not also a copy in extractedData"


def test_an_operation_node_points_to_its_job_and_workcenter_with_typed_numbers() -> None:
    events = job_events()
    op = props_of(events[1])
    assert event_view(events[1]) == "PlexJobOperation"
    assert op["job"] == SPACES.ref(events[0].external_id)
    assert [a["externalId"] for a in op["assets"]] == [f"PCN{PCN}_workcenter_NFF-01"]
    assert (op["sequence"], op["operationCode"], op["plexSubtype"]) == (10, "FREEZE", "Running")
    assert (op["setupTime"], op["runTime"], op["rate"], op["rateUnit"]) == (0.5, 2.0, 250.0, "pcs/hr")
    assert (op["quantity"], op["quantityCompleted"]) == (500.0, 120.0)
    assert op["scheduledStartTime"] == "2025-03-01T07:00:00.000+00:00"
    assert "jobExternalId" not in op["extractedData"]


def test_other_activities_keep_their_view() -> None:
    assert event_view(Event("PCN1_production_x", "production", "production")) == "PlexActivity"
    assert model.VIEW_OF_KIND["job_operation"] == "PlexJobOperation"
