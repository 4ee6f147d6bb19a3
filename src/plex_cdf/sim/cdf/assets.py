"""Assets: the hierarchy rules on top of the generic resource operations.

Parents come by `parentId` or `parentExternalId`, from the store or the same request; `rootId` is computed;
a move must stay under the same root, as CDF requires ("Asset must stay within same asset hierarchy"), so an
update never changes a `rootId`; delete refuses to orphan children unless `recursive`.
"""

from __future__ import annotations

from collections import defaultdict

from plex_cdf.sim.cdf import resources
from plex_cdf.sim.cdf.errors import Json, bad_request, missing
from plex_cdf.sim.cdf.keys import check_item_keys, check_keys
from plex_cdf.sim.cdf.resources import ASSETS
from plex_cdf.sim.cdf.store import Collection, Store


def create(store: Store, body: Json) -> Json:
    check_keys(body, {"items"})
    items = resources.body_items(body)
    resources.validate_new(ASSETS, items)
    collection = store.assets
    resources.check_new_external_ids(collection, items)
    resources.check_references(store, ASSETS, items)
    _check_parents_exist(collection, items)
    created = [resources.stamp_new(store, ASSETS, item) for item in items]
    in_request = {item["externalId"]: item for item in created if item.get("externalId") is not None}
    for item in created:
        _link_parent(collection, item, in_request)
    roots = _roots_for_new(collection, created)
    for item in created:
        item["rootId"] = roots[item["id"]]
        collection.put(item["id"], item)
    return {"items": created}


def _check_parents_exist(collection: Collection, items: list[Json]) -> None:
    new_xids = {item["externalId"] for item in items if item.get("externalId") is not None}
    absent: list[Json] = []
    for index, item in enumerate(items):
        if item.get("parentId") is not None and item.get("parentExternalId") is not None:
            raise bad_request(f"items[{index}]: set only one of parentId and parentExternalId")
        parent_xid = item.get("parentExternalId")
        if (
            parent_xid is not None
            and parent_xid not in new_xids
            and parent_xid not in collection.by_external_id
        ):
            absent.append({"externalId": parent_xid})
        parent_id = item.get("parentId")
        if parent_id is not None and parent_id not in collection.items:
            absent.append({"id": parent_id})
    if absent:
        raise missing(absent, "Reference to unknown parent")


def _link_parent(collection: Collection, item: Json, in_request: dict[str, Json]) -> None:
    """Fill in both `parentId` and `parentExternalId`, as CDF answers them."""
    parent_xid = item.get("parentExternalId")
    if parent_xid is not None:
        parent = in_request.get(parent_xid)
        item["parentId"] = parent["id"] if parent is not None else collection.by_external_id[parent_xid]
    elif item.get("parentId") is not None:
        parent_xid = collection.items[item["parentId"]].get("externalId")
        if parent_xid is not None:
            item["parentExternalId"] = parent_xid


def _roots_for_new(collection: Collection, created: list[Json]) -> dict[int, int]:
    by_id = {item["id"]: item for item in created}
    roots: dict[int, int] = {}
    for item in created:
        chain: list[int] = []
        current: Json = item
        while True:
            if current["id"] in roots:
                root = roots[current["id"]]
                break
            if current["id"] in chain:
                raise bad_request(f"asset {item.get('externalId')!r}: its parents form a cycle")
            chain.append(current["id"])
            parent_id = current.get("parentId")
            if parent_id is None:
                root = current["id"]
                break
            if parent_id not in by_id:
                root = collection.items[parent_id]["rootId"]
                break
            current = by_id[parent_id]
        for internal in chain:
            roots[internal] = root
    return roots


def update(store: Store, body: Json) -> Json:
    staged = resources.stage_updates(store, ASSETS, body)
    for old, new in staged:
        _resolve_new_parent(store.assets, old, new)
    renamed = [new for old, new in staged if new.get("externalId") != old.get("externalId")]
    answer = resources.commit_updates(store, ASSETS, staged)
    children = _children_index(store.assets) if renamed else {}
    for item in renamed:
        for child in children.get(item["id"], ()):
            _set_parent_external_id(store.assets.items[child], item)
    return answer


def _resolve_new_parent(collection: Collection, old: Json, new: Json) -> bool:
    """Turn a changed parentExternalId or parentId into both fields; True when the parent moved."""
    if new.get("parentExternalId") != old.get("parentExternalId") and new.get("parentExternalId") is not None:
        parent_id = collection.by_external_id.get(new["parentExternalId"])
        if parent_id is None:
            raise missing([{"externalId": new["parentExternalId"]}], "Reference to unknown parent")
        new["parentId"] = parent_id
    elif new.get("parentId") != old.get("parentId"):
        if new.get("parentId") is None:
            raise bad_request(f"asset {new.get('externalId')!r}: parentId may not be set to null")
        parent = collection.items.get(new["parentId"])
        if parent is None:
            raise missing([{"id": new["parentId"]}], "Reference to unknown parent")
        _set_parent_external_id(new, parent)
    else:
        return False
    _refuse_cycle(collection, new)
    new_root = collection.items[new["parentId"]]["rootId"]
    if new_root != old["rootId"]:  # CDF's own words; a root cannot take a parent either
        raise bad_request(
            f"asset {new.get('externalId')!r}: Asset must stay within same asset hierarchy "
            f"(root {old['rootId']}, the new parent's root is {new_root})"
        )
    return True


def _set_parent_external_id(child: Json, parent: Json) -> None:
    if parent.get("externalId") is None:
        child.pop("parentExternalId", None)
    else:
        child["parentExternalId"] = parent["externalId"]


def _refuse_cycle(collection: Collection, item: Json) -> None:
    current = item.get("parentId")
    while current is not None:
        if current == item["id"]:
            raise bad_request(f"asset {item.get('externalId')!r}: cannot move an asset below itself")
        current = collection.items[current].get("parentId")


def _children_index(collection: Collection) -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for internal, item in collection.items.items():
        if item.get("parentId") is not None:
            children[item["parentId"]].append(internal)
    return children


def delete(store: Store, body: Json) -> Json:
    collection = store.assets
    check_keys(body, {"items", "ignoreUnknownIds", "recursive"})
    items = resources.body_items(body)
    check_item_keys(items, {"id", "externalId"})
    targets = set(resources.resolve_all(ASSETS, collection, items, bool(body.get("ignoreUnknownIds"))))
    children = _children_index(collection)
    doomed = _subtrees(children, targets) if body.get("recursive") else targets
    if not body.get("recursive"):
        orphaned = [c for t in targets for c in children.get(t, ()) if c not in targets]
        if orphaned:
            raise bad_request(
                f"Asset {collection.items[orphaned[0]].get('parentExternalId') or orphaned[0]} has children;"
                " delete with recursive=true"
            )
    for internal in doomed:
        collection.remove(internal)
    return {}


def _subtrees(children: dict[int, list[int]], tops: set[int]) -> set[int]:
    doomed: set[int] = set()
    pending = list(tops)
    while pending:
        internal = pending.pop()
        if internal not in doomed:
            doomed.add(internal)
            pending.extend(children.get(internal, ()))
    return doomed
