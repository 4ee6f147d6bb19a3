"""The simulated Data Source API: Basic auth, grants, Plex's input-validation codes, both answer shapes,
row limits with each spelling of the exceeded flag, metadata and identity mapping (plex_api.md §4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest

from plex_cdf.sim.plex import SimPlex

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AUTH = ("sim-user", "sim-password")
WEEK = {"Start_Date": "2026-11-21T00:00:00Z", "End_Date": "2026-11-28T00:00:00Z"}
KEY = {"X-Plex-Connect-Api-Key": "sim-key"}


@pytest.fixture(scope="module")
def sim() -> SimPlex:
    return SimPlex(seed=5, scale="small", now=START)


@pytest.fixture(scope="module")
def plex(sim: SimPlex) -> Iterator[httpx2.Client]:
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, auth=AUTH, timeout=30) as client:
        yield client


def execute(plex: httpx2.Client, source: int, inputs: dict[str, Any], flat: bool = True) -> httpx2.Response:
    if flat:
        return plex.post(f"/api/datasources/{source}/execute", params={"format": 2}, json=inputs)
    return plex.post(f"/api/datasources/{source}/execute", json={"inputs": inputs})


def error_code(answer: httpx2.Response) -> str:
    body = answer.json()
    assert body["transactionNo"], "every Data Source answer carries a transactionNo"
    code: str = body["errors"][0]["code"]
    return code


@pytest.mark.parametrize("source", [18765, 4142, 19938])
def test_both_answer_shapes_hold_the_same_rows(plex: httpx2.Client, source: int) -> None:
    flat = execute(plex, source, WEEK).json()
    tabled = execute(plex, source, WEEK, flat=False).json()
    assert flat["rows"], f"source {source} had no rows for a week"
    table = tabled["tables"][0]
    assert [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]] == flat["rows"]
    assert flat["outputs"] == {} and flat["rowLimitExceeded"] is False and flat["transactionNo"]


def test_daily_performance_has_the_documented_columns(plex: httpx2.Client) -> None:
    row = execute(plex, 18765, WEEK).json()["rows"][0]
    assert set(row) == {
        "Downtime_DB",
        "Multiple",
        "Number_Of_Children",
        "Operation_Code",
        "Part_Key",
        "Part_No",
        "Planned_Production_Time",
        "Production_Qty",
        "Reject_Qty",
        "Scrap_Qty",
        "Standard_Production_Rate",
        "Throwouts",
        "Workcenter_Code",
        "Workcenter_Key",
    }


def test_workcenter_performance_answers_a_snapshot_per_workcenter(plex: httpx2.Client, sim: SimPlex) -> None:
    rows = execute(plex, 22870, {}).json()["rows"]
    assert len(rows) == 8
    assert set(rows[0]) == {
        "Part_No_Revision",
        "Performance",
        "Performance_Color",
        "Workcenter_Code",
        "Workcenter_Status",
        "Workcenter_Status_Color",
    }
    assert len(execute(plex, 22870, {"Workcenter_Key": 20000}).json()["rows"]) == 1


def test_daily_performance_agrees_with_connect_production_entries(sim: SimPlex) -> None:
    connect = sim.truth.get(
        "/production/v1/production-history/production-entries",
        {"beginDate": "2026-11-21T00:00Z", "endDate": "2026-11-28T00:00Z"},
    )
    rows = sim.truth.datasource(18765, WEEK)
    assert isinstance(connect, list)
    assert sum(r["Production_Qty"] for r in rows) == sum(e["quantity"] for e in connect)


@pytest.mark.parametrize(
    ("inputs", "code"),
    [
        ({**WEEK, "Nope": 1}, "DATA_SOURCE_INPUT_NOT_FOUND"),
        ({**WEEK, "start_date": WEEK["Start_Date"]}, "DATA_SOURCE_INPUT_NOT_FOUND"),
        ({**WEEK, "Part_Key": "abc"}, "DATA_SOURCE_INPUT_TYPE_MISMATCH"),
        ({**WEEK, "Use_Standard_Rate": 70_000}, "DATA_SOURCE_INPUT_TYPE_MISMATCH"),  # smallint
        ({**WEEK, "Use_Standard_Rate": True}, "DATA_SOURCE_INPUT_TYPE_MISMATCH"),
        ({**WEEK, "Start_Date": "2026-11-21"}, "DATA_SOURCE_INPUT_FORMAT_INVALID"),
    ],
)
def test_bad_inputs_get_plex_validation_codes(plex: httpx2.Client, inputs: dict[str, Any], code: str) -> None:
    answer = execute(plex, 18765, inputs)
    assert answer.status_code == 400
    assert error_code(answer) == code


def test_wrong_credentials_are_401(plex: httpx2.Client) -> None:
    answer = httpx2.post(
        f"{plex.base_url}/api/datasources/18765/execute", json={"inputs": WEEK}, auth=("x", "y")
    )
    assert answer.status_code == 401 and error_code(answer) == "USER_ACCESS_DENIED"
    assert httpx2.post(f"{plex.base_url}/api/datasources/18765/execute", json={}).status_code == 401


def test_a_source_not_granted_is_403_and_hidden_from_search(plex: httpx2.Client, sim: SimPlex) -> None:
    sim.grant_datasource(user="sim-user", source_id=19938, granted=False)
    try:
        answer = execute(plex, 19938, WEEK)
        names = [s["id"] for s in plex.get("/api/datasources/search", params={"name": ""}).json()]
    finally:
        sim.grant_datasource(user="sim-user", source_id=19938, granted=True)
    assert answer.status_code == 403 and error_code(answer) == "DATA_SOURCE_ACCESS_DENIED"
    assert answer.json()["errors"][0]["message"] == "You do not have access to data source '19938'."
    assert 19938 not in names and 18765 in names


def test_a_published_input_the_simulator_cannot_apply_is_refused_not_ignored(plex: httpx2.Client) -> None:
    refused = execute(plex, 18765, {**WEEK, "Shift": "1st"})
    assert refused.status_code == 400 and "not supported by the simulated Plex" in refused.text
    assert execute(plex, 18765, {**WEEK, "Shift": None, "Children_Only": False}).status_code == 200


def test_no_published_input_is_required(plex: httpx2.Client) -> None:
    """Plex marks no input of 18765 required: without dates it reports today so far."""
    today = execute(plex, 18765, {})
    assert today.status_code == 200
    assert today.json()["rows"] == execute(plex, 18765, {"Start_Date": "2026-11-28T00:00:00Z"}).json()["rows"]


def test_catalogue_sources_exist_and_answer_403_until_granted(plex: httpx2.Client, sim: SimPlex) -> None:
    """Checksheet_Get_Single (81) is in the catalogue but not granted: 403, as a real tenant answers."""
    denied = execute(plex, 81, {})
    assert denied.status_code == 403 and error_code(denied) == "DATA_SOURCE_ACCESS_DENIED"
    sim.grant_datasource(user="sim-user", source_id=81)
    try:
        granted = execute(plex, 81, {})
        meta = plex.get("/api/datasources/81").json()
    finally:
        sim.grant_datasource(user="sim-user", source_id=81, granted=False)
    assert granted.status_code == 200 and granted.json()["rows"] == []
    assert (len(meta["inputs"]), len(meta["columns"])) == (2, 64), "counts differ from the catalogue"


def test_every_request_gets_its_own_transaction_number_across_restarts(plex: httpx2.Client) -> None:
    first = execute(plex, 22870, {}).json()["transactionNo"]
    second = execute(plex, 22870, {}).json()["transactionNo"]
    other = SimPlex(seed=5, scale="small", now=START)  # a restart: same seed, same instant
    with other.serve() as server:
        again = httpx2.post(
            f"{server.base_url}/api/datasources/22870/execute", params={"format": 2}, json={}, auth=AUTH
        ).json()["transactionNo"]
    assert len({first, second, again}) == 3, "transactionNo repeated"


def test_unknown_source_and_wrong_method(plex: httpx2.Client) -> None:
    unknown = execute(plex, 1, {})
    assert unknown.status_code == 400 and error_code(unknown) == "DATA_SOURCE_NOT_FOUND"
    wrong = plex.get("/api/datasources/18765/execute")
    assert wrong.status_code == 405 and error_code(wrong) == "METHOD_NOT_ALLOWED"


def test_metadata_lists_inputs_and_columns(plex: httpx2.Client) -> None:
    found = plex.get("/api/datasources/search", params={"name": "performance"}).json()
    assert {s["name"] for s in found} == {"Daily_Performance_Report_Get", "Workcenter_Performance_Simple_Get"}
    meta = plex.get("/api/datasources/4142").json()
    assert meta["id"] == 4142 and meta["name"] == "Checksheets_Get"
    start = next(i for i in meta["inputs"] if i["name"] == "Start_Date")
    assert start == {"name": "Start_Date", "type": "datetime", "required": False, "nullable": True}
    assert "Checksheet_No" in {c["name"] for c in meta["columns"]}
    assert (len(meta["inputs"]), len(meta["columns"])) == (24, 26), "Plex publishes 24 inputs, 26 outputs"
    spec = plex.get("/api/datasources/6429").json()
    assert (len(spec["inputs"]), len(spec["columns"])) == (1, 72)
    daily = plex.get("/api/datasources/18765").json()
    types = {c["name"]: c["type"] for c in daily["columns"]}
    assert types["Production_Qty"] == "int" and types["Downtime_DB"] == "decimal"
    assert {i["name"]: i["type"] for i in daily["inputs"]}["Use_Standard_Rate"] == "smallint"


@pytest.mark.parametrize("flag", ["rowLimitExceeded", "rowLimitedExceeded", "limitExceeded"])
def test_row_limit_truncates_and_sets_the_flag_as_spelled(flag: str) -> None:
    sim = SimPlex(seed=5, scale="medium", now=START, row_limit_flag=flag)
    inputs = {"Start_Date": "2026-10-01T00:00:00Z", "End_Date": "2026-11-28T00:00:00Z"}
    assert len(sim.truth.datasource(19938, inputs)) > 1000, "the test window does not exceed the row limit"
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, auth=AUTH, timeout=60) as plex:
        flat = execute(plex, 19938, inputs).json()
        tabled = execute(plex, 19938, inputs, flat=False).json()
    assert len(flat["rows"]) == 1000 and flat[flag] is True
    assert len(tabled["tables"][0]["rows"]) == 1000
    holder = tabled["tables"][0] if flag == "limitExceeded" else tabled
    assert holder[flag] is True, f"{flag} not set where Plex puts it"


def test_identity_mapping_turns_uuids_into_data_source_keys_and_back(
    plex: httpx2.Client, sim: SimPlex
) -> None:
    workcenters = sim.truth.get("/production/v1/production-definitions/workcenters")
    assert isinstance(workcenters, list)
    ids = [w["workcenterId"].upper() for w in workcenters[:3]]
    base = "/platform/identity-mappings/v1"
    keys = plex.post(
        f"{base}/ids-to-keys", json={"standardObjectName": "Workcenter", "ids": ids}, headers=KEY
    )
    assert keys.status_code == 200
    mapped = keys.json()
    assert [m["id"] for m in mapped] == [i.lower() for i in ids]
    codes = {r["Workcenter_Key"]: r["Workcenter_Code"] for r in sim.truth.datasource(18765, WEEK)}
    by_id = {w["workcenterId"]: w["workcenterCode"] for w in workcenters}
    assert all(codes.get(m["key"], by_id[m["id"]]) == by_id[m["id"]] for m in mapped)
    back = plex.post(
        f"{base}/keys-to-ids",
        json={"standardObjectName": "Workcenter", "keys": [m["key"] for m in mapped]},
        headers=KEY,
    ).json()
    assert [b["id"] for b in back] == [m["id"] for m in mapped]
    too_many = plex.post(
        f"{base}/ids-to-keys", json={"standardObjectName": "Part", "ids": ["x"] * 5001}, headers=KEY
    )
    assert too_many.status_code == 400


def test_each_user_has_its_own_password_and_grants(plex: httpx2.Client, sim: SimPlex) -> None:
    sim.add_datasource_user("quality-user", "q-secret", sources=[4142])
    quality = ("quality-user", "q-secret")
    base = f"{plex.base_url}/api/datasources"
    granted = httpx2.post(f"{base}/4142/execute", params={"format": 2}, json=WEEK, auth=quality)
    refused = httpx2.post(f"{base}/18765/execute", params={"format": 2}, json=WEEK, auth=quality)
    wrong = httpx2.post(f"{base}/4142/execute", json={"inputs": WEEK}, auth=("quality-user", "sim-password"))
    assert granted.status_code == 200 and granted.json()["rows"]
    assert refused.status_code == 403 and error_code(refused) == "DATA_SOURCE_ACCESS_DENIED"
    assert wrong.status_code == 401, "another user's password was accepted"


SQL_TYPES: dict[str, Any] = {
    "int": int,
    "smallint": int,
    "decimal": (int, float),
    "varchar": str,
    "datetime": str,
    "bit": bool,
}


@pytest.mark.parametrize("source", [18765, 22870, 4142, 6429, 19938])
def test_granted_sources_answer_their_columns_with_the_published_types(
    plex: httpx2.Client, source: int
) -> None:
    meta = plex.get(f"/api/datasources/{source}").json()
    inputs = {i["name"] for i in meta["inputs"]}
    rows = execute(plex, source, WEEK if "Start_Date" in inputs else {}).json()["rows"]
    assert rows, f"source {source} answered no rows"
    columns = {c["name"]: c["type"] for c in meta["columns"]}
    for row in rows[:100]:
        assert list(row) == list(columns), f"source {source} columns differ from its metadata"
        wrong = {
            name: value
            for name, value in row.items()
            if value is not None
            and (
                (isinstance(value, bool) and columns[name] != "bit")
                or not isinstance(value, SQL_TYPES[columns[name]])
            )
        }
        assert wrong == {}, f"source {source}: values not of their published type: {wrong}"
