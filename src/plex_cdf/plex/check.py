"""The Plex half of `plex-cdf check`: the Connect key and tenant, each product's subscription and each data
source's grant and inputs, as OK/FAIL results with the fix for each failure.

Costs one call for the key, one or two more if it fails (the 401 diagnosis), one per product namespace
and two per data source, all inside the client's call budget.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.diagnostics import grant_fix, namespace_of
from plex_cdf.plex.errors import PlexError, PlexNotOffered, PlexRequestError, PlexUnavailable

# An id no record has: an object GET with it costs Plex nothing and still passes the gateway's auth.
PROBE_ID = "00000000-0000-0000-0000-000000000000"
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
T = TypeVar("T")
UNREACHABLE_FIX = "check the Plex URL and the network, or retry later"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    fix: str = ""


async def check_plex(
    client: PlexClient, endpoints: Sequence[str], datasources: Sequence[int]
) -> list[CheckResult]:
    """One result for the key and tenant, one per product namespace of `endpoints` and one per data
    source. Products are only probed once the key and tenant are good (a bad key fails them all)."""
    connect = await check_key_and_tenant(client)
    results = [connect]
    for namespace, paths in _by_namespace(endpoints).items():
        if connect.ok:
            results.append(await check_product(client, namespace, paths))
        else:
            results.append(
                CheckResult(
                    f"Connect product '{namespace}'", False, "not checked", "fix the key/tenant first"
                )
            )
    for source_id in datasources:
        results.append(await _check_datasource(client, source_id))
    return results


async def check_key_and_tenant(client: PlexClient) -> CheckResult:
    name = "Connect key and tenant"
    outcome = await _attempt(client.tenants)
    if isinstance(outcome, PlexError):
        return _failed(name, outcome)
    codes = ", ".join(str(t.get("code") or t.get("id")) for t in outcome) or "none listed"
    return CheckResult(name, True, f"key accepted at {client.settings.connect_url}; tenants: {codes}")


async def check_product(client: PlexClient, namespace: str, paths: list[str]) -> CheckResult:
    name = f"Connect product '{namespace}'"
    probe = _probe_path(paths[0])
    outcome = await _attempt(lambda: client.get_object(probe))
    if isinstance(outcome, PlexRequestError | PlexNotOffered):
        outcome = None  # Plex judged the request itself: the gateway let the key through
    if isinstance(outcome, PlexError):
        return _failed(name, outcome)
    return CheckResult(name, True, f"subscribed ({len(paths)} endpoint(s); probe {probe})")


async def _check_datasource(client: PlexClient, source_id: int) -> CheckResult:
    name = f"data source {source_id}"
    metadata = await _attempt(lambda: client.datasource_metadata(source_id))
    if isinstance(metadata, PlexError):
        return _failed(name, metadata)
    title = str(metadata.get("name") or "")
    callable_ids = await _attempt(lambda: client.search_datasources(title))
    if isinstance(callable_ids, PlexError):
        return _failed(name, callable_ids)
    if not any(str(row.get("id")) == str(source_id) for row in callable_ids):
        user = client.settings.ds_username
        return CheckResult(
            name,
            False,
            f"'{title}' exists at {client.settings.datasource_url} but web-service user '{user}' is not"
            " granted it",
            grant_fix(source_id, user),
        )
    host = client.settings.datasource_url
    return CheckResult(name, True, f"'{title}' granted at {host}; inputs: {_inputs_text(metadata)}")


async def _attempt(call: Callable[[], Awaitable[T]]) -> T | PlexError:
    try:
        return await call()
    except PlexError as err:
        return err


def _failed(name: str, error: PlexError) -> CheckResult:
    """The error's own diagnostic split into what went wrong and its fix."""
    detail, _, fix = str(error).partition("; fix: ")
    if not fix:
        fix = UNREACHABLE_FIX if isinstance(error, PlexUnavailable) else "see the detail"
    return CheckResult(name, False, detail, fix)


def _by_namespace(endpoints: Sequence[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for path in endpoints:
        grouped.setdefault(namespace_of(path), []).append(path)
    return grouped


def _probe_path(path: str) -> str:
    """An object GET under the endpoint that finds nothing: placeholders and a trailing probe id."""
    return _PLACEHOLDER.sub(PROBE_ID, path).rstrip("/") + f"/{PROBE_ID}"


def _inputs_text(metadata: dict[str, Any]) -> str:
    inputs = [i for i in metadata.get("inputs") or [] if isinstance(i, dict)]
    if not inputs:
        return "none"
    return ", ".join(f"{i.get('name')}{'*' if i.get('required') else ''}" for i in inputs)
