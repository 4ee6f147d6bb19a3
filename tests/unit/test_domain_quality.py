"""Quality: checksheets and problem logs (NCRs) as events, specifications as assets under their part,
Classic integer keys mapped to Connect ids, from hand-written records in tests/unit/fixtures/plex_ivq."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.domains.common import integer_key
from plex_cdf.domains.quality import KEY_MAPS, RESOURCES, identity_mapping_bodies
from plex_cdf.domains.resource import Context, DataSourceWindow, Quarantine, Resource
from plex_cdf.items import Asset, Event, Item
from plex_cdf.plant import PlantTime
from tests.unit.fixtures.plex_ivq import DAY, NOW, PCN, load
from tests.unit.nasty import NASTY_VALUES

WINDOW = DAY
BRACKET = "b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d51"
WC_A = "7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d0c01"
WC_B = "7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d0c02"
FIXTURE_OF = {
    "checksheets": "checksheets",
    "problem_logs": "problem_logs",
    "part_specifications": "part_specifications",
    "specifications": "specifications",
    "part_key_map": "part_key_map",
    "workcenter_key_map": "workcenter_key_map",
}


def resource(name: str) -> Resource:
    return next(r for r in RESOURCES if r.name == name)


def context(name: str) -> Context:
    lookups = {lookup: load(lookup) for lookup in resource(name).lookup}
    return Context(pcn=PCN, resource=name, now=NOW, window=WINDOW, lookups=lookups)


def transform(name: str, record: dict[str, Any]) -> list[Item]:
    return list(resource(name).transform(record, context(name)))


def one_event(name: str, record: dict[str, Any]) -> Event:
    [item] = transform(name, record)
    assert isinstance(item, Event), f"{name} made {item!r}, not an event"
    return item


def one_asset(name: str, record: dict[str, Any]) -> Asset:
    [item] = transform(name, record)
    assert isinstance(item, Asset), f"{name} made {item!r}, not an asset"
    return item


# --- Checksheets ------------------------------------------------------------------------------------


def test_a_checksheet_is_an_event_on_its_part_and_workcenter() -> None:
    event = one_event("checksheets", load("checksheets")[0])
    assert event.external_id == f"PCN{PCN}_checksheet_88001"
    assert (event.type, event.subtype, event.data_set) == ("checksheet", "First Piece", "quality")
    assert event.start_time == event.end_time == 1_795_761_000_000
    assert event.asset_external_ids == (f"PCN{PCN}_part_BRK-100-A", f"PCN{PCN}_workcenter_WC-A"), (
        "the integer Part_Key/Workcenter_Key must reach the Connect-id assets through the key maps"
    )
    assert event.metadata["partId"] == BRACKET, "key-map ids compare case-insensitively; CDF gets lower case"
    assert event.metadata["inspector"] == "Zoë Ångström"
    assert event.metadata["outOfSpec"] == "false"


def test_a_checksheet_whose_part_key_is_not_mapped_keeps_the_key_and_its_other_link() -> None:
    event = one_event("checksheets", load("checksheets")[1])
    assert event.asset_external_ids == (f"PCN{PCN}_workcenter_WC-B",)
    assert event.metadata["partKey"] == "9999"
    assert "partId" not in event.metadata
    assert event.metadata["outOfSpec"] == "true", "Out_Of_Spec sent as 1 must read as true"
    assert event.description == "Checksheet 88002 - OLD-1 - out of spec"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Checksheet_No": None}, "Checksheet_No"),
        ({"Checksheet_No": [88001]}, "Checksheet_No"),
        ({"Checksheet_Date": None}, "Checksheet_Date"),
        ({"Checksheet_Date": "27/11/2026 6:30 AM"}, "Checksheet_Date"),
        ({"Part_Key": "BRK-100"}, "Part_Key"),
        ({"Workcenter_Key": 5.5}, "Workcenter_Key"),
        ({"Out_Of_Spec": "maybe"}, "Out_Of_Spec"),
    ],
)
def test_a_bad_checksheet_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Quarantine, match=field):
        transform("checksheets", {**load("checksheets")[0], **change})


def test_checksheets_are_fetched_whole_by_window_splitting() -> None:
    row = resource("checksheets")
    assert (row.api, row.datasource_id) == ("datasource", 4142)
    assert isinstance(row.mode, DataSourceWindow), (
        "a row-limited source must be fetched by splittable windows"
    )


# --- Problem logs (NCRs) ----------------------------------------------------------------------------


def test_a_closed_problem_log_is_an_ncr_event_spanning_report_to_close() -> None:
    event = one_event("problem_logs", load("problem_logs")[0])
    assert event.external_id == f"PCN{PCN}_ncr_4401"
    assert (event.type, event.subtype) == ("ncr", "Customer Complaint")
    assert event.start_time == 1_795_597_200_000
    assert event.end_time == 1_795_795_200_000
    assert event.description == "Burr on edge"
    assert event.metadata["status"] == "Closed"
    assert event.asset_external_ids == (f"PCN{PCN}_part_BRK-100-A", f"PCN{PCN}_workcenter_WC-A")


def test_an_open_problem_log_has_no_end_and_no_part() -> None:
    event = one_event("problem_logs", load("problem_logs")[1])
    assert event.end_time is None, "an open NCR must stay open-ended in CDF"
    assert event.asset_external_ids == (f"PCN{PCN}_workcenter_WC-B",)
    assert "Description" not in event.metadata


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Problem_Log_Key": None}, "Problem_Log_Key"),
        ({"Problem_Date": 20261125}, "Problem_Date"),
        ({"Closed_Date": "2026-11-24T00:00:00Z"}, "Closed_Date"),
        ({"Severity": "high"}, "Severity"),
        ({"Workcenter_Key": {"key": 501}}, "Workcenter_Key"),
    ],
)
def test_a_bad_problem_log_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Quarantine, match=field):
        transform("problem_logs", {**load("problem_logs")[0], **change})


# --- Specifications ---------------------------------------------------------------------------------


def test_a_part_specification_is_an_asset_under_its_part_with_its_tolerance() -> None:
    asset = one_asset("part_specifications", load("part_specifications")[0])
    assert asset.external_id == f"PCN{PCN}_specification_5a5a5a5a-1b1b-4c2c-8d3d-4e4e4e4e4e01"
    assert asset.parent_external_id == f"PCN{PCN}_part_BRK-100-A"
    assert asset.name == "BRK-100-S1 - Outer diameter"
    assert asset.metadata["toleranceTarget"] == "25.4"
    assert asset.metadata["toleranceUnit"] == "mm"
    assert asset.metadata["customerSpecified"] == "true"
    assert "tolerance_oneSidedMinimum" not in asset.metadata


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"partId": None}, "partId"),
        ({"toleranceType": "Bilateral"}, "toleranceType"),
        ({"updatedDateTime": "June"}, "updatedDateTime"),
    ],
)
def test_a_bad_part_specification_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Quarantine, match=field):
        transform("part_specifications", {**load("part_specifications")[0], **change})


def test_a_data_source_specification_hangs_under_its_mapped_part() -> None:
    asset = one_asset("specifications", load("specifications")[0])
    assert asset.external_id == f"PCN{PCN}_specification_key_31001"
    assert asset.parent_external_id == f"PCN{PCN}_part_BRK-100-A"
    assert asset.metadata["target"] == "25.4"
    assert asset.metadata["upperLimit"] == "25.45"
    assert asset.metadata["customerSpecified"] == "true"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Specification_Key": None}, "Specification_Key"),
        ({"Lower_Limit": "25,35"}, "Lower_Limit"),
        ({"Customer_Specified": "sometimes"}, "Customer_Specified"),
        ({"Update_Date": "01.06.2026"}, "Update_Date"),
    ],
)
def test_a_bad_data_source_specification_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Quarantine, match=field):
        transform("specifications", {**load("specifications")[0], **change})


def test_a_data_source_specification_without_a_mapped_part_is_quarantined() -> None:
    with pytest.raises(Quarantine, match="Part_Key"):
        transform("specifications", {**load("specifications")[0], "Part_Key": 4242})


def test_the_specification_data_source_stands_in_only_where_the_connect_list_is_not_offered() -> None:
    assert resource("specifications").fallback_for == "part_specifications"
    assert resource("specifications").datasource_id == 6429
    assert resource("part_specifications").optional


# --- Key maps ---------------------------------------------------------------------------------------


def test_key_maps_make_no_cdf_objects_and_quarantine_malformed_entries() -> None:
    assert transform("part_key_map", load("part_key_map")[0]) == []
    with pytest.raises(Quarantine, match="key"):
        transform("workcenter_key_map", {"key": "five-oh-one", "id": WC_A})
    with pytest.raises(Quarantine, match="id"):
        transform("workcenter_key_map", {"key": 501, "id": None})


def test_key_maps_name_the_identity_mapping_object_and_the_list_of_its_ids() -> None:
    def posted_object(row: Resource) -> object:
        assert row.post_bodies is not None, f"{row.name} must read the identity mapping by POST"
        bodies = row.post_bodies(context(row.name))
        return bodies[0]["standardObjectName"] if bodies else None

    objects = {row.name: (posted_object(row), row.lookup) for row in KEY_MAPS}
    assert objects == {
        "part_key_map": ("Part", ("parts",)),
        "workcenter_key_map": ("Workcenter", ("workcenters",)),
    }


def test_identity_mapping_bodies_carry_every_master_data_id_once() -> None:
    bodies = identity_mapping_bodies("workcenter_key_map", context("workcenter_key_map"))
    assert bodies == [{"standardObjectName": "Workcenter", "ids": [WC_A, WC_B]}]
    assert identity_mapping_bodies("part_key_map", context("part_key_map"))[0]["ids"] == [
        BRACKET,
        "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f72",
    ]


def test_identity_mapping_bodies_stay_within_plexs_5000_records_per_call() -> None:
    parts = [{"id": f"{n:08d}-0000-4000-8000-000000000000"} for n in range(12_001)]
    ctx = Context(
        pcn=PCN, resource="part_key_map", now=NOW, lookups={"parts": [*parts, *parts, {"id": None}]}
    )
    bodies = identity_mapping_bodies("part_key_map", ctx)
    assert [len(body["ids"]) for body in bodies] == [5000, 5000, 2001]  # type: ignore[arg-type]
    assert identity_mapping_bodies("part_key_map", Context(pcn=PCN, resource="x", now=NOW)) == [], (
        "with no parts listed there is nothing to ask Plex"
    )


# --- Every row ------------------------------------------------------------------------------------


def test_data_source_rows_warn_once_when_not_granted() -> None:
    for row in RESOURCES:
        if row.api == "datasource":
            assert row.optional, f"{row.name}: an ungranted data source must not stop the quality domain"


def test_no_row_asks_plex_for_pages() -> None:
    for row in RESOURCES:
        asked = {name.lower() for name in (*row.params, *row.datasource_inputs)}
        assert not asked & {"limit", "offset", "page", "pagesize"}, f"{row.name} sends paging parameters"


def test_every_asset_and_event_carries_lineage_and_source() -> None:
    for name, fixture in FIXTURE_OF.items():
        for record in load(fixture):
            for item in transform(name, record):
                assert isinstance(item, Asset | Event)
                assert item.source == "plex", item.external_id
                assert item.metadata.get("plexResource") == name, f"{item.external_id} lacks plex_resource"
                assert item.metadata.get("sourceId"), f"{item.external_id} lacks plex_id"


@given(data=st.data())
def test_any_record_is_mapped_or_quarantined(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(FIXTURE_OF)))
    base = data.draw(st.sampled_from(load(FIXTURE_OF[name])))
    fields = data.draw(st.lists(st.sampled_from(sorted(base)), max_size=5))
    record = {**base, **{field: data.draw(NASTY_VALUES) for field in fields}}
    with contextlib.suppress(Quarantine):
        items = transform(name, record)
        assert all(isinstance(item, Asset | Event) for item in items), f"{name} made {items} from {record}"
        assert len(items) <= 1


@pytest.mark.parametrize(
    ("text", "key"), [("42", 42), (" -7 ", -7), ("²", None), ("--5", None), ("4\u0662", None), ("1e3", None)]
)
def test_a_classic_integer_key_is_ascii_digits_with_one_sign_else_quarantined(
    text: str, key: int | None
) -> None:
    # found by the property test above: `str.isdigit` takes `²`, which `int()` then refuses with a crash
    record = {"key": text}
    if key is None:
        with pytest.raises(Quarantine, match="key is not an integer key"):
            integer_key(record, "key")
    else:
        assert integer_key(record, "key") == key


@pytest.mark.parametrize(
    ("sent", "zone", "utc"),
    [
        ("11/27/2026 06:30:00 AM", "America/Detroit", datetime(2026, 11, 27, 11, 30, tzinfo=UTC)),
        ("2026-07-01T06:30:00", "America/Detroit", datetime(2026, 7, 1, 10, 30, tzinfo=UTC)),
        ("2026-07-01T06:30:00Z", "America/Detroit", datetime(2026, 7, 1, 6, 30, tzinfo=UTC)),
        ("11/27/2026 06:30:00 AM", "UTC", datetime(2026, 11, 27, 6, 30, tzinfo=UTC)),
    ],
)
def test_a_data_source_date_without_a_zone_is_read_on_the_plant_clock(
    sent: str, zone: str, utc: datetime
) -> None:
    ctx = replace(context("checksheets"), plant=PlantTime(ZoneInfo(zone)))
    [event] = resource("checksheets").transform({**load("checksheets")[0], "Checksheet_Date": sent}, ctx)
    assert isinstance(event, Event)
    assert event.start_time == int(utc.timestamp() * 1000), f"{sent} on a {zone} plant is {utc}"
