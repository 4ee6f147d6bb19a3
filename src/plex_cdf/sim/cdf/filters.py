"""List filters as data: each filter key compiles, against the store, into a predicate over stored items."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.keys import check_keys, unsupported
from plex_cdf.sim.cdf.limits import RELATIONSHIP_TYPES
from plex_cdf.sim.cdf.store import Collection, Store

Predicate = Callable[[Json], bool]
FilterCompiler = Callable[[Store, Any], Predicate]


def equals(field: str) -> FilterCompiler:
    return lambda _store, value: lambda item: item.get(field) == value


def prefix(field: str) -> FilterCompiler:
    def compile_(_store: Store, value: Any) -> Predicate:
        return lambda item: isinstance(item.get(field), str) and item[field].startswith(value)

    return compile_


def time_range(field: str) -> FilterCompiler:
    """`{"min": ms, "max": ms}`, both inclusive, either optional; items without the field never match."""

    def compile_(_store: Store, value: Any) -> Predicate:
        if not isinstance(value, dict):
            raise bad_request(f"filter.{field}: expected an object with min and/or max")
        check_keys(value, ("min", "max"), f"filter.{field}.")
        low, high = value.get("min"), value.get("max")

        def match(item: Json) -> bool:
            got = item.get(field)
            return got is not None and (low is None or got >= low) and (high is None or got <= high)

        return match

    return compile_


def metadata(_store: Store, value: Any) -> Predicate:
    if not isinstance(value, dict):
        raise bad_request("filter.metadata: expected an object of string values")
    pairs = value.items()
    return lambda item: all((item.get("metadata") or {}).get(k) == v for k, v in pairs)


def _resolve_ids(collection: Collection, idents: Any, field: str) -> set[int]:
    if not isinstance(idents, list):
        raise bad_request(f"filter.{field}: expected a list")
    resolved: set[int] = set()
    for ident in idents:
        ident = ident if isinstance(ident, dict) else {"id": ident}
        internal = collection.resolve(ident)
        if internal is not None:
            resolved.add(internal)
    return resolved


def id_in(field: str, collection_name: str, *, as_external_ids: bool = False) -> FilterCompiler:
    """The item's `field` (an internal id) is one of the listed ids (`[{id}|{externalId}]` or ints)."""

    def compile_(store: Store, value: Any) -> Predicate:
        collection = store.collection(collection_name)
        if as_external_ids and isinstance(value, list):
            value = [{"externalId": xid} for xid in value]
        wanted = _resolve_ids(collection, value, field)
        return lambda item: item.get(field) in wanted

    return compile_


def any_id_in(field: str, collection_name: str, *, as_external_ids: bool = False) -> FilterCompiler:
    """The item's list `field` shares at least one id with the listed ones (events' `assetIds`)."""

    def compile_(store: Store, value: Any) -> Predicate:
        collection = store.collection(collection_name)
        if as_external_ids and isinstance(value, list):
            value = [{"externalId": xid} for xid in value]
        wanted = _resolve_ids(collection, value, field)
        return lambda item: not wanted.isdisjoint(item.get(field) or ())

    return compile_


def in_subtrees(field: str, *, many: bool = False) -> FilterCompiler:
    """The item (or the asset its `field` names) sits in one of the listed assets' subtrees."""

    def compile_(store: Store, value: Any) -> Predicate:
        inside = _subtree_ids(store.assets, _resolve_ids(store.assets, value, "assetSubtreeIds"))
        if many:
            return lambda item: not inside.isdisjoint(item.get(field) or ())
        return lambda item: item.get(field) in inside

    return compile_


def _subtree_ids(assets: Collection, tops: set[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for internal, item in assets.items.items():
        if item.get("parentId") is not None:
            children.setdefault(item["parentId"], []).append(internal)
    inside: set[int] = set()
    pending = list(tops)
    while pending:
        internal = pending.pop()
        if internal not in inside:
            inside.add(internal)
            pending.extend(children.get(internal, ()))
    return inside


def active_at(_store: Store, value: Any) -> Predicate:
    """Events that overlap `{"min", "max"}`: started by max and not ended before min (open ends count)."""
    if not isinstance(value, dict):
        raise bad_request("filter.activeAtTime: expected an object with min and/or max")
    check_keys(value, ("min", "max"), "filter.activeAtTime.")
    low, high = value.get("min"), value.get("max")

    def match(item: Json) -> bool:
        start, end = item.get("startTime"), item.get("endTime")
        started = high is None or (start is not None and start <= high)
        return started and (low is None or end is None or end >= low)

    return match


def labels(_store: Store, value: Any) -> Predicate:
    """`{"containsAny": [{"externalId"}]}` or `{"containsAll": [...]}` over the item's labels."""
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or next(iter(value)) not in ("containsAny", "containsAll")
    ):
        raise bad_request("filter.labels: expected containsAny or containsAll")
    mode, wanted_list = next(iter(value.items()))
    wanted = {label.get("externalId") for label in wanted_list}

    def match(item: Json) -> bool:
        present = {label.get("externalId") for label in item.get("labels") or ()}
        return bool(wanted & present) if mode == "containsAny" else wanted <= present

    return match


def one_of(field: str) -> FilterCompiler:
    return lambda _store, value: lambda item: item.get(field) in set(value)


def type_in(field: str) -> FilterCompiler:
    """Relationship end types, matched in CDF's spelling whatever the case they are asked in."""

    def compile_(_store: Store, value: Any) -> Predicate:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad_request(f"filter.{field}s: expected a list of strings")
        wanted = {RELATIONSHIP_TYPES.get(v.lower(), v) for v in value}
        return lambda item: item.get(field) in wanted

    return compile_


COMMON: Mapping[str, FilterCompiler] = {
    "externalIdPrefix": prefix("externalId"),
    "metadata": metadata,
    "source": equals("source"),
    "dataSetIds": id_in("dataSetId", "datasets"),
    "createdTime": time_range("createdTime"),
    "lastUpdatedTime": time_range("lastUpdatedTime"),
}

ASSETS: Mapping[str, FilterCompiler] = {
    **COMMON,
    "name": equals("name"),
    "parentIds": id_in("parentId", "assets"),
    "parentExternalIds": id_in("parentId", "assets", as_external_ids=True),
    "rootIds": id_in("rootId", "assets"),
    "root": lambda _store, value: lambda item: (item["rootId"] == item["id"]) == bool(value),
    "assetSubtreeIds": in_subtrees("id"),
    "labels": labels,
}

EVENTS: Mapping[str, FilterCompiler] = {
    **COMMON,
    "type": equals("type"),
    "subtype": equals("subtype"),
    "startTime": time_range("startTime"),
    "endTime": time_range("endTime"),
    "assetIds": any_id_in("assetIds", "assets"),
    "assetExternalIds": any_id_in("assetIds", "assets", as_external_ids=True),
    "assetSubtreeIds": in_subtrees("assetIds", many=True),
    "activeAtTime": active_at,
}

TIME_SERIES: Mapping[str, FilterCompiler] = {
    **COMMON,
    "name": equals("name"),
    "unit": equals("unit"),
    "unitExternalId": equals("unitExternalId"),
    "isString": equals("isString"),
    "isStep": equals("isStep"),
    "assetIds": id_in("assetId", "assets"),
    "assetExternalIds": id_in("assetId", "assets", as_external_ids=True),
    "assetSubtreeIds": in_subtrees("assetId"),
}

DATA_SETS: Mapping[str, FilterCompiler] = {
    **{k: v for k, v in COMMON.items() if k not in ("source", "dataSetIds")},
    "writeProtected": equals("writeProtected"),
}

RELATIONSHIPS: Mapping[str, FilterCompiler] = {
    "externalIdPrefix": prefix("externalId"),
    "sourceExternalIds": one_of("sourceExternalId"),
    "targetExternalIds": one_of("targetExternalId"),
    "sourceTypes": type_in("sourceType"),
    "targetTypes": type_in("targetType"),
    "confidence": time_range("confidence"),
    "dataSetIds": id_in("dataSetId", "datasets"),
    "startTime": time_range("startTime"),
    "endTime": time_range("endTime"),
    "activeAtTime": active_at,
    "labels": labels,
    "createdTime": time_range("createdTime"),
    "lastUpdatedTime": time_range("lastUpdatedTime"),
}

EXTPIPES: Mapping[str, FilterCompiler] = {
    "externalIdPrefix": prefix("externalId"),
    "dataSetIds": id_in("dataSetId", "datasets"),
}


def compile_filter(compilers: Mapping[str, FilterCompiler], store: Store, body_filter: Any) -> Predicate:
    """All given filters must match; an unknown key is a 400 naming it, as CDF answers."""
    if body_filter is None:
        return lambda _item: True
    if not isinstance(body_filter, dict):
        raise bad_request("filter: expected an object")
    predicates: list[Predicate] = []
    for key, value in body_filter.items():
        compiler = compilers.get(key)
        if compiler is None:
            raise unsupported(f"filter.{key}")
        if value is not None:
            predicates.append(compiler(store, value))
    return lambda item: all(p(item) for p in predicates)
