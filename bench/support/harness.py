"""What the end-to-end benchmarks share: the world process, one measured product run, the floor replay.

`World` runs bench/support/world.py (simulated Plex + local CDF) in its own process; `run_product` runs
bench/support/product.py (one plex-cdf pass) in another and returns its figures; `replay_floor` sends a
recorded run's Plex requests and CDF writes again with bare httpx2 clients and no logic at all.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from plex_cdf.sim.cdf.routes import ROUTES, Router

HERE = Path(__file__).resolve().parent
API_KEY, PCN, DS_USER, DS_PASSWORD = "sim-key", "340884", "sim-user", "sim-password"
PROJECT, CLIENT_ID, CLIENT_SECRET = "bench", "bench", "local-bench-secret"  # local simulator credentials
DS_AUTH = httpx2.BasicAuth(DS_USER, DS_PASSWORD)
DOMAINS = ("master-data", "jobs", "production", "inventory", "quality", "performance")


def cpu_s(stat: str) -> float:
    """User + system CPU seconds of a /proc stat file: a process's (all its threads), or one thread's."""
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def say(text: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(text, file=sys.stderr, flush=True)


class World:
    """The simulated Plex and the local CDF in a child process, driven by one JSON line per command.

    Layouts (`layout`): "one" serves both from one process (the default; the figures in docs/performance.md
    use it unless they say otherwise); "split" runs the simulated Plex and the local CDF in a process each,
    as they are two services in the world, so a CDF write never holds up a Plex answer on the same
    interpreter; "pinned" is "one" with the world on CPU 1 and this process (so the product runs and the
    floor replays it starts) on CPU 0, so the product and the world never take each other's core."""

    CDF_COMMANDS = frozenset({"cdf_counts", "clear_cdf", "first_data"})
    LAYOUTS = ("one", "split", "pinned")

    def __init__(
        self, scale: str, now: datetime, calls_per_window: int, window_s: float = 60.0, layout: str = "one"
    ) -> None:
        command = [
            sys.executable,
            str(HERE / "world.py"),
            f"--scale={scale}",
            f"--calls-per-minute={calls_per_window}",
            f"--window-s={window_s}",
            f"--now={now.isoformat()}",
        ]
        if layout not in self.LAYOUTS:
            raise ValueError(f"unknown world layout {layout!r}: one of {', '.join(self.LAYOUTS)}")
        if layout == "pinned":
            command = ["taskset", "--cpu-list", "1", *command]
            os.sched_setaffinity(0, {0})
        if layout == "split":
            self.process = self._start([*command, "--serve=plex"])
            self.cdf_process: subprocess.Popen[str] | None = self._start([*command, "--serve=cdf"])
            ready = {**self._read(self.process), **self._read(self.cdf_process)}
        else:
            self.process, self.cdf_process = self._start(command), None
            ready = self._read(self.process)
        self.plex_url, self.cdf_url, self.token_url = ready["plex_url"], ready["cdf_url"], ready["token_url"]

    @staticmethod
    def _start(command: list[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    @staticmethod
    def _read(process: subprocess.Popen[str]) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"the benchmark world stopped (exit code {process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def ask(self, cmd: str, **arguments: Any) -> dict[str, Any]:
        """The answer of the process the command concerns (`reset` and `quit` go to both, when split)."""
        if self.cdf_process is not None and cmd in self.CDF_COMMANDS | {"reset", "quit"}:
            answer = self._ask(self.cdf_process, cmd, arguments)
            if cmd in self.CDF_COMMANDS:
                return answer
        return self._ask(self.process, cmd, arguments)

    def _ask(self, process: subprocess.Popen[str], cmd: str, arguments: dict[str, Any]) -> dict[str, Any]:
        assert process.stdin is not None
        process.stdin.write(json.dumps({"cmd": cmd, **arguments}) + "\n")
        process.stdin.flush()
        return self._read(process)

    def plex_log(self) -> list[tuple[float, str, str, str, int]]:
        with tempfile.NamedTemporaryFile(suffix=".json") as file:
            self.ask("plex_log", path=file.name)
            return [tuple(entry) for entry in json.load(open(file.name))]  # type: ignore[misc]

    def close(self) -> None:
        for process in (self.process, self.cdf_process):
            if process is not None and process.poll() is None:
                self._ask(process, "quit", {})
                process.wait(timeout=60)


def config_tree(world: World, state_path: Path, calls_per_window: int) -> dict[str, Any]:
    """A user's YAML file, as a tree, pointing at the world."""
    return {
        "cognite": {
            "host": world.cdf_url,
            "project": PROJECT,
            "idp-authentication": {
                "token-url": world.token_url,
                "client-id": CLIENT_ID,
                "secret": CLIENT_SECRET,
                "scopes": ["user_impersonation"],
            },
        },
        "plex": {
            "connect-url": world.plex_url,
            "datasource-url": world.plex_url,
            "api-key": API_KEY,
            "calls-per-minute": calls_per_window,
            "tenants": [{"pcn": PCN, "data-source": {"username": DS_USER, "password": DS_PASSWORD}}],
        },
        "extractor": {domain: {"interval": "15m"} for domain in DOMAINS},
        "state-store": {"local": {"path": str(state_path)}},
        "logger": {"console": {"level": "ERROR"}},
    }


@dataclass
class Run:
    """One measured plex-cdf pass, with what the world saw of it."""

    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    fetched: int
    written: int
    write_calls: int  # as the product reports them
    plex_calls: int  # as the simulated Plex logged them
    cdf_writes: int  # as the local CDF counted them
    failed: list[str]
    plex_paths: dict[str, int]

    @property
    def records_per_s(self) -> float:
        return self.fetched / self.wall_s if self.wall_s else 0.0

    @property
    def items_per_write(self) -> float:
        return self.written / self.write_calls if self.write_calls else 0.0


def run_product(
    world: World,
    name: str,
    config: dict[str, Any],
    now: datetime,
    *,
    setup: bool = False,
    record: Path | None = None,
    backfill: tuple[datetime, datetime] | None = None,
    only: Sequence[str] | None = None,
    window_s: float | None = None,
) -> Run:
    """One plex-cdf pass in its own process; the world's request counts are reset first."""
    world.ask("reset")
    with tempfile.TemporaryDirectory() as folder:
        spec = {
            "config": config,
            "now": now.isoformat(),
            "setup": setup,
            "record": str(record) if record else None,
            "backfill": [t.isoformat() for t in backfill] if backfill else None,
            "only": list(only) if only else None,
            "window_s": window_s,
            "stats": f"{folder}/stats.json",
        }
        Path(f"{folder}/spec.json").write_text(json.dumps(spec))
        subprocess.run([sys.executable, str(HERE / "product.py"), f"{folder}/spec.json"], check=True)
        figures = json.loads(Path(f"{folder}/stats.json").read_text())
    log = world.plex_log()
    paths: dict[str, int] = {}
    for _, method, path, _, _ in log:
        paths[f"{method} {path}"] = paths.get(f"{method} {path}", 0) + 1
    return Run(
        name=name,
        wall_s=figures["wall_s"],
        cpu_s=figures["cpu_s"],
        peak_rss_mb=figures["peak_rss_mb"],
        fetched=figures["fetched"],
        written=figures["written"],
        write_calls=figures["write_calls"],
        plex_calls=len(log),
        cdf_writes=world.ask("cdf_counts")["writes"],
        failed=figures["failed"],
        plex_paths=paths,
    )


def set_up_only(world: World, config: dict[str, Any], now: datetime, *, own_state: bool = True) -> None:
    """`plex-cdf setup` against the world; by default with a state of its own (a run's state that already
    knows the root and group assets would skip them)."""
    with tempfile.TemporaryDirectory() as folder:
        if own_state:
            config = {**config, "state-store": {"local": {"path": f"{folder}/state.db"}}}
        spec = {"config": config, "now": now.isoformat(), "setup": True, "setup_only": True, "stats": ""}
        Path(f"{folder}/spec.json").write_text(json.dumps(spec))
        subprocess.run([sys.executable, str(HERE / "product.py"), f"{folder}/spec.json"], check=True)


def wait_until_plex_idle(world: World, seconds: float, deadline_s: float = 120.0) -> None:
    """Poll until the simulated Plex has seen no request for `seconds` (its rolling window is empty)."""
    give_up = time.monotonic() + deadline_s
    while (idle := world.ask("idle")["seconds"]) is not None and idle < seconds:
        if time.monotonic() > give_up:
            raise SystemExit(f"the simulated Plex never went quiet for {seconds} s")
        time.sleep(min(1.0, seconds - idle + 0.05))


# ------------------------------------------------------------------------------------------------ floor

Request = tuple[float, str, str, dict[str, str], bytes]


def recorded(path: Path) -> Iterator[Request]:
    with open(path, "rb") as file:
        while True:
            try:
                yield pickle.load(file)
            except EOFError:
                return


@dataclass
class Floor:
    wall_s: float
    cpu_s: float  # the replaying clients' (this process's)
    plex_requests: int
    cdf_writes: int
    failures: int


def split_recording(path: Path, world: World) -> tuple[list[Request], list[Request]]:
    """(Plex requests, CDF write requests) of a recorded run, in the order the product sent them."""
    router = Router(ROUTES)
    plex, writes = [], []
    for entry in recorded(path):
        url = entry[2]
        if url.startswith(world.plex_url):
            plex.append(entry)
        elif url.startswith(world.cdf_url):
            found = router.match(
                entry[1], httpx2.URL(url).raw_path.decode().split("?")[0].split(PROJECT, 1)[1]
            )
            if found is not None and found[0].writes:
                writes.append(entry)
    return plex, writes


async def _replay(
    plex: list[Request], writes: list[Request], plex_concurrency: int, cdf_concurrency: int
) -> int:
    """Send every request as recorded: Plex reads at the product's concurrency; CDF writes in three
    dependency phases (`_phase`), each at the product's concurrency; reads and writes overlap, as they
    do in the product."""
    failures = 0

    async def send(client: Any, entry: Request, gate: asyncio.Semaphore) -> None:
        nonlocal failures
        _, method, url, headers, body = entry
        async with gate:
            # httpx2 applies a client's auth after `send` was called, so the recording lacks it
            auth = DS_AUTH if "/api/datasources/" in url else None
            answer = await client.request(method, url, headers=headers, content=body or None, auth=auth)
            await answer.aread()
            if answer.status_code >= 400:
                failures += 1
                if failures <= 5:
                    say(f"floor: {method} {url} answered {answer.status_code}: {answer.text[:300]}")

    # Each side on the client library and pool size the product uses for it (httpx2 for both), with a
    # pool of its own: one pool checks every pooled connection on each request, so sharing it slows both.
    plex_limits = httpx2.Limits(max_connections=plex_concurrency, max_keepalive_connections=plex_concurrency)
    cdf_limits = httpx2.Limits(max_connections=cdf_concurrency, max_keepalive_connections=cdf_concurrency)
    async with (
        httpx2.AsyncClient(timeout=600, limits=plex_limits) as plex_client,
        httpx2.AsyncClient(timeout=600, limits=cdf_limits) as cdf_client,
    ):
        plex_gate, cdf_gate, one = (
            asyncio.Semaphore(plex_concurrency),
            asyncio.Semaphore(cdf_concurrency),
            asyncio.Semaphore(1),
        )

        async def cdf_side() -> None:
            for entry in writes:
                if _phase(entry) == 0:
                    await send(cdf_client, entry, one)
            for phase in (1, 2):
                await asyncio.gather(*(send(cdf_client, e, cdf_gate) for e in writes if _phase(e) == phase))

        await asyncio.gather(cdf_side(), *(send(plex_client, e, plex_gate) for e in plex))
    return failures


def _phase(entry: Request) -> int:
    """Writes in dependency order: 0 asset creates (in order, a parent before its children); 1 other
    creates (events, time series, relationships, RAW rows); 2 what needs those (updates, datapoints)."""
    path = httpx2.URL(entry[2]).path
    if path.endswith("/assets"):
        return 0
    if path.endswith(("/update", "/data", "/delete")):
        return 2
    return 1


def replay_floor(recording: Path, world: World, plex_concurrency: int = 8, cdf_concurrency: int = 4) -> Floor:
    """The floor of a recorded run: its requests again, bare, into a CDF emptied and set up again."""
    plex, writes = split_recording(recording, world)
    began, cpu = time.perf_counter(), time.process_time()
    failures = asyncio.run(_replay(plex, writes, plex_concurrency, cdf_concurrency))
    return Floor(time.perf_counter() - began, time.process_time() - cpu, len(plex), len(writes), failures)


# ------------------------------------------------------------------------------------------------ table


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table: first column left-aligned, the rest right-aligned, numbers with separators."""
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(checks: Sequence[tuple[str, bool]], miss: str = "FAIL") -> int:
    """Print each target as PASS or `miss` with its text; the exit status: 0 when all pass, else 1."""
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else miss}  {text}")
    return 0 if all(ok for _, ok in checks) else 1
