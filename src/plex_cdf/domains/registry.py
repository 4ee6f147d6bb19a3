"""Every resource row, by domain, in the order a domain runs them (lookups and parents first)."""

from __future__ import annotations

from collections.abc import Mapping

from plex_cdf.domains import inventory, jobs, master_data, performance, production, quality
from plex_cdf.domains.resource import DOMAINS, Domain, Resource

BY_DOMAIN: Mapping[Domain, tuple[Resource, ...]] = {
    "master_data": master_data.RESOURCES,
    "jobs": jobs.RESOURCES,
    "production": production.RESOURCES,
    "inventory": inventory.RESOURCES,
    "quality": quality.RESOURCES,
    "performance": performance.RESOURCES,
}

ALL: tuple[Resource, ...] = tuple(r for domain in DOMAINS for r in BY_DOMAIN[domain])


def by_name() -> dict[str, Resource]:
    return {r.name: r for r in ALL}


def check_rows(rows: tuple[Resource, ...] = ALL) -> list[str]:
    """Problems in the rows themselves: duplicate names, lookups, parents or fallbacks naming no row."""
    names = [r.name for r in rows]
    known = set(names)
    problems = [f"resource name {n!r} is used twice" for n in sorted(known) if names.count(n) > 1]
    for row in rows:
        wanted = list(row.lookup)
        parent = getattr(row.mode, "parent", None)
        if isinstance(parent, str):
            wanted.append(parent)
        if row.fallback_for is not None:
            wanted.append(row.fallback_for)
        problems += [f"{row.name}: names unknown resource {w!r}" for w in wanted if w not in known]
    return problems
