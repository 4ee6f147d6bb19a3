"""Spaces, containers, views and data models: apply (create or update), list, byids and delete.

Limits and update rules follow CDF's DMS documentation: at most 100 items per write, identifiers matching
CDF's patterns, system spaces read-only; a container keeps its properties' types and may not drop a
property; a view version's properties and parents are fixed once created (change them in a new version).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from plex_cdf.sim.cdf.dms import values
from plex_cdf.sim.cdf.dms.model import (
    EDGE_CONNECTIONS,
    REVERSE_RELATIONS,
    ContainerKey,
    DmsState,
    Mapped,
    ViewKey,
    key_text,
)
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request
from plex_cdf.sim.cdf.keys import check_keys
from plex_cdf.sim.cdf.resources import body_items
from plex_cdf.sim.cdf.store import now_ms

MAX_WRITE = 100
MAX_LIST = 1000
DEFAULT_LIST = 10
SPACE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,41}[a-zA-Z0-9]?$")
XID_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_]{0,253}[a-zA-Z0-9])?$")
VERSION_RE = re.compile(r"^[a-zA-Z0-9]([.a-zA-Z0-9_-]{0,41}[a-zA-Z0-9])?$")
PROPERTY_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,253}[a-zA-Z0-9]?$")
RESERVED_SPACES = frozenset({"space", "cdf", "dms", "pg3", "shared", "system", "node", "edge"})
RESERVED_XIDS = frozenset(
    {"Query", "Mutation", "Subscription", "String", "Int32", "Int64", "Int", "Float32", "Float64", "Float"}
    | {"Timestamp", "JSONObject", "Date", "Boolean", "PageInfo", "File", "Sequence", "TimeSeries"}
)
RESERVED_PROPERTIES = frozenset(
    {"space", "externalId", "createdTime", "lastUpdatedTime", "deletedTime", "edge_id", "node_id"}
    | {"project_id", "property_group", "seq", "tg_table_name", "extensions"}
)
TYPES = frozenset(
    {"text", "int32", "int64", "float32", "float64", "boolean", "timestamp", "date", "json", "direct"}
    | {"enum", "timeseries", "file", "sequence"}
)
USED_FOR = ("node", "edge", "all")
MAX_PROPERTIES = 100
TEXT_SIZES = {"name": 255, "description": 1024}
CONTAINER_PROPERTY_FIELDS = (
    "type",
    "nullable",
    "autoIncrement",
    "immutable",
    "defaultValue",
    "name",
    "description",
    "constraintState",
)


def _items(body: Json, maximum: int = MAX_WRITE) -> list[Json]:
    return body_items(body, maximum)


def _only(item: Json, allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise bad_request(f"{where}: unknown field(s) {', '.join(unknown)}")


def _text(item: Json, name: str, where: str, pattern: re.Pattern[str]) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        raise bad_request(f"{where}.{name}: {value!r} is not a valid {name} (pattern {pattern.pattern})")
    return value


def _writable_space(state: DmsState, space: str, where: str) -> None:
    if state.is_system(space):
        raise bad_request(f"{where}: space {space!r} is a system space and cannot be written to")
    if space not in state.spaces:
        raise bad_request(f"One or more spaces do not exist: {space} ({where})")


def _sizes(item: Json) -> None:
    """CDF's size limits on names and descriptions, in its own wording for constraint violations."""
    for name, most in TEXT_SIZES.items():
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > most):
            raise bad_request(
                "Request had 1 constraint violations. Please fix the request and try again. "
                f"[{name} size must be between 0 and {most}]"
            )


def _stamp(old: Json | None, new: Json) -> Json:
    now = now_ms()
    new["createdTime"] = old["createdTime"] if old else now
    new["lastUpdatedTime"] = now
    new["isGlobal"] = False
    return new


# Listing ----------------------------------------------------------------------------------------------


def _limit(params: Mapping[str, Any], default: int = DEFAULT_LIST, maximum: int = MAX_LIST) -> int:
    raw = params.get("limit", default)
    try:
        limit = int(raw)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"limit: expected an integer, got {raw!r}") from exc
    if not 1 <= limit <= maximum:
        raise bad_request(f"limit: must be between 1 and {maximum}, got {limit}")
    return limit


def _flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false", "True", "False"):
        return str(raw).lower() == "true"
    raise bad_request(f"{name}: expected true or false, got {raw!r}")


def page(rows: list[Json], params: Mapping[str, Any]) -> Json:
    """One page of `rows` with an offset cursor, as the schema list endpoints answer."""
    limit = _limit(params)
    start = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(str(cursor).encode()).decode().removeprefix("o:"))
        except ValueError as exc:
            raise bad_request(f"cursor: {str(cursor)[:40]!r} is not a cursor of this list") from exc
    answer: Json = {"items": rows[start : start + limit]}
    if start + limit < len(rows):
        answer["nextCursor"] = base64.urlsafe_b64encode(f"o:{start + limit}".encode()).decode()
    return answer


def _visible(item: Json, params: Mapping[str, Any]) -> bool:
    if "space" in params and item["space"] != params["space"]:
        return False
    if "usedFor" in params and item.get("usedFor", "node") not in str(params["usedFor"]).split(","):
        return False
    return _flag(params, "includeGlobal", False) or not item.get("isGlobal")


# Spaces -----------------------------------------------------------------------------------------------


def apply_spaces(state: DmsState, body: Json) -> Json:
    items = _items(body)
    for index, item in enumerate(items):
        where = f"items[{index}]"
        _only(item, ("space", "name", "description"), where)
        _sizes(item)
        space = _text(item, "space", where, SPACE_RE)
        if space in RESERVED_SPACES or space.startswith("cdf"):
            raise bad_request(f"{where}.space: {space!r} is reserved")
    out = []
    for item in items:
        old = state.spaces.get(item["space"])
        new = {"space": item["space"], "name": item.get("name"), "description": item.get("description")}
        state.spaces[item["space"]] = _stamp(old, new)
        out.append(dict(state.spaces[item["space"]]))
    return {"items": out}


LIST_PARAMS = frozenset({"limit", "cursor", "includeGlobal"})


def list_spaces(state: DmsState, params: Mapping[str, Any]) -> Json:
    check_keys(params, LIST_PARAMS, "query parameter ")
    rows = [
        dict(s) for s in state.spaces.values() if _flag(params, "includeGlobal", False) or not s["isGlobal"]
    ]
    return page(rows, params)


def _space_ids(body: Json) -> list[str]:
    check_keys(body, {"items"})
    out = []
    for index, item in enumerate(_items(body)):
        if not isinstance(item.get("space"), str):
            raise bad_request(f"items[{index}].space: required")
        out.append(item["space"])
    return out


def spaces_by_ids(state: DmsState, body: Json) -> Json:
    return {"items": [dict(state.spaces[s]) for s in _space_ids(body) if s in state.spaces]}


def delete_spaces(state: DmsState, body: Json) -> Json:
    spaces = _space_ids(body)
    for space in spaces:
        if state.is_system(space):
            raise bad_request(f"space {space!r} is a system space and cannot be deleted")
        if space in state.spaces and _space_used(state, space):
            raise bad_request(f"space {space!r} is not empty: delete its instances, views, containers first")
    gone = [s for s in spaces if state.spaces.pop(s, None) is not None]
    return {"items": [{"space": s} for s in gone]}


def _space_used(state: DmsState, space: str) -> bool:
    return any(k[0] == space for k in (*state.containers, *state.views, *state.data_models, *state.instances))


# Containers -------------------------------------------------------------------------------------------


def apply_containers(state: DmsState, body: Json) -> Json:
    items = _items(body)
    checked = [_check_container(state, item, f"items[{i}]") for i, item in enumerate(items)]
    out = []
    for key, new in checked:
        state.containers[key] = _stamp(state.containers.get(key), new)
        out.append(dict(state.containers[key]))
    state.schema_changed()
    return {"items": out}


def _check_container(state: DmsState, item: Json, where: str) -> tuple[ContainerKey, Json]:
    _only(
        item,
        ("space", "externalId", "name", "description", "usedFor", "properties", "constraints", "indexes"),
        where,
    )
    _sizes(item)
    space = _text(item, "space", where, SPACE_RE)
    _writable_space(state, space, where)
    xid = _text(item, "externalId", where, XID_RE)
    if xid in RESERVED_XIDS:
        raise bad_request(f"{where}.externalId: {xid!r} is reserved")
    used_for = item.get("usedFor", "node")
    if used_for not in USED_FOR:
        raise bad_request(f"{where}.usedFor: must be one of node, edge, all")
    props = item.get("properties")
    if not isinstance(props, dict) or not props:
        raise bad_request(f"{where}.properties: must be a non-empty object")
    if len(props) > MAX_PROPERTIES:
        raise bad_request(f"{where}.properties: at most {MAX_PROPERTIES} properties per container")
    checked = {
        name: _check_container_property(name, spec, f"{where}.properties.{name}")
        for name, spec in props.items()
    }
    old = state.containers.get((space, xid))
    if old is not None:
        if old["usedFor"] != used_for:
            raise bad_request(f"{where}.usedFor: cannot change usedFor of an existing container")
        for name, spec in old["properties"].items():
            if name not in checked:
                raise bad_request(
                    f"{where}.properties: cannot remove property {name!r} from an existing container"
                )
            if checked[name]["type"] != spec["type"]:
                raise bad_request(
                    f"{where}.properties.{name}: cannot change the type of an existing property"
                )
            if spec["nullable"] and not checked[name]["nullable"]:
                raise bad_request(f"{where}.properties.{name}: cannot make a nullable property required")
    for kind in ("constraints", "indexes"):
        if item.get(kind) not in (None, {}) and not isinstance(item.get(kind), dict):
            raise bad_request(f"{where}.{kind}: expected an object")
    new = {
        "space": space,
        "externalId": xid,
        "name": item.get("name"),
        "description": item.get("description"),
        "usedFor": used_for,
        "properties": checked,
        "constraints": item.get("constraints") or {},
        "indexes": item.get("indexes") or {},
    }
    return (space, xid), new


def _check_container_property(name: str, spec: Any, where: str) -> Json:
    if not PROPERTY_RE.match(name) or name in RESERVED_PROPERTIES:
        raise bad_request(f"{where}: {name!r} is not an allowed property identifier")
    if not isinstance(spec, dict):
        raise bad_request(f"{where}: expected an object")
    _only(spec, CONTAINER_PROPERTY_FIELDS, where)
    ptype = spec.get("type")
    if not isinstance(ptype, dict) or ptype.get("type") not in TYPES:
        raise bad_request(f"{where}.type: must name one of {', '.join(sorted(TYPES))}")
    kind = ptype["type"]
    clean: Json = {"type": kind}
    if kind == "enum":
        values = ptype.get("values")
        if not isinstance(values, dict) or not values or len(values) > 32:
            raise bad_request(f"{where}.type.values: an enum needs 1 to 32 values")
        clean["values"] = {k: v or {} for k, v in values.items()}
        if ptype.get("unknownValue") is not None:
            clean["unknownValue"] = ptype["unknownValue"]
    else:
        clean["list"] = bool(ptype.get("list", False))
        if ptype.get("maxListSize") is not None:
            if not clean["list"]:
                raise bad_request(f"{where}.type.maxListSize: only list properties have a maximum list size")
            clean["maxListSize"] = ptype["maxListSize"]
        if kind == "text":
            clean["collation"] = ptype.get("collation", "ucs_basic")
            if ptype.get("maxTextSize") is not None:
                clean["maxTextSize"] = ptype["maxTextSize"]
        if kind == "direct" and ptype.get("container") is not None:
            clean["container"] = ptype["container"]
        if kind in ("int32", "int64", "float32", "float64") and ptype.get("unit") is not None:
            clean["unit"] = ptype["unit"]
    out: Json = {
        "type": clean,
        "nullable": bool(spec.get("nullable", True)),
        "autoIncrement": bool(spec.get("autoIncrement", False)),
        "immutable": bool(spec.get("immutable", False)),
        "constraintState": {},
    }
    for key in ("defaultValue", "name", "description"):
        if spec.get(key) is not None:
            out[key] = spec[key]
    return out


def _container_ids(body: Json) -> list[ContainerKey]:
    check_keys(body, {"items"})
    out = []
    for index, item in enumerate(_items(body, MAX_LIST)):
        if not isinstance(item.get("space"), str) or not isinstance(item.get("externalId"), str):
            raise bad_request(f"items[{index}]: space and externalId are required")
        out.append((item["space"], item["externalId"]))
    return out


def list_containers(state: DmsState, params: Mapping[str, Any]) -> Json:
    check_keys(params, LIST_PARAMS | {"space", "usedFor"}, "query parameter ")
    return page([dict(c) for c in state.containers.values() if _visible(c, params)], params)


def containers_by_ids(state: DmsState, body: Json) -> Json:
    return {"items": [dict(state.containers[k]) for k in _container_ids(body) if k in state.containers]}


def delete_containers(state: DmsState, body: Json) -> Json:
    keys = _container_ids(body)
    for key in keys:
        if state.is_system(key[0]):
            raise bad_request(f"container {key_text(key)} is a system container and cannot be deleted")
        users = [key_text(v) for v in state.views if key in _mapped(state.views[v])]
        if key in state.containers and users:
            raise bad_request(f"container {key_text(key)} is used by view(s) {', '.join(users)}")
    gone = [k for k in keys if state.containers.pop(k, None) is not None]
    for inst in state.instances.values():
        for key in gone:
            inst.data.pop(key, None)
    state.schema_changed()
    return {"items": [{"space": k[0], "externalId": k[1]} for k in gone]}


def _mapped(view: Json) -> set[ContainerKey]:
    return {
        (p["container"]["space"], p["container"]["externalId"])
        for p in (view.get("properties") or {}).values()
        if "container" in p
    }


# Views ------------------------------------------------------------------------------------------------

EDGE_CONNECTION_FIELDS = (
    "connectionType",
    "type",
    "source",
    "direction",
    "edgeSource",
    "name",
    "description",
)
VIEW_FIELDS = ("space", "externalId", "version", "name", "description", "filter", "implements", "properties")


def apply_views(state: DmsState, body: Json) -> Json:
    items = _items(body)
    keys = []
    for index, item in enumerate(items):
        keys.append(_put_view(state, item, f"items[{index}]", {_view_id(i) for i in items}))
    state.schema_changed()
    try:
        for key in keys:
            state.resolved(key)
    except CdfError:
        raise
    return {"items": [read_view(state, key, True) for key in keys]}


DATA_MODEL_FIELDS = ("space", "externalId", "version", "name", "description", "views")


def _versioned_identity(state: DmsState, item: Json, where: str, fields: tuple[str, ...]) -> ViewKey:
    """(space, externalId, version) of a view or data model to write, checked as CDF does."""
    _only(item, fields, where)
    _sizes(item)
    space = _text(item, "space", where, SPACE_RE)
    _writable_space(state, space, where)
    return space, _text(item, "externalId", where, XID_RE), _text(item, "version", where, VERSION_RE)


def _view_id(item: Json) -> tuple[Any, Any, Any]:
    return (item.get("space"), item.get("externalId"), item.get("version"))


def _put_view(state: DmsState, item: Json, where: str, batch: set[tuple[Any, Any, Any]]) -> ViewKey:
    space, xid, version = _versioned_identity(state, item, where, VIEW_FIELDS)
    implements = []
    for n, parent in enumerate(item.get("implements") or []):
        pkey = state.view_key(parent, f"{where}.implements[{n}]")
        if pkey not in state.views and pkey not in batch:
            raise bad_request(f"{where}.implements[{n}]: view {key_text(pkey)} does not exist")
        implements.append({"type": "view", "space": pkey[0], "externalId": pkey[1], "version": pkey[2]})
    props = item.get("properties") or {}
    if not isinstance(props, dict):
        raise bad_request(f"{where}.properties: expected an object")
    clean = {
        name: _check_view_property(state, name, spec, f"{where}.properties.{name}", batch)
        for name, spec in props.items()
    }
    key = (space, xid, version)
    old = state.views.get(key)
    if old is not None and (
        old["properties"] != clean
        or old["implements"] != implements
        or old.get("filter") != item.get("filter")
    ):
        raise bad_request(
            f"{where}: view {key_text(key)} already exists with other properties, parents or filter; "
            "publish the change as a new version"
        )
    state.views[key] = _stamp(
        old,
        {
            "space": space,
            "externalId": xid,
            "version": version,
            "name": item.get("name"),
            "description": item.get("description"),
            "filter": item.get("filter"),
            "implements": implements,
            "properties": clean,
        },
    )
    return key


def _check_view_property(
    state: DmsState, name: str, spec: Any, where: str, batch: set[tuple[Any, Any, Any]]
) -> Json:
    if not PROPERTY_RE.match(name) or name in RESERVED_PROPERTIES:
        raise bad_request(f"{where}: {name!r} is not an allowed property identifier")
    if not isinstance(spec, dict):
        raise bad_request(f"{where}: expected an object")
    if "connectionType" in spec:
        kind = spec["connectionType"]
        if kind in EDGE_CONNECTIONS:
            return _check_edge_connection(state, spec, where, batch)
        if kind not in REVERSE_RELATIONS:
            allowed = ", ".join((*EDGE_CONNECTIONS, *REVERSE_RELATIONS))
            raise bad_request(f"{where}.connectionType: {kind!r} is not one of {allowed}")
        _only(spec, ("connectionType", "source", "through", "name", "description"), where)
        _sizes(spec)
        state.view_key(spec.get("source"), f"{where}.source")
        through = spec.get("through")
        if not isinstance(through, dict) or not isinstance(through.get("identifier"), str):
            raise bad_request(f"{where}.through: expected {{source, identifier}}")
        state.view_key(through.get("source"), f"{where}.through.source")
        return {
            k: spec[k] for k in ("connectionType", "source", "through", "name", "description") if k in spec
        }
    if "container" not in spec and ("type" in spec or "direction" in spec):
        raise bad_request(
            f"not supported by the local CDF: {where} (a connection without connectionType; "
            "give single_edge_connection or multi_edge_connection)"
        )
    _only(spec, ("container", "containerPropertyIdentifier", "name", "description", "source"), where)
    ref = spec.get("container")
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("space"), str)
        or not isinstance(ref.get("externalId"), str)
    ):
        raise bad_request(f"{where}.container: expected a container reference")
    ckey = (ref["space"], ref["externalId"])
    container = state.containers.get(ckey)
    if container is None:
        raise bad_request(f"{where}.container: container {key_text(ckey)} does not exist")
    cprop = spec.get("containerPropertyIdentifier")
    if cprop not in container["properties"]:
        raise bad_request(
            f"{where}.containerPropertyIdentifier: container {key_text(ckey)} has no property {cprop!r}"
        )
    out: Json = {
        "container": {"type": "container", "space": ckey[0], "externalId": ckey[1]},
        "containerPropertyIdentifier": cprop,
    }
    for key in ("name", "description"):
        if spec.get(key) is not None:
            out[key] = spec[key]
    if spec.get("source") is not None:
        skey = state.view_key(spec["source"], f"{where}.source")
        out["source"] = {"type": "view", "space": skey[0], "externalId": skey[1], "version": skey[2]}
    return out


def _check_edge_connection(state: DmsState, spec: Json, where: str, batch: set[tuple[Any, Any, Any]]) -> Json:
    """An edge connection as CDF takes it: the edge type, the far nodes' view, a direction, an edge view."""
    _only(spec, EDGE_CONNECTION_FIELDS, where)
    _sizes(spec)
    edge_type = values.direct(spec.get("type"), f"{where}.type")
    direction = spec.get("direction", "outwards")
    if direction not in ("outwards", "inwards"):
        raise bad_request(f"{where}.direction: must be outwards or inwards, got {direction!r}")
    out: Json = {"connectionType": spec["connectionType"], "type": edge_type}
    for field in ("source", "edgeSource"):
        if field == "edgeSource" and spec.get(field) is None:
            continue
        vkey = state.view_key(spec.get(field), f"{where}.{field}")
        if vkey not in state.views and vkey not in batch:
            raise bad_request(f"{where}.{field}: One or more views do not exist: {key_text(vkey)}")
        out[field] = {"type": "view", "space": vkey[0], "externalId": vkey[1], "version": vkey[2]}
    out["direction"] = direction
    for key in ("name", "description"):
        if spec.get(key) is not None:
            out[key] = spec[key]
    return out


def read_view(state: DmsState, key: ViewKey, inherited: bool) -> Json:
    """A view as CDF answers: every property with its container type, and what the view maps."""
    view = state.views[key]
    own = view["properties"]
    names = list(state.resolved(key)) if inherited else list(own)
    all_props = _raw_properties(state, key)
    props: Json = {}
    for name in names:
        spec = all_props[name]
        if spec.get("connectionType") in EDGE_CONNECTIONS:
            props[name] = dict(spec)
            continue
        if "connectionType" in spec:
            props[name] = {**spec, "targetsList": _targets_list(state, spec["through"])}
            continue
        ckey = (spec["container"]["space"], spec["container"]["externalId"])
        cprop = state.containers[ckey]["properties"][spec["containerPropertyIdentifier"]]
        props[name] = {
            **spec,
            "type": cprop["type"],
            "nullable": cprop["nullable"],
            "autoIncrement": cprop["autoIncrement"],
            "immutable": cprop.get("immutable", False),
            "defaultValue": cprop.get("defaultValue"),
            "name": spec.get("name", cprop.get("name")),
            "description": spec.get("description", cprop.get("description")),
        }
    mapped = sorted(state.view_containers(key))
    used = {state.containers[c]["usedFor"] for c in mapped}
    return {
        "space": key[0],
        "externalId": key[1],
        "version": key[2],
        "name": view.get("name"),
        "description": view.get("description"),
        "filter": view.get("filter"),
        "implements": view["implements"],
        "writable": bool(mapped),
        "queryable": True,
        "usedFor": view.get("usedFor") or (used.pop() if len(used) == 1 else "all" if used else "node"),
        "isGlobal": view["isGlobal"],
        "createdTime": view["createdTime"],
        "lastUpdatedTime": view["lastUpdatedTime"],
        "properties": props,
        "mappedContainers": [{"type": "container", "space": c[0], "externalId": c[1]} for c in mapped],
    }


def _targets_list(state: DmsState, through: Json) -> bool:
    """Whether the direct relation a reverse relation goes through holds a list (CDF's `targetsList`)."""
    source, prop = through["source"], through["identifier"]
    if source.get("type") == "container":
        cprop = state.containers.get((source["space"], source["externalId"]), {}).get("properties", {})
        ptype = cprop.get(prop, {}).get("type", {})
    else:
        vkey = (source["space"], source["externalId"], source.get("version"))
        mapped = state.resolved(vkey).get(prop) if vkey in state.views else None
        ptype = mapped.type if isinstance(mapped, Mapped) else {}
    return bool(ptype.get("list", False))


def _raw_properties(state: DmsState, key: ViewKey) -> Json:
    view = state.views[key]
    out: Json = {}
    for parent in view["implements"]:
        pkey = (parent["space"], parent["externalId"], parent["version"])
        if pkey in state.views:
            out.update(_raw_properties(state, pkey))
    out.update(view["properties"])
    return out


def _view_ids(state: DmsState, body: Json) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    for index, item in enumerate(_items(body, MAX_LIST)):
        if not isinstance(item.get("space"), str) or not isinstance(item.get("externalId"), str):
            raise bad_request(f"items[{index}]: space and externalId are required")
        version = item.get("version")
        out.append((item["space"], item["externalId"], version if isinstance(version, str) else None))
    return out


def _matching(keys: Iterable[ViewKey], wanted: list[tuple[str, str, str | None]]) -> list[ViewKey]:
    keys = list(keys)
    found: list[ViewKey] = []
    for space, xid, version in wanted:
        if version is not None:
            found.extend(k for k in keys if k == (space, xid, version))
        else:
            versions = [k for k in keys if k[:2] == (space, xid)]
            found.extend(versions[-1:])
    return found


def _latest_only(keys: list[ViewKey]) -> list[ViewKey]:
    latest: dict[tuple[str, str], ViewKey] = {}
    for key in keys:
        latest[key[:2]] = key
    return [k for k in keys if latest[k[:2]] == k]


def _listed(objects: Mapping[ViewKey, Json], params: Mapping[str, Any]) -> list[ViewKey]:
    """Keys of visible views or data models; only each one's latest version unless allVersions."""
    keys = [k for k, v in objects.items() if _visible(v, params)]
    return keys if _flag(params, "allVersions", False) else _latest_only(keys)


def _delete_versioned(state: DmsState, objects: dict[ViewKey, Json], body: Json, what: str) -> Json:
    keys = _matching(objects, _view_ids(state, body))
    for key in keys:
        if state.is_system(key[0]):
            raise bad_request(f"{what} {key_text(key)} is a system {what} and cannot be deleted")
    for key in keys:
        del objects[key]
    state.schema_changed()
    return {"items": [{"space": k[0], "externalId": k[1], "version": k[2]} for k in keys]}


def list_views(state: DmsState, params: Mapping[str, Any]) -> Json:
    allowed = LIST_PARAMS | {"space", "allVersions", "includeInheritedProperties", "usedFor"}
    check_keys(params, allowed, "query parameter ")
    keys = _listed(state.views, {k: v for k, v in params.items() if k != "usedFor"})
    inherited = _flag(params, "includeInheritedProperties", True)
    rows = [read_view(state, k, inherited) for k in keys]  # a view's usedFor follows from its containers
    wanted = str(params.get("usedFor", "node,edge,all")).split(",")
    return page([r for r in rows if r["usedFor"] in wanted], params)


def views_by_ids(state: DmsState, body: Json, params: Mapping[str, Any]) -> Json:
    check_keys(params, {"includeInheritedProperties"}, "query parameter ")
    check_keys(body, {"items", "includeInheritedProperties"})
    inherited = _flag({**params, **body}, "includeInheritedProperties", True)
    return {"items": [read_view(state, k, inherited) for k in _matching(state.views, _view_ids(state, body))]}


def delete_views(state: DmsState, body: Json) -> Json:
    return _delete_versioned(state, state.views, body, "view")


# Data models ------------------------------------------------------------------------------------------


def apply_data_models(state: DmsState, body: Json) -> Json:
    items = _items(body)
    out_keys = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        space, xid, version = _versioned_identity(state, item, where, DATA_MODEL_FIELDS)
        refs = []
        inline = {_view_id(v) for v in item.get("views") or [] if isinstance(v, dict) and "properties" in v}
        for n, view in enumerate(item.get("views") or []):
            if isinstance(view, dict) and "properties" in view:
                vkey = _put_view(state, view, f"{where}.views[{n}]", inline)
                state.schema_changed()
            else:
                vkey = state.view_key(view, f"{where}.views[{n}]")
                if vkey not in state.views:
                    raise bad_request(f"{where}.views[{n}]: view {key_text(vkey)} does not exist")
            refs.append({"type": "view", "space": vkey[0], "externalId": vkey[1], "version": vkey[2]})
        key = (space, xid, version)
        state.data_models[key] = _stamp(
            state.data_models.get(key),
            {
                "space": space,
                "externalId": xid,
                "version": version,
                "name": item.get("name"),
                "description": item.get("description"),
                "views": refs,
            },
        )
        out_keys.append(key)
    return {"items": [_read_model(state, k, False) for k in out_keys]}


def _read_model(state: DmsState, key: ViewKey, inline: bool) -> Json:
    model = dict(state.data_models[key])
    if inline:
        model["views"] = [
            read_view(state, (v["space"], v["externalId"], v["version"]), True)
            for v in model["views"]
            if (v["space"], v["externalId"], v["version"]) in state.views
        ]
    return model


def list_data_models(state: DmsState, params: Mapping[str, Any]) -> Json:
    check_keys(params, LIST_PARAMS | {"space", "allVersions", "inlineViews"}, "query parameter ")
    keys = _listed(state.data_models, params)
    inline = _flag(params, "inlineViews", False)
    return page([_read_model(state, k, inline) for k in keys], params)


def data_models_by_ids(state: DmsState, body: Json, params: Mapping[str, Any]) -> Json:
    check_keys(params, {"inlineViews"}, "query parameter ")
    check_keys(body, {"items"})
    inline = _flag(params, "inlineViews", False)
    keys = _matching(state.data_models, _view_ids(state, body))
    return {"items": [_read_model(state, k, inline) for k in keys]}


def delete_data_models(state: DmsState, body: Json) -> Json:
    return _delete_versioned(state, state.data_models, body, "data model")


Handler = Callable[[DmsState, Json], Json]
