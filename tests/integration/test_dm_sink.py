"""The data-modeling sink against the local CDF: batching, change detection, inactive flags, quarantine."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cognite.client.data_classes import data_modeling as dm

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.configured import ConfiguredView
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.cdf.dm.schema import apply_schema
from plex_cdf.cdf.dm.sink import FLUSH_ITEMS, DataModelingSink
from plex_cdf.cdf.transport import Missing, OutcomeUnknown, Rejected, SdkApi
from plex_cdf.domains.resource import TimeRange
from plex_cdf.items import Asset, Datapoints, Event, RawRow, Relationship, TimeSeries
from plex_cdf.ports import Expiry, WriteReport
from plex_cdf.runner import FLUSH_ITEMS as CLASSIC_FLUSH_ITEMS
from plex_cdf.runner import Runner
from tests.integration.conftest import LocalCdfHandle
from tests.memory import MemoryState
from tests.unit.test_runner import ENTRIES, NOW, FakePlex, stamp

PCN = "7"
SPACES = Spaces("plex_cdf", f"plex_{PCN}")
PART_VIEW = model.view_id(SPACES.schema, "PlexPart")


def part(n: int, name: str | None = None) -> Asset:
    return Asset(
        f"PCN{PCN}_part_{n}", name or f"Part {n}", f"PCN{PCN}_group_parts", "master", metadata={"n": str(n)}
    )


def ready(local_cdf: LocalCdfHandle) -> DataModelingSink:
    asyncio.run(apply_schema(local_cdf.async_client(), SPACES.schema, [SPACES.instances]))
    return DataModelingSink(local_cdf.async_client(), PCN, SPACES, MemoryState())


def props(local_cdf: LocalCdfHandle, external_id: str, view: dm.ViewId = PART_VIEW) -> dict[str, Any]:
    node = local_cdf.client().data_modeling.instances.retrieve_nodes(
        (SPACES.instances, external_id), sources=view
    )
    assert node is not None, external_id
    return dict(node.properties[view])


def test_a_bulk_load_goes_a_thousand_instances_per_apply_and_a_rerun_sends_nothing(
    local_cdf: LocalCdfHandle,
) -> None:
    sink = ready(local_cdf)
    parts = [part(n) for n in range(2500)]

    first = asyncio.run(sink.write("parts", parts))
    again = asyncio.run(sink.write("parts", parts))

    assert sink.apply_sizes == [1000, 1000, 500]
    assert (first.written, first.write_calls) == (2500, 3)
    assert (again.written, again.unchanged, again.write_calls) == (0, 2500, 0)
    written = props(local_cdf, f"PCN{PCN}_part_42")
    assert written["sourceId"] == "42"
    assert written["source"] == {"space": SPACES.instances, "externalId": model.SOURCE_SYSTEM_ID}
    assert written["extractedData"] == {"n": "42"}


def test_a_value_the_container_refuses_is_quarantined_and_the_rest_lands(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    events = [
        Event(
            f"PCN{PCN}_scrap_{n}", "production", "scrap", subtype="x" * (300 if n == 13 else 5), start_time=n
        )
        for n in range(40)
    ]

    report = asyncio.run(sink.write("scrap_entries", events))
    retried = asyncio.run(sink.write("scrap_entries", events))

    assert (report.written, report.refused, report.refused_ids) == (39, 1, [f"PCN{PCN}_scrap_13"])
    assert (retried.written, retried.refused, retried.unchanged) == (0, 1, 39), "tried again, never committed"
    activity = props(local_cdf, f"PCN{PCN}_scrap_12", model.view_id(SPACES.schema, "PlexActivity"))
    assert activity["plexType"] == "scrap"
    assert activity["startTime"].startswith("1970-01-01T00:00:00.012")


def test_vanished_records_are_marked_inactive_once_and_a_return_rewrites_them(
    local_cdf: LocalCdfHandle,
) -> None:
    sink = ready(local_cdf)
    parts = [part(1), part(2), part(3)]
    asyncio.run(sink.write("parts", parts))

    retired = asyncio.run(sink.retire_vanished("parts", parts[:2], mark_inactive=True, end_point=None))
    twice = asyncio.run(sink.retire_vanished("parts", parts[:2], mark_inactive=True, end_point=None))

    assert (retired.written, retired.write_calls) == (1, 1)
    assert twice.write_calls == 0
    gone = props(local_cdf, f"PCN{PCN}_part_3")
    assert gone["active"] is False and gone["name"] == "Part 3", "only the flag changed"
    assert props(local_cdf, f"PCN{PCN}_part_1")["active"] is True
    back = asyncio.run(sink.write("parts", parts))
    assert back.written == 1 and props(local_cdf, f"PCN{PCN}_part_3")["active"] is True


def test_datapoints_go_by_instance_id_and_links_to_later_nodes_are_filled(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    workcenter = Asset(f"PCN{PCN}_workcenter_9", "WC9", f"PCN{PCN}_facility_{PCN}", "master")
    series = TimeSeries(f"PCN{PCN}_wc_good_quantity_9", "WC9 good", "production", workcenter.external_id)
    points = Datapoints(series.external_id, ((1000, 1.0), (2000, 2.5)))

    asyncio.run(sink.write("production_entries", [series, points]))
    waiting = asyncio.run(sink.placeholders())
    asyncio.run(sink.write("workcenters", [workcenter]))
    filled = asyncio.run(sink.placeholders())

    found = local_cdf.client().time_series.data.retrieve(
        instance_id=dm.NodeId(SPACES.instances, series.external_id)
    )
    assert found is not None and list(found.value) == [1.0, 2.5]
    assert waiting == [workcenter.external_id], "made empty for the series' link"
    assert filled == [f"PCN{PCN}_facility_{PCN}"], "the workcenter is filled; its own parent now waits"


def status(n: int, name: str) -> Asset:
    return Asset(f"PCN{PCN}_workcenter_status_{n}", name, f"PCN{PCN}_group_workcenter_statuses", "master")


def state_set(local_cdf: LocalCdfHandle) -> dict[str, int]:
    view = model.cdm("CogniteStateSet")
    return {s["stringValue"]: s["numericValue"] for s in props(local_cdf, model.STATE_SET_ID, view)["states"]}


def test_status_series_are_state_series_of_the_tenants_status_set(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    series = TimeSeries(
        f"PCN{PCN}_wc_status_history_9", "WC9 status history", "production", is_step=True, is_string=True
    )
    points = Datapoints(series.external_id, ((1000, "Running"), (2000, "Down - Maintenance")))

    asyncio.run(sink.write("workcenter_statuses", [status(1, "Running"), status(2, "Off")]))
    first = state_set(local_cdf)
    asyncio.run(sink.write("workcenter_status_entries", [series, points]))
    node = props(local_cdf, series.external_id, model.view_id(SPACES.schema, "PlexTimeSeries"))
    later = Datapoints(series.external_id, ((3000, "Setup"),), segment="next")
    asyncio.run(sink.write("workcenter_status_entries", [series, later]))
    again = asyncio.run(sink.write("workcenter_statuses", [status(1, "Running"), status(2, "Off")]))

    assert set(first) == {"Running", "Off"}
    assert state_set(local_cdf) == {
        **first,
        "Down - Maintenance": model.state_number("Down - Maintenance"),
        "Setup": model.state_number("Setup"),
    }, "a status is added, none renumbered"
    assert (node["type"], node["stateSet"]["externalId"]) == ("state", model.STATE_SET_ID)
    assert "unit" not in node
    found = local_cdf.client().time_series.data.retrieve(
        instance_id=dm.NodeId(SPACES.instances, series.external_id), start=0, end=10_000
    )
    assert found is not None and list(found.string_states) == ["Running", "Down - Maintenance", "Setup"]
    assert again.write_calls == 0, "a state set CDF holds is not sent again"


def status_series(n: int) -> TimeSeries:
    return TimeSeries(
        f"PCN{PCN}_wc_status_history_{n}", f"WC{n} status history", "production", is_step=True, is_string=True
    )


def points_of(local_cdf: LocalCdfHandle, external_id: str) -> list[tuple[int, float | str]]:
    found = local_cdf.client().time_series.data.retrieve(
        instance_id=dm.NodeId(SPACES.instances, external_id), start=0, end=100_000
    )
    assert found is not None, external_id
    values = found.string_states if found.is_state else found.value
    return list(zip(found.timestamp, values, strict=True))


def test_state_points_go_as_protobuf_beside_numeric_ones_in_json(local_cdf: LocalCdfHandle) -> None:
    """The local CDF refuses state points in the JSON insert, so landing shows they went as protobuf."""
    sink = ready(local_cdf)
    status = status_series(9)
    good = TimeSeries(f"PCN{PCN}_wc_good_quantity_9", "WC9 good", "production", unit="pcs")
    items = [
        status,
        good,
        Datapoints(status.external_id, ((1000, "Running"), (2000, "Down"))),
        Datapoints(good.external_id, ((1000, 5.0), (2000, 7.0))),
    ]

    report = asyncio.run(sink.write("workcenters", items))

    assert points_of(local_cdf, status.external_id) == [(1000, "Running"), (2000, "Down")]
    assert points_of(local_cdf, good.external_id) == [(1000, 5.0), (2000, 7.0)]
    assert sink.counters.calls["state_datapoints.insert"] == 1
    assert sink.counters.calls["datapoints.insert"] == 1
    assert (report.refused, report.by_kind["datapoints"]) == (0, 2)
    assert report.write_calls == sum(sink.counters.calls.values()), "every call counted as a write"


def test_a_state_series_cdf_refuses_is_quarantined_and_the_rest_land(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    known = status_series(9)
    orphan = f"PCN{PCN}_wc_status_history_10"  # points for a series CDF does not hold: 400 missing
    items = [
        known,
        Datapoints(known.external_id, ((1000, "Running"),)),
        Datapoints(orphan, ((1000, "Setup"),)),
    ]

    report = asyncio.run(sink.write("workcenters", items))
    again = asyncio.run(sink.write("workcenters", items))

    assert points_of(local_cdf, known.external_id) == [(1000, "Running")]
    assert (report.refused, report.refused_ids) == (1, [orphan])
    assert report.by_kind["datapoints_refused"] == 1
    assert sink.counters.calls["state_datapoints.insert"] == 3 + 1, (
        "the pair, each half; then the orphan again"
    )
    assert (again.refused, again.written) == (1, 0), "the refused series is tried again, the landed one not"


class LostStateAnswer:
    """The product's seam to the local CDF, but CDF's answer to the first state insert is lost after CDF
    applied it (a timeout)."""

    def __init__(self, api: SdkApi) -> None:
        self._api = api
        self.state_inserts = 0

    async def post(self, path: str, body: dict[str, Any], params: Mapping[str, str] | None = None) -> Any:
        return await self._api.post(path, body, params)

    async def insert_states(self, items: list[dict[str, Any]]) -> None:
        self.state_inserts += 1
        await self._api.insert_states(items)
        if self.state_inserts == 1:
            raise OutcomeUnknown("no answer from CDF: CogniteReadTimeout")


def test_a_state_insert_with_an_unknown_outcome_is_sent_again_and_lands_once(
    local_cdf: LocalCdfHandle,
) -> None:
    asyncio.run(apply_schema(local_cdf.async_client(), SPACES.schema, [SPACES.instances]))
    api = LostStateAnswer(SdkApi(local_cdf.async_client()))
    sink = DataModelingSink(api, PCN, SPACES, MemoryState())
    status = status_series(9)
    items = [status, Datapoints(status.external_id, ((1000, "Running"), (2000, "Idle")))]

    report = asyncio.run(sink.write("workcenters", items))
    again = asyncio.run(sink.write("workcenters", items))

    assert points_of(local_cdf, status.external_id) == [(1000, "Running"), (2000, "Idle")]
    assert (api.state_inserts, sink.counters.calls["state_datapoints.insert"]) == (2, 2)
    assert (report.refused, report.by_kind["datapoints"]) == (0, 1)
    assert again.write_calls == 0, "committed once CDF acknowledged the second send"


def test_the_seam_turns_refused_state_inserts_into_the_writers_outcomes(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    status = status_series(9)
    asyncio.run(sink.write("workcenters", [status, Datapoints(status.external_id, ((1000, "Running"),))]))
    api = SdkApi(local_cdf.async_client())

    def insert(external_id: str, point: dict[str, Any]) -> None:
        ref = {"space": SPACES.instances, "externalId": external_id}
        asyncio.run(api.insert_states([{"instanceId": ref, "datapoints": [point]}]))

    with pytest.raises(Rejected, match="not a state of the state set"):
        insert(status.external_id, {"timestamp": 2000, "numericValue": model.state_number("Running") + 1})
    with pytest.raises(Missing) as unknown:
        insert(f"PCN{PCN}_wc_status_history_10", {"timestamp": 2000, "stringValue": "Running"})
    assert unknown.value.external_ids == [f"PCN{PCN}_wc_status_history_10"]
    assert points_of(local_cdf, status.external_id) == [(1000, "Running")]


def test_numeric_series_point_to_the_unit_catalogue_or_keep_their_unit_text(
    local_cdf: LocalCdfHandle,
) -> None:
    sink = ready(local_cdf)
    pieces = TimeSeries(f"PCN{PCN}_wc_good_quantity_9", "WC9 good", "production", unit="pcs")
    oee = TimeSeries(f"PCN{PCN}_oee_daily_9", "WC9 OEE", "production", unit="fraction")
    widgets = TimeSeries(f"PCN{PCN}_wc_part_good_quantity_9_1", "WC9 P1 good", "production", unit="widgets")

    asyncio.run(sink.write("performance", [pieces, oee, widgets]))

    view = model.view_id(SPACES.schema, "PlexTimeSeries")
    got = {s.external_id: props(local_cdf, s.external_id, view) for s in (pieces, oee, widgets)}
    assert got[pieces.external_id]["unit"] == {"space": "cdf_cdm_units", "externalId": "dimensionless:num"}
    assert got[oee.external_id]["unit"]["externalId"] == "dimensionless_ratio:fraction"
    assert "unit" not in got[widgets.external_id] and got[widgets.external_id]["sourceUnit"] == "widgets"


def test_asset_classes_and_types_are_written_once_and_are_not_placeholders(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    facility = Asset(f"PCN{PCN}_facility_{PCN}", "Plant", None, "master")
    workcenters = [
        Asset(
            f"PCN{PCN}_workcenter_{n}",
            f"WC{n}",
            f"PCN{PCN}_group_workcenters",
            "master",
            metadata={"workcenterType": "Welding", "addDateTime": "2024-03-01T06:00:00.1234567Z"},
        )
        for n in range(3)
    ]
    press = Asset(
        f"PCN{PCN}_equipment_1",
        "Press 1",
        workcenters[0].external_id,
        "maintenance",
        metadata={"equipmentType": "Press", "equipmentTypeId": "e-77"},
    )

    first = asyncio.run(sink.write("workcenters", [facility, *workcenters]))
    asyncio.run(sink.write("equipment", [press]))
    changed = Asset(
        workcenters[1].external_id,
        "WC1 renamed",
        workcenters[1].parent_external_id,
        "master",
        metadata=workcenters[1].metadata,
    )
    second = asyncio.run(sink.write("workcenters", [facility, workcenters[0], changed, workcenters[2]]))

    asset_view = model.view_id(SPACES.schema, "PlexAsset")
    wc = props(local_cdf, workcenters[0].external_id, asset_view)
    assert wc["assetClass"]["externalId"] == "plex_asset_class_workcenter"
    assert wc["type"]["externalId"] == "plex_asset_type_workcenter_Welding"
    assert wc["sourceCreatedTime"].startswith("2024-03-01T06:00:00.123")
    welding = props(local_cdf, "plex_asset_type_workcenter_Welding", model.cdm("CogniteAssetType"))
    assert (welding["name"], welding["assetClass"]["externalId"]) == (
        "Welding",
        "plex_asset_class_workcenter",
    )
    facility_class = props(local_cdf, "plex_asset_class_facility", model.cdm("CogniteAssetClass"))
    assert facility_class["name"] == "Facility"
    equipment = props(local_cdf, press.external_id, model.view_id(SPACES.schema, "PlexEquipment"))
    assert equipment["equipmentType"]["externalId"] == "plex_equipment_type_Press"
    assert props(local_cdf, "plex_equipment_type_Press", model.cdm("CogniteEquipmentType"))["code"] == "Press"
    assert (first.write_calls, second.write_calls) == (2, 1), "classes and types once, then only the change"
    assert not [x for x in asyncio.run(sink.placeholders()) if x.startswith("plex_")]


def test_bom_lines_carry_their_quantities_and_routing_steps_their_operation_number(
    local_cdf: LocalCdfHandle,
) -> None:
    sink = ready(local_cdf)
    line = f"PCN{PCN}_bom_5"
    relation = Relationship(line, f"PCN{PCN}_part_1", f"PCN{PCN}_part_2", "master")
    row = RawRow(
        "bom_lines",
        line,
        {
            "quantity": 2.5,
            "componentUnitOfMeasure": "Ea",
            "sortOrder": 3,
            "sourceExternalId": f"PCN{PCN}_part_1",
            "targetExternalId": f"PCN{PCN}_part_2",
        },
    )
    supply = RawRow("bom_lines", f"PCN{PCN}_bom_6", {"quantity": 1, "sourceExternalId": f"PCN{PCN}_part_1"})
    step = Asset(
        f"PCN{PCN}_part_operation_8",
        "Op 20 WELD",
        f"PCN{PCN}_part_1",
        "master",
        metadata={"operationNumber": "20"},
    )

    report = asyncio.run(sink.write("boms", [relation, row, supply]))
    asyncio.run(sink.write("part_operations", [step]))
    rerun = asyncio.run(sink.write("boms", [relation, row, supply]))

    view = model.view_id(SPACES.schema, "PlexQuantityEdge")
    edges = local_cdf.client().data_modeling.instances.list("edge", space=SPACES.instances, sources=[view])
    got = {
        e.external_id: (
            e.type.external_id,
            e.start_node.external_id,
            e.end_node.external_id,
            dict(e.properties.get(view, {})),
        )
        for e in edges
    }
    assert got[line] == (
        "bomLine",
        f"PCN{PCN}_part_1",
        f"PCN{PCN}_part_2",
        {"quantity": 2.5, "unit": "Ea", "sequence": 3},
    )
    assert got[f"PCN{PCN}_routing_8"] == (
        "routingStep",
        f"PCN{PCN}_part_1",
        step.external_id,
        {"sequence": 20},
    )
    assert len(got) == 2, "a line to a supply item has no part to point to"
    assert (report.by_kind.get("edge"), report.by_kind.get("raw_skipped")) == (1, 1)
    assert rerun.write_calls == 0


def container(serial: str) -> Asset:
    return Asset(f"PCN{PCN}_container_{serial}", serial, f"PCN{PCN}_location_L1", "inventory")


def test_a_container_gone_longer_than_the_retention_is_deleted_and_forgotten(
    local_cdf: LocalCdfHandle,
) -> None:
    ready(local_cdf)
    state = MemoryState()
    sink = DataModelingSink(local_cdf.async_client(), PCN, SPACES, state)
    kept, gone = container("S1"), container("S2")
    asyncio.run(sink.write("containers", [kept, gone]))
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def retire(at: datetime) -> WriteReport:
        expiry = Expiry(at, timedelta(days=30))
        return asyncio.run(
            sink.retire_vanished("containers", [kept], mark_inactive=True, end_point=None, expiry=expiry)
        )

    first = retire(start)
    early = retire(start + timedelta(days=29, hours=23))
    late = retire(start + timedelta(days=30))

    assert (first.deleted, first.written, early.deleted) == (0, 1, 0), "inactive first, kept the retention"
    assert late.deleted == 1 and late.by_kind["node_deleted"] == 1
    nodes = local_cdf.client().data_modeling.instances.retrieve_nodes((SPACES.instances, gone.external_id))
    assert nodes is None, "the container's node must leave the instance space"
    assert gone.external_id not in state.get_hashes(PCN, "containers"), "the state forgets it"
    assert state.get_hashes(PCN, "containers#vanished") == {}
    assert props(local_cdf, kept.external_id, model.view_id(SPACES.schema, "PlexContainer"))["active"] is True
    back = asyncio.run(sink.write("containers", [kept, gone]))
    assert back.written == 1, "a container that comes back is written afresh"


def test_a_new_view_version_of_a_configured_resource_rewrites_its_unchanged_records(
    local_cdf: LocalCdfHandle,
) -> None:
    old = ConfiguredView("pos", "PlexPo", "raw", (("poNumber", "text"),))
    new = ConfiguredView("pos", "PlexPo", "raw", (("poNumber", "text"), ("lineItemCount", "int64")))
    client = local_cdf.async_client()
    state = MemoryState()
    rows = [
        RawRow("pos", f"po-{n}", {"id": f"po-{n}", "poNumber": f"PO-{n}", "lineItemCount": n})
        for n in range(3)
    ]
    for view in (old, new):
        asyncio.run(apply_schema(client, SPACES.schema, [SPACES.instances], [view]))

    first = asyncio.run(
        DataModelingSink(client, PCN, SPACES, state, configured={"pos": old}).write("pos", rows)
    )
    same = asyncio.run(
        DataModelingSink(client, PCN, SPACES, state, configured={"pos": old}).write("pos", rows)
    )
    newer = asyncio.run(
        DataModelingSink(client, PCN, SPACES, state, configured={"pos": new}).write("pos", rows)
    )

    assert (first.written, same.written, same.unchanged, newer.written) == (3, 0, 3, 3)
    assert props(local_cdf, f"PCN{PCN}_pos_po-2", new.view_id(SPACES.schema))["lineItemCount"] == 2


def test_writes_of_two_resources_share_apply_calls(local_cdf: LocalCdfHandle) -> None:
    sink = ready(local_cdf)
    suppliers = [Asset(f"PCN{PCN}_supplier_{n}", f"S{n}", None, "master") for n in range(600)]

    async def both() -> tuple[WriteReport, WriteReport]:
        return await asyncio.gather(
            sink.write("parts", [part(n) for n in range(600)]), sink.write("suppliers", suppliers)
        )

    parts, others = asyncio.run(both())

    assert sink.apply_sizes == [1000, 200]
    assert (parts.written, others.written) == (600, 600)
    assert (
        props(local_cdf, f"PCN{PCN}_supplier_599", model.view_id(SPACES.schema, "PlexSupplier"))["name"]
        == "S599"
    )


def test_a_backfill_grouped_for_this_target_fills_its_apply_calls(local_cdf: LocalCdfHandle) -> None:
    """A write's last call is part-filled (it waits for its own acknowledgement): grouped 8,000 items at a
    time like the classic target, 13 days of 1,300 entries go in two groups, each with a part-filled call;
    grouped this target's way they go in one."""
    begin = NOW - timedelta(days=30)
    entries = [
        {"key": f"{day}-{n}", "stamp": stamp(begin + timedelta(days=day, seconds=n))}
        for day in range(13)
        for n in range(1300)
    ]

    def backfill(flush_items: int) -> list[int]:
        local_cdf.cdf.reset_store()
        sink = ready(local_cdf)
        plex = FakePlex()
        plex.lists["/entries"] = entries
        runner = Runner(
            pcn=PCN, source=plex, sink=sink, state=MemoryState(), resources=[ENTRIES], clock=lambda: NOW
        )
        runner.flush_items = flush_items
        runner.new_pass()
        [report] = asyncio.run(runner.run(["entries"], TimeRange(begin, begin + timedelta(days=13))))
        assert (report.status, report.write.written) == ("ok", len(entries))
        return sink.apply_sizes

    assert sorted(backfill(CLASSIC_FLUSH_ITEMS)) == [100, 800] + [1000] * 16
    assert sorted(backfill(FLUSH_ITEMS)) == [900] + [1000] * 16
