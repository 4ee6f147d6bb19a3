"""Every resource row, by domain, in the order a domain runs them (lookups and parents first)."""

from __future__ import annotations

from collections.abc import Mapping

from plex_cdf.domains import inventory, jobs, master_data, performance, production, quality
from plex_cdf.domains.resource import DOMAINS, Domain, Resource, Snapshot

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
    """Problems in the rows themselves: duplicate names, lookups, parents or fallbacks naming no row, and
    fields declared of a list the row does not look up or that is not a whole list (a snapshot)."""
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
        problems += _lookup_fields_problems(row, {r.name: r for r in rows})
    return problems


def _lookup_fields_problems(row: Resource, rows: Mapping[str, Resource]) -> list[str]:
    """A row keeps only some fields (`Resource.lookup_fields`) of a snapshot list it names in `lookup`
    (entries for lists it does not look up are ignored: rows share one mapping of the linked lists)."""
    problems = []
    for name in row.lookup_fields:
        looked_up = rows.get(name)
        if name in row.lookup and looked_up is not None and not isinstance(looked_up.mode, Snapshot):
            problems.append(f"{row.name}: lookup_fields of {name!r}, which is not a snapshot list")
    return problems
