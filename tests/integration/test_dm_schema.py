"""The data-modeling target's schema: `setup` applies spaces, containers, views and PlexManufacturing v1
to the local CDF; a repeat changes nothing; a changed view version is refused, never overwritten."""

from __future__ import annotations

import asyncio

import pytest
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling.cdm import v1 as cdm

from plex_cdf.cdf.dm import model
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
