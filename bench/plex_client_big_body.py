"""The Plex client on a very large body: a 114,684-row jobs list (the largest tenant seen) through
`PlexClient.get_list`, over an in-process transport so only the client's own work is timed.

Run: .venv/bin/python bench/plex_client_big_body.py
Prints the body size, seconds, rows per second and how much the process's peak RSS grew.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

import httpx2
import orjson

from plex_cdf.plex.client import PlexClient, PlexSettings

ROWS = 114_684


def job(i: int) -> dict[str, Any]:
    return {
        "id": f"{i:08d}-0000-4000-8000-000000000000",
        "externalJobCode": None,
        "jobNumber": f"J{i:07d}",
        "createdDate": "2024-01-01T00:00:00.123Z",
        "partId": "p",
        "partNumber": "PN-1",
        "partRevision": "A",
        "partNumberRevision": "PN-1 A",
        "dueDate": "2024-02-01T00:00:00Z",
        "completedDate": None,
        "quantity": 100,
        "quantityCompleted": 40,
        "jobStatus": "Open",
        "buildingId": "b",
        "buildingCode": "B1",
        "jobType": "Production",
        "earliestStartDateTime": None,
        "priority": 3,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def fetch(body: bytes) -> tuple[int, float, float]:
    """(rows, seconds, peak RSS growth MB) of one get_list over the body."""
    settings = PlexSettings(connect_url="https://connect.example", api_key="k" * 20)
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, content=body))
    async with PlexClient(settings, transport=transport) as client:
        before = peak_rss_mb()
        start = time.perf_counter()
        rows = await client.get_list("/scheduling/v1/jobs")
        seconds = time.perf_counter() - start
    return len(rows), seconds, peak_rss_mb() - before


def main() -> None:
    body = orjson.dumps([job(i) for i in range(ROWS)])
    rows, seconds, growth = asyncio.run(fetch(body))
    print("PlexClient.get_list on one large body (in-process transport)")
    print(f"{'rows':>9}{'body MB':>9}{'seconds':>9}{'rows/s':>11}{'peak RSS growth MB':>20}")
    print(f"{rows:>9,}{len(body) / 1e6:>9.1f}{seconds:>9.3f}{rows / seconds:>11,.0f}{growth:>20.0f}")


if __name__ == "__main__":
    main()
