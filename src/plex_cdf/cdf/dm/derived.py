"""The nodes the data-modeling sink writes beside the records' own: the asset classes, asset types and
equipment types the records' nodes point to, and the tenant's workcenter state set.

Each is sent once, before the nodes that point to it, and again only when it changes: their digests are
kept in the state (one value per tenant, `DIGESTS_KEY`). The state set lists every workcenter status known
so far (from the status definitions and from the points of the status series): a status is added, never
dropped, so a point written earlier keeps its state. One lock per sink keeps two writes from each sending
a state set that lacks the other's new status.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from cognite.client.data_classes.data_modeling import NodeApply

from plex_cdf.cdf.dm import mapping, model
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.cdf.transport import Missing, Rejected
from plex_cdf.items import Asset, Datapoints, Item
from plex_cdf.ports import StateStore

DIGESTS_KEY = "dm#derived"  # {node external id: digest of the body last acknowledged}
STATES_KEY = "dm#states"  # the workcenter statuses the state set holds, sorted

Json = dict[str, Any]
Send = Callable[[list[Json]], Awaitable[None]]
log = logging.getLogger(__name__)


def status_names(items: Iterable[Item], points: Iterable[Datapoints]) -> set[str]:
    """The workcenter statuses these items name: status definitions, and values of status series."""
    names = {
        item.name
        for item in items
        if isinstance(item, Asset)
        and mapping.kind_and_key(item.external_id)[0] == model.STATE_DEFINITION_KIND
    }
    for series in points:
        if mapping.is_state_series(series.external_id):
            names.update(str(value) for _, value in series.points)
    return names


def digest(body: Json) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


class DerivedNodes:
    """Keeps the derived nodes of one tenant written (see the module's docstring)."""

    def __init__(self, pcn: str, spaces: Spaces, state: StateStore, source: Json) -> None:
        self.pcn = pcn
        self.spaces = spaces
        self._state = state
        self._source = source
        self._lock = asyncio.Lock()

    async def ensure(
        self, items: Sequence[Item], bodies: Iterable[Json], points: Iterable[Datapoints], send: Send
    ) -> int:
        """Send the derived nodes these bodies and items need that CDF does not hold yet; how many were
        sent. A refusal is logged and left for the next write to try again (the records' nodes still land:
        their links to a node not there are auto-created)."""
        async with self._lock:
            nodes = mapping.derived_nodes(bodies, self.spaces)
            known = set(self._state.get_value(self.pcn, STATES_KEY) or [])
            states = known | status_names(items, points)
            if states:
                nodes.append(mapping.state_set_node(states, self.spaces, self._source))
            written: dict[str, str] = dict(self._state.get_value(self.pcn, DIGESTS_KEY) or {})
            due = [node for node in nodes if written.get(node.external_id) != digest(node.dump())]
            if not due:
                return 0
            try:
                await send([node.dump() for node in due])
            except (Missing, Rejected) as err:
                log.warning("CDF refused plex-cdf's derived nodes %s: %s", _names(due), err)
                return 0
            written.update({node.external_id: digest(node.dump()) for node in due})
            self._state.set_value(self.pcn, DIGESTS_KEY, written)
            if states != known:
                self._state.set_value(self.pcn, STATES_KEY, sorted(states))
            return len(due)


def _names(nodes: Sequence[NodeApply]) -> str:
    return ", ".join(node.external_id for node in nodes[:5]) + (" ..." if len(nodes) > 5 else "")
