"""The local world of the fault suite: the simulated Plex and the local CDF served in the test process, a
YAML configuration pointing at them, the real CLI as a subprocess, and the tenant's ground truth mapped
through the product's own transforms."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cognite.client import ClientConfig, CogniteClient
from cognite.client.credentials import OAuthClientCredentials
from cognite.client.data_classes.data_modeling import NodeId, ViewId
from cognite.client.data_classes.filters import HasData

from plex_cdf.domains.production import RESOURCES as PRODUCTION_ROWS
from plex_cdf.domains.registry import by_name
from plex_cdf.domains.resource import Context, TimeRange, Window
from plex_cdf.ids import joined_key
from plex_cdf.items import Datapoints, Event, TimeSeries
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.runner import dedupe
from plex_cdf.sim.cdf import LocalCdf, RunningServer
from plex_cdf.sim.plex import SimPlex

PCN = "340884"
PREFIX = f"PCN{PCN}_"
# The simulated tenant's clock stands still at this instant, so its history (14 days up to now) is fixed.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PROJECT = "plex-cdf-faults"
CLIENT_ID = "plex-cdf-faults"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Secrets:
    api_key: str = "sim-key"
    ds_user: str = "sim-user"
    ds_password: str = "sim-password"
    client_secret: str = "local-faults-secret"


@dataclass
class World:
    sim: SimPlex
    cdf: LocalCdf
    plex_url: str
    cdf_server: RunningServer
    folder: Path
    secrets: Secrets

    @property
    def state_path(self) -> Path:
        return self.folder / "state.db"

    def config_tree(self, **extra: Any) -> dict[str, Any]:
        """The YAML configuration for this world as a dict; sections in `extra` replace the defaults."""
        tree: dict[str, Any] = {
            "cognite": {
                "host": self.cdf_server.base_url,
                "project": PROJECT,
                "idp-authentication": {
                    "token-url": self.cdf_server.token_url,
                    "client-id": CLIENT_ID,
                    "secret": self.secrets.client_secret,
                    "scopes": ["user_impersonation"],
                },
                "timeout": "30s",
            },
            "plex": {
                "connect-url": self.plex_url,
                "datasource-url": self.plex_url,
                "api-key": self.secrets.api_key,
                "calls-per-minute": 100_000,
                "timeout": "30s",
                "tenants": [
                    {
                        "pcn": PCN,
                        "data-source": {
                            "username": self.secrets.ds_user,
                            "password": self.secrets.ds_password,
                        },
                    }
                ],
            },
            "state-store": {"local": {"path": str(self.state_path)}},
            "logger": {"console": {"level": "WARNING"}},
        }
        tree.update(extra)
        return tree

    def write_config(self, **extra: Any) -> Path:
        path = self.folder / "config.yaml"
        path.write_text(yaml.safe_dump(self.config_tree(**extra), sort_keys=False))
        return path


@contextmanager
def world(folder: Path, *, secrets: Secrets = Secrets(), latency_ms: int = 0) -> Iterator[World]:
    """Both simulators served on free loopback ports of this process."""
    sim = SimPlex(
        seed=1,
        scale="small",
        api_key=secrets.api_key,
        pcn=PCN,
        ds_user=secrets.ds_user,
        ds_password=secrets.ds_password,
        now=NOW,
        rate_limit_per_minute=100_000,
        latency_ms=latency_ms,
    )
    cdf = LocalCdf(project=PROJECT, client_id=CLIENT_ID, client_secret=secrets.client_secret, seed=7)
    with sim.serve() as plex, cdf.serve() as served:
        yield World(sim, cdf, plex.base_url, served, folder, secrets)


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plex_cdf", *args]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["COLUMNS"] = "200"  # the summary table and error lines are not wrapped
    env.pop("PLEX_API_KEY", None)
    return env


def run_cli(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(), cwd=ROOT
    )


def start_cli(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cli_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(), cwd=ROOT
    )


# --- ground truth -----------------------------------------------------------------------------------------

HISTORY_ROWS = tuple(r for r in PRODUCTION_ROWS if isinstance(r.mode, Window))


@dataclass
class Expected:
    """What CDF must hold for the production history of one backfill range."""

    events: dict[str, Event]
    series: dict[str, TimeSeries]
    points: dict[str, dict[int, float | str]]
    records: int


def production_truth(sim: SimPlex, span: TimeRange) -> Expected:
    """Every production, scrap, status and labor entry Plex holds in the range, through the product's
    transforms; quantity points summed per workcenter and instant, as the product's finish step does."""
    events: dict[str, Event] = {}
    series: dict[str, TimeSeries] = {}
    points: dict[str, dict[int, float | str]] = {}
    records = 0
    for row in HISTORY_ROWS:
        assert isinstance(row.mode, Window)
        params = {
            row.mode.begin_param: format_plex_datetime(span.begin),
            row.mode.end_param: format_plex_datetime(span.end),
        }
        rows = sim.truth.get(row.path, params)
        assert isinstance(rows, list)
        records += len(rows)
        lookups = {name: sim.truth.get(by_name()[name].path, {}) for name in row.lookup}
        ctx = Context(pcn=PCN, resource=row.name, now=NOW, window=span, lookups=lookups)
        items = [item for record in rows for item in row.transform(record, ctx)]
        if row.finish is not None:
            items += list(row.finish(rows, ctx))
        for item in dedupe(items):
            if isinstance(item, Event):
                events[item.external_id] = item
            elif isinstance(item, TimeSeries):
                series[item.external_id] = item
            elif isinstance(item, Datapoints):
                points.setdefault(item.external_id, {}).update(dict(item.points))
        keys = [joined_key(record, row.key) for record in rows]
        assert len(set(keys)) == len(keys), f"the simulated Plex repeats a {row.name} key"
    return Expected(events, series, points, records)


def history_span(days: int = 10) -> TimeRange:
    """From a UTC midnight (where the product cuts its day windows) up to the tenant's now."""
    midnight = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(midnight - timedelta(days=days), NOW)


def prefixed_assets(cdf: LocalCdf) -> set[str]:
    return {a["externalId"] for a in cdf.store.assets() if a["externalId"].startswith(PREFIX)}


def compare_with_cdf(
    cdf: LocalCdf, expected: Expected, kinds: Sequence[str], setup_assets: Collection[str]
) -> list[str]:
    """Every difference between what CDF holds and the ground truth, as sentences (empty when equal)."""
    problems: list[str] = []
    held = [e for e in cdf.store.events() if str(e.get("externalId", "")).startswith(PREFIX)]
    by_xid: dict[str, list[dict[str, Any]]] = {}
    for event in held:
        by_xid.setdefault(event["externalId"], []).append(event)
    twice = sorted(x for x, found in by_xid.items() if len(found) > 1)
    if twice:
        problems.append(f"{len(twice)} external ids held twice, e.g. {twice[0]}")
    missing = sorted(set(expected.events) - set(by_xid))
    extra = sorted(set(by_xid) - set(expected.events))
    if missing:
        problems.append(
            f"{len(missing)} of {len(expected.events)} Plex entries missing in CDF, e.g. {missing[0]}"
        )
    if extra:
        problems.append(f"{len(extra)} events in CDF that Plex does not hold, e.g. {extra[0]}")
    plex_keys: dict[tuple[str, str, str], list[str]] = {}
    for event in held:
        meta = event.get("metadata") or {}
        # One event per Plex key and type: a down status entry is also its downtime event.
        slot = (meta.get("plexResource", ""), meta.get("sourceId", ""), str(event.get("type")))
        plex_keys.setdefault(slot, []).append(event["externalId"])
    doubled = [k for k, xids in plex_keys.items() if len(xids) > 1]
    if doubled:
        problems.append(f"{len(doubled)} Plex keys written as two events, e.g. {doubled[0]}")
    wrong = [
        x
        for x in sorted(set(expected.events) & set(by_xid))
        if _event_differs(expected.events[x], by_xid[x][0])
    ]
    if wrong:
        problems.append(f"{len(wrong)} events differ from their Plex entry, e.g. {wrong[0]}")
    types = {e.get("type") for e in held}
    if not types <= set(kinds):
        problems.append(f"unexpected event types in CDF: {sorted(str(t) for t in types - set(kinds))}")
    held_series = {s["externalId"] for s in cdf.store.time_series() if s["externalId"].startswith(PREFIX)}
    if held_series != set(expected.series):
        problems.append(
            f"quantity series missing: {sorted(set(expected.series) - held_series)}, "
            f"unexpected: {sorted(held_series - set(expected.series))}"
        )
    assets = prefixed_assets(cdf)
    if assets != set(setup_assets):
        beyond = sorted(assets - set(setup_assets))
        problems.append(f"assets beyond setup's written by a production backfill: {beyond[:3]}")
    for xid, want in sorted(expected.points.items()):
        got = dict(cdf.store.datapoints(xid))
        if len(got) != len(want):
            problems.append(f"{xid}: {len(got)} datapoints in CDF, {len(want)} instants in Plex")
        elif any(not _same_point(got.get(t), v) for t, v in want.items()):
            problems.append(f"{xid}: datapoint values differ from what Plex booked")
    return problems


def _same_point(got: object, want: float | str) -> bool:
    """A number within 1e-9, a status text exactly."""
    if isinstance(want, str) or isinstance(got, str):
        return got == want
    return isinstance(got, int | float) and abs(got - want) <= 1e-9


def _event_differs(want: Event, got: dict[str, Any]) -> bool:
    return (
        got.get("type") != want.type
        or got.get("subtype") != want.subtype
        or got.get("startTime") != want.start_time
        or got.get("endTime") != want.end_time
        or (got.get("metadata") or {}) != dict(want.metadata or {})
        or got.get("description") != want.description
    )


# --- the data-modeling target ----------------------------------------------------------------------------

DATA_MODELING = {"type": "data-modeling"}


def instances_client(w: World) -> CogniteClient:
    credentials = OAuthClientCredentials(
        token_url=w.cdf_server.token_url,
        client_id=CLIENT_ID,
        client_secret=w.secrets.client_secret,
        scopes=["user_impersonation"],
    )
    config = ClientConfig(
        client_name="plex-cdf-faults",
        project=PROJECT,
        credentials=credentials,
        base_url=w.cdf_server.base_url,
    )
    return CogniteClient(config)


def compare_with_instances(w: World, expected: Expected, kinds: Sequence[str]) -> list[str]:
    """The data-modeling target's version of `compare_with_cdf`: activity and time-series nodes of the
    tenant's instance space, and their datapoints by instanceId."""
    client = instances_client(w)
    space, schema = f"plex_{PCN}", "plex_cdf"
    activity = ViewId(schema, "PlexActivity", "v1")
    nodes = client.data_modeling.instances.list("node", space=space, sources=activity, limit=-1)
    held = {
        n.external_id: dict(n.properties.get(activity, {})) for n in nodes if n.external_id.startswith(PREFIX)
    }
    events = {x: p for x, p in held.items() if p.get("plexType") in kinds or x in expected.events}
    problems: list[str] = []
    missing = sorted(set(expected.events) - set(events))
    extra = sorted(x for x, p in events.items() if x not in expected.events)
    if missing:
        problems.append(
            f"{len(missing)} of {len(expected.events)} Plex entries missing in CDF, e.g. {missing[0]}"
        )
    if extra:
        problems.append(f"{len(extra)} activities in CDF that Plex does not hold, e.g. {extra[0]}")
    keys: dict[tuple[str, str, str], int] = {}
    for props in events.values():
        data = props.get("extractedData") or {}
        key = (data.get("plexResource", ""), data.get("sourceId", ""), str(props.get("plexType")))
        keys[key] = keys.get(key, 0) + 1
    doubled = [k for k, n in keys.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} Plex keys written as two activities, e.g. {doubled[0]}")
    wrong = [
        x
        for x in sorted(set(expected.events) & set(events))
        if _activity_differs(expected.events[x], events[x])
    ]
    if wrong:
        problems.append(f"{len(wrong)} activities differ from their Plex entry, e.g. {wrong[0]}")
    series = ViewId(schema, "PlexTimeSeries", "v1")
    found = client.data_modeling.instances.list(
        "node", space=space, sources=series, limit=-1, filter=HasData(views=[series])
    )
    held_series = {n.external_id for n in found if n.external_id.startswith(PREFIX)}
    if held_series != set(expected.series):
        problems.append(f"quantity series differ: {sorted(held_series ^ set(expected.series))[:3]}")
    for xid, want in sorted(expected.points.items()):
        points = client.time_series.data.retrieve(instance_id=NodeId(space, xid), limit=None)
        # a workcenter status series is a state series on this target: its points are its string states
        values = (
            None if points is None else points.value if points.string_states is None else points.string_states
        )
        got = {} if points is None else dict(zip(points.timestamp, values or [], strict=True))
        if len(got) != len(want):
            problems.append(f"{xid}: {len(got)} datapoints in CDF, {len(want)} instants in Plex")
        elif any(not _same_point(got.get(t), v) for t, v in want.items()):
            problems.append(f"{xid}: datapoint values differ from what Plex booked")
    return problems


def _iso(ms: int | None) -> str | None:
    return (
        None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    )


def _activity_differs(want: Event, got: dict[str, Any]) -> bool:
    return (
        got.get("plexType") != want.type
        or got.get("plexSubtype") != want.subtype
        or got.get("startTime") != _iso(want.start_time)
        or got.get("endTime") != _iso(want.end_time)
        or {k: v for k, v in (got.get("extractedData") or {}).items() if k != "links"}
        != dict(want.metadata or {})
        or got.get("description") != want.description
    )
