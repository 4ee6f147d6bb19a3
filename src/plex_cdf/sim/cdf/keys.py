"""Request keys the local CDF implements; anything else is refused by name, never ignored.

A key whose value is null is treated as absent (as CDF does), so it passes whatever its name.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
