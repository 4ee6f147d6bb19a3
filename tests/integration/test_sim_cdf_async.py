"""The local CDF driven by the real cognite-sdk 8 `AsyncCogniteClient` (the client plex-cdf itself uses)."""

from __future__ import annotations

import asyncio

import pytest
from cognite.client import AsyncCogniteClient
from cognite.client.data_classes import (
    AssetWrite,
    DataSetWrite,
    EventWrite,
    RelationshipWrite,
    TimeSeriesWrite,
)
from cognite.client.data_classes.extractionpipelines import (
    ExtractionPipelineRunWrite,
    ExtractionPipelineWrite,
)
from cognite.client.exceptions import CogniteDuplicatedError, CogniteNotFoundError

from tests.integration.conftest import LocalCdfHandle


async def write_a_plant(client: AsyncCogniteClient) -> None:
    data_set = await client.data_sets.create(DataSetWrite(external_id="master", name="master"))
    await client.assets.create_hierarchy(
        [
            AssetWrite(external_id="root", name="Plant", data_set_id=data_set.id),
            AssetWrite(external_id="wc1", name="W1", parent_external_id="root", data_set_id=data_set.id),
        ],
        upsert=True,
    )
    wc1 = await client.assets.retrieve(external_id="wc1")
    assert wc1 is not None
    await client.events.upsert(
        [EventWrite(external_id=f"job-{i}", type="job", asset_ids=[wc1.id]) for i in range(1_500)],
        mode="patch",
    )
    await client.time_series.upsert(TimeSeriesWrite(external_id="oee-wc1", name="OEE W1", asset_id=wc1.id))
    await client.time_series.data.insert(
        [(t * 60_000, 0.5 + t / 1000) for t in range(500)], external_id="oee-wc1"
    )
    await client.relationships.create(RelationshipWrite("bom-1", "root", "asset", "wc1", "asset"))
    await client.raw.rows.insert("PCN1", "jobs", {"job-1": {"status": "open"}}, ensure_parent=True)
    await client.extraction_pipelines.create(
        ExtractionPipelineWrite(external_id="plex-cdf", name="plex-cdf", data_set_id=data_set.id)
    )
    await client.extraction_pipelines.runs.create(ExtractionPipelineRunWrite("plex-cdf", status="success"))


def test_the_async_client_writes_and_reads_every_kind(local_cdf: LocalCdfHandle) -> None:
    async def scenario() -> None:
        client = local_cdf.async_client()
        await write_a_plant(client)
        assert len(await client.events.list(limit=None)) == 1_500
        points = await client.time_series.data.retrieve(external_id="oee-wc1", start=0, end=500 * 60_000)
        assert points is not None and len(points) == 500
        rows = await client.raw.rows.list("PCN1", "jobs", limit=None)
        assert [r.key for r in rows] == ["job-1"]
        runs = await client.extraction_pipelines.runs.list(external_id="plex-cdf", limit=None)
        assert [r.status for r in runs] == ["success"]

    asyncio.run(scenario())
    assert len(local_cdf.cdf.store.assets()) == 2
    assert local_cdf.cdf.store.relationships()[0]["targetExternalId"] == "wc1"


def test_the_async_client_sees_duplicates_and_missing_ids_as_sdk_exceptions(
    local_cdf: LocalCdfHandle,
) -> None:
    async def scenario() -> tuple[list[object], list[object]]:
        client = local_cdf.async_client()
        await client.events.create([EventWrite(external_id="a"), EventWrite(external_id="b")])
        with pytest.raises(CogniteDuplicatedError) as dup:
            await client.events.create([EventWrite(external_id="a"), EventWrite(external_id="b")])
        with pytest.raises(CogniteNotFoundError) as nf:
            await client.events.retrieve_multiple(external_ids=["a", "zz"])
        return list(dup.value.duplicated), list(nf.value.not_found)

    duplicated, not_found = asyncio.run(scenario())
    assert duplicated == [{"externalId": "a"}, {"externalId": "b"}], "the 409 lists every duplicate"
    assert not_found == [{"externalId": "zz"}]
