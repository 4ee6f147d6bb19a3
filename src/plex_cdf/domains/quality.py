"""Quality: checksheets (data source 4142) and problem logs (19938) as events, specifications (Connect's
part-specifications list, or data source 6429 where that list is not offered) as assets under their part.

Data-source rows carry Classic integer keys (`Part_Key`, `Workcenter_Key`); they reach the Connect ids the
master data uses through the key maps defined here (records `{"key": <int>, "id": "<uuid>"}`, fetched by
POSTing `identity_mapping_bodies` to Plex's identity mapping). A row whose key is not in the map keeps the
key in metadata and goes without that link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from plex_cdf.domains.common import (
    KEY_MAP_FIELDS,
    LINK_FIELDS,
    READABLE,
    datasource_ms,
    flag,
    integer_key,
    key_text,
    lineage,
    mapped_id,
    merged,
    metadata_from,
    number,
    optional_readable_id,
    plex_ms,
    readable_id,
    readable_name,
    required_text,
    text,
    unique,
)
from plex_cdf.domains.resource import (
    Context,
    DataSource,
    Get,
    Post,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    Window,
)
from plex_cdf.ids import external_id
from plex_cdf.items import Asset, Event, Item

PART_KEY_MAP = "part_key_map"
WORKCENTER_KEY_MAP = "workcenter_key_map"
IDENTITY_MAPPING_PATH = "/platform/identity-mappings/v1/ids-to-keys"
MAX_IDS_PER_CALL = 5000  # Plex's cap on identity-mapping records per call
WEEK = timedelta(days=7)

CHECKSHEET_COLUMNS = (
    "Checksheet_No",
    "Checksheet_Date",
    "Checksheet_Type",
    "Inspection_Mode",
    "Part_Key",
    "Part_No",
    "Part_Revision",
    "Operation_No",
    "Operation_Code",
    "Workcenter_Key",
    "Workcenter_Code",
    "Job_Key",
    "Job_No",
    "Inspector",
    "Out_Of_Spec",
    "Note",
)
PROBLEM_LOG_COLUMNS = (
    "Problem_Log_Key",
    "Problem_Date",
    "Problem_Type",
    "Problem_Category",
    "Description",
    "Status",
    "Severity",
    "Part_Key",
    "Part_No",
    "Workcenter_Key",
    "Workcenter_Code",
    "Job_No",
    "Reported_By",
    "Closed_Date",
)
SPECIFICATION_COLUMNS = (
    "Specification_Key",
    "Specification_No",
    "Part_Key",
    "Part_No",
    "Part_Revision",
    "Description",
    "Target",
    "Upper_Limit",
    "Lower_Limit",
    "Unit",
    "Gage_Type",
    "Customer_Specified",
    "Update_Date",
)
PART_SPECIFICATION_FIELDS = (
    "id",
    "partId",
    "partNumber",
    "partRevision",
    "specificationNumber",
    "description",
    "formula",
    "formulaType",
    "defaultGageType",
    "plcName",
    "specialSymbol",
    "customerSpecified",
    "note",
    "functionRequirementType",
    "specificationDimensionType",
    "updatedDateTime",
)


# --- Key maps ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyMapSource:
    """Where a key map's Connect ids come from: a master-data list and its id field."""

    standard_object: str  # identity-mapping `standardObjectName`
    ids_from: str  # resource row listing the Connect ids
    id_field: str


KEY_MAP_SOURCES: Mapping[str, KeyMapSource] = {
    PART_KEY_MAP: KeyMapSource("Part", "parts", "id"),
    WORKCENTER_KEY_MAP: KeyMapSource("Workcenter", "workcenters", "workcenterId"),
}


def identity_mapping_bodies(key_map: str, ctx: Context) -> list[dict[str, object]]:
    """The POST bodies for `IDENTITY_MAPPING_PATH` that fetch the key map `key_map`: every Connect id of its
    master-data list (in ctx.lookups), at most MAX_IDS_PER_CALL per body. Each answer is a list of
    `{"id": <uuid>, "key": <int>}`, which are the key map's records."""
    source = KEY_MAP_SOURCES[key_map]
    ids = sorted(
        {str(r[source.id_field]) for r in ctx.lookups.get(source.ids_from, ()) if r.get(source.id_field)}
    )
    return [
        {"standardObjectName": source.standard_object, "ids": ids[start : start + MAX_IDS_PER_CALL]}
        for start in range(0, len(ids), MAX_IDS_PER_CALL)
    ]


def check_key_map_entry(record: Record, ctx: Context) -> Iterable[Item]:
    """A key-map record makes no CDF object; a malformed one is quarantined so the count shows it."""
    if integer_key(record, "key") is None:
        raise Quarantine("missing key")
    required_text(record, "id")
    return ()


@dataclass(frozen=True)
class Links:
    """The Connect ids behind a row's Classic keys (None where the map has no entry)."""

    part_id: str | None
    workcenter_id: str | None

    def metadata(self) -> dict[str, str]:
        ids = {"partId": self.part_id, "workcenterId": self.workcenter_id}
        return {name: value for name, value in ids.items() if value}

    def assets(self, ctx: Context) -> tuple[str, ...]:
        return unique(
            (
                optional_readable_id(ctx, "part", self.part_id),
                optional_readable_id(ctx, "workcenter", self.workcenter_id),
            )
        )


def key_links(row: Record, ctx: Context) -> Links:
    """Part_Key and Workcenter_Key mapped to Connect ids; Quarantine when a key is not an integer."""
    return Links(
        part_id=mapped_id(ctx, PART_KEY_MAP, integer_key(row, "Part_Key")),
        workcenter_id=mapped_id(ctx, WORKCENTER_KEY_MAP, integer_key(row, "Workcenter_Key")),
    )


# --- Checksheets (data source 4142) -----------------------------------------------------------------


def checksheet_to_event(row: Record, ctx: Context) -> Iterable[Item]:
    """A checksheet as an instant `checksheet` event on its part and workcenter; Out_Of_Spec in metadata."""
    number_text = key_text(row, "Checksheet_No")
    at = datasource_ms(row, "Checksheet_Date", ctx, required_field=True)
    out_of_spec = flag(row, "Out_Of_Spec")
    links = key_links(row, ctx)
    yield Event(
        external_id=external_id(ctx.pcn, "checksheet", number_text),
        data_set="quality",
        type="checksheet",
        subtype=text(row, "Checksheet_Type"),
        start_time=at,
        end_time=at,
        description=readable_name(
            f"Checksheet {number_text}", text(row, "Part_No"), "out of spec" if out_of_spec else None
        ),
        metadata=merged(
            metadata_from(row, CHECKSHEET_COLUMNS),
            {"Out_Of_Spec": "true" if out_of_spec else "false"},
            links.metadata(),
            lineage(ctx.resource, number_text),
        ),
        asset_external_ids=links.assets(ctx),
    )


# --- Problem logs, the NCRs (data source 19938) -----------------------------------------------------


def problem_log_to_event(row: Record, ctx: Context) -> Iterable[Item]:
    """A problem log as an `ncr` event from its report date to its close date (open-ended while open)."""
    key = key_text(row, "Problem_Log_Key")
    start = datasource_ms(row, "Problem_Date", ctx, required_field=True)
    end = datasource_ms(row, "Closed_Date", ctx)
    number(row, "Severity")
    if start is not None and end is not None and end < start:
        raise Quarantine(f"Closed_Date is before Problem_Date: {row.get('Closed_Date')!r}")
    links = key_links(row, ctx)
    yield Event(
        external_id=external_id(ctx.pcn, "ncr", key),
        data_set="quality",
        type="ncr",
        subtype=text(row, "Problem_Type"),
        start_time=start,
        end_time=end,
        description=text(row, "Description"),
        metadata=merged(
            metadata_from(row, PROBLEM_LOG_COLUMNS), links.metadata(), lineage(ctx.resource, key)
        ),
        asset_external_ids=links.assets(ctx),
    )


# --- Specifications -----------------------------------------------------------------------------------


def tolerance_metadata(record: Record) -> dict[str, str]:
    """The nested toleranceType object flattened to `tolerance_<field>` metadata (scalars only)."""
    tolerance: Any = record.get("toleranceType")
    if tolerance is None:
        return {}
    if not isinstance(tolerance, Mapping):
        raise Quarantine(f"toleranceType is not an object: {tolerance!r}")
    scalars = {f"tolerance_{k}": v for k, v in tolerance.items() if not isinstance(v, Mapping | list)}
    return metadata_from(scalars, scalars)


def part_specification_to_asset(record: Record, ctx: Context) -> Iterable[Item]:
    """A Connect part specification as an asset under its part."""
    spec_id = key_text(record, "id")
    part_id = required_text(record, "partId")
    plex_ms(record, "updatedDateTime")
    yield Asset(
        external_id=external_id(ctx.pcn, "specification", spec_id),
        name=readable_name(text(record, "specificationNumber"), text(record, "description")) or spec_id,
        parent_external_id=readable_id(ctx, "part", part_id),
        data_set="quality",
        description=text(record, "note"),
        metadata=merged(
            metadata_from(record, PART_SPECIFICATION_FIELDS),
            tolerance_metadata(record),
            lineage(ctx.resource, spec_id),
        ),
    )


def specification_row_to_asset(row: Record, ctx: Context) -> Iterable[Item]:
    """A data-source 6429 specification as an asset under its part (Quarantine when the part's key has
    no Connect id, since the part is its parent)."""
    key = key_text(row, "Specification_Key")
    links = key_links(row, ctx)
    if links.part_id is None:
        raise Quarantine(f"Part_Key: {row.get('Part_Key')!r} has no Connect id in {PART_KEY_MAP}")
    for column in ("Target", "Upper_Limit", "Lower_Limit"):
        number(row, column)
    flag(row, "Customer_Specified")
    datasource_ms(row, "Update_Date", ctx)
    yield Asset(
        external_id=external_id(ctx.pcn, "specification_key", key),
        name=readable_name(text(row, "Specification_No"), text(row, "Description")) or key,
        parent_external_id=readable_id(ctx, "part", links.part_id),
        data_set="quality",
        metadata=merged(
            metadata_from(row, SPECIFICATION_COLUMNS), links.metadata(), lineage(ctx.resource, key)
        ),
    )


def _key_map(name: str) -> Resource:
    source = KEY_MAP_SOURCES[name]
    return Resource(
        name=name,
        domain="quality",
        source=Post(IDENTITY_MAPPING_PATH, partial(identity_mapping_bodies, name)),
        mode=Snapshot(mark_inactive=False),
        key=("key",),
        transform=check_key_map_entry,
        # The whole list, read at each run of the map: a part new since master data's last read is mapped
        # at once (a checksheet naming its key gets its link), as it was before lists were kept.
        lookup=(source.ids_from,),
        description=f"Connect {source.ids_from} ids -> Classic integer keys (POST, identity_mapping_bodies)",
    )


LINKED_LISTS = (READABLE["part"].list, READABLE["workcenter"].list)
"""The master-data lists whose codes the quality events' links are keyed by."""
KEY_MAP_LINK_FIELDS = {**LINK_FIELDS, PART_KEY_MAP: KEY_MAP_FIELDS, WORKCENTER_KEY_MAP: KEY_MAP_FIELDS}
"""`lookup_fields` of the data-source rows: the key maps (each read at its own row's run, in the quality
pass) and the linked lists."""
KEY_MAPS: tuple[Resource, ...] = tuple(_key_map(name) for name in KEY_MAP_SOURCES)

RESOURCES: tuple[Resource, ...] = (
    *KEY_MAPS,
    Resource(
        name="checksheets",
        domain="quality",
        source=DataSource(4142),
        mode=Window("Start_Date", "End_Date"),
        key=("Checksheet_No",),
        transform=checksheet_to_event,
        lookup=(PART_KEY_MAP, WORKCENTER_KEY_MAP, *LINKED_LISTS),
        lookup_fields=KEY_MAP_LINK_FIELDS,
        optional=True,
        description="Checksheets_Get: checksheets by date, as checksheet events",
    ),
    Resource(
        name="part_specifications",
        domain="quality",
        source=Get("/quality/v1/part-specifications"),
        mode=Snapshot(),
        key=("id",),
        transform=part_specification_to_asset,
        lookup=(READABLE["part"].list,),
        lookup_fields=LINK_FIELDS,
        optional=True,
        description="Part specifications, as assets under their part",
    ),
    Resource(
        name="specifications",
        domain="quality",
        source=DataSource(6429),
        mode=Snapshot(),
        key=("Specification_Key",),
        transform=specification_row_to_asset,
        lookup=(PART_KEY_MAP, READABLE["part"].list),
        lookup_fields=KEY_MAP_LINK_FIELDS,
        optional=True,
        fallback_for="part_specifications",
        description="Specification_Get: specifications where the Connect list is not offered",
    ),
    Resource(
        name="problem_logs",
        domain="quality",
        source=DataSource(19938),
        # A problem log is closed days after it is opened: a week's lookback picks the close up.
        mode=Window("Start_Date", "End_Date", max_span=WEEK, lookback=WEEK),
        key=("Problem_Log_Key",),
        transform=problem_log_to_event,
        lookup=(PART_KEY_MAP, WORKCENTER_KEY_MAP, *LINKED_LISTS),
        lookup_fields=KEY_MAP_LINK_FIELDS,
        optional=True,
        description="Problem_Logs_Get: problem logs by report date, as ncr events",
    ),
)
