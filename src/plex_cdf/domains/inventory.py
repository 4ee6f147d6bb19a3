"""Inventory: locations and active containers as assets under the Inventory asset, WIP per location and
part as time series (Plex has no WIP endpoint, so it is summed from the containers), container moves and
adjustments as events.

A container's parent is its location, so a move changes the parent on the next snapshot; a container that
leaves Plex's active list is marked inactive by the Snapshot mode, and deleted once it has been gone for
the configured retention (30 days by default). Quantities are in the part's inventory
unit as Plex sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from plex_cdf.domains.common import (
    LINK_FIELDS,
    READABLE,
    key_text,
    lineage,
    linked_id,
    merged,
    metadata_from,
    number,
    optional_readable_id,
    plex_ms,
    readable_id,
    readable_name,
    row_key,
    text,
    unique,
)
from plex_cdf.domains.resource import Context, Get, Quarantine, Record, Resource, Snapshot, Window
from plex_cdf.ids import external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, TimeSeries
from plex_cdf.plex.dates import to_epoch_ms

LOCATIONS = "locations"
CONTAINERS = "containers"
CONTAINER_MOVES = "container_moves"
CONTAINER_ADJUSTMENTS = "container_adjustments"

LOCATION_FIELDS = (
    "locationId",
    "locationCode",
    "buildingName",
    "buildingCode",
    "locationType",
    "inventoryLocation",
    "supplyLocation",
    "tankSilo",
)
CONTAINER_FIELDS = (
    "serialNo",
    "partId",
    "partNo",
    "revision",
    "partNoRevision",
    "partName",
    "partOperationId",
    "operationNo",
    "operationCode",
    "containerStatus",
    "locationId",
    "location",
    "quantity",
    "quantityInventoryUnit",
    "grossWeight",
    "netWeight",
    "tareWeight",
    "containerType",
    "trackingNo",
    "addDateTime",
    "updateDateTime",
    "containerShelfDateTime",
    "masterUnitId",
    "masterUnitNo",
    "lotId",
    "lotNo",
    "heatId",
    "heatCode",
    "heatNo",
    "eun",
    "inventoryType",
)
HISTORY_FIELDS = (
    "adjustmentDate",
    "serialNo",
    "quantity",
    "netWeight",
    "adjustmentCode",
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationCode",
    "operationNumber",
    "location",
    "locationId",
)
MOVE_FIELDS = (*HISTORY_FIELDS, "movedFromLocation", "movedFromLocationId")

# WIP: active containers whose inventory type is one of these and whose status is none of those (compared
# case-insensitively).
WIP_INVENTORY_TYPES = frozenset({"wip", "work in process", "work in progress"})
NON_WIP_STATUSES = frozenset({"scrap", "scrapped", "waste", "shipped"})


def inventory_group(pcn: str) -> str:
    """The "Inventory" asset (made by the master-data domain) that holds every location."""
    return external_id(pcn, "group", "inventory")


LINKED_LISTS = (LOCATIONS, READABLE["part"].list)
"""The master-data lists whose codes the history events' links are keyed by."""


def location_to_asset(record: Record, ctx: Context) -> Iterable[Item]:
    location_id = key_text(record, "locationId")
    yield Asset(
        external_id=readable_id(ctx, "location", location_id, text(record, "locationCode")),
        name=text(record, "locationCode") or location_id,
        parent_external_id=inventory_group(ctx.pcn),
        data_set="inventory",
        description=readable_name(text(record, "buildingCode"), text(record, "locationType")),
        metadata=merged(metadata_from(record, LOCATION_FIELDS), lineage(ctx.resource, location_id)),
    )


@dataclass(frozen=True)
class Container:
    serial_no: str
    location_id: str | None
    part_id: str | None
    quantity: float | None
    location_label: str | None
    part_label: str | None


def read_container(record: Record) -> Container:
    """The fields a container asset and the WIP sums need; Quarantine names the first bad one."""
    for name in ("addDateTime", "updateDateTime"):
        plex_ms(record, name)
    return Container(
        serial_no=key_text(record, "serialNo"),
        location_id=text(record, "locationId"),
        part_id=text(record, "partId"),
        quantity=number(record, "quantity"),
        location_label=text(record, "location"),
        part_label=text(record, "partNoRevision") or text(record, "partNo"),
    )


def container_to_asset(record: Record, ctx: Context) -> Iterable[Item]:
    """A container under its location (under the Inventory asset when Plex gives no location)."""
    container = read_container(record)
    yield Asset(
        external_id=external_id(ctx.pcn, "container", container.serial_no),
        name=container.serial_no,
        parent_external_id=optional_readable_id(
            ctx, "location", container.location_id, container.location_label
        )
        or inventory_group(ctx.pcn),
        data_set="inventory",
        description=readable_name(container.part_label, text(record, "containerStatus")),
        metadata=merged(metadata_from(record, CONTAINER_FIELDS), lineage(ctx.resource, container.serial_no)),
    )


def is_wip(record: Record) -> bool:
    kind = record.get("inventoryType")
    status = record.get("containerStatus")
    return (
        isinstance(kind, str)
        and kind.strip().lower() in WIP_INVENTORY_TYPES
        and not (isinstance(status, str) and status.strip().lower() in NON_WIP_STATUSES)
    )


@dataclass
class WipSum:
    location_code: str | None
    part_label: str | None
    quantity: float = 0.0


def wip_sums(records: Sequence[Record]) -> dict[tuple[str, str], WipSum]:
    """WIP quantity per (locationId, partId); containers without a location, a part or a
    valid quantity are left out (the bad ones are quarantined by `container_to_asset`)."""
    sums: dict[tuple[str, str], WipSum] = {}
    for record in records:
        if not is_wip(record):
            continue
        try:
            container = read_container(record)
        except Quarantine:
            continue
        if container.location_id is None or container.part_id is None or container.quantity is None:
            continue
        key = (container.location_id, container.part_id)
        if key not in sums:
            sums[key] = WipSum(
                text(record, "location"), text(record, "partNoRevision") or text(record, "partNo")
            )
        sums[key].quantity += container.quantity
    return sums


def finish_wip(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """One current-value series per location and part holding WIP now."""
    now_ms = to_epoch_ms(ctx.now)
    for (location_id, part_id), wip in sorted(wip_sums(records).items()):
        plex_id = f"{location_id}|{part_id}"
        series = TimeSeries(
            external_id=external_id(ctx.pcn, "wip", f"{location_id}_{part_id}"),
            name=f"WIP {wip.location_code or location_id} {wip.part_label or part_id}",
            data_set="inventory",
            asset_external_id=linked_id(ctx, "location", location_id),
            description="Quantity in active WIP containers at this location for this part",
            metadata=merged(lineage(ctx.resource, plex_id), {"locationId": location_id, "partId": part_id}),
        )
        yield series
        yield Datapoints(series.external_id, ((now_ms, wip.quantity),), latest_only=True)


MOVE_KEY = ("serialNo", "adjustmentDate", "locationId", "movedFromLocationId")
ADJUSTMENT_KEY = ("serialNo", "adjustmentDate", "adjustmentCode", "locationId", "quantity")


def _history_event(record: Record, ctx: Context, kind: str, key: tuple[str, ...]) -> Event:
    """A container history row as an instant event linked to its locations and part."""
    serial_no = key_text(record, "serialNo")
    at = plex_ms(record, "adjustmentDate", required_field=True)
    number(record, "quantity")
    external, plex_id = row_key(ctx.pcn, kind, record, key)
    links = [
        optional_readable_id(ctx, "location", text(record, "locationId"), text(record, "location")),
        optional_readable_id(
            ctx, "location", text(record, "movedFromLocationId"), text(record, "movedFromLocation")
        ),
        optional_readable_id(ctx, "part", text(record, "partId"), text(record, "partNumberRevision")),
    ]
    fields = MOVE_FIELDS if kind == "container_move" else HISTORY_FIELDS
    return Event(
        external_id=external,
        data_set="inventory",
        type=kind,
        subtype=text(record, "adjustmentCode"),
        start_time=at,
        end_time=at,
        description=_history_description(record, serial_no, kind),
        metadata=merged(metadata_from(record, fields), lineage(ctx.resource, plex_id)),
        asset_external_ids=unique(links),
    )


def _history_description(record: Record, serial_no: str, kind: str) -> str:
    if kind == "container_move":
        origin = text(record, "movedFromLocation") or "?"
        return f"{serial_no} moved from {origin} to {text(record, 'location') or '?'}"
    return (
        f"{serial_no} adjusted by {text(record, 'quantity') or '?'} ({text(record, 'adjustmentCode') or '-'})"
    )


def move_to_event(record: Record, ctx: Context) -> Iterable[Item]:
    yield _history_event(record, ctx, "container_move", MOVE_KEY)


def adjustment_to_event(record: Record, ctx: Context) -> Iterable[Item]:
    yield _history_event(record, ctx, "container_adjustment", ADJUSTMENT_KEY)


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name=LOCATIONS,
        domain="inventory",
        source=Get("/inventory/v1/inventory-definitions/locations"),
        mode=Snapshot(),
        key=("locationId",),
        transform=location_to_asset,
        lookup=(LOCATIONS,),  # its own list: codes Plex repeats get told apart (ids.readable_keys)
        lookup_fields=LINK_FIELDS,
        description="Inventory locations, as assets under the Inventory asset",
    ),
    Resource(
        name=CONTAINERS,
        domain="inventory",
        source=Get("/inventory/v1/inventory-tracking/containers"),
        # WIP where no container is left is zero, not its last value; a container gone for the retention
        # (extractor.inventory.container-retention) leaves the tree.
        mode=Snapshot(vanished_value=0.0, expire_vanished=True),
        key=("serialNo",),
        transform=container_to_asset,
        finish=finish_wip,
        lookup=(LOCATIONS,),
        lookup_fields=LINK_FIELDS,
        description="Active containers as assets under their location; WIP per location and part",
    ),
    Resource(
        name=CONTAINER_MOVES,
        domain="inventory",
        source=Get("/inventory/v1/inventory-history/container-location-moves"),
        mode=Window(begin_param="beginDate", end_param="endDate"),
        key=MOVE_KEY,
        transform=move_to_event,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
        optional=True,  # some tenants answer 400 here
        description="Container location moves, as container_move events",
    ),
    Resource(
        name=CONTAINER_ADJUSTMENTS,
        domain="inventory",
        source=Get("/inventory/v1/inventory-history/container-adjustments"),
        mode=Window(begin_param="beginDate", end_param="endDate"),
        key=ADJUSTMENT_KEY,
        transform=adjustment_to_event,
        lookup=LINKED_LISTS,
        lookup_fields=LINK_FIELDS,
        description="Container adjustments, as container_adjustment events",
    ),
)
