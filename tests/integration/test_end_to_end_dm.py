"""End to end with `destination: data-modeling`: the real product against the simulated Plex (medium plant)
and the local CDF's Data Modeling API.

The world is run cold, then again with nothing changed. The instance space is compared, node by node, edge
by edge and point by point, with the same pure pipeline over the tenant's ground truth as the classic end
to end (tests/integration/truth.py), mapped by the target's own pure mapping rules (model.VIEW_OF_KIND).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling import filters as F

from plex_cdf.app import cdf_settings
from plex_cdf.cdf.client import build_client
from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.mapping import kind_and_key, view_of
from plex_cdf.cli import extract
from plex_cdf.config.models import Destination
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.ops import setup
from tests.integration.truth import Expected, expected_objects

SPACE = f"plex_{DEMO_PCN}"
SCHEMA = "plex_cdf"
CDM_TYPES = {
    "CogniteAsset": "PlexAsset",
    "CogniteEquipment": "PlexEquipment",
    "CogniteActivity": "PlexActivity",
    "CogniteTimeSeries": "PlexTimeSeries",
}


@dataclass
class Content:
    nodes: dict[str, dict[str, dict[str, Any]]]  # external id -> view -> properties
    typed: dict[str, set[str]]  # CDM type (container) -> the nodes with data in it
    edges: dict[str, tuple[str, str, str]]  # external id -> (type, start, end)
    points: dict[str, dict[int, float | str]]


@dataclass
class Runs:
    cold_writes: int
    warm_writes: int
    warm_results: dict[str, Any]
    cold_results: dict[str, Any]
    expected: Expected
    content: Content
    placeholders: list[str]


def read_content(client: CogniteClient, series_ids: list[str]) -> Content:
    """Each node's properties through every plex-cdf view, and which CDM types it has data for."""
    views = [model.view_id(SCHEMA, v.name) for v in model.VIEWS if v.used_for == "node"]
    nodes: dict[str, dict[str, dict[str, Any]]] = {}
    for node in client.data_modeling.instances.list("node", sources=views, space=SPACE, limit=-1):
        nodes[node.external_id] = {view.external_id: dict(node.properties.get(view, {})) for view in views}
    typed: dict[str, set[str]] = {}
    for name in CDM_TYPES:
        container = dm.ContainerId("cdf_cdm", name)
        found = client.data_modeling.instances.list(
            "node", space=SPACE, limit=-1, filter=F.HasData(containers=[container])
        )
        typed[name] = {n.external_id for n in found}
    edges = {
        edge.external_id: (edge.type.external_id, edge.start_node.external_id, edge.end_node.external_id)
        for edge in client.data_modeling.instances.list("edge", space=SPACE, limit=-1)
    }
    found = client.time_series.data.retrieve(
        instance_id=[dm.NodeId(SPACE, x) for x in series_ids], limit=None, ignore_unknown_ids=True
    )
    points = {
        series.instance_id.external_id: dict(zip(series.timestamp, series.value, strict=True))
        for series in found or []
    }
    return Content(nodes, typed, edges, points)


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    with local_world(scale="medium", calls_per_minute=100_000) as world:
        world.config.destination = Destination.model_validate({"type": "data-modeling"})
        client = build_client(cdf_settings(world.config))
        asyncio.run(setup(world.config, client))
        world.cdf.reset_counts()
        cold = asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))
        cold_writes = world.cdf.write_count()
        world.cdf.reset_counts()
        warm = asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))
        warm_writes = world.cdf.write_count()
        expected = expected_objects(world.sim, DEMO_PCN, world.clock, world.config.extractor.first_run_reach)
        sync = CogniteClient(client.config)
        content = read_content(sync, [*expected.series])
        record = dm.ContainerId(SCHEMA, model.RECORD.name)
        unfilled = sync.data_modeling.instances.list(
            "node", space=SPACE, limit=-1, filter=F.Not(F.HasData(containers=[record]))
        )
        empty = [n.external_id for n in unfilled if n.external_id != model.SOURCE_SYSTEM_ID]
        yield Runs(cold_writes, warm_writes, warm, cold, expected, content, empty)


def iso(ms: int | None) -> str | None:
    return (
        None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    )


def ref_ids(value: Any) -> set[str]:
    values = value if isinstance(value, list) else [value] if value else []
    return {v["externalId"] for v in values}


def zeroed_series(got: Content) -> set[str]:
    """A WIP series whose containers are all gone stays, its last value zero (as in the classic target)."""
    return {x for x, p in got.points.items() if "_wip_" in x and p and p[max(p)] == 0}


def differences(expected: Expected, got: Content) -> list[str]:
    out: list[str] = []
    source = {"space": SPACE, "externalId": model.SOURCE_SYSTEM_ID}
    modelled = {x: a for x, a in expected.assets.items() if view_of(x)}
    for xid, asset in modelled.items():
        view = view_of(xid) or ""
        props = got.nodes.get(xid, {}).get(view)
        if props is None:
            out.append(f"node {xid} missing")
            continue
        source_id = asset.metadata.get("sourceId") or kind_and_key(xid)[1]  # the Plex id, not the code
        want = (view, asset.name, source_id, dict(asset.metadata) or None, source, True)
        have = (
            view,
            props.get("name"),
            props.get("sourceId"),
            props.get("extractedData"),
            props.get("source"),
            props.get("active"),
        )
        if want != have:
            out.append(f"node {xid}: {have} != {want}")
        parent = asset.parent_external_id
        in_tree = view == "PlexAsset" and parent and view_of(parent) == "PlexAsset"
        if in_tree and ref_ids(props.get("parent")) != {parent}:
            out.append(f"node {xid}: parent {props.get('parent')} != {asset.parent_external_id}")
    for xid, event in expected.events.items():
        view = "PlexJob" if event.type == "job" else "PlexActivity"
        props = got.nodes.get(xid, {}).get(view)
        if props is None or xid not in got.typed["CogniteActivity"]:
            out.append(f"activity {xid} missing")
            continue
        links = ref_ids(props.get("assets")) | ref_ids(props.get("equipment"))
        links |= set((props.get("extractedData") or {}).get("links", []))
        want = (
            event.type,
            event.subtype,
            iso(event.start_time),
            iso(event.end_time),
            set(event.asset_external_ids),
        )
        have = (
            props.get("plexType"),
            props.get("plexSubtype"),
            props.get("startTime"),
            props.get("endTime"),
            links,
        )
        if want != have:
            out.append(f"activity {xid}: {have} != {want}")
    for xid, series in expected.series.items():
        props = got.nodes.get(xid, {}).get("PlexTimeSeries", {})
        if xid not in got.typed["CogniteTimeSeries"] or props.get("name") != series.name:
            out.append(f"time series {xid}: {props.get('name')!r} != {series.name!r}")
    for xid, points in expected.points.items():
        have = got.points.get(xid, {})
        same = all(
            math.isclose(float(have[t]), float(v)) if isinstance(v, float) else have.get(t) == v
            for t, v in points.items()
            if t in have
        )
        if set(have) != set(points) or not same:
            out.append(f"datapoints of {xid}: {len(have)} in CDF, {len(points)} in Plex, or values differ")
    for xid, value in expected.latest.items():
        have = got.points.get(xid) or {}
        if not have or have[max(have)] != value:
            out.append(f"latest value of {xid} differs")
    for xid, rel in expected.relationships.items():
        if got.edges.get(xid, ("", "", ""))[1:] != (rel.source_external_id, rel.target_external_id):
            out.append(
                f"edge {xid}: {got.edges.get(xid)} != {(rel.source_external_id, rel.target_external_id)}"
            )
    for cdm_type, view in CDM_TYPES.items():
        if view == "PlexActivity":
            wanted = set(expected.events)
        elif view == "PlexTimeSeries":
            wanted = set(expected.series)
        else:
            wanted = {x for x in modelled if view_of(x) == view}
        if got.typed[cdm_type] - (zeroed_series(got) - wanted) != wanted:
            out.append(f"{cdm_type}: {len(got.typed[cdm_type])} nodes have its data, {len(wanted)} should")
    made = set(modelled) | set(expected.events) | set(expected.series)
    extra = set(got.nodes) - made - zeroed_series(got) - {model.SOURCE_SYSTEM_ID}
    out += [f"{xid} is in CDF but not in Plex" for xid in sorted(extra)[:20]]
    return out


def test_cold_run_leaves_the_instance_space_equal_to_the_tenant(runs: Runs) -> None:
    problems = differences(runs.expected, runs.content)

    assert not problems, "\n".join(problems[:30])
    assert len(runs.content.nodes) > 1000, "the medium plant makes thousands of nodes"


def test_the_counts_of_things_match_the_classic_truth(runs: Runs) -> None:
    modelled = [x for x in runs.expected.assets if view_of(x)]
    wanted = len(modelled) + len(runs.expected.events) + len(runs.expected.series)
    kept_zeroed = zeroed_series(runs.content) - set(runs.expected.series)

    assert len(runs.content.nodes) - len(kept_zeroed) - 1 == wanted, "1: the source-system node"
    assert len(runs.content.edges) == len(runs.expected.relationships)


def test_every_placeholder_is_filled_or_points_outside_the_tenant(runs: Runs) -> None:
    """A link to a node never written leaves an empty node; each one is a link Plex itself leaves dangling."""
    made = set(runs.expected.assets) | set(runs.expected.events) | set(runs.expected.series)

    assert not [x for x in runs.placeholders if x in made], "a node that arrived later left its placeholder"


def test_a_second_run_over_unchanged_plex_writes_nothing(runs: Runs) -> None:
    assert runs.cold_writes > 0
    assert runs.warm_writes == 0
