"""End to end with `destination: data-modeling`: the real product against the simulated Plex (medium plant)
and the local CDF's Data Modeling API.

The world is run cold, then again with nothing changed. The instance space is compared, node by node, edge
by edge and point by point, with the same pure pipeline over the tenant's ground truth as the classic end
to end (tests/integration/truth.py), mapped by the target's own pure mapping rules (model.VIEW_OF_KIND).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Mapping
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
from plex_cdf.cdf.dm.mapping import event_view, kind_and_key, view_of
from plex_cdf.cli import extract
from plex_cdf.config.models import Destination
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.items import Asset, TimeSeries
from plex_cdf.ops import setup
from plex_cdf.plex.dates import parse_plex_datetime
from tests.integration.truth import Expected, Span, expected_objects, job_spans

SPACE = f"plex_{DEMO_PCN}"
SCHEMA = "plex_cdf"
DERIVED_VIEWS = ("CogniteAssetClass", "CogniteAssetType", "CogniteEquipmentType", "CogniteStateSet")
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
    edge_props: dict[str, dict[str, Any]]  # external id -> PlexQuantityEdge properties
    points: dict[str, dict[int, float | str]]
    derived: dict[str, dict[str, Any]]  # class, type and state-set nodes -> their CDM view's properties
    units: set[str]  # the unit nodes of cdf_cdm_units


@dataclass
class Runs:
    cold_writes: int
    warm_writes: int
    warm_results: dict[str, Any]
    cold_results: dict[str, Any]
    expected: Expected
    content: Content
    placeholders: list[str]
    jobs: tuple[dict[str, Span], dict[tuple[str, int], Span]]  # what the simulated plant's jobs did


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
    quantity_view = model.view_id(SCHEMA, "PlexQuantityEdge")
    listed = client.data_modeling.instances.list("edge", space=SPACE, limit=-1, sources=[quantity_view])
    edges = {
        edge.external_id: (edge.type.external_id, edge.start_node.external_id, edge.end_node.external_id)
        for edge in listed
    }
    edge_props = {edge.external_id: dict(edge.properties.get(quantity_view, {})) for edge in listed}
    found = client.time_series.data.retrieve(
        instance_id=[dm.NodeId(SPACE, x) for x in series_ids], limit=None, ignore_unknown_ids=True
    )
    points = {
        series.instance_id.external_id: dict(zip(series.timestamp, values_of(series), strict=True))
        for series in found or []
    }
    derived: dict[str, dict[str, Any]] = {}
    for name in DERIVED_VIEWS:
        view = model.cdm(name)
        own = F.HasData(containers=[dm.ContainerId(model.CDM, name)])
        for node in client.data_modeling.instances.list(
            "node", sources=[view], space=SPACE, limit=-1, filter=own
        ):
            derived[node.external_id] = {"view": name, **dict(node.properties[view])}
    unit_nodes = client.data_modeling.instances.list("node", space=model.UNITS, limit=-1)
    return Content(nodes, typed, edges, edge_props, points, derived, {n.external_id for n in unit_nodes})


def values_of(series: Any) -> list[Any]:
    """A state series' points by their string state (what Plex sent), any other series' by value."""
    states = getattr(series, "string_states", None)
    return list(states) if states is not None else list(series.value)


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
        empty = [
            n.external_id
            for n in unfilled
            if n.external_id != model.SOURCE_SYSTEM_ID and n.external_id not in content.derived
        ]
        jobs = job_spans(world.sim, world.sim.clock.now_ms())
        yield Runs(cold_writes, warm_writes, warm, cold, expected, content, empty, jobs)


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


def when(text: str | None) -> datetime | None:
    """A timestamp to the millisecond CDF keeps: Plex text, or what CDF answers."""
    if text is None:
        return None
    parsed = parse_plex_datetime(text) if text.endswith("Z") else datetime.fromisoformat(text)
    return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


def source_times(metadata: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """What Plex says of a record's creation and last update (the first of the fields that has it)."""

    def first(fields: tuple[str, ...]) -> datetime | None:
        return next((when(metadata[f]) for f in fields if metadata.get(f)), None)

    return first(model.SOURCE_CREATED_FIELDS), first(model.SOURCE_UPDATED_FIELDS)


def source_time_problems(xid: str, metadata: Mapping[str, str], props: Mapping[str, Any]) -> list[str]:
    want = source_times(metadata)
    have = (when(props.get("sourceCreatedTime")), when(props.get("sourceUpdatedTime")))
    return [] if want == have else [f"{xid}: source created/updated {have} != {want}"]


def is_state(xid: str) -> bool:
    return kind_and_key(xid)[0] in model.STATE_SERIES_KINDS


def expected_classification(asset: Asset) -> dict[str, str | None]:
    """The asset class, asset type and equipment type node a plant asset or equipment points to."""
    kind = kind_and_key(asset.external_id)[0]
    type_field = model.ASSET_TYPE_FIELD.get(kind)
    asset_type = asset.metadata.get(type_field) if type_field else None
    equipment_type = asset.metadata.get("equipmentType") if kind == "equipment" else None
    return {
        "assetClass": f"plex_asset_class_{kind}" if kind in model.ASSET_CLASS_OF_KIND else None,
        "type": f"plex_asset_type_{kind}_{asset_type}" if asset_type else None,
        "equipmentType": f"plex_equipment_type_{equipment_type}" if equipment_type else None,
    }


def expected_derived(expected: Expected) -> dict[str, dict[str, Any]]:
    """The class, type and state-set nodes the tenant's records call for, with their properties."""
    out: dict[str, dict[str, Any]] = {}
    for asset in expected.assets.values():
        kind = kind_and_key(asset.external_id)[0]
        links = expected_classification(asset)
        if links["assetClass"]:
            cls = model.ASSET_CLASS_OF_KIND[kind]
            out[links["assetClass"]] = {"view": "CogniteAssetClass", "name": cls.name, "code": cls.code}
        if links["type"]:
            name = links["type"].removeprefix(f"plex_asset_type_{kind}_")
            out[links["type"]] = {"view": "CogniteAssetType", "name": name, "assetClass": links["assetClass"]}
        if links["equipmentType"]:
            name = links["equipmentType"].removeprefix("plex_equipment_type_")
            out[links["equipmentType"]] = {"view": "CogniteEquipmentType", "name": name}
    statuses = {
        a.name for x, a in expected.assets.items() if kind_and_key(x)[0] == model.STATE_DEFINITION_KIND
    }
    statuses |= {str(v) for x, pts in expected.points.items() if is_state(x) for v in pts.values()}
    statuses |= {str(v) for x, v in expected.latest.items() if is_state(x)}
    out[model.STATE_SET_ID] = {
        "view": "CogniteStateSet",
        "states": {(model.state_number(name), name) for name in statuses},
    }
    return out


def derived_problems(expected: Expected, got: Content) -> list[str]:
    out: list[str] = []
    want = expected_derived(expected)
    if set(got.derived) != set(want):
        out.append(f"derived nodes {sorted(set(got.derived) ^ set(want))[:10]} differ")
    for xid, props in want.items():
        have = got.derived.get(xid, {})
        if props["view"] == "CogniteStateSet":
            states = {(s["numericValue"], s["stringValue"]) for s in have.get("states") or []}
            if states != props["states"] or len(states) != len(have.get("states") or []):
                out.append(f"state set: {sorted(states)[:5]} != {sorted(props['states'])[:5]}")
            continue
        seen = {
            k: ref_ids(have.get(k)).pop() if k == "assetClass" and have.get(k) else have.get(k) for k in props
        }
        if seen != props:
            out.append(f"derived {xid}: {seen} != {props}")
    return out


def series_problems(xid: str, series: TimeSeries, props: Mapping[str, Any], units: set[str]) -> list[str]:
    """Type, state set, unit of one series against what the classic target gives it."""
    state = is_state(xid)
    unit = (
        None
        if series.is_string or state or not series.unit
        else model.UNIT_OF_SOURCE.get(series.unit.lower())
    )
    want = (
        "state" if state else "string" if series.is_string else "numeric",
        {model.STATE_SET_ID} if state else set(),
        {unit} if unit else set(),
        series.unit,
    )
    have = (
        props.get("type"),
        ref_ids(props.get("stateSet")),
        ref_ids(props.get("unit")),
        props.get("sourceUnit"),
    )
    out = [] if want == have else [f"time series {xid}: type, state set, unit {have} != {want}"]
    if unit and unit not in units:
        out.append(f"time series {xid}: unit {unit} is not a node of {model.UNITS}")
    return out


def edge_problems(expected: Expected, got: Content) -> list[str]:
    """BOM lines with their RAW row's quantities, routing steps part -> step with the operation number."""
    out: list[str] = []
    for xid in expected.relationships:
        row = expected.raw.get((model.BOM_ROW_TABLE, xid), {})
        number = row.get("sortOrder")
        want = {
            "quantity": None if row.get("quantity") is None else float(str(row["quantity"])),
            "unit": row.get("componentUnitOfMeasure"),
            "sequence": None if number is None else int(float(str(number))),
        }
        have = {k: got.edge_props.get(xid, {}).get(k) for k in want}
        if got.edges.get(xid, ("",))[0] != "bomLine" or have != want:
            out.append(f"BOM edge {xid}: {got.edges.get(xid)} {have} != {want}")
    for xid, step in routing_steps(expected).items():
        if got.edges.get(xid) != step[:3] or got.edge_props.get(xid, {}).get("sequence") != step[3]:
            out.append(f"routing edge {xid}: {got.edges.get(xid)} {got.edge_props.get(xid)} != {step}")
    return out


def routing_steps(expected: Expected) -> dict[str, tuple[str, str, str, int | None]]:
    """Each part operation under a part: edge id -> (type, part, step node, operation number)."""
    steps = {}
    for xid, asset in expected.assets.items():
        kind, key = kind_and_key(xid)
        part = asset.parent_external_id
        if kind == "part_operation" and part and view_of(part) == "PlexPart":
            number = asset.metadata.get("operationNumber")
            sequence = int(float(number)) if number else None
            steps[f"{xid.split('_', 1)[0]}_routing_{key}"] = ("routingStep", part, xid, sequence)
    return steps


def differences(expected: Expected, got: Content) -> list[str]:
    out: list[str] = derived_problems(expected, got) + edge_problems(expected, got)
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
        out += source_time_problems(xid, asset.metadata, props)
        links = {k: v for k, v in expected_classification(asset).items() if v}
        have_links = {
            k: ref_ids(props.get(k)).pop() for k in ("assetClass", "type", "equipmentType") if props.get(k)
        }
        if have_links != links:
            out.append(f"node {xid}: class and types {have_links} != {links}")
    for xid, event in expected.events.items():
        view = event_view(event)
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
        out += source_time_problems(xid, event.metadata, props)
    for xid, series in expected.series.items():
        props = got.nodes.get(xid, {}).get("PlexTimeSeries", {})
        if xid not in got.typed["CogniteTimeSeries"] or props.get("name") != series.name:
            out.append(f"time series {xid}: {props.get('name')!r} != {series.name!r}")
        out += series_problems(xid, series, props, got.units)
        out += source_time_problems(xid, series.metadata, props)
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
    made = set(modelled) | set(expected.events) | set(expected.series) | set(got.derived)
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

    derived = len(expected_derived(runs.expected))

    assert len(runs.content.nodes) - len(kept_zeroed) - 1 - derived == wanted, "1: the source-system node"
    assert len(runs.content.edges) == len(runs.expected.relationships) + len(routing_steps(runs.expected))


def test_every_placeholder_is_filled_or_points_outside_the_tenant(runs: Runs) -> None:
    """A link to a node never written leaves an empty node; each one is a link Plex itself leaves dangling."""
    made = set(runs.expected.assets) | set(runs.expected.events) | set(runs.expected.series)

    assert not [x for x in runs.placeholders if x in made], "a node that arrived later left its placeholder"


def test_jobs_are_schedulable_and_operations_point_to_their_job(runs: Runs) -> None:
    """Against the simulated plant's own job tables: a job's actual times are its run (an open job has no
    end), its scheduled start is Plex's earliest start and its scheduled end the due date; an operation is
    a node of its own with its job as a direct relation, its workcenter as asset and its place in the
    routing as `sequence`."""
    jobs, operations = runs.jobs
    nodes = runs.content.nodes
    problems: list[str] = []
    due = {
        kind_and_key(x)[1]: e.metadata.get("dueDate")
        for x, e in runs.expected.events.items()
        if e.type == "job"
    }
    for number, span in jobs.items():
        props = nodes.get(f"PCN{DEMO_PCN}_job_{number}", {}).get("PlexJob")
        if props is None:
            continue  # completed before the first run's reach
        have = (props.get("plexSubtype"), props.get("startTime"), props.get("endTime"))
        if have != (span.status, iso(span.start), iso(span.end)):
            problems.append(f"job {number}: {have} != {(span.status, iso(span.start), iso(span.end))}")
        if props.get("scheduledStartTime") != iso(span.start) or not props.get("scheduledEndTime"):
            problems.append(f"job {number}: scheduled {props.get('scheduledStartTime')} != {iso(span.start)}")
        elif due[number] and iso(_ms(due[number])) != props["scheduledEndTime"]:
            problems.append(f"job {number}: scheduled end {props['scheduledEndTime']} is not its due date")
    seen = 0
    for (number, op), span in operations.items():
        if f"PCN{DEMO_PCN}_job_{number}" not in nodes:
            continue
        props = nodes.get(f"PCN{DEMO_PCN}_job_operation_{number}_{op}", {}).get("PlexJobOperation")
        if props is None:
            problems.append(f"operation {op} of job {number} missing")
            continue
        seen += 1
        have = (
            props.get("plexSubtype"),
            props.get("startTime"),
            props.get("endTime"),
            ref_ids(props.get("job")),
            ref_ids(props.get("assets")),
            props.get("sequence"),
        )
        want = (
            span.status,
            iso(span.start),
            iso(span.end),
            {f"PCN{DEMO_PCN}_job_{number}"},
            {f"PCN{DEMO_PCN}_workcenter_{span.workcenter_code}"},
            op,
        )
        if have != want:
            problems.append(f"operation {op} of job {number}: {have} != {want}")

    assert not problems, "\n".join(problems[:20])
    assert seen > len(jobs) // 2, "the plant's jobs have operations"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_second_run_over_unchanged_plex_writes_nothing(runs: Runs) -> None:
    assert runs.cold_writes > 0
    assert runs.warm_writes == 0


def test_units_states_classes_source_times_and_edge_quantities_are_there_to_compare(runs: Runs) -> None:
    """The comparisons above are not vacuous: the medium plant gives each new part of the model."""
    expected, got = runs.expected, runs.content
    units = {
        ref_ids(p["PlexTimeSeries"].get("unit")).pop()
        for p in got.nodes.values()
        if p.get("PlexTimeSeries", {}).get("unit")
    }
    states = [x for x in expected.series if is_state(x)]
    timed = [x for x, a in expected.assets.items() if view_of(x) and any(source_times(a.metadata))]
    bom = [e for x, e in got.edge_props.items() if got.edges[x][0] == "bomLine" and e.get("quantity")]

    assert {"dimensionless:num", "dimensionless_ratio:fraction"} <= units
    assert states and all(got.nodes[x]["PlexTimeSeries"]["type"] == "state" for x in states)
    assert len(got.derived[model.STATE_SET_ID]["states"]) >= 3
    assert {d["view"] for d in got.derived.values()} == set(DERIVED_VIEWS)
    assert timed and bom and routing_steps(expected)
