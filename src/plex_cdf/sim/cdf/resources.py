"""Create, retrieve, update, list, delete and count for CDF's classic resources, driven by a spec row.

Every write is all-or-nothing: items are checked first, and only a fully valid request changes the store.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.sim.cdf import advanced, filters, limits, views
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request, duplicated, missing
from plex_cdf.sim.cdf.keys import check_item_keys, check_keys, unsupported
from plex_cdf.sim.cdf.store import Collection, Store, now_ms

MAX_ITEMS = 1000
LIST_DEFAULT_LIMIT = 100
LIST_KEYS = frozenset({"filter", "limit", "cursor", "partition"})
ViewMaker = Callable[[Store, Any], views.View]


@dataclass(frozen=True, slots=True)
class Spec:
    """One classic resource type as data: what a create may carry, an update may change, a list filters."""

    name: str
    limits: limits.Limits
    create_fields: frozenset[str]
    updatable: frozenset[str]
    filters: Mapping[str, filters.FilterCompiler]
    references: Mapping[str, str] = field(default_factory=dict)  # field -> collection it points into
    list_fields: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    create_limit: int = MAX_ITEMS
    public_id: bool = True  # relationships are addressed by external id only
    advanced: advanced.Properties | None = None  # advancedFilter and sort on lists, where CDF has them
    read_options: Mapping[str, ViewMaker] = field(default_factory=dict)  # byids/list keys that shape items
    omit_empty: frozenset[str] = frozenset()  # fields CDF leaves out of answers when empty
    # Fields CDF checks against things this server does not keep (label definitions, security categories,
    # GeoJSON rules): a non-empty value is refused rather than stored unchecked.
    unchecked: frozenset[str] = frozenset()


COMMON_FIELDS = frozenset({"externalId", "description", "metadata", "source", "dataSetId"})

ASSETS = Spec(
    name="assets",
    limits=limits.ASSETS,
    create_fields=COMMON_FIELDS | {"name", "parentId", "parentExternalId", "labels", "geoLocation"},
    updatable=COMMON_FIELDS | {"name", "parentId", "parentExternalId", "labels", "geoLocation"},
    filters=filters.ASSETS,
    references={"dataSetId": "datasets"},
    list_fields=frozenset({"labels"}),
    advanced=advanced.ASSETS,
    read_options={"aggregatedProperties": views.asset_aggregates},
    omit_empty=frozenset({"labels"}),
    unchecked=frozenset({"labels", "geoLocation"}),
)
EVENTS = Spec(
    name="events",
    limits=limits.EVENTS,
    create_fields=COMMON_FIELDS | {"startTime", "endTime", "type", "subtype", "assetIds"},
    updatable=COMMON_FIELDS | {"startTime", "endTime", "type", "subtype", "assetIds"},
    filters=filters.EVENTS,
    references={"dataSetId": "datasets", "assetIds": "assets"},
    list_fields=frozenset({"assetIds"}),
    advanced=advanced.EVENTS,
)
TIME_SERIES = Spec(
    name="timeseries",
    limits=limits.TIME_SERIES,
    create_fields=COMMON_FIELDS
    | {"name", "isString", "isStep", "unit", "unitExternalId", "assetId", "securityCategories", "legacyName"},
    updatable=COMMON_FIELDS - {"source"}
    | {"name", "isStep", "unit", "unitExternalId", "assetId", "securityCategories"},
    filters=filters.TIME_SERIES,
    references={"dataSetId": "datasets", "assetId": "assets"},
    list_fields=frozenset({"securityCategories"}),
    defaults={"isString": False, "isStep": False},
    advanced=advanced.TIME_SERIES,
    unchecked=frozenset({"securityCategories"}),
)
DATA_SETS = Spec(
    name="datasets",
    limits=limits.DATA_SETS,
    create_fields=frozenset({"externalId", "name", "description", "metadata", "writeProtected"}),
    updatable=frozenset({"externalId", "name", "description", "metadata", "writeProtected"}),
    filters=filters.DATA_SETS,
    defaults={"writeProtected": False},
    create_limit=10,
)
RELATIONSHIPS = Spec(
    name="relationships",
    limits=limits.RELATIONSHIPS,
    create_fields=frozenset(
        {
            "externalId",
            "sourceExternalId",
            "sourceType",
            "targetExternalId",
            "targetType",
            "confidence",
            "startTime",
            "endTime",
            "dataSetId",
            "labels",
        }
    ),
    updatable=frozenset(
        {
            "sourceExternalId",
            "sourceType",
            "targetExternalId",
            "targetType",
            "confidence",
            "startTime",
            "endTime",
            "dataSetId",
            "labels",
        }
    ),
    filters=filters.RELATIONSHIPS,
    references={"dataSetId": "datasets"},
    list_fields=frozenset({"labels"}),
    public_id=False,
    read_options={"fetchResources": views.fetch_resources},
    omit_empty=frozenset({"labels"}),
    unchecked=frozenset({"labels"}),
)
EXTPIPE_FIELDS = frozenset(
    {
        "externalId",
        "name",
        "description",
        "dataSetId",
        "rawTables",
        "schedule",
        "contacts",
        "metadata",
        "source",
        "documentation",
        "notificationConfig",
        "createdBy",
    }
)
EXTPIPES = Spec(
    name="extpipes",
    limits=limits.EXTPIPES,
    create_fields=EXTPIPE_FIELDS,
    updatable=EXTPIPE_FIELDS - {"createdBy"},  # who created a pipeline is set once
    filters=filters.EXTPIPES,
    references={"dataSetId": "datasets"},
    list_fields=frozenset({"rawTables", "contacts"}),
    # A new pipeline has seen no run: CDF answers 0 for each, and leaves out an empty metadata.
    defaults={"lastSuccess": 0, "lastFailure": 0, "lastSeen": 0},
    omit_empty=frozenset({"metadata"}),
)
SPECS: Mapping[str, Spec] = {
    s.name: s for s in (ASSETS, EVENTS, TIME_SERIES, DATA_SETS, RELATIONSHIPS, EXTPIPES)
}


def body_items(body: Json, max_items: int = MAX_ITEMS) -> list[Json]:
    """The request's `items`: a non-empty list of objects, at most `max_items` long."""
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise bad_request("items: must be a non-empty list")
    if len(items) > max_items:
        raise bad_request(f"items: size must be between 1 and {max_items}, got {len(items)}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad_request(f"items[{index}]: expected an object")
    return items


def identifier(item: Json, index: int, *, public_id: bool = True) -> Json:
    """`{"id": n}` or `{"externalId": s}` exactly as CDF wants it, else 400."""
    if public_id and isinstance(item.get("id"), int) and "externalId" not in item:
        return {"id": item["id"]}
    if isinstance(item.get("externalId"), str) and "id" not in item:
        return {"externalId": item["externalId"]}
    wanted = "id or externalId" if public_id else "externalId"
    raise bad_request(f"items[{index}]: exactly one of {wanted} is required")


def check_references(store: Store, spec: Spec, items: list[Json]) -> None:
    """Ids that point into other resources must exist: else 400 with every missing id."""
    absent: list[Json] = []
    for item in items:
        for name, target in spec.references.items():
            value = item.get(name)
            values = value if isinstance(value, list) else [] if value is None else [value]
            collection = store.collection(target)
            absent.extend({"id": v} for v in values if collection.resolve({"id": v}) is None)
    if absent:
        raise missing(absent, f"Referenced ids not found ({', '.join(spec.references)})")


def check_new_external_ids(collection: Collection, items: list[Json], skip: set[int] | None = None) -> None:
    """External ids must be unique per resource type: 409 with every clash, in the request or the store."""
    seen: set[str] = set()
    clashes: list[Json] = []
    for item in items:
        xid = item.get("externalId")
        if xid is None:
            continue
        owner = collection.by_external_id.get(xid)
        if xid in seen or (owner is not None and (skip is None or owner not in skip)):
            clashes.append({"externalId": xid})
        seen.add(xid)
    if clashes:
        raise duplicated(clashes)


def validate_new(spec: Spec, items: list[Json]) -> None:
    for index, item in enumerate(items):
        unknown = set(item) - spec.create_fields
        if unknown:
            raise bad_request(f"items[{index}]: unrecognized field(s) {sorted(unknown)}")
        refuse_unchecked(spec, item, f"items[{index}]")
        limits.check_item(spec.limits, item, index)


def refuse_unchecked(spec: Spec, item: Json, where: str) -> None:
    for name in spec.unchecked:
        if item.get(name):
            raise unsupported(f"{where}.{name}")


def create(store: Store, spec: Spec, body: Json) -> Json:
    check_keys(body, {"items"})
    items = body_items(body, spec.create_limit)
    validate_new(spec, items)
    collection = store.collection(spec.name)
    check_new_external_ids(collection, items)
    check_references(store, spec, items)
    created = [stamp_new(store, spec, item) for item in items]
    for item in created:
        collection.put(item["id"], item)
    return {"items": [public(spec, item) for item in created]}


def stamp_new(store: Store, spec: Spec, item: Json) -> Json:
    now = now_ms()
    # The body was parsed for this request alone, so its values are stored without copying.
    return tidy(
        spec,
        {
            **spec.defaults,
            **item,
            "id": store.next_id(),
            "createdTime": now,
            "lastUpdatedTime": now,
        },
    )


def tidy(spec: Spec, item: Json) -> Json:
    """CDF's stored shape: no nulls, no empty `omit_empty` fields, relationship types spelt as CDF does."""
    for name in [k for k, v in item.items() if v is None or (k in spec.omit_empty and not v)]:
        del item[name]
    for name in ("sourceType", "targetType"):
        if isinstance(item.get(name), str):
            item[name] = limits.RELATIONSHIP_TYPES.get(item[name].lower(), item[name])
    return item


def public(spec: Spec, item: Json) -> Json:
    if spec.public_id:
        return item
    return {k: v for k, v in item.items() if k != "id"}


def resolve_all(spec: Spec, collection: Collection, items: list[Json], ignore_unknown: bool) -> list[int]:
    """Internal ids in request order; unknown ones are a 400 listing all of them unless ignored."""
    found: list[int] = []
    absent: list[Json] = []
    for index, item in enumerate(items):
        ident = identifier(item, index, public_id=spec.public_id)
        internal = collection.resolve(ident)
        if internal is None:
            absent.append(ident)
        else:
            found.append(internal)
    if absent and not ignore_unknown:
        raise missing(absent)
    return found


def identifier_keys(spec: Spec) -> frozenset[str]:
    return frozenset({"id", "externalId"} if spec.public_id else {"externalId"})


def read_view(store: Store, spec: Spec, body: Json) -> views.View:
    """Stored item -> answered item, with what the request's read options (e.g. fetchResources) add."""
    shaping = [make(store, body[key]) for key, make in spec.read_options.items() if body.get(key) is not None]

    def view(item: Json) -> Json:
        out = public(spec, item)
        for shape in shaping:
            out = shape(out)
        return out

    return view


def by_ids(store: Store, spec: Spec, body: Json) -> Json:
    check_keys(body, {"items", "ignoreUnknownIds", *spec.read_options})
    items = body_items(body)
    check_item_keys(items, identifier_keys(spec))
    collection = store.collection(spec.name)
    ids = resolve_all(spec, collection, items, bool(body.get("ignoreUnknownIds")))
    refuse_repeats(items)
    view = read_view(store, spec, body)
    return {"items": [view(collection.items[i]) for i in ids]}


def refuse_repeats(items: list[Json]) -> None:
    """The same identifier twice in one byids is a 400 listing the repeats, as CDF answers."""
    seen: set[tuple[str, Any]] = set()
    repeats: list[Json] = []
    for item in items:
        key = next(iter(sorted(item.items())))
        if key in seen:
            repeats.append(dict([key]))
        seen.add(key)
    if repeats:
        raise CdfError(400, "Duplicate identifiers in one request", duplicated=repeats)


def retrieve_one(store: Store, spec: Spec, raw_id: str) -> Json:
    """`GET /{resource}/{id}`: one item by internal id."""
    if not raw_id.isdigit():
        raise bad_request(f"id: expected an integer, got {raw_id[:40]!r}")
    collection = store.collection(spec.name)
    item = collection.items.get(int(raw_id))
    if item is None:
        raise missing([{"id": int(raw_id)}])
    return public(spec, item)


def stage_updates(store: Store, spec: Spec, body: Json) -> list[tuple[Json, Json]]:
    """(old, new) per item, validated but not yet stored."""
    check_keys(body, {"items"})
    items = body_items(body)
    check_item_keys(items, identifier_keys(spec) | {"update"})
    collection = store.collection(spec.name)
    ids = resolve_all(spec, collection, items, ignore_unknown=False)
    if len(set(ids)) != len(ids):
        raise bad_request("items: the same object appears more than once in one update")
    staged: list[tuple[Json, Json]] = []
    for index, (internal, item) in enumerate(zip(ids, items, strict=True)):
        old = collection.items[internal]
        new = apply_update(spec, old, item.get("update"), index)
        refuse_unchecked(spec, new, f"items[{index}].update")
        limits.check_item(spec.limits, new, index)
        staged.append((old, new))
    check_new_external_ids(collection, [n for o, n in staged if n.get("externalId") != o.get("externalId")])
    check_references(store, spec, [n for _, n in staged])
    return staged


def commit_updates(store: Store, spec: Spec, staged: list[tuple[Json, Json]]) -> Json:
    collection = store.collection(spec.name)
    now = now_ms()
    for _, new in staged:
        new["lastUpdatedTime"] = now
        collection.put(new["id"], tidy(spec, new))
    return {"items": [public(spec, new) for _, new in staged]}


def update(store: Store, spec: Spec, body: Json) -> Json:
    return commit_updates(store, spec, stage_updates(store, spec, body))


def apply_update(spec: Spec, old: Json, changes: Any, index: int) -> Json:
    if not isinstance(changes, dict):
        raise bad_request(f"items[{index}].update: expected an object")
    new = dict(old)
    for name, op in changes.items():
        where = f"items[{index}].update.{name}"
        if name not in spec.updatable:
            raise bad_request(f"{where}: field is not updatable")
        if not isinstance(op, dict) or len(op) == 0:
            raise bad_request(f"{where}: expected one of set, setNull, add, remove")
        _apply_op(spec, new, name, op, where)
    return new


def _apply_op(spec: Spec, item: Json, name: str, op: Json, where: str) -> None:
    if len(op) > 1 and not set(op) <= {"add", "remove"}:
        raise bad_request(f"{where}: set and setNull each stand alone (add and remove may go together)")
    if "set" in op:
        value = op["set"]
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    elif "setNull" in op:
        if op["setNull"] is not True:
            raise bad_request(f"{where}.setNull: must be true")
        if name in spec.limits.required:
            raise bad_request(f"{where}: may not be null")
        item.pop(name, None)
    elif "add" in op or "remove" in op:
        item[name] = _add_remove(spec, item.get(name), name, op, where)
    else:
        raise bad_request(f"{where}: expected one of set, setNull, add, remove")


def _add_remove(spec: Spec, current: Any, name: str, op: Json, where: str) -> Any:
    add, remove = op.get("add"), op.get("remove") or []
    if name == "metadata":
        merged = {k: v for k, v in (current or {}).items() if k not in set(remove)}
        merged.update(add or {})
        return merged
    if name in spec.list_fields:
        kept = [v for v in (current or []) if v not in remove]
        return kept + [v for v in (add or []) if v not in kept]
    raise bad_request(f"{where}: add/remove only apply to metadata and list fields")


def encode_cursor(after: int, tag: str = "after") -> str:
    return base64.urlsafe_b64encode(f"{tag}:{after}".encode()).decode()


def decode_cursor(cursor: Any, expected: str = "after") -> int:
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        tag, value = text.split(":", 1)
        if tag != expected:
            raise ValueError(tag)
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"cursor: {str(cursor)[:40]!r} is not a cursor this server handed out") from exc


def list_limit(body: Json, maximum: int = MAX_ITEMS) -> int:
    limit = body.get("limit", LIST_DEFAULT_LIMIT)
    if limit is None:
        return LIST_DEFAULT_LIMIT
    if not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise bad_request(f"limit: must be between 1 and {maximum}, got {limit!r}")
    return limit


def partition_predicate(partition: Any) -> Callable[[int], bool]:
    """`"m/n"`: the m-th of n disjoint slices of the ids, as the SDK's partitioned reads ask."""
    if partition is None:
        return lambda _id: True
    try:
        m, n = (int(p) for p in str(partition).split("/"))
    except ValueError as exc:
        raise bad_request(f"partition: {partition!r} is not of the form m/n") from exc
    if not 1 <= m <= n:
        raise bad_request(f"partition: {partition!r} is out of range")
    return lambda internal: internal % n == m - 1


def query_keys(spec: Spec) -> frozenset[str]:
    return frozenset({"advancedFilter"} if spec.advanced is not None else ())


def item_filter(store: Store, spec: Spec, body: Json) -> filters.Predicate:
    """The classic `filter` and, where CDF has it, the `advancedFilter`: both must match."""
    match = filters.compile_filter(spec.filters, store, body.get("filter"))
    if spec.advanced is None or body.get("advancedFilter") is None:
        return match
    also = advanced.compile_filter(spec.advanced, body["advancedFilter"])
    return lambda item: match(item) and also(item)


def list_items(store: Store, spec: Spec, body: Json) -> Json:
    sort = {"sort"} if spec.advanced is not None else set()
    check_keys(body, LIST_KEYS | query_keys(spec) | sort | set(spec.read_options))
    collection = store.collection(spec.name)
    match = item_filter(store, spec, body)
    limit = list_limit(body)
    view = read_view(store, spec, body)
    if spec.advanced is not None and body.get("sort") is not None:
        if body.get("partition") is not None:
            raise bad_request("sort: may not be combined with partition")
        return sorted_page(collection, advanced.sort_key(spec.advanced, body["sort"]), match, body, view)
    in_partition = partition_predicate(body.get("partition"))
    after = decode_cursor(body["cursor"]) if body.get("cursor") else 0
    page: list[Json] = []
    for internal in collection.ids_after(after):
        item = collection.items[internal]
        if in_partition(internal) and match(item):
            if len(page) == limit:
                return {"items": page, "nextCursor": encode_cursor(page_last_id(page, collection))}
            page.append(view(item))
    return {"items": page}


def sorted_page(
    collection: Collection,
    arrange: Callable[[list[Json]], list[Json]],
    match: filters.Predicate,
    body: Json,
    view: views.View,
) -> Json:
    """One page of the sorted matches; the cursor is the offset of the next page."""
    ordered = arrange([item for item in collection.items.values() if match(item)])
    start = decode_cursor(body["cursor"], "offset") if body.get("cursor") else 0
    end = start + list_limit(body)
    answer: Json = {"items": [view(item) for item in ordered[start:end]]}
    if end < len(ordered):
        answer["nextCursor"] = encode_cursor(end, "offset")
    return answer


def page_last_id(page: list[Json], collection: Collection) -> int:
    last = page[-1]
    if "id" in last:
        return int(last["id"])
    return collection.by_external_id[last["externalId"]]


def aggregate(store: Store, spec: Spec, body: Json) -> Json:
    check_keys(body, {"aggregate", "filter"} | query_keys(spec))
    kind = body.get("aggregate", "count")
    if kind != "count":
        raise unsupported(f"aggregate {kind!r}")
    match = item_filter(store, spec, body)
    collection = store.collection(spec.name)
    return {"items": [{"count": sum(1 for item in collection.items.values() if match(item))}]}


def delete(store: Store, spec: Spec, body: Json) -> Json:
    check_keys(body, {"items", "ignoreUnknownIds"})
    items = body_items(body)
    check_item_keys(items, identifier_keys(spec))
    collection = store.collection(spec.name)
    for internal in set(resolve_all(spec, collection, items, bool(body.get("ignoreUnknownIds")))):
        collection.remove(internal)
        if spec is TIME_SERIES:
            store.datapoints.pop(internal, None)
    return {}
