"""A Connect request's parameters: value checks (400 where Plex refuses a value) and the filters every
documented query parameter becomes, resolved from the catalogue's parameter and field names.

A parameter filters the field of the same name (case-insensitively); a plural parameter (`ids`,
`jobStatuses`, `codeList`) the singular field, a singular one a list field (`outsideSalesId` ->
`outsideSalesIds`); a date parameter is one end of a range on its field (`beginManufacturedDateTime`,
`dueDateBegin`): begin inclusive, end exclusive. Where the documented names do not line up, a route
states the field (`OVERRIDES`). A documented parameter the simulator cannot apply is refused with a 400
naming it, unless there is nothing to filter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from plex_cdf.sim.plex import errors
from plex_cdf.sim.plex.catalogue import Param, RouteSpec
from plex_cdf.sim.plex.master import Row
from plex_cdf.sim.plex.timefmt import DateFormatError, parse_strict

if TYPE_CHECKING:
    from plex_cdf.sim.plex.plant import Plant

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
Kind = Literal["str", "uuid", "bool", "int", "num", "date"]
KINDS: dict[str, Kind] = {
    "uuid": "uuid",
    "boolean": "bool",
    "integer": "int",
    "number": "num",
    "date-time": "date",
    "date": "date",
}


def kind_of(param: Param) -> Kind:
    return KINDS.get(param.item_type, "str")


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
    if kind == "num":
        try:
            return float(text)
        except ValueError:
            raise errors.invalid("ARGUMENT_INVALID", name, [text], f"'{text}' is not a number.") from None
    if kind == "date":
        return parse_date(name, text)
    return text


def _field_values(row: Row, field: str) -> list[Any]:
    """The row's values for a field: a list field's items; `parts.id` reaches into a list of records."""
    if "." in field:
        outer, inner = field.split(".", 1)
        return [item.get(inner) for item in row.get(outer) or () if isinstance(item, dict)]
    value = row.get(field)
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Eq:
    """`?param=a&param=b`: keep rows whose field (or any item of a list field) is any of the values."""

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
                if any(isinstance(v, str) and v.lower() in wanted for v in _field_values(row, self.field))
            ]
        return [row for row in rows if any(v in wanted for v in _field_values(row, self.field))]


@dataclass(frozen=True)
class Bound:
    """One end of a date range on a field (text as Plex emits it, or hidden ms): `begin` keeps rows at or
    after the value, `end` rows before it. Rows without the date are left out once a bound is given."""

    param: str
    field: str
    side: Literal["begin", "end"]

    def apply(self, query: Query, rows: list[Row]) -> list[Row]:
        values = query.values(self.param)
        if not values:
            return rows
        limit = parse_date(self.param, values[0])
        kept = []
        for row in rows:
            value = row.get(self.field)
            if value is None:
                continue
            at = value if isinstance(value, int) else parse_strict(value)
            if (at >= limit) if self.side == "begin" else (at < limit):
                kept.append(row)
        return kept


@dataclass(frozen=True)
class PartAttr:
    """A filter on an attribute of the row's part (`partType`, `partGroup`, `partSource` on moves)."""

    param: str
    attribute: str

    def apply(self, query: Query, rows: list[Row]) -> list[Row]:
        values = query.values(self.param)
        if not values:
            return rows
        master = query.plant.master
        wanted = set(values)
        return [
            row
            for row in rows
            if (index := master.part_by_id.get(str(row.get("partId")))) is not None
            and master.parts[index].row[self.attribute] in wanted
        ]


@dataclass(frozen=True)
class Unsupported:
    """A documented parameter the simulator cannot apply: its value is still checked, and it is refused
    (never ignored) unless the answer is empty anyway."""

    param: str
    kind: Kind

    def apply(self, query: Query, rows: list[Row]) -> list[Row]:
        values = query.values(self.param)
        for value in values:
            check_value(self.param, self.kind, value)
        if values and rows:
            raise errors.invalid(
                "REQUEST_NOT_SUPPORTED",
                self.param,
                list(values),
                f"not supported by the simulated Plex: {self.param}",
            )
        return rows


Filter = Eq | Bound | PartAttr | Unsupported

# (route, parameter) -> the filter, where Plex's parameter and field names do not line up.
OVERRIDES: dict[tuple[str, str], Filter] = {
    ("/inventory/v1/inventory-definitions/parts", "partRevision"): Eq("partRevision", "revision"),
    ("/inventory/v1/inventory-definitions/parts", "partType"): Eq("partType", "type"),
    ("/inventory/v1/inventory-definitions/parts", "partSource"): Eq("partSource", "source"),
    ("/inventory/v1/inventory-definitions/parts", "partStatus"): Eq("partStatus", "status"),
    ("/inventory/v1/inventory-definitions/parts", "beginCreatedDateTime"): Bound(
        "beginCreatedDateTime", "_created", "begin"
    ),
    ("/inventory/v1/inventory-definitions/parts", "endCreatedDateTime"): Bound(
        "endCreatedDateTime", "_created", "end"
    ),
    ("/inventory/v1/inventory-definitions/parts", "beginUpdatedDateTime"): Bound(
        "beginUpdatedDateTime", "_updated", "begin"
    ),
    ("/inventory/v1/inventory-definitions/parts", "endUpdatedDateTime"): Bound(
        "endUpdatedDateTime", "_updated", "end"
    ),
    ("/inventory/v1/inventory-definitions/locations", "locationTypeFlag"): Eq(
        "locationTypeFlag", "locationType"
    ),
    ("/inventory/v1/inventory-history/container-location-moves", "partType"): PartAttr("partType", "type"),
    ("/inventory/v1/inventory-history/container-location-moves", "partGroup"): PartAttr("partGroup", "group"),
    ("/inventory/v1/inventory-history/container-location-moves", "partSource"): PartAttr(
        "partSource", "source"
    ),
    ("/maintenance/v1/equipment", "partId"): Eq("partId", "parts.id", "uuid"),
    ("/maintenance/v1/equipment", "partType"): Eq("partType", "parts.partType"),
    ("/production/v1/production-definitions/production-lines", "productionLineId"): Eq(
        "productionLineId", "id", "uuid"
    ),
    ("/production/v1/production-definitions/production-lines", "productionLineCode"): Eq(
        "productionLineCode", "code"
    ),
    ("/production/v1/production-history/workcenter-status-entries", "status"): Eq(
        "status", "workcenterStatus"
    ),
    ("/sales/v1/orders", "modifiedByDateBegin"): Bound("modifiedByDateBegin", "modifiedDate", "begin"),
    ("/sales/v1/orders", "modifiedByDateEnd"): Bound("modifiedByDateEnd", "modifiedDate", "end"),
}

_RANGE = (
    (re.compile(r"^(?:begin|start)([A-Z]\w*)$"), "begin"),
    (re.compile(r"^end([A-Z]\w*)$"), "end"),
    (re.compile(r"^(\w+?)(?:Begin|From)$"), "begin"),
    (re.compile(r"^(\w+?)(?:End|To)$"), "end"),
)


def _date_filter(name: str, fields: Mapping[str, str]) -> Bound | None:
    for pattern, side in _RANGE:
        found = pattern.match(name)
        if not found:
            continue
        base = found.group(1)[0].lower() + found.group(1)[1:]
        for candidate in (base, base + "Date", base + "DateTime", base + "Time"):
            if fields.get(candidate.lower()):
                return Bound(name, fields[candidate.lower()], "begin" if side == "begin" else "end")
    return None


def _named_field(name: str, fields: Mapping[str, str]) -> str | None:
    lowered = name.lower()
    for candidate in (
        lowered,
        lowered.removesuffix("list"),
        lowered.removesuffix("es"),
        lowered.removesuffix("s"),
        lowered + "s",
    ):
        if candidate in fields:
            return fields[candidate]
    return None


def filter_for(spec: RouteSpec, param: Param) -> Filter:
    """The filter a documented query parameter is on this route."""
    override = OVERRIDES.get((spec.path, param.name))
    if override is not None:
        return override
    fields = {name.lower(): name for name in spec.fields}
    kind = kind_of(param)
    if kind == "date":
        found = _date_filter(param.name, fields)
        return found if found is not None else Unsupported(param.name, kind)
    field = _named_field(param.name, fields)
    return Eq(param.name, field, kind) if field is not None else Unsupported(param.name, kind)


def filters_for(spec: RouteSpec, consumed: Sequence[str] = ()) -> tuple[Filter, ...]:
    """Every documented query parameter as a filter, except those the route's source applies itself."""
    return tuple(filter_for(spec, param) for param in spec.query_params() if param.name not in consumed)
