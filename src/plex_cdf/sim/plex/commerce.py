"""The plant's records behind the documented routes plex-cdf does not read: supply items, contacts,
addresses, purchase orders with their lines and releases, sales orders with their lines and releases, and
small lookup tables. Built once per plant from its master data (the same suppliers, customers, parts,
buildings and employees the rich routes serve), so ids agree across routes.

Each builder returns rows holding the values the simulator knows, keyed by the documented field names;
the route fills every other documented field with null (false for flags, [] for lists). Keys starting
with `_` are the simulator's own (the parent a sub-list belongs to) and never leave it.
"""

from __future__ import annotations

from dataclasses import dataclass

from plex_cdf.sim.plex.history import SCRAP_REASONS
from plex_cdf.sim.plex.master import (
    EQUIPMENT,
    FIRST,
    LAST,
    WORKCENTER_TYPES,
    Master,
    Row,
    number_revision,
    style_of,
)
from plex_cdf.sim.plex.mix import make_uuid, mix, pick, unit
from plex_cdf.sim.plex.timefmt import DAY, HOUR, emit

# Hash-stream tags, apart from master.py's (1-26).
SUPPLY_ITEM, CONTACT, ADDRESS, PURCHASE_ORDER, PO_LINE, PO_RELEASE, SALES_ORDER, SO_LINE, SO_RELEASE = range(
    40, 49
)
EVENT = 49
PO_STATUSES = ("Open", "Approved", "Closed", "Canceled")
SO_STATUSES = ("Open", "Firm", "Closed")
ACCOUNT_FIELDS = ("id", "userId", "firstName", "middleName", "lastName", "email", "position", "department")
EVENTS = ("Tool Change", "Material Shortage", "Breakdown", "Quality Hold", "Preventive Maintenance")


@dataclass(frozen=True)
class Commerce:
    supply_items: list[Row]
    contacts: list[Row]
    customer_addresses: list[Row]
    supplier_addresses: list[Row]
    purchase_orders: list[Row]
    po_lines: list[Row]
    po_releases: list[Row]
    sales_orders: list[Row]
    so_lines: list[Row]
    so_releases: list[Row]
    lookups: dict[str, list[Row]]


def _when(master: Master, tag: int, i: int, days_back: int, *more: int) -> int:
    """A moment before the plant's history starts (ms), spread over `days_back` days."""
    return master.origin_ms - int(unit(master.seed, tag, i, *more) * days_back * DAY) - HOUR


def _stamp(master: Master, ms: int, tag: int, i: int) -> str:
    return emit(ms, style_of(master.seed, tag, i))


def _supply_items(master: Master) -> list[Row]:
    seed, rows = master.seed, []
    for i in range(max(4, len(master.parts) // 8)):
        created = _when(master, SUPPLY_ITEM, i, 400)
        kind = pick(("Tooling", "MRO", "Consumable", "Packaging"), seed, SUPPLY_ITEM, i)
        rows.append(
            {
                "id": make_uuid(seed, SUPPLY_ITEM, i),
                "supplyItemNumber": f"SI-{5000 + i}",
                "type": kind,
                "category": pick(("Production", "Maintenance", "Office"), seed, SUPPLY_ITEM, i, 1),
                "priority": pick(("A", "B", "C"), seed, SUPPLY_ITEM, i, 2),
                "group": pick(("Cutting", "Fasteners", "Lubricants", "Boxes"), seed, SUPPLY_ITEM, i, 3),
                "description": f"{kind} item {5000 + i}",
                "briefDescription": f"{kind} {5000 + i}",
                "inventoryUnit": "Ea",
                "supplierId": master.suppliers[i % len(master.suppliers)]["id"] if master.suppliers else None,
                "averageCost": round(1 + unit(seed, SUPPLY_ITEM, i, 4) * 99, 2),
                "customerUnitPrice": None,
                "minQuantity": 10.0,
                "maxQuantity": 100.0,
                "active": mix(seed, SUPPLY_ITEM, i, 5) % 10 != 0,
                "createdDate": _stamp(master, created, SUPPLY_ITEM, i),
                "modifiedDate": _stamp(master, created + 3 * DAY, SUPPLY_ITEM, i + 1),
            }
        )
    return rows


def _contacts(master: Master) -> list[Row]:
    seed, rows = master.seed, []
    owners = [("customerId", c) for c in master.customers] + [("supplierId", s) for s in master.suppliers]
    for i, (key, owner) in enumerate(owners):
        first, last = pick(FIRST, seed, CONTACT, i, 1), pick(LAST, seed, CONTACT, i, 2)
        created = _when(master, CONTACT, i, 300)
        rows.append(
            {
                "id": make_uuid(seed, CONTACT, i),
                key: owner["id"],
                "associatedWithId": owner["id"],
                "type": "Customer" if key == "customerId" else "Supplier",
                "firstName": first,
                "lastName": last,
                "companyName": owner["name"],
                "title": pick(("Buyer", "Planner", "Quality Engineer", "Sales"), seed, CONTACT, i, 3),
                "description": f"{first} {last}, {owner['name']}",
                "email": f"{first}.{last}{i}@{owner['code'].lower()}.example".lower(),
                "private": 0,
                "sortOrder": 1,
                "createdDate": _stamp(master, created, CONTACT, i),
                "modifiedDate": _stamp(master, created + 2 * DAY, CONTACT, i + 1),
            }
        )
    return rows


def _addresses(master: Master, owners: list[Row], tag: int, parent: str) -> list[Row]:
    seed, rows = master.seed, []
    for i, owner in enumerate(owners):
        created = _when(master, ADDRESS, tag * 100_000 + i, 500)
        building = master.buildings[i % len(master.buildings)]
        row: Row = {
            "id": make_uuid(seed, ADDRESS, tag, i),
            "_parent": owner["id"],
            "code": "MAIN",
            "address": f"{200 + i * 13} Commerce Way",
            "city": building["city"],
            "state": building["state"],
            "zip": f"{60000 + i:05d}",
            "country": "USA",
            "phone": owner.get("phone"),
            "createdDate": _stamp(master, created, ADDRESS, tag * 100_000 + i),
            "modifiedDate": _stamp(master, created + DAY, ADDRESS, tag * 100_000 + i + 1),
        }
        if parent == "customer":
            row |= {"name": owner["name"], "shipTo": True, "billTo": True, "soldTo": True, "active": True}
            row |= {"region": owner.get("region"), "backOrder": "Yes", "defaultCarrierIds": []}
        else:
            row |= {"type": "Main", "main": True, "remit": True}
        rows.append(row)
    return rows


Orders = tuple[list[Row], list[Row], list[Row]]  # orders, their lines, the lines' releases


def _purchasing(master: Master, supply_items: list[Row]) -> Orders:
    """Purchase orders for raw material from the material suppliers; one release per line."""
    seed = master.seed
    raw = [p for p in master.parts if p.type == "Raw Material"]
    orders: list[Row] = []
    lines: list[Row] = []
    releases: list[Row] = []
    if not raw or not master.suppliers:
        return orders, lines, releases
    buyer = master.employees[0]["id"]
    for i in range(max(3, len(raw))):
        supplier = master.suppliers[i % len(master.suppliers)]
        ordered = _when(master, PURCHASE_ORDER, i, 60)
        status = pick(PO_STATUSES, seed, PURCHASE_ORDER, i)
        building = master.buildings[i % len(master.buildings)]
        po_id = make_uuid(seed, PURCHASE_ORDER, i)
        due = ordered + 14 * DAY
        order_lines = []
        for n in range(1 + mix(seed, PO_LINE, i) % 3):
            part = raw[mix(seed, PO_LINE, i, n) % len(raw)]
            item = supply_items[mix(seed, PO_LINE, i, n, 1) % len(supply_items)] if n == 2 else None
            price = round(2 + unit(seed, PO_LINE, i, n) * 40, 2)
            line_id = make_uuid(seed, PO_LINE, i, n)
            order_lines.append(
                {
                    "id": line_id,
                    "_parent": po_id,
                    "lineItemNumber": n + 1,
                    "status": "Closed" if status == "Closed" else "Open",
                    "unit": "Ea",
                    "orderUnit": "Ea",
                    "description": item["description"] if item else part.row["name"],
                    "unitPrice": price,
                    "estimatedPrice": False,
                    "itemId": item["id"] if item else None,
                    "partId": None if item else part.row["id"],
                    "building": building["buildingCode"],
                    "department": "Purchasing",
                    "createdDate": _stamp(master, ordered, PO_LINE, i * 10 + n),
                    "modifiedDate": _stamp(master, ordered + HOUR, PO_LINE, i * 10 + n + 1),
                    "_quantity": float(100 * (1 + mix(seed, PO_LINE, i, n, 2) % 10)),
                }
            )
            releases.append(
                {
                    "id": make_uuid(seed, PO_RELEASE, i, n),
                    "poLineItemId": line_id,
                    "poId": po_id,
                    "supplierId": supplier["id"],
                    "supplierCode": supplier["code"],
                    "poNumber": f"PO{10000 + i}",
                    "lineItemNo": n + 1,
                    "releaseLineNumber": 1,
                    "status": "Received" if status == "Closed" else "Open",
                    "type": "Firm",
                    "quantity": order_lines[-1]["_quantity"],
                    "releaseDate": _stamp(master, ordered, PO_RELEASE, i * 10 + n),
                    "dueDate": _stamp(master, due, PO_RELEASE, i * 10 + n + 1),
                    "originalDueDate": _stamp(master, due, PO_RELEASE, i * 10 + n + 2),
                    "partId": order_lines[-1]["partId"],
                    "partNumber": None if item else part.row["number"],
                    "partRevision": None if item else part.row["revision"],
                    "partNumberRevision": None if item else number_revision(part.row),
                    "buildingCode": building["buildingCode"],
                    "buildingId": building["id"],
                    "createdDate": _stamp(master, ordered, PO_RELEASE, i * 10 + n + 3),
                    "modifiedDate": _stamp(master, ordered + HOUR, PO_RELEASE, i * 10 + n + 4),
                }
            )
        lines += order_lines
        orders.append(
            {
                "id": po_id,
                "poNumber": f"PO{10000 + i}",
                "currencyCode": "USD",
                "status": status,
                "active": status not in ("Closed", "Canceled"),
                "receive": status in ("Open", "Approved"),
                "type": "Standard",
                "supplierId": supplier["id"],
                "issuedById": buyer,
                "orderedById": buyer,
                "poDate": _stamp(master, ordered, PURCHASE_ORDER, i),
                "orderedDate": _stamp(master, ordered, PURCHASE_ORDER, i + 1),
                "dueDate": _stamp(master, due, PURCHASE_ORDER, i + 2),
                "terms": "Net 30",
                "freightTerms": "Prepaid",
                "lineItemCount": len(order_lines),
                "lineItemTotal": round(sum(ln["unitPrice"] * ln["_quantity"] for ln in order_lines), 2),
                "shipTo": building["name"],
                "building": building["buildingCode"],
                "department": "Purchasing",
                "consignment": False,
                "blanketOrder": False,
                "createdById": buyer,
                "createdDate": _stamp(master, ordered, PURCHASE_ORDER, i + 3),
                "modifiedById": buyer,
                "modifiedDate": _stamp(master, ordered + DAY, PURCHASE_ORDER, i + 4),
            }
        )
    return orders, lines, releases


def _sales(
    master: Master, addresses: list[Row], contacts: list[Row]
) -> tuple[list[Row], list[Row], list[Row]]:
    """Two sales orders per customer for finished goods; each line has one or two releases."""
    seed = master.seed
    goods = [p for p in master.parts if p.type == "Finished Good"]
    orders: list[Row] = []
    lines: list[Row] = []
    releases: list[Row] = []
    if not goods:
        return orders, lines, releases
    address_of = {a["_parent"]: a["id"] for a in addresses}
    contact_of = {c.get("customerId"): c["id"] for c in contacts if c.get("customerId")}
    for c, customer in enumerate(master.customers):
        for k in range(2):
            i = c * 2 + k
            ordered = _when(master, SALES_ORDER, i, 90)
            order_id = make_uuid(seed, SALES_ORDER, i)
            status = pick(SO_STATUSES, seed, SALES_ORDER, i)
            orders.append(
                {
                    "id": order_id,
                    "customerId": customer["id"],
                    "orderNumber": f"SO{20000 + i}",
                    "poNumber": f"{customer['code']}-PO{300 + i}",
                    "status": status,
                    "type": pick(("Blanket", "Spot"), seed, SALES_ORDER, i, 1),
                    "category": "Production",
                    "terms": "Net 45",
                    "freightTerms": "Collect",
                    "orderDate": _stamp(master, ordered, SALES_ORDER, i),
                    "expirationDate": _stamp(master, ordered + 365 * DAY, SALES_ORDER, i + 1),
                    "billToAddressId": address_of.get(customer["id"]),
                    "shipToAddressId": address_of.get(customer["id"]),
                    "contactId": contact_of.get(customer["id"]),
                    "buildingId": master.buildings[0]["id"],
                    "region": customer.get("region"),
                    "commissionable": False,
                    "outsideSalesIds": [],
                    "createdDate": _stamp(master, ordered, SALES_ORDER, i + 2),
                    "modifiedDate": _stamp(master, ordered + DAY, SALES_ORDER, i + 3),
                }
            )
            for n in range(1 + mix(seed, SO_LINE, i) % 3):
                part = goods[mix(seed, SO_LINE, i, n) % len(goods)]
                line_id = make_uuid(seed, SO_LINE, i, n)
                lines.append(
                    {
                        "id": line_id,
                        "_parent": order_id,
                        "orderId": order_id,
                        "partId": part.row["id"],
                        "lineNumber": str(n + 1),
                        "containerType": "Tote",
                        "standardPackQuantity": 50.0,
                        "active": status != "Closed",
                        "createdDate": _stamp(master, ordered, SO_LINE, i * 10 + n),
                        "modifiedDate": _stamp(master, ordered + HOUR, SO_LINE, i * 10 + n + 1),
                    }
                )
                for r in range(1 + mix(seed, SO_RELEASE, i, n) % 2):
                    due = ordered + (7 + 14 * r) * DAY
                    k = i * 100 + n * 10 + r
                    quantity = float(50 * (1 + mix(seed, SO_RELEASE, i, n, r) % 8))
                    shipped = due < master.origin_ms
                    releases.append(
                        {
                            "id": make_uuid(seed, SO_RELEASE, i, n, r),
                            "releaseNumber": f"{20000 + i}-{n + 1}-{r + 1}",
                            "orderLineId": line_id,
                            "type": "Ship Schedule",
                            "shipToAddressId": address_of.get(customer["id"]),
                            "shipDate": _stamp(master, due - 2 * DAY, SO_RELEASE, k),
                            "dueDate": _stamp(master, due, SO_RELEASE, k + 1),
                            "quantity": quantity,
                            "orderQuantity": quantity,
                            "quantityShipped": int(quantity) if shipped else 0,
                            "status": "Shipped" if shipped else "Open",
                            "source": "Manual",
                            "partNumber": part.row["number"],
                            "createdDate": _stamp(master, ordered, SO_RELEASE, k + 2),
                            "modifiedDate": _stamp(master, ordered + HOUR, SO_RELEASE, k + 3),
                        }
                    )
    return orders, lines, releases


def _lookups(master: Master) -> dict[str, list[Row]]:
    seed = master.seed
    building_ids = {b["buildingCode"]: b["id"] for b in master.buildings}
    return {
        "workcenter_events": [
            {"id": make_uuid(seed, EVENT, i), "code": f"EV{i + 1:02d}", "description": text, "active": True}
            for i, text in enumerate(EVENTS)
        ],
        "scrap_reasons": [{"reason": reason} for reason in SCRAP_REASONS],
        "job_types": [{"type": "Production", "default": True, "inventoryType": True, "includeInMRP": True}],
        "po_statuses": [
            {
                "name": name,
                "active": name != "Canceled",
                "default": name == "Open",
                "receive": name in ("Open", "Approved"),
                "includeInMrp": name in ("Open", "Approved"),
                "cancelled": name == "Canceled",
                "release": name == "Approved",
                "onOrder": name in ("Open", "Approved"),
                "received": name == "Closed",
            }
            for name in PO_STATUSES
        ],
        "equipment_types": [
            {
                "id": make_uuid(seed, EQUIPMENT, 10_000 + k),
                "equipmentType": kind,
                "group": "Production",
                "subsystems": [],
                "equipmentAttributes": [],
            }
            for k, kind in enumerate(WORKCENTER_TYPES)
        ],
        "user_accounts": [
            {
                key: e[key]
                for key in ("id", "userId", "firstName", "middleName", "lastName", "email", "position")
            }
            | {"department": e["department"]}
            for e in master.employees
        ],
        "production_locations": [
            {
                "id": loc["locationId"],
                "locationName": loc["locationCode"],
                "locationType": loc["locationType"],
                "buildingCode": loc["buildingCode"],
                "buildingId": building_ids[loc["buildingCode"]],
            }
            for loc in master.locations
        ],
        "line_workcenters": [
            {
                "_parent": wc["productionLineId"],
                **{k: wc[k] for k in ("workcenterId", "workcenterCode", "name", "workcenterType")},
                **{k: wc[k] for k in ("workcenterGroup", "buildingId", "buildingCode")},
                "productionLineStatusDriver": False,
            }
            for wc in master.workcenters
            if wc["productionLineId"]
        ],
    }


def build_commerce(master: Master) -> Commerce:
    supply_items = _supply_items(master)
    contacts = _contacts(master)
    customer_addresses = _addresses(master, master.customers, 1, "customer")
    orders, po_lines, po_releases = _purchasing(master, supply_items)
    sales, so_lines, so_releases = _sales(master, customer_addresses, contacts)
    return Commerce(
        supply_items=supply_items,
        contacts=contacts,
        customer_addresses=customer_addresses,
        supplier_addresses=_addresses(master, master.suppliers, 2, "supplier"),
        purchase_orders=orders,
        po_lines=po_lines,
        po_releases=po_releases,
        sales_orders=sales,
        so_lines=so_lines,
        so_releases=so_releases,
        lookups=_lookups(master),
    )
