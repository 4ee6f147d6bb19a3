"""Parents before children: the order in which asset bodies can be sent so that every parent exists.

Works on create bodies (`externalId`, `parentExternalId`). An asset is ready when its chain of parents
inside the batch ends at the root (no parent) or at an asset CDF already holds; otherwise it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Json = dict[str, Any]


def hierarchy_order(bodies: Sequence[Json], in_cdf: Callable[[str], bool]) -> tuple[list[Json], list[Json]]:
    """(ready bodies sorted by depth, parents first; waiting bodies) — cycles wait too."""
    by_id = {body["externalId"]: body for body in bodies}
    depth: dict[str, int | None] = {}
    for start in by_id:
        _settle(start, by_id, in_cdf, depth)
    ready = [body for xid, body in by_id.items() if depth[xid] is not None]
    ready.sort(key=lambda body: depth[body["externalId"]] or 0)
    waiting = [body for xid, body in by_id.items() if depth[xid] is None]
    return ready, waiting


def _settle(
    start: str, by_id: dict[str, Json], in_cdf: Callable[[str], bool], depth: dict[str, int | None]
) -> None:
    """Walk up from `start` until a settled or anchored asset, then assign depths on the way back."""
    chain: list[str] = []
    on_chain: set[str] = set()
    xid = start
    base: int | None
    while True:
        if xid in depth:
            base = depth[xid]
            break
        if xid in on_chain:  # a cycle: nothing on it can be placed
            base = None
            break
        chain.append(xid)
        on_chain.add(xid)
        parent = by_id[xid].get("parentExternalId")
        if parent is None or (parent not in by_id and in_cdf(parent)):
            base = -1
            break
        if parent not in by_id:
            base = None
            break
        xid = parent
    for offset, member in enumerate(reversed(chain), start=1):
        depth[member] = None if base is None else base + offset
