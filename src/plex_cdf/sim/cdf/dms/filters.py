"""DMS filters compiled to predicates over instances, and property references resolved to value getters.

A property reference is `["node"|"edge", field]` for an instance's own fields, `[space, "view/version",
property]` for a view property or `[space, container, property]` for a container property. Filter values
may be `{"parameter": name}` (query parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

from plex_cdf.sim.cdf.dms import values
from plex_cdf.sim.cdf.dms.model import DmsState, Instance, Mapped, key_text
from plex_cdf.sim.cdf.errors import Json, bad_request

Predicate = Callable[[Instance], bool]
Getter = Callable[[Instance], Any]
BASE_FIELDS: dict[str, Getter] = {  # C-level getters: a filter on them costs no Python call per instance
    "externalId": attrgetter("external_id"),
    "space": attrgetter("space"),
    "createdTime": attrgetter("created"),
    "lastUpdatedTime": attrgetter("updated"),
    "version": attrgetter("version"),
    "type": attrgetter("type"),
    "startNode": attrgetter("start"),
    "endNode": attrgetter("end"),
    "deletedTime": attrgetter("deleted"),
}
NOT_SUPPORTED = ("search", "geojsonIntersects", "geojsonDisjoint", "geojsonWithin", "instanceReferences")


class Resolver:
    """Turns property references into getters (and their types) against the current schema."""

    def __init__(self, state: DmsState, parameters: Mapping[str, Any] | None = None) -> None:
        self.state = state
        self.parameters = parameters or {}

    def getter(self, ref: Any, where: str) -> tuple[Getter, Json | None]:
        if not isinstance(ref, list) or not all(isinstance(p, str) for p in ref):
            raise bad_request(f"{where}: a property reference is a list of strings, got {ref!r}")
        if len(ref) == 2 and ref[0] in ("node", "edge", "instance"):
            field = BASE_FIELDS.get(ref[1])
            if field is None:
                raise bad_request(f"{where}: {ref[0]} has no property {ref[1]!r}")
            return field, None
        if len(ref) != 3:
            raise bad_request(f"{where}: expected [space, view/version or container, property], got {ref!r}")
        space, middle, prop = ref
        if "/" in middle:
            xid, version = middle.split("/", 1)
            vkey = (space, xid, version)
            if vkey not in self.state.views:
                raise bad_request(f"{where}: view {key_text(vkey)} does not exist")
            mapped = self.state.resolved(vkey).get(prop)
            if not isinstance(mapped, Mapped):
                raise bad_request(f"{where}: view {key_text(vkey)} has no filterable property {prop!r}")
            ckey, cprop, ptype = mapped.container, mapped.prop, mapped.type
        else:
            ckey = (space, middle)
            container = self.state.containers.get(ckey)
            if container is None or prop not in container["properties"]:
                raise bad_request(f"{where}: container {key_text(ckey)} has no property {prop!r}")
            cprop, ptype = prop, container["properties"][prop]["type"]

        def get(inst: Instance) -> Any:
            data = inst.data.get(ckey)
            return None if data is None else data.get(cprop)

        return get, ptype

    def value(self, raw: Any, ptype: Json | None, where: str) -> Any:
        if isinstance(raw, dict) and set(raw) == {"parameter"}:
            name = raw["parameter"]
            if name not in self.parameters:
                raise bad_request(f"{where}: parameter {name!r} is not given")
            raw = self.parameters[name]
        if ptype is not None and ptype["type"] == "timestamp" and isinstance(raw, str):
            return values.timestamp(raw, where)
        if ptype is not None and ptype["type"] == "direct" and isinstance(raw, dict):
            return values.direct(raw, where)
        if isinstance(raw, dict) and set(raw) == {"space", "externalId"}:
            return values.direct(raw, where)
        return raw


def compile_filter(resolver: Resolver, spec: Any, where: str = "filter") -> Predicate:
    if spec is None:
        return lambda _inst: True
    if not isinstance(spec, dict) or len(spec) != 1:
        raise bad_request(f"{where}: a filter is an object with exactly one operator")
    ((op, arg),) = spec.items()
    here = f"{where}.{op}"
    if op in ("and", "or"):
        if not isinstance(arg, list) or not arg:
            raise bad_request(f"{here}: expected a non-empty list of filters")
        parts = [compile_filter(resolver, f, f"{here}[{n}]") for n, f in enumerate(arg)]
        if op == "and":
            return lambda inst: all(p(inst) for p in parts)
        return lambda inst: any(p(inst) for p in parts)
    if op == "not":
        inner = compile_filter(resolver, arg, here)
        return lambda inst: not inner(inst)
    if op == "matchAll":
        return lambda _inst: True
    if op == "hasData":
        return _has_data(resolver.state, arg, here)
    if op in NOT_SUPPORTED:
        raise bad_request(f"not supported by the local CDF: filter {op}")
    if not isinstance(arg, dict):
        raise bad_request(f"{here}: expected an object")
    if op == "nested":
        return _nested(resolver, arg, here)
    if op == "overlaps":
        return _overlaps(resolver, arg, here)
    get, ptype = resolver.getter(arg.get("property"), f"{here}.property")
    return _leaf(resolver, op, arg, get, ptype, here)


def _leaf(resolver: Resolver, op: str, arg: Json, get: Getter, ptype: Json | None, here: str) -> Predicate:
    match op:
        case "equals":
            target = resolver.value(arg.get("value"), ptype, f"{here}.value")
            return lambda inst: get(inst) == target
        case "in":
            options = _list(resolver, arg.get("values"), ptype, f"{here}.values")
            hashable = [o for o in options if not isinstance(o, dict | list)]
            others = [o for o in options if isinstance(o, dict | list)]
            fast = set(hashable)

            def is_in(inst: Instance) -> bool:
                v = get(inst)
                return v in others if isinstance(v, dict | list) else v is not None and v in fast

            return is_in
        case "range":
            bounds = {
                k: resolver.value(arg[k], ptype, f"{here}.{k}")
                for k in ("gt", "gte", "lt", "lte")
                if k in arg
            }
            if not bounds:
                raise bad_request(f"{here}: give at least one of gt, gte, lt, lte")
            return lambda inst: _in_range(get(inst), bounds)
        case "prefix":
            start = resolver.value(arg.get("value"), ptype, f"{here}.value")

            def has_prefix(inst: Instance) -> bool:
                v = get(inst)
                if isinstance(v, str) and isinstance(start, str):
                    return v.startswith(start)
                return isinstance(v, list) and isinstance(start, list) and v[: len(start)] == start

            return has_prefix
        case "exists":
            return lambda inst: get(inst) is not None
        case "containsAny" | "containsAll":
            wanted = _list(resolver, arg.get("values"), ptype, f"{here}.values")
            check = any if op == "containsAny" else all

            def contains(inst: Instance) -> bool:
                v = get(inst)
                return isinstance(v, list) and check(w in v for w in wanted)

            return contains
    raise bad_request(f"not supported by the local CDF: filter {op}")


def _list(resolver: Resolver, raw: Any, ptype: Json | None, where: str) -> list[Any]:
    if isinstance(raw, dict) and set(raw) == {"parameter"}:
        raw = resolver.value(raw, None, where)
    if not isinstance(raw, list):
        raise bad_request(f"{where}: expected a list")
    return [resolver.value(v, ptype, f"{where}[{n}]") for n, v in enumerate(raw)]


def _in_range(value: Any, bounds: Json) -> bool:
    if value is None or isinstance(value, dict | list):
        return False
    try:
        return (
            ("gt" not in bounds or value > bounds["gt"])
            and ("gte" not in bounds or value >= bounds["gte"])
            and ("lt" not in bounds or value < bounds["lt"])
            and ("lte" not in bounds or value <= bounds["lte"])
        )
    except TypeError:
        return False


def _nested(resolver: Resolver, arg: Json, here: str) -> Predicate:
    get, ptype = resolver.getter(arg.get("scope"), f"{here}.scope")
    if ptype is not None and ptype["type"] != "direct":
        raise bad_request(f"{here}.scope: must be a direct relation property")
    inner = compile_filter(resolver, arg.get("filter"), f"{here}.filter")
    state = resolver.state

    def nested(inst: Instance) -> bool:
        ref = get(inst)
        if not isinstance(ref, dict):
            return False
        target = state.instances.get((ref["space"], ref["externalId"]))
        return target is not None and inner(target)

    return nested


def _overlaps(resolver: Resolver, arg: Json, here: str) -> Predicate:
    start, stype = resolver.getter(arg.get("startProperty"), f"{here}.startProperty")
    end, _ = resolver.getter(arg.get("endProperty"), f"{here}.endProperty")
    bounds = {k: resolver.value(arg[k], stype, f"{here}.{k}") for k in ("gt", "gte", "lt", "lte") if k in arg}

    def overlaps(inst: Instance) -> bool:
        s, e = start(inst), end(inst)
        low_ok = e is None or (
            ("gt" not in bounds or e > bounds["gt"]) and ("gte" not in bounds or e >= bounds["gte"])
        )
        high_ok = s is None or (
            ("lt" not in bounds or s < bounds["lt"]) and ("lte" not in bounds or s <= bounds["lte"])
        )
        return bool(low_ok and high_ok)

    return overlaps


def _has_data(state: DmsState, arg: Any, here: str) -> Predicate:
    if not isinstance(arg, list) or not arg:
        raise bad_request(f"{here}: expected a non-empty list of views or containers")
    required: list[set[tuple[str, str]]] = []
    for n, ref in enumerate(arg):
        if not isinstance(ref, dict):
            raise bad_request(f"{here}[{n}]: expected a view or container reference")
        if ref.get("type") == "container" or ("version" not in ref and ref.get("type") != "view"):
            ckey = (ref.get("space"), ref.get("externalId"))
            if ckey not in state.containers:
                raise bad_request(f"{here}[{n}]: container {ckey[0]}:{ckey[1]} does not exist")
            required.append({(str(ckey[0]), str(ckey[1]))})
        else:
            vkey = state.view_key(ref, f"{here}[{n}]")
            if vkey not in state.views:
                raise bad_request(f"{here}[{n}]: view {key_text(vkey)} does not exist")
            required.append(state.view_containers(vkey))
    return lambda inst: all(need and need <= inst.data.keys() for need in required)


def sort_key(get: Getter, direction: str, nulls_first: bool) -> Callable[[Instance], tuple[Any, ...]]:
    """A key for `sorted`: values of mixed kinds ordered by kind first, nulls where asked."""
    descending = direction == "descending"
    nulls_low = nulls_first != descending

    def key(inst: Instance) -> tuple[Any, ...]:
        v = get(inst)
        if v is None:
            return (0 if nulls_low else 2, 0, "")
        if isinstance(v, bool | int | float):
            return (1, 0, v)
        return (1, 1, str(v))

    return key
