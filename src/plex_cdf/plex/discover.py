"""`plex-cdf discover`: what one tenant's Connect key and web-service user can reach.

The Connect products subscribed (each probed as `check` probes one: an object GET that finds nothing), and
every data source the web-service user is granted (Plex's search endpoint) with its published inputs and
columns (the metadata endpoint). Costs one call for the key, one per product and one per granted source,
all inside the client's call budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.plex.check import CheckResult, check_key_and_tenant, check_product
from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.errors import PlexError
from plex_cdf.plex.routes import Route, products


@dataclass(frozen=True)
class SourceInput:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class SourceColumn:
    name: str
    type: str


@dataclass(frozen=True)
class SourceMetadata:
    """A data source as Plex publishes it (GET /api/datasources/{id})."""

    id: int
    name: str
    description: str = ""
    inputs: tuple[SourceInput, ...] = ()
    columns: tuple[SourceColumn, ...] = ()
    error: str = ""  # why its metadata could not be read (the source is still listed)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "inputs": [vars(i) for i in self.inputs],
            "columns": [vars(c) for c in self.columns],
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Discovery:
    """One tenant's reach."""

    pcn: str
    connect: CheckResult
    products: list[CheckResult] = field(default_factory=list)
    sources: list[SourceMetadata] = field(default_factory=list)
    sources_error: str = ""  # the search itself failed (no credentials, bad password, ...)

    def as_json(self) -> dict[str, Any]:
        return {
            "pcn": self.pcn,
            "connect": vars(self.connect),
            "products": [
                {"product": _product_name(p.name), "subscribed": p.ok, "detail": p.detail, "fix": p.fix}
                for p in self.products
            ],
            "data_sources": [s.as_json() for s in self.sources],
            "data_sources_error": self.sources_error or None,
        }


def parse_metadata(body: dict[str, Any], source_id: int) -> SourceMetadata:
    """The metadata answer as typed fields; entries that are not objects are skipped."""
    inputs = tuple(
        SourceInput(str(i.get("name")), str(i.get("type")), bool(i.get("required")))
        for i in body.get("inputs") or []
        if isinstance(i, dict)
    )
    columns = tuple(
        SourceColumn(str(c.get("name")), str(c.get("type")))
        for c in body.get("columns") or body.get("outputs") or []
        if isinstance(c, dict)
    )
    return SourceMetadata(
        int(body.get("id") or source_id),
        str(body.get("name") or ""),
        str(body.get("description") or ""),
        inputs,
        columns,
    )


async def source_metadata(client: PlexClient, source_id: int) -> SourceMetadata:
    """One source's metadata; raises the client's diagnosed error (not granted, bad credentials, ...)."""
    return parse_metadata(await client.datasource_metadata(source_id), source_id)


async def discover(client: PlexClient, pcn: str) -> Discovery:
    connect = await check_key_and_tenant(client)
    found = Discovery(pcn, connect)
    for namespace, routes in products().items():
        if connect.ok:
            found.products.append(await check_product(client, namespace, probe_paths(routes)))
        else:
            found.products.append(
                CheckResult(
                    f"Connect product '{namespace}'", False, "not checked", "fix the key/tenant first"
                )
            )
    try:
        granted = await client.search_datasources("")
    except PlexError as err:
        found.sources_error = str(err)
        return found
    for row in sorted(granted, key=lambda r: int(r.get("id") or 0)):
        source_id = int(row.get("id") or 0)
        try:
            found.sources.append(await source_metadata(client, source_id))
        except PlexError as err:
            found.sources.append(
                SourceMetadata(
                    source_id, str(row.get("name") or ""), str(row.get("description") or ""), error=str(err)
                )
            )
    return found


def probe_paths(routes: Sequence[Route]) -> list[str]:
    """The product's paths with the one to probe first: the collection of an object route that ends in
    its id (`/x/{id}` gives `/x`), which answers an object GET with a probe id as Plex documents it."""
    probe = next(
        (r.path.rsplit("/", 1)[0] for r in routes if r.answer == "object" and r.path.endswith("}")),
        routes[0].path,
    )
    return list(dict.fromkeys([probe, *(r.path for r in routes)]))


def _product_name(check_name: str) -> str:
    return check_name.removeprefix("Connect product '").removesuffix("'")


_DATE_TYPES = ("date", "datetime", "smalldatetime", "datetime2")
_BEGIN_WORDS = ("begin", "start", "from")
_END_WORDS = ("end", "to", "through")
_KEY_ENDINGS = ("_Key", "_No", "_Id", "_ID")


def date_inputs(source: SourceMetadata) -> tuple[str, str] | None:
    """The begin and end date inputs of a source that reads a period (e.g. Start_Date, End_Date)."""
    dates = [i.name for i in source.inputs if i.type.lower() in _DATE_TYPES]
    begin = next((n for n in dates if n.lower().split("_")[0] in _BEGIN_WORDS), None)
    end = next((n for n in dates if n.lower().split("_")[0] in _END_WORDS), None)
    return (begin, end) if begin and end else None


def config_block(source: SourceMetadata) -> dict[str, Any]:
    """A `resources:` entry that reads this source into a RAW table: date windows when it reads a period,
    else the whole answer each run; its key is the first column named like an identifier (`*_Key`,
    `*_No`, `*_Id`), else the first column: check it identifies a row."""
    names = [c.name for c in source.columns]
    key = next((n for n in names if n.endswith(_KEY_ENDINGS)), names[0] if names else "FILL_IN")
    block: dict[str, Any] = {
        "name": "_".join(source.name.lower().split("_")[:-1] or [source.name.lower()]) or f"ds_{source.id}",
        "data-source": source.id,
        "domain": "quality",
        "key": [key],
    }
    period = date_inputs(source)
    if period is None:
        block["mode"] = "snapshot"
    else:
        block["mode"] = "windows"
        block["windows"] = {"begin": period[0], "end": period[1], "max-span": "1d", "lookback": "2h"}
    required = [i.name for i in source.inputs if i.required and (period is None or i.name not in period)]
    if required:
        block["inputs"] = {name: "FILL_IN" for name in required}
    block["interval"] = "1h"
    block["target"] = "raw"
    return block
