"""Writer throughput: the Writer against the local CDF vs. a bare script posting the same JSON.

Run: .venv/bin/python bench/writer_throughput.py
10,000 assets in a hierarchy (one root, 100 children, the rest under those) and 30,000 events linked to
them. Prints items per second, items per write call, the second (unchanged) run's time and requests, and
the ratio to a bare script that posts the same bodies in 1,000-item batches (assets level by level,
events 4-way, as the Writer does). The local CDF runs in this process (one GIL with the client), on a
shared machine: figures swing by tens of percent between runs.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes import DataSetWrite

from plex_cdf.cdf.client import CdfSettings, build_client
from plex_cdf.cdf.writer import Writer
from plex_cdf.ids import root_external_id
from plex_cdf.items import Asset, Event
from plex_cdf.sim.cdf import LocalCdf
from plex_cdf.state.sqlite import SqliteStateStore

ASSETS, EVENTS = 10_000, 30_000
ROOT = root_external_id("1")
PROJECT = "/api/v1/projects/plex-cdf"


def plant() -> list[Asset]:
    parents = [ROOT if i < 100 else f"PCN1_a_{i % 100}" for i in range(ASSETS - 1)]
    return [Asset(ROOT, "Root", None, "master")] + [
        Asset(f"PCN1_a_{i}", f"A{i}", parent, "master", metadata={"k": str(i)})
        for i, parent in enumerate(parents)
    ]


def events() -> list[Event]:
    return [
        Event(
            f"PCN1_ev_{i}",
            "production",
            "x",
            start_time=1000 + i,
            metadata={"n": str(i)},
            asset_external_ids=(f"PCN1_a_{i % 9000}",),
        )
        for i in range(EVENTS)
    ]


def client_for(server_url: str, token_url: str, name: str) -> AsyncCogniteClient:
    settings = CdfSettings(
        host=server_url,
        project="plex-cdf",
        token_url=token_url,
        client_id="plex-cdf",
        client_secret="local-secret",  # a local simulator's credential
        client_name=name,
    )
    return build_client(settings)


async def with_writer(
    client: AsyncCogniteClient, cdf: LocalCdf, assets: list[Asset], linked: list[Event]
) -> tuple[float, float, int, int]:
    """(first run s, second run s, first run write calls, second run requests)."""
    created = await client.data_sets.create([DataSetWrite(external_id="m"), DataSetWrite(external_id="p")])
    data_sets = {"master": created[0].id, "production": created[1].id}
    with tempfile.TemporaryDirectory() as folder:
        writer = Writer(client, "1", data_sets, SqliteStateStore(str(Path(folder) / "state.db")))
        start = time.perf_counter()
        calls = (await writer.write("assets", assets)).write_calls
        calls += (await writer.write("events", linked)).write_calls
        first = time.perf_counter() - start
        cdf.reset_counts()
        start = time.perf_counter()
        await writer.write("assets", assets)
        await writer.write("events", linked)
        second = time.perf_counter() - start
    return first, second, calls, sum(cdf.request_counts().values())


async def bare(client: AsyncCogniteClient, assets: list[Asset], linked: list[Event]) -> float:
    start = time.perf_counter()
    bodies = [
        {
            "externalId": a.external_id,
            "name": a.name,
            "metadata": dict(a.metadata),
            **({"parentExternalId": a.parent_external_id} if a.parent_external_id else {}),
        }
        for a in assets
    ]
    bodies.sort(key=lambda b: 0 if "parentExternalId" not in b else 1 if b["parentExternalId"] == ROOT else 2)
    ids: dict[str, int] = {}
    for i in range(0, len(bodies), 1000):
        answer = await client.post(PROJECT + "/assets", json={"items": bodies[i : i + 1000]})
        ids.update({x["externalId"]: x["id"] for x in answer.json()["items"]})
    events_json: list[dict[str, object]] = [
        {
            "externalId": e.external_id,
            "type": e.type,
            "startTime": e.start_time,
            "metadata": dict(e.metadata),
            "assetIds": [ids[a] for a in e.asset_external_ids],
        }
        for e in linked
    ]
    gate = asyncio.Semaphore(4)

    async def send(chunk: list[dict[str, object]]) -> None:
        async with gate:
            await client.post(PROJECT + "/events", json={"items": chunk})

    await asyncio.gather(*(send(events_json[i : i + 1000]) for i in range(0, len(events_json), 1000)))
    return time.perf_counter() - start


def main() -> None:
    assets, linked = plant(), events()
    cdf = LocalCdf()
    with cdf.serve() as server:
        client = client_for(server.base_url, server.token_url, "writer")
        first, second, calls, requests = asyncio.run(with_writer(client, cdf, assets, linked))
    with LocalCdf().serve() as server:
        plain = asyncio.run(bare(client_for(server.base_url, server.token_url, "bare"), assets, linked))
    total = ASSETS + EVENTS
    print(f"Writer vs bare posting: {ASSETS:,} assets (hierarchy) + {EVENTS:,} linked events, local CDF")
    print(f"{'run':<26}{'seconds':>9}{'items/s':>10}{'write calls':>13}{'items/call':>12}")
    print(f"{'Writer, first run':<26}{first:>9.2f}{total / first:>10,.0f}{calls:>13}{total / calls:>12,.0f}")
    print(f"{'Writer, unchanged rerun':<26}{second:>9.3f}{'':>10}{requests:>13}{'':>12}")
    print(f"{'bare script':<26}{plain:>9.2f}{total / plain:>10,.0f}{total // 1000:>13}{1000:>12,}")
    print(f"Writer / bare time: {first / plain:.2f}")


if __name__ == "__main__":
    main()
