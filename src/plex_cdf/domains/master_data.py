"""Master data: the plant-shaped asset tree (facility -> building -> production line -> workcenter ->
equipment), parts with their routing, BOM lines, suppliers, customers, the workcenter-status list.

Parts, suppliers, customers and workcenter status definitions are not physical: each kind hangs under its
own root asset (`PCN{pcn}_root_{kind}`), not under the facility. A workcenter goes under the production line
that lists it (`production-lines/{id}/workcenters`, kept per line by a per-parent row) and a line under
the building its workcenters share; otherwise each goes under its building, else the facility.

Every list is a whole-list snapshot: only changed records are written and a record that vanishes from Plex
is marked inactive in CDF, never deleted. Field lists are spelled out per endpoint (plex_api.md §3) and
land in metadata under Plex's own names; docs/mapping.md says where each one goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from plex_cdf.domains.common import (
    LINK_FIELDS,
    READABLE,
    check_numbers,
    index_by,
    json_metadata,
    key_text,
    lineage,
    merged,
    metadata_from,
    optional_readable_id,
    readable_id,
    readable_name,
    text,
)
from plex_cdf.domains.resource import Context, Get, PerParent, Record, Resource, Snapshot
from plex_cdf.ids import external_id, root_external_id
from plex_cdf.items import SOURCE, Asset, DataSetKey, Item, RawRow, Relationship

TENANT_FIELDS = ("id", "code")
BUILDING_FIELDS = (
    "id",
    "buildingCode",
    "buildingType",
    "name",
    "oldBuildingCode",
    "active",
    "address",
    "city",
    "state",
    "country",
    "zipCode",
    "phone",
    "fax",
    "dunsNo",
    "taxId",
    "vatRegistrationNo",
)
WORKCENTER_FIELDS = (
    "workcenterId",
    "workcenterCode",
    "name",
    "workcenterType",
    "workcenterGroup",
    "buildingId",
    "buildingCode",
    "tankSilo",
    "productionLineId",
    "ipAddress",
    "plcName",
)
PRODUCTION_LINE_FIELDS = (
    "id",
    "code",
    "description",
    "equipmentId",
    "equipmentDescription",
    "active",
    "addBy",
    "addDateTime",
    "updateBy",
    "updateDateTime",
)
PART_FIELDS = (
    "id",
    "number",
    "name",
    "revision",
    "description",
    "type",
    "group",
    "source",
    "productType",
    "status",
    "note",
    "leadTimeDays",
    "buildingCode",
    "createdById",
    "createdDate",
    "modifiedById",
    "modifiedDate",
    "allergens",
)
OPERATION_FIELDS = ("id", "code", "type", "inventoryType")
PART_OPERATION_FIELDS = (
    "id",
    "partId",
    "operationId",
    "type",
    "operationNumber",
    "active",
    "subOperation",
    "shippable",
    "multiple",
    "netWeight",
)
BOM_FIELDS = (
    "id",
    "partId",
    "partNumber",
    "partRevision",
    "partNumberRevision",
    "partOperationId",
    "partOperationCode",
    "partOperationNumber",
    "partOperationType",
    "componentPartId",
    "componentPartNumber",
    "componentPartRevision",
    "componentPartNumberRevision",
    "componentSupplyItemId",
    "componentSupplyItemNumber",
    "componentUnitOfMeasure",
    "quantity",
    "minimumQuantity",
    "maximumQuantity",
    "quantityFixed",
    "depletionUnitOfMeasure",
    "depletionConversionFactor",
    "sortOrder",
    "active",
    "position",
    "side",
    "scaling",
    "validate",
    "autoDeplete",
    "transferHeat",
    "note",
)
BOM_NUMBER_FIELDS = ("quantity", "minimumQuantity", "maximumQuantity", "depletionConversionFactor")
SUPPLIER_FIELDS = (
    "id",
    "code",
    "oldCode",
    "name",
    "language",
    "category",
    "status",
    "type",
    "parentSupplierId",
    "webAddress",
    "contactNote",
    "note",
    "createdById",
    "createdDate",
    "modifiedById",
    "modifiedDate",
)
CUSTOMER_FIELDS = (
    "id",
    "code",
    "name",
    "status",
    "type",
    "note",
    "supplierCode",
    "otherCustomerCode",
    "rating",
    "industries",
    "defaultCarrierIds",
    "region",
    "businessType",
    "category",
    "class",
    "catalog",
    "assignedToId",
    "assignedTo2Id",
    "assignedTo3Id",
    "assignedToGroup",
    "contactResourceId",
    "annualSalesMillions",
    "estimatedEmployees",
    "phone",
    "fax",
    "email",
    "trackingNoOnWeighScaleRequired",
    "multipleOrdersPerShipper",
    "estimatedAnnualSales",
    "newShipperPerReleaseNo",
    "defaultBackOrder",
    "createdById",
    "createdDate",
    "modifiedById",
    "modifiedDate",
)
WORKCENTER_STATUS_FIELDS = (
    "id",
    "description",
    "canRunProduction",
    "offStatus",
    "clockoutOperators",
    "idleStatus",
    "defaultAfterJobChange",
    "productionStatus",
    "setupStatus",
    "downtimeStatus",
    "noOperatorRequired",
    "laborCostSubTypeId",
    "maintenanceStatus",
    "active",
    "excessSetup",
)
WORKCENTER_STATUS_STRUCTURED = ("workcenterGroupWorkcenters", "linkedWorkcenterEvents")
EQUIPMENT_FIELDS = (
    "id",
    "equipmentId",
    "description",
    "brand",
    "modelNo",
    "equipmentType",
    "equipmentTypeId",
    "equipmentGroup",
    "equipmentCategory",
    "equipmentPriority",
    "location",
    "locationId",
    "building",
    "buildingId",
    "workcenter",
    "workcenterId",
    "department",
    "status",
    "taxClassification",
    "champion",
    "serialNo",
    "active",
)
EQUIPMENT_STRUCTURED = ("equipmentAttributes", "parts")

INVENTORY_GROUP = ("inventory", "Inventory")
"""The one group asset left under the facility: the inventory domain's parent for locations."""
OWN_ROOTS: tuple[tuple[str, str], ...] = (
    ("parts", "Parts"),
    ("suppliers", "Suppliers"),
    ("customers", "Customers"),
    ("workcenter_statuses", "Workcenter statuses"),
)
"""Root assets of their own (key, name) for what is not a place in the plant."""
LINE_WORKCENTERS = "production_line_workcenters"
LINE_ID = "productionLineId"  # the field each kept line-workcenter record carries its line's id under
LINE_WORKCENTER_REFRESH = timedelta(days=1)
TREE_LOOKUPS = ("buildings", LINE_WORKCENTERS)
OPERATION_FIELDS_READ = ("id", "code", "inventoryType")
"""What a part operation reads of the operations list (its lookup)."""

WORKCENTERS = READABLE["workcenter"].list
PARTS = READABLE["part"].list
BOM_FULL_REFRESH = timedelta(days=7)
# The part `type` Plex gives a part that is bought, never built: it has no BOM (Plex lists part types
# Finished Good, Sub Assembly and Raw Material), so no BOM call is made for it.
RAW_MATERIAL = "Raw Material"
BOM_TABLE = "bom_lines"
"""RAW table of BOM quantities; apart from the optional raw copies, which use the row's name (`boms`)."""


def group_external_id(pcn: str, key: str) -> str:
    return external_id(pcn, "group", key)


def own_root_external_id(pcn: str, key: str) -> str:
    """The root asset of a kind outside the physical tree (parts, suppliers, ...)."""
    return external_id(pcn, "root", key)


def building_external_id(pcn: str, building_id: str) -> str:
    return external_id(pcn, "building", building_id)


def production_line_external_id(pcn: str, line_id: str) -> str:
    return external_id(pcn, "production_line", line_id)


def no_items(record: Record, ctx: Context) -> Iterable[Item]:
    """For rows read only as lookups (tenants go through `facility`, operations into part operations)."""
    return ()


# --- facility root and groups -------------------------------------------------------------------------


def facility(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """The facility root (with the Inventory group under it) and the own roots of parts, suppliers,
    customers and workcenter statuses, from the configured tenant. Always produced, so the tree has its
    top even when Plex lists no tenant or several that do not name the PCN."""
    tenant = _configured_tenant(records, ctx.pcn) or {}
    tenant_id = _scalar(tenant, "id") or ctx.pcn
    code = _scalar(tenant, "code")
    root = root_external_id(ctx.pcn)
    plex = lineage(ctx.resource, tenant_id)
    yield Asset(
        external_id=root,
        name=f"{code or 'PCN ' + ctx.pcn} - Facility",
        parent_external_id=None,
        data_set="master",
        description=f"Plex facility PCN {ctx.pcn}",
        metadata=merged(plex, {"pcn": ctx.pcn, "type": "facility"}, {"code": code} if code else {}),
    )
    key, name = INVENTORY_GROUP
    yield Asset(
        external_id=group_external_id(ctx.pcn, key),
        name=name,
        parent_external_id=root,
        data_set="master",
        metadata=merged(plex, {"type": "group", "group": key}),
    )
    label = code or f"PCN {ctx.pcn}"
    for key, name in OWN_ROOTS:
        yield Asset(
            external_id=own_root_external_id(ctx.pcn, key),
            name=f"{label} - {name}",
            parent_external_id=None,
            data_set="master",
            description=f"{name} of Plex PCN {ctx.pcn} (not places in the plant, so not under the facility)",
            metadata=merged(plex, {"pcn": ctx.pcn, "type": "root", "root": key}),
        )


def _configured_tenant(records: Sequence[Record], pcn: str) -> Record | None:
    """The tenant whose code or id is the PCN, else the only tenant listed, else none."""
    tenants = [r for r in records if isinstance(r, Mapping)]
    for tenant in tenants:
        if pcn.casefold() in (_scalar(tenant, "code").casefold(), _scalar(tenant, "id").casefold()):
            return tenant
    return tenants[0] if len(tenants) == 1 else None


def _scalar(record: Record, name: str) -> str:
    """A field as stripped text, "" when null or not text: the root is built whatever the tenant row holds."""
    value = record.get(name)
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


# --- plant structure ----------------------------------------------------------------------------------


def _asset(
    record: Record,
    ctx: Context,
    *,
    kind: str,
    id_field: str,
    name: str | None,
    parent: str,
    fields: tuple[str, ...],
    structured: tuple[str, ...] = (),
    data_set: DataSetKey = "master",
    description: str | None = None,
    extra: Mapping[str, str] | None = None,
    shown: str | None = None,
) -> Asset:
    """An asset keyed `PCN{pcn}_{kind}_{plex id}`; for a kind people look up by code (`READABLE`), by the
    code Plex shows (`shown`), the Plex id kept in metadata `sourceId`."""
    plex_id = key_text(record, id_field)
    return Asset(
        external_id=readable_id(ctx, kind, plex_id, shown)
        if kind in READABLE
        else external_id(ctx.pcn, kind, plex_id),
        name=name or plex_id,
        parent_external_id=parent,
        data_set=data_set,
        description=description,
        metadata=merged(
            {k: v for k, v in metadata_from(record, fields).items() if v},  # empty lists carry nothing
            json_metadata(record, structured),
            extra or {},
            lineage(ctx.resource, plex_id),
        ),
    )


def building(record: Record, ctx: Context) -> Iterable[Item]:
    """Under the facility: the first level of the plant."""
    name = readable_name(text(record, "buildingCode"), text(record, "name"))
    yield _asset(
        record,
        ctx,
        kind="building",
        id_field="id",
        name=name,
        parent=root_external_id(ctx.pcn),
        fields=BUILDING_FIELDS,
    )


def workcenter(record: Record, ctx: Context) -> Iterable[Item]:
    """Named `"{code} - {name}"`, the readable names the predecessor's users asked for; under the production
    line that lists it, else under its building, else under the facility (`workcenter_parent`)."""
    name = readable_name(text(record, "workcenterCode"), text(record, "name"))
    yield _asset(
        record,
        ctx,
        kind="workcenter",
        id_field="workcenterId",
        name=name,
        parent=workcenter_parent(record, ctx),
        fields=WORKCENTER_FIELDS,
        shown=text(record, "workcenterCode"),
    )


def production_line(record: Record, ctx: Context) -> Iterable[Item]:
    """Under the building its workcenters share (Plex gives a line no building of its own), else under the
    facility: a line with no workcenters listed, or with workcenters in several buildings."""
    name = readable_name(text(record, "code"), text(record, "description"))
    line_id = key_text(record, "id")
    building_id = _line_buildings(_kept_line_workcenters(ctx)).get(line_id)
    yield _asset(
        record,
        ctx,
        kind="production_line",
        id_field="id",
        name=name,
        parent=_building_or_facility(building_id, ctx),
        fields=PRODUCTION_LINE_FIELDS,
    )


def workcenter_parent(record: Record, ctx: Context) -> str:
    """The workcenter's production line when a line lists it (the lowest line id when several do), else
    its building when Plex names one it lists, else the facility."""
    line_id = _workcenter_lines(_kept_line_workcenters(ctx)).get(key_text(record, "workcenterId"))
    if line_id is not None:
        return production_line_external_id(ctx.pcn, line_id)
    return _building_or_facility(text(record, "buildingId"), ctx)


def _building_or_facility(building_id: str | None, ctx: Context) -> str:
    """The building's asset when the buildings list has it (so the child never waits for a parent that
    will not come), else the facility root."""
    if building_id and building_id in index_by(ctx.lookups.get("buildings", ()), "id"):
        return building_external_id(ctx.pcn, building_id)
    return root_external_id(ctx.pcn)


def _kept_line_workcenters(ctx: Context) -> Sequence[Record]:
    return ctx.lookups.get(LINE_WORKCENTERS, ())


_tree_memo: list[tuple[Sequence[Record], dict[str, str], dict[str, str]]] = []


def _line_tree(kept: Sequence[Record]) -> tuple[dict[str, str], dict[str, str]]:
    """(workcenter id -> its line id, line id -> its building id) from the kept line-workcenter records;
    remembered by identity of the list, as `index_by` does, so it is built once per run."""
    for seen, known_lines, known_buildings in _tree_memo:
        if seen is kept:
            return known_lines, known_buildings
    lines: dict[str, str] = {}
    buildings_of: dict[str, set[str]] = {}
    for row in kept:
        line, wc, building = (_plain_id(row, f) for f in (LINE_ID, "workcenterId", "buildingId"))
        if line is None or wc is None:
            continue
        if wc not in lines or line < lines[wc]:
            lines[wc] = line
        buildings_of.setdefault(line, set()).add(building or "")
    buildings = {line: next(iter(b)) for line, b in buildings_of.items() if len(b) == 1 and "" not in b}
    _tree_memo[:] = [*_tree_memo[-3:], (kept, lines, buildings)]
    return lines, buildings


def _workcenter_lines(kept: Sequence[Record]) -> dict[str, str]:
    return _line_tree(kept)[0]


def _line_buildings(kept: Sequence[Record]) -> dict[str, str]:
    return _line_tree(kept)[1]


def _plain_id(record: Record, name: str) -> str | None:
    """An id field as stripped text; None when missing, blank or not text (such a row places nothing)."""
    value = record.get(name)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def workcenter_status(record: Record, ctx: Context) -> Iterable[Item]:
    """One asset per status in Plex's taxonomy, under the workcenter-statuses root; its flags
    (productionStatus, downtimeStatus, ...) are what OEE availability is computed from."""
    yield _asset(
        record,
        ctx,
        kind="workcenter_status",
        id_field="id",
        name=text(record, "description"),
        parent=own_root_external_id(ctx.pcn, "workcenter_statuses"),
        fields=WORKCENTER_STATUS_FIELDS,
        structured=WORKCENTER_STATUS_STRUCTURED,
    )


def equipment(record: Record, ctx: Context) -> Iterable[Item]:
    """Maintenance equipment under its workcenter, else its building, else the facility; in the
    maintenance data set."""
    workcenter_id = key_text(record, "workcenterId") if text(record, "workcenterId") else None
    workcenter = optional_readable_id(ctx, "workcenter", workcenter_id, text(record, "workcenter"))
    parent = workcenter or _building_or_facility(text(record, "buildingId"), ctx)
    yield _asset(
        record,
        ctx,
        kind="equipment",
        id_field="id",
        name=readable_name(text(record, "equipmentId"), text(record, "description")),
        parent=parent,
        fields=EQUIPMENT_FIELDS,
        structured=EQUIPMENT_STRUCTURED,
        data_set="maintenance",
    )


# --- parts, routing, BOM ------------------------------------------------------------------------------


def part(record: Record, ctx: Context) -> Iterable[Item]:
    """Named `"{number} {revision}"`; Plex's part name becomes the description."""
    check_numbers(record, ("leadTimeDays",))
    name = readable_name(text(record, "number"), text(record, "revision"), separator=" ")
    yield _asset(
        record,
        ctx,
        kind="part",
        id_field="id",
        name=name,
        parent=own_root_external_id(ctx.pcn, "parts"),
        fields=PART_FIELDS,
        description=text(record, "name") or text(record, "description"),
        shown=READABLE["part"].shown(record),
    )


def part_operation(record: Record, ctx: Context) -> Iterable[Item]:
    """A routing step as an asset under its part, named `"Op {operationNumber} {code}"`; the code comes
    from the operations list (lookup), which the part-operation record only references by id."""
    part_id = key_text(record, "partId")
    check_numbers(record, ("netWeight",))
    operation = index_by(ctx.lookups.get("operations", ()), "id").get(text(record, "operationId") or "", {})
    code = text(operation, "code")
    yield _asset(
        record,
        ctx,
        kind="part_operation",
        id_field="id",
        name=readable_name("Op", text(record, "operationNumber"), code, separator=" "),
        parent=readable_id(ctx, "part", part_id),
        fields=PART_OPERATION_FIELDS,
        extra=metadata_from(
            {"operationCode": code, "operationInventoryType": text(operation, "inventoryType")},
            ("operationCode", "operationInventoryType"),
        ),
    )


def bom_line(record: Record, ctx: Context) -> Iterable[Item]:
    """A BOM line as a relationship part -> component part, with its quantities in a RAW row keyed by the
    relationship's external id (CDF relationships hold no metadata). A line whose component is a supply
    item (no asset) gets the RAW row only."""
    line_id = key_text(record, "id")
    parent_id = key_text(record, "partId")
    check_numbers(record, BOM_NUMBER_FIELDS)
    component_id = key_text(record, "componentPartId") if text(record, "componentPartId") else None
    relationship_id = external_id(ctx.pcn, "bom", line_id)
    source = readable_id(ctx, "part", parent_id, text(record, "partNumberRevision"))
    target = optional_readable_id(ctx, "part", component_id, text(record, "componentPartNumberRevision"))
    if target:
        yield Relationship(
            external_id=relationship_id,
            source_external_id=source,
            target_external_id=target,
            data_set="master",
        )
    columns: dict[str, object] = {f: record.get(f) for f in BOM_FIELDS if record.get(f) is not None}
    columns.update(lineage(ctx.resource, line_id), source=SOURCE, sourceExternalId=source)
    if target:
        columns["targetExternalId"] = target
    yield RawRow(table=BOM_TABLE, key=relationship_id, columns=columns)


# --- trading partners ---------------------------------------------------------------------------------


def supplier(record: Record, ctx: Context) -> Iterable[Item]:
    yield _asset(
        record,
        ctx,
        kind="supplier",
        id_field="id",
        name=readable_name(text(record, "code"), text(record, "name")),
        parent=own_root_external_id(ctx.pcn, "suppliers"),
        fields=SUPPLIER_FIELDS,
    )


def customer(record: Record, ctx: Context) -> Iterable[Item]:
    check_numbers(record, ("annualSalesMillions", "estimatedEmployees", "estimatedAnnualSales"))
    yield _asset(
        record,
        ctx,
        kind="customer",
        id_field="id",
        name=readable_name(text(record, "code"), text(record, "name")),
        parent=own_root_external_id(ctx.pcn, "customers"),
        fields=CUSTOMER_FIELDS,
    )


RESOURCES: tuple[Resource, ...] = (
    Resource(
        name="tenants",
        domain="master_data",
        source=Get("/mdm/v1/tenants"),
        mode=Snapshot(mark_inactive=False),
        key=("id",),
        transform=no_items,
        finish=facility,
        description="the facility root and its group assets, from the configured tenant",
    ),
    Resource(
        name="buildings",
        domain="master_data",
        source=Get("/mdm/v1/buildings"),
        mode=Snapshot(),
        key=("id",),
        transform=building,
    ),
    Resource(
        name="production_lines",
        domain="master_data",
        source=Get("/production/v1/production-definitions/production-lines"),
        mode=Snapshot(),
        key=("id",),
        transform=production_line,
        lookup=TREE_LOOKUPS,
        description="production lines under the building their workcenters share, else the facility",
    ),
    Resource(
        name="workcenters",
        domain="master_data",
        source=Get("/production/v1/production-definitions/workcenters"),
        mode=Snapshot(),
        key=("workcenterId",),
        transform=workcenter,
        lookup=(*TREE_LOOKUPS, WORKCENTERS),  # its own list: codes Plex repeats get told apart
        lookup_fields=LINK_FIELDS,
        description="workcenters under the production line that lists them, else their building",
    ),
    Resource(
        name="workcenter_statuses",
        domain="master_data",
        source=Get("/production/v1/production-definitions/workcenter-statuses"),
        mode=Snapshot(),
        key=("id",),
        transform=workcenter_status,
    ),
    Resource(
        name="parts",
        domain="master_data",
        source=Get("/mdm/v1/parts"),
        mode=Snapshot(),
        key=("id",),
        transform=part,
        lookup=(PARTS,),
        lookup_fields=LINK_FIELDS,
    ),
    Resource(
        name="operations",
        domain="master_data",
        source=Get("/mdm/v1/operations"),
        mode=Snapshot(mark_inactive=False),
        key=("id",),
        transform=no_items,
        description="operation codes, read only as a lookup for part operations",
    ),
    Resource(
        name="part_operations",
        domain="master_data",
        source=Get("/mdm/v1/part-operations"),
        mode=Snapshot(),
        key=("id",),
        transform=part_operation,
        lookup=("operations", PARTS),
        lookup_fields={**LINK_FIELDS, "operations": OPERATION_FIELDS_READ},
        description="the routing: each part's operations",
    ),
    Resource(
        name="boms",
        domain="master_data",
        source=Get("/engineering/v1/boms"),
        mode=PerParent(
            parent="parts",
            parent_key="id",
            param="partId",
            full_refresh=BOM_FULL_REFRESH,
            skip_when={"type": (RAW_MATERIAL,)},
        ),
        key=("id",),
        transform=bom_line,
        lookup=(PARTS,),
        lookup_fields=LINK_FIELDS,
        description="BOM lines of parts new or changed since the last run, each part again once a week"
        " (spread over the week); none for raw-material parts, which are bought, not built",
    ),
    Resource(
        name=LINE_WORKCENTERS,
        domain="master_data",
        source=Get("/production/v1/production-definitions/production-lines/{parent}/workcenters"),
        mode=PerParent(
            parent="production_lines",
            parent_key="id",
            full_refresh=LINE_WORKCENTER_REFRESH,
            keep_as=LINE_ID,
        ),
        key=(LINE_ID, "workcenterId"),
        transform=no_items,
        description="which workcenters each production line lists, kept for placing workcenters and lines"
        " in the tree (lines new or changed since the last run, each line again once a day)",
    ),
    Resource(
        name="suppliers",
        domain="master_data",
        source=Get("/mdm/v1/suppliers"),
        mode=Snapshot(),
        key=("id",),
        transform=supplier,
    ),
    Resource(
        name="customers",
        domain="master_data",
        source=Get("/mdm/v1/customers"),
        mode=Snapshot(),
        key=("id",),
        transform=customer,
    ),
    Resource(
        name="equipment",
        domain="master_data",
        source=Get("/maintenance/v1/equipment"),
        mode=Snapshot(),
        key=("id",),
        transform=equipment,
        lookup=("buildings", WORKCENTERS),
        lookup_fields=LINK_FIELDS,
        optional=True,
        description="maintenance equipment under its workcenter (needs the maintenance API product)",
    ),
)
