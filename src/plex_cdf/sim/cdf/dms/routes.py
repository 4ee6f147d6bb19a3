"""The Data Modeling routes as data: (method, template, handler, writes), wrapped into the app's route table.

Parts of DMS the local CDF does not implement answer 400 "not supported by the local CDF: ...".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from plex_cdf.sim.cdf.dms import instances, query, schema
from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.store import Store


class CallLike(Protocol):
    @property
    def store(self) -> Store: ...
    @property
    def body(self) -> Json: ...
    @property
    def params(self) -> Mapping[str, str]: ...
    @property
    def args(self) -> Mapping[str, str]: ...


Handler = Callable[[Any], Json]
M = "/models"


def _refuse(what: str) -> Handler:
    def refuse(_call: Any) -> Json:
        raise bad_request(f"not supported by the local CDF: {what}")

    return refuse


ROUTE_TABLE: list[tuple[str, str, Handler, bool]] = [
    ("POST", f"{M}/spaces", lambda c: schema.apply_spaces(c.store.dms, c.body), True),
    ("GET", f"{M}/spaces", lambda c: schema.list_spaces(c.store.dms, c.params), False),
    ("POST", f"{M}/spaces/byids", lambda c: schema.spaces_by_ids(c.store.dms, c.body), False),
    ("POST", f"{M}/spaces/delete", lambda c: schema.delete_spaces(c.store.dms, c.body), True),
    ("POST", f"{M}/containers", lambda c: schema.apply_containers(c.store.dms, c.body), True),
    ("GET", f"{M}/containers", lambda c: schema.list_containers(c.store.dms, c.params), False),
    ("POST", f"{M}/containers/byids", lambda c: schema.containers_by_ids(c.store.dms, c.body), False),
    ("POST", f"{M}/containers/delete", lambda c: schema.delete_containers(c.store.dms, c.body), True),
    ("POST", f"{M}/views", lambda c: schema.apply_views(c.store.dms, c.body), True),
    ("GET", f"{M}/views", lambda c: schema.list_views(c.store.dms, c.params), False),
    ("POST", f"{M}/views/byids", lambda c: schema.views_by_ids(c.store.dms, c.body, c.params), False),
    ("POST", f"{M}/views/delete", lambda c: schema.delete_views(c.store.dms, c.body), True),
    ("POST", f"{M}/datamodels", lambda c: schema.apply_data_models(c.store.dms, c.body), True),
    ("GET", f"{M}/datamodels", lambda c: schema.list_data_models(c.store.dms, c.params), False),
    (
        "POST",
        f"{M}/datamodels/byids",
        lambda c: schema.data_models_by_ids(c.store.dms, c.body, c.params),
        False,
    ),
    ("POST", f"{M}/datamodels/delete", lambda c: schema.delete_data_models(c.store.dms, c.body), True),
    ("POST", f"{M}/instances", lambda c: instances.apply(c.store, c.body), True),
    ("POST", f"{M}/instances/list", lambda c: instances.list_instances(c.store, c.body), False),
    ("POST", f"{M}/instances/byids", lambda c: instances.by_ids(c.store, c.body), False),
    ("POST", f"{M}/instances/delete", lambda c: instances.delete(c.store, c.body), True),
    ("POST", f"{M}/instances/aggregate", lambda c: instances.aggregate(c.store, c.body), False),
    ("POST", f"{M}/instances/query", lambda c: query.query(c.store, c.body), False),
    ("POST", f"{M}/instances/sync", lambda c: query.sync(c.store, c.body), False),
    ("POST", f"{M}/instances/search", _refuse("instances/search (full-text search)"), False),
    ("POST", f"{M}/instances/inspect", _refuse("instances/inspect"), False),
    ("POST", f"{M}/containers/constraints/delete", _refuse("container constraints"), False),
    ("POST", f"{M}/containers/indexes/delete", _refuse("container indexes"), False),
    ("GET", f"{M}/statistics", _refuse("models/statistics"), False),
    ("GET", f"{M}/statistics/spaces/{{space}}", _refuse("models/statistics"), False),
    ("POST", f"{M}/statistics/spaces/byids", _refuse("models/statistics"), False),
    ("POST", "/dml/graphql", _refuse("GraphQL"), False),
    (
        "POST",
        "/userapis/spaces/{space}/datamodels/{model}/versions/{version}/graphql",
        _refuse("GraphQL"),
        False,
    ),
    ("POST", "/streams", _refuse("streams"), False),
    ("GET", "/streams", _refuse("streams"), False),
    ("POST", "/streams/{stream}/records", _refuse("records"), False),
    ("POST", "/streams/{stream}/records/filter", _refuse("records"), False),
    ("POST", "/streams/{stream}/records/sync", _refuse("records"), False),
    ("POST", "/streams/{stream}/records/aggregate", _refuse("records"), False),
]
