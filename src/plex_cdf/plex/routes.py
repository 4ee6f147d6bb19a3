"""Plex Connect's documented GET routes, as the product knows them: a copy of the route list derived from
Plex's published API documents (`connect_routes.json` next to this module; the simulated Plex reads its own
copy). Configured resources are checked against it before any call, and `discover` probes one route per
product (namespace)."""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from plex_cdf.plex.diagnostics import namespace_of

HERE = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


@dataclass(frozen=True)
class RouteParam:
    name: str
    where: Literal["q", "p"]  # query or path
    required: bool
    type: str  # string, uuid, date-time, date, boolean, integer, number, or array:<type>


@dataclass(frozen=True)
class Route:
    path: str  # with `{placeholders}` as Plex documents them
    answer: Literal["list", "object", "file"]
    params: tuple[RouteParam, ...]
    fields: dict[str, str]  # top-level field -> type (object and array for nested ones)

    @property
    def namespace(self) -> str:
        return namespace_of(self.path)

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.path))

    def query_params(self) -> dict[str, RouteParam]:
        return {p.name: p for p in self.params if p.where == "q"}


@functools.cache
def documented_routes() -> dict[str, Route]:
    """Every documented GET route by its path."""
    rows = json.loads((HERE / "connect_routes.json").read_text(encoding="utf-8"))
    return {
        row["path"]: Route(
            row["path"],
            row["answer"],
            tuple(RouteParam(name, where, required, kind) for name, where, required, kind in row["params"]),
            dict(row["fields"]),
        )
        for row in rows
    }


def products() -> dict[str, tuple[Route, ...]]:
    """The documented routes by product (namespace), in catalogue order."""
    grouped: dict[str, list[Route]] = {}
    for route in documented_routes().values():
        grouped.setdefault(route.namespace, []).append(route)
    return {namespace: tuple(routes) for namespace, routes in grouped.items()}


def route_for(path: str) -> Route | None:
    """The documented route a configured path names: exactly, or with its placeholders spelled otherwise
    (`/purchasing/v1/purchase-orders/{poId}/line-items` matches `{id}` too)."""
    found = documented_routes().get(path)
    if found is not None:
        return found
    shape = _PLACEHOLDER.sub("{}", path)
    return next((r for r in documented_routes().values() if _PLACEHOLDER.sub("{}", r.path) == shape), None)


def nearest_routes(path: str, limit: int = 3) -> list[str]:
    """Documented paths that look most like an unknown one (for the error's fix)."""
    return difflib.get_close_matches(path, list(documented_routes()), n=limit, cutoff=0.5)
