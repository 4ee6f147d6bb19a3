"""Inventory: locations and containers as assets, WIP per location and part, container moves and
adjustments as events, from hand-written records in tests/unit/fixtures/plex_ivq."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.domains.inventory import RESOURCES, wip_sums
from plex_cdf.domains.resource import Context, Quarantine, Resource, Snapshot, Window
from plex_cdf.items import Asset, Datapoints, Event, Item, TimeSeries
from tests.unit.fixtures.plex_ivq import DAY, NOW, PCN, load
from tests.unit.nasty import NASTY_VALUES

T = TypeVar("T")
NOW_MS = int(NOW.timestamp() * 1000)
WINDOW = DAY
INVENTORY = f"PCN{PCN}_group_inventory"
LOC_A = "6f1c2a9e-3b7d-4c1e-9a52-0d4f8e7b6a11"
LOC_B = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c62"
BRACKET = "b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d51"
SHAFT = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f72"
# Readable external ids: the codes the fixtures' location list and records show.
LOC_A_XID = f"PCN{PCN}_location_WIP-A1"
LOC_B_XID = f"PCN{PCN}_location_Lager Süd – Ω"
BRACKET_XID = f"PCN{PCN}_part_BRK-100-A"
SHAFT_XID = f"PCN{PCN}_part_SHF-200-B"
FIXTURE_OF = {
    "locations": "locations",
    "containers": "containers",
    "container_moves": "container_moves",
    "container_adjustments": "container_adjustments",
}


def resource(name: str) -> Resource:
    return next(r for r in RESOURCES if r.name == name)


def context(name: str) -> Context:
    return Context(pcn=PCN, resource=name, now=NOW, window=WINDOW, lookups={"locations": load("locations")})


def transform(name: str, record: dict[str, Any]) -> list[Item]:
    return list(resource(name).transform(record, context(name)))


def run_resource(name: str, records: Sequence[dict[str, Any]] | None = None) -> list[Item]:
    """The transform per record, then finish over all of them, as the runner does."""
    row = resource(name)
    records = load(FIXTURE_OF[name]) if records is None else records
    items = [item for record in records for item in row.transform(record, context(name))]
    if row.finish is not None:
        items.extend(row.finish(records, context(name)))
    return items


def of_type(items: Iterable[Item], kind: type[T]) -> list[T]:
    return [item for item in items if isinstance(item, kind)]


# --- Locations --------------------------------------------------------------------------------------


def test_locations_hang_under_the_inventory_asset() -> None:
    assets = of_type(run_resource("locations"), Asset)
    assert [a.external_id for a in assets] == [LOC_A_XID, LOC_B_XID]
    assert {a.parent_external_id for a in assets} == {INVENTORY}
    assert {a.data_set for a in assets} == {"inventory"}


def test_a_location_keeps_its_code_as_name_and_odd_unicode_intact() -> None:
    [asset] = of_type(transform("locations", load("locations")[1]), Asset)
    assert asset.name == "Lager Süd – Ω"
    assert asset.metadata["supplyLocation"] == "true"
    assert "tankSilo" not in asset.metadata, "a null field must not reach CDF as the text 'None'"


def test_a_location_without_a_code_is_named_by_its_id() -> None:
    [asset] = of_type(transform("locations", {**load("locations")[0], "locationCode": None}), Asset)
    assert asset.name == LOC_A


@pytest.mark.parametrize("bad", [None, "", ["x"], {"id": 1}, True])
def test_a_location_without_a_usable_id_is_quarantined(bad: object) -> None:
    with pytest.raises(Quarantine, match="locationId"):
        transform("locations", {**load("locations")[0], "locationId": bad})


# --- Containers -------------------------------------------------------------------------------------


def test_a_container_is_an_asset_under_its_location() -> None:
    [asset] = of_type(transform("containers", load("containers")[0]), Asset)
    assert asset.external_id == f"PCN{PCN}_container_S0010000001"
    assert asset.parent_external_id == LOC_A_XID
    assert asset.metadata["partId"] == BRACKET
    assert asset.metadata["quantity"] == "120.0"


def test_a_moved_container_gets_its_new_location_as_parent() -> None:
    moved = {**load("containers")[0], "locationId": LOC_B, "location": "Lager Süd – Ω"}
    [before] = of_type(transform("containers", load("containers")[0]), Asset)
    [after] = of_type(transform("containers", moved), Asset)
    assert before.external_id == after.external_id, "a move must update the container, not create another"
    assert after.parent_external_id == LOC_B_XID


def test_a_container_without_a_location_hangs_under_the_inventory_asset() -> None:
    [asset] = of_type(transform("containers", load("containers")[5]), Asset)
    assert asset.parent_external_id == INVENTORY


def test_containers_that_leave_the_active_list_are_marked_inactive() -> None:
    mode = resource("containers").mode
    assert isinstance(mode, Snapshot) and mode.mark_inactive, (
        "a container Plex no longer lists as active must be flagged inactive in CDF"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"serialNo": None}, "serialNo"),
        ({"serialNo": "S" * 300}, "serialNo"),
        ({"quantity": "12"}, "quantity"),
        ({"locationId": {"id": LOC_A}}, "locationId"),
        ({"addDateTime": "yesterday"}, "addDateTime"),
        ({"updateDateTime": 1732700000}, "updateDateTime"),
    ],
)
def test_a_bad_container_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    with pytest.raises(Quarantine, match=field):
        transform("containers", {**load("containers")[0], **change})


# --- WIP ------------------------------------------------------------------------------------------


def test_wip_sums_active_wip_containers_per_location_and_part() -> None:
    sums = {key: wip.quantity for key, wip in wip_sums(load("containers")).items()}
    # LOC_A bracket: 120 (OK) + 30.5 (Hold still counts, inventory type "wip" in any case); the Scrap one
    # is left out. LOC_B shaft: the FG container is not WIP, the WIP one holds 75. The container without a
    # location has no place to be counted.
    assert sums == {(LOC_A, BRACKET): 150.5, (LOC_B, SHAFT): 75.0}


def test_wip_is_a_current_value_series_per_location_and_part() -> None:
    items = run_resource("containers")
    series = {ts.external_id: ts for ts in of_type(items, TimeSeries)}
    wip_a = f"PCN{PCN}_wip_{LOC_A}_{BRACKET}"
    assert set(series) == {wip_a, f"PCN{PCN}_wip_{LOC_B}_{SHAFT}"}
    assert series[wip_a].asset_external_id == LOC_A_XID
    assert series[wip_a].name == "WIP WIP-A1 BRK-100-A"
    points = {dp.external_id: dp for dp in of_type(items, Datapoints)}
    assert points[wip_a].points == ((NOW_MS, 150.5),)
    assert points[wip_a].latest_only, "WIP is sampled now; it must be written only when it changes"


def test_a_container_with_a_bad_quantity_is_left_out_of_wip() -> None:
    containers = load("containers")
    containers[0] = {**containers[0], "quantity": "lots"}
    assert wip_sums(containers)[(LOC_A, BRACKET)].quantity == 30.5


# --- Moves and adjustments ------------------------------------------------------------------------


def test_a_move_is_an_instant_event_on_both_locations_and_the_part() -> None:
    [event] = of_type(run_resource("container_moves"), Event)
    assert event.type == "container_move"
    assert event.start_time == event.end_time == 1_795_774_530_500
    assert event.asset_external_ids == (
        LOC_A_XID,
        LOC_B_XID,
        BRACKET_XID,
    )
    assert event.description == "S0010000001 moved from Lager Süd – Ω to WIP-A1"
    assert event.metadata["movedFromLocationId"] == LOC_B


def test_history_rows_without_an_id_get_a_stable_id_from_their_key() -> None:
    record = load("container_moves")[0]
    [first] = of_type(transform("container_moves", record), Event)
    [again] = of_type(transform("container_moves", dict(reversed(record.items()))), Event)
    [other] = of_type(
        transform("container_moves", {**record, "adjustmentDate": "2026-11-27T10:16:00Z"}), Event
    )
    assert first.external_id == again.external_id, "the same move fetched twice must land on one event"
    assert first.external_id != other.external_id
    assert first.metadata["sourceId"].startswith("S0010000001|2026-11-27T10:15:30.5Z|")


def test_an_adjustment_is_an_event_with_its_signed_quantity() -> None:
    [event] = of_type(run_resource("container_adjustments"), Event)
    assert event.type == "container_adjustment"
    assert event.subtype == "Cycle Count"
    assert event.metadata["quantity"] == "-25"
    assert event.asset_external_ids == (LOC_B_XID, SHAFT_XID)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"adjustmentDate": None}, "adjustmentDate"),
        ({"adjustmentDate": "2026-13-45T99:00Z"}, "adjustmentDate"),
        ({"serialNo": ""}, "serialNo"),
        ({"quantity": "minus five"}, "quantity"),
    ],
)
def test_a_bad_history_row_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    for name in ("container_moves", "container_adjustments"):
        with pytest.raises(Quarantine, match=field):
            transform(name, {**load(name)[0], **change})


def test_moves_are_optional_because_some_tenants_answer_400() -> None:
    assert resource("container_moves").optional, "a 400 from moves must warn once, not stop inventory"
    assert isinstance(resource("container_moves").mode, Window)


# --- Every row ------------------------------------------------------------------------------------


def test_no_row_asks_plex_for_pages() -> None:
    for row in RESOURCES:
        asked = {name.lower() for name in (*row.params, *row.datasource_inputs)}
        assert not asked & {"limit", "offset", "page", "pagesize"}, f"{row.name} sends paging parameters"


def test_every_asset_and_event_carries_lineage_and_source() -> None:
    for name in FIXTURE_OF:
        for item in run_resource(name):
            if isinstance(item, Asset | Event):
                assert item.source == "plex", item.external_id
            if isinstance(item, Asset | Event | TimeSeries):
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
        assert len(items) == 1 and isinstance(items[0], Asset | Event), f"{name} made {items} from {record}"
    finish = resource(name).finish
    if finish is not None:
        for dps in of_type(finish([record], context(name)), Datapoints):
            assert all(isinstance(value, float) for _, value in dps.points), dps
