"""The local CDF's extraction-pipeline configuration endpoints through the unmodified cognite-sdk: create
revisions, get the latest or one by number, list revisions; what it does not implement is refused."""

from __future__ import annotations

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import ExtractionPipelineConfigWrite, ExtractionPipelineWrite
from cognite.client.exceptions import CogniteAPIError

PIPELINE = "plex-cdf-340884"


@pytest.fixture
def client(local_cdf_client: CogniteClient) -> CogniteClient:
    data_set = local_cdf_client.data_sets.create({"externalId": "ds"})  # type: ignore[arg-type]
    local_cdf_client.extraction_pipelines.create(
        ExtractionPipelineWrite(external_id=PIPELINE, name="plex", data_set_id=data_set.id)
    )
    return local_cdf_client


def test_revisions_count_up_and_the_latest_or_a_numbered_one_comes_back(client: CogniteClient) -> None:
    first = client.extraction_pipelines.config.create(
        ExtractionPipelineConfigWrite(external_id=PIPELINE, config="a: 1\n", description="first")
    )
    second = client.extraction_pipelines.config.create(
        ExtractionPipelineConfigWrite(external_id=PIPELINE, config="a: 2\n")
    )

    latest = client.extraction_pipelines.config.retrieve(PIPELINE)
    numbered = client.extraction_pipelines.config.retrieve(PIPELINE, revision=first.revision)
    listed = client.extraction_pipelines.config.list(PIPELINE)

    assert (first.revision, second.revision) == (1, 2)
    assert (latest.revision, latest.config) == (2, "a: 2\n")
    assert (numbered.revision, numbered.config, numbered.description) == (1, "a: 1\n", "first")
    assert [r.revision for r in listed] == [2, 1], "revisions are listed newest first"
    assert [r.description for r in listed] == [None, "first"]


def test_a_pipeline_without_configuration_answers_404(client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError) as error:
        client.extraction_pipelines.config.retrieve(PIPELINE)
    assert error.value.code == 404


def test_active_at_time_is_refused_as_not_supported(client: CogniteClient) -> None:
    client.extraction_pipelines.config.create(ExtractionPipelineConfigWrite(external_id=PIPELINE, config="a"))

    with pytest.raises(CogniteAPIError) as error:
        client.extraction_pipelines.config.retrieve(PIPELINE, active_at_time=1_700_000_000_000)
    assert error.value.code == 400 and "not supported by the local CDF: activeAtTime" in error.value.message
