"""Data Modeling throughput of the local CDF: instances apply, list and sync (issue 14's targets).

Targets: applying 1,000-node batches with two sources each >= 10,000 nodes/s; listing and syncing 100,000
nodes >= 50,000 nodes/s. The targets are the local CDF's, so they are timed with a lean HTTP client (httpx2,
keep-alive, request bodies serialized beforehand, answers parsed with orjson): the figure is what the
server answers, not what a client library costs. The same requests through the cognite-sdk (its
`client.post`: auth, gzip, retries, its JSON parsing) and through its typed objects (`NodeApply`, `NodeList`,
`QueryResult`) are printed next to them for information. Prints PASS/FAIL per target, exits 1 on a miss.
The machine's load average is printed before and after: on a shared machine the figures follow it, so each
targeted figure is the best of `--runs` runs (3).
Run: .venv/bin/python bench/cdf_sim_dms.py [--nodes N] [--runs N] [--in-process]
By default the server runs as `plex-cdf sim cdf` in its own process, so client and server do not share a GIL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import orjson
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
TIMED_BATCHES = 10
LIST_PAGE = 1_000  # CDF's maximum for instances/list
SYNC_PAGE = 10_000  # CDF's maximum for a result set expression
SPACE_FILTER = {"equals": {"property": ["node", "space"], "value": SPACE}}


def node(i: int, description: str = "bench") -> dm.NodeApply:
    return dm.NodeApply(
        SPACE,
        f"n{i:06d}",
        sources=[
            dm.NodeOrEdgeData(
                DESCRIBABLE, {"name": f"Node {i}", "description": description, "tags": ["a", "b"]}
            ),
            dm.NodeOrEdgeData(SOURCEABLE, {"sourceId": str(i), "sourceContext": "plex"}),
        ],
    )


def apply_bodies(start: int, stop: int, description: str = "bench") -> list[bytes]:
    """Request bodies of 1,000 nodes each, serialized beforehand (the SDK's own dump of NodeApply)."""
    return [
        orjson.dumps({"items": [node(i, description).dump() for i in range(lo, min(lo + BATCH, stop))]})
        for lo in range(start, stop, BATCH)
    ]


class Lean:
    """A minimal CDF client: a Bearer token from the token endpoint, then raw JSON over one connection."""

    def __init__(self, base_url: str, project: str, token_url: str) -> None:
        token = httpx2.post(
            token_url,
            data={"grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench"},
        ).json()["access_token"]
        self.http = httpx2.Client(
            base_url=f"{base_url}/api/v1/projects/{project}/models",
            headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
            timeout=120,
        )

    def post(self, path: str, body: bytes) -> Any:
        answer = self.http.post(path, content=body)
        answer.raise_for_status()
        return orjson.loads(answer.content)


Post = Callable[[str, bytes], Any]


def sdk_post(client: CogniteClient) -> Post:
    prefix = f"/api/v1/projects/{client.config.project}/models"
    return lambda path, body: client.post(prefix + path, json=orjson.loads(body)).json()


def apply_raw(post: Post, bodies: list[bytes]) -> int:
    return sum(len(post("/instances", body)["items"]) for body in bodies)


def list_raw(post: Post) -> int:
    body: dict[str, Any] = {
        "instanceType": "node",
        "sources": [{"source": DESCRIBABLE.dump()}],
        "filter": SPACE_FILTER,
        "limit": LIST_PAGE,
    }
    seen = 0
    while True:
        page = post("/instances/list", orjson.dumps(body))
        seen += len(page["items"])
        if not page.get("nextCursor"):
            return seen
        body["cursor"] = page["nextCursor"]


def sync_raw(post: Post) -> int:
    body: dict[str, Any] = {
        "with": {"nodes": {"nodes": {"filter": SPACE_FILTER}, "limit": SYNC_PAGE}},
        "select": {"nodes": {"sources": [{"source": DESCRIBABLE.dump(), "properties": ["*"]}]}},
    }
    seen = 0
    while True:
        page = post("/instances/sync", orjson.dumps(body))
        if not page["items"]["nodes"]:
            return seen
        seen += len(page["items"]["nodes"])
        body["cursors"] = page["nextCursor"]


def apply_typed(client: CogniteClient, nodes: list[dm.NodeApply]) -> int:
    applied = 0
    for start in range(0, len(nodes), BATCH):
        applied += len(client.data_modeling.instances.apply(nodes[start : start + BATCH]).nodes)
    return applied


def list_typed(client: CogniteClient) -> int:
    listed = client.data_modeling.instances.list(
        instance_type="node", space=SPACE, sources=[DESCRIBABLE], limit=-1
    )
    return len(listed)


def sync_typed(client: CogniteClient) -> int:
    query = Query(
        with_={
            "nodes": NodeResultSetExpression(
                filter=dm.filters.Equals(["node", "space"], SPACE), limit=SYNC_PAGE
            )
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


def timed(label: str, count: int, target: int | None, actions: list[Callable[[], int]]) -> bool:
    """Run each action (returning the nodes it handled); print the best rate and, given a target, a verdict.

    Several runs of the same work and the best of them, because on a shared machine a run's rate follows the
    other load; every run must handle all `count` nodes.
    """
    best = float("inf")
    complete = True
    for action in actions:
        started = time.perf_counter()
        got = action()
        best = min(best, time.perf_counter() - started)
        if got != count:
            complete = False
            print(f"  expected {count:,} nodes, got {got:,}")
    rate = count / best
    ok = complete and (target is None or rate >= target)
    verdict = "(information)" if target is None else f"target {target:,}  {'PASS' if ok else 'FAIL'}"
    runs = f"best of {len(actions)}" if len(actions) > 1 else "one run"
    print(
        f"{label:<50} {count:>8,} nodes {best:6.2f} s {rate:>9,.0f} nodes/s ({runs})  {verdict}", flush=True
    )
    return ok


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(where: tuple[str, str, str], total: int, runs: int) -> bool:
    lean = Lean(*where)
    client = client_for(*where)
    client.data_modeling.spaces.apply(dm.SpaceApply(SPACE))
    size = BATCH * TIMED_BATCHES  # each run creates its own nodes, then updates them
    created = [apply_bodies(r * size, (r + 1) * size) for r in range(runs)]
    ok = timed(
        f"apply {TIMED_BATCHES} x 1,000 nodes x 2 sources (create)",
        size,
        APPLY_TARGET,
        [partial(apply_raw, lean.post, bodies) for bodies in created],
    )
    changed = [apply_bodies(0, size, f"changed {r}") for r in range(runs)]
    ok &= timed(
        f"apply {TIMED_BATCHES} x 1,000 nodes x 2 sources (update)",
        size,
        APPLY_TARGET,
        [partial(apply_raw, lean.post, bodies) for bodies in changed],
    )
    again = apply_bodies(0, size, "again")
    timed(
        "same, through the SDK's client.post (update)",
        size,
        None,
        [lambda: apply_raw(sdk_post(client), again)],
    )
    typed = [node(i, "typed") for i in range(BATCH)]
    timed(
        "1,000 nodes, typed NodeApply via the SDK (update)", BATCH, None, [lambda: apply_typed(client, typed)]
    )
    for body in apply_bodies(runs * size, total):
        lean.post("/instances", body)
    ok &= timed(f"list {total:,} nodes (one view)", total, READ_TARGET, [lambda: list_raw(lean.post)] * runs)
    ok &= timed(
        f"sync {total:,} nodes (from scratch)", total, READ_TARGET, [lambda: sync_raw(lean.post)] * runs
    )
    timed(f"list {total:,} nodes, SDK client.post", total, None, [lambda: list_raw(sdk_post(client))])
    timed(f"sync {total:,} nodes, SDK client.post", total, None, [lambda: sync_raw(sdk_post(client))])
    timed(f"list {total:,} nodes, typed NodeList via the SDK", total, None, [lambda: list_typed(client)])
    timed(f"sync {total:,} nodes, typed via the SDK", total, None, [lambda: sync_typed(client)])
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each targeted measurement (best counts)")
    parser.add_argument("--in-process", action="store_true", help="serve from this process (shares the GIL)")
    args = parser.parse_args()
    if args.runs < 1 or args.nodes < BATCH * TIMED_BATCHES * args.runs:
        parser.error(f"--nodes must be at least {BATCH * TIMED_BATCHES:,} x --runs, and --runs at least 1")
    print(f"load average (1, 5, 15 min) before: {load()}", flush=True)
    with served(args.in_process) as where:
        ok = run(where, args.nodes, args.runs)
    print(f"load average after: {load()}")
    print(
        f"server: {'in-process' if args.in_process else 'subprocess'}; targets timed with httpx2 + orjson, "
        f"best of {args.runs}"
    )
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
