"""The predecessor's environment variables, mapped onto the configuration tree, so an existing `.env` runs
unchanged without a config file."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from plex_cdf.config.errors import Loc, describe, format_path, primary, with_count
from plex_cdf.config.models import Config
from plex_cdf.config.section import hyphenated
from plex_cdf.domains.resource import DOMAINS

_TENANT = ("plex", "tenants", 0)
_DATA_SET_VARIABLES = {
    "master": "CDF_DATASET_PLEXMASTER",
    "scheduling": "CDF_DATASET_PLEXSCHEDULING",
    "production": "CDF_DATASET_PLEXPRODUCTION",
    "inventory": "CDF_DATASET_PLEXINVENTORY",
    "quality": "CDF_DATASET_PLEXQUALITY",
    "maintenance": "CDF_DATASET_PLEXMAINTENANCE",
}

# Variable -> where its value goes. Order matters twice: a later entry wins for the same place, and an
# error at a place (or a missing section above it) names the variable that set it, else the first one
# that could have.
LEGACY_VARIABLES: tuple[tuple[str, Loc], ...] = (
    ("CDF_PROJECT", ("cognite", "project")),
    ("CDF_CLUSTER", ("cognite", "host")),  # becomes https://{cluster}.cognitedata.com
    ("CDF_HOST", ("cognite", "host")),
    ("CDF_TOKEN_URL", ("cognite", "idp-authentication", "token-url")),
    ("CDF_CLIENT_ID", ("cognite", "idp-authentication", "client-id")),
    ("CDF_CLIENT_SECRET", ("cognite", "idp-authentication", "secret")),
    ("PLEX_API_KEY", ("plex", "api-key")),
    ("PLEX_USE_TEST", ("plex", "use-test")),
    ("PLEX_CONNECT_URL", ("plex", "connect-url")),
    ("PLEX_DATASOURCE_URL", ("plex", "datasource-url")),
    ("PLEX_CUSTOMER_ID", (*_TENANT, "pcn")),
    ("PLEX_PCN_CODE", (*_TENANT, "name")),
    ("PLEX_PCN_CODE", (*_TENANT, "code")),  # the predecessor built the Data Source host from it
    ("PLEX_DS_USERNAME", (*_TENANT, "data-source", "username")),
    ("PLEX_DS_PASSWORD", (*_TENANT, "data-source", "password")),
    ("STATE_STORE_PATH", ("state-store", "local", "path")),
    ("DRY_RUN", ("extractor", "dry-run")),
    ("RUN_ONCE", ("extractor", "run-once")),
    *((f"{d.upper()}_EXTRACTION_INTERVAL", ("extractor", hyphenated(d), "interval")) for d in DOMAINS),
    *((f"ENABLE_{d.upper()}_EXTRACTOR", ("extractor", hyphenated(d), "enabled")) for d in DOMAINS),
    *((variable, ("extractor", "data-sets", key, "id")) for key, variable in _DATA_SET_VARIABLES.items()),
)
LEGACY_NAMES = tuple(dict.fromkeys(name for name, _ in LEGACY_VARIABLES))


def uses_legacy(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) for name in LEGACY_NAMES)


def legacy_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    """The configuration tree the predecessor's variables describe; empty values count as unset."""
    tree: dict[str, Any] = {}
    for name, loc in LEGACY_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            _put(tree, loc, _cluster_host(value) if name == "CDF_CLUSTER" else value)
    return tree


def _cluster_host(cluster: str) -> str:
    return f"https://{cluster}.cognitedata.com"


def _put(tree: dict[str, Any], loc: Loc, value: str) -> None:
    node: Any = tree
    for part, following in itertools.pairwise(loc):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            while len(node) <= part:
                node.append(empty)
            node = node[part]
        else:
            node = node.setdefault(part, empty)
    node[loc[-1]] = value


def legacy_error_line(error: ValidationError, environ: Mapping[str, str]) -> str:
    """The first problem named by the variable behind it: the one that set the value (the last set wins,
    as in `legacy_tree`), else the first that could have."""
    first = primary(error)
    loc = first["loc"]
    feeding = [(name, place) for name, place in LEGACY_VARIABLES if tuple(place[: len(loc)]) == tuple(loc)]
    set_here = [(name, place) for name, place in feeding if environ.get(name, "").strip()]
    if not feeding:
        return with_count(f"environment ({format_path(loc)}): {describe(first, Config)}", error)
    name, place = set_here[-1] if set_here else feeding[0]
    if first["type"] == "missing":
        return with_count(f"environment variable {name} is not set (needed for {format_path(place)})", error)
    return with_count(f"environment variable {name} ({format_path(loc)}): {describe(first, Config)}", error)
