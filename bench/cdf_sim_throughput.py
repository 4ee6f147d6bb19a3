"""Throughput of the local CDF through the real cognite-sdk: events and datapoints per second.

Later figures (plex-cdf against the local CDF) read against these: they are the floor the server sets.
Run: .venv/bin/python bench/cdf_sim_throughput.py [--assets N] [--events N] [--points N] [--in-process]
By default the server runs as `plex-cdf sim cdf` in its own process, so client and server do not share a GIL.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import OAuthClientCredentials
from cognite.client.data_classes import AssetWrite, EventWrite, TimeSeriesWrite

from plex_cdf.sim.cdf import LocalCdf

SERIES = 10
READY = re.compile(r"local CDF ready: (?P<base>\S+) project=(?P<project>\S+) token_url=(?P<token>\S+)")


@contextmanager
def served(in_process: bool) -> Iterator[tuple[str, str, str]]:
    """(base_url, project, token_url) of a fresh local CDF."""
    if in_process:
        cdf = LocalCdf(project="bench", client_id=None, client_secret=None)
        with cdf.serve() as server:
            yield server.base_url, "bench", server.token_url
        return
    command = [sys.executable, "-m", "plex_cdf", "sim", "cdf", "--project", "bench"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = READY.match(process.stdout.readline())
        if ready is None:
            raise SystemExit("plex-cdf sim cdf did not print its ready line")
        yield ready["base"], ready["project"], ready["token"]
    finally:
        process.terminate()
        process.wait()


def client_for(base_url: str, project: str, token_url: str) -> CogniteClient:
    global_config.disable_pypi_version_check = True
    credentials = OAuthClientCredentials(
        token_url=token_url, client_id="bench", client_secret="bench", scopes=["x"]
    )
    return CogniteClient(
        ClientConfig(client_name="bench", project=project, credentials=credentials, base_url=base_url)
    )


def hierarchy(count: int) -> list[AssetWrite]:
    """One root, then buildings of 100 workcenters each: the shape plex-cdf writes."""
    assets = [AssetWrite(external_id="root", name="Plant")]
    for b in range(max(1, count // 100)):
        assets.append(AssetWrite(external_id=f"b{b}", name=f"Building {b}", parent_external_id="root"))
        assets.extend(
            AssetWrite(external_id=f"b{b}-w{w}", name=f"W{w}", parent_external_id=f"b{b}") for w in range(99)
        )
    return assets


def upsert_all(client: CogniteClient, tree: list[AssetWrite]) -> None:
    client.assets.create_hierarchy(tree, upsert=True, upsert_mode="patch")


def timed(label: str, count: int, unit: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    print(f"{label:<34} {count:>10,} {unit:<11} {elapsed:7.2f} s  {count / elapsed:>12,.0f} {unit}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=1_000_000, help=f"total, spread over {SERIES} series")
    parser.add_argument("--in-process", action="store_true", help="serve from this process (shares the GIL)")
    args = parser.parse_args()
    per_series = args.points // SERIES
    with served(args.in_process) as where:
        client = client_for(*where)
        client.iam.token.inspect()  # token fetched before timing
        tree = hierarchy(args.assets)
        timed("assets create_hierarchy", len(tree), "assets", lambda: client.assets.create_hierarchy(tree))
        timed("assets create_hierarchy upsert", len(tree), "assets", lambda: upsert_all(client, tree))
        events = [
            EventWrite(external_id=f"ev-{i}", type="production", start_time=i) for i in range(args.events)
        ]
        timed("events create", args.events, "events", lambda: client.events.create(events))
        timed(
            "events upsert (update path)",
            args.events,
            "events",
            lambda: client.events.upsert(events, mode="patch"),
        )
        timed("events list", args.events, "events", lambda: client.events.list(limit=None))
        client.time_series.create([TimeSeriesWrite(external_id=f"ts-{s}") for s in range(SERIES)])
        batch = [
            {"external_id": f"ts-{s}", "datapoints": [(t * 1_000, float(t)) for t in range(per_series)]}
            for s in range(SERIES)
        ]
        total = per_series * SERIES
        timed(
            "datapoints insert", total, "datapoints", lambda: client.time_series.data.insert_multiple(batch)
        )
        timed(
            "datapoints retrieve (protobuf)",
            total,
            "datapoints",
            lambda: client.time_series.data.retrieve(
                external_id=[f"ts-{s}" for s in range(SERIES)], start=0, end=per_series * 1_000
            ),
        )
    print(f"server: {'in-process' if args.in_process else 'subprocess'}; client: cognite-sdk CogniteClient")


if __name__ == "__main__":
    main()
