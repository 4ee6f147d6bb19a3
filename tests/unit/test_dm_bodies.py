"""Instance bodies: the fast path gives what the SDK's `dump` gives, for every kind the mapping makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cognite.client.data_classes.data_modeling import EdgeApply, NodeApply, NodeOrEdgeData, ViewId

from plex_cdf.cdf.dm import mapping, model
from plex_cdf.cdf.dm.bodies import instance_body, plain
from plex_cdf.items import Asset, Event, Relationship, TimeSeries

SPACES = mapping.Spaces("plex_cdf", "plex_7")
SOURCE = SPACES.ref("plex_source_system")
WC = "PCN7_workcenter_9"

MADE: list[NodeApply | EdgeApply] = [
    mapping.relationship_edge(Relationship("PCN7_bom_1", "PCN7_part_1", "PCN7_part_2", "master"), SPACES),
    mapping.inactive_node("PCN7_part_3", SPACES),
]
BODIES: list[dict[str, Any] | None] = [
    mapping.asset_node(Asset(WC, "WC9", "PCN7_facility_7", "master", metadata={"a": "1"}), SPACES, SOURCE),
    mapping.asset_node(Asset("PCN7_container_S1", "S1", "PCN7_location_L1", "inventory"), SPACES, SOURCE),
    mapping.event_node(
        Event("PCN7_scrap_1", "production", "scrap", start_time=1000, asset_external_ids=(WC, "PCN7_part_3")),
        SPACES,
        SOURCE,
    ),
    mapping.time_series_node(
        TimeSeries("PCN7_wc_oee_9", "WC9 OEE", "performance", WC, unit="%"), SPACES, SOURCE
    ),
]


@pytest.mark.parametrize("instance", MADE, ids=lambda m: m.external_id)
def test_the_fast_body_equals_the_sdk_dump(instance: NodeApply | EdgeApply) -> None:
    assert instance_body(instance) == instance.dump()


@pytest.mark.parametrize("body", [b for b in BODIES if b is not None], ids=lambda b: b["externalId"])
def test_a_node_body_the_mapping_builds_is_what_the_sdks_typed_node_loads_and_dumps(
    body: dict[str, Any],
) -> None:
    node = NodeApply.load(body)
    assert node.dump() == body
    assert node.sources[0].source == model.view_id("plex_cdf", body["sources"][0]["source"]["externalId"])
    assert plain(body), "plain JSON, as orjson and the standard encoder take it"


def test_a_value_that_is_not_plain_json_goes_through_the_sdk() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    node = NodeApply("s", "x", sources=[NodeOrEdgeData(ViewId("a", "V", "v1"), {"at": when, "n": 1})])

    assert instance_body(node) == node.dump()
    assert not plain({"at": when}) and not plain([{"x": {1: 2}}]) and plain([1, {"x": {"y": [None, 1.5]}}])
