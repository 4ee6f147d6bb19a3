"""`plex-cdf demo`: the simulated Plex and a local CDF on free ports, setup, every domain once, a summary.

The same product code runs as against a real tenant; only the URLs and credentials point at the local
world. With `serve`, everything keeps running and the simulated clock advances.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from plex_cdf.config import Config

DEMO_PROJECT = "plex-cdf-demo"
DEMO_CLIENT_ID = "plex-cdf-demo"
DEMO_CLIENT_SECRET = "local-demo-secret"  # a local simulator's credential, not a real one
DEMO_API_KEY = "sim-key"
DEMO_DS_USER = "sim-user"
DEMO_DS_PASSWORD = "sim-password"
DEMO_PCN = "340884"
# The simulated tenant grants the demo a larger budget than Plex's 200 a minute so `make demo` ends within
# a minute; the product paces itself to whatever budget it is configured with.
DEMO_CALLS_PER_MINUTE = 1200


def demo_config(
    plex_url: str,
    cdf_url: str,
    token_url: str,
    state_path: Path,
    *,
    interval_s: int = 30,
    calls_per_minute: int = DEMO_CALLS_PER_MINUTE,
    target: str = "classic",
    plant: Mapping[str, Any] | None = None,
) -> Config:
    """A configuration pointing at the local world, shaped like a user's YAML file."""
    tree: dict[str, Any] = {
        "cognite": {
            "host": cdf_url,
            "project": DEMO_PROJECT,
            "idp-authentication": {
                "token-url": token_url,
                "client-id": DEMO_CLIENT_ID,
                "secret": DEMO_CLIENT_SECRET,
                "scopes": ["user_impersonation"],
            },
        },
        "plex": {
            "connect-url": plex_url,
            "datasource-url": plex_url,
            "api-key": DEMO_API_KEY,
            "calls-per-minute": calls_per_minute,
            "tenants": [
                {
                    "pcn": DEMO_PCN,
                    "data-source": {"username": DEMO_DS_USER, "password": DEMO_DS_PASSWORD},
                    **({"plant": dict(plant)} if plant else {}),
                }
            ],
        },
        "extractor": {
            domain: {"interval": f"{interval_s}s"}
            for domain in ("master-data", "jobs", "production", "inventory", "quality", "performance")
        },
        "state-store": {"local": {"path": str(state_path)}},
        "logger": {"console": {"level": "WARNING"}},
        "destination": {"type": target},
    }
    return Config.model_validate(tree)


@dataclass
class LocalWorld:
    config: Config
    clock: Callable[[], datetime]
    sim: Any
    cdf: Any


@contextmanager
def local_world(
    scale: str = "small",
    seed: int = 1,
    clock_rate: float = 0.0,
    calls_per_minute: int = DEMO_CALLS_PER_MINUTE,
    state_dir: Path | None = None,
    target: str = "classic",
    plant: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Iterator[LocalWorld]:
    """Start the simulated Plex and the local CDF in this process, on free loopback ports. `plant` (the
    tenant's `plant` section as YAML would give it) puts the tenant on a plant clock: the simulated Plex's
    data-source dates come out as local text in its `time-zone`, and the configuration names the same.
    `now`: the simulated clock's start (default: the real time)."""
    from plex_cdf.sim.cdf import LocalCdf
    from plex_cdf.sim.plex import SimPlex

    sim = SimPlex(
        seed=seed,
        scale=scale,
        api_key=DEMO_API_KEY,
        pcn=DEMO_PCN,
        ds_user=DEMO_DS_USER,
        ds_password=DEMO_DS_PASSWORD,
        clock_rate=clock_rate,
        rate_limit_per_minute=calls_per_minute,
        plant_zone=(plant or {}).get("time-zone"),
        now=now,
    )
    cdf = LocalCdf(project=DEMO_PROJECT, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET)
    with (
        tempfile.TemporaryDirectory(prefix="plex-cdf-demo-") as folder,
        sim.serve() as plex,
        cdf.serve() as local,
    ):
        state_path = (state_dir or Path(folder)) / "state.db"
        config = demo_config(
            plex.base_url,
            local.base_url,
            local.token_url,
            state_path,
            calls_per_minute=calls_per_minute,
            target=target,
            plant=plant,
        )
        yield LocalWorld(config, sim.clock.now, sim, cdf)


def run_async(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def run_demo(console: Any, *, serve: bool = False, scale: str = "small", target: str = "classic") -> int:
    """Exit code 0 when every domain ran; the summary table and a tree excerpt are printed either way."""
    from plex_cdf import render
    from plex_cdf.app import cdf_settings, extract
    from plex_cdf.cdf.client import build_client
    from plex_cdf.observe import setup_logging
    from plex_cdf.ops import setup

    with local_world(scale=scale, clock_rate=60.0 if serve else 0.0, target=target) as world:
        setup_logging(world.config.logger, secrets=world.config.secrets())
        console.print(f"simulated Plex ({scale} plant) and local CDF started on loopback")

        async def once() -> tuple[Any, Any]:
            client = build_client(cdf_settings(world.config))
            for line in await setup(world.config, client):
                console.print(f"  setup: {line}", markup=False, highlight=False)
            results = await extract(world.config, once=not serve, clock=world.clock, client=client)
            if world.config.destination.data_modeling:
                space = world.config.destination.instance_space_of(DEMO_PCN)
                nodes = await client.data_modeling.instances.list("node", space=space, limit=None)
                edges = await client.data_modeling.instances.list("edge", space=space, limit=None)
                return results, (len(nodes), len(edges), space)
            return results, await client.assets.list(limit=None)

        results, written = run_async(once())
        render.summary(console, results)
        if isinstance(written, tuple):
            nodes, edges, space = written
            console.print(f"Instance space {space} in the local CDF: {nodes:,} nodes, {edges:,} edges")
        else:
            console.print("Asset hierarchy in the local CDF (an excerpt):")
            render.asset_tree(console, written)
        return 1 if any(r.failed() for r in results.values()) else 0
