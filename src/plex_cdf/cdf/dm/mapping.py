"""Items (what the transforms make, `plex_cdf.items`) as Data Modeling instances: pure, no I/O.

An item's external id `PCN{pcn}_{kind}_{key}` becomes the node's external id in the tenant's instance
space; its kind picks the view (`model.VIEW_OF_KIND`); `sourceId` is the Plex id (metadata `sourceId`; the key
is the code Plex shows for workcenters, parts and locations, docs/mapping.md). Metadata goes into
`extractedData` (CogniteExtractorData). Links to assets become direct relations by the target's view:
`parent` (PlexAsset), `asset` (PlexEquipment), `location` (PlexContainer), `assets`/`equipment` (activities
and time series). A kind without a view (the classic target's grouping assets) is not modelled. Jobs and
job operations have views of their own (`EVENT_VIEWS`): their planned times go to CogniteSchedulable's
`scheduledStartTime`/`scheduledEndTime`, an operation's job to its `job` direct relation, and its numbers to
typed properties (`OPERATION_PROPERTIES`).

Beside the records' own nodes: the asset classes, asset types and equipment types the nodes point to
(`derived_nodes`), the tenant's workcenter state set (`state_set_node`), BOM lines from the RAW row that
holds their quantities (`bom_edge`) and routing steps from part operations (`routing_edge`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cognite.client.data_classes.data_modeling import (
    ContainerId,
    EdgeApply,
    NodeApply,
    NodeOrEdgeData,
)

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.bodies import node_body
from plex_cdf.cdf.limits import fit_external_id
from plex_cdf.items import (
    JOB_KEY,
    SCHEDULED_END_KEY,
    SCHEDULED_START_KEY,
    Asset,
    Event,
    RawRow,
    Relationship,
    TimeSeries,
)
from plex_cdf.plex.dates import iso_utc, parse_plex_datetime

Json = dict[str, Any]
KINDS_LONGEST_FIRST = tuple(
    sorted({*model.VIEW_OF_KIND, *model.STATE_SERIES_KINDS, "group"}, key=len, reverse=True)
)
_KNOWN_KIND = re.compile("(" + "|".join(map(re.escape, KINDS_LONGEST_FIRST)) + ")_")


@dataclass(frozen=True)
class Spaces:
    schema: str
    instances: str

    def ref(self, external_id: str) -> Json:
        return {"space": self.instances, "externalId": external_id}


def kind_and_key(external_id: str) -> tuple[str, str]:
    """(`part`, `123`) from `PCN1_part_123`; ("", external_id) for an id outside the scheme."""
    _, _, rest = external_id.partition("_")
    known = _KNOWN_KIND.match(rest)  # one regex, not a loop over the kinds: this runs for every link
    if known:
        return known[1], rest[known.end() :]
    kind, _, key = rest.partition("_")
    return kind, key


def view_of(external_id: str) -> str | None:
    return model.VIEW_OF_KIND.get(kind_and_key(external_id)[0])


@functools.lru_cache(maxsize=16_384)
def _linked_view(external_id: str) -> str | None:
    """`view_of` a link's target, remembered: thousands of events link the same workcenters and parts."""
    return view_of(external_id)


def source_time(metadata: Mapping[str, str], fields: tuple[str, ...]) -> str | None:
    """The first of the Plex date-time fields present, as a DMS timestamp; None when none parses."""
    for name in fields:
        value = metadata.get(name)
        if value:
            try:
                return parse_plex_datetime(value).isoformat(timespec="milliseconds")
            except ValueError:
                continue
    return None


def _common(external_id: str, name: str | None, description: str | None, metadata: Mapping[str, str]) -> Json:
    kind, key = kind_and_key(external_id)
    return {
        "name": name,
        "description": description,
        "sourceId": metadata.get("sourceId") or key,  # the Plex id (the key may be the code Plex shows)
        "sourceCreatedTime": source_time(metadata, model.SOURCE_CREATED_FIELDS),
        "sourceUpdatedTime": source_time(metadata, model.SOURCE_UPDATED_FIELDS),
        "plexKind": kind,
        "active": True,
        "extractedData": dict(metadata) or None,
    }


def _node(spaces: Spaces, view: str, external_id: str, properties: Json, source: Json) -> Json:
    """The node's request body (`bodies.node_body`): empty values left out, `source` set."""
    props = {k: v for k, v in properties.items() if v is not None and v != []}
    props["source"] = source
    return node_body(spaces.instances, external_id, model.view_id(spaces.schema, view), props)


def _links(spaces: Spaces, external_ids: Iterable[str | None], view: str) -> list[Json]:
    return [spaces.ref(x) for x in external_ids if x and _linked_view(x) == view]


def asset_node(asset: Asset, spaces: Spaces, source: Json) -> Json | None:
    view = view_of(asset.external_id)
    if view is None:
        return None
    props = _common(asset.external_id, asset.name, asset.description, asset.metadata)
    parent = asset.parent_external_id
    relation = {"PlexAsset": "parent", "PlexEquipment": "asset", "PlexContainer": "location"}.get(view)
    target = {"parent": "PlexAsset", "asset": "PlexAsset", "location": "PlexLocation"}.get(relation or "")
    if relation and parent and _linked_view(parent) == target:
        props[relation] = spaces.ref(parent)
    props.update(_classification(asset, spaces))
    return _node(spaces, view, asset.external_id, props, source)


EVENT_VIEWS = {"job": "PlexJob", "job_operation": "PlexJobOperation"}
"""Event types with a view of their own; every other event is a PlexActivity."""
# A job operation's typed properties: (property, Plex field in the event's metadata, type).
OPERATION_PROPERTIES = (
    ("sequence", "jobOperationNumber", int),
    ("operationCode", "operationCode", str),
    ("quantity", "quantity", float),
    ("quantityCompleted", "quantityCompleted", float),
    ("setupTime", "setupTime", float),
    ("runTime", "runTime", float),
    ("rate", "rate", float),
    ("rateUnit", "unitOfMeasure", str),
)


def event_view(event: Event) -> str:
    return EVENT_VIEWS.get(event.type, "PlexActivity")


def _typed(text: str, kind: type) -> object:
    """Metadata text as the property's type; None when it is not one (the text stays in extractedData)."""
    if kind is str:
        return text
    try:
        value = float(text)
    except ValueError:
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


def _schedulable(event: Event, spaces: Spaces) -> tuple[Json, dict[str, str]]:
    """A job's or operation's planned times (CogniteSchedulable) and its job relation, out of the product
    made metadata keys (items.SCHEDULED_START_KEY, ...); the metadata left for extractedData."""
    metadata = dict(event.metadata)
    props: Json = {
        "scheduledStartTime": metadata.pop(SCHEDULED_START_KEY, None),
        "scheduledEndTime": metadata.pop(SCHEDULED_END_KEY, None),
    }
    job = metadata.pop(JOB_KEY, None)
    if event.type == "job_operation":
        props["job"] = spaces.ref(job) if job else None
        props.update(
            {
                name: _typed(metadata[field], kind)
                for name, field, kind in OPERATION_PROPERTIES
                if field in metadata
            }
        )
    return props, metadata


def _classification(asset: Asset, spaces: Spaces) -> Json:
    """`assetClass` and `type` of a plant-tree asset, `equipmentType` of equipment (model.ASSET_CLASSES)."""
    kind = kind_and_key(asset.external_id)[0]
    props: Json = {}
    if kind in model.ASSET_CLASS_OF_KIND:
        props["assetClass"] = spaces.ref(model.ASSET_CLASS_PREFIX + kind)
    type_field = model.ASSET_TYPE_FIELD.get(kind)
    asset_type = asset.metadata.get(type_field) if type_field else None
    if asset_type:
        props["type"] = spaces.ref(fit_external_id(f"{model.ASSET_TYPE_PREFIX}{kind}_{asset_type}"))
    if kind == "equipment":
        equipment_type = asset.metadata.get(model.EQUIPMENT_TYPE_FIELD)
        if equipment_type:
            props["equipmentType"] = spaces.ref(fit_external_id(model.EQUIPMENT_TYPE_PREFIX + equipment_type))
    return props


def event_node(event: Event, spaces: Spaces, source: Json) -> Json:
    view = event_view(event)
    name = event.description or f"{event.type} {kind_and_key(event.external_id)[1]}"
    scheduled, metadata = _schedulable(event, spaces) if view != "PlexActivity" else ({}, event.metadata)
    props = _common(event.external_id, name, event.description, metadata)
    props.update(scheduled)
    props.update(
        plexType=event.type,
        plexSubtype=event.subtype,
        startTime=iso_utc(event.start_time),
        endTime=iso_utc(event.end_time),
    )
    linked = [(x, _linked_view(x)) for x in event.asset_external_ids if x]  # one lookup a link, not three
    props["assets"] = [spaces.ref(x) for x, view in linked if view == "PlexAsset"]
    props["equipment"] = [spaces.ref(x) for x, view in linked if view == "PlexEquipment"]
    others = [x for x, view in linked if view not in ("PlexAsset", "PlexEquipment")]
    if others:  # parts, locations, ...: CogniteActivity has no property for them
        props["extractedData"] = {**(props["extractedData"] or {}), "links": others}
    return _node(spaces, view, event.external_id, props, source)


def is_state_series(external_id: str) -> bool:
    """A workcenter status series: a `state` series of the tenant's state set, not a string series."""
    return kind_and_key(external_id)[0] in model.STATE_SERIES_KINDS


def unit_of(source_unit: str | None) -> str | None:
    """The CDF unit catalogue's external id for a series' unit text; None when the catalogue lacks it."""
    return model.UNIT_OF_SOURCE.get(source_unit.strip().lower()) if source_unit else None


def time_series_node(series: TimeSeries, spaces: Spaces, source: Json) -> Json:
    props = _common(series.external_id, series.name, series.description, series.metadata)
    state = is_state_series(series.external_id)
    unit = None if series.is_string or state else unit_of(series.unit)
    props.update(
        isStep=series.is_step or state,
        type="state" if state else "string" if series.is_string else "numeric",
        stateSet=spaces.ref(model.STATE_SET_ID) if state else None,
        sourceUnit=series.unit,
        unit={"space": model.UNITS, "externalId": unit} if unit else None,
        assets=_links(spaces, [series.asset_external_id], "PlexAsset"),
        equipment=_links(spaces, [series.asset_external_id], "PlexEquipment"),
    )
    return _node(spaces, "PlexTimeSeries", series.external_id, props, source)


def state_points(points: Iterable[Json]) -> list[Json]:
    """`{timestamp, value}` points of a status series as state points (numeric and string state)."""
    return [
        {
            "timestamp": p["timestamp"],
            "numericValue": model.state_number(str(p["value"])),
            "stringValue": str(p["value"]),
        }
        for p in points
    ]


def state_set_node(states: Iterable[str], spaces: Spaces, source: Json) -> NodeApply:
    """The tenant's workcenter statuses as one CogniteStateSet (numbers from model.state_number)."""
    names = sorted(set(states))
    entries = [{"numericValue": model.state_number(name), "stringValue": name} for name in names]
    props: Json = {
        "name": model.STATE_SET_NAME,
        "description": "The workcenter statuses of this Plex tenant, states of its workcenter status series",
        "sourceId": model.STATE_SET_ID,
        "source": source,
        "states": entries,
    }
    return NodeApply(
        spaces.instances, model.STATE_SET_ID, sources=[NodeOrEdgeData(model.cdm("CogniteStateSet"), props)]
    )


def derived_nodes(bodies: Iterable[Json], spaces: Spaces) -> list[NodeApply]:
    """The asset class, asset type and equipment type nodes the given node bodies point to."""
    wanted: dict[str, NodeApply] = {}
    for body in bodies:
        for source in body.get("sources") or ():
            props = source.get("properties") or {}
            for name in ("assetClass", "type", "equipmentType"):
                ref = props.get(name)
                if isinstance(ref, dict) and ref.get("externalId") not in wanted:
                    node = _derived_node(str(ref["externalId"]), spaces)
                    if node is not None:
                        wanted[node.external_id] = node
    return list(wanted.values())


def _derived_node(external_id: str, spaces: Spaces) -> NodeApply | None:
    props: Json
    if external_id.startswith(model.ASSET_CLASS_PREFIX):
        cls = model.ASSET_CLASS_OF_KIND[external_id.removeprefix(model.ASSET_CLASS_PREFIX)]
        view, props = "CogniteAssetClass", {"name": cls.name, "code": cls.code, "standard": "plex-cdf"}
    elif external_id.startswith(model.ASSET_TYPE_PREFIX):
        rest = external_id.removeprefix(model.ASSET_TYPE_PREFIX)
        kind = next(k for k in model.ASSET_TYPE_FIELD if rest.startswith(k + "_"))
        name = rest.removeprefix(kind + "_")
        view = "CogniteAssetType"
        props = {"name": name, "code": name, "assetClass": spaces.ref(model.ASSET_CLASS_PREFIX + kind)}
    elif external_id.startswith(model.EQUIPMENT_TYPE_PREFIX):
        name = external_id.removeprefix(model.EQUIPMENT_TYPE_PREFIX)
        view, props = "CogniteEquipmentType", {"name": name, "code": name}
    else:
        return None
    return NodeApply(spaces.instances, external_id, sources=[NodeOrEdgeData(model.cdm(view), props)])


def bom_edge(row: RawRow, spaces: Spaces) -> EdgeApply | None:
    """A BOM line as a `bomLine` edge part -> component with its quantity, unit and line number, from the
    RAW row the classic transform keeps them in; None for a row that is not a BOM line to a part."""
    target = row.columns.get("targetExternalId")
    source = row.columns.get("sourceExternalId")
    if row.table != model.BOM_ROW_TABLE or not isinstance(target, str) or not isinstance(source, str):
        return None
    quantity = _number(row.columns.get(model.BOM_QUANTITY_FIELD))
    unit = row.columns.get(model.BOM_UNIT_FIELD)
    props = {
        "quantity": quantity,
        "unit": str(unit)[: model.MAX_TEXT] if unit not in (None, "") else None,
        "sequence": _integer(row.columns.get(model.BOM_SEQUENCE_FIELD)),
    }
    return _edge(spaces, row.key, "bomLine", source, target, props)


def routing_edge(asset: Asset, spaces: Spaces) -> EdgeApply | None:
    """A routing step as a `routingStep` edge part -> its part-operation node, with the operation number;
    None for any other asset. Plex's part operation has no standard quantity, so `quantity` stays empty."""
    kind, key = kind_and_key(asset.external_id)
    part = asset.parent_external_id
    if kind != model.ROUTING_KIND or not part or view_of(part) != "PlexPart":
        return None
    prefix = asset.external_id.split("_", 1)[0]
    props = {"sequence": _integer(asset.metadata.get(model.ROUTING_SEQUENCE_FIELD))}
    return _edge(spaces, f"{prefix}_routing_{key}", "routingStep", part, asset.external_id, props)


def _edge(spaces: Spaces, external_id: str, edge_type: str, start: str, end: str, props: Json) -> EdgeApply:
    values = {k: v for k, v in props.items() if v is not None}
    view = model.view_id(spaces.schema, "PlexQuantityEdge")
    return EdgeApply(
        spaces.instances,
        external_id,
        type=(spaces.schema, edge_type),
        start_node=(spaces.instances, start),
        end_node=(spaces.instances, end),
        sources=[NodeOrEdgeData(view, values)] if values else None,
    )


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _integer(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() and abs(number) < 2**63 else None


def relationship_edge(relationship: Relationship, spaces: Spaces) -> EdgeApply:
    """A BOM line (part -> component) or routing step as an edge of the type its id's kind names."""
    kind = kind_and_key(relationship.external_id)[0]
    edge_type = "bomLine" if kind == "bom" else "routingStep"
    return EdgeApply(
        spaces.instances,
        relationship.external_id,
        type=(spaces.schema, edge_type),
        start_node=(spaces.instances, relationship.source_external_id),
        end_node=(spaces.instances, relationship.target_external_id),
    )


def inactive_node(external_id: str, spaces: Spaces) -> NodeApply:
    """Only `active` = false, written to the PlexRecord container: every other property stays."""
    record = ContainerId(spaces.schema, model.RECORD.name)
    return NodeApply(spaces.instances, external_id, sources=[NodeOrEdgeData(record, {"active": False})])
