"""The local CDF's Data Modeling API, driven by the unmodified cognite-sdk 8 (`client.data_modeling`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import StateDatapointsInsert, StateDatapointWrite
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling import filters as F
from cognite.client.data_classes.data_modeling.cdm import v1 as cdm
from cognite.client.data_classes.data_modeling.extractor_extensions import v1 as ext
from cognite.client.data_classes.data_modeling.query import (
    EdgeResultSetExpression,
    NodeResultSetExpression,
    Query,
    Select,
    SourceSelector,
)
from cognite.client.data_classes.data_modeling.views import SingleEdgeConnection, SingleEdgeConnectionApply
from cognite.client.exceptions import CogniteAPIError

from plex_cdf.sim.cdf import LocalCdf
from tests.integration.conftest import LocalCdfHandle

SPACE = "plex_test"
CONTAINER = dm.ContainerId(SPACE, "Machine")
VIEW = dm.ViewId(SPACE, "Machine", "v1")
MACHINE_PROPERTIES = ("code", "rate", "count", "running", "since", "day", "extra", "tags", "line", "mode")


def make_schema(client: CogniteClient) -> None:
    client.data_modeling.spaces.apply(dm.SpaceApply(SPACE, name="Plex test"))
    client.data_modeling.containers.apply(
        dm.ContainerApply(
            SPACE,
            "Machine",
            properties={
                "code": dm.ContainerProperty(dm.data_types.Text(), nullable=False),
                "rate": dm.ContainerProperty(dm.data_types.Float64()),
                "count": dm.ContainerProperty(dm.data_types.Int32()),
                "running": dm.ContainerProperty(dm.data_types.Boolean()),
                "since": dm.ContainerProperty(dm.data_types.Timestamp()),
                "day": dm.ContainerProperty(dm.data_types.Date()),
                "extra": dm.ContainerProperty(dm.data_types.Json()),
                "tags": dm.ContainerProperty(dm.data_types.Text(is_list=True)),
                "line": dm.ContainerProperty(dm.data_types.DirectRelation()),
                "mode": dm.ContainerProperty(
                    dm.data_types.Enum(
                        {"auto": dm.data_types.EnumValue(), "manual": dm.data_types.EnumValue()}
                    )
                ),
            },
        )
    )
    client.data_modeling.views.apply(
        dm.ViewApply(
            SPACE,
            "Machine",
            "v1",
            properties={name: dm.MappedPropertyApply(CONTAINER, name) for name in MACHINE_PROPERTIES},
        )
    )
    client.data_modeling.data_models.apply(dm.DataModelApply(SPACE, "Plant", "v1", views=[VIEW]))


def machine(xid: str, **props: object) -> dm.NodeApply:
    return dm.NodeApply(SPACE, xid, sources=[dm.NodeOrEdgeData(VIEW, {"code": xid, **props})])


@pytest.fixture
def client(local_cdf_client: CogniteClient) -> CogniteClient:
    make_schema(local_cdf_client)
    return local_cdf_client


# --- schema ---


def test_schema_round_trips_through_the_sdk(client: CogniteClient) -> None:
    space = client.data_modeling.spaces.retrieve(SPACE)
    assert space is not None and space.name == "Plex test"
    container = client.data_modeling.containers.retrieve(CONTAINER)
    assert container is not None
    assert isinstance(container.properties["tags"].type, dm.data_types.Text)
    assert container.properties["tags"].type.is_list
    assert container.properties["code"].nullable is False
    assert isinstance(container.properties["mode"].type, dm.data_types.Enum)
    view = client.data_modeling.views.retrieve(VIEW)[0]
    assert set(view.properties) == set(MACHINE_PROPERTIES)
    model = client.data_modeling.data_models.retrieve((SPACE, "Plant", "v1"), inline_views=True)[0]
    assert [v.as_id() for v in model.views] == [VIEW]
    listed = client.data_modeling.containers.list(space=SPACE, limit=-1)
    assert [c.external_id for c in listed] == ["Machine"]


def test_a_container_property_type_cannot_change(client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="cannot change the type") as error:
        client.data_modeling.containers.apply(
            dm.ContainerApply(
                SPACE,
                "Machine",
                properties={
                    **{
                        n: p.as_apply()
                        for n, p in client.data_modeling.containers.retrieve(CONTAINER).properties.items()
                    },
                    "rate": dm.ContainerProperty(dm.data_types.Text()),
                },
            )
        )
    assert error.value.code == 400


def test_a_view_version_keeps_its_properties(client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="new version"):
        client.data_modeling.views.apply(
            dm.ViewApply(
                SPACE, "Machine", "v1", properties={"code": dm.MappedPropertyApply(CONTAINER, "code")}
            )
        )
    client.data_modeling.views.apply(
        dm.ViewApply(SPACE, "Machine", "v2", properties={"code": dm.MappedPropertyApply(CONTAINER, "code")})
    )
    latest = client.data_modeling.views.list(space=SPACE, limit=-1)
    assert [v.version for v in latest] == ["v2"]
    both = client.data_modeling.views.list(space=SPACE, limit=-1, all_versions=True)
    assert sorted(v.version for v in both) == ["v1", "v2"]


def test_system_spaces_hold_the_core_data_model(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    core = client.data_modeling.data_models.retrieve(("cdf_cdm", "CogniteCore", "v1"), inline_views=True)[0]
    names = {v.external_id for v in core.views}
    assert {
        "CogniteDescribable",
        "CogniteSourceable",
        "CogniteSourceSystem",
        "CogniteAsset",
        "CogniteAssetClass",
        "CogniteAssetType",
        "CogniteEquipment",
        "CogniteEquipmentType",
        "CogniteActivity",
        "CogniteSchedulable",
        "CogniteTimeSeries",
        "CogniteStateSet",
        "CogniteUnit",
        "CogniteFile",
    } <= names
    asset = client.data_modeling.views.retrieve(dm.ViewId("cdf_cdm", "CogniteAsset", "v1"))[0]
    assert {"name", "parent", "root", "path", "pathLastUpdatedTime", "children", "timeSeries"} <= set(
        asset.properties
    )
    assert isinstance(asset.properties["children"], dm.MultiReverseDirectRelation)
    extension = client.data_modeling.views.retrieve(
        dm.ViewId("cdf_extraction_extensions", "CogniteExtractorTimeSeries", "v1")
    )[0]
    assert {"extractedData", "isStep", "type", "unit"} <= set(extension.properties)
    units = client.data_modeling.instances.list(
        instance_type="node", space="cdf_cdm_units", sources=[cdm.CogniteUnit.get_source()], limit=-1
    )
    by_id = {u.external_id: u for u in units}
    assert {
        "dimensionless:num",
        "mass:kilogm",
        "mass:lb",
        "time:min",
        "time:hr",
        "dimensionless_ratio:percent",
        "dimensionless_ratio:fraction",
    } <= set(by_id), "CDF's unit catalogue identifiers (it has no count quantity, and a pound is mass:lb)"
    pound = by_id["mass:lb"].properties[cdm.CogniteUnit.get_source()]
    assert (pound["symbol"], pound["quantity"]) == ("lbm", "Mass")
    with pytest.raises(CogniteAPIError, match="system space"):
        client.data_modeling.spaces.delete("cdf_cdm")


# --- instances ---


def test_instances_apply_read_back_with_types_normalized(client: CogniteClient) -> None:
    since = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    result = client.data_modeling.instances.apply(
        [
            machine(
                "m1",
                rate=1.5,
                count=3,
                running=True,
                since=since.isoformat(),
                day="2026-03-01",
                extra={"a": [1, 2]},
                tags=["x", "y"],
                line={"space": SPACE, "externalId": "line1"},
                mode="auto",
            )
        ]
    )
    assert [n.external_id for n in result.nodes] == ["m1", "line1"] or result.nodes[0].external_id == "m1"
    node = client.data_modeling.instances.retrieve_nodes(dm.NodeId(SPACE, "m1"), sources=[VIEW])
    assert node is not None
    props = node.properties[VIEW]
    assert props["since"] == "2026-03-01T12:30:00.000+00:00"
    assert props["line"] == {"space": SPACE, "externalId": "line1"}
    assert props["tags"] == ["x", "y"] and props["mode"] == "auto" and props["extra"] == {"a": [1, 2]}
    line = client.data_modeling.instances.retrieve_nodes(dm.NodeId(SPACE, "line1"))
    assert line is not None, "autoCreateDirectRelations (the SDK's default) creates the target node"


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"bogus": 1}, "has no property 'bogus'"),
        ({"count": "three"}, "expected int32"),
        ({"count": 2**40}, "outside the range of int32"),
        ({"mode": "turbo"}, "not one of the enum values"),
        ({"since": "yesterday"}, "not an ISO 8601 timestamp"),
        ({"code": None}, "may not be null"),
    ],
)
def test_bad_properties_refuse_the_whole_batch(
    client: CogniteClient, props: dict[str, object], match: str
) -> None:
    with pytest.raises(CogniteAPIError, match=match) as error:
        client.data_modeling.instances.apply([machine("good"), machine("bad", **props)])
    assert error.value.code == 400
    assert client.data_modeling.instances.retrieve_nodes(dm.NodeId(SPACE, "good")) is None


def test_missing_required_property_and_dangling_relation_are_refused(client: CogniteClient) -> None:
    no_code = dm.NodeApply(SPACE, "nc", sources=[dm.NodeOrEdgeData(VIEW, {"rate": 1.0})])
    with pytest.raises(CogniteAPIError, match="missing required property 'code'"):
        client.data_modeling.instances.apply(no_code)
    dangling = machine("m2", line={"space": SPACE, "externalId": "nowhere"})
    with pytest.raises(CogniteAPIError, match="does not exist"):
        client.data_modeling.instances.apply(dangling, auto_create_direct_relations=False)


def test_a_link_to_a_unit_the_catalogue_lacks_is_refused_not_auto_created(client: CogniteClient) -> None:
    """cdf_cdm_units is a system space: an unknown unit cannot become an empty auto-created node there."""
    series = cdm.CogniteTimeSeriesApply(
        SPACE, "ts_bad_unit", is_step=False, time_series_type="numeric", unit=("cdf_cdm_units", "count:each")
    )
    with pytest.raises(CogniteAPIError, match="system space 'cdf_cdm_units'"):
        client.data_modeling.instances.apply(series, auto_create_direct_relations=True)
    found = client.data_modeling.instances.retrieve(nodes=[("cdf_cdm_units", "count:each")])

    assert not found.nodes


def test_more_than_1000_items_are_refused_by_the_api(
    client: CogniteClient, local_cdf: LocalCdfHandle
) -> None:
    url = f"/api/v1/projects/{local_cdf.server.project}/models/instances"
    body = {"items": [machine(f"n{i}").dump() for i in range(1001)]}
    with pytest.raises(CogniteAPIError, match="between 1 and 1000") as error:
        client.post(url, json=body)
    assert error.value.code == 400


def test_version_conflicts(client: CogniteClient) -> None:
    first = client.data_modeling.instances.apply(machine("v", rate=1.0)).nodes[0]
    assert first.version == 1 and first.was_modified
    same = client.data_modeling.instances.apply(machine("v", rate=1.0)).nodes[0]
    assert same.version == 1 and not same.was_modified, "an identical apply changes nothing"
    second = client.data_modeling.instances.apply(machine("v", rate=2.0)).nodes[0]
    assert second.version == 2
    stale = dm.NodeApply(
        SPACE, "v", existing_version=1, sources=[dm.NodeOrEdgeData(VIEW, {"code": "v", "rate": 3.0})]
    )
    with pytest.raises(CogniteAPIError) as error:
        client.data_modeling.instances.apply(stale)
    assert (error.value.code, error.value.message) == (409, "A version conflict caused the ingest to fail.")
    skipped = client.data_modeling.instances.apply(stale, skip_on_version_conflict=True)
    assert len(skipped.nodes) == 0
    fresh = dm.NodeApply(
        SPACE, "v", existing_version=2, sources=[dm.NodeOrEdgeData(VIEW, {"code": "v", "rate": 3.0})]
    )
    assert client.data_modeling.instances.apply(fresh).nodes[0].version == 3
    with pytest.raises(CogniteAPIError, match="version conflict"):
        client.data_modeling.instances.apply(
            dm.NodeApply(SPACE, "v", existing_version=0, sources=[dm.NodeOrEdgeData(VIEW, {"code": "v"})])
        )


def test_replace_drops_unspecified_properties(client: CogniteClient) -> None:
    client.data_modeling.instances.apply(machine("r", rate=1.0, count=2))
    client.data_modeling.instances.apply(machine("r", count=5))
    merged = client.data_modeling.instances.retrieve_nodes(dm.NodeId(SPACE, "r"), sources=[VIEW])
    assert merged is not None and merged.properties[VIEW]["rate"] == 1.0
    client.data_modeling.instances.apply(machine("r", count=6), replace=True)
    replaced = client.data_modeling.instances.retrieve_nodes(dm.NodeId(SPACE, "r"), sources=[VIEW])
    assert replaced is not None and "rate" not in replaced.properties[VIEW]


def test_edges_need_existing_ends_unless_auto_created(client: CogniteClient) -> None:
    client.data_modeling.instances.apply([machine("a"), machine("b")])
    edge = dm.EdgeApply(SPACE, "a-b", type=(SPACE, "feeds"), start_node=(SPACE, "a"), end_node=(SPACE, "zz"))
    with pytest.raises(CogniteAPIError, match="does not exist"):
        client.data_modeling.instances.apply(edges=edge, auto_create_direct_relations=True)
    client.data_modeling.instances.apply(edges=edge, auto_create_end_nodes=True)
    edges = client.data_modeling.instances.list(instance_type="edge", limit=-1)
    assert [e.external_id for e in edges] == ["a-b"]
    client.data_modeling.instances.delete(dm.NodeId(SPACE, "a"))
    assert len(client.data_modeling.instances.list(instance_type="edge", limit=-1)) == 0, (
        "deleting a node deletes its edges"
    )


# --- filters, sort, cursors ---


def seed_machines(client: CogniteClient, count: int) -> None:
    nodes = [
        machine(f"m{i:05d}", rate=float(i % 100), count=i, tags=[f"t{i % 3}"], running=i % 2 == 0)
        for i in range(count)
    ]
    client.data_modeling.instances.apply(nodes)


def rate(name: str) -> list[str]:
    return [SPACE, "Machine/v1", name]


def test_filters_sort_and_cursors(client: CogniteClient) -> None:
    seed_machines(client, 2_000)
    inst = client.data_modeling.instances
    everything = inst.list(instance_type="node", space=SPACE, sources=[VIEW], limit=-1)
    assert len(everything) == 2_000
    assert [n.external_id for n in everything[:3]] == ["m00000", "m00001", "m00002"]
    cases = {
        "equals": (F.Equals(rate("rate"), 7.0), 20),
        "in": (F.In(rate("count"), [1, 2, 3, 99999]), 3),
        "range": (F.Range(rate("count"), gte=100, lt=200), 100),
        "prefix": (F.Prefix(["node", "externalId"], "m001"), 100),
        "exists": (F.Exists(rate("tags")), 2_000),
        "containsAny": (F.ContainsAny(rate("tags"), ["t0", "t1"]), 1_334),
        "containsAll": (F.ContainsAll(rate("tags"), ["t0", "t1"]), 0),
        "and/not": (F.And(F.Equals(rate("running"), True), F.Not(F.Range(rate("count"), gte=10))), 5),
        "or": (F.Or(F.Equals(rate("count"), 1), F.Equals(rate("count"), 2)), 2),
        "hasData": (F.HasData(views=[VIEW]), 2_000),
    }
    for name, (flt, expected) in cases.items():
        got = inst.list(instance_type="node", sources=[VIEW], filter=flt, limit=-1)
        assert len(got) == expected, name
    top = inst.list(
        instance_type="node",
        sources=[VIEW],
        limit=5,
        sort=dm.InstanceSort(rate("count"), direction="descending"),
    )
    assert [n.properties[VIEW]["count"] for n in top] == [1999, 1998, 1997, 1996, 1995]
    sorted_all = inst.list(
        instance_type="node", space=SPACE, sources=[VIEW], sort=dm.InstanceSort(rate("rate")), limit=-1
    )
    rates = [n.properties[VIEW]["rate"] for n in sorted_all]
    assert rates == sorted(rates) and len(rates) == 2_000, "sorting pages on with its cursor"
    count = inst.aggregate(VIEW, dm.aggregations.Count("code"), instance_type="node")
    assert count.value == 2_000


def test_nested_filter_follows_a_direct_relation(client: CogniteClient) -> None:
    client.data_modeling.instances.apply(
        [machine("line9", rate=9.0), machine("m", line={"space": SPACE, "externalId": "line9"})]
    )
    found = client.data_modeling.instances.list(
        instance_type="node", filter=F.Nested(rate("line"), F.Equals(rate("rate"), 9.0)), limit=-1
    )
    assert [n.external_id for n in found] == ["m"]


@pytest.mark.slow
def test_filters_and_cursors_over_10k_nodes(client: CogniteClient) -> None:
    for start in range(0, 10_000, 1000):
        client.data_modeling.instances.apply(
            [machine(f"m{i:05d}", count=i, tags=[f"t{i % 3}"]) for i in range(start, start + 1000)]
        )
    everything = client.data_modeling.instances.list(instance_type="node", space=SPACE, limit=-1)
    assert len(everything) == 10_000 and len({n.external_id for n in everything}) == 10_000
    third = client.data_modeling.instances.list(
        instance_type="node", filter=F.ContainsAny(rate("tags"), ["t0"]), limit=-1
    )
    assert len(third) == 3_334


# --- sync and query ---


def sync_query(cursors: dict[str, str] | None = None) -> Query:
    return Query(
        with_={"machines": NodeResultSetExpression(filter=F.HasData(views=[VIEW]), limit=1000)},
        select={"machines": Select([SourceSelector(VIEW, ["*"])])},
        cursors=cursors or {},
    )


def test_sync_returns_changes_and_deletes_since_its_cursor(client: CogniteClient) -> None:
    seed_machines(client, 1_500)
    inst = client.data_modeling.instances
    first = inst.sync(sync_query())
    second = inst.sync(sync_query(first.cursors))
    assert len(first["machines"]) + len(second["machines"]) == 1_500
    quiet = inst.sync(sync_query(second.cursors))
    assert len(quiet["machines"]) == 0
    inst.apply(machine("m00007", rate=77.0))
    inst.delete(dm.NodeId(SPACE, "m00008"))
    changes = inst.sync(sync_query(quiet.cursors))
    by_id = {n.external_id: n for n in changes["machines"]}
    assert set(by_id) == {"m00007", "m00008"}
    assert by_id["m00008"].deleted_time is not None
    assert by_id["m00007"].properties[VIEW]["rate"] == 77.0


def test_query_follows_reverse_relations_of_cdm_assets(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    inst.apply(
        [
            cdm.CogniteAssetApply(SPACE, "plant", name="Plant"),
            cdm.CogniteAssetApply(SPACE, "press", name="Press", parent=(SPACE, "plant")),
            cdm.CogniteAssetApply(SPACE, "lathe", name="Lathe", parent=(SPACE, "plant")),
        ]
    )
    asset_view = cdm.CogniteAsset.get_source()
    query = Query(
        with_={
            "root": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "plant")),
            "children": NodeResultSetExpression(from_="root", through=asset_view.as_property_ref("children")),
        },
        select={"children": Select([SourceSelector(asset_view, ["name"])])},
    )
    result = inst.query(query)
    assert sorted(n.properties[asset_view]["name"] for n in result["children"]) == ["Lathe", "Press"]


# --- CDM ---


def without_nulls(dumped: dict[str, Any]) -> dict[str, Any]:
    for source in dumped.get("sources", []):
        source["properties"] = {k: v for k, v in source["properties"].items() if v is not None}
    return {k: v for k, v in dumped.items() if v is not None}


def test_cdm_typed_classes_round_trip(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    applied = [
        cdm.CogniteSourceSystemApply(SPACE, "plex", name="Plex", manufacturer="Rockwell"),
        cdm.CogniteAssetClassApply(SPACE, "machine", name="Machine", code="M"),
        cdm.CogniteAssetTypeApply(SPACE, "press", name="Press", asset_class=(SPACE, "machine")),
        cdm.CogniteAssetApply(
            SPACE,
            "plant",
            name="Plant",
            source=(SPACE, "plex"),
            source_id="1",
            source_created_time=now,
            tags=["a"],
            aliases=["P"],
        ),
        cdm.CogniteAssetApply(SPACE, "wc1", name="WC1", parent=(SPACE, "plant"), asset_type=(SPACE, "press")),
        cdm.CogniteEquipmentTypeApply(SPACE, "pump", name="Pump"),
        cdm.CogniteEquipmentApply(
            SPACE, "eq1", name="Eq1", asset=(SPACE, "wc1"), equipment_type=(SPACE, "pump")
        ),
        cdm.CogniteActivityApply(
            SPACE, "job1", name="Job", assets=[(SPACE, "wc1")], start_time=now, end_time=now
        ),
        cdm.CogniteStateSetApply(SPACE, "states", states=[{"numericValue": 0, "stringValue": "off"}]),
        cdm.CogniteTimeSeriesApply(
            SPACE,
            "ts1",
            is_step=False,
            time_series_type="numeric",
            name="Rate",
            assets=[(SPACE, "wc1")],
            unit=("cdf_cdm_units", "dimensionless:num"),
            source_unit="ea",
        ),
        cdm.CogniteFileApply(
            SPACE, "file1", name="Drawing", assets=[(SPACE, "wc1")], mime_type="application/pdf"
        ),
        ext.CogniteExtractorTimeSeriesApply(
            SPACE, "xts", is_step=True, time_series_type="string", extracted_data={"k": "v"}
        ),
    ]
    inst.apply(applied)
    for cls, xid in [
        (cdm.CogniteAsset, "plant"),
        (cdm.CogniteAsset, "wc1"),
        (cdm.CogniteEquipment, "eq1"),
        (cdm.CogniteActivity, "job1"),
        (cdm.CogniteTimeSeries, "ts1"),
        (cdm.CogniteStateSet, "states"),
        (cdm.CogniteSourceSystem, "plex"),
        (cdm.CogniteAssetType, "press"),
        (cdm.CogniteFile, "file1"),
        (ext.CogniteExtractorTimeSeries, "xts"),
    ]:
        read = inst.retrieve_nodes(dm.NodeId(SPACE, xid), node_cls=cls)
        assert read is not None, xid
        wrote = next(a for a in applied if a.external_id == xid)
        assert without_nulls(read.as_write().dump()) == {**wrote.dump(), "existingVersion": read.version}, xid
    wc1 = inst.retrieve_nodes(dm.NodeId(SPACE, "wc1"), node_cls=cdm.CogniteAsset)
    assert wc1 is not None and wc1.root == dm.DirectRelationReference(SPACE, "plant")
    assert wc1.path == [dm.DirectRelationReference(SPACE, "plant"), dm.DirectRelationReference(SPACE, "wc1")]
    assert wc1.path_last_updated_time is not None


def test_cdm_maintained_properties_are_read_only(client: CogniteClient) -> None:
    view = cdm.CogniteAsset.get_source()
    bad = dm.NodeApply(
        SPACE, "x", sources=[dm.NodeOrEdgeData(view, {"root": {"space": SPACE, "externalId": "x"}})]
    )
    with pytest.raises(CogniteAPIError, match="maintained by CDF"):
        client.data_modeling.instances.apply(bad)


def test_path_follows_reparenting(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    inst.apply(
        [
            cdm.CogniteAssetApply(SPACE, "p1", name="P1"),
            cdm.CogniteAssetApply(SPACE, "p2", name="P2"),
            cdm.CogniteAssetApply(SPACE, "mid", name="Mid", parent=(SPACE, "p1")),
            cdm.CogniteAssetApply(SPACE, "leaf", name="Leaf", parent=(SPACE, "mid")),
        ]
    )
    leaf = inst.retrieve_nodes(dm.NodeId(SPACE, "leaf"), node_cls=cdm.CogniteAsset)
    assert leaf is not None and [p.external_id for p in leaf.path or []] == ["p1", "mid", "leaf"]
    inst.apply(cdm.CogniteAssetApply(SPACE, "mid", name="Mid", parent=(SPACE, "p2")))
    leaf = inst.retrieve_nodes(dm.NodeId(SPACE, "leaf"), node_cls=cdm.CogniteAsset)
    assert leaf is not None and [p.external_id for p in leaf.path or []] == ["p2", "mid", "leaf"]
    assert leaf.root == dm.DirectRelationReference(SPACE, "p2")
    with pytest.raises(CogniteAPIError, match="own ancestor"):
        inst.apply(cdm.CogniteAssetApply(SPACE, "p2", name="P2", parent=(SPACE, "leaf")))


# --- datapoints by instance id ---


def test_datapoints_by_instance_id(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    inst.apply(
        [
            cdm.CogniteTimeSeriesApply(SPACE, "num", is_step=False, time_series_type="numeric"),
            cdm.CogniteTimeSeriesApply(SPACE, "txt", is_step=True, time_series_type="string"),
        ]
    )
    num, txt = dm.NodeId(SPACE, "num"), dm.NodeId(SPACE, "txt")
    client.time_series.data.insert([(1_000, 1.5), (2_000, 2.5), (3_000, 3.5)], instance_id=num)
    client.time_series.data.insert([(1_000, "a"), (2_000, "b")], instance_id=txt)
    got = client.time_series.data.retrieve(instance_id=num, start=0, end=10_000)  # protobuf
    assert list(got.value) == [1.5, 2.5, 3.5] and got.instance_id == num
    strings = client.time_series.data.retrieve(instance_id=txt, start=0, end=10_000)
    assert list(strings.value) == ["a", "b"]
    latest = client.time_series.data.retrieve_latest(instance_id=num)
    assert latest is not None and latest.value == 3.5
    as_json = client.post(
        f"/api/v1/projects/{client.config.project}/timeseries/data/list",
        json={"items": [{"instanceId": {"space": SPACE, "externalId": "num"}}], "start": 0, "end": 10_000},
    ).json()
    assert [p["value"] for p in as_json["items"][0]["datapoints"]] == [1.5, 2.5, 3.5]
    client.time_series.data.delete_range(start=0, end=2_500, instance_id=num)
    assert list(client.time_series.data.retrieve(instance_id=num, start=0, end=10_000).value) == [3.5]
    with pytest.raises(CogniteAPIError):
        client.time_series.data.insert([(1_000, "text")], instance_id=num)
    inst.delete(num)
    with pytest.raises(CogniteAPIError):
        client.time_series.data.retrieve(instance_id=num, start=0, end=10_000)


# --- refused parts, async, persistence ---


def test_unimplemented_dms_answers_400_not_supported(client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="not supported by the local CDF") as error:
        client.data_modeling.instances.search(VIEW, query="x")
    assert error.value.code == 400
    with pytest.raises(CogniteAPIError, match="not supported by the local CDF"):
        client.data_modeling.graphql.query(("s", "m", "v1"), "{ listX { items { a } } }")
    with pytest.raises(CogniteAPIError, match="not supported by the local CDF: query parameter sortBy"):
        client.get(f"/api/v1/projects/{client.config.project}/models/spaces", params={"sortBy": "space"})
    with pytest.raises(CogniteAPIError, match="not supported by the local CDF: debug"):
        client.post(
            f"/api/v1/projects/{client.config.project}/models/instances/list",
            json={"instanceType": "node", "debug": {"emitResults": True}},
        )
    query = f"/api/v1/projects/{client.config.project}/models/instances/query"
    for expression, name in (
        ({"nodes": {}, "postSort": [{"property": ["node", "externalId"]}]}, "with.n.postSort"),
        ({"nodes": {"from": "x", "through": None, "chainFrom": "end"}}, "with.n.nodes.chainFrom"),
    ):
        with pytest.raises(CogniteAPIError, match=f"not supported by the local CDF: {name}"):
            client.post(query, json={"with": {"x": {"nodes": {}}, "n": expression}, "select": {}})
    sync = f"/api/v1/projects/{client.config.project}/models/instances/sync"
    for extra, name in (
        ({"mode": "noBackfill"}, "with.n.mode noBackfill"),
        ({"skipAlreadyDeleted": False}, "with.n.skipAlreadyDeleted false"),
        ({"backfillSort": [{"property": ["node", "externalId"]}]}, "with.n.backfillSort"),
    ):
        with pytest.raises(CogniteAPIError, match=f"not supported by the local CDF: {name}"):
            client.post(sync, json={"with": {"n": {"nodes": {}, **extra}}, "select": {}})


def test_the_async_client_works_too(local_cdf: LocalCdfHandle) -> None:
    async def run() -> int:
        client = local_cdf.async_client()
        await client.data_modeling.spaces.apply(dm.SpaceApply(SPACE))
        await client.data_modeling.instances.apply(cdm.CogniteAssetApply(SPACE, "a1", name="A1"))
        assets = await client.data_modeling.instances.list(
            instance_type=cdm.CogniteAsset, space=SPACE, limit=-1
        )
        return len(assets)

    assert asyncio.run(run()) == 1


def test_dms_survives_a_restart_with_persist(tmp_path: Path) -> None:
    path = tmp_path / "cdf.sqlite"
    first = LocalCdf(persist=path)
    with first.serve() as server:
        client = LocalCdfHandle(first, server).client()
        make_schema(client)
        seed_machines(client, 300)
        client.data_modeling.instances.apply(
            cdm.CogniteTimeSeriesApply(SPACE, "ts", is_step=False, time_series_type="numeric")
        )
        client.time_series.data.insert([(1_000, 1.0)], instance_id=dm.NodeId(SPACE, "ts"))
        client.data_modeling.instances.delete(dm.NodeId(SPACE, "m00001"))
        cursor = client.data_modeling.instances.sync(sync_query()).cursors
    second = LocalCdf(persist=path)
    with second.serve() as server:
        client = LocalCdfHandle(second, server).client()
        nodes = client.data_modeling.instances.list(
            instance_type="node", sources=[VIEW], space=SPACE, limit=-1
        )
        assert len(nodes) == 300, "299 machines and the time series node"
        assert client.data_modeling.views.retrieve(VIEW)[0].properties.keys() >= {"code", "rate"}
        got = client.time_series.data.retrieve(instance_id=dm.NodeId(SPACE, "ts"), start=0, end=10_000)
        assert list(got.value) == [1.0]
        client.data_modeling.instances.apply(machine("m00002", rate=5.0))
        changes = client.data_modeling.instances.sync(sync_query(cursor))
        assert [n.external_id for n in changes["machines"]] == ["m00002"]


@pytest.mark.slow  # retries under injected faults: about two minutes
def test_fault_injection_covers_the_dms_routes(client: CogniteClient, local_cdf: LocalCdfHandle) -> None:
    local_cdf.cdf.set_faults(fault_429=0.3)
    client.data_modeling.instances.apply([machine(f"f{i}") for i in range(50)])
    nodes = client.data_modeling.instances.list(instance_type="node", space=SPACE, limit=-1)
    local_cdf.cdf.set_faults()
    assert len(nodes) == 50, "the SDK retries 429s; nothing is lost or doubled"
    counts = local_cdf.cdf.request_counts()
    assert counts["POST /models/instances"] >= 1 and counts["POST /models/instances/list"] >= 1
    local_cdf.cdf.set_faults(fault_5xx=1.0, server_errors=(503,))
    with pytest.raises(CogniteAPIError) as error:
        client.data_modeling.spaces.retrieve(SPACE)
    local_cdf.cdf.set_faults()
    assert error.value.code == 503


@pytest.mark.timeout(60)
def test_the_sim_cdf_command_serves_dms() -> None:
    from tests.integration.test_sim_cdf_command import client_for, sim_cdf

    with sim_cdf() as (_process, ready):
        client = client_for(ready, "any")
        client.data_modeling.spaces.apply(dm.SpaceApply(SPACE))
        client.data_modeling.instances.apply(cdm.CogniteAssetApply(SPACE, "plant", name="Plant"))
        asset = client.data_modeling.instances.retrieve_nodes(
            dm.NodeId(SPACE, "plant"), node_cls=cdm.CogniteAsset
        )
        assert asset is not None and asset.name == "Plant"


def test_aggregates_group_and_typing(client: CogniteClient) -> None:
    seed_machines(client, 30)
    inst = client.data_modeling.instances
    groups = inst.aggregate(
        VIEW, [dm.aggregations.Count("code"), dm.aggregations.Sum("count")], group_by="running"
    )
    by_group = {g.group["running"]: [a.value for a in g.aggregates] for g in groups}
    assert by_group == {True: [15, float(sum(range(0, 30, 2)))], False: [15, float(sum(range(1, 30, 2)))]}
    avg = inst.aggregate(VIEW, dm.aggregations.Avg("count"), filter=F.Range(rate("count"), lt=10))
    assert avg.value == 4.5
    typed = inst.list(instance_type="node", space=SPACE, sources=[VIEW], include_typing=True, limit=5)
    assert typed.typing is not None


def test_query_traverses_edges(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    inst.apply([machine("a"), machine("b"), machine("c")])
    feeds = (SPACE, "feeds")
    inst.apply(
        edges=[
            dm.EdgeApply(SPACE, "a-b", type=feeds, start_node=(SPACE, "a"), end_node=(SPACE, "b")),
            dm.EdgeApply(SPACE, "b-c", type=feeds, start_node=(SPACE, "b"), end_node=(SPACE, "c")),
        ]
    )
    query = Query(
        with_={
            "start": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "a")),
            "flow": EdgeResultSetExpression(from_="start", direction="outwards", max_distance=2),
            "reached": NodeResultSetExpression(from_="flow"),
        },
        select={"flow": Select(), "reached": Select([SourceSelector(VIEW, ["code"])])},
    )
    result = inst.query(query)
    assert sorted(e.external_id for e in result["flow"]) == ["a-b", "b-c"]
    assert sorted(n.properties[VIEW]["code"] for n in result["reached"]) == ["b", "c"]
    one_hop = Query(
        with_={
            "start": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "a")),
            "flow": EdgeResultSetExpression(from_="start", max_distance=1),
        },
        select={"flow": Select()},
    )
    assert [e.external_id for e in inst.query(one_hop)["flow"]] == ["a-b"]


@pytest.mark.filterwarnings("ignore::cognite.client.utils._experimental.FeaturePreviewWarning")
def test_state_time_series_take_states_of_their_state_set(client: CogniteClient) -> None:
    inst = client.data_modeling.instances
    inst.apply(
        [
            cdm.CogniteStateSetApply(
                SPACE,
                "onoff",
                states=[{"numericValue": 0, "stringValue": "off"}, {"numericValue": 1, "stringValue": "on"}],
            ),
            cdm.CogniteTimeSeriesApply(
                SPACE, "machine_state", is_step=True, time_series_type="state", state_set=(SPACE, "onoff")
            ),
        ]
    )
    node = dm.NodeId(SPACE, "machine_state")
    client.time_series.data.insert_states(
        StateDatapointsInsert(
            instance_id=node,
            datapoints=[StateDatapointWrite(1_000, 1), StateDatapointWrite(2_000, string_value="off")],
        )
    )
    got = client.time_series.data.retrieve(instance_id=node, start=0, end=10_000)  # protobuf
    assert list(got.numeric_states) == [1, 0] and list(got.string_states) == ["on", "off"]
    as_json = client.post(
        f"/api/v1/projects/{client.config.project}/timeseries/data/list",
        json={
            "items": [{"instanceId": {"space": SPACE, "externalId": "machine_state"}}],
            "start": 0,
            "end": 10_000,
        },
    ).json()["items"][0]
    assert as_json["type"] == "state"
    assert as_json["datapoints"][1] == {"timestamp": 2_000, "numericValue": 0, "stringValue": "off"}
    with pytest.raises(CogniteAPIError, match="not a state of the state set") as outside:
        client.time_series.data.insert_states(
            StateDatapointsInsert(instance_id=node, datapoints=[StateDatapointWrite(3_000, 7)])
        )
    assert outside.value.code == 400
    with pytest.raises(CogniteAPIError, match="JSON insert") as as_json_insert:
        client.post(
            f"/api/v1/projects/{client.config.project}/timeseries/data",
            json={
                "items": [
                    {
                        "instanceId": {"space": SPACE, "externalId": "machine_state"},
                        "datapoints": [{"timestamp": 4_000, "numericValue": 1, "stringValue": "on"}],
                    }
                ]
            },
        )
    assert as_json_insert.value.code == 400
    assert as_json_insert.value.message.startswith(
        "not supported by the local CDF: state datapoints in the JSON"
    )
    again = client.time_series.data.retrieve(instance_id=node, start=0, end=10_000)
    assert list(again.timestamp) == [1_000, 2_000], "neither refused insert wrote anything"


# --- edge connections in views ---

FLOW = dm.ViewId(SPACE, "MachineFlow", "v1")
FEED = dm.ViewId(SPACE, "Feed", "v1")
FEEDS = dm.DirectRelationReference(SPACE, "feeds")


def make_flow_schema(client: CogniteClient) -> dm.ViewApply:
    """Machines with edge connections of type `feeds` both ways; the edges carry a quantity (view Feed)."""
    client.data_modeling.containers.apply(
        dm.ContainerApply(
            SPACE,
            "Feed",
            used_for="edge",
            properties={"quantity": dm.ContainerProperty(dm.data_types.Float64())},
        )
    )
    flow = dm.ViewApply(
        SPACE,
        "MachineFlow",
        "v1",
        properties={
            "code": dm.MappedPropertyApply(CONTAINER, "code"),
            "feedsTo": dm.MultiEdgeConnectionApply(
                type=FEEDS, source=FLOW, direction="outwards", edge_source=FEED, name="feeds to"
            ),
            "fedBy": dm.MultiEdgeConnectionApply(type=FEEDS, source=FLOW, direction="inwards"),
            "firstUpstream": SingleEdgeConnectionApply(
                type=FEEDS, source=VIEW, direction="inwards", description="one upstream machine"
            ),
        },
    )
    feed = dm.ViewApply(
        SPACE,
        "Feed",
        "v1",
        properties={"quantity": dm.MappedPropertyApply(dm.ContainerId(SPACE, "Feed"), "quantity")},
    )
    client.data_modeling.views.apply([flow, feed])  # the connection names a view of the same request
    return flow


def test_edge_connections_round_trip_through_the_sdk(client: CogniteClient) -> None:
    flow = make_flow_schema(client)
    view = client.data_modeling.views.retrieve(FLOW)[0]
    feeds_to = view.properties["feedsTo"]
    assert isinstance(feeds_to, dm.MultiEdgeConnection)
    assert (feeds_to.type, feeds_to.source, feeds_to.direction) == (FEEDS, FLOW, "outwards")
    assert feeds_to.edge_source == FEED and feeds_to.name == "feeds to"
    assert isinstance(view.properties["firstUpstream"], SingleEdgeConnection)
    assert view.properties["fedBy"].direction == "inwards"  # type: ignore[union-attr]
    assert view.as_apply().dump() == flow.dump()
    assert view.referenced_containers() == {CONTAINER}, "connections map no container"
    client.data_modeling.views.apply(view.as_apply())  # the same definition again is no change
    listed = client.data_modeling.views.list(space=SPACE, limit=-1)
    assert isinstance(
        next(v for v in listed if v.as_id() == FLOW).properties["fedBy"], dm.MultiEdgeConnection
    )


def test_edge_connections_are_checked_as_cdf_does(client: CogniteClient) -> None:
    views = f"/api/v1/projects/{client.config.project}/models/views"

    def view_with(connection: dict[str, Any]) -> dict[str, Any]:
        return {
            "items": [{"space": SPACE, "externalId": "Bad", "version": "v1", "properties": {"c": connection}}]
        }

    good = {
        "connectionType": "multi_edge_connection",
        "type": {"space": SPACE, "externalId": "feeds"},
        "source": {"type": "view", "space": SPACE, "externalId": "Machine", "version": "v1"},
    }
    bad: list[tuple[dict[str, Any], str]] = [
        ({**good, "source": {**good["source"], "externalId": "Nowhere"}}, "views do not exist"),
        ({**good, "edgeSource": {**good["source"], "version": "v9"}}, "views do not exist"),
        ({**good, "direction": "sideways"}, "must be outwards or inwards"),
        ({**good, "type": {"space": SPACE}}, "expected a direct relation"),
        ({**good, "connectionType": "triple_edge_connection"}, "is not one of"),
        ({**good, "maxDistance": 2}, "unknown field"),
        ({k: v for k, v in good.items() if k != "connectionType"}, "without connectionType"),
    ]
    for connection, message in bad:
        with pytest.raises(CogniteAPIError, match=message) as error:
            client.post(views, json=view_with(connection))
        assert error.value.code == 400
    answer = client.post(views, json=view_with(good)).json()["items"][0]["properties"]["c"]
    assert answer["direction"] == "outwards", "direction defaults to outwards and is always answered"
    assert client.data_modeling.views.retrieve((SPACE, "Bad", "v1"))[0].writable is False


def test_edge_connections_are_read_by_query_not_as_properties(client: CogniteClient) -> None:
    make_flow_schema(client)
    inst = client.data_modeling.instances
    inst.apply([machine("a"), machine("b"), machine("c")])
    inst.apply(
        edges=[
            dm.EdgeApply(
                SPACE,
                "a-b",
                type=FEEDS,
                start_node=(SPACE, "a"),
                end_node=(SPACE, "b"),
                sources=[dm.NodeOrEdgeData(FEED, {"quantity": 2.5})],
            ),
            dm.EdgeApply(SPACE, "b-c", type=FEEDS, start_node=(SPACE, "b"), end_node=(SPACE, "c")),
            dm.EdgeApply(SPACE, "a-c", type=(SPACE, "other"), start_node=(SPACE, "a"), end_node=(SPACE, "c")),
        ]
    )
    node = inst.retrieve_nodes(dm.NodeId(SPACE, "a"), sources=[FLOW])
    assert node is not None and dict(node.properties[FLOW]) == {"code": "a"}, "no edges as properties"
    with pytest.raises(CogniteAPIError, match="edge connection") as error:
        inst.apply(dm.NodeApply(SPACE, "a", sources=[dm.NodeOrEdgeData(FLOW, {"feedsTo": []})]))
    assert error.value.code == 400
    feeds = F.Equals(["edge", "type"], {"space": SPACE, "externalId": "feeds"})
    query = Query(
        with_={
            "a": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "a")),
            "out": EdgeResultSetExpression(from_="a", direction="outwards", filter=feeds, max_distance=1),
            "next": NodeResultSetExpression(from_="out"),
            "c": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "c")),
            "in": EdgeResultSetExpression(from_="c", direction="inwards", filter=feeds, max_distance=1),
            "previous": NodeResultSetExpression(from_="in"),
            "any": EdgeResultSetExpression(from_="a", direction="outwards", max_distance=1),
        },
        select={
            "out": Select([SourceSelector(FEED, ["quantity"])]),
            "next": Select([SourceSelector(FLOW, ["*"])]),
            "in": Select(),
            "previous": Select(),
            "any": Select(),
        },
    )
    result = inst.query(query)
    assert [(e.external_id, e.properties[FEED]["quantity"]) for e in result["out"]] == [("a-b", 2.5)]
    assert [n.external_id for n in result["next"]] == ["b"]
    assert dict(result["next"][0].properties[FLOW]) == {"code": "b"}
    assert [e.external_id for e in result["in"]] == ["b-c"]
    assert [n.external_id for n in result["previous"]] == ["b"], "inwards edges chain to their start nodes"
    assert sorted(e.external_id for e in result["any"]) == ["a-b", "a-c"], "no type filter: every edge"
    through = Query(
        with_={
            "a": NodeResultSetExpression(filter=F.Equals(["node", "externalId"], "a")),
            "next": NodeResultSetExpression(from_="a", through=FLOW.as_property_ref("feedsTo")),
        },
        select={"next": Select()},
    )
    with pytest.raises(CogniteAPIError, match="is an edge connection; follow it with an edge result set"):
        inst.query(through)
