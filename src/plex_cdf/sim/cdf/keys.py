"""Request keys the local CDF implements; anything else is refused by name, never ignored.

A key whose value is null is treated as absent (as CDF does), so it passes whatever its name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from plex_cdf.sim.cdf.errors import CdfError, bad_request

NOT_SUPPORTED = "not supported by the local CDF"


def unsupported(parameter: str) -> CdfError:
    """The one 400 for every parameter, filter key or option the local CDF does not implement."""
    return bad_request(f"{NOT_SUPPORTED}: {parameter}")


def check_keys(given: Mapping[str, Any], allowed: Collection[str], where: str = "") -> None:
    """400 naming the first key of `given` (path-qualified by `where`) that is not in `allowed`."""
    for key, value in given.items():
        if key not in allowed and value is not None:
            raise unsupported(f"{where}{key}")


def check_item_keys(items: Any, allowed: Collection[str], where: str = "items") -> None:
    """`check_keys` over every object of a request's `items`."""
    for index, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict):
            check_keys(item, allowed, f"{where}[{index}].")


@dataclass(frozen=True, slots=True)
class Accepts:
    """What one route implements: its query parameters and, where its handler does not check them,
    its top-level body keys (None: the handler checks)."""

    params: frozenset[str] = frozenset()
    body: frozenset[str] | None = None


PAGE = frozenset({"limit", "cursor"})
ITEMS = frozenset({"items"})
ENSURE_PARENT = frozenset({"ensureParent"})
ROW_WINDOW = frozenset({"minLastUpdatedTime", "maxLastUpdatedTime"})
RAW_TABLE = "/raw/dbs/{db}/tables/{table}"
CLASSIC = ("assets", "events", "timeseries", "relationships", "datasets", "extpipes")

# Route key -> what it accepts. A route missing here (e.g. extraction pipeline config, owned elsewhere)
# checks its own query parameters.
ROUTES: Mapping[str, Accepts] = {
    **{
        f"POST /{name}{suffix}": Accepts()
        for name in CLASSIC
        for suffix in ("", "/byids", "/update", "/list", "/aggregate", "/delete")
        if (name, suffix) != ("datasets", "/delete")  # CDF cannot delete data sets
    },
    **{f"GET /{name}": Accepts(PAGE) for name in CLASSIC},
    **{f"GET /{name}/{{id}}": Accepts() for name in ("assets", "events", "timeseries")},
    **{f"POST /timeseries/data{suffix}": Accepts() for suffix in ("", "/list", "/latest", "/delete")},
    "POST /extpipes/runs": Accepts(body=ITEMS),
    "POST /extpipes/runs/list": Accepts(body=frozenset({"filter", "limit", "cursor"})),
    "GET /extpipes/runs": Accepts(PAGE | {"externalId"}),
    "GET /raw/dbs": Accepts(PAGE),
    "POST /raw/dbs": Accepts(body=ITEMS),
    "POST /raw/dbs/delete": Accepts(body=frozenset({"items", "recursive"})),
    "GET /raw/dbs/{db}/tables": Accepts(PAGE),
    "POST /raw/dbs/{db}/tables": Accepts(ENSURE_PARENT, ITEMS),
    "POST /raw/dbs/{db}/tables/delete": Accepts(body=ITEMS),
    f"POST {RAW_TABLE}/rows": Accepts(ENSURE_PARENT, ITEMS),
    f"GET {RAW_TABLE}/rows": Accepts(PAGE | ROW_WINDOW | {"columns"}),
    f"POST {RAW_TABLE}/rows/delete": Accepts(body=ITEMS),
    f"GET {RAW_TABLE}/rows/{{key}}": Accepts(),
    f"GET {RAW_TABLE}/cursors": Accepts(ROW_WINDOW | {"numberOfCursors"}),
}


def check_route(route_key: str, params: Mapping[str, str], body: Mapping[str, Any]) -> None:
    """Refuse the query parameters (and unchecked body keys) that `route_key` does not implement."""
    accepts = ROUTES.get(route_key)
    if accepts is None:
        return
    check_keys(params, accepts.params, "query parameter ")
    if accepts.body is not None:
        check_keys(body, accepts.body)
