"""The data-modeling target's schema: `setup` applies spaces, containers, views and PlexManufacturing v1
to the local CDF; a repeat changes nothing; a changed view version is refused, never overwritten."""

from __future__ import annotations

import asyncio

import pytest
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling.cdm import v1 as cdm

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.configured import ConfiguredView
from plex_cdf.cdf.dm.schema import SchemaChanged, apply_schema
from tests.integration.conftest import LocalCdfHandle

SCHEMA = "plex_cdf"
SPACES = ["plex_1", "plex_2"]


def test_setup_applies_the_model_and_a_repeat_changes_nothing(local_cdf: LocalCdfHandle) -> None:
    first = asyncio.run(apply_schema(local_cdf.async_client(), SCHEMA, SPACES))
    second = asyncio.run(apply_schema(local_cdf.async_client(), SCHEMA, SPACES))

    client = local_cdf.client()
    views = client.data_modeling.views.list(space=SCHEMA, limit=-1, include_inherited_properties=True)
    assert sorted(v.external_id for v in views) == sorted(v.name for v in model.VIEWS)
    asset = next(v for v in views if v.external_id == "PlexAsset")
    assert {"parent", "sourceId", "extractedData", "active", "plexKind"} <= set(asset.properties)
    found = client.data_modeling.data_models.retrieve((SCHEMA, model.DATA_MODEL, model.VERSION))
    assert len(found) == 1
    assert cdm.CogniteAssetApply.get_source() in found[0].views
    assert dm.ViewId(SCHEMA, "PlexJob", model.VERSION) in found[0].views
    systems = client.data_modeling.instances.retrieve_nodes(
        [dm.NodeId(space, model.SOURCE_SYSTEM_ID) for space in SPACES], node_cls=cdm.CogniteSourceSystem
    )
    assert [s.name for s in systems] == [model.SOURCE_SYSTEM_NAME] * 2
    assert f"views {model.VERSION}: {len(model.VIEWS)} created, 0 unchanged" in first
    assert f"views {model.VERSION}: 0 created, {len(model.VIEWS)} unchanged" in second


def test_a_changed_view_version_is_refused_not_overwritten(local_cdf: LocalCdfHandle) -> None:
    client = local_cdf.client()
    client.data_modeling.spaces.apply(dm.SpaceApply(SCHEMA))
    client.data_modeling.containers.apply(model.containers(SCHEMA))
    older = next(v for v in model.views(SCHEMA) if v.external_id == "PlexPart")
    older.properties = {"active": dm.MappedPropertyApply(dm.ContainerId(SCHEMA, "PlexRecord"), "active")}
    client.data_modeling.views.apply(older)

    with pytest.raises(SchemaChanged, match="PlexPart/v1 in CDF differs"):
        asyncio.run(apply_schema(local_cdf.async_client(), SCHEMA, SPACES))

    kept = client.data_modeling.views.retrieve(
        (SCHEMA, "PlexPart", model.VERSION), include_inherited_properties=False
    )
    assert set(kept[0].properties) == {"active"}, "the view in CDF was left as it was"


def data_model_views(local_cdf: LocalCdfHandle, version: str) -> list[dm.ViewId]:
    found = local_cdf.client().data_modeling.data_models.retrieve((SCHEMA, model.DATA_MODEL, version))
    assert len(found) == 1, f"no data model {model.DATA_MODEL}/{version}"
    return list(found[0].views)


def test_configured_views_are_listed_in_the_data_model_and_a_changed_list_is_a_new_version(
    local_cdf: LocalCdfHandle,
) -> None:
    po = ConfiguredView("pos", "PlexPo", "raw", (("poNumber", "text"),))
    wider = ConfiguredView("pos", "PlexPo", "raw", (("poNumber", "text"), ("lineItemCount", "int64")))
    lots = ConfiguredView("lots", "PlexLot", "raw", (("lotNo", "text"),))
    client = local_cdf.async_client()

    first = asyncio.run(apply_schema(client, SCHEMA, SPACES, [po, lots]))
    again = asyncio.run(apply_schema(client, SCHEMA, SPACES, [lots, po]))  # the same list, other order
    changed = asyncio.run(apply_schema(client, SCHEMA, SPACES, [wider, lots]))

    one = model.data_model_version([po.view_id(SCHEMA), lots.view_id(SCHEMA)])
    two = model.data_model_version([wider.view_id(SCHEMA), lots.view_id(SCHEMA)])
    assert len({model.VERSION, one, two}) == 3
    assert f"data model {SCHEMA}:{model.DATA_MODEL}/{one}: created" in first
    assert f"data model {SCHEMA}:{model.DATA_MODEL}/{one}: unchanged" in again
    assert f"data model {SCHEMA}:{model.DATA_MODEL}/{two}: created" in changed
    listed = data_model_views(local_cdf, one)
    assert {po.view_id(SCHEMA), lots.view_id(SCHEMA)} <= set(listed)
    assert dm.ViewId(SCHEMA, "PlexJob", model.VERSION) in listed, "plex-cdf's own views stay listed"
    assert cdm.CogniteAssetApply.get_source() in listed
    newer = set(data_model_views(local_cdf, two))
    assert wider.view_id(SCHEMA) in newer and po.view_id(SCHEMA) not in newer
    assert po.view_id(SCHEMA) in data_model_views(local_cdf, one), "the older version was left as it was"


def test_a_data_model_version_listing_other_views_is_refused_not_overwritten(
    local_cdf: LocalCdfHandle,
) -> None:
    po = ConfiguredView("pos", "PlexPo", "raw", (("poNumber", "text"),))
    asyncio.run(apply_schema(local_cdf.async_client(), SCHEMA, SPACES, [po]))
    version = model.data_model_version([po.view_id(SCHEMA)])
    edited = model.data_model(SCHEMA, [po.view_id(SCHEMA)])
    edited.views = [dm.ViewId(SCHEMA, "PlexJob", model.VERSION)]  # someone else's edit of that version
    local_cdf.client().data_modeling.data_models.apply(edited)

    with pytest.raises(SchemaChanged, match=f"{model.DATA_MODEL}/{version} in CDF lists other views"):
        asyncio.run(apply_schema(local_cdf.async_client(), SCHEMA, SPACES, [po]))

    assert data_model_views(local_cdf, version) == [dm.ViewId(SCHEMA, "PlexJob", model.VERSION)]
