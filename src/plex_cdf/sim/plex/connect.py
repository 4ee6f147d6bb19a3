"""The Connect routes, one row each: path template, where its rows come from, which parameters filter them.

Semantics shared by every route (plex_api.md §2.5-2.7, §10.4): bare JSON arrays; limit/offset/page and any
unknown parameter ignored; parameter names matched case-insensitively; a repeated parameter means any-of;
a bad UUID, bool or date is a 400; history routes require `beginDate` and `endDate` and answer
`[beginDate, endDate)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plex_cdf.sim.plex import errors
from plex_cdf.sim.plex.history import SHIFT_MS
from plex_cdf.sim.plex.jobs import render_job, render_job_operations
from plex_cdf.sim.plex.master import Row
from plex_cdf.sim.plex.plant import Plant
from plex_cdf.sim.plex.timefmt import DateFormatError, parse_strict

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
Kind = Literal["str", "uuid", "bool", "int"]
Answer = list[Row] | Row


@dataclass(frozen=True)
class Query:
    plant: Plant
    now: int  # simulated ms
    params: Mapping[str, Sequence[str]]  # lower-cased names
    path: Mapping[str, str]
    tenants: Sequence[Row] | None = None  # the tenants the calling key sees; None: this tenant alone

    def values(self, name: str) -> Sequence[str]:
        return self.params.get(name.lower(), ())

    def window(self) -> tuple[int, int]:
        return self.path_window("beginDate", "endDate")

    def path_window(self, begin_name: str, end_name: str) -> tuple[int, int]:
        begin, end = required_date(self, begin_name), required_date(self, end_name)
        if begin > end:
            raise errors.invalid(
                "ARGUMENT_INVALID",
                begin_name,
                list(self.values(begin_name)),
                f"'{begin_name}' must not be after '{end_name}'.",
            )
        return begin, end


def parse_date(name: str, text: str) -> int:
    try:
        return parse_strict(text)
    except DateFormatError as error:
        raise errors.invalid("ARGUMENT_INVALID", name, [text], str(error)) from None


def required_date(query: Query, name: str) -> int:
    values = query.values(name)
    if not values or not values[0]:
        raise errors.missing(name)
    return parse_date(name, values[0])


def check_value(name: str, kind: Kind, text: str) -> object:
    """The comparable form of a parameter value; 400 when Plex would reject it."""
    if kind == "uuid":
        if not UUID.match(text):
            raise errors.invalid("ARGUMENT_INVALID", name, [text], f"'{text}' is not a valid UUID.")
        return text.lower()
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise errors.invalid(
                "ARGUMENT_INVALID", name, [text], f"'{text}' is not a boolean.", ["true", "false"]
            )
        return text.lower() == "true"
    if kind == "int":
        if not re.fullmatch(r"-?\d+", text):
            raise errors.invalid("ARGUMENT_INVALID", name, [text], f"'{text}' is not an integer.")
        return int(text)
    return text


@dataclass(frozen=True)
class Eq:
    """`?param=a&param=b`: keep rows whose field is any of the values."""

    param: str
    field: str
    kind: Kind = "str"

    def apply(self, query: Query, rows: list[Row]) -> list[Row]:
        values = query.values(self.param)
        if not values:
            return rows
        wanted = {check_value(self.param, self.kind, value) for value in values}
        if self.kind == "uuid":
            return [
                row
                for row in rows
                if isinstance(row.get(self.field), str) and row[self.field].lower() in wanted
            ]
        return [row for row in rows if row.get(self.field) in wanted]


@dataclass(frozen=True)
class Between:
    """Optional `begin`/`end` date parameters on a date field (text as Plex emits it, or hidden ms)."""

    begin: str
    end: str
    field: str

    def apply(self, query: Query, rows: list[Row]) -> list[Row]:
        begin_values, end_values = query.values(self.begin), query.values(self.end)
        low = parse_date(self.begin, begin_values[0]) if begin_values else None
        high = parse_date(self.end, end_values[0]) if end_values else None
        if low is None and high is None:
            return rows
        kept = []
        for row in rows:
            value = row.get(self.field)
            if value is None:
                continue
            at = value if isinstance(value, int) else parse_strict(value)
            if (low is None or at >= low) and (high is None or at < high):
                kept.append(row)
        return kept


Filter = Eq | Between


@dataclass(frozen=True)
class Route:
    template: str
    source: Callable[[Query], Answer]
    filters: tuple[Filter, ...] = ()
    required: tuple[str, ...] = ()
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    def answer(self, query: Query) -> Answer:
        for name in self.required:
            if not query.values(name) or not query.values(name)[0]:
                raise errors.missing(name)
        result = self.source(query)
        if isinstance(result, dict):
            return result
        for filter_ in self.filters:
            result = filter_.apply(query, result)
        if result and any(key.startswith("_") for key in result[0]):
            result = [{k: v for k, v in row.items() if not k.startswith("_")} for row in result]
        return result


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

_HISTORY_FILTERS = (
    Eq("workcenterId", "workcenterId", "uuid"),
    Eq("jobId", "jobId", "uuid"),
    Eq("partId", "partId", "uuid"),
    Eq("partOperationId", "partOperationId", "uuid"),
)
_CONTAINER_HISTORY = (
    Eq("serialNo", "serialNo"),
    Eq("partId", "partId", "uuid"),
    Eq("partOperationId", "partOperationId", "uuid"),
    Eq("locationId", "locationId", "uuid"),
)
_DATES = ("beginDate", "endDate")

ROUTES: tuple[Route, ...] = (
    Route(
        "/mdm/v1/tenants", _tenants, (Eq("idList", "id", "uuid"), Eq("code", "code"), Eq("codeList", "code"))
    ),
    Route("/mdm/v1/tenants/{id}", _one(_tenants, "id")),
    Route(
        "/mdm/v1/buildings",
        _static("buildings"),
        (
            Eq("id", "id", "uuid"),
            Eq("buildingCode", "buildingCode"),
            Eq("buildingType", "buildingType"),
            Eq("name", "name"),
            Eq("active", "active", "bool"),
        ),
    ),
    Route("/mdm/v1/buildings/{id}", _one(_static("buildings"), "id")),
    Route(
        "/mdm/v1/employees",
        _static("employees"),
        (
            Eq("id", "id", "uuid"),
            Eq("badgeNumber", "badgeNumber"),
            Eq("userId", "userId"),
            Eq("firstName", "firstName"),
            Eq("lastName", "lastName"),
            Eq("supervisorId", "supervisorId", "uuid"),
            Eq("status", "status"),
            Eq("position", "position"),
            Eq("shift", "shift"),
            Eq("building", "building"),
            Eq("type", "type"),
            Eq("department", "department"),
            Eq("email", "email"),
        ),
    ),
    Route("/mdm/v1/employees/{id}", _one(_static("employees"), "id")),
    Route(
        "/mdm/v1/parts",
        _parts,
        (
            Eq("id", "id", "uuid"),
            Eq("number", "number"),
            Eq("revision", "revision"),
            Eq("type", "type"),
            Eq("status", "status"),
            Eq("source", "source"),
            Eq("productType", "productType"),
        ),
    ),
    Route("/mdm/v1/parts/{id}", _one(_parts, "id")),
    Route(
        "/inventory/v1/inventory-definitions/parts",
        _inventory_parts,
        (
            Eq("partNumber", "partNumber"),
            Eq("partRevision", "revision"),
            Eq("partType", "type"),
            Eq("partSource", "source"),
            Eq("partStatus", "status"),
            Between("beginCreatedDateTime", "endCreatedDateTime", "_created"),
            Between("beginUpdatedDateTime", "endUpdatedDateTime", "_updated"),
        ),
    ),
    Route("/inventory/v1/inventory-definitions/parts/{partId}", _one(_inventory_parts, "partId", "partId")),
    Route(
        "/mdm/v1/operations",
        _static("operations"),
        (
            Eq("id", "id", "uuid"),
            Eq("code", "code"),
            Eq("type", "type"),
            Eq("inventoryType", "inventoryType"),
        ),
    ),
    Route("/mdm/v1/operations/{id}", _one(_static("operations"), "id")),
    Route(
        "/mdm/v1/part-operations",
        _part_operations,
        (
            Eq("partId", "partId", "uuid"),
            Eq("operationId", "operationId", "uuid"),
            Eq("active", "active", "bool"),
            Eq("subOperation", "subOperation", "bool"),
            Eq("operationNumber", "operationNumber", "int"),
        ),
    ),
    Route("/mdm/v1/part-operations/{id}", _one(_part_operations, "id")),
    Route(
        "/mdm/v1/suppliers",
        _static("suppliers"),
        (
            Eq("id", "id", "uuid"),
            Eq("code", "code"),
            Eq("name", "name"),
            Eq("category", "category"),
            Eq("status", "status"),
            Eq("type", "type"),
            Between("createdDateBegin", "createdDateEnd", "createdDate"),
            Between("modifiedDateBegin", "modifiedDateEnd", "modifiedDate"),
        ),
    ),
    Route("/mdm/v1/suppliers/{id}", _one(_static("suppliers"), "id")),
    Route(
        "/mdm/v1/customers",
        _static("customers"),
        (
            Eq("id", "id", "uuid"),
            Eq("code", "code"),
            Eq("name", "name"),
            Eq("status", "status"),
            Eq("type", "type"),
            Between("modifiedDateBegin", "modifiedDateEnd", "modifiedDate"),
        ),
    ),
    Route("/mdm/v1/customers/{id}", _one(_static("customers"), "id")),
    Route(
        "/engineering/v1/boms",
        _boms,
        (Eq("partOperationId", "partOperationId", "uuid"),),
        required=("partId",),
    ),
    Route(
        "/engineering/v1/boms/{id}",
        _one(lambda q: [r for rows in q.plant.master.boms.values() for r in rows], "id"),
    ),
    Route(
        "/scheduling/v1/jobs",
        _jobs,
        (
            Eq("partId", "partId", "uuid"),
            Eq("externalJobCode", "externalJobCode"),
            Eq("jobNumber", "jobNumber"),
            Eq("jobStatuses", "jobStatus"),
            Eq("buildingId", "buildingId", "uuid"),
            Eq("priority", "priority", "str"),
            Between("dueDateBegin", "dueDateEnd", "dueDate"),
            Between("completedDateBegin", "completedDateEnd", "completedDate"),
            Between("beginEarliestStartDateTime", "endEarliestStartDateTime", "earliestStartDateTime"),
        ),
    ),
    Route("/scheduling/v1/jobs/{id}", _job),
    Route(
        "/scheduling/v1/jobs/{id}/operations",
        _job_operations,
        (
            Eq("jobOperationStatus", "jobOperationStatus"),
            Eq("operationCode", "operationCode"),
            Eq("jobOperationId", "jobOperationId", "uuid"),
            Eq("workcenterId", "workcenterId", "uuid"),
            Eq("partOperationType", "partOperationType"),
            Between("beginScheduledStartDate", "endScheduledStartDate", "scheduledStartDate"),
        ),
    ),
    Route(
        "/production/v1/production-definitions/workcenters",
        _static("workcenters"),
        (
            Eq("workcenterCode", "workcenterCode"),
            Eq("name", "name"),
            Eq("workcenterType", "workcenterType"),
            Eq("workcenterGroup", "workcenterGroup"),
            Eq("buildingId", "buildingId", "uuid"),
            Eq("tankSilo", "tankSilo", "bool"),
            Eq("plcName", "plcName"),
            Eq("ipAddress", "ipAddress"),
        ),
    ),
    Route(
        "/production/v1/production-definitions/workcenters/{workcenterId}",
        _one(_static("workcenters"), "workcenterId", "workcenterId"),
    ),
    Route("/production/v1/control/workcenters/{workcenterId}", _control),
    Route(
        "/production/v1/production-definitions/workcenter-statuses",
        _static("statuses"),
        (
            Eq("description", "description"),
            Eq("active", "active", "bool"),
            Eq("offStatus", "offStatus", "bool"),
        ),
    ),
    Route("/production/v1/production-definitions/workcenter-statuses/{id}", _one(_static("statuses"), "id")),
    Route(
        "/production/v1/production-definitions/production-lines",
        _static("lines"),
        (
            Eq("productionLineId", "id", "uuid"),
            Eq("productionLineCode", "code"),
            Eq("equipmentId", "equipmentId"),
        ),
    ),
    Route("/production/v1/production-definitions/production-lines/{id}", _one(_static("lines"), "id")),
    Route(
        "/production/v1/production-definitions/approved-workcenters",
        _static("approved"),
        (
            Eq("workcenterId", "workcenterId", "uuid"),
            Eq("partId", "partId", "uuid"),
            Eq("partOperationId", "partOperationId", "uuid"),
            Eq("operationId", "operationId", "uuid"),
        ),
    ),
    Route(
        "/production/v1/production-history/production-entries",
        _window("production_entries"),
        _HISTORY_FILTERS,
        _DATES,
    ),
    Route(
        "/production/v1/production-history/scrap-entries",
        _window("scrap_entries"),
        (*_HISTORY_FILTERS, Eq("scrapReason", "scrapReason")),
        _DATES,
    ),
    Route(
        "/production/v1/production-history/workcenter-status-entries",
        _window("workcenter_status_entries"),
        (*_HISTORY_FILTERS[:3], Eq("status", "workcenterStatus")),
        _DATES,
    ),
    Route(
        "/production/v1/production-history/labor-entries",
        _window("labor_entries"),
        (
            *_HISTORY_FILTERS[:3],
            Eq("accountId", "accountId", "uuid"),
            Eq("employeeId", "employeeId", "uuid"),
            Eq("costActivity", "costActivity"),
        ),
        _DATES,
    ),
    Route(
        "/inventory/v1/inventory-definitions/locations",
        _static("locations"),
        (
            Eq("locationId", "locationId", "uuid"),
            Eq("locationCode", "locationCode"),
            Eq("tankSilo", "tankSilo", "bool"),
        ),
    ),
    Route(
        "/inventory/v1/inventory-tracking/containers",
        _containers,
        (
            Eq("partId", "partId", "uuid"),
            Eq("locationId", "locationId", "uuid"),
            Eq("masterUnitId", "masterUnitId", "uuid"),
            Eq("lotId", "lotId", "uuid"),
            Eq("eun", "eun"),
            Eq("inventoryType", "inventoryType"),
        ),
    ),
    Route("/inventory/v1/inventory-tracking/containers/{serialNo}", _container),
    Route(
        "/inventory/v1/inventory-history/container-location-moves",
        _window("container_moves"),
        (*_CONTAINER_HISTORY, Eq("movedFromLocationId", "movedFromLocationId", "uuid")),
        _DATES,
    ),
    Route(
        "/inventory/v1/inventory-history/container-adjustments",
        _window("container_adjustments"),
        (*_CONTAINER_HISTORY, Eq("adjustmentCode", "adjustmentCode")),
        _DATES,
    ),
    Route(
        "/inventory/v1/inventory-tracking/lots",
        _static("lots"),
        (
            Eq("partId", "partId", "uuid"),
            Eq("partNumber", "partNumber"),
            Eq("partRevision", "partRevision"),
            Eq("lotNumber", "lotNumber"),
            Eq("supplierID", "supplierId", "uuid"),
            Between("manufacturedDateTimeBegin", "manufacturedDateTimeEnd", "manufacturedDateTime"),
        ),
    ),
    Route("/inventory/v1/inventory-tracking/lots/{lotId}", _one(_static("lots"), "id", "lotId")),
    Route(
        "/quality/v1/part-specifications",
        _static("specs"),
        (
            Eq("partId", "partId", "uuid"),
            Eq("ids", "id", "uuid"),
            Eq("specificationNumber", "specificationNumber"),
        ),
    ),
    Route("/quality/v1/part-specifications/{id}", _one(_static("specs"), "id")),
    Route("/quality/v1/checksheets/{id}", _checksheet),
    Route(
        "/maintenance/v1/equipment",
        _static("equipment"),
        (
            Eq("equipmentId", "equipmentId"),
            Eq("equipmentTypeId", "equipmentTypeId", "uuid"),
            Eq("buildingId", "buildingId", "uuid"),
            Eq("locationId", "locationId", "uuid"),
            Eq("workcenterId", "workcenterId", "uuid"),
            Eq("status", "status"),
            Eq("serialNo", "serialNo"),
            Eq("active", "active", "bool"),
        ),
    ),
    Route("/maintenance/v1/equipment/{id}", _one(_static("equipment"), "id")),
)

NAMESPACES = (
    "mdm",
    "engineering",
    "scheduling",
    "production",
    "inventory",
    "quality",
    "maintenance",
    "platform",
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
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
        for name in route.required:
            if not query.values(name):
                raise errors.missing(name)
        if "{" in route.template:
            raise errors.not_found(path)
        return route.template, []
    return route.template, route.answer(query)
