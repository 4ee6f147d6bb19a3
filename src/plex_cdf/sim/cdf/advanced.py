"""`advancedFilter` and `sort` on assets, events and time series lists, compiled into plain functions.

Leaves: equals, in, range, prefix, exists; combined by and, or, not. Properties are `[name]` or
`["metadata", key]`. Every other operator, property or option is refused by name (never ignored).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.keys import check_keys, unsupported

Predicate = Callable[[Json], bool]
Getter = Callable[[Json], Any]


@dataclass(frozen=True, slots=True)
class Properties:
    """What one resource type lets the DSL address: scalar fields, list fields, sortable fields."""

    scalars: frozenset[str]
    lists: frozenset[str]
    sortable: frozenset[str]


_COMMON = frozenset(
    {"id", "externalId", "description", "source", "dataSetId", "createdTime", "lastUpdatedTime"}
)
ASSETS = Properties(
    scalars=_COMMON | {"name", "parentId", "rootId"},
    lists=frozenset({"labels"}),
    sortable=frozenset(
        {"createdTime", "dataSetId", "description", "externalId", "lastUpdatedTime", "name", "source"}
    ),
)
EVENTS = Properties(
    scalars=_COMMON | {"type", "subtype", "startTime", "endTime"},
    lists=frozenset({"assetIds"}),
    sortable=frozenset(
        {
            "createdTime",
            "dataSetId",
            "description",
            "endTime",
            "externalId",
            "lastUpdatedTime",
            "source",
            "startTime",
            "subtype",
            "type",
        }
    ),
)
TIME_SERIES = Properties(
    scalars=(_COMMON - {"source"}) | {"name", "unit", "unitExternalId", "assetId", "isStep", "isString"},
    lists=frozenset({"securityCategories"}),
    sortable=frozenset(
        {"assetId", "createdTime", "dataSetId", "description", "externalId", "lastUpdatedTime", "name"}
    ),
)

LEAF_KEYS: Mapping[str, frozenset[str]] = {
    "equals": frozenset({"property", "value"}),
    "in": frozenset({"property", "values"}),
    "range": frozenset({"property", "gt", "gte", "lt", "lte"}),
    "prefix": frozenset({"property", "value"}),
    "exists": frozenset({"property"}),
}
RANGE_TESTS: Mapping[str, Callable[[Any, Any], bool]] = {
    "gt": lambda got, bound: got > bound,
    "gte": lambda got, bound: got >= bound,
    "lt": lambda got, bound: got < bound,
    "lte": lambda got, bound: got <= bound,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(got: Any, bound: Any) -> bool:
    return (_is_number(got) and _is_number(bound)) or (isinstance(got, str) and isinstance(bound, str))


def _label_ids(item: Json) -> list[Any]:
    return [label.get("externalId") for label in item.get("labels") or ()]


def _getter(props: Properties, prop: Any, where: str) -> tuple[Getter, bool]:
    """How to read `prop` from a stored item, and whether it is a list field."""
    if not isinstance(prop, list) or not prop or not all(isinstance(p, str) for p in prop):
        raise bad_request(f"{where}.property: expected a non-empty list of strings")
    if len(prop) == 2 and prop[0] == "metadata":
        key = prop[1]
        return (lambda item: (item.get("metadata") or {}).get(key)), False
    if len(prop) == 1 and prop[0] in props.scalars:
        name = prop[0]
        return (lambda item: item.get(name)), False
    if len(prop) == 1 and prop[0] in props.lists:
        name = prop[0]
        return (_label_ids if name == "labels" else (lambda item: item.get(name) or [])), True
    raise unsupported(f"{where}.property {prop}")


def compile_filter(props: Properties, node: Any, where: str = "advancedFilter") -> Predicate:
    if not isinstance(node, dict) or len(node) != 1:
        raise bad_request(f"{where}: expected an object with exactly one operator")
    ((op, arg),) = node.items()
    if op in ("and", "or"):
        if not isinstance(arg, list) or not arg:
            raise bad_request(f"{where}.{op}: expected a non-empty list of filters")
        parts = [compile_filter(props, sub, f"{where}.{op}[{i}]") for i, sub in enumerate(arg)]
        combine = all if op == "and" else any
        return lambda item: combine(p(item) for p in parts)
    if op == "not":
        inner = compile_filter(props, arg, f"{where}.not")
        return lambda item: not inner(item)
    if op not in LEAF_KEYS:
        raise unsupported(f"{where}.{op}")
    return _leaf(props, op, arg, f"{where}.{op}")


def _leaf(props: Properties, op: str, arg: Any, where: str) -> Predicate:
    if not isinstance(arg, dict):
        raise bad_request(f"{where}: expected an object")
    check_keys(arg, LEAF_KEYS[op], f"{where}.")
    get, is_list = _getter(props, arg.get("property"), where)
    if op == "exists":
        return (lambda item: bool(get(item))) if is_list else (lambda item: get(item) is not None)
    if is_list:
        raise unsupported(f"{where} on the list property {arg['property']}")
    if op == "equals":
        wanted = _scalar(arg.get("value"), f"{where}.value")
        return lambda item: _same(get(item), wanted)
    if op == "in":
        values = arg.get("values")
        if not isinstance(values, list) or not values:
            raise bad_request(f"{where}.values: expected a non-empty list")
        wanted_all = [_scalar(v, f"{where}.values") for v in values]
        return lambda item: any(_same(get(item), w) for w in wanted_all)
    if op == "prefix":
        start = arg.get("value")
        if not isinstance(start, str):
            raise bad_request(f"{where}.value: expected a string")
        return lambda item: isinstance(got := get(item), str) and got.startswith(start)
    return _range(get, arg, where)


def _range(get: Getter, arg: Json, where: str) -> Predicate:
    bounds = [
        (RANGE_TESTS[k], _scalar(arg[k], f"{where}.{k}")) for k in RANGE_TESTS if arg.get(k) is not None
    ]
    if not bounds:
        raise bad_request(f"{where}: expected at least one of gt, gte, lt, lte")

    def match(item: Json) -> bool:
        got = get(item)
        return all(_comparable(got, bound) and test(got, bound) for test, bound in bounds)

    return match


def _scalar(value: Any, where: str) -> Any:
    if not (isinstance(value, str | bool) or _is_number(value)):
        raise bad_request(f"{where}: expected a string, number or boolean")
    return value


def _same(got: Any, wanted: Any) -> bool:
    """Equality that keeps booleans apart from numbers (True is not 1 here)."""
    return isinstance(got, bool) == isinstance(wanted, bool) and got == wanted


SORT_KEYS = frozenset({"property", "order", "nulls"})


def sort_key(props: Properties, sort: Any) -> Callable[[list[Json]], list[Json]]:
    """A function that orders items by one `{"property", "order", "nulls"}`; missing values go last
    unless `nulls: "first"` (also for `"auto"`, whose CDF placement is not confirmed here)."""
    if not isinstance(sort, list) or not sort:
        raise bad_request("sort: expected a non-empty list")
    if len(sort) > 1:
        raise unsupported("sort by more than one property")
    spec = sort[0]
    if not isinstance(spec, dict):
        raise bad_request("sort[0]: expected an object")
    check_keys(spec, SORT_KEYS, "sort[0].")
    prop = spec.get("property")
    if not (isinstance(prop, list) and len(prop) == 1 and prop[0] in props.sortable):
        raise unsupported(f"sort[0].property {prop}")
    order, nulls = spec.get("order") or "asc", spec.get("nulls") or "auto"
    if order not in ("asc", "desc"):
        raise bad_request(f"sort[0].order: must be asc or desc, got {order!r}")
    if nulls not in ("first", "last", "auto"):
        raise bad_request(f"sort[0].nulls: must be first, last or auto, got {nulls!r}")
    name = prop[0]

    def arrange(items: list[Json]) -> list[Json]:
        present = sorted(
            (i for i in items if i.get(name) is not None),
            key=lambda i: (i[name], i["id"]),
            reverse=order == "desc",
        )
        missing = [i for i in items if i.get(name) is None]
        return missing + present if nulls == "first" else present + missing

    return arrange
