"""Master data of the simulated plant, in Plex's own field names (plex_api.md §3), built once per seed.

Static records are stored rendered; records that change over time (parts, containers, jobs) keep a compact
base and are rendered against the clock elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plex_cdf.sim.plex.mix import make_uuid, mix, pick, rng, unit
from plex_cdf.sim.plex.scales import Scale
from plex_cdf.sim.plex.timefmt import DAY, HOUR, emit

Row = dict[str, Any]

# Tags that keep the hash streams of different kinds of things apart.
TENANT, BUILDING, EMPLOYEE, PART, OPERATION, PART_OP, SUPPLIER, CUSTOMER, BOM = range(1, 10)
WORKCENTER, STATUS, LINE, LOCATION, CONTAINER, LOT, SPEC, EQUIPMENT, JOB, JOB_OP = range(10, 20)
EDIT, MOVE, ADJUST, HISTORY, CHECKSHEET, PROBLEM, STYLE = range(20, 27)

# Integer keys of the Data Source (Classic) world, per kind: key = base + index.
KEY_BASE = {
    "Part": 1_000_000,
    "Workcenter": 20_000,
    "Job": 5_000_000,
    "PartOperation": 3_000_000,
    "Building": 100,
    "Employee": 40_000,
    "Location": 60_000,
}

FIRST = ("Ana", "Ben", "Carla", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jon", "Kai", "Lena")
LAST = ("Novak", "Okafor", "Park", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda", "Vance", "Weber")
OPERATION_CODES = ("Machining", "Assembly", "Welding", "Paint", "Inspect", "Pack", "Deburr", "Heat Treat")
WORKCENTER_TYPES = ("Machining", "Assembly", "Welding", "Paint", "Packaging")
PART_TYPES = ("Finished Good", "Sub Assembly", "Raw Material")
NOUNS = ("Bracket", "Housing", "Shaft", "Flange", "Valve Body", "Cover", "Gear", "Spacer", "Clamp", "Hub")
STATUS_TABLE: tuple[tuple[str, str], ...] = (  # description, kind
    ("Running", "production"),
    ("Setup", "setup"),
    ("Idle", "idle"),
    ("Down - Maintenance", "down"),
    ("Down - No Material", "down"),
    ("Down - No Operator", "down"),
    ("Off", "off"),
)
SUPPLIES = ("Steel", "Plastics", "Freight", "Castings")


def style_of(seed: int, *parts: int) -> int:
    return mix(seed, STYLE, *parts)


@dataclass
class PartBase:
    """A part's fixed facts; its description and modifiedDate follow edits over time."""

    index: int
    row: Row  # rendered at creation; `modifiedDate`/`description` are replaced per edit
    type: str
    created_ms: int
    edit_period_ms: int
    first_edit_ms: int
    operations: list[Row] = field(default_factory=list)  # part-operations, routing order
    entry_ms: int = 0  # standard ms between two production entries (made parts only)
    entry_quantity: int = 0  # pieces per production entry
    home_workcenter: int = -1  # where its jobs run (made parts only)


@dataclass
class ContainerBase:
    index: int
    row: Row  # the container as created; location, quantity and updateDateTime follow moves/adjustments
    home_location: int
    base_quantity: int
    move_first_ms: int | None
    move_period_ms: int
    adjust_first_ms: int | None
    adjust_period_ms: int


@dataclass
class Master:
    seed: int
    scale: Scale
    origin_ms: int  # where the plant's history begins
    tenant: Row
    pcn: str
    buildings: list[Row]
    employees: list[Row]
    operations: list[Row]
    parts: list[PartBase]
    suppliers: list[Row]
    customers: list[Row]
    boms: dict[int, list[Row]]  # by part index
    workcenters: list[Row]
    statuses: list[Row]
    status_kinds: list[str]
    lines: list[Row]
    approved: list[Row]
    locations: list[Row]
    inventory_locations: list[int]
    lots: list[Row]
    containers: list[ContainerBase]
    specs: list[Row]
    equipment: list[Row]
    made_parts: list[int]  # indexes of parts that are produced (have jobs)
    parts_of_workcenter: list[list[int]] = field(default_factory=list)
    part_by_id: dict[str, int] = field(default_factory=dict)


def _phone(seed: int, *parts: int) -> str | None:
    value = mix(seed, *parts)
    return None if value % 4 == 0 else f"+1-555-{value % 900 + 100:03d}-{value % 9000 + 1000:04d}"


def _buildings(seed: int, scale: Scale) -> list[Row]:
    cities = (("Grand Rapids", "MI"), ("Dayton", "OH"), ("Fort Wayne", "IN"), ("Peoria", "IL"))
    rows = []
    for i in range(scale.buildings):
        city, state = cities[i % len(cities)]
        rows.append(
            {
                "id": make_uuid(seed, BUILDING, i),
                "buildingCode": f"B{i + 1:02d}",
                "buildingType": "Plant" if i == 0 else pick(("Plant", "Warehouse"), seed, BUILDING, i),
                "name": f"{city} Plant {i + 1}",
                "oldBuildingCode": None,
                "active": True,
                "address": f"{100 + i * 17} Industrial Dr",
                "city": city,
                "state": state,
                "country": "USA",
                "zipCode": f"{49500 + i:05d}",
                "phone": _phone(seed, BUILDING, i),
                "fax": None,
                "dunsNo": None,
                "taxId": None,
                "vatRegistrationNo": None,
            }
        )
    return rows


def _employees(seed: int, scale: Scale, buildings: list[Row]) -> list[Row]:
    rows: list[Row] = []
    for i in range(scale.employees):
        first, last = pick(FIRST, seed, EMPLOYEE, i, 1), pick(LAST, seed, EMPLOYEE, i, 2)
        rows.append(
            {
                "id": make_uuid(seed, EMPLOYEE, i),
                "badgeNumber": f"{7000 + i}",
                "userId": f"{first[0]}{last}{i}".lower(),
                "firstName": first,
                "middleName": None,
                "lastName": last,
                "supervisorId": rows[i // 10 * 10]["id"] if i % 10 else None,
                "status": "Active" if mix(seed, EMPLOYEE, i, 3) % 20 else "Inactive",
                "position": pick(("Operator", "Setup Tech", "Inspector", "Supervisor"), seed, EMPLOYEE, i, 4),
                "shift": pick(("1st", "2nd", "3rd"), seed, EMPLOYEE, i, 5),
                "building": buildings[i % len(buildings)]["buildingCode"],
                "type": "Hourly",
                "department": pick(("Production", "Quality", "Maintenance"), seed, EMPLOYEE, i, 6),
                "email": f"{first}.{last}{i}@sim-plant.example".lower(),
                "workPhone": _phone(seed, EMPLOYEE, i, 7),
                "workExtension": None,
                "homePhone": None,
                "mobilePhone": _phone(seed, EMPLOYEE, i, 8),
            }
        )
    return rows


def _operations(seed: int, scale: Scale) -> list[Row]:
    return [
        {
            "id": make_uuid(seed, OPERATION, i),
            "code": OPERATION_CODES[i % len(OPERATION_CODES)] + ("" if i < len(OPERATION_CODES) else f" {i}"),
            "type": "Production",
            "inventoryType": "WIP" if i % 3 else None,
        }
        for i in range(scale.operations)
    ]


def _part(seed: int, i: int, origin_ms: int, employees: list[Row], buildings: list[Row]) -> PartBase:
    kind = PART_TYPES[0 if i % 10 < 3 else 1 if i % 10 < 6 else 2]
    prefix = {"Finished Good": "FG", "Sub Assembly": "SA", "Raw Material": "RM"}[kind]
    created = origin_ms - int(unit(seed, PART, i, 1) * 400) * DAY - int(unit(seed, PART, i, 2) * DAY)
    author = employees[mix(seed, PART, i, 3) % len(employees)]["id"]
    row: Row = {
        "id": make_uuid(seed, PART, i),
        "number": f"{prefix}-{10000 + i}",
        "name": pick(NOUNS, seed, PART, i, 4),
        "revision": pick(("A", "B", "C", ""), seed, PART, i, 5),
        "description": None,
        "type": kind,
        "group": pick(("Machined", "Purchased", "Assembled"), seed, PART, i, 6),
        "source": "Purchased" if kind == "Raw Material" else "Manufactured",
        "productType": None,
        "status": "Active" if mix(seed, PART, i, 7) % 25 else "Inactive",
        "note": None,
        "leadTimeDays": mix(seed, PART, i, 8) % 30 if kind == "Raw Material" else None,
        "buildingCode": buildings[i % len(buildings)]["buildingCode"],
        "createdById": author,
        "createdDate": emit(created, style_of(seed, PART, i)),
        "modifiedById": author,
        "modifiedDate": None,
        "allergens": [],
    }
    row["description"] = f"{row['name']} {row['number']}"
    period = (3 + mix(seed, EDIT, i) % 57) * DAY
    first_edit = origin_ms + int(unit(seed, EDIT, i, 1) * period)
    return PartBase(i, row, kind, created, period, first_edit)


def _part_operations(seed: int, part: PartBase, operations: list[Row]) -> None:
    count = 0 if part.type == "Raw Material" else 1 + mix(seed, PART_OP, part.index) % 3
    for o in range(count):
        op = operations[mix(seed, PART_OP, part.index, o) % len(operations)]
        part.operations.append(
            {
                "id": make_uuid(seed, PART_OP, part.index, o),
                "partId": part.row["id"],
                "operationId": op["id"],
                "type": "Production",
                "operationNumber": (o + 1) * 10,
                "active": True,
                "subOperation": False,
                "shippable": o == count - 1,
                "multiple": 1,
                "netWeight": None,
                "_code": op["code"],  # internal: the operation code other rows repeat
            }
        )


def _workcenters(seed: int, scale: Scale, buildings: list[Row], lines: list[Row]) -> list[Row]:
    rows = []
    for i in range(scale.workcenters):
        kind = WORKCENTER_TYPES[i % len(WORKCENTER_TYPES)]
        building = buildings[i % len(buildings)]
        rows.append(
            {
                "workcenterId": make_uuid(seed, WORKCENTER, i),
                "workcenterCode": f"WC{100 + i}",
                "name": f"{kind} {i // len(WORKCENTER_TYPES) + 1}",
                "workcenterType": kind,
                "workcenterGroup": pick(("Cell A", "Cell B", "Cell C"), seed, WORKCENTER, i),
                "buildingId": building["id"],
                "buildingCode": building["buildingCode"],
                "tankSilo": False,
                "productionLineId": _line_in(lines, len(buildings), i) if i % 4 else None,
                "ipAddress": f"10.20.{i // 250}.{i % 250 + 1}" if i % 3 else None,
                "plcName": f"PLC-{100 + i}" if i % 3 else None,
            }
        )
    return rows


def _line_in(lines: list[Row], buildings: int, i: int) -> str | None:
    """The line of workcenter i: one of the lines of its building (line j stands in building j mod the
    number of buildings), as on a real floor, where a line does not cross buildings; None when its
    building has no line."""
    mine = lines[i % buildings :: buildings]
    return str(mine[(i // buildings) % len(mine)]["id"]) if mine else None


def _statuses(seed: int) -> list[Row]:
    rows = []
    for i, (description, kind) in enumerate(STATUS_TABLE):
        rows.append(
            {
                "id": make_uuid(seed, STATUS, i),
                "description": description,
                "canRunProduction": kind == "production",
                "offStatus": kind == "off",
                "clockoutOperators": kind == "off",
                "idleStatus": kind == "idle",
                "defaultAfterJobChange": kind == "setup",
                "productionStatus": kind == "production",
                "setupStatus": kind == "setup",
                "downtimeStatus": kind == "down",
                "noOperatorRequired": kind == "off",
                "laborCostSubTypeId": None,
                "maintenanceStatus": description == "Down - Maintenance",
                "active": True,
                "excessSetup": False,
                "workcenterGroupWorkcenters": [],
                "linkedWorkcenterEvents": [],
            }
        )
    return rows


def _lines(seed: int, scale: Scale, origin_ms: int) -> list[Row]:
    return [
        {
            "id": make_uuid(seed, LINE, i),
            "code": f"LINE-{i + 1}",
            "description": f"Production line {i + 1}",
            "equipmentId": None,
            "equipmentDescription": None,
            "active": True,
            "addBy": "sim-admin",
            "addDateTime": emit(origin_ms - 500 * DAY + i * HOUR, style_of(seed, LINE, i)),
            "updateBy": None,
            "updateDateTime": None,
        }
        for i in range(scale.production_lines)
    ]


def _locations(seed: int, scale: Scale, buildings: list[Row]) -> list[Row]:
    rows = []
    for i in range(scale.locations):
        building = buildings[i % len(buildings)]
        kind = ("Storage", "WIP", "Shipping", "Receiving", "Quality")[mix(seed, LOCATION, i) % 5]
        rows.append(
            {
                "locationId": make_uuid(seed, LOCATION, i),
                "locationCode": f"{building['buildingCode']}-{chr(65 + i % 26)}{i // 26:02d}-{i % 7 + 1}",
                "buildingName": building["name"],
                "buildingCode": building["buildingCode"],
                "locationType": kind,
                "inventoryLocation": kind != "Quality" or i == 0,
                "supplyLocation": kind == "Receiving",
                "tankSilo": False,
            }
        )
    return rows


def _supplier(seed: int, i: int, origin_ms: int) -> Row:
    created = origin_ms - (30 + mix(seed, SUPPLIER, i) % 900) * DAY
    return {
        "id": make_uuid(seed, SUPPLIER, i),
        "code": f"SUP{1000 + i}",
        "oldCode": None,
        "name": f"{pick(LAST, seed, SUPPLIER, i, 1)} {pick(SUPPLIES, seed, SUPPLIER, i, 2)}",
        "language": "English",
        "category": pick(("Material", "Carrier", "Service"), seed, SUPPLIER, i, 3),
        "status": "Active",
        "type": "Supplier",
        "parentSupplierId": None,
        "webAddress": None,
        "contactNote": None,
        "note": None,
        "createdById": None,
        "createdDate": emit(created, style_of(seed, SUPPLIER, i)),
        "modifiedById": None,
        "modifiedDate": emit(
            created + (mix(seed, SUPPLIER, i, 4) % 20) * DAY, style_of(seed, SUPPLIER, i, 5)
        ),
    }


_CUSTOMER_NULLS = (
    "note",
    "supplierCode",
    "otherCustomerCode",
    "rating",
    "businessType",
    "catalog",
    "assignedToId",
    "assignedTo2Id",
    "assignedTo3Id",
    "assignedToGroup",
    "contactResourceId",
    "annualSalesMillions",
    "estimatedEmployees",
    "fax",
    "email",
    "estimatedAnnualSales",
    "createdById",
    "modifiedById",
)


def _customer(seed: int, i: int, origin_ms: int) -> Row:
    created = origin_ms - (60 + mix(seed, CUSTOMER, i) % 900) * DAY
    row: Row = dict.fromkeys(_CUSTOMER_NULLS)
    row.update(
        {
            "id": make_uuid(seed, CUSTOMER, i),
            "code": f"CUST{100 + i}",
            "name": f"{pick(LAST, seed, CUSTOMER, i, 1)} Motors",
            "status": "Active",
            "type": pick(("OEM", "Tier 1", "Distributor"), seed, CUSTOMER, i, 2),
            "industries": ["Automotive"],
            "defaultCarrierIds": [],
            "region": pick(("Midwest", "South", "Export"), seed, CUSTOMER, i, 3),
            "category": None,
            "class": None,
            "phone": _phone(seed, CUSTOMER, i),
            "trackingNoOnWeighScaleRequired": False,
            "multipleOrdersPerShipper": True,
            "newShipperPerReleaseNo": False,
            "defaultBackOrder": "Yes",
            "createdDate": emit(created, style_of(seed, CUSTOMER, i)),
            "modifiedDate": emit(created + 5 * DAY, style_of(seed, CUSTOMER, i, 1)),
        }
    )
    return row


def _bom(seed: int, part: PartBase, parts: list[PartBase], components: dict[str, list[int]]) -> list[Row]:
    """BOM lines: finished goods take sub-assemblies and raw material, sub-assemblies raw material."""
    rows = []
    candidates = components[part.type]
    for line in range(1 + mix(seed, BOM, part.index) % 4):
        component = parts[candidates[mix(seed, BOM, part.index, line) % len(candidates)]].row
        op = part.operations[mix(seed, BOM, part.index, line, 1) % len(part.operations)]
        quantity = float(1 + mix(seed, BOM, part.index, line, 2) % 4)
        rows.append(
            {
                "id": make_uuid(seed, BOM, part.index, line),
                "partId": part.row["id"],
                "partNumber": part.row["number"],
                "partRevision": part.row["revision"],
                "partNumberRevision": number_revision(part.row),
                "partOperationId": op["id"],
                "partOperationCode": op["_code"],
                "partOperationNumber": op["operationNumber"],
                "partOperationType": "Production",
                "componentPartId": component["id"],
                "componentPartNumber": component["number"],
                "componentPartRevision": component["revision"],
                "componentPartNumberRevision": number_revision(component),
                "componentSupplyItemId": None,
                "componentSupplyItemNumber": None,
                "componentUnitOfMeasure": "Ea",
                "quantity": quantity,
                "minimumQuantity": None,
                "maximumQuantity": None,
                "quantityFixed": False,
                "depletionUnitOfMeasure": "Ea",
                "depletionConversionFactor": 1.0,
                "sortOrder": line + 1,
                "active": True,
                "position": None,
                "side": None,
                "scaling": False,
                "validate": True,
                "autoDeplete": True,
                "transferHeat": False,
                "note": None,
            }
        )
    return rows


def number_revision(part: Row) -> str:
    return f"{part['number']}-{part['revision']}" if part["revision"] else str(part["number"])


def workcenter_of_operation(made_position: int, op_index: int, op_count: int, workcenters: int) -> int:
    """The approved workcenter of a made part's operation; the last operation runs where its jobs run."""
    return (made_position + (op_count - 1 - op_index) * 3) % workcenters


def _approved(seed: int, parts: list[PartBase], made: list[int], workcenters: list[Row]) -> list[Row]:
    rows = []
    for position, index in enumerate(made):
        part = parts[index]
        for o, op in enumerate(part.operations):
            wc = workcenters[workcenter_of_operation(position, o, len(part.operations), len(workcenters))]
            rate = round(part.entry_quantity * HOUR / part.entry_ms, 2)
            rows.append(
                {
                    "workcenterId": wc["workcenterId"],
                    "workcenterCode": wc["workcenterCode"],
                    "workcenterName": wc["name"],
                    "partId": part.row["id"],
                    "partNo": part.row["number"],
                    "partRevision": part.row["revision"],
                    "partNoRevision": number_revision(part.row),
                    "partOperationId": op["id"],
                    "operationId": op["operationId"],
                    "operationNo": op["operationNumber"],
                    "operationCode": op["_code"],
                    "crewSize": 1 + mix(seed, PART_OP, index, o, 9) % 2,
                    "standardProductionRate": rate,
                    "note": None,
                    "setupTime": 0.5,
                    "idealRate": round(rate * 1.15, 2),
                    "targetRate": rate,
                    "setupCrewSize": 1,
                    "sequenceRate": None,
                }
            )
    return rows


def _lots(seed: int, scale: Scale, parts: list[PartBase], suppliers: list[Row], origin_ms: int) -> list[Row]:
    rows = []
    for i in range(max(1, scale.containers // 3)):
        part = parts[mix(seed, LOT, i) % len(parts)].row
        made = origin_ms - (mix(seed, LOT, i, 1) % 60) * DAY
        raw = part["type"] == "Raw Material"
        rows.append(
            {
                "id": make_uuid(seed, LOT, i),
                "lotNumber": f"L{240000 + i}",
                "supplierLotNumber": f"SL-{mix(seed, LOT, i, 2) % 99999:05d}" if raw else None,
                "customerLotNumber": None,
                "lotPartConformant": True,
                "manufacturedDateTime": emit(made, style_of(seed, LOT, i)),
                "sellByDateTime": None,
                "useByDateTime": emit(made + 365 * DAY, style_of(seed, LOT, i, 1)) if raw else None,
                "bestByDateTime": None,
                "quantity": 0.0,
                "containerCount": 0,
                "partId": part["id"],
                "partNumber": part["number"],
                "partNumberRevision": number_revision(part),
                "supplierId": suppliers[i % len(suppliers)]["id"] if raw and suppliers else None,
                "customerId": None,
                "partRevision": part["revision"],
            }
        )
    return rows


def _containers(
    seed: int,
    scale: Scale,
    master_parts: list[PartBase],
    lots: list[Row],
    locations: list[Row],
    inventory: list[int],
    origin_ms: int,
) -> list[ContainerBase]:
    part_index = {p.row["id"]: p.index for p in master_parts}
    result = []
    for i in range(scale.containers):
        lot = lots[i % len(lots)]
        part = master_parts[part_index[lot["partId"]]]
        op = part.operations[-1] if part.operations else None
        home = inventory[mix(seed, CONTAINER, i) % len(inventory)]
        added = origin_ms - (1 + mix(seed, CONTAINER, i, 1) % 45) * DAY + mix(seed, CONTAINER, i, 2) % DAY
        quantity = 200 + mix(seed, CONTAINER, i, 3) % 800
        lot["quantity"] += float(quantity)
        lot["containerCount"] += 1
        kind = "RAW" if part.type == "Raw Material" else ("FG" if part.type == "Finished Good" else "WIP")
        row: Row = {
            "serialNo": f"S{seed % 1000:03d}{i:07d}",
            "partId": part.row["id"],
            "partNo": part.row["number"],
            "revision": part.row["revision"],
            "partNoRevision": number_revision(part.row),
            "partName": part.row["name"],
            "partOperationId": op["id"] if op else None,
            "operationNo": op["operationNumber"] if op else None,
            "operationCode": op["_code"] if op else None,
            "containerStatus": "OK" if mix(seed, CONTAINER, i, 4) % 12 else "Hold",
            "locationId": None,
            "location": None,
            "quantity": None,
            "quantityInventoryUnit": None,
            "grossWeight": None,
            "netWeight": None,
            "tareWeight": 12.5,
            "containerType": pick(("Tote", "Pallet", "Box"), seed, CONTAINER, i),
            "trackingNo": None,
            "addDateTime": emit(added, style_of(seed, CONTAINER, i)),
            "updateDateTime": None,
            "containerShelfDateTime": None,
            "masterUnitId": None,
            "masterUnitNo": None,
            "lotId": lot["id"],
            "lotNo": lot["lotNumber"],
            "heatId": None,
            "heatCode": None,
            "heatNo": None,
            "eun": None,
            "inventoryType": kind,
        }
        moves = mix(seed, MOVE, i) % 10 < 6
        move_period = (2 + mix(seed, MOVE, i, 1) % 28) * DAY
        adjusts = mix(seed, ADJUST, i) % 10 < 2
        adjust_period = (3 + mix(seed, ADJUST, i, 1) % 37) * DAY
        result.append(
            ContainerBase(
                i,
                row,
                home,
                quantity,
                added + int(unit(seed, MOVE, i, 2) * move_period) if moves else None,
                move_period,
                added + int(unit(seed, ADJUST, i, 2) * adjust_period) if adjusts else None,
                adjust_period,
            )
        )
    return result


def _specs(seed: int, parts: list[PartBase], origin_ms: int) -> list[Row]:
    rows = []
    for part in parts:
        if part.type == "Raw Material":
            continue
        for s in range(2 + mix(seed, SPEC, part.index) % 3):
            target = round(5 + unit(seed, SPEC, part.index, s) * 95, 3)
            tolerance = round(target * 0.02, 3)
            rows.append(
                {
                    "id": make_uuid(seed, SPEC, part.index, s),
                    "partId": part.row["id"],
                    "partNumber": part.row["number"],
                    "partRevision": part.row["revision"],
                    "specificationNumber": f"{part.row['number']}-S{s + 1}",
                    "description": pick(
                        ("Outer diameter", "Length", "Bore depth", "Flatness", "Hardness"),
                        seed,
                        SPEC,
                        part.index,
                        s,
                    ),
                    "formula": None,
                    "formulaType": None,
                    "defaultGageType": pick(("Caliper", "CMM", "Micrometer"), seed, SPEC, part.index, s, 1),
                    "plcName": None,
                    "specialSymbol": None,
                    "customerSpecified": s == 0,
                    "toleranceType": {
                        "name": "Bilateral",
                        "attribute": False,
                        "target": target,
                        "targetPlus": tolerance,
                        "targetMinus": tolerance,
                        "decimalPrecision": 3,
                        "unit": "mm",
                        "oneSidedMinimum": None,
                        "oneSidedMaximum": None,
                        "measurementText": None,
                        "compareValue": None,
                        "referenceDisplayPopup": False,
                        "referencePopupMessage": None,
                        "bonusTolerances": [],
                    },
                    "note": None,
                    "functionRequirementType": None,
                    "specificationDimensionType": "Variable",
                    "updatedDateTime": emit(
                        origin_ms - (mix(seed, SPEC, part.index, s, 2) % 200) * DAY,
                        style_of(seed, SPEC, part.index, s),
                    ),
                }
            )
    return rows


def _equipment(
    seed: int,
    workcenters: list[Row],
    buildings: list[Row],
    locations: list[Row],
    employees: list[Row],
    made_here: list[list[PartBase]],
) -> list[Row]:
    """One machine per workcenter; its `parts` are the parts whose jobs run there."""
    rows = []
    by_building = {b["id"]: b for b in buildings}
    for i, wc in enumerate(workcenters):
        location = locations[mix(seed, EQUIPMENT, i) % len(locations)]
        building = by_building[wc["buildingId"]]
        rows.append(
            {
                "id": make_uuid(seed, EQUIPMENT, i),
                "equipmentId": f"EQ-{500 + i}",
                "description": f"{wc['workcenterType']} machine for {wc['workcenterCode']}",
                "brand": pick(("Haas", "Mazak", "Fanuc", "Lincoln"), seed, EQUIPMENT, i, 1),
                "modelNo": f"M{mix(seed, EQUIPMENT, i, 2) % 9000 + 1000}",
                "equipmentType": wc["workcenterType"],
                "equipmentTypeId": make_uuid(seed, EQUIPMENT, 10_000 + i % len(WORKCENTER_TYPES)),
                "equipmentGroup": wc["workcenterGroup"],
                "equipmentCategory": "Production",
                "equipmentPriority": str(1 + i % 3),
                "location": location["locationCode"],
                "locationId": location["locationId"],
                "building": building["name"],
                "buildingId": building["id"],
                "workcenter": wc["workcenterCode"],
                "workcenterId": wc["workcenterId"],
                "department": "Production",
                "status": "Active",
                "taxClassification": None,
                "champion": employees[i % len(employees)]["firstName"],
                "serialNo": f"SN{mix(seed, EQUIPMENT, i, 3) % 10**8:08d}",
                "active": True,
                "equipmentAttributes": [],
                "parts": [
                    {
                        "id": part.row["id"],
                        "partNo": part.row["number"],
                        "revision": part.row["revision"],
                        "partName": part.row["name"],
                        "partType": part.type,
                    }
                    for part in made_here[i]
                ],
            }
        )
    return rows


def build_master(seed: int, scale: Scale, origin_ms: int, pcn: str, tenant_id: str | None) -> Master:
    """The plant's master data: a pure function of its arguments."""
    buildings = _buildings(seed, scale)
    employees = _employees(seed, scale, buildings)
    operations = _operations(seed, scale)
    lines = _lines(seed, scale, origin_ms)
    workcenters = _workcenters(seed, scale, buildings, lines)
    parts = [_part(seed, i, origin_ms, employees, buildings) for i in range(scale.parts)]
    for part in parts:
        _part_operations(seed, part, operations)
    made = [p.index for p in parts if p.operations]
    parts_of_wc: list[list[int]] = [[] for _ in workcenters]
    for position, index in enumerate(made):
        part = parts[index]
        draw = rng(seed, PART, index, 99)
        part.entry_ms = int(scale.entry_minutes * draw.uniform(0.6, 1.6) * 60_000)
        part.entry_quantity = draw.randint(1, 40)
        part.home_workcenter = workcenter_of_operation(
            position, len(part.operations) - 1, len(part.operations), len(workcenters)
        )
        parts_of_wc[part.home_workcenter].append(index)
    suppliers = [_supplier(seed, i, origin_ms) for i in range(scale.suppliers)]
    locations = _locations(seed, scale, buildings)
    inventory = [i for i, loc in enumerate(locations) if loc["inventoryLocation"]]
    lots = _lots(seed, scale, parts, suppliers, origin_ms)
    raw = [p.index for p in parts if p.type == "Raw Material"]
    components = {
        "Finished Good": raw + [p.index for p in parts if p.type == "Sub Assembly"],
        "Sub Assembly": raw,
    }
    tenant = {
        "id": tenant_id or make_uuid(seed, TENANT, int(pcn) if pcn.isdigit() else 0),
        "code": "sim-plant",
    }
    return Master(
        seed=seed,
        scale=scale,
        origin_ms=origin_ms,
        tenant=tenant,
        pcn=pcn,
        buildings=buildings,
        employees=employees,
        operations=operations,
        parts=parts,
        suppliers=suppliers,
        customers=[_customer(seed, i, origin_ms) for i in range(scale.customers)],
        boms={p.index: _bom(seed, p, parts, components) for p in parts if p.operations},
        workcenters=workcenters,
        statuses=_statuses(seed),
        status_kinds=[kind for _, kind in STATUS_TABLE],
        lines=lines,
        approved=_approved(seed, parts, made, workcenters),
        locations=locations,
        inventory_locations=inventory,
        lots=lots,
        containers=_containers(seed, scale, parts, lots, locations, inventory, origin_ms),
        specs=_specs(seed, parts, origin_ms),
        equipment=_equipment(
            seed, workcenters, buildings, locations, employees, [[parts[p] for p in ps] for ps in parts_of_wc]
        ),
        made_parts=made,
        parts_of_workcenter=parts_of_wc,
        part_by_id={p.row["id"]: p.index for p in parts},
    )
