"""Where a cold medium run waits: its event loop's long steps, and who is busy while its main thread idles.

Run: .venv/bin/python bench/support/loop_timeline.py [--target data-modeling] [--bucket-ms 50]
The world (simulated Plex, medium plant, and the local CDF) runs in its own process, as in
extract_medium.py; the product runs in this one, through `product.run` (setup, then one pass), with four
probes that cost little:
- every event-loop step timed (`asyncio.events.Handle._run` wrapped): how long the loop was held at once,
  in which the product reads no answer and sends no call;
- every CDF request's flight (`httpx2.AsyncClient.send` wrapped);
- the main thread's and the world's CPU, read from /proc every bucket;
- every row's span (`Runner.run_resource` wrapped): when each resource began and ended, in the pass.
Prints the steps' histogram, then the buckets in which the main thread was less than half busy: how many,
in how many of them the world was more than 80 % busy, and in how many a CDF request was in flight; then
the rows that took 50 ms or more, in the order they began, with a bar of 0.1 s a character.
Not run by `make bench` (it prints no target); docs/performance.md (sessions 7 to 9) reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.events
import sys
import tempfile
import threading
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extract_medium import BUDGET, NOW
from plex_cdf.runner import Runner
from support import product
from support.harness import World, config_tree, cpu_s, say

STEP_EDGES_MS = (5, 10, 20, 50, 100, 200)


class Probes:
    """The event loop's steps, the CDF requests' flights and the rows' spans, from `install` on; times are
    seconds since `began`."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.steps: list[float] = []
        self.cdf_flights: list[tuple[float, float]] = []
        self.rows: list[tuple[str, float, float]] = []  # (resource, began, ended)

    def install(self, cdf_url: str) -> None:
        run_step = asyncio.events.Handle._run
        steps, flights, began_at = self.steps, self.cdf_flights, self.began

        def timed_step(handle: Any) -> None:
            began = time.perf_counter()
            run_step(handle)
            steps.append(time.perf_counter() - began)

        asyncio.events.Handle._run = timed_step  # type: ignore[method-assign,assignment]
        send = httpx2.AsyncClient.send

        async def flown(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter() - began_at
            try:
                return await send(client, request, *args, **kwargs)
            finally:
                if str(request.url).startswith(cdf_url):
                    flights.append((began, time.perf_counter() - began_at))

        httpx2.AsyncClient.send = flown  # type: ignore[method-assign,assignment]
        run_resource, rows = Runner.run_resource, self.rows

        async def spanned(runner: Runner, resource: Any, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter() - began_at
            try:
                return await run_resource(runner, resource, *args, **kwargs)
            finally:
                rows.append((resource.name, began, time.perf_counter() - began_at))

        Runner.run_resource = spanned  # type: ignore[method-assign]


def in_flight(flights: list[tuple[float, float]], low: float, high: float) -> float:
    """Requests in flight on average over [low, high)."""
    return sum(max(0.0, min(end, high) - max(start, low)) for start, end in flights) / (high - low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=("classic", "data-modeling"), default="data-modeling")
    parser.add_argument("--bucket-ms", type=int, default=50)
    args = parser.parse_args()
    bucket = args.bucket_ms / 1000
    say("starting the simulated Plex (medium) and the local CDF")
    world = World("medium", NOW, BUDGET)
    stat = f"/proc/self/task/{threading.get_native_id()}/stat"
    world_stat = f"/proc/{world.process.pid}/stat"
    samples: list[tuple[float, float, float]] = []  # (seconds since the probes began, main CPU, world CPU)
    stop = threading.Event()
    try:
        config = config_tree(world, Path(tempfile.mkdtemp(prefix="loop-")) / "state.db", BUDGET)
        config["destination"] = {"type": args.target}
        spec = {"config": config, "now": NOW.isoformat(), "setup": True}
        probes = Probes()
        probes.install(world.cdf_url)

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.perf_counter() - probes.began, cpu_s(stat), cpu_s(world_stat)))
                time.sleep(bucket)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        figures = asyncio.run(product.run(spec))
        stop.set()
        sampler.join()
    finally:
        world.close()
    pass_figures = f"{figures['wall_s']:.2f} s wall, {figures['cpu_s']:.2f} s CPU"
    print(f"product: {pass_figures} (the pass; the figures below include setup)")
    print("\nevent-loop steps:")
    for edge in STEP_EDGES_MS:
        long = [s for s in probes.steps if s * 1000 > edge]
        print(f"  longer than {edge:3d} ms: {len(long):5,} steps, {sum(long):5.2f} s in all")
    print(f"  longest: {max(probes.steps) * 1000:.0f} ms of {len(probes.steps):,} steps")
    idle = busy_world = writing = 0
    for (low, main_a, world_a), (high, main_b, world_b) in pairwise(samples):
        span = high - low
        if (main_b - main_a) / span >= 0.5:
            continue
        idle += 1
        busy_world += (world_b - world_a) / span > 0.8
        writing += in_flight(probes.cdf_flights, low, high) > 0.5
    print(f"\n{args.bucket_ms} ms buckets: {len(samples) - 1}; the main thread less than half busy in {idle}")
    print(f"  of those, the world more than 80 % busy in {busy_world}, a CDF request in flight in {writing}")
    print("\nrows of 50 ms or more (seconds since the probes began; a bar character is 0.1 s):")
    first = min((began for _, began, _ in probes.rows), default=0.0)
    for name, began, ended in sorted(probes.rows, key=lambda row: row[1]):
        if ended - began >= 0.05:
            bar = " " * int((began - first) * 10) + "=" * max(1, int((ended - began) * 10))
            print(f"  {name[:30]:30s} {began:6.2f} {ended:6.2f}  {bar}")


if __name__ == "__main__":
    main()
