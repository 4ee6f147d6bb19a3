"""Master data: the facility hierarchy (tenant root, group assets, buildings, workcenters, production lines),
parts with their routing, BOM lines, suppliers, customers, the workcenter-status list and equipment.

Every list is a whole-list snapshot: only changed records are written and a record that vanishes from Plex
is marked inactive in CDF, never deleted. Field lists are spelled out per endpoint (plex_api.md §3) and
land in metadata under Plex's own names; docs/mapping.md says where each one goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

from plex_cdf.domains.common import (
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

GROUPS: tuple[tuple[str, str], ...] = (
    ("buildings", "Buildings"),
    ("workcenters", "Workcenters"),
    ("production_lines", "Production lines"),
    ("parts", "Parts"),
    ("suppliers", "Suppliers"),
    ("customers", "Customers"),
    ("workcenter_statuses", "Workcenter statuses"),
    ("equipment", "Equipment"),
    ("inventory", "Inventory"),
)
"""Group assets under the root: (key, name). `inventory` is the inventory domain's parent for locations."""

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


def no_items(record: Record, ctx: Context) -> Iterable[Item]:
    """For rows read only as lookups (tenants go through `facility`, operations into part operations)."""
    return ()


# --- facility root and groups -------------------------------------------------------------------------


def facility(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    """The root asset and the group assets, from the configured tenant. Always produced, so the hierarchy
    has its top even when Plex lists no tenant or several that do not name the PCN."""
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
    for key, name in GROUPS:
        yield Asset(
            external_id=group_external_id(ctx.pcn, key),
            name=name,
            parent_external_id=root,
            data_set="master",
            metadata=merged(plex, {"type": "group", "group": key}),
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
    name = readable_name(text(record, "buildingCode"), text(record, "name"))
    yield _asset(
        record,
        ctx,
        kind="building",
        id_field="id",
        name=name,
        parent=group_external_id(ctx.pcn, "buildings"),
        fields=BUILDING_FIELDS,
    )


def workcenter(record: Record, ctx: Context) -> Iterable[Item]:
    """Named `"{code} - {name}"`, the readable names the predecessor's users asked for."""
    name = readable_name(text(record, "workcenterCode"), text(record, "name"))
    yield _asset(
        record,
        ctx,
        kind="workcenter",
        id_field="workcenterId",
        name=name,
        parent=group_external_id(ctx.pcn, "workcenters"),
        fields=WORKCENTER_FIELDS,
        shown=text(record, "workcenterCode"),
    )


def production_line(record: Record, ctx: Context) -> Iterable[Item]:
    name = readable_name(text(record, "code"), text(record, "description"))
    yield _asset(
        record,
        ctx,
        kind="production_line",
        id_field="id",
        name=name,
        parent=group_external_id(ctx.pcn, "production_lines"),
        fields=PRODUCTION_LINE_FIELDS,
    )


def workcenter_status(record: Record, ctx: Context) -> Iterable[Item]:
    """One asset per status in Plex's taxonomy; its flags (productionStatus, downtimeStatus, ...) are what
    OEE availability is computed from."""
    yield _asset(
        record,
        ctx,
        kind="workcenter_status",
        id_field="id",
        name=text(record, "description"),
        parent=group_external_id(ctx.pcn, "workcenter_statuses"),
        fields=WORKCENTER_STATUS_FIELDS,
        structured=WORKCENTER_STATUS_STRUCTURED,
    )


def equipment(record: Record, ctx: Context) -> Iterable[Item]:
    """Maintenance equipment under its workcenter (or the Equipment group), in the maintenance data set."""
    workcenter_id = key_text(record, "workcenterId") if text(record, "workcenterId") else None
    workcenter = optional_readable_id(ctx, "workcenter", workcenter_id, text(record, "workcenter"))
    parent = workcenter or group_external_id(ctx.pcn, "equipment")
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
        parent=group_external_id(ctx.pcn, "parts"),
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
        parent=group_external_id(ctx.pcn, "suppliers"),
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
        parent=group_external_id(ctx.pcn, "customers"),
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
        name="workcenters",
        domain="master_data",
        source=Get("/production/v1/production-definitions/workcenters"),
        mode=Snapshot(),
        key=("workcenterId",),
        transform=workcenter,
        lookup=(WORKCENTERS,),  # its own list: codes Plex repeats get told apart (ids.readable_keys)
    ),
    Resource(
        name="production_lines",
        domain="master_data",
        source=Get("/production/v1/production-definitions/production-lines"),
        mode=Snapshot(),
        key=("id",),
        transform=production_line,
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
        description="BOM lines of parts new or changed since the last run, each part again once a week"
        " (spread over the week); none for raw-material parts, which are bought, not built",
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
        lookup=(WORKCENTERS,),
        optional=True,
        description="maintenance equipment under its workcenter (needs the maintenance API product)",
    ),
)
