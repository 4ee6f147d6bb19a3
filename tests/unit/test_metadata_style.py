"""One metadata style: every classic metadata key any built-in row writes is lowerCamelCase.

The rule lives in one function (`domains.common.meta_key`); this walks what every built-in resource row
makes of the small simulated plant's records (the pure pipeline, no servers) and checks every key.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from plex_cdf.cdf.hashing import content_hash
from plex_cdf.domains.common import META_KEY_RULE, SOURCE_ID, lineage, merged, meta_key, metadata_from
from plex_cdf.domains.registry import ALL
from plex_cdf.items import Event
from plex_cdf.sim.plex import SimPlex
from tests.integration.truth import Expected, expected_objects

PCN = "340884"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("workcenterCode", "workcenterCode"),
        ("Part_Key", "partKey"),
        ("Out_Of_Spec", "outOfSpec"),
        ("OEE", "oee"),
        ("Downtime_DB", "downtimeDb"),
        ("plex_id", "plexId"),
        ("tolerance_upperLimit", "toleranceUpperLimit"),
        ("2nd shift", "n2ndShift"),
        ("__", "field"),
    ],
)
def test_meta_key_maps_every_style_to_lower_camel_case(name: str, key: str) -> None:
    assert meta_key(name) == key
    assert META_KEY_RULE.match(meta_key(name))


def test_meta_key_leaves_a_key_in_the_style_unchanged() -> None:
    for key in ("sourceId", "plexResource", "partNumberRevision", "ipAddress", "x1"):
        assert meta_key(key) == key


@pytest.fixture(scope="module")
def small_plant() -> Expected:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    sim = SimPlex(seed=1, scale="small", api_key="k", pcn=PCN, ds_user="u", ds_password="p", now=now)
    return expected_objects(sim, PCN, lambda: now, timedelta(days=3))


def test_merged_styles_a_plain_part_and_its_styled_result_is_hashed_as_the_plain_dict() -> None:
    styled = merged(metadata_from({"Part_Key": 7, "OEE": None}, ("Part_Key", "OEE")), lineage("parts", "u1"))
    assert styled == {"partKey": "7", "plexResource": "parts", "sourceId": "u1"}
    assert merged({"Work_Center": "WC1"}, styled) == {"workCenter": "WC1", **styled}
    # The styled dict is a dict subclass: state hashes, bodies and pickles must not tell it apart.
    plain = dict(styled)
    event, same = (
        Event("1_entry_a", "production", "entry", metadata=styled),
        Event("1_entry_a", "production", "entry", metadata=plain),
    )
    assert content_hash(event, 5) == content_hash(same, 5)
    assert orjson.dumps(styled) == orjson.dumps(plain)
    assert pickle.loads(pickle.dumps(styled)) == plain


def test_every_built_in_row_writes_metadata_keys_in_the_one_style(small_plant: Expected) -> None:
    objects = [*small_plant.assets.values(), *small_plant.events.values(), *small_plant.series.values()]
    resources = {small_plant.resource_of[o.external_id] for o in objects}
    assert len(resources) >= len(ALL) // 2, f"the walk saw only {sorted(resources)}"
    offenders = sorted(
        {
            (small_plant.resource_of[o.external_id], k)
            for o in objects
            for k in o.metadata
            if not META_KEY_RULE.match(k)
        }
    )
    assert not offenders, f"metadata keys outside the one style (resource, key): {offenders[:20]}"


def test_every_object_keeps_its_plex_identity_as_source_id(small_plant: Expected) -> None:
    objects = [*small_plant.assets.values(), *small_plant.events.values(), *small_plant.series.values()]
    missing = [o.external_id for o in objects if not o.metadata.get(SOURCE_ID)]
    assert not missing, f"objects without metadata {SOURCE_ID}: {missing[:10]}"


def test_workcenters_parts_and_locations_are_keyed_by_what_plex_shows(small_plant: Expected) -> None:
    def shown(resource: str, metadata: dict[str, str]) -> str:
        if resource == "parts":
            revision = metadata.get("revision")
            return metadata["number"] + (f"-{revision}" if revision else "")
        return metadata["workcenterCode" if resource == "workcenters" else "locationCode"]

    kinds = {"workcenters": "workcenter", "parts": "part", "locations": "location"}
    seen = set()
    for xid, asset in small_plant.assets.items():
        resource = small_plant.resource_of[xid]
        if resource in kinds:
            seen.add(resource)
            assert xid == f"PCN{PCN}_{kinds[resource]}_{shown(resource, dict(asset.metadata))}"
            assert asset.metadata["sourceId"] != shown(resource, dict(asset.metadata)), "the Plex id is kept"
    assert seen == set(kinds)


def test_every_link_and_parent_points_at_an_asset_the_run_writes(small_plant: Expected) -> None:
    """A link by a Plex id where the asset is keyed by its code would dangle forever: every row that links
    a workcenter, part or location reads that list (`Resource.lookup`)."""
    assets = set(small_plant.assets) | {f"PCN{PCN}_facility_{PCN}"}
    links = {
        *(a.parent_external_id for a in small_plant.assets.values() if a.parent_external_id),
        *(x for e in small_plant.events.values() for x in e.asset_external_ids),
        *(s.asset_external_id for s in small_plant.series.values() if s.asset_external_id),
        *(r.source_external_id for r in small_plant.relationships.values()),
        *(r.target_external_id for r in small_plant.relationships.values()),
    }
    dangling = sorted(links - assets)
    assert not dangling, f"{len(dangling)} links to assets never written, e.g. {dangling[:5]}"
