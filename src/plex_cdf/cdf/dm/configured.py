"""Configured resources (`resources:` entries with a `view:`) on the data-modeling target: one container and
one view per entry in plex-cdf's schema space, and their nodes. Pure: setup applies what this makes.

The view's own properties are the entry's fields: the fields its Connect route publishes (with their
types), or for a data source the fields the entry names (text). A field whose name CDM or plex-cdf already
uses in the view (`name`, `type`, `active`, `source`, ...) is not an own property; every field not an own
property goes into `extractedData`, as Plex sent it. What the view implements follows the target:

- `raw`: CogniteDescribable + CogniteSourceable (a thing that is not a physical asset), a node per record;
- `events`: CogniteActivity, a node per record (the event), with its times and asset links;
- `time-series`: CogniteTimeSeries, a node per series (its own properties: the series-key fields), the
  points by `instanceId`.

All of them also implement CogniteExtractorData and map the PlexRecord container (kind, type, `active`).
The view's version is derived from its shape (`c` + 8 hex digits of a digest), so a changed field list is a
new view version, never an overwrite; the container keeps its name (CDF accepts added properties; a
changed type is refused by CDF at `setup`, naming the property).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cognite.client.data_classes.data_modeling import (
    Boolean,
    ContainerApply,
    ContainerId,
    ContainerPropertyApply,
    Float64,
    Int64,
    MappedPropertyApply,
    NodeApply,
    NodeOrEdgeData,
    Text,
    ViewApply,
    ViewId,
)
from cognite.client.data_classes.data_modeling.data_types import Json as JsonType
from cognite.client.data_classes.data_modeling.data_types import PropertyType
from cognite.client.data_classes.data_modeling.views import ViewPropertyApply

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.config.resources import ConfiguredResource, named_fields
from plex_cdf.domains.common import meta_key
from plex_cdf.ids import external_id
from plex_cdf.items import RawRow
from plex_cdf.plex.routes import route_for

OwnKind = Literal["text", "int64", "float64", "boolean", "json"]
Json = dict[str, Any]
PROPERTY_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{0,254}")
PLEX_TYPES: Mapping[str, OwnKind] = {"integer": "int64", "number": "float64", "boolean": "boolean"}
# Property names the implemented CDM views (and the PlexRecord container) already use in these views.
TAKEN = frozenset(
    {
        *("name", "description", "tags", "aliases", "sourceId", "sourceContext", "source"),
        *("sourceCreatedTime", "sourceUpdatedTime", "sourceCreatedUser", "sourceUpdatedUser"),
        *("extractedData", "startTime", "endTime", "scheduledStartTime", "scheduledEndTime"),
        *("assets", "equipment", "timeSeries", "isStep", "type", "sourceUnit", "unit", "activities"),
        *("plexKind", "plexType", "plexSubtype", "active", "space", "externalId", "createdTime"),
        *("lastUpdatedTime", "deletedTime", "extensions"),
    }
)
IMPLEMENTS: Mapping[str, tuple[ViewId, ...]] = {
    "raw": (model.cdm("CogniteDescribable"), model.cdm("CogniteSourceable"), model.EXTRACTOR_DATA),
    "events": (model.cdm("CogniteActivity"), model.EXTRACTOR_DATA),
    "time-series": (model.cdm("CogniteTimeSeries"), model.EXTRACTOR_DATA),
}


@dataclass(frozen=True)
class ConfiguredView:
    """The view (and container) of one configured resource."""

    resource: str
    name: str
    target: Literal["raw", "events", "time-series"]
    own: tuple[tuple[str, OwnKind], ...]  # own properties: field name and kind, in field order

    @property
    def version(self) -> str:
        shape = json.dumps([self.target, [list(p) for p in self.own]])
        return "c" + hashlib.sha256(shape.encode()).hexdigest()[:8]

    def view_id(self, schema_space: str) -> ViewId:
        return ViewId(schema_space, self.name, self.version)

    def container(self, schema_space: str) -> ContainerApply:
        return ContainerApply(
            space=schema_space,
            external_id=self.name,
            name=self.name,
            description=f"The fields of configured resource {self.resource} (plex-cdf)",
            used_for="node",
            properties={
                field: ContainerPropertyApply(_type(kind), nullable=True, description=f"Plex field {field}")
                for field, kind in self.own
            },
        )

    def view(self, schema_space: str) -> ViewApply:
        record = ContainerId(schema_space, model.RECORD.name)
        mine = ContainerId(schema_space, self.name)
        properties: dict[str, ViewPropertyApply] = {
            prop.name: MappedPropertyApply(record, prop.name) for prop in model.RECORD.properties
        }
        properties.update({field: MappedPropertyApply(mine, field) for field, _ in self.own})
        return ViewApply(
            space=schema_space,
            external_id=self.name,
            version=self.version,
            name=self.name,
            description=f"Configured resource {self.resource} ({self.target} target), written by plex-cdf",
            implements=list(IMPLEMENTS[self.target]),
            properties=properties,
        )

    def split(self, values: Mapping[str, Any]) -> tuple[Json, Json]:
        """A record's fields as (own properties, the rest for `extractedData`); a value that does not fit its
        property's type stays in the rest, under its own name."""
        kinds = dict(self.own)
        # events and series carry their fields under metadata-style keys (`Workcenter_Code` ->
        # `workcenterCode`); the property keeps the field's own name
        named = {**{meta_key(f): f for f in kinds}, **{f: f for f in kinds}}
        own: Json = {}
        rest: Json = {}
        for key, value in values.items():
            if value is None or value == "":
                continue
            field = named.get(key, key)
            kind = kinds.get(field)
            fitted = _fitted(value, kind) if kind is not None else None
            if fitted is None:
                rest[key] = value
            else:
                own[field] = fitted
        return own, rest


def view_of(spec: ConfiguredResource) -> ConfiguredView | None:
    """The view a configured entry writes into on the data-modeling target (None: it names none)."""
    if spec.view is None:
        return None
    return ConfiguredView(spec.name, spec.view, spec.target, own_properties(spec))


def views_of(specs: Sequence[ConfiguredResource]) -> dict[str, ConfiguredView]:
    """The configured views by resource name."""
    return {spec.name: view for spec in specs if (view := view_of(spec)) is not None}


def own_properties(spec: ConfiguredResource) -> tuple[tuple[str, OwnKind], ...]:
    """The entry's own properties: for a time series its series-key fields; otherwise its route's
    published fields (typed) or, without them (a data source), the fields it names (text)."""
    route = route_for(spec.path) if spec.path else None
    if spec.time_series is not None:
        published = route.fields if route else {}
        fields: dict[str, str] = {f: published.get(f, "string") for f in spec.time_series.series_key}
    elif route is not None and route.fields:
        fields = dict(route.fields)
    else:
        fields = {name: "string" for _, name in named_fields(spec)}
    return tuple((field, _kind(plex_type)) for field, plex_type in fields.items() if _property_name(field))


def _property_name(field: str) -> bool:
    """A field CDF accepts as a property identifier and that no implemented view uses already."""
    return bool(PROPERTY_NAME.fullmatch(field)) and field not in TAKEN


def _kind(plex_type: str) -> OwnKind:
    if plex_type in ("array", "object") or plex_type.startswith("array:"):
        return "json"
    return PLEX_TYPES.get(plex_type, "text")


def _type(kind: OwnKind) -> PropertyType:
    types: Mapping[OwnKind, PropertyType] = {
        "text": Text(),
        "int64": Int64(),
        "float64": Float64(),
        "boolean": Boolean(),
        "json": JsonType(),
    }
    return types[kind]


def _fitted(value: Any, kind: OwnKind) -> Any:
    """The value as its property's type, or None when it does not fit (it then goes to extractedData).
    Events and series carry their fields as metadata text, so numbers and booleans are read back from it."""
    if kind == "text":
        return value if isinstance(value, str) else None
    if kind == "json":
        return value if isinstance(value, dict) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(str(value))
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if kind == "float64" else int(str(value))
    except (TypeError, ValueError):
        return None
    return number


# ------------------------------------------------------------------------------------------------ nodes


def row_node(view: ConfiguredView, row: RawRow, spaces: Spaces, source: Json, pcn: str) -> NodeApply:
    """A record of a `raw`-target entry as a node (external id `PCN{pcn}_{resource}_{key}`): its own
    fields as properties, a Plex `name` / `description` field as CogniteDescribable's, the rest in
    `extractedData`."""
    own, rest = view.split(row.columns)
    name = row.columns.get("name")
    description = row.columns.get("description")
    props: Json = {
        **own,
        "name": name if isinstance(name, str) and name else row.key,
        "description": description if isinstance(description, str) and description else None,
        "sourceId": row.key,
        "plexKind": view.resource,
        "active": True,
        "extractedData": rest or None,
    }
    return _node(view, spaces, external_id(pcn, view.resource, row.key), props, source)


def item_node(view: ConfiguredView, base: Json, spaces: Spaces, source: Json, pcn: str) -> NodeApply:
    """An event or time series of a configured entry, as the mapping made it for plex-cdf's own view
    (`base`, its body), moved into the entry's view: the fields in its metadata that are own properties
    become properties, the Plex id (`sourceId`) and kind are the entry's."""
    props = dict(base["sources"][0]["properties"])
    xid: str = base["externalId"]
    metadata = props.pop("extractedData", None)
    own, rest = view.split(metadata if isinstance(metadata, dict) else {})
    prefix = external_id(pcn, view.resource, "")
    props.update(own)
    props.update(
        sourceId=xid.removeprefix(prefix),
        plexKind=view.resource,
        extractedData=rest or None,
    )
    return _node(view, spaces, xid, props, source)


def _node(view: ConfiguredView, spaces: Spaces, xid: str, props: Json, source: Json) -> NodeApply:
    kept = {k: v for k, v in props.items() if v is not None and v != []}
    kept["source"] = source
    return NodeApply(spaces.instances, xid, sources=[NodeOrEdgeData(view.view_id(spaces.schema), kept)])
