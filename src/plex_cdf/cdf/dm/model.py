"""plex-cdf's data model as data: its containers, its views, which Core Data Model (CDM) views each view
implements, and which Plex kinds (the `{kind}` of `PCN{pcn}_{kind}_{key}`) land in which view.

Everything else (`setup`, the sink, docs/data-model.svg) is derived from these tables; docs/data-model.md
explains each choice. A change to a view's properties or parents is a new `VERSION` (CDF refuses to change
a published view version, and `setup` refuses to overwrite one silently).
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cognite.client.data_classes.data_modeling import (
    Boolean,
    ContainerApply,
    ContainerId,
    ContainerPropertyApply,
    DataModelApply,
    DirectRelation,
    Float64,
    Int64,
    MappedPropertyApply,
    SpaceApply,
    Text,
    ViewApply,
    ViewId,
)
from cognite.client.data_classes.data_modeling.data_types import PropertyType

VERSION = "v1"
DATA_MODEL = "PlexManufacturing"
CDM = "cdf_cdm"
EXTENSIONS = "cdf_extraction_extensions"
UNITS = "cdf_cdm_units"
SOURCE_SYSTEM_ID = "plex_source_system"
SOURCE_SYSTEM_NAME = "Plex Manufacturing Cloud"
MAX_TEXT = 255  # plex-cdf's own short text properties (kinds, types, codes)

PropertyKind = Literal["text", "boolean", "float64", "int64", "direct"]


def cdm(name: str) -> ViewId:
    return ViewId(CDM, name, "v1")


EXTRACTOR_DATA = ViewId(EXTENSIONS, "CogniteExtractorData", "v1")
# The CDM views plex-cdf writes through (besides its own, which implement them).
USED_CDM_VIEWS = (
    cdm("CogniteSourceSystem"),
    cdm("CogniteAssetClass"),
    cdm("CogniteAssetType"),
    cdm("CogniteEquipmentType"),
    cdm("CogniteStateSet"),
    cdm("CogniteUnit"),
    cdm("CogniteAsset"),
    cdm("CogniteEquipment"),
    cdm("CogniteActivity"),
    cdm("CogniteTimeSeries"),
    EXTRACTOR_DATA,
)


@dataclass(frozen=True)
class Prop:
    """One property of a plex-cdf container (and of every view that maps it)."""

    name: str
    kind: PropertyKind
    description: str
    target: str | None = None  # a direct relation's plex-cdf view, for the diagram and the docs

    def property_type(self) -> PropertyType:
        types: Mapping[PropertyKind, PropertyType] = {
            "text": Text(max_text_size=MAX_TEXT),
            "boolean": Boolean(),
            "float64": Float64(),
            "int64": Int64(),
            "direct": DirectRelation(),
        }
        return types[self.kind]


@dataclass(frozen=True)
class Container:
    name: str
    description: str
    properties: tuple[Prop, ...]
    used_for: Literal["node", "edge"] = "node"


@dataclass(frozen=True)
class View:
    """A plex-cdf view: the CDM views it implements, the containers it adds, the Plex kinds it holds."""

    name: str
    description: str
    implements: tuple[ViewId, ...]
    containers: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    used_for: Literal["node", "edge"] = "node"
    relations: Mapping[str, str] = field(default_factory=dict)  # CDM direct relation -> what it points to


RECORD = Container(
    "PlexRecord",
    "What every plex-cdf node carries beside CDM: the Plex kind, and whether Plex still lists the record.",
    (
        Prop("plexKind", "text", "the kind in the Plex id scheme (part, workcenter, job, ...)"),
        Prop(
            "plexType", "text", "the Plex record type, where it has one (e.g. a job status, a scrap reason)"
        ),
        Prop("plexSubtype", "text", "a finer Plex classification (status, adjustment code, problem type)"),
        Prop("active", "boolean", "false once the record vanished from its Plex snapshot (never deleted)"),
    ),
)
INVENTORY = Container(
    "PlexInventory",
    "Where a container is: a direct relation to its location node.",
    (Prop("location", "direct", "the location node holding the container", target="PlexLocation"),),
)
QUANTITY = Container(
    "PlexQuantity",
    "The quantities a BOM line or routing step edge carries.",
    (
        Prop("quantity", "float64", "quantity per parent unit (BOM) or standard quantity (routing)"),
        Prop("unit", "text", "the Plex unit of the quantity"),
        Prop("sequence", "int64", "the line or operation number"),
    ),
    used_for="edge",
)
JOB_OPERATION = Container(
    "PlexJobOperation",
    "A job's routing step as run: its job, its place in the routing, its quantities and standard times.",
    (
        Prop("job", "direct", "the job this operation is a step of", target="PlexJob"),
        Prop("sequence", "int64", "the operation number (Plex jobOperationNumber), the routing order"),
        Prop("operationCode", "text", "the operation's code (Plex operationCode)"),
        Prop("quantity", "float64", "the quantity the operation must produce"),
        Prop("quantityCompleted", "float64", "the quantity produced at the operation"),
        Prop("setupTime", "float64", "the standard setup time, in hours"),
        Prop("runTime", "float64", "the standard run time, in hours"),
        Prop("rate", "float64", "the standard rate, in rateUnit"),
        Prop("rateUnit", "text", "the rate's unit as Plex names it: hrs, hrs/pc or pcs/hr"),
    ),
)
CONTAINERS = (RECORD, INVENTORY, QUANTITY, JOB_OPERATION)

_SOURCEABLE = (cdm("CogniteDescribable"), cdm("CogniteSourceable"), EXTRACTOR_DATA)
_RECORD = ("PlexRecord",)

VIEWS = (
    View(
        "PlexAsset",
        "The physical plant: facility, building, production line, workcenter (CogniteAsset hierarchy).",
        (cdm("CogniteAsset"), EXTRACTOR_DATA),
        _RECORD,
        kinds=("facility", "building", "production_line", "workcenter"),
        relations={"parent": "PlexAsset", "assetClass": "CogniteAssetClass", "type": "CogniteAssetType"},
    ),
    View(
        "PlexEquipment",
        "Plex equipment, linked to the workcenter asset it stands at.",
        (cdm("CogniteEquipment"), EXTRACTOR_DATA),
        _RECORD,
        kinds=("equipment",),
        relations={"asset": "PlexAsset", "equipmentType": "CogniteEquipmentType"},
    ),
    View("PlexPart", "A part number (not a physical asset).", _SOURCEABLE, _RECORD, kinds=("part",)),
    View(
        "PlexOperation",
        "An operation or a part's routing step.",
        _SOURCEABLE,
        _RECORD,
        kinds=("operation", "part_operation"),
    ),
    View("PlexSupplier", "A supplier.", _SOURCEABLE, _RECORD, kinds=("supplier",)),
    View("PlexCustomer", "A customer.", _SOURCEABLE, _RECORD, kinds=("customer",)),
    View("PlexLocation", "An inventory location.", _SOURCEABLE, _RECORD, kinds=("location",)),
    View(
        "PlexContainer",
        "A container (serial number) with a direct relation to its location.",
        _SOURCEABLE,
        (*_RECORD, "PlexInventory"),
        kinds=("container",),
    ),
    View(
        "PlexWorkcenterStatus",
        "A workcenter status definition of the tenant (also a state of the workcenter state sets).",
        _SOURCEABLE,
        _RECORD,
        kinds=("workcenter_status",),
    ),
    View(
        "PlexSpecification",
        "A quality specification of a part.",
        _SOURCEABLE,
        _RECORD,
        kinds=("specification", "specification_key"),
    ),
    View(
        "PlexJob",
        "A job: scheduled against actual times (CogniteSchedulable through CogniteActivity).",
        (cdm("CogniteActivity"), EXTRACTOR_DATA),
        _RECORD,
        kinds=("job",),
        relations={"assets": "PlexAsset", "equipment": "PlexEquipment", "timeSeries": "PlexTimeSeries"},
    ),
    View(
        "PlexJobOperation",
        "A job's operation (routing step as run): scheduled start to completion, at its workcenter.",
        (cdm("CogniteActivity"), EXTRACTOR_DATA),
        (*_RECORD, "PlexJobOperation"),
        kinds=("job_operation",),
        relations={"assets": "PlexAsset"},
    ),
    View(
        "PlexActivity",
        "Production, scrap, labor, checksheets, problem logs / NCRs, container moves, status intervals.",
        (cdm("CogniteActivity"), EXTRACTOR_DATA),
        _RECORD,
        kinds=(
            "production",
            "scrap",
            "labor",
            "checksheet",
            "ncr",
            "container_move",
            "container_history",
            "workcenter_status_change",
        ),
        relations={"assets": "PlexAsset", "equipment": "PlexEquipment"},
    ),
    View(
        "PlexTimeSeries",
        "Quantities, WIP, OEE and its factors; a `state` series per workcenter with a CogniteStateSet.",
        (cdm("CogniteTimeSeries"), EXTRACTOR_DATA),
        _RECORD,
        relations={"assets": "PlexAsset", "unit": "CogniteUnit", "stateSet": "CogniteStateSet"},
    ),
    View(
        "PlexQuantityEdge",
        "BOM lines (part -> component) and routing steps (part -> its operation) as edges with quantities.",
        (),
        ("PlexQuantity",),
        used_for="edge",
    ),
)


# -- nodes plex-cdf derives from the records (classes, types, the state set) ----------------------------


@dataclass(frozen=True)
class AssetClass:
    kind: str  # the Plex kind of the assets in the class
    name: str
    code: str


# Each level of the plant tree is a CogniteAssetClass node, `plex_asset_class_{kind}` in the instance space.
ASSET_CLASSES = (
    AssetClass("facility", "Facility", "FACILITY"),
    AssetClass("building", "Building", "BUILDING"),
    AssetClass("production_line", "Production line", "PRODUCTION_LINE"),
    AssetClass("workcenter", "Workcenter", "WORKCENTER"),
)
ASSET_CLASS_OF_KIND = {c.kind: c for c in ASSET_CLASSES}
ASSET_CLASS_PREFIX = "plex_asset_class_"
# The Plex field naming an asset's CogniteAssetType, per kind: node `plex_asset_type_{kind}_{value}`.
ASSET_TYPE_FIELD = {"building": "buildingType", "workcenter": "workcenterType"}
ASSET_TYPE_PREFIX = "plex_asset_type_"
# Plex equipment types: CogniteEquipmentType nodes `plex_equipment_type_{name}` (named by the type's text,
# which is also the node's name and code; the Plex id `equipmentTypeId` stays in extractedData).
EQUIPMENT_TYPE_FIELD = "equipmentType"
EQUIPMENT_TYPE_PREFIX = "plex_equipment_type_"

# The tenant's workcenter statuses as one CogniteStateSet; the series of these Plex kinds (string series in
# the classic target) are `state` series of it. A state's number derives from its text (`state_number`).
STATE_SET_ID = "plex_workcenter_states"
STATE_SET_NAME = "Workcenter statuses"
STATE_SERIES_KINDS = ("wc_status", "wc_status_history")
STATE_DEFINITION_KIND = "workcenter_status"  # the records that list the statuses (their name is the state)

# sourceCreatedTime / sourceUpdatedTime from the Plex fields that carry them (the first one present wins).
SOURCE_CREATED_FIELDS = ("addDateTime", "createdDate")
SOURCE_UPDATED_FIELDS = ("updateDateTime", "modifiedDate", "updatedDateTime")

# A series' unit text (as the classic target writes it, case-insensitive) -> the CDF unit catalogue's
# external id, a node of `cdf_cdm_units`. CDF's catalogue has no piece or "each" unit: counts of pieces are
# `dimensionless:num` ("Number", #). A unit not listed keeps `sourceUnit` only.
UNIT_OF_SOURCE: Mapping[str, str] = {
    **dict.fromkeys(("pcs", "pc", "piece", "pieces", "ea", "each", "count"), "dimensionless:num"),
    "fraction": "dimensionless_ratio:fraction",
    **dict.fromkeys(("%", "percent", "pct"), "dimensionless_ratio:percent"),
    **dict.fromkeys(("s", "sec", "second", "seconds"), "time:sec"),
    **dict.fromkeys(("min", "minute", "minutes"), "time:min"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "time:hr"),
    **dict.fromkeys(("g", "gram", "grams"), "mass:gm"),
    **dict.fromkeys(("kg", "kilogram", "kilograms"), "mass:kilogm"),
    **dict.fromkeys(("lb", "lbs", "lbm", "pound", "pounds"), "mass:lb"),
    **dict.fromkeys(("oz", "ounce", "ounces"), "mass:oz"),
    **dict.fromkeys(("mm", "millimeter", "millimetre"), "length:millim"),
    **dict.fromkeys(("cm", "centimeter", "centimetre"), "length:centim"),
    **dict.fromkeys(("meter", "metre", "meters", "metres"), "length:m"),  # not "m": "M" may mean thousand
    **dict.fromkeys(("in", "inch", "inches"), "length:in"),
    **dict.fromkeys(("ft", "foot", "feet"), "length:ft"),
    **dict.fromkeys(("l", "liter", "litre", "liters", "litres"), "volume:l"),
}

# BOM lines are edges from the RAW row the classic transform keeps their quantities in (`boms` table
# `bom_lines`, keyed by the relationship's external id); routing steps from the part-operation records.
BOM_ROW_TABLE = "bom_lines"
BOM_QUANTITY_FIELD, BOM_UNIT_FIELD, BOM_SEQUENCE_FIELD = "quantity", "componentUnitOfMeasure", "sortOrder"
ROUTING_KIND = "part_operation"
ROUTING_SEQUENCE_FIELD = "operationNumber"
ROUTING_PART_FIELD = "partId"

VIEW_BY_NAME = {view.name: view for view in VIEWS}
CONTAINER_BY_NAME = {container.name: container for container in CONTAINERS}
VIEW_OF_KIND = {kind: view.name for view in VIEWS for kind in view.kinds}
# Edge types (nodes in the schema space) for the edges plex-cdf writes.
EDGE_TYPES = ("bomLine", "routingStep")


def state_number(name: str) -> int:
    """A state's number in the state set: a stable 31-bit hash of its text, so a status added later never
    renumbers the points already written (model.STATE_SET_ID)."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


@functools.lru_cache(maxsize=256)
def view_id(schema_space: str, name: str) -> ViewId:
    """One of plex-cdf's views (a frozen id, so one object serves every node of that view)."""
    return ViewId(schema_space, name, VERSION)


def containers(schema_space: str) -> list[ContainerApply]:
    return [
        ContainerApply(
            space=schema_space,
            external_id=container.name,
            name=container.name,
            description=container.description,
            used_for=container.used_for,
            properties={
                prop.name: ContainerPropertyApply(
                    prop.property_type(), nullable=True, description=prop.description
                )
                for prop in container.properties
            },
        )
        for container in CONTAINERS
    ]


def views(schema_space: str) -> list[ViewApply]:
    return [
        ViewApply(
            space=schema_space,
            external_id=view.name,
            version=VERSION,
            name=view.name,
            description=view.description,
            implements=list(view.implements) or None,
            properties={
                prop.name: MappedPropertyApply(ContainerId(schema_space, name), prop.name)
                for name in view.containers
                for prop in CONTAINER_BY_NAME[name].properties
            },
        )
        for view in VIEWS
    ]


def data_model_version(configured: Sequence[ViewId] = ()) -> str:
    """`VERSION` while the model lists plex-cdf's own views only; with configured resources' views,
    `VERSION` + `-` + 8 hex digits of a digest of their ids, so a changed list is a new data model version
    beside the old one, never an in-place change (the same list in any order: the same version)."""
    if not configured:
        return VERSION
    ids = sorted(f"{v.space}:{v.external_id}/{v.version}" for v in configured)
    return f"{VERSION}-" + hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:8]


def data_model(schema_space: str, configured: Sequence[ViewId] = ()) -> DataModelApply:
    """PlexManufacturing: plex-cdf's views, the views of configured resources (`configured`) and the CDM
    views it writes through, for CDF's data-model UI."""
    return DataModelApply(
        space=schema_space,
        external_id=DATA_MODEL,
        version=data_model_version(configured),
        name="Plex Manufacturing",
        description="Plex Manufacturing Cloud data written by plex-cdf, on the Core Data Model",
        views=[
            *(view_id(schema_space, view.name) for view in VIEWS),
            *sorted(configured, key=lambda v: (v.space, v.external_id, v.version or "")),
            *USED_CDM_VIEWS,
        ],
    )


def spaces(schema_space: str, instance_spaces: list[str]) -> list[SpaceApply]:
    schema = SpaceApply(schema_space, name="plex-cdf schema", description="plex-cdf containers and views")
    return [schema] + [
        SpaceApply(space, name=f"plex-cdf {space}", description="Plex instances written by plex-cdf")
        for space in instance_spaces
    ]
