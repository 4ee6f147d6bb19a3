"""One plex-cdf run in its own process, measured: `python bench/support/product.py SPEC.json`.

Run by bench/support/harness.py. SPEC names the configuration (a config tree), the clock instant, an
optional backfill range and domain list, an optional Plex rate window, `once` (default true; false runs
the service until SIGTERM), `clock_rate` (the product's clock runs that many times wall time), and
where to write the figures and (optionally) every HTTP request the product sent. The product runs
through its real code path, `plex_cdf.app.extract(config, once=..., clock=..., backfill=...)`;
`ops.setup` runs first when asked and is neither timed nor recorded.

Recording wraps `send` of httpx2 (the Plex client and the cognite-sdk both use it) and streams each request
(method, URL, headers, body bytes) to a pickle file as it is sent, so the
recording holds no memory of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import pickle
import resource
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import httpx2

from plex_cdf import app as service_module
from plex_cdf.app import extract
from plex_cdf.cdf.client import build_client
from plex_cdf.config import Config
from plex_cdf.domains.resource import TimeRange
from plex_cdf.ops import setup

DROPPED_HEADERS = ("host", "content-length")


def record_requests(out: BinaryIO) -> None:
    """Stream every request sent through httpx2 to `out` (token requests are left out)."""
    original = httpx2.AsyncClient.send

    async def send(self: Any, request: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
        if not request.url.path.endswith("/token"):
            headers = {k: v for k, v in request.headers.items() if k not in DROPPED_HEADERS}
            entry = (
                time.perf_counter(),
                request.method,
                str(request.url),
                headers,
                bytes(request.content),
            )
            pickle.dump(entry, out, protocol=pickle.HIGHEST_PROTOCOL)
        return await _original(self, request, *args, **kw)

    httpx2.AsyncClient.send = send


def narrow_plex_window(seconds: float) -> None:
    """The client's rate window (config only speaks of minutes): for a budget figure over a short window."""
    original = service_module.plex_settings

    def settings(config: Config, tenant: Any) -> Any:
        return dataclasses.replace(original(config, tenant), window_seconds=seconds)

    service_module.plex_settings = settings


def following(start: datetime, rate: float) -> Callable[[], datetime]:
    """The product's clock: still at `start`, or running `rate` times wall time from it (as the simulated
    Plex's clock does when a benchmark compresses time)."""
    if not rate:
        return lambda: start
    began = time.monotonic()
    return lambda: start + timedelta(seconds=(time.monotonic() - began) * rate)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    config = Config.model_validate(spec["config"])
    now = datetime.fromisoformat(spec["now"])
    client = build_client(service_module.cdf_settings(config))
    if spec.get("setup"):
        await setup(config, client)
    if spec.get("setup_only"):
        return {}
    backfill = None
    if spec.get("backfill"):
        begin, end = (datetime.fromisoformat(t) for t in spec["backfill"])
        backfill = TimeRange(begin, end)
    if spec.get("window_s"):
        narrow_plex_window(spec["window_s"])
    recording = open(spec["record"], "wb") if spec.get("record") else None  # noqa: SIM115
    if recording is not None:
        record_requests(recording)
    cpu, began = cpu_seconds(), time.perf_counter()
    results = await extract(
        config,
        once=spec.get("once", True),
        clock=following(now, spec.get("clock_rate") or 0.0),
        client=client,
        only=spec.get("only"),
        backfill=backfill,
    )
    wall, cpu = time.perf_counter() - began, cpu_seconds() - cpu
    if recording is not None:
        recording.close()
    totals = [r.totals() for r in results.values()]
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "fetched": int(sum(t["fetched"] for t in totals)),
        "written": int(sum(t["written"] for t in totals)),
        "unchanged": int(sum(t["unchanged"] for t in totals)),
        "write_calls": int(sum(t["cdf_calls"] for t in totals)),
        "plex_calls": sum(r.plex_calls for r in results.values()),
        "failed": [f"{r.resource}: {r.message}" for result in results.values() for r in result.failed()],
        "by_kind": _by_kind(results),
    }


def _by_kind(results: dict[str, Any]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for result in results.values():
        for report in result.reports:
            for kind, count in report.write.by_kind.items():
                kinds[kind] = kinds.get(kind, 0) + count
    return kinds


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    figures = asyncio.run(run(spec))
    if spec.get("stats"):
        with open(spec["stats"], "w") as out:
            json.dump(figures, out)


if __name__ == "__main__":
    main()
