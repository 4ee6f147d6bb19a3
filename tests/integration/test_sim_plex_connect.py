"""The simulated Plex answers Connect requests the way Plex does, quirks included (plex_api.md §2, §10)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from plex_cdf.sim.plex import SimPlex

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = {"X-Plex-Connect-Api-Key": "sim-key"}
DAY_WINDOW = {"beginDate": "2026-11-27T00:00Z", "endDate": "2026-11-28T00:00:00.0000000Z"}
ENTRIES = "/production/v1/production-history/production-entries"


@pytest.fixture(scope="module")
def sim() -> SimPlex:
    return SimPlex(seed=7, scale="small", now=START)


@pytest.fixture(scope="module")
def plex(sim: SimPlex) -> Iterator[httpx2.Client]:
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY, timeout=30) as client:
        yield client


def test_lists_are_bare_arrays_and_ignore_limit_offset_and_unknown_parameters(plex: httpx2.Client) -> None:
    full = plex.get("/mdm/v1/parts")
    paged = plex.get("/mdm/v1/parts", params={"limit": 1, "offset": 5, "page": 2, "typeName": "x"})
    assert full.status_code == paged.status_code == 200
    assert isinstance(full.json(), list) and len(full.json()) == 40, "parts list is not the whole bare array"
    assert paged.content == full.content, (
        "limit/offset/unknown parameters changed the answer; Plex ignores them"
    )


def test_known_parameters_filter_and_repeated_ones_mean_any_of(plex: httpx2.Client, sim: SimPlex) -> None:
    jobs = sim.truth.get("/scheduling/v1/jobs")
    assert isinstance(jobs, list)
    statuses = plex.get(
        "/scheduling/v1/jobs", params=[("jobStatuses", "Complete"), ("jobStatuses", "Open")]
    ).json()
    assert statuses and {job["jobStatus"] for job in statuses} <= {"Complete", "Open"}
    assert len(statuses) == sum(job["jobStatus"] in ("Complete", "Open") for job in jobs)
    assert plex.get("/scheduling/v1/jobs", params={"JOBSTATUSES": "Open"}).json() == [
        job for job in jobs if job["jobStatus"] == "Open"
    ], "parameter names are matched case-insensitively"


def test_bad_uuid_is_400_with_plex_error_body(plex: httpx2.Client) -> None:
    answer = plex.get("/scheduling/v1/jobs", params={"partId": "not-a-uuid"})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "ARGUMENT_INVALID"
    assert body["errors"][0]["metadata"][0] == {
        "field": "partId",
        "providedValues": ["not-a-uuid"],
        "validValues": [],
    }


@pytest.mark.parametrize(
    "bad",
    [
        "2026-11-27",
        "2026-11-27T00:00",
        "2026-11-27 00:00Z",
        "2026-11-27T00:00+00:00",
        "2026-11-27T00:00:00.12345678Z",
        "2026-13-01T00:00Z",
    ],
)
def test_dates_that_break_plex_format_rules_are_400(plex: httpx2.Client, bad: str) -> None:
    answer = plex.get(ENTRIES, params={**DAY_WINDOW, "beginDate": bad})
    assert answer.status_code == 400, f"{bad!r} was accepted; Plex rejects it"
    assert answer.json()["errors"][0]["metadata"][0]["field"] == "beginDate"


@pytest.mark.parametrize(
    "good", ["2026-11-27T00:00Z", "2026-11-27T00:00:00Z", "2026-11-27T00:00:00.1234567Z"]
)
def test_dates_with_zero_to_seven_fraction_digits_are_accepted(plex: httpx2.Client, good: str) -> None:
    assert plex.get(ENTRIES, params={**DAY_WINDOW, "beginDate": good}).status_code == 200


@pytest.mark.parametrize("missing", ["beginDate", "endDate"])
def test_history_requires_both_dates(plex: httpx2.Client, missing: str) -> None:
    params = {k: v for k, v in DAY_WINDOW.items() if k != missing}
    answer = plex.get(ENTRIES, params=params)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["metadata"][0]["field"] == missing


def test_boms_without_part_id_are_400(plex: httpx2.Client) -> None:
    answer = plex.get("/engineering/v1/boms")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["metadata"][0]["field"] == "partId"


@pytest.mark.parametrize(
    "path",
    [
        "/inventory/v1/containers",
        "/inventory/v1/locations",
        "/inventory/v1/wip",
        "/quality/v1/problem-reports",
        "/quality/v1/ncrs",
        "/manufacturing/v1/routings",
        "/sales/v1/sales-orders",
        "/mdm/v1",
        "/production/v1/workcenters/00000000-0000-4000-8000-000000000000/oee",
        "/production/v1/workcenters/00000000-0000-4000-8000-000000000000/status",
        "/mdm/v1/boms",
    ],
)
def test_paths_the_predecessor_guessed_are_404(plex: httpx2.Client, path: str) -> None:
    answer = plex.get(path)
    assert answer.status_code == 404, f"{path} answered {answer.status_code}; on Plex it is 404"
    assert answer.json()["code"] == "RESOURCE_NOT_FOUND"


@pytest.mark.parametrize(
    "headers", [{}, {"X-Plex-Connect-Api-Key": "wrong"}, {"X-Plex-Connect-Customer-Id": "1"}]
)
def test_missing_wrong_key_or_foreign_tenant_is_401(
    sim: SimPlex, plex: httpx2.Client, headers: dict[str, str]
) -> None:
    sent = {**KEY, **headers} if "X-Plex-Connect-Customer-Id" in headers else headers
    answer = httpx2.get(f"{plex.base_url}/mdm/v1/tenants", headers=sent)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "REQUEST_NOT_AUTHENTICATED",
        "message": "The request could not be authenticated.",
    }


def test_key_in_query_string_is_401(plex: httpx2.Client) -> None:
    assert (
        httpx2.get(
            f"{plex.base_url}/mdm/v1/tenants", params={"X-Plex-Connect-Api-Key": "sim-key"}
        ).status_code
        == 401
    )


def test_tenant_is_chosen_by_customer_or_tenant_header(sim: SimPlex, plex: httpx2.Client) -> None:
    by_pcn = plex.get("/mdm/v1/tenants", headers={"X-Plex-Connect-Customer-Id": sim.truth.pcn})
    by_id = plex.get("/mdm/v1/tenants", headers={"X-Plex-Connect-Tenant-Id": sim.truth.tenant_id.upper()})
    assert by_pcn.status_code == by_id.status_code == 200
    assert by_pcn.json() == [{"id": sim.truth.tenant_id, "code": "sim-plant"}]


def test_a_key_without_the_tenant_sees_its_own_tenants_but_gets_401_for_this_one(
    sim: SimPlex, plex: httpx2.Client
) -> None:
    sim.add_key(api_key="other-key", tenants=["00000000-0000-4000-8000-000000000001"])
    alone = {"X-Plex-Connect-Api-Key": "other-key"}
    assert plex.get("/mdm/v1/tenants", headers=alone).json() == [
        {"id": "00000000-0000-4000-8000-000000000001", "code": "other-0"}
    ], "the tenants canary must list the key's own tenants"
    assert plex.get("/mdm/v1/parts", headers=alone).json() == [], "another tenant holds no data here"
    for header in (
        {"X-Plex-Connect-Customer-Id": sim.truth.pcn},
        {"X-Plex-Connect-Tenant-Id": sim.truth.tenant_id},
    ):
        answer = plex.get("/mdm/v1/tenants", headers={**alone, **header})
        assert answer.status_code == 401, f"a key lacking the tenant got {answer.status_code} with {header}"


def test_a_key_with_two_tenants_lists_both_and_reaches_each(sim: SimPlex, plex: httpx2.Client) -> None:
    sim.add_key(api_key="two-key", tenants=[sim.truth.pcn, "999999"])
    key = {"X-Plex-Connect-Api-Key": "two-key"}
    tenants = plex.get("/mdm/v1/tenants", headers=key).json()
    assert [t["code"] for t in tenants] == ["sim-plant", "other-1"]
    assert len(plex.get("/mdm/v1/parts", headers=key).json()) == 40
    other = {**key, "X-Plex-Connect-Customer-Id": "999999"}
    assert plex.get("/mdm/v1/parts", headers=other).json() == []
    assert plex.get(f"/mdm/v1/parts/{tenants[0]['id']}", headers=other).status_code == 404


def test_an_unsubscribed_namespace_is_401_while_others_answer(sim: SimPlex, plex: httpx2.Client) -> None:
    sim.add_key(api_key="quality-less", tenants=[sim.truth.pcn])
    sim.subscribe(api_key="quality-less", namespace="quality", subscribed=False)
    headers = {"X-Plex-Connect-Api-Key": "quality-less"}
    assert plex.get("/quality/v1/part-specifications", headers=headers).status_code == 401
    assert plex.get("/quality/v1/no-such-thing", headers=headers).status_code == 401
    assert plex.get("/mdm/v1/parts", headers=headers).status_code == 200
    assert plex.get("/mdm/v1/tenants", headers=headers).status_code == 200


def test_plex_field_names_are_kept(plex: httpx2.Client) -> None:
    part = plex.get("/mdm/v1/parts").json()[0]
    container = plex.get("/inventory/v1/inventory-tracking/containers").json()[0]
    workcenter = plex.get("/production/v1/production-definitions/workcenters").json()[0]
    location = plex.get("/inventory/v1/inventory-definitions/locations").json()[0]
    entry = plex.get(ENTRIES, params=DAY_WINDOW).json()[0]
    assert "number" in part and "partNo" in container and "partNumber" in entry and "jobNo" in entry
    assert "workcenterId" in workcenter and "id" not in workcenter
    assert "locationId" in location and "serialNo" in container
    assert "id" not in entry, "history rows carry no id in Plex"


def test_timestamps_vary_in_fraction_digits(plex: httpx2.Client) -> None:
    entries = plex.get(ENTRIES, params=DAY_WINDOW).json()
    widths = {len(e["transactionDate"].rstrip("Z").partition(".")[2]) for e in entries}
    assert len(widths) >= 4 and max(widths) <= 7, f"fraction widths seen: {sorted(widths)}"


def test_history_window_is_half_open_and_time_ordered(plex: httpx2.Client, sim: SimPlex) -> None:
    entries = plex.get(ENTRIES, params=DAY_WINDOW).json()
    stamps = [datetime.fromisoformat(e["transactionDate"][:23].rstrip("Z") + "+00:00") for e in entries]
    assert stamps == sorted(stamps)
    assert all(datetime(2026, 11, 27, tzinfo=UTC) <= s < datetime(2026, 11, 28, tzinfo=UTC) for s in stamps)


def test_history_references_real_master_data(sim: SimPlex) -> None:
    workcenters = {
        w["workcenterId"] for w in sim.truth.get("/production/v1/production-definitions/workcenters")
    }
    jobs = {j["id"] for j in sim.truth.get("/scheduling/v1/jobs")}
    parts = {p["id"] for p in sim.truth.get("/mdm/v1/parts")}
    part_ops = {p["id"] for p in sim.truth.get("/mdm/v1/part-operations")}
    statuses = {
        s["description"] for s in sim.truth.get("/production/v1/production-definitions/workcenter-statuses")
    }
    entries = sim.truth.get(ENTRIES, DAY_WINDOW)
    status_entries = sim.truth.get("/production/v1/production-history/workcenter-status-entries", DAY_WINDOW)
    assert entries and status_entries
    for entry in entries:
        assert entry["workcenterId"] in workcenters and entry["jobId"] in jobs
        assert entry["partId"] in parts and entry["partOperationId"] in part_ops
    assert {s["workcenterStatus"] for s in status_entries} <= statuses
    locations = {loc["locationId"] for loc in sim.truth.get("/inventory/v1/inventory-definitions/locations")}
    assert {
        c["locationId"] for c in sim.truth.get("/inventory/v1/inventory-tracking/containers")
    } <= locations


def test_empty_windows_answer_empty_array_by_default_or_404_when_switched() -> None:
    sim = SimPlex(seed=7, scale="small", now=START, empty_as_404=True)
    future = {"beginDate": "2027-01-01T00:00Z", "endDate": "2027-01-02T00:00Z"}
    assert sim.truth.get(ENTRIES, future) == []
    with sim.serve() as server:
        answer = httpx2.get(f"{server.base_url}{ENTRIES}", params=future, headers=KEY)
    assert answer.status_code == 404 and answer.json()["code"] == "RESOURCE_NOT_FOUND"


def test_clock_advance_brings_new_history_and_job_changes(sim: SimPlex) -> None:
    later = SimPlex(seed=7, scale="small", now=START)
    window = {"beginDate": "2026-11-28T00:00Z", "endDate": "2026-11-29T00:00Z"}
    before = later.truth.get(ENTRIES, window)
    jobs_before = {j["id"]: j["jobStatus"] for j in later.truth.get("/scheduling/v1/jobs")}
    later.clock.advance(timedelta(hours=6))
    after = later.truth.get(ENTRIES, window)
    jobs_after = {j["id"]: j["jobStatus"] for j in later.truth.get("/scheduling/v1/jobs")}
    assert len(after) > len(before) and after[: len(before)] == before, (
        "advancing the clock must only add rows"
    )
    assert any(jobs_before.get(i) != s for i, s in jobs_after.items()), "no job changed status in 6 hours"


def test_same_seed_same_tenant() -> None:
    one, two = SimPlex(seed=3, now=START), SimPlex(seed=3, now=START)
    assert one.truth.get("/scheduling/v1/jobs") == two.truth.get("/scheduling/v1/jobs")
    assert one.truth.get(ENTRIES, DAY_WINDOW) == two.truth.get(ENTRIES, DAY_WINDOW)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/mdm/v1/parts", {}),
        ("/scheduling/v1/jobs", {"jobStatuses": ["In Process", "Scheduled"]}),
        ("/inventory/v1/inventory-tracking/containers", {}),
        (ENTRIES, DAY_WINDOW),
        ("/production/v1/production-history/scrap-entries", DAY_WINDOW),
        ("/production/v1/production-history/labor-entries", DAY_WINDOW),
        (
            "/inventory/v1/inventory-history/container-adjustments",
            {**DAY_WINDOW, "beginDate": "2026-11-01T00:00Z"},
        ),
    ],
)
def test_truth_is_exactly_what_the_route_answers(
    plex: httpx2.Client, sim: SimPlex, path: str, params: dict[str, str | list[str]]
) -> None:
    assert plex.get(path, params=params).json() == sim.truth.get(path, params)


def test_object_routes_answer_one_record_or_404(plex: httpx2.Client, sim: SimPlex) -> None:
    job = sim.truth.get("/scheduling/v1/jobs")[0]
    container = sim.truth.get("/inventory/v1/inventory-tracking/containers")[0]
    workcenter = sim.truth.get("/production/v1/production-definitions/workcenters")[0]
    assert plex.get(f"/scheduling/v1/jobs/{job['id']}").json() == job
    assert (
        plex.get(f"/inventory/v1/inventory-tracking/containers/{container['serialNo']}").json() == container
    )
    control = plex.get(f"/production/v1/control/workcenters/{workcenter['workcenterId']}").json()
    assert control["id"] == workcenter["workcenterId"] and control["statusDescription"]
    operations = plex.get(f"/scheduling/v1/jobs/{job['id']}/operations").json()
    assert operations and {op["jobId"] for op in operations} == {job["id"]}
    assert plex.get("/inventory/v1/inventory-tracking/containers/NOPE").status_code == 404
    assert plex.get("/scheduling/v1/jobs/00000000-0000-4000-8000-000000000000").status_code == 404
    assert plex.get("/scheduling/v1/jobs/not-a-uuid").status_code == 400


def test_checksheets_are_fetched_by_integer_number(plex: httpx2.Client, sim: SimPlex) -> None:
    rows = sim.truth.datasource(
        4142, {"Start_Date": "2026-11-27T00:00:00Z", "End_Date": "2026-11-28T00:00:00Z"}
    )
    number = rows[0]["Checksheet_No"]
    sheet = plex.get(f"/quality/v1/checksheets/{number}").json()
    assert sheet["checksheetNumber"] == number and sheet["inspectionDateTime"] == rows[0]["Checksheet_Date"]
    assert plex.get("/quality/v1/checksheets/12").status_code == 404


def test_boms_per_part_and_inventory_parts_filtered_by_update_time(sim: SimPlex) -> None:
    made = [p for p in sim.truth.get("/mdm/v1/parts") if p["type"] != "Raw Material"]
    bom = sim.truth.get("/engineering/v1/boms", {"partId": made[0]["id"]})
    assert bom and {line["partId"] for line in bom} == {made[0]["id"]}
    later = SimPlex(seed=7, scale="small", now=START)
    since = {"beginUpdatedDateTime": "2026-11-28T12:00:00Z"}
    assert later.truth.get("/inventory/v1/inventory-definitions/parts", since) == []
    later.clock.advance(timedelta(days=10))
    edited = later.truth.get("/inventory/v1/inventory-definitions/parts", since)
    assert edited, "no part was edited in 10 days of simulated time"
    part = later.truth.get(f"/mdm/v1/parts/{edited[0]['partId']}")
    assert isinstance(part, dict) and part["modifiedDate"] >= "2026-11-28T12"


def test_containers_move_between_real_locations_as_the_clock_runs() -> None:
    later = SimPlex(seed=7, scale="small", now=START)
    before = {
        c["serialNo"]: c["locationId"] for c in later.truth.get("/inventory/v1/inventory-tracking/containers")
    }
    later.clock.advance(timedelta(days=7))
    moves = later.truth.get(
        "/inventory/v1/inventory-history/container-location-moves",
        {"beginDate": "2026-11-28T12:00Z", "endDate": "2026-12-05T12:00Z"},
    )
    after = {
        c["serialNo"]: c["locationId"] for c in later.truth.get("/inventory/v1/inventory-tracking/containers")
    }
    assert moves, "no container moved in a week"
    last_move = {m["serialNo"]: m["locationId"] for m in moves}
    assert all(after[serial] == location for serial, location in last_move.items())
    assert all(m["movedFromLocationId"] != m["locationId"] for m in moves)
    assert {s for s in after if after[s] != before[s]} <= set(last_move)


HISTORY_KEYS = {
    ENTRIES: ("workcenterId", "transactionDate", "serialNo", "partOperationId"),
    "/production/v1/production-history/scrap-entries": ("workcenterId", "transactionDate", "serialNo"),
    "/production/v1/production-history/workcenter-status-entries": ("workcenterId", "logDate"),
    "/production/v1/production-history/labor-entries": ("employeeId", "workcenterId", "beginTime", "jobId"),
    "/inventory/v1/inventory-history/container-location-moves": ("serialNo", "adjustmentDate"),
    "/inventory/v1/inventory-history/container-adjustments": ("serialNo", "adjustmentDate"),
}


@pytest.mark.parametrize("path", list(HISTORY_KEYS))
def test_overlapping_windows_agree_row_for_row_on_composite_keys(sim: SimPlex, path: str) -> None:
    key = HISTORY_KEYS[path]
    early = sim.truth.get(path, {"beginDate": "2026-11-20T00:00Z", "endDate": "2026-11-24T00:00Z"})
    late = sim.truth.get(path, {"beginDate": "2026-11-22T00:00Z", "endDate": "2026-11-26T00:00Z"})
    assert isinstance(early, list) and isinstance(late, list) and early and late
    for rows in (early, late):
        keys = [tuple(row[k] for k in key) for row in rows]
        assert len(set(keys)) == len(keys), f"{path}: two rows share the composite key {key}"
    shared_early = {tuple(r[k] for k in key): r for r in early}
    shared_late = {tuple(r[k] for k in key): r for r in late}
    overlap = shared_early.keys() & shared_late.keys()
    assert overlap, f"{path}: overlapping windows share no row"
    assert all(shared_early[k] == shared_late[k] for k in overlap), "the same row differs between two windows"


def test_jobs_agree_with_their_production_entries_operations_and_approvals(sim: SimPlex) -> None:
    everything = {"beginDate": "2026-11-01T00:00Z", "endDate": "2026-11-29T00:00Z"}
    entries = sim.truth.get(ENTRIES, everything)
    jobs = {j["id"]: j for j in sim.truth.get("/scheduling/v1/jobs")}
    approved = {
        (a["workcenterId"], a["partOperationId"])
        for a in sim.truth.get("/production/v1/production-definitions/approved-workcenters")
    }
    produced: dict[str, float] = {}
    for entry in entries:
        produced[entry["jobId"]] = produced.get(entry["jobId"], 0.0) + entry["quantity"]
        assert (entry["workcenterId"], entry["partOperationId"]) in approved, (
            "entry on an unapproved workcenter"
        )
    for job_id, quantity in produced.items():
        job = jobs[job_id]
        assert job["quantityCompleted"] == quantity, f"job {job['jobNumber']} completed ≠ Σ its entries"
        assert job["jobStatus"] in ("In Process", "Complete")
        if job["jobStatus"] == "Complete":
            assert quantity == job["quantity"]
        last_step = sim.truth.get(f"/scheduling/v1/jobs/{job_id}/operations")[-1]
        runs_on = {e["workcenterId"] for e in entries if e["jobId"] == job_id}
        assert runs_on == {last_step["workcenterId"]}, (
            "entries were posted away from the job's last operation"
        )


@pytest.mark.parametrize(
    ("path", "optional"),
    [
        ("/mdm/v1/parts", ("productType", "note")),
        ("/scheduling/v1/jobs", ("externalJobCode", "completedDate", "priority")),
        ("/inventory/v1/inventory-tracking/containers", ("trackingNo", "masterUnitId", "heatId")),
        ("/production/v1/production-definitions/workcenters", ("ipAddress", "plcName", "productionLineId")),
    ],
)
def test_optional_fields_are_present_and_often_null(
    sim: SimPlex, path: str, optional: tuple[str, ...]
) -> None:
    rows = sim.truth.get(path)
    assert isinstance(rows, list) and rows
    for field in optional:
        assert all(field in row for row in rows), f"{path} drops {field} instead of sending null"
        assert any(row[field] is None for row in rows), f"{path}: {field} is never null"
