"""Items (what the transforms make, `plex_cdf.items`) as Data Modeling instances: pure, no I/O.

An item's external id `PCN{pcn}_{kind}_{key}` becomes the node's external id in the tenant's instance
space; its kind picks the view (`model.VIEW_OF_KIND`), its key is `sourceId`. Metadata goes into
`extractedData` (CogniteExtractorData). Links to assets become direct relations by the target's view:
`parent` (PlexAsset), `asset` (PlexEquipment), `location` (PlexContainer), `assets`/`equipment` (activities
and time series). A kind without a view (the classic target's grouping assets) is not modelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cognite.client.data_classes.data_modeling import (
    ContainerId,
    EdgeApply,
    NodeApply,
    NodeOrEdgeData,
)

from plex_cdf.cdf.dm import model
from plex_cdf.items import Asset, Event, Relationship, TimeSeries

Json = dict[str, Any]
KINDS_LONGEST_FIRST = tuple(sorted({*model.VIEW_OF_KIND, "group"}, key=len, reverse=True))
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


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _common(external_id: str, name: str | None, description: str | None, metadata: Mapping[str, str]) -> Json:
    kind, key = kind_and_key(external_id)
    return {
        "name": name,
        "description": description,
        "sourceId": key,
        "plexKind": kind,
        "active": True,
        "extractedData": dict(metadata) or None,
    }


def _node(spaces: Spaces, view: str, external_id: str, properties: Json, source: Json) -> NodeApply:
    props = {k: v for k, v in properties.items() if v is not None and v != []}
    props["source"] = source
    return NodeApply(
        spaces.instances,
        external_id,
        sources=[NodeOrEdgeData(model.view_id(spaces.schema, view), props)],
    )


def _links(spaces: Spaces, external_ids: Iterable[str | None], view: str) -> list[Json]:
    return [spaces.ref(x) for x in external_ids if x and view_of(x) == view]


def asset_node(asset: Asset, spaces: Spaces, source: Json) -> NodeApply | None:
    view = view_of(asset.external_id)
    if view is None:
        return None
    props = _common(asset.external_id, asset.name, asset.description, asset.metadata)
    parent = asset.parent_external_id
    relation = {"PlexAsset": "parent", "PlexEquipment": "asset", "PlexContainer": "location"}.get(view)
    target = {"parent": "PlexAsset", "asset": "PlexAsset", "location": "PlexLocation"}.get(relation or "")
    if relation and parent and view_of(parent) == target:
        props[relation] = spaces.ref(parent)
    return _node(spaces, view, asset.external_id, props, source)


def event_node(event: Event, spaces: Spaces, source: Json) -> NodeApply:
    view = "PlexJob" if event.type == "job" else "PlexActivity"
    name = event.description or f"{event.type} {kind_and_key(event.external_id)[1]}"
    props = _common(event.external_id, name, event.description, event.metadata)
    props.update(
        plexType=event.type,
        plexSubtype=event.subtype,
        startTime=iso(event.start_time),
        endTime=iso(event.end_time),
        assets=_links(spaces, event.asset_external_ids, "PlexAsset"),
        equipment=_links(spaces, event.asset_external_ids, "PlexEquipment"),
    )
    others = [x for x in event.asset_external_ids if view_of(x) not in ("PlexAsset", "PlexEquipment")]
    if others:  # parts, locations, ...: CogniteActivity has no property for them
        props["extractedData"] = {**(props["extractedData"] or {}), "links": others}
    return _node(spaces, view, event.external_id, props, source)


def time_series_node(series: TimeSeries, spaces: Spaces, source: Json) -> NodeApply:
    props = _common(series.external_id, series.name, series.description, series.metadata)
    props.update(
        isStep=series.is_step,
        type="string" if series.is_string else "numeric",
        sourceUnit=series.unit,
        assets=_links(spaces, [series.asset_external_id], "PlexAsset"),
        equipment=_links(spaces, [series.asset_external_id], "PlexEquipment"),
    )
    return _node(spaces, "PlexTimeSeries", series.external_id, props, source)


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
