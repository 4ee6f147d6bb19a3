"""The data-modeling sink against the local CDF: batching, change detection, inactive flags, quarantine."""

from __future__ import annotations

import asyncio
from typing import Any

from cognite.client.data_classes import data_modeling as dm

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.configured import ConfiguredView
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.cdf.dm.schema import apply_schema
from plex_cdf.cdf.dm.sink import DataModelingSink
from plex_cdf.items import Asset, Datapoints, Event, RawRow, TimeSeries
from plex_cdf.ports import WriteReport
from tests.integration.conftest import LocalCdfHandle
from tests.memory import MemoryState

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
