"""Extraction pipelines beyond CRUD: runs (success/failure/seen) and configuration revisions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plex_cdf.sim.cdf import resources
from plex_cdf.sim.cdf.errors import CdfError, Json, bad_request, missing
from plex_cdf.sim.cdf.keys import check_item_keys, check_keys
from plex_cdf.sim.cdf.store import Store, now_ms

STATUSES = {"success": "lastSuccess", "failure": "lastFailure", "seen": "lastSeen"}
MESSAGE_MAX = 1000


def create_runs(store: Store, body: Json) -> Json:
    items = resources.body_items(body)
    check_item_keys(items, {"externalId", "status", "message", "createdTime"})
    absent = [
        {"externalId": i.get("externalId")}
        for i in items
        if i.get("externalId") not in store.extpipes.by_external_id
    ]
    if absent:
        raise missing(absent, "Extraction pipeline not found")
    for index, item in enumerate(items):
        if item.get("status") not in STATUSES:
            raise bad_request(f"items[{index}].status: must be one of {sorted(STATUSES)}")
        message = item.get("message")
        if message is not None and (not isinstance(message, str) or len(message) > MESSAGE_MAX):
            raise bad_request(f"items[{index}].message: size must be between 0 and {MESSAGE_MAX}")
    return {"items": [_record_run(store, item) for item in items]}


def _record_run(store: Store, item: Json) -> Json:
    created = item.get("createdTime") or now_ms()
    run: Json = {"id": store.next_id(), "status": item["status"], "createdTime": created}
    if item.get("message") is not None:
        run["message"] = item["message"]
    run["externalId"] = item["externalId"]  # the create answer names the pipeline, as CDF's does
    store.extpipe_runs.setdefault(item["externalId"], []).append(run)
    pipe = store.extpipes.items[store.extpipes.by_external_id[item["externalId"]]]
    pipe[STATUSES[item["status"]]] = created
    if item["status"] != "seen" and item.get("message") is not None:
        pipe["lastMessage"] = item["message"]
    return dict(run)


def list_runs(store: Store, body: Json) -> Json:
    """Newest first, as CDF answers; `filter.externalId` is required."""
    run_filter: Any = body.get("filter") or {}
    if not isinstance(run_filter, dict):
        raise bad_request("filter: expected an object")
    check_keys(run_filter, {"externalId", "statuses", "createdTime"}, "filter.")
    check_keys(run_filter.get("createdTime") or {}, {"min", "max"}, "filter.createdTime.")
    external_id = run_filter.get("externalId")
    if external_id not in store.extpipes.by_external_id:
        raise missing([{"externalId": external_id}], "Extraction pipeline not found")
    statuses = set(run_filter.get("statuses") or STATUSES)
    created = run_filter.get("createdTime") or {}
    low, high = created.get("min", -(2**63)), created.get("max", 2**63)
    runs = [
        {k: v for k, v in run.items() if k != "externalId"}
        for run in reversed(store.extpipe_runs.get(external_id, []))
        if run["status"] in statuses and low <= run["createdTime"] <= high
    ]
    limit = resources.list_limit(body)
    start = resources.decode_cursor(body["cursor"]) if body.get("cursor") else 0
    answer: Json = {"items": runs[start : start + limit]}
    if start + limit < len(runs):
        answer["nextCursor"] = resources.encode_cursor(start + limit)
    return answer


def list_runs_get(store: Store, params: Mapping[str, str]) -> Json:
    body: Json = {"filter": {"externalId": params.get("externalId")}}
    if params.get("limit"):
        body["limit"] = int(params["limit"])
    if params.get("cursor"):
        body["cursor"] = params["cursor"]
    return list_runs(store, body)


def create_config(store: Store, body: Json) -> Json:
    external_id = body.get("externalId")
    if external_id not in store.extpipes.by_external_id:
        raise missing([{"externalId": external_id}], "Extraction pipeline not found")
    revisions = store.extpipe_configs.setdefault(str(external_id), [])
    revision = {
        "externalId": external_id,
        "config": body.get("config"),
        "description": body.get("description"),
        "revision": len(revisions) + 1,
        "createdTime": now_ms(),
    }
    revisions.append(revision)
    return revision


def get_config(store: Store, params: Mapping[str, str]) -> Json:
    revisions = store.extpipe_configs.get(params.get("externalId", ""))
    if not revisions:
        raise CdfError(404, f"No configuration for extraction pipeline {params.get('externalId')!r}")
    if params.get("revision"):
        wanted = int(params["revision"])
        for revision in revisions:
            if revision["revision"] == wanted:
                return revision
        raise CdfError(404, f"No configuration revision {wanted}")
    return revisions[-1]


CONFIG_PARAMS = frozenset({"externalId", "revision"})
REVISION_PARAMS = frozenset({"externalId", "limit", "cursor"})


def _refuse_unsupported(params: Mapping[str, str], supported: frozenset[str]) -> None:
    unknown = sorted(set(params) - supported)
    if unknown:
        raise bad_request(f"not supported by the local CDF: {unknown[0]}")


def get_config_strictly(store: Store, params: Mapping[str, str]) -> Json:
    """GET /extpipes/config: the latest revision, or `revision=N`; `externalId` is required, and what the
    local CDF does not implement (`activeAtTime`) is refused rather than ignored."""
    _refuse_unsupported(params, CONFIG_PARAMS)
    if not params.get("externalId"):
        raise bad_request("externalId: required")
    if params.get("revision") and not params["revision"].isdigit():
        raise bad_request(f"revision: not an integer: {params['revision']!r}")
    return get_config(store, params)


def list_config_revisions(store: Store, params: Mapping[str, str]) -> Json:
    """GET /extpipes/config/revisions: each revision's metadata (no `config` text), newest first, paged."""
    _refuse_unsupported(params, REVISION_PARAMS)
    external_id = params.get("externalId")
    if not external_id:
        raise bad_request("externalId: required")
    if external_id not in store.extpipes.by_external_id:
        raise missing([{"externalId": external_id}], "Extraction pipeline not found")
    revisions = [
        {k: v for k, v in revision.items() if k != "config"}
        for revision in reversed(store.extpipe_configs.get(external_id, []))
    ]
    if params.get("limit") and not params["limit"].isdigit():
        raise bad_request(f"limit: not an integer: {params['limit']!r}")
    limit = resources.list_limit({"limit": int(params["limit"])} if params.get("limit") else {})
    start = resources.decode_cursor(params["cursor"]) if params.get("cursor") else 0
    answer: Json = {"items": revisions[start : start + limit]}
    if start + limit < len(revisions):
        answer["nextCursor"] = resources.encode_cursor(start + limit)
    return answer
