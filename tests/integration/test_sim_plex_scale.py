"""The command line and the large plant: one line with its base URL, and no paging at size."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2
import pytest

from plex_cdf.sim.plex import SimPlex

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = {"X-Plex-Connect-Api-Key": "sim-key"}


@pytest.fixture
def served_by_cli() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    command = [
        sys.executable,
        "-m",
        "plex_cdf",
        "sim",
        "plex",
        "--port",
        "0",
        "--seed",
        "3",
        "--rate-limit-per-minute",
        "1000",
        "--now",
        "2026-11-28T12:00:00Z",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_cli_prints_one_line_with_its_base_url_and_serves(
    served_by_cli: tuple[str, subprocess.Popen[str]],
) -> None:
    line, _ = served_by_cli
    base_url = line.rsplit(" ", 1)[-1]
    assert base_url.startswith("http://127.0.0.1:"), f"first line was {line!r}"
    tenants = httpx2.get(f"{base_url}/mdm/v1/tenants", headers=KEY).json()
    assert tenants == SimPlex(seed=3, now=START).truth.get("/mdm/v1/tenants")


def test_cli_rejects_a_bad_switch_with_one_clear_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plex_cdf", "sim", "plex", "--clock", "sometimes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--clock 'sometimes'" in done.stderr and done.stdout == ""


def naive_offset_loop(plex: httpx2.Client, path: str, page: int, stop_after: int) -> list[int]:
    """What the predecessor did: ask for `limit` rows at growing offsets until a short page comes back.
    Returns the page sizes seen; gives up after `stop_after` pages, because on Plex it never ends."""
    sizes: list[int] = []
    offset = 0
    while len(sizes) < stop_after:
        rows = plex.get(path, params={"limit": page, "offset": offset}).json()
        sizes.append(len(rows))
        if len(rows) < page:
            break
        offset += page
    return sizes


def test_medium_jobs_list_defeats_a_naive_offset_loop() -> None:
    sim = SimPlex(seed=1, scale="medium", now=START, rate_limit_per_minute=10_000)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY, timeout=120) as plex:
        sizes = naive_offset_loop(plex, "/scheduling/v1/jobs", page=1000, stop_after=4)
    total = len(sim.truth.get("/scheduling/v1/jobs"))
    assert total > 1000
    assert sizes == [total] * 4, "pages were cut to `limit`; Plex ignores limit and offset"


@pytest.mark.slow
def test_large_plant_serves_100k_jobs_in_one_response_and_a_naive_loop_never_ends() -> None:
    sim = SimPlex(seed=1, scale="large", now=START, rate_limit_per_minute=10_000)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY, timeout=300) as plex:
        whole = plex.get("/scheduling/v1/jobs")
        sizes = naive_offset_loop(plex, "/scheduling/v1/jobs", page=1000, stop_after=3)
    jobs = whole.json()
    assert whole.status_code == 200 and len(jobs) >= 100_000, f"only {len(jobs)} jobs in one response"
    assert len({job["id"] for job in jobs}) == len(jobs)
    assert sizes == [len(jobs)] * 3, (
        "the naive loop would have ended; on Plex it re-fetches everything forever"
    )
