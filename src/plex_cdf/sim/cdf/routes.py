"""The route table: (method, template) -> handler, and whether the route writes data.

Templates are relative to `/api/v1/projects/{project}` and are also the keys of the request counts,
e.g. "POST /assets" or "POST /raw/dbs/{db}/tables/{table}/rows".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from plex_cdf.sim.cdf import assets, datapoints, extpipes, raw, resources
from plex_cdf.sim.cdf.dms.routes import ROUTE_TABLE as DMS_ROUTES
from plex_cdf.sim.cdf.errors import Json
from plex_cdf.sim.cdf.keys import check_route
from plex_cdf.sim.cdf.resources import Spec
from plex_cdf.sim.cdf.store import Store


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the store, the parsed JSON body, query parameters and path arguments."""

    store: Store
    body: Json
    params: Mapping[str, str]
    args: Mapping[str, str]
    wants_protobuf: bool
    sent_protobuf: bool = False  # the body came as protobuf (a datapoints insert), not JSON


Answer = Json | bytes
Handler = Callable[[Call], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    handler: Handler
    writes: bool = False
    status: int = 200

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def answer(self, call: Call) -> Answer:
        """The handler's answer, once the query parameters and body keys the route lacks are refused."""
        check_route(self.key, call.params, call.body)
        return self.handler(call)


def _crud(spec: Spec, *, writes: bool, deletable: bool = True) -> list[Route]:
    """The classic routes of one resource; hierarchy-aware handlers for assets."""
    base = f"/{spec.name}"
    is_assets = spec is resources.ASSETS
    create: Handler = (
        (lambda c: assets.create(c.store, c.body))
        if is_assets
        else (lambda c: resources.create(c.store, spec, c.body))
    )
    update: Handler = (
        (lambda c: assets.update(c.store, c.body))
        if is_assets
        else (lambda c: resources.update(c.store, spec, c.body))
    )
    delete: Handler = (
        (lambda c: assets.delete(c.store, c.body))
        if is_assets
        else (lambda c: resources.delete(c.store, spec, c.body))
    )
    routes = [
        Route("POST", base, create, writes=writes, status=201),
        Route("POST", f"{base}/byids", lambda c: resources.by_ids(c.store, spec, c.body)),
        Route("POST", f"{base}/update", update, writes=writes),
        Route("POST", f"{base}/list", lambda c: resources.list_items(c.store, spec, c.body)),
        Route("GET", base, lambda c: resources.list_items(c.store, spec, _list_params(c.params))),
        Route("POST", f"{base}/aggregate", lambda c: resources.aggregate(c.store, spec, c.body)),
    ]
    if deletable:
        routes.append(Route("POST", f"{base}/delete", delete, writes=writes))
    if spec.advanced is not None:  # assets, events and time series also answer GET /{resource}/{id}
        routes.append(
            Route("GET", f"{base}/{{id}}", lambda c: resources.retrieve_one(c.store, spec, c.args["id"]))
        )
    return routes


def _list_params(params: Mapping[str, str]) -> Json:
    body: Json = {}
    if "limit" in params:
        body["limit"] = int(params["limit"]) if params["limit"].isdigit() else params["limit"]
    if "cursor" in params:
        body["cursor"] = params["cursor"]
    return body


def _retrieve(c: Call) -> Answer:
    pages = datapoints.retrieve_pages(c.store, c.body)
    if c.wants_protobuf:
        return datapoints.pages_to_protobuf(c.store, pages)
    return datapoints.pages_to_json(c.store, pages)


RAW_TABLE = "/raw/dbs/{db}/tables/{table}"

ROUTES: list[Route] = [
    *_crud(resources.ASSETS, writes=True),
    *_crud(resources.EVENTS, writes=True),
    *_crud(resources.TIME_SERIES, writes=True),
    *_crud(resources.RELATIONSHIPS, writes=True),
    *_crud(resources.DATA_SETS, writes=True, deletable=False),
    *_crud(resources.EXTPIPES, writes=False),
    Route(
        "POST", "/timeseries/data", lambda c: datapoints.insert(c.store, c.body, c.sent_protobuf), writes=True
    ),
    Route("POST", "/timeseries/data/list", _retrieve),
    Route("POST", "/timeseries/data/latest", lambda c: datapoints.latest(c.store, c.body)),
    Route(
        "POST", "/timeseries/data/delete", lambda c: datapoints.delete_ranges(c.store, c.body), writes=True
    ),
    Route("POST", "/extpipes/runs", lambda c: extpipes.create_runs(c.store, c.body), status=201),
    Route("POST", "/extpipes/runs/list", lambda c: extpipes.list_runs(c.store, c.body)),
    Route("GET", "/extpipes/runs", lambda c: extpipes.list_runs_get(c.store, c.params)),
    Route("POST", "/extpipes/config", lambda c: extpipes.create_config(c.store, c.body), status=201),
    Route("GET", "/extpipes/config", lambda c: extpipes.get_config_strictly(c.store, c.params)),
    Route("GET", "/extpipes/config/revisions", lambda c: extpipes.list_config_revisions(c.store, c.params)),
    Route("GET", "/raw/dbs", lambda c: raw.list_dbs(c.store, c.params)),
    Route("POST", "/raw/dbs", lambda c: raw.create_dbs(c.store, c.body), status=201),
    Route("POST", "/raw/dbs/delete", lambda c: raw.delete_dbs(c.store, c.body)),
    Route("GET", "/raw/dbs/{db}/tables", lambda c: raw.list_tables(c.store, c.args["db"], c.params)),
    Route(
        "POST",
        "/raw/dbs/{db}/tables",
        lambda c: raw.create_tables(c.store, c.args["db"], c.body, c.params),
        status=201,
    ),
    Route("POST", "/raw/dbs/{db}/tables/delete", lambda c: raw.delete_tables(c.store, c.args["db"], c.body)),
    Route(
        "POST",
        f"{RAW_TABLE}/rows",
        lambda c: raw.insert_rows(c.store, c.args["db"], c.args["table"], c.body, c.params),
        writes=True,
        status=201,
    ),
    Route(
        "GET", f"{RAW_TABLE}/rows", lambda c: raw.list_rows(c.store, c.args["db"], c.args["table"], c.params)
    ),
    Route(
        "POST",
        f"{RAW_TABLE}/rows/delete",
        lambda c: raw.delete_rows(c.store, c.args["db"], c.args["table"], c.body),
        writes=True,
    ),
    Route(
        "GET",
        f"{RAW_TABLE}/rows/{{key}}",
        lambda c: raw.retrieve_row(c.store, c.args["db"], c.args["table"], c.args["key"]),
    ),
    Route(
        "GET", f"{RAW_TABLE}/cursors", lambda c: raw.cursors(c.store, c.args["db"], c.args["table"], c.params)
    ),
    *(Route(method, template, handler, writes=writes) for method, template, handler, writes in DMS_ROUTES),
]


class Router:
    """Exact paths by dict lookup; templated paths by regex over the still-encoded path."""

    def __init__(self, routes: list[Route]) -> None:
        self._exact: dict[tuple[str, str], Route] = {}
        self._templated: list[tuple[str, re.Pattern[str], Route]] = []
        for route in routes:
            if "{" in route.template:
                pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.template)
                self._templated.append((route.method, re.compile(f"^{pattern}$"), route))
            else:
                self._exact[(route.method, route.template)] = route

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        route = self._exact.get((method, raw_path))
        if route is not None:
            return route, {}
        for route_method, pattern, candidate in self._templated:
            if route_method == method and (found := pattern.match(raw_path)):
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    @property
    def write_keys(self) -> frozenset[str]:
        return frozenset(r.key for r in [*self._exact.values(), *(t[2] for t in self._templated)] if r.writes)
