"""Shared fixtures: a local CDF (named `local_cdf*`; see docs/local-cdf.md) and the simulated Plex + local CDF
pair the real command line runs against (named `world_*`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cognite.client import AsyncCogniteClient, ClientConfig, CogniteClient, global_config
from cognite.client.credentials import OAuthClientCredentials

from plex_cdf.sim.cdf import LocalCdf, RunningServer

LOCAL_CDF_PROJECT = "plex-cdf"
LOCAL_CDF_CLIENT_ID = "plex-cdf"
LOCAL_CDF_SECRET = "local-secret"


def client_config(server: RunningServer, project: str, client_id: str, secret: str) -> ClientConfig:
    """The cognite-sdk's configuration for a served local CDF."""
    credentials = OAuthClientCredentials(
        token_url=server.token_url, client_id=client_id, client_secret=secret, scopes=["user_impersonation"]
    )
    return ClientConfig(
        client_name="plex-cdf-tests", project=project, credentials=credentials, base_url=server.base_url
    )


@dataclass(frozen=True)
class LocalCdfHandle:
    """A served local CDF: the object (counts, faults, store) and where it listens."""

    cdf: LocalCdf
    server: RunningServer

    def client_config(self, client_secret: str = LOCAL_CDF_SECRET) -> ClientConfig:
        return client_config(self.server, LOCAL_CDF_PROJECT, LOCAL_CDF_CLIENT_ID, client_secret)

    def client(self) -> CogniteClient:
        return CogniteClient(self.client_config())

    def product_settings(self) -> Any:
        """The product's own CDF settings (plex_cdf.cdf.client.CdfSettings) for this local CDF."""
        from plex_cdf.cdf.client import CdfSettings

        return CdfSettings(
            host=self.server.base_url,
            project=LOCAL_CDF_PROJECT,
            token_url=self.server.token_url,
            client_id=LOCAL_CDF_CLIENT_ID,
            client_secret=LOCAL_CDF_SECRET,
        )

    def async_client(self) -> AsyncCogniteClient:
        return AsyncCogniteClient(self.client_config())


@pytest.fixture
def local_cdf() -> Iterator[LocalCdfHandle]:
    """A fresh, empty local CDF per test, served on a free loopback port."""
    global_config.disable_pypi_version_check = True
    cdf = LocalCdf(project=LOCAL_CDF_PROJECT, client_id=LOCAL_CDF_CLIENT_ID, client_secret=LOCAL_CDF_SECRET)
    with cdf.serve() as server:
        yield LocalCdfHandle(cdf, server)


@pytest.fixture
def local_cdf_client(local_cdf: LocalCdfHandle) -> CogniteClient:
    """The real cognite-sdk CogniteClient, authenticated by OAuth client credentials against `local_cdf`."""
    return local_cdf.client()


# ------------------------------------------------------------------------------------------- world_*
# A running simulated Plex + local CDF pair, a config file pointing at them, and the real `plex-cdf`
# command run as a subprocess (real exit codes, stdout/stderr and signals). See tests/integration/test_cli_*.


WORLD_API_KEY = "sim-key"
WORLD_PCN = "340884"
WORLD_DS_USER = "sim-user"
WORLD_DS_PASSWORD = "sim-password"
WORLD_CALLS_PER_MINUTE = 1200  # the simulated tenant grants tests more than Plex's 200 a minute
WORLD_PROJECT = "plex-cdf"
WORLD_CLIENT_ID = "plex-cdf"
WORLD_SECRET = "local-secret"
WORLD_PIPELINE = "plex-cdf-pipeline"


def world_sim_plex(**options: Any) -> Any:
    """A small simulated plant with the clock standing still at the last full hour (repeatable per test)."""
    from plex_cdf.sim.plex import SimPlex

    settings: dict[str, Any] = {
        "seed": 1,
        "scale": "small",
        "api_key": WORLD_API_KEY,
        "pcn": WORLD_PCN,
        "ds_user": WORLD_DS_USER,
        "ds_password": WORLD_DS_PASSWORD,
        "rate_limit_per_minute": WORLD_CALLS_PER_MINUTE,
        "now": datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
    }
    settings.update(options)
    return SimPlex(**settings)


def world_cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment without any of the predecessor's variables (they would configure the run),
    wide enough that rich tables are not cut."""
    from plex_cdf.config.legacy import LEGACY_NAMES

    env = {k: v for k, v in os.environ.items() if k not in LEGACY_NAMES}
    env.update({"COLUMNS": "220", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "TERM": "dumb"})
    env.update(extra or {})
    return env


@dataclass
class World:
    """The simulated Plex and the local CDF, both served on loopback, and a folder the commands run in."""

    plex: Any  # SimPlex
    plex_url: str
    cdf: LocalCdf
    cdf_server: RunningServer
    folder: Path

    @property
    def state_path(self) -> Path:
        return self.folder / "state.db"

    def config_tree(self) -> dict[str, Any]:
        """The configuration a user would write for this world (YAML keys), to adjust per test."""
        return {
            "cognite": {
                "host": self.cdf_server.base_url,
                "project": WORLD_PROJECT,
                "idp-authentication": {
                    "token-url": self.cdf_server.token_url,
                    "client-id": WORLD_CLIENT_ID,
                    "secret": WORLD_SECRET,
                    "scopes": ["user_impersonation"],
                },
                "extraction-pipeline": {"external-id": WORLD_PIPELINE, "heartbeat": "1s"},
            },
            "plex": {
                "connect-url": self.plex_url,
                "datasource-url": self.plex_url,
                "api-key": WORLD_API_KEY,
                "calls-per-minute": WORLD_CALLS_PER_MINUTE,
                "tenants": [
                    {
                        "pcn": WORLD_PCN,
                        "data-source": {"username": WORLD_DS_USER, "password": WORLD_DS_PASSWORD},
                    }
                ],
            },
            "extractor": {"first-run-reach": "2d"},
            "state-store": {"local": {"path": str(self.state_path)}},
            "logger": {"console": {"level": "INFO"}},
        }

    def write_config(self, tree: dict[str, Any] | None = None, name: str = "config.yaml") -> Path:
        path = self.folder / name
        path.write_text(yaml.safe_dump(tree or self.config_tree(), sort_keys=False), encoding="utf-8")
        return path

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "plex_cdf", *args]

    def cli(
        self, *args: str, timeout: float = 180, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`plex-cdf ARGS` in the world's folder; its exit code, stdout and stderr."""
        return subprocess.run(
            self.command(*args),
            cwd=self.folder,
            env=world_cli_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`plex-cdf ARGS` started in the background (stdout and stderr to files in the folder)."""
        with (self.folder / "stdout.txt").open("w") as out, (self.folder / "stderr.txt").open("w") as err:
            command, environment = self.command(*args), world_cli_env(env)
            return subprocess.Popen(command, cwd=self.folder, env=environment, stdout=out, stderr=err)

    def output(self) -> str:
        """What a command started with `start` printed so far (stdout, then stderr)."""
        return (self.folder / "stdout.txt").read_text() + (self.folder / "stderr.txt").read_text()

    def cdf_client(self) -> CogniteClient:
        """A cognite-sdk client of the world's local CDF (to read what the product wrote)."""
        return CogniteClient(client_config(self.cdf_server, WORLD_PROJECT, WORLD_CLIENT_ID, WORLD_SECRET))

    def setup(self, config: Path) -> None:
        done = self.cli("setup", "-c", str(config))
        assert done.returncode == 0, f"`plex-cdf setup` failed:\n{done.stdout}\n{done.stderr}"


@contextmanager
def world_serving(folder: Path, **plex_options: Any) -> Iterator[World]:
    global_config.disable_pypi_version_check = True
    sim = world_sim_plex(**plex_options)
    cdf = LocalCdf(project=WORLD_PROJECT, client_id=WORLD_CLIENT_ID, client_secret=WORLD_SECRET)
    folder.mkdir(parents=True, exist_ok=True)
    with sim.serve() as plex, cdf.serve() as server:
        yield World(sim, plex.base_url, cdf, server, folder)


@pytest.fixture
def world_pair(tmp_path: Path) -> Iterator[World]:
    """A small simulated plant and an empty local CDF on free loopback ports; commands run in tmp_path."""
    with world_serving(tmp_path / "work") as world:
        yield world


@pytest.fixture
def world_config(world_pair: World) -> Path:
    """A config file for `world_pair`: one tenant, SQLite state, pipeline reports, 1 s heartbeat."""
    return world_pair.write_config()


@contextmanager
def world_other_cdf() -> Iterator[tuple[LocalCdf, RunningServer]]:
    """A second, empty local CDF with the same project and credentials (to compare two runs' results)."""
    cdf = LocalCdf(project=WORLD_PROJECT, client_id=WORLD_CLIENT_ID, client_secret=WORLD_SECRET)
    with cdf.serve() as server:
        yield cdf, server


def world_point_at(tree: dict[str, Any], server: RunningServer, state_path: Path) -> dict[str, Any]:
    """The same configuration pointed at another local CDF, with its own state file."""
    tree["cognite"]["host"] = server.base_url
    tree["cognite"]["idp-authentication"]["token-url"] = server.token_url
    tree["state-store"] = {"local": {"path": str(state_path)}}
    return tree


_SERVER_FIELDS = {"id", "createdTime", "lastUpdatedTime", "rootId", "parentId", "dataSetId", "assetId"}


def world_cdf_content(cdf: LocalCdf, read_since: datetime) -> dict[str, Any]:
    """What plex-cdf wrote, independent of the ids and times one CDF assigns: every asset, event, time
    series (with its datapoints), relationship and RAW row by external id or key, internal references
    replaced by the external ids they point at.

    Points stamped at or after `read_since` are Plex's current figures (status, performance, WIP) stamped
    with the instant plex-cdf read them; two runs at two instants agree on the last value, never on the
    timestamp, so only that value is kept. The simulated plant's own history ends before the test starts."""
    read_since_ms = int(read_since.timestamp() * 1000)
    store = cdf.store
    assets = store.assets()
    asset_xid = {a["id"]: a.get("externalId") for a in assets}
    data_set_xid = {d["id"]: d.get("externalId") for d in store.data_sets()}

    def plain(item: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if k not in _SERVER_FIELDS}
        if "dataSetId" in item:
            out["dataSet"] = data_set_xid.get(item["dataSetId"])
        if "assetIds" in item:
            out["assetIds"] = sorted(str(asset_xid.get(i)) for i in item["assetIds"])
        if "assetId" in item:
            out["asset"] = asset_xid.get(item["assetId"])
        return out

    series = {t["externalId"]: plain(t) for t in store.time_series()}
    for xid, item in series.items():
        points = store.datapoints(xid)
        history = [(ts, value) for ts, value in points if ts < read_since_ms]
        sampled = [("read", value) for ts, value in points if ts >= read_since_ms][-1:]
        item["datapoints"] = history + sampled
    raw = {
        f"{db}/{table}": store.raw_rows(db, table)
        for db, tables in store.raw_databases().items()
        for table in tables
    }
    return {
        "assets": {a["externalId"]: plain(a) for a in assets},
        "events": {e["externalId"]: plain(e) for e in store.events()},
        "time series": series,
        "relationships": {r["externalId"]: plain(r) for r in store.relationships()},
        "raw": raw,
    }


def world_differences(got: dict[str, Any], want: dict[str, Any], limit: int = 8) -> list[str]:
    """Readable differences between two `world_cdf_content` results (missing, extra, changed)."""
    out: list[str] = []
    for kind in want:
        missing = sorted(set(want[kind]) - set(got[kind]))
        extra = sorted(set(got[kind]) - set(want[kind]))
        changed = sorted(k for k in set(want[kind]) & set(got[kind]) if want[kind][k] != got[kind][k])
        out += [f"{kind}: missing {k}" for k in missing[:limit]]
        out += [f"{kind}: unexpected {k}" for k in extra[:limit]]
        out += [
            f"{kind}: differs {k}: {_changed_fields(got[kind][k], want[kind][k])}" for k in changed[:limit]
        ]
    return out


def _changed_fields(got: Any, want: Any) -> str:
    if not isinstance(got, dict) or not isinstance(want, dict):
        return f"{got!r} != {want!r}"
    keys = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
    return "; ".join(f"{k}: {_changed_fields(got.get(k), want.get(k))}" for k in keys)


def world_table(text: str) -> list[list[str]]:
    """The rows of the rich tables in a command's output, cells stripped, wrapped cells joined."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0] or not rows or len(rows[-1]) != len(cells):
            rows.append(cells)
        else:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
    return rows


SUMMARY_ROW = re.compile(r"^(\d+/)?(master_data|jobs|production|inventory|quality|performance)\s")


def world_summary(text: str) -> dict[str, list[str]]:
    """The run summary's rows by their first cell: the domain (`PCN/domain` when the run had several
    tenants), then fetched, written, unchanged, quarantined, Plex calls, CDF calls, seconds and, when
    present, the notes as one cell."""
    return {
        cells[0]: cells
        for line in text.splitlines()
        if SUMMARY_ROW.match(line)
        for cells in [line.split(None, 8)]
    }


def world_row(text: str, first_cell: str) -> list[str]:
    """The table row whose first cell is `first_cell`; fails naming what the output holds otherwise."""
    rows = world_table(text)
    found = [row for row in rows if row[0] == first_cell]
    assert found, f"no row {first_cell!r} in the output; rows: {[row[0] for row in rows]}"
    return found[0]


def world_wait(condition: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `condition()` until it is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(interval)
