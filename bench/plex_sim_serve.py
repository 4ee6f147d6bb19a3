"""Serve rate of the simulated Plex: requests and MB per second for typical calls.

Run: .venv/bin/python bench/plex_sim_serve.py [--scale small] [--seconds 5]
The server runs as `plex-cdf sim plex` in its own process (no shared GIL with this client), with the
rate limit lifted so the figure is the simulator's own ceiling, not Plex's 200 calls a minute.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2

KEY = {"X-Plex-Connect-Api-Key": "sim-key"}
DAY = {"beginDate": "2026-11-27T00:00:00Z", "endDate": "2026-11-28T00:00:00Z"}
CALLS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("tenants (tiny)", "/mdm/v1/tenants", {}),
    ("parts list", "/mdm/v1/parts", {}),
    ("jobs list", "/scheduling/v1/jobs", {}),
    ("production entries, 1 day", "/production/v1/production-history/production-entries", DAY),
    ("status entries, 1 day", "/production/v1/production-history/workcenter-status-entries", DAY),
)


@contextmanager
def served(scale: str) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "plex_cdf",
        "sim",
        "plex",
        "--scale",
        scale,
        "--rate-limit-per-minute",
        "1000000000",
        "--now",
        "2026-11-28T12:00:00Z",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip().rsplit(" ", 1)[-1]
    finally:
        process.terminate()
        process.wait(timeout=30)


def rate(
    client: httpx2.Client, path: str, params: dict[str, str], seconds: float
) -> tuple[int, float, float]:
    """(requests, MB, elapsed s) of back-to-back calls for about `seconds`, at least 2 calls."""
    count, size = 0, 0
    began = time.perf_counter()
    while count < 2 or time.perf_counter() - began < seconds:
        answer = client.get(path, params=params)
        answer.raise_for_status()
        size += len(answer.content)
        count += 1
    return count, size / 1e6, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with served(args.scale) as base_url, httpx2.Client(base_url=base_url, headers=KEY, timeout=300) as client:
        print(f"simulated Plex, scale {args.scale}, one client, sequential calls")
        print(f"{'call':<28}{'rows':>9}{'req/s':>9}{'MB/s':>8}{'ms/req':>9}")
        for name, path, params in CALLS:
            rows = len(client.get(path, params=params).json())
            count, mb, elapsed = rate(client, path, params, args.seconds)
            per_second, per_call_ms = count / elapsed, 1000 * elapsed / count
            print(f"{name:<28}{rows:>9,}{per_second:>9.1f}{mb / elapsed:>8.1f}{per_call_ms:>9.1f}")


if __name__ == "__main__":
    main()
