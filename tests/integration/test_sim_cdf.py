"""The local CDF, driven by the real cognite-sdk 8 `CogniteClient` over every route plex-cdf uses."""

from __future__ import annotations

import httpx2
import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import (
    AssetUpdate,
    AssetWrite,
    DataSetWrite,
    EventFilter,
    EventWrite,
    RelationshipWrite,
    TimeSeriesWrite,
)
from cognite.client.data_classes.extractionpipelines import (
    ExtractionPipelineRunWrite,
    ExtractionPipelineWrite,
)
from cognite.client.exceptions import (
    CogniteAPIError,
    CogniteDuplicatedError,
    CogniteNotFoundError,
    CogniteOAuthError,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plex_cdf.sim.cdf import LocalCdf
from tests.integration.conftest import LocalCdfHandle


def hierarchy() -> list[AssetWrite]:
    return [
        AssetWrite(external_id="PCN1_facility_1", name="Plant 1"),
        AssetWrite(external_id="PCN1_building_A", name="Building A", parent_external_id="PCN1_facility_1"),
        AssetWrite(external_id="PCN1_workcenter_W1", name="W1 - Press", parent_external_id="PCN1_building_A"),
        AssetWrite(external_id="PCN1_workcenter_W2", name="W2 - Lathe", parent_external_id="PCN1_building_A"),
    ]


def by_xid(items: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {item.get("externalId"): item for item in items}


# --- auth ---


def test_a_wrong_client_secret_is_refused_with_an_oauth_error(local_cdf: LocalCdfHandle) -> None:
    client = CogniteClient(local_cdf.client_config(client_secret="wrong"))
    with pytest.raises(CogniteOAuthError, match="invalid_client"):
        client.assets.list(limit=1)


def test_project_routes_require_a_bearer_token(local_cdf: LocalCdfHandle) -> None:
    url = f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf/assets/list"
    answer = httpx2.post(url, json={})
    assert answer.status_code == 401, "a request without a token must be refused, as CDF does"
    assert answer.json()["error"]["code"] == 401
    assert answer.headers["x-request-id"], "every answer carries a request id"


def test_token_inspect_names_the_project(local_cdf_client: CogniteClient) -> None:
    inspection = local_cdf_client.iam.token.inspect()
    assert [p.url_name for p in inspection.projects] == ["plex-cdf"]


# --- assets ---


def test_create_hierarchy_computes_root_ids_and_upserts_on_the_second_run(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    first = local_cdf_client.assets.create_hierarchy(hierarchy(), upsert=True)
    root_id = first.get(external_id="PCN1_facility_1").id
    assert {a.root_id for a in first} == {root_id}, "every asset of one hierarchy shares the root's id"

    renamed = hierarchy()
    renamed[2] = AssetWrite(
        external_id="PCN1_workcenter_W1", name="W1 - Big press", parent_external_id="PCN1_building_A"
    )
    local_cdf_client.assets.create_hierarchy(renamed, upsert=True, upsert_mode="patch")

    stored = by_xid(local_cdf.cdf.store.assets())
    assert len(stored) == 4, "an upsert must not create duplicates"
    assert stored["PCN1_workcenter_W1"]["name"] == "W1 - Big press"
    assert stored["PCN1_workcenter_W1"]["parentExternalId"] == "PCN1_building_A"
    assert local_cdf.cdf.request_counts()["POST /assets/update"] >= 1, (
        "duplicates are updated, not re-created"
    )


def test_duplicate_external_ids_reject_the_request_and_list_every_clash(
    local_cdf_client: CogniteClient,
) -> None:
    local_cdf_client.assets.create(hierarchy()[:2])
    with pytest.raises(CogniteDuplicatedError) as caught:
        local_cdf_client.assets.create(
            [
                *hierarchy()[:2],
                AssetWrite(external_id="new", name="new", parent_external_id="PCN1_facility_1"),
            ]
        )
    assert sorted(d["externalId"] for d in caught.value.duplicated) == ["PCN1_building_A", "PCN1_facility_1"]
    assert local_cdf_client.assets.retrieve(external_id="new") is None, "one clash rejects the whole request"


def test_an_unknown_parent_is_reported_missing(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.assets.create(
            AssetWrite(external_id="orphan", name="o", parent_external_id="nowhere")
        )
    assert caught.value.not_found == [{"externalId": "nowhere"}]


def test_an_unknown_data_set_is_reported_missing(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.assets.create(AssetWrite(external_id="a", name="a", data_set_id=42))
    assert caught.value.not_found == [{"id": 42}]


def test_one_item_over_a_field_limit_rejects_the_whole_request(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    with pytest.raises(CogniteAPIError) as caught:
        local_cdf_client.assets.create(
            [AssetWrite(external_id="ok", name="fine"), AssetWrite(external_id="bad", name="n" * 141)]
        )
    assert caught.value.code == 400
    assert "items[1].name: size must be between 1 and 140" in caught.value.message
    assert local_cdf.cdf.store.assets() == [], "nothing of a rejected request may be stored"


def test_metadata_limits_are_enforced_with_cdf_shaped_messages(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="at most 256 keys"):
        local_cdf_client.assets.create(
            AssetWrite(external_id="m", name="m", metadata={f"k{i}": "v" for i in range(257)})
        )
    with pytest.raises(CogniteAPIError, match="exceeds 128 bytes"):
        local_cdf_client.events.create(EventWrite(external_id="e", metadata={"k" * 129: "v"}))
    with pytest.raises(CogniteAPIError, match="externalId: size must be between 1 and 255"):
        local_cdf_client.time_series.create(TimeSeriesWrite(external_id="x" * 256))


def test_a_move_stays_under_its_root_as_cdf_requires(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.assets.create_hierarchy(
        [*hierarchy(), AssetWrite(external_id="PCN2_facility_2", name="Plant 2")]
    )
    with pytest.raises(CogniteAPIError, match="Asset must stay within same asset hierarchy") as error:
        local_cdf_client.assets.update(
            AssetUpdate(external_id="PCN1_building_A").parent_external_id.set("PCN2_facility_2")
        )
    assert error.value.code == 400
    with pytest.raises(CogniteAPIError, match="Asset must stay within same asset hierarchy"):
        local_cdf_client.assets.update(
            AssetUpdate(external_id="PCN2_facility_2").parent_external_id.set("PCN1_building_A")
        )
    moved = local_cdf_client.assets.update(
        AssetUpdate(external_id="PCN1_workcenter_W2").parent_external_id.set("PCN1_facility_1")
    )
    root_1 = local_cdf_client.assets.retrieve(external_id="PCN1_facility_1")
    assert root_1 is not None and moved.parent_id == root_1.id and moved.root_id == root_1.id


def test_update_adds_and_removes_metadata_and_clears_with_set_null(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.assets.create(
        AssetWrite(external_id="a", name="a", description="d", metadata={"x": "1", "y": "2"})
    )
    updated = local_cdf_client.assets.update(
        AssetUpdate(external_id="a").metadata.add({"z": "3"}).metadata.remove(["x"]).description.set(None)
    )
    assert updated.metadata == {"y": "2", "z": "3"}
    assert updated.description is None


def test_updating_an_unknown_asset_reports_it_missing(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.assets.update(AssetUpdate(external_id="ghost").name.set("x"))
    assert caught.value.not_found == [{"externalId": "ghost"}]


def test_delete_refuses_to_orphan_children_unless_recursive(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.assets.create_hierarchy(hierarchy())
    with pytest.raises(CogniteAPIError, match="has children"):
        local_cdf_client.assets.delete(external_id="PCN1_building_A")
    local_cdf_client.assets.delete(external_id="PCN1_building_A", recursive=True)
    assert [a.external_id for a in local_cdf_client.assets.list(limit=None)] == ["PCN1_facility_1"]
    local_cdf_client.assets.delete(external_id="gone", ignore_unknown_ids=True)


def test_asset_list_filters_by_parent_root_data_set_prefix_metadata_and_source(
    local_cdf_client: CogniteClient,
) -> None:
    data_set = local_cdf_client.data_sets.create(DataSetWrite(external_id="master", name="master"))
    assets = hierarchy()
    assets[2] = AssetWrite(
        external_id="PCN1_workcenter_W1",
        name="W1",
        parent_external_id="PCN1_building_A",
        data_set_id=data_set.id,
        metadata={"plexId": "7"},
        source="plex",
    )
    created = local_cdf_client.assets.create_hierarchy(assets)
    building = created.get(external_id="PCN1_building_A")
    root = created.get(external_id="PCN1_facility_1")
    assert len(local_cdf_client.assets.list(parent_ids=[building.id], limit=None)) == 2
    assert len(local_cdf_client.assets.list(asset_subtree_ids=[building.id], limit=None)) == 3
    assert local_cdf_client.assets.aggregate_count(filter={"rootIds": [{"id": root.id}]}) == 4
    assert len(local_cdf_client.assets.list(external_id_prefix="PCN1_work", limit=None)) == 2
    only = local_cdf_client.assets.list(data_set_ids=[data_set.id], metadata={"plexId": "7"}, source="plex")
    assert [a.external_id for a in only] == ["PCN1_workcenter_W1"]
    assert local_cdf_client.assets.aggregate_count(filter={"parentIds": [building.id]}) == 2


def test_byids_with_ignore_unknown_ids_returns_only_the_known(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.assets.create_hierarchy(hierarchy())
    found = local_cdf_client.assets.retrieve_multiple(
        external_ids=["PCN1_facility_1", "nope"], ignore_unknown_ids=True
    )
    assert [a.external_id for a in found] == ["PCN1_facility_1"]
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.assets.retrieve_multiple(external_ids=["PCN1_facility_1", "nope"])
    assert caught.value.not_found == [{"externalId": "nope"}]


# --- events ---


def test_event_upsert_patch_keeps_and_replace_clears_unset_fields(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    original = EventWrite(
        external_id="job-1", type="job", subtype="open", description="d", metadata={"a": "1"}
    )
    local_cdf_client.events.upsert(original, mode="patch")
    local_cdf_client.events.upsert(
        EventWrite(external_id="job-1", type="job", metadata={"b": "2"}), mode="patch"
    )
    patched = by_xid(local_cdf.cdf.store.events())["job-1"]
    assert patched["metadata"] == {"a": "1", "b": "2"}, "patch merges metadata"
    assert patched["subtype"] == "open", "patch leaves unset fields alone"

    local_cdf_client.events.upsert(
        EventWrite(external_id="job-1", type="job", metadata={"c": "3"}), mode="replace"
    )
    replaced = by_xid(local_cdf.cdf.store.events())["job-1"]
    assert replaced["metadata"] == {"c": "3"}, "replace overwrites metadata"
    assert "subtype" not in replaced and "description" not in replaced, "replace clears unset fields"
    assert len(local_cdf.cdf.store.events()) == 1


def test_event_list_pages_over_more_than_2500_items_with_filters(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    root = local_cdf_client.assets.create(AssetWrite(external_id="root", name="root"))
    events = [
        EventWrite(
            external_id=f"ev-{i}",
            type="production" if i % 2 else "scrap",
            start_time=1_000 * i,
            end_time=1_000 * i + 500,
            asset_ids=[root.id] if i % 3 == 0 else None,
        )
        for i in range(2_600)
    ]
    local_cdf_client.events.create(events)
    everything = local_cdf_client.events.list(limit=None)
    assert len(everything) == 2_600, "paging must return every event exactly once"
    assert len({e.id for e in everything}) == 2_600
    assert local_cdf.cdf.request_counts()["POST /events/list"] >= 3, "2,600 events need at least 3 pages"
    scrap = local_cdf_client.events.list(type="scrap", limit=None)
    assert len(scrap) == 1_300
    windowed = local_cdf_client.events.list(start_time={"min": 10_000, "max": 19_000}, limit=None)
    assert len(windowed) == 10
    active = local_cdf_client.events.list(active_at_time={"min": 10_400, "max": 11_200}, limit=None)
    assert sorted(e.external_id for e in active) == ["ev-10", "ev-11"], "overlap, not containment"
    linked = local_cdf_client.events.list(asset_ids=[root.id], limit=None)
    assert len(linked) == 867
    assert local_cdf_client.events.aggregate_count(filter=EventFilter(type="production")) == 1_300


def test_an_event_may_not_end_before_it_starts(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="endTime: must be greater than or equal to startTime"):
        local_cdf_client.events.create(EventWrite(external_id="e", start_time=2_000, end_time=1_000))


def test_an_external_id_where_an_internal_id_belongs_is_refused(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteAPIError, match="assetIds: expected a list of integer ids"):
        local_cdf_client.events.create(EventWrite(external_id="e", asset_ids=["PCN1_workcenter_W1"]))  # type: ignore[list-item]


def test_event_asset_ids_must_exist(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.events.create(EventWrite(external_id="e", asset_ids=[123]))
    assert caught.value.not_found == [{"id": 123}]


# --- time series and datapoints ---


def test_time_series_defaults_and_filters(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.time_series.create(
        [
            TimeSeriesWrite(external_id="oee", name="OEE", unit="%"),
            TimeSeriesWrite(external_id="status", name="Status", is_string=True, is_step=True),
        ]
    )
    oee = local_cdf_client.time_series.retrieve(external_id="oee")
    assert oee is not None and oee.is_string is False and oee.is_step is False, "CDF defaults both to false"
    assert [t.external_id for t in local_cdf_client.time_series.list(is_string=True)] == ["status"]
    assert [t.external_id for t in local_cdf_client.time_series.list(unit="%")] == ["oee"]
    assert [t.external_id for t in local_cdf_client.time_series.list(is_step=True)] == ["status"]


def test_datapoints_round_trip_through_protobuf_retrieval(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.time_series.create(
        [
            TimeSeriesWrite(external_id="good", name="good"),
            TimeSeriesWrite(external_id="state", is_string=True),
        ]
    )
    n = 120_000
    local_cdf_client.time_series.data.insert([(1_000 * i, float(i)) for i in range(n)], external_id="good")
    local_cdf_client.time_series.data.insert([(1_000, "RUNNING"), (2_000, "DOWN")], external_id="state")
    local_cdf_client.time_series.data.insert([(0, -1.0)], external_id="good")  # same timestamp overwrites

    numeric = local_cdf_client.time_series.data.retrieve(external_id="good", start=0, end=1_000 * n)
    assert numeric is not None and len(numeric) == n, "every inserted point comes back once"
    assert numeric.value[0] == -1.0 and numeric.value[-1] == float(n - 1)
    strings = local_cdf_client.time_series.data.retrieve(external_id="state", start=0, end=10_000)
    assert strings is not None and list(strings.value) == ["RUNNING", "DOWN"]
    counts = local_cdf.cdf.request_counts()
    assert counts["POST /timeseries/data"] >= 4, "120,000 points need two insert requests (100,000 each)"
    assert counts["POST /timeseries/data/list"] >= 2, "120,000 points need two pages"


def test_aggregates_bucket_by_granularity_aligned_to_its_unit(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="oee"))
    minutes = 3 * 24 * 60
    local_cdf_client.time_series.data.insert(
        [(t * 60_000, float(t)) for t in range(minutes)], external_id="oee"
    )
    hourly = local_cdf_client.time_series.data.retrieve(
        external_id="oee",
        start=0,
        end=minutes * 60_000,
        aggregates=["average", "count", "max"],
        granularity="1h",
    )
    assert hourly is not None and len(hourly) == 72
    assert list(hourly.count[:2]) == [60, 60] and list(hourly.average[:2]) == [29.5, 89.5]
    assert list(hourly.max[:2]) == [59.0, 119.0]
    shifted = local_cdf_client.time_series.data.retrieve(
        external_id="oee", start=30 * 60_000, end=minutes * 60_000, aggregates="sum", granularity="2h"
    )
    assert shifted is not None and shifted.timestamp[0] == 0, "start is floored to the unit (1h), as CDF does"
    daily = local_cdf_client.time_series.data.retrieve(
        external_id="oee", start=0, end=minutes * 60_000, aggregates="count", granularity="1d"
    )
    assert daily is not None and list(daily.count) == [1_440, 1_440, 1_440]


def test_unsupported_aggregates_are_refused_by_name(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="oee"))
    local_cdf_client.time_series.data.insert([(0, 1.0)], external_id="oee")
    with pytest.raises(CogniteAPIError, match=r"continuousVariance.*not supported by the local CDF"):
        local_cdf_client.time_series.data.retrieve(
            external_id="oee", start=0, end=1_000, aggregates="continuous_variance", granularity="1h"
        )


def test_datapoints_answer_json_when_protobuf_is_not_asked_for(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="j"))
    local_cdf_client.time_series.data.insert([(1_000, 1.5), (2_000, 2.5), (3_000, 3.5)], external_id="j")
    token = local_cdf_client.config.credentials.authorization_header()[1]
    answer = httpx2.post(
        f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf/timeseries/data/list",
        json={"items": [{"externalId": "j", "start": 0, "end": 10_000, "limit": 2}]},
        headers={"Authorization": token},
    )
    item = answer.json()["items"][0]
    assert item["datapoints"] == [{"timestamp": 1_000, "value": 1.5}, {"timestamp": 2_000, "value": 2.5}]
    assert item["nextCursor"], "a page that stops at the limit carries a cursor to the rest"


def post_raw(
    local_cdf: LocalCdfHandle, client: CogniteClient, route: str, body: dict[str, object]
) -> httpx2.Response:
    """A request the SDK would have split or refused client-side, sent as is."""
    return httpx2.post(
        f"{local_cdf.server.base_url}/api/v1/projects/plex-cdf{route}",
        json=body,
        headers={"Authorization": client.config.credentials.authorization_header()[1]},
        timeout=60,
    )


def test_request_size_limits_are_enforced(local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient) -> None:
    assets = {"items": [{"externalId": f"a{i}", "name": "a"} for i in range(1_001)]}
    answer = post_raw(local_cdf, local_cdf_client, "/assets", assets)
    assert answer.status_code == 400
    assert "items: size must be between 1 and 1000, got 1001" in answer.json()["error"]["message"]
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="big"))
    points = [{"timestamp": t, "value": 1.0} for t in range(100_001)]
    answer = post_raw(
        local_cdf,
        local_cdf_client,
        "/timeseries/data",
        {"items": [{"externalId": "big", "datapoints": points}]},
    )
    assert answer.status_code == 400
    assert "at most 100000 datapoints, got 100001" in answer.json()["error"]["message"]
    assert local_cdf.cdf.store.datapoints("big") == [], "an oversized insert stores nothing"


def test_the_same_series_twice_in_one_insert_is_a_422(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="twice"))
    item = {"externalId": "twice", "datapoints": [{"timestamp": 1, "value": 1.0}]}
    answer = post_raw(local_cdf, local_cdf_client, "/timeseries/data", {"items": [item, item]})
    assert answer.status_code == 422
    assert answer.json()["error"]["duplicated"] == [{"externalId": "twice"}]


def test_a_short_token_lifetime_makes_the_sdk_refresh() -> None:
    short = LocalCdf(token_ttl_s=1)
    with short.serve() as server:
        client = LocalCdfHandle(short, server).client()
        for _ in range(3):
            client.assets.list(limit=1)
    counts = short.request_counts()
    assert counts["POST /assets/list"] == 3, "every list was answered with a renewed, valid token"
    assert counts["POST /oauth2/token"] >= 3, "a token inside the SDK's 30 s leeway is renewed per request"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(
            st.tuples(
                st.integers(min_value=-2_208_988_800_000, max_value=4_102_444_799_999),
                st.floats(min_value=-1e100, max_value=1e100, allow_nan=False),
            ),
            min_size=1,
            max_size=50,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_datapoints_read_back_as_the_last_write_per_timestamp(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient, batches: list[list[tuple[int, float]]]
) -> None:
    series = f"prop-{len(local_cdf.cdf.store.time_series())}"
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id=series))
    expected: dict[int, float] = {}
    for batch in batches:
        local_cdf_client.time_series.data.insert(batch, external_id=series)
        expected.update(dict(batch))
    got = local_cdf_client.time_series.data.retrieve(
        external_id=series, start=-2_208_988_800_000, end=4_102_444_800_000, limit=None
    )
    assert got is not None
    assert dict(zip(got.timestamp, got.value, strict=True)) == expected, "later writes win, nothing is lost"
    assert list(got.timestamp) == sorted(expected), "points come back in time order"


def test_datapoints_reject_wrong_types_and_unknown_series(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.time_series.create(
        [TimeSeriesWrite(external_id="num"), TimeSeriesWrite(external_id="txt", is_string=True)]
    )
    with pytest.raises(CogniteAPIError, match="expected a number for a numeric time series"):
        local_cdf_client.time_series.data.insert([(1_000, "high")], external_id="num")
    with pytest.raises(CogniteAPIError, match="expected a string for a string time series"):
        local_cdf_client.time_series.data.insert([(1_000, 1.5)], external_id="txt")
    with pytest.raises(CogniteNotFoundError) as caught:
        local_cdf_client.time_series.data.insert_multiple(
            [
                {"external_id": "num", "datapoints": [(1_000, 1.0)]},
                {"external_id": "ghost", "datapoints": [(1, 1.0)]},
            ]
        )
    assert caught.value.not_found == [{"externalId": "ghost"}]


def test_latest_and_delete_range(local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient) -> None:
    local_cdf_client.time_series.create(TimeSeriesWrite(external_id="q"))
    local_cdf_client.time_series.data.insert([(t, float(t)) for t in (1_000, 2_000, 3_000)], external_id="q")
    latest = local_cdf_client.time_series.data.retrieve_latest(external_id="q")
    assert latest is not None and latest.value == 3_000.0
    before = local_cdf_client.time_series.data.retrieve_latest(external_id="q", before=3_000)
    assert before is not None and before.value == 2_000.0
    local_cdf_client.time_series.data.delete_range(start=2_000, end=3_000, external_id="q")
    assert local_cdf.cdf.store.datapoints("q") == [(1_000, 1_000.0), (3_000, 3_000.0)]


# --- relationships, data sets, extraction pipelines ---


def test_relationships_link_a_part_to_its_component(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.relationships.create(
        RelationshipWrite(
            external_id="bom-1",
            source_external_id="part-A",
            source_type="asset",
            target_external_id="part-B",
            target_type="asset",
        )
    )
    found = local_cdf_client.relationships.list(source_external_ids=["part-A"], limit=None)
    assert [r.target_external_id for r in found] == ["part-B"]
    with pytest.raises(CogniteDuplicatedError):
        local_cdf_client.relationships.create(
            RelationshipWrite("bom-1", "part-A", "asset", "part-C", "asset")
        )
    local_cdf_client.relationships.delete(external_id="bom-1")
    assert local_cdf.cdf.store.relationships() == []


def test_a_relationship_needs_a_known_source_and_target_type(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    item = {"externalId": "r", "sourceExternalId": "a", "sourceType": "widget", "targetExternalId": "b"}
    answer = post_raw(
        local_cdf, local_cdf_client, "/relationships", {"items": [{**item, "targetType": "asset"}]}
    )
    assert answer.status_code == 400
    assert "items[0].sourceType: must be one of asset, timeSeries" in answer.json()["error"]["message"]


def test_reset_store_empties_the_project_and_keeps_serving(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.assets.create_hierarchy(hierarchy())
    local_cdf_client.raw.rows.insert("db", "t", {"k": {"v": 1}}, ensure_parent=True)
    local_cdf.cdf.reset_store()
    assert local_cdf.cdf.store.counts() == {
        "assets": 0,
        "events": 0,
        "timeseries": 0,
        "datapoints": 0,
        "relationships": 0,
        "datasets": 0,
        "rawRows": 0,
    }
    assert len(local_cdf_client.assets.create_hierarchy(hierarchy())) == 4, (
        "the same ids can be written again"
    )


def test_extraction_pipeline_runs_are_recorded_newest_first(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    data_set = local_cdf_client.data_sets.create(DataSetWrite(external_id="ops", name="ops"))
    local_cdf_client.extraction_pipelines.create(
        ExtractionPipelineWrite(external_id="plex-cdf:production", name="production", data_set_id=data_set.id)
    )
    local_cdf_client.extraction_pipelines.runs.create(
        ExtractionPipelineRunWrite(
            extpipe_external_id="plex-cdf:production", status="success", message="42 rows"
        )
    )
    local_cdf_client.extraction_pipelines.runs.create(
        ExtractionPipelineRunWrite(
            extpipe_external_id="plex-cdf:production", status="failure", message="boom"
        )
    )
    runs = local_cdf_client.extraction_pipelines.runs.list(external_id="plex-cdf:production", limit=None)
    assert [r.status for r in runs] == ["failure", "success"]
    assert [r["message"] for r in local_cdf.cdf.store.extpipe_runs("plex-cdf:production")] == [
        "42 rows",
        "boom",
    ]
    with pytest.raises(CogniteAPIError, match="message: size must be between 0 and 1000"):
        local_cdf_client.extraction_pipelines.runs.create(
            ExtractionPipelineRunWrite(
                extpipe_external_id="plex-cdf:production", status="seen", message="x" * 1001
            )
        )
    assert local_cdf.cdf.write_count() == 1, "only the data set create counts as a write"


# --- RAW ---


def test_raw_round_trip(local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient) -> None:
    rows = {f"key-{i}": {"n": i, "name": f"row {i}"} for i in range(12_000)}
    local_cdf_client.raw.rows.insert("PCN1", "parts", rows, ensure_parent=True)
    listed = local_cdf_client.raw.rows.list("PCN1", "parts", limit=None)
    assert {r.key: r.columns for r in listed} == rows, "every row comes back once, columns intact"
    one = local_cdf_client.raw.rows.retrieve("PCN1", "parts", "key-7")
    assert one is not None and one.columns == {"n": 7, "name": "row 7"}
    assert local_cdf_client.raw.rows.retrieve("PCN1", "parts", "missing") is None
    only_names = local_cdf_client.raw.rows.list("PCN1", "parts", columns=["name"], limit=3)
    assert [r.columns for r in only_names] == [{"name": rows[r.key]["name"]} for r in only_names]
    assert len(only_names) == 3
    local_cdf_client.raw.rows.delete("PCN1", "parts", ["key-0", "key-1"])
    assert len(local_cdf.cdf.store.raw_rows("PCN1", "parts")) == 11_998
    assert [d.name for d in local_cdf_client.raw.databases.list(limit=None)] == ["PCN1"]
    assert [t.name for t in local_cdf_client.raw.tables.list("PCN1", limit=None)] == ["parts"]


def test_raw_last_updated_filter_sees_only_changed_rows(local_cdf_client: CogniteClient) -> None:
    local_cdf_client.raw.rows.insert("db", "t", {"a": {"v": 1}, "b": {"v": 1}}, ensure_parent=True)
    first = {r.key: r.last_updated_time for r in local_cdf_client.raw.rows.list("db", "t", limit=None)}
    local_cdf_client.raw.rows.insert("db", "t", {"a": {"v": 1}, "b": {"v": 2}})
    again = {r.key: r.last_updated_time for r in local_cdf_client.raw.rows.list("db", "t", limit=None)}
    assert again["a"] == first["a"], "an unchanged row keeps its lastUpdatedTime"
    changed = local_cdf_client.raw.rows.list("db", "t", min_last_updated_time=first["a"], limit=None)
    assert [r.key for r in changed] == (["b"] if again["b"] > first["a"] else [])


def test_raw_insert_without_ensure_parent_needs_the_table(local_cdf_client: CogniteClient) -> None:
    with pytest.raises(CogniteNotFoundError):
        local_cdf_client.raw.rows.insert("nodb", "t", {"k": {"v": 1}})


def test_write_count_ignores_reads_and_tokens(
    local_cdf: LocalCdfHandle, local_cdf_client: CogniteClient
) -> None:
    local_cdf_client.assets.create_hierarchy(hierarchy())
    local_cdf.cdf.reset_counts()
    local_cdf_client.assets.list(limit=None)
    local_cdf_client.assets.retrieve_multiple(external_ids=["PCN1_facility_1"])
    local_cdf_client.assets.aggregate_count()
    assert local_cdf.cdf.write_count() == 0, "reads must not count as writes"
    local_cdf_client.assets.update(AssetUpdate(external_id="PCN1_facility_1").description.set("x"))
    assert local_cdf.cdf.write_count() == 1
