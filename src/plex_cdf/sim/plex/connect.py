"""The Connect routes: every documented GET route of the served namespaces (the catalogue), each with the
source of its rows and the filters its documented parameters become.

Routes plex-cdf reads have hand-written sources over the plant (rich, consistent data); the others answer
the plant's records where it holds them (supply items, contacts, orders, ...; see commerce.py), shaped to
the documented fields, and an empty list where it holds none. An object route answers 404 for an id it
does not know; a sub-list answers 404 when its parent is unknown.

Semantics shared by every route (plex_api.md §2.5-2.7, §10.4): bare JSON arrays; limit/offset/page and any
unknown parameter ignored; parameter names matched case-insensitively; a repeated parameter means any-of;
a bad UUID, bool, number or date is a 400; required parameters are enforced as documented; history
routes answer `[beginDate, endDate)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.sim.plex import errors
from plex_cdf.sim.plex.catalogue import FieldType, RouteSpec, connect_routes, namespaces
from plex_cdf.sim.plex.history import SHIFT_MS
from plex_cdf.sim.plex.jobs import render_job, render_job_operations
from plex_cdf.sim.plex.master import Row
from plex_cdf.sim.plex.params import Filter, Kind, Query, check_value, filters_for, kind_of
from plex_cdf.sim.plex.plant import Plant

Answer = list[Row] | Row
Source = Callable[[Query], Answer]

__all__ = ["NAMESPACES", "ROUTES", "Query", "Route", "answer", "check_value", "lower_params", "match"]


@dataclass(frozen=True)
class Route:
    spec: RouteSpec
    source: Source
    filters: tuple[Filter, ...] = ()
    shaped: bool = False  # rows hold only what the plant knows: fill the other documented fields
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(
            r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(self.spec.path).replace(r"\{", "{").replace(r"\}", "}")
        )
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def template(self) -> str:
        return self.spec.path

    def check(self, query: Query) -> None:
        """400 for a malformed path id or a missing required parameter, before any data is read."""
        for param in self.spec.params:
            if param.where == "p" and param.name in query.path:
                check_value(param.name, kind_of(param), query.path[param.name])
            elif param.required and (not query.values(param.name) or not query.values(param.name)[0]):
                raise errors.missing(param.name)

    def answer(self, query: Query) -> Answer:
        self.check(query)
        result = self.source(query)
        if isinstance(result, dict):
            return _visible(shape(self.spec.fields, result) if self.shaped else result)
        if self.shaped:
            result = [shape(self.spec.fields, row) for row in result]
        for filter_ in self.filters:
            result = filter_.apply(query, result)
        if result and any(key.startswith("_") for key in result[0]):
            result = [_visible(row) for row in result]
        return result


def _visible(row: Row) -> Row:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _default(kind: FieldType) -> Any:
    if kind == "boolean":
        return False
    if kind == "array" or (isinstance(kind, dict) and "array" in kind):
        return []
    return None


def shape(fields: Mapping[str, FieldType], known: Row) -> Row:
    """Every documented field, in documented order: the known value, else null (false, [])."""
    row = {name: known[name] if name in known else _default(kind) for name, kind in fields.items()}
    row.update((k, v) for k, v in known.items() if k.startswith("_"))
    return row


def _one(
    rows: Callable[[Query], list[Row]], key: str, param: str = "id", kind: Kind = "uuid"
) -> Callable[[Query], Row]:
    """An object route over a list: the row whose `key` equals the path value, 404 otherwise."""

    def source(query: Query) -> Row:
        wanted = check_value(param, kind, query.path[param])
        for row in rows(query):
            value = row.get(key)
            if (value.lower() if isinstance(value, str) and kind == "uuid" else value) == wanted:
                return {k: v for k, v in row.items() if not k.startswith("_")}
        raise errors.not_found(f"{param} {query.path[param]}")

    return source


# -- sources ---------------------------------------------------------------------------------------------
def _tenants(q: Query) -> list[Row]:
    return [dict(row) for row in q.tenants] if q.tenants is not None else [dict(q.plant.master.tenant)]


def _part_operations(q: Query) -> list[Row]:
    return [
        {k: v for k, v in op.items() if k != "_code"} for p in q.plant.master.parts for op in p.operations
    ]


def _inventory_parts(q: Query) -> list[Row]:
    return [
        {**row, "_created": created, "_updated": updated}
        for row, created, updated in q.plant.inventory_parts(q.now)
    ]


def _boms(q: Query) -> list[Row]:
    wanted = check_value("partId", "uuid", q.values("partId")[0])
    index = q.plant.master.part_by_id.get(str(wanted))
    return [] if index is None else list(q.plant.master.boms.get(index, []))


def _job(q: Query) -> Row:
    job = q.plant.job_index(str(check_value("id", "uuid", q.path["id"])))
    if job is None or q.plant.jobs.created[job] > q.now:
        raise errors.not_found(f"job {q.path['id']}")
    return render_job(q.plant.master, q.plant.jobs, job, q.now)


def _job_operations(q: Query) -> list[Row]:
    job = q.plant.job_index(str(check_value("id", "uuid", q.path["id"])))
    if job is None or q.plant.jobs.created[job] > q.now:
        raise errors.not_found(f"job {q.path['id']}")
    return render_job_operations(q.plant.master, q.plant.jobs, job, q.now)


def _control(q: Query) -> Row:
    wanted = check_value("workcenterId", "uuid", q.path["workcenterId"])
    master = q.plant.master
    for index, wc in enumerate(master.workcenters):
        if wc["workcenterId"] == wanted:
            return _control_row(q, index)
    raise errors.not_found(f"workcenter {q.path['workcenterId']}")


def _control_row(q: Query, index: int) -> Row:
    master, wc = q.plant.master, q.plant.master.workcenters[index]
    status, job = q.plant.history.status_at(index, q.now)
    ops = render_job_operations(master, q.plant.jobs, job, q.now)[-1] if job is not None else None
    return {
        "id": wc["workcenterId"],
        "code": wc["workcenterCode"],
        "name": wc["name"],
        "type": wc["workcenterType"],
        "statusId": master.statuses[status]["id"],
        "statusDescription": master.statuses[status]["description"],
        "jobId": ops["jobId"] if ops else None,
        "jobNumber": ops["jobNumber"] if ops else None,
        "jobOperationId": ops["jobOperationId"] if ops else None,
        "operationNumber": ops["jobOperationNumber"] if ops else None,
        "operationCode": ops["operationCode"] if ops else None,
        "jobOperationQuantity": ops["quantity"] if ops else None,
        "lotId": None,
        "productionLineId": wc["productionLineId"],
        "batches": [],
        "operators": [] if job is None else [_operator(q, job)],
    }


def _operator(q: Query, job: int) -> Row:
    employee = q.plant.history.operator(job, q.now // SHIFT_MS)
    return {
        "accountID": employee["id"],
        "employeeName": f"{employee['firstName']} {employee['lastName']}",
        "costSubTypeId": None,
    }


def _window(method: str) -> Callable[[Query], list[Row]]:
    def source(q: Query) -> list[Row]:
        begin, end = q.window()
        rows: list[Row] = getattr(q.plant.history, method)(begin, end, q.now)
        return rows

    return source


def _container(q: Query) -> Row:
    serial = q.path["serialNo"]
    for container in q.plant.master.containers:
        if container.row["serialNo"] == serial:
            return q.plant.history.container_state(container, q.now)
    raise errors.not_found(f"container {serial}")


def _checksheet(q: Query) -> Row:
    number = check_value("id", "int", q.path["id"])
    row = q.plant.history.checksheet(int(str(number)), q.now)
    if row is None:
        raise errors.not_found(f"checksheet {q.path['id']}")
    return row


def _static(attribute: str) -> Callable[[Query], list[Row]]:
    def source(q: Query) -> list[Row]:
        rows: list[Row] = getattr(q.plant.master, attribute)
        return list(rows)

    return source


_parts: Callable[[Query], list[Row]] = lambda q: q.plant.parts(q.now)  # noqa: E731
_jobs: Callable[[Query], list[Row]] = lambda q: q.plant.job_rows(q.now)  # noqa: E731
_containers: Callable[[Query], list[Row]] = lambda q: q.plant.containers(q.now)  # noqa: E731


def _records(attribute: str, parent: str | None = None) -> Callable[[Query], list[Row]]:
    """Rows of the plant's commerce records or lookups (all, or those under the path's `parent` id)."""

    def source(q: Query) -> list[Row]:
        commerce = q.plant.commerce()
        rows: list[Row] = (
            commerce.lookups[attribute] if attribute in commerce.lookups else getattr(commerce, attribute)
        )
        if parent is None:
            return list(rows)
        wanted = str(q.path[parent]).lower()
        return [row for row in rows if row["_parent"] == wanted]

    return source


_WINDOWED = ("beginDate", "endDate")

# Routes plex-cdf reads: hand-written sources over the plant, rows already in the documented shape.
# (source, query parameters the source applies itself)
HAND: dict[str, tuple[Source, tuple[str, ...]]] = {
    "/mdm/v1/tenants": (_tenants, ()),
    "/mdm/v1/tenants/{id}": (_one(_tenants, "id"), ()),
    "/mdm/v1/buildings": (_static("buildings"), ()),
    "/mdm/v1/buildings/{id}": (_one(_static("buildings"), "id"), ()),
    "/mdm/v1/employees": (_static("employees"), ()),
    "/mdm/v1/employees/{id}": (_one(_static("employees"), "id"), ()),
    "/mdm/v1/parts": (_parts, ()),
    "/mdm/v1/parts/{id}": (_one(_parts, "id"), ()),
    "/inventory/v1/inventory-definitions/parts": (_inventory_parts, ()),
    "/inventory/v1/inventory-definitions/parts/{partId}": (_one(_inventory_parts, "partId", "partId"), ()),
    "/mdm/v1/operations": (_static("operations"), ()),
    "/mdm/v1/operations/{id}": (_one(_static("operations"), "id"), ()),
    "/mdm/v1/part-operations": (_part_operations, ()),
    "/mdm/v1/part-operations/{id}": (_one(_part_operations, "id"), ()),
    "/mdm/v1/suppliers": (_static("suppliers"), ()),
    "/mdm/v1/suppliers/{id}": (_one(_static("suppliers"), "id"), ()),
    "/mdm/v1/customers": (_static("customers"), ()),
    "/mdm/v1/customers/{id}": (_one(_static("customers"), "id"), ()),
    "/engineering/v1/boms": (_boms, ("partId",)),
    "/engineering/v1/boms/{id}": (
        _one(lambda q: [r for rows in q.plant.master.boms.values() for r in rows], "id"),
        (),
    ),
    "/scheduling/v1/jobs": (_jobs, ()),
    "/scheduling/v1/jobs/{id}": (_job, ()),
    "/scheduling/v1/jobs/{id}/operations": (_job_operations, ()),
    "/production/v1/production-definitions/workcenters": (_static("workcenters"), ()),
    "/production/v1/production-definitions/workcenters/{id}": (
        _one(_static("workcenters"), "workcenterId"),
        (),
    ),
    "/production/v1/control/workcenters/{workcenterId}": (_control, ()),
    "/production/v1/production-definitions/workcenter-statuses": (_static("statuses"), ()),
    "/production/v1/production-definitions/workcenter-statuses/{workcenterStatusId}": (
        _one(_static("statuses"), "id", "workcenterStatusId"),
        (),
    ),
    "/production/v1/production-definitions/production-lines": (_static("lines"), ()),
    "/production/v1/production-definitions/production-lines/{id}": (_one(_static("lines"), "id"), ()),
    "/production/v1/production-definitions/approved-workcenters": (_static("approved"), ()),
    "/production/v1/production-history/production-entries": (_window("production_entries"), _WINDOWED),
    "/production/v1/production-history/scrap-entries": (_window("scrap_entries"), _WINDOWED),
    "/production/v1/production-history/workcenter-status-entries": (
        _window("workcenter_status_entries"),
        _WINDOWED,
    ),
    "/production/v1/production-history/labor-entries": (_window("labor_entries"), _WINDOWED),
    "/inventory/v1/inventory-definitions/locations": (_static("locations"), ()),
    "/inventory/v1/inventory-tracking/containers": (_containers, ()),
    "/inventory/v1/inventory-tracking/containers/{serialNo}": (_container, ()),
    "/inventory/v1/inventory-history/container-location-moves": (_window("container_moves"), _WINDOWED),
    "/inventory/v1/inventory-history/container-adjustments": (_window("container_adjustments"), _WINDOWED),
    "/inventory/v1/inventory-tracking/lots": (_static("lots"), ()),
    "/inventory/v1/inventory-tracking/lots/{lotId}": (_one(_static("lots"), "id", "lotId"), ()),
    "/quality/v1/part-specifications": (_static("specs"), ()),
    "/quality/v1/part-specifications/{id}": (_one(_static("specs"), "id"), ()),
    "/quality/v1/checksheets/{id}": (_checksheet, ()),
    "/maintenance/v1/equipment": (_static("equipment"), ()),
    "/maintenance/v1/equipment/{id}": (_one(_static("equipment"), "id"), ()),
}

# Other routes whose records the plant holds (commerce.py); rows are shaped to the documented fields.
RECORDS: dict[str, Callable[[Query], list[Row]]] = {
    "/mdm/v1/supply-items": _records("supply_items"),
    "/inventory/v1/inventory-definitions/supply-items": _records("supply_items"),
    "/mdm/v1/contacts": _records("contacts"),
    "/mdm/v1/customers/{customerId}/addresses": _records("customer_addresses", "customerId"),
    "/mdm/v1/suppliers/{supplierId}/addresses": _records("supplier_addresses", "supplierId"),
    "/mdm/v1/user-accounts": _records("user_accounts"),
    "/purchasing/v1/purchase-orders": _records("purchase_orders"),
    "/purchasing/v1/purchase-orders/{poId}/line-items": _records("po_lines", "poId"),
    "/purchasing/v2-beta1/releases": _records("po_releases"),
    "/purchasing/v1/purchase-order-statuses": _records("po_statuses"),
    "/sales/v1/orders": _records("sales_orders"),
    "/sales/v1/orders/{id}/lines": _records("so_lines", "id"),
    "/sales/v1/releases": _records("so_releases"),
    "/production/v1/production-definitions/workcenter-events": _records("workcenter_events"),
    "/production/v1/production-definitions/locations": _records("production_locations"),
    "/production/v1/production-definitions/production-lines/{id}/workcenters": _records(
        "line_workcenters", "id"
    ),
    "/inventory/v1/inventory-definitions/scrap-reasons": _records("scrap_reasons"),
    "/scheduling/v1/job-definitions/types": _records("job_types"),
    "/maintenance/v1/equipment-types": _records("equipment_types"),
}


def _parent(q: Query, concrete: str) -> Answer | None:
    """What the path one segment up answers (404 raised as Plex would), or None when that is no route
    the simulator can ask without parameters."""
    found = match(concrete)
    if found is None or any(p.required for p in found[0].spec.query_params()):
        return None
    route, values = found
    return route.answer(Query(q.plant, q.now, {}, values, q.tenants))


def _concrete_parent(q: Query, spec: RouteSpec) -> str:
    template = spec.path.rsplit("/", 1)[0]
    return re.sub(r"\{(\w+)\}", lambda m: q.path[m.group(1)], template)


def _generic_list(spec: RouteSpec) -> Source:
    """A list the plant holds records for, or none: a sub-list checks its parent exists first."""
    records = RECORDS.get(spec.path)

    def source(q: Query) -> list[Row]:
        if q.path:
            _parent(q, _concrete_parent(q, spec))
        return records(q) if records is not None else []

    return source


def _generic_object(spec: RouteSpec) -> Source:
    """`.../{id}`: the collection's row with that id; `.../{id}/details`: the parent's details (its
    fields of the same names); a summary without ids: the documented shape, empty; 404 for anything the
    plant does not hold."""
    last = spec.path.rsplit("/", 1)[-1]
    keyed = last.startswith("{")

    def source(q: Query) -> Row:
        concrete = _concrete_parent(q, spec)
        parent = _parent(q, concrete)
        if keyed:
            name = last[1:-1]
            wanted = q.path[name].lower()
            for row in parent if isinstance(parent, list) else ():
                key = name if name in row else "id"
                if str(row.get(key, "")).lower() == wanted:
                    return row
        elif isinstance(parent, dict):
            return parent
        elif parent is None and not q.path:
            return {}  # a summary the plant has nothing for: the documented shape, empty
        raise errors.not_found(f"{spec.path} {dict(q.path)}")

    return source


def _file(q: Query) -> Row:
    raise errors.not_found("document")


def build_route(spec: RouteSpec) -> Route:
    hand = HAND.get(spec.path)
    if hand is not None:
        source, consumed = hand
        return Route(spec, source, filters_for(spec, consumed))
    if spec.answer == "file":
        return Route(spec, _file)
    if spec.answer == "object":
        return Route(spec, _generic_object(spec), shaped=True)
    return Route(spec, _generic_list(spec), filters_for(spec), shaped=True)


def _specificity(route: Route) -> tuple[int, str]:
    """Literal segments win over path parameters (`/tags/values/latest` before `/tags/values/{time}`)."""
    return route.spec.path.count("{"), route.spec.path


ROUTES: tuple[Route, ...] = tuple(sorted((build_route(s) for s in connect_routes()), key=_specificity))
NAMESPACES: tuple[str, ...] = namespaces()
_BY_NAMESPACE: dict[str, tuple[Route, ...]] = {
    ns: tuple(r for r in ROUTES if r.spec.namespace == ns) for ns in NAMESPACES
}


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in _BY_NAMESPACE.get(path.strip("/").split("/")[0], ()):
        found = route.pattern.match(path)
        if found:
            return route, found.groupdict()
    return None


def lower_params(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name.lower(), []).append(value)
    return params


TENANT_ROUTES = ("/mdm/v1/tenants", "/mdm/v1/tenants/{id}")


def answer(
    plant: Plant,
    now: int,
    path: str,
    params: Mapping[str, Sequence[str]],
    tenants: Sequence[Row] | None = None,
    empty: bool = False,
) -> tuple[str, Any]:
    """(path template, answer) for a GET; raises PlexError as Plex would answer. `empty` answers for a
    tenant that holds no data (another tenant of the key): lists are [], objects 404."""
    found = match(path)
    if found is None:
        raise errors.not_found(path)
    route, path_values = found
    query = Query(plant, now, params, path_values, tenants)
    if empty and route.template not in TENANT_ROUTES:
        route.check(query)
        if "{" in route.template:
            raise errors.not_found(path)
        return route.template, []
    return route.template, route.answer(query)
