"""The local CDF behaves like CDF where it claims to and refuses by name what it does not implement.

Driven through the unmodified cognite-sdk 8 wherever the SDK exposes the parameter; raw HTTP otherwise.
"""

from __future__ import annotations

import httpx2
import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import (
    AssetUpdate,
    AssetWrite,
    DataSetWrite,
    EventWrite,
    GeoLocationFilter,
    RelationshipWrite,
    TimeSeriesWrite,
)
from cognite.client.data_classes import filters as flt
from cognite.client.data_classes.assets import AssetProperty
from cognite.client.data_classes.events import EventProperty
from cognite.client.data_classes.extractionpipelines import (
    ExtractionPipelineRunWrite,
    ExtractionPipelineWrite,
)
from cognite.client.data_classes.time_series import TimeSeriesProperty
from cognite.client.exceptions import CogniteAPIError

from tests.integration.conftest import LOCAL_CDF_CLIENT_ID, LOCAL_CDF_SECRET, LocalCdfHandle
from tests.integration.test_sim_cdf import post_raw

REFUSED = "not supported by the local CDF"


def refused(error: pytest.ExceptionInfo[CogniteAPIError], parameter: str) -> bool:
    return error.value.code == 400 and f"{REFUSED}: {parameter}" in error.value.message


def plant(client: CogniteClient) -> None:
    """A root with two children, one of which has a child; metadata and sources to filter on."""
    client.assets.create(
        [
            AssetWrite(external_id="root", name="Plant", metadata={"tz": "Europe/Oslo"}, source="plex"),
            AssetWrite(external_id="line-1", name="Line 1", parent_external_id="root", source="plex"),
            AssetWrite(
                external_id="line-2", name="Line 2", parent_external_id="root", metadata={"tz": "US/Central"}
            ),
            AssetWrite(external_id="press", name="Press", parent_external_id="line-1"),
        ]
    )


# --- refusing what is not implemented, by name ---


@pytest.mark.parametrize(
    ("route", "body", "parameter"),
    [
        ("/assets/list", {"limit": 10, "includeMetadata": True}, "includeMetadata"),
        ("/events/list", {"filter": {}, "search": {"description": "x"}}, "search"),
        ("/timeseries/list", {"filter": {"unitQuantity": "Temperature"}}, "filter.unitQuantity"),
        (
            "/assets/list",
            {"filter": {"createdTime": {"min": 0, "isNull": False}}},
            "filter.createdTime.isNull",
        ),
        ("/relationships/list", {"sort": [{"property": ["createdTime"]}]}, "sort"),
        ("/assets/byids", {"items": [{"id": 1}], "mode": "x"}, "mode"),
        ("/assets", {"items": [{"name": "a"}], "upsert": True}, "upsert"),
        ("/events/update", {"items": [{"id": 1, "update": {}, "mode": "patch"}]}, "items[0].mode"),
        ("/timeseries/delete", {"items": [{"id": 1}], "recursive": True}, "recursive"),
        ("/assets/aggregate", {"aggregate": "uniqueValues", "properties": []}, "properties"),
        ("/assets/aggregate", {"aggregate": "cardinalityValues"}, "aggregate 'cardinalityValues'"),
        (
            "/assets/list",
            {"advancedFilter": {"search": {"property": ["name"], "value": "x"}}},
            "advancedFilter.search",
        ),
        ("/assets/list", {"aggregatedProperties": ["metadataCount"]}, "aggregatedProperties 'metadataCount'"),
        ("/assets/list", {"sort": [{"property": ["_score_"]}]}, "sort[0].property ['_score_']"),
        ("/timeseries/data/list", {"items": [{"id": 1, "timeZone": "Europe/Oslo"}]}, "items[0].timeZone"),
        ("/timeseries/data/list", {"items": [{"id": 1}], "includeStatus": True}, "includeStatus"),
        (
            "/timeseries/data/latest",
            {"items": [{"id": 1, "targetUnit": "temperature:deg_f"}]},
            "items[0].targetUnit",
        ),
        ("/extpipes/runs", {"items": [{"externalId": "p", "status": "seen", "level": 1}]}, "items[0].level"),
        (
            "/extpipes/runs/list",
            {"filter": {"externalId": "p", "message": {"substring": "x"}}},
            "filter.message",
        ),
        ("/raw/dbs/db/tables/t/rows", {"items": [], "ensureParent": True}, "ensureParent"),
        (
            "/raw/dbs/db/tables/t/rows",
            {"items": [{"key": "k", "columns": {}, "lastUpdatedTime": 1}]},
            "items[0].lastUpdatedTime",
        ),
        ("/assets", {"items": [{"name": "a", "labels": [{"externalId": "L"}]}]}, "items[0].labels"),
        (
            "/relationships",
            {"items": [{"externalId": "r", "labels": [{"externalId": "L"}]}]},
            "items[0].labels",
        ),
        (
            "/assets/list",
            {"advancedFilter": {"and": [{"exists": {"property": ["name"]}}, {"containsAll": {}}]}},
            "advancedFilter.and[1].containsAll",
        ),
        (
            "/events/list",
            {"advancedFilter": {"equals": {"property": ["assetIds"], "value": 1}}},
            "advancedFilter.equals on the list property ['assetIds']",
        ),
        (
            "/timeseries/list",
            {"advancedFilter": {"exists": {"property": ["assetRootId"]}}},
            "advancedFilter.exists.property ['assetRootId']",
        ),
        (
            "/assets/list",
            {"sort": [{"property": ["name"]}, {"property": ["source"]}]},
            "sort by more than one",
        ),
        ("/assets/list", {"sort": [{"property": ["metadata", "tz"]}]}, "sort[0].property ['metadata', 'tz']"),
        (
            "/timeseries/data/list",
            {"items": [{"id": 1, "ignoreBadDataPoints": False}]},
            "items[0].ignoreBadDataPoints",
        ),
        ("/assets", {"items": [{"name": "a", "geoLocation": {"type": "Feature"}}]}, "items[0].geoLocation"),
        ("/timeseries", {"items": [{"securityCategories": [1]}]}, "items[0].securityCategories"),
    ],
)
def test_an_unimplemented_key_is_refused_by_name(
    local_cdf: LocalCdfHandle,
    local_cdf_client: CogniteClient,
    route: str,
    body: dict[str, object],
    parameter: str,
) -> None:
    answer = post_raw(local_cdf, local_cdf_client, route, body)
    assert answer.status_code == 400, f"{route} must refuse {parameter}, not answer {answer.status_code}"
    assert f"{REFUSED}: {parameter}" in answer.json()["error"]["message"]


def test_an_unimplemented_query_parameter_is_refused_by_name(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    headers = {"Authorization": local_cdf_client.config.credentials.authorization_header()[1]}
    base = f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf"
    answer = httpx2.get(f"{base}/assets", params={"limit": 5, "includeMetadata": "false"}, headers=headers)
    assert answer.status_code == 400
    assert f"{REFUSED}: query parameter includeMetadata" in answer.json()["error"]["message"]
    fine = httpx2.get(f"{base}/assets", params={"limit": 5}, headers=headers)
    assert fine.status_code == 200, "the implemented parameters still work"


def test_sdk_options_the_local_cdf_lacks_are_refused_not_ignored(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    client.time_series.create(
        TimeSeriesWrite(external_id="t", name="t", unit_external_id="temperature:deg_c")
    )
    client.time_series.data.insert([(1_000, 20.0)], external_id="t")
    with pytest.raises(CogniteAPIError) as unit:
        client.time_series.data.retrieve(external_id="t", start=0, end=2_000, target_unit="temperature:deg_f")
    assert refused(unit, "items[0].targetUnit")
    with pytest.raises(CogniteAPIError) as system:
        client.time_series.data.retrieve(external_id="t", start=0, end=2_000, target_unit_system="Imperial")
    assert refused(system, "items[0].targetUnitSystem")
    with pytest.raises(CogniteAPIError) as status:
        client.time_series.data.insert(
            [{"timestamp": 2_000, "value": 1.0, "status": {"code": 2147483648}}], external_id="t"
        )
    assert refused(status, "items[0].datapoints[0].status")
    with pytest.raises(CogniteAPIError) as geo:
        client.assets.list(geo_location=GeoLocationFilter(relation="within", shape={"type": "Point"}))
    assert refused(geo, "filter.geoLocation")
    with pytest.raises(CogniteAPIError) as contains:
        client.assets.list(advanced_filter=flt.ContainsAny(AssetProperty.labels, ["L"]))
    assert refused(contains, "advancedFilter.containsAny")


# --- advancedFilter, sort, aggregatedProperties ---


def test_advanced_filter_leaves_and_combinations_on_assets(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    plant(client)

    def xids(advanced: flt.Filter) -> list[str | None]:
        return sorted(a.external_id for a in client.assets.list(advanced_filter=advanced, limit=None))

    assert xids(flt.Equals(AssetProperty.name, "Line 1")) == ["line-1"]
    assert xids(flt.In(AssetProperty.external_id, ["press", "root", "nope"])) == ["press", "root"]
    assert xids(flt.Prefix(AssetProperty.metadata_key("tz"), "Europe")) == ["root"]
    assert xids(flt.Exists(AssetProperty.metadata_key("tz"))) == ["line-2", "root"]
    assert xids(flt.Exists(AssetProperty.source)) == ["line-1", "root"]
    assert xids(flt.Not(flt.Exists(AssetProperty.parent_id))) == ["root"]
    assert xids(flt.And(flt.Prefix(AssetProperty.name, "Line"), flt.Not(flt.Equals("source", "plex")))) == [
        "line-2"
    ]
    assert xids(flt.Or(flt.Equals(AssetProperty.name, "Press"), flt.Equals(AssetProperty.name, "Plant"))) == [
        "press",
        "root",
    ]
    ids = {a.external_id: a.id for a in client.assets.list(limit=None)}
    assert xids(flt.Range(AssetProperty.id, gt=ids["root"], lte=ids["line-2"])) == ["line-1", "line-2"]
    assert client.assets.aggregate_count(advanced_filter=flt.Prefix(AssetProperty.name, "Line")) == 2
    combined = client.assets.list(
        parent_external_ids=["root"], advanced_filter=flt.Exists(AssetProperty.metadata_key("tz"))
    )
    assert [a.external_id for a in combined] == ["line-2"], "filter and advancedFilter must both hold"


def test_advanced_filter_on_events_and_time_series(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    asset = client.assets.create(AssetWrite(external_id="a", name="a"))
    client.events.create(
        [
            EventWrite(external_id="e1", type="job", start_time=1_000, end_time=2_000, asset_ids=[asset.id]),
            EventWrite(external_id="e2", type="job", start_time=5_000),
            EventWrite(external_id="e3", type="scrap", start_time=9_000, end_time=9_500),
        ]
    )
    found = client.events.list(
        advanced_filter=flt.And(
            flt.Equals(EventProperty.type, "job"), flt.Range(EventProperty.start_time, gte=2_000)
        ),
        limit=None,
    )
    assert [e.external_id for e in found] == ["e2"]
    open_ended = client.events.list(advanced_filter=flt.Not(flt.Exists(EventProperty.end_time)), limit=None)
    assert [e.external_id for e in open_ended] == ["e2"]
    linked = client.events.list(advanced_filter=flt.Exists(EventProperty.asset_ids), limit=None)
    assert [e.external_id for e in linked] == ["e1"], "exists on a list property means non-empty"
    client.time_series.create(
        [
            TimeSeriesWrite(external_id="t1", name="speed", is_step=True),
            TimeSeriesWrite(external_id="t2", name="temperature"),
        ]
    )
    steps = client.time_series.list(advanced_filter=flt.Equals(TimeSeriesProperty.is_step, True), limit=None)
    assert [t.external_id for t in steps] == ["t1"]


def test_sort_orders_every_page_of_a_long_list(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    client.events.create(
        [EventWrite(external_id=f"e{i:04d}", start_time=(i * 7_919) % 2_500) for i in range(2_500)]
        + [EventWrite(external_id="no-start")]
    )
    events = client.events.list(sort=("startTime", "desc"), limit=None)
    starts = [e.start_time for e in events]
    assert len(events) == 2_501, "paging a sorted list must neither lose nor repeat items"
    assert starts[:-1] == sorted((s for s in starts if s is not None), reverse=True)
    assert events[-1].external_id == "no-start", "a missing value sorts last unless nulls=first"
    first = client.events.list(sort=("startTime", "asc", "first"), limit=2)
    assert [e.external_id for e in first] == ["no-start", "e0000"]
    with pytest.raises(ValueError, match="partitions"):  # the SDK refuses it client-side; raw HTTP below
        client.events.list(sort=("startTime", "asc"), partitions=2, limit=None)
    plant(client)
    by_name = client.assets.list(sort=("name", "asc"), limit=None)
    assert [a.name for a in by_name] == ["Line 1", "Line 2", "Plant", "Press"]


def test_asset_aggregated_properties_count_children_and_give_path_and_depth(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    client = local_cdf_client
    plant(client)
    ids = {a.external_id: a.id for a in client.assets.list(limit=None)}
    listed = client.assets.list(aggregated_properties=["child_count", "path", "depth"], limit=None)
    aggregates = {a.external_id: a.aggregates for a in listed}
    assert aggregates["root"].child_count == 2
    assert aggregates["line-1"].child_count == 1
    assert aggregates["press"].child_count == 0
    assert aggregates["press"].depth == 2
    assert aggregates["root"].depth == 0
    assert aggregates["press"].path == [{"id": ids["root"]}, {"id": ids["line-1"]}, {"id": ids["press"]}]
    only_count = client.assets.list(aggregated_properties=["child_count"], limit=1)[0].aggregates
    assert only_count.dump(camel_case=True) == {"childCount": 2}, "only the asked-for aggregates"
    plain = post_raw(local_cdf, client, "/assets/byids", {"items": [{"id": ids["root"]}]}).json()["items"][0]
    assert "aggregates" not in plain
    asked = post_raw(
        local_cdf,
        client,
        "/assets/byids",
        {"items": [{"id": ids["line-1"]}], "aggregatedProperties": ["depth"]},
    )
    assert asked.json()["items"][0]["aggregates"] == {"depth": 1}


# --- relationships ---


def test_relationship_types_are_spelt_as_cdf_does_and_filter_in_any_case(
    local_cdf_client: CogniteClient,
) -> None:
    client = local_cdf_client
    client.assets.create(AssetWrite(external_id="a", name="a"))
    client.time_series.create(TimeSeriesWrite(external_id="t", name="t"))
    made = client.relationships.create(
        RelationshipWrite(
            external_id="r",
            source_external_id="a",
            source_type="asset",
            target_external_id="t",
            target_type="timeseries",
            confidence=0.5,
        )
    )
    assert made.target_type == "timeSeries"
    assert [r.external_id for r in client.relationships.list(target_types=["timeSeries"])] == ["r"]
    assert [r.external_id for r in client.relationships.list(target_types=["timeseries"])] == ["r"]
    assert [r.external_id for r in client.relationships.list(confidence={"min": 0.4, "max": 0.6})] == ["r"]
    assert client.relationships.list(confidence={"min": 0.6}) == []


def test_fetch_resources_embeds_source_and_target(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    asset = client.assets.create(AssetWrite(external_id="a", name="a"))
    series = client.time_series.create(TimeSeriesWrite(external_id="t", name="t"))
    client.relationships.create(RelationshipWrite("r", "a", "asset", "t", "timeSeries"))
    listed = client.relationships.list(source_external_ids=["a"], fetch_resources=True)
    assert listed[0].source == asset
    assert listed[0].target == series
    retrieved = client.relationships.retrieve_multiple(external_ids=["r"], fetch_resources=True)
    assert retrieved[0].source == asset and retrieved[0].target == series
    assert client.relationships.list(source_external_ids=["a"])[0].source is None, "only when asked"


# --- datapoints ---


def test_include_outside_points_with_a_cutting_limit_keeps_the_point_after(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    client = local_cdf_client
    client.time_series.create(TimeSeriesWrite(external_id="t", name="t"))
    client.time_series.data.insert([(ts, float(ts)) for ts in range(0, 10_000, 1_000)], external_id="t")
    with pytest.warns(UserWarning, match="include_outside_points"):
        points = client.time_series.data.retrieve(
            external_id="t", start=2_000, end=8_000, limit=3, include_outside_points=True
        )
    assert list(points.timestamp) == [1_000, 2_000, 3_000, 4_000, 8_000]
    body = {
        "items": [{"externalId": "t", "start": 2_000, "end": 8_000, "limit": 3, "includeOutsidePoints": True}]
    }
    item = post_raw(local_cdf, client, "/timeseries/data/list", body).json()["items"][0]
    assert "nextCursor" not in item, "CDF returns no cursor for this request shape"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "2d-ago"}, f"{REFUSED}: start '2d-ago'"),
        ({"granularity": "1h"}, "granularity: only allowed with aggregates"),
        (
            {"aggregates": ["average"], "granularity": "1h", "includeOutsidePoints": True},
            "includeOutsidePoints: not allowed with aggregates",
        ),
    ],
)
def test_datapoint_queries_cdf_refuses_or_the_local_cdf_lacks_are_400(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient, query: dict[str, object], message: str
) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="t"))
    answer = post_raw(
        local_cdf, local_cdf_client, "/timeseries/data/list", {"items": [{"externalId": "t", **query}]}
    )
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


# --- response shapes ---


def test_an_update_with_set_and_another_operation_is_refused(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.assets.create(AssetWrite(external_id="a", name="a", description="d"))
    body = {"items": [{"externalId": "a", "update": {"description": {"set": "x", "setNull": True}}}]}
    answer = post_raw(local_cdf, local_cdf_client, "/assets/update", body)
    assert answer.status_code == 400 and "items[0].update.description" in answer.json()["error"]["message"]
    assert local_cdf.cdf.store.assets()[0]["description"] == "d", "nothing of a refused request is applied"


def test_nulls_are_left_out_of_answers(local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient) -> None:
    body = {"items": [{"externalId": "e", "description": None, "type": "job"}]}
    created = post_raw(local_cdf, local_cdf_client, "/events", body).json()["items"][0]
    assert "description" not in created and created["type"] == "job"
    sorted_with_partition = post_raw(
        local_cdf, local_cdf_client, "/events/list", {"sort": [{"property": ["type"]}], "partition": "1/2"}
    )
    assert sorted_with_partition.status_code == 400


def test_assets_leave_out_labels_when_none_are_set(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    client = local_cdf_client
    created = post_raw(
        local_cdf, client, "/assets", {"items": [{"externalId": "a", "name": "a", "labels": []}]}
    )
    assert "labels" not in created.json()["items"][0]
    assert "labels" not in local_cdf.cdf.store.assets()[0]
    # CDF checks labels against label definitions, which this server does not keep: refused, not stored.
    with pytest.raises(CogniteAPIError) as error:
        client.assets.update(AssetUpdate(external_id="a").labels.add(["L"]))
    assert refused(error, "items[0].update.labels")


def test_extraction_pipelines_answer_as_cdf_does(local_cdf_client: CogniteClient) -> None:
    client = local_cdf_client
    data_set = client.data_sets.create(DataSetWrite(external_id="ds", name="ds"))
    client.extraction_pipelines.create(
        ExtractionPipelineWrite(external_id="p", name="p", data_set_id=data_set.id, metadata={})
    )
    pipe = client.extraction_pipelines.retrieve(external_id="p")
    assert pipe is not None
    assert (pipe.last_success, pipe.last_failure, pipe.last_seen) == (0, 0, 0), "a new pipeline saw no run"
    assert pipe.metadata is None, "an empty metadata is left out"
    run = client.extraction_pipelines.runs.create(
        ExtractionPipelineRunWrite(extpipe_external_id="p", status="seen")
    )
    assert run.extpipe_external_id == "p", "the run-create answer names the pipeline"
    seen = client.extraction_pipelines.retrieve(external_id="p")
    assert seen is not None and seen.last_seen != 0 and seen.last_success == 0


def test_byids_with_a_repeated_id_is_a_400(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    client = local_cdf_client
    asset = client.assets.create(AssetWrite(external_id="a", name="a"))
    with pytest.raises(CogniteAPIError) as error:
        client.assets.retrieve_multiple(ids=[asset.id, asset.id])
    assert error.value.code == 400, "not the item twice"
    body = {"items": [{"externalId": "a"}, {"externalId": "a"}]}
    answer = post_raw(local_cdf, client, "/assets/byids", body)
    assert answer.status_code == 400 and answer.json()["error"]["duplicated"] == [{"externalId": "a"}]


def test_get_by_id_serves_assets_events_and_time_series(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    client = local_cdf_client
    made = {
        "assets": client.assets.create(AssetWrite(external_id="a", name="a")).id,
        "events": client.events.create(EventWrite(external_id="e")).id,
        "timeseries": client.time_series.create(TimeSeriesWrite(external_id="t")).id,
    }
    headers = {"Authorization": client.config.credentials.authorization_header()[1]}
    base = f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf"
    for resource, internal in made.items():
        answer = httpx2.get(f"{base}/{resource}/{internal}", headers=headers)
        assert answer.status_code == 200 and answer.json()["id"] == internal
    unknown = httpx2.get(f"{base}/assets/{made['timeseries'] + 1000}", headers=headers)
    assert unknown.status_code == 400 and unknown.json()["error"]["missing"] == [
        {"id": made["timeseries"] + 1000}
    ]


# --- token endpoint ---


def test_the_token_endpoint_takes_client_credentials_by_http_basic(local_cdf: LocalCdfHandle) -> None:
    url = local_cdf.server.token_url
    form = {"grant_type": "client_credentials"}
    good = httpx2.post(url, data=form, auth=(LOCAL_CDF_CLIENT_ID, LOCAL_CDF_SECRET))
    assert good.status_code == 200 and good.json()["token_type"] == "Bearer"
    wrong = httpx2.post(url, data=form, auth=(LOCAL_CDF_CLIENT_ID, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    both = httpx2.post(
        url, data={**form, "client_secret": LOCAL_CDF_SECRET}, auth=(LOCAL_CDF_CLIENT_ID, LOCAL_CDF_SECRET)
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request", "one method, not two"
    token = good.json()["access_token"]
    listed = httpx2.post(
        f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf/assets/list",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert listed.status_code == 200
