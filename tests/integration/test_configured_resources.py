"""Configured resources through the real command line against the simulated Plex and the local CDF: the
ready-made blocks in docs/resources/ run end to end and equal the simulator's ground truth; data-source
rows in date windows (split at the row limit) as events, a snapshot as time series; a second run writes
nothing; an unknown path, an ungranted source and a mistake against a source's metadata each give one
clear line naming the fix."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from plex_cdf.app import raw_database
from plex_cdf.ids import external_id
from plex_cdf.plex.dates import format_plex_datetime, parse_plex_datetime, to_epoch_ms
from plex_cdf.windows import floor_to
from tests.integration.conftest import WORLD_DS_USER, WORLD_PCN, World

DOCS = Path(__file__).resolve().parents[2] / "docs" / "resources"
BLOCKS = ("purchase-orders", "sales-orders", "supply-items", "lots")


SCRAP_EVENTS: dict[str, Any] = {
    "name": "scrap_events",
    "path": "/production/v1/production-history/scrap-entries",
    "domain": "quality",
    "key": ["workcenterId", "transactionDate", "serialNo"],
    "mode": "windows",
    "windows": {"begin": "beginDate", "end": "endDate", "max-span": "1d"},
    "target": "events",
    "events": {
        "type": "scrap",
        "start-time": "transactionDate",
        "asset-links": {"workcenterId": "workcenter"},
    },
}
WC_PERFORMANCE: dict[str, Any] = {
    "name": "wc_performance",
    "data-source": 22870,
    "domain": "quality",
    "key": ["Workcenter_Code"],
    "target": "time-series",
    "time-series": {"value": "Performance", "series-key": ["Workcenter_Code"], "unit": "%"},
}


def ready_made() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for name in BLOCKS:
        entries += yaml.safe_load((DOCS / f"{name}.yaml").read_text(encoding="utf-8"))
    return entries


def truth_rows(world: World, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the simulated tenant holds for an entry, keyed as plex-cdf keys its RAW rows."""
    truth = world.plex.truth
    if entry["mode"] == "snapshot":
        records = truth.get(entry["path"])
        return {str(r[entry["key"][0]]): r for r in records}
    parent_entry = next(e for e in ready_made() if e["name"] == entry["per-parent"]["resource"])
    out = {}
    field = entry["per-parent"]["field"]
    for parent in truth.get(parent_entry["path"]):
        head, _, rest = entry["path"].partition("{")
        path = f"{head}{parent[field]}{rest.partition('}')[2]}"
        for r in truth.get(path):
            out[f"{parent[field]}|{r[entry['key'][0]]}"] = r
    return out


def test_ready_made_blocks_equal_the_ground_truth(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["resources"] = ready_made()
    config = world_pair.write_config(tree)
    world_pair.setup(config)

    done = world_pair.cli("run", "--once", "-c", str(config), "--only", "master-data,inventory,jobs")

    assert done.returncode == 0, f"run failed:\n{done.stdout}\n{done.stderr}"
    database = raw_database(WORLD_PCN)
    for entry in ready_made():
        want = truth_rows(world_pair, entry)
        got = world_pair.cdf.store.raw_rows(database, entry["name"])
        assert want, f"the simulated tenant holds no {entry['name']}: the test would prove nothing"
        assert sorted(got) == sorted(want), f"{entry['name']}: RAW keys differ from the tenant's records"
        differing = [k for k in want if got[k] != want[k]]
        assert not differing, f"{entry['name']}: rows differ from Plex's records: {differing[:3]}"

    status = world_pair.cli("status", "-c", str(config))
    assert "purchase_order_lines" in status.stdout, "status does not list the configured rows"
    cleaned = world_pair.cli("cleanup", "--yes", "-c", str(config))
    assert cleaned.returncode == 0, cleaned.stderr
    assert database not in world_pair.cdf.store.raw_databases(), "cleanup left the configured RAW tables"


def _lots_calls(world: World) -> int:
    return sum(c for key, c in world.plex.request_counts().items() if "inventory-tracking/lots" in key)


def test_rerun_writes_nothing_and_a_row_waits_for_its_interval(world_pair: World) -> None:
    tree = world_pair.config_tree()
    lots = next(e for e in ready_made() if e["name"] == "lots")
    tree["resources"] = [dict(lots, interval="0s")]
    config = world_pair.write_config(tree)
    world_pair.setup(config)
    first = world_pair.cli("run", "--once", "-c", str(config), "--only", "inventory")
    assert first.returncode == 0, first.stderr
    world_pair.cdf.reset_counts()
    calls = _lots_calls(world_pair)

    second = world_pair.cli("run", "--once", "-c", str(config), "--only", "inventory")

    assert second.returncode == 0, second.stderr
    assert _lots_calls(world_pair) > calls, "a row whose interval passed was not read again"
    raw_writes = {k: c for k, c in world_pair.cdf.request_counts().items() if k.startswith("POST /raw/")}
    assert raw_writes == {}, f"an unchanged rerun wrote RAW rows: {raw_writes}"

    tree["resources"] = [lots]  # interval 1h: the last run was moments ago
    config = world_pair.write_config(tree)
    calls = _lots_calls(world_pair)
    third = world_pair.cli("run", "--once", "-c", str(config), "--only", "inventory")
    assert third.returncode == 0, third.stderr
    assert _lots_calls(world_pair) == calls, "a row ran again before its interval passed"


def test_windows_as_events_and_a_snapshot_as_time_series(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["resources"] = [
        {
            "name": "problem_events",
            "data-source": 19938,
            "domain": "quality",
            "key": ["Problem_Log_Key"],
            "mode": "windows",
            "windows": {"begin": "Start_Date", "end": "End_Date", "max-span": "1d"},
            "target": "events",
            "events": {
                "type": "problem",
                "start-time": "Problem_Date",
                "end-time": "Closed_Date",
                "description": "Description",
            },
        },
        WC_PERFORMANCE,
    ]
    tree["resources"].append(SCRAP_EVENTS)
    config = world_pair.write_config(tree)
    world_pair.setup(config)

    done = world_pair.cli("run", "--once", "-c", str(config), "--only", "master-data,quality")

    assert done.returncode == 0, f"run failed:\n{done.stdout}\n{done.stderr}"
    now = world_pair.plex.clock.now()
    begin = floor_to(now - timedelta(days=2), timedelta(days=1))  # first-run reach, cut at whole days
    scrap = world_pair.plex.truth.get(
        "/production/v1/production-history/scrap-entries",
        {"beginDate": format_plex_datetime(begin), "endDate": format_plex_datetime(now)},
    )
    keys = {"|".join(str(r[f]) for f in ("workcenterId", "transactionDate", "serialNo")) for r in scrap}
    written = {e["externalId"]: e for e in world_pair.cdf.store.events() if e.get("type") == "scrap"}
    assert scrap and set(written) == {external_id(WORLD_PCN, "scrap_events", k) for k in keys}
    asset_xid = {a["id"]: a["externalId"] for a in world_pair.cdf.store.assets()}
    for record in scrap[:20]:
        key = "|".join(str(record[f]) for f in ("workcenterId", "transactionDate", "serialNo"))
        event = written[external_id(WORLD_PCN, "scrap_events", key)]
        linked = [asset_xid[i] for i in event.get("assetIds", [])]
        assert linked == [external_id(WORLD_PCN, "workcenter", record["workcenterCode"])], key  # readable
    events = {e["externalId"]: e for e in world_pair.cdf.store.events() if e.get("type") == "problem"}
    assert events, "no problem events were written"
    sample = next(iter(events.values()))
    key = sample["metadata"]["problemLogKey"]
    assert sample["externalId"] == external_id(WORLD_PCN, "problem_events", key)
    assert sample["startTime"] == to_epoch_ms(parse_plex_datetime(sample["metadata"]["problemDate"]))
    series = {t["externalId"]: t for t in world_pair.cdf.store.time_series()}
    performance = world_pair.plex.truth.datasource(22870, {})
    for row in performance:
        xid = external_id(WORLD_PCN, "wc_performance", row["Workcenter_Code"])
        assert xid in series, f"no series for workcenter {row['Workcenter_Code']}"
        assert series[xid]["unit"] == "%"
        points = world_pair.cdf.store.datapoints(xid)
        assert points and points[-1][1] == pytest.approx(row["Performance"]), xid


def _ungranted(world: World, tree: dict[str, Any]) -> None:
    world.plex.grant_datasource(user=WORLD_DS_USER, source_id=4142, granted=False)
    tree["resources"] = [
        {"name": "sheets", "data-source": 4142, "domain": "quality", "key": ["Checksheet_No"]},
    ]


def _wrong_input(world: World, tree: dict[str, Any]) -> None:
    tree["resources"] = [
        {
            "name": "sheets",
            "data-source": 4142,
            "domain": "quality",
            "key": ["Checksheet_No"],
            "inputs": {"Part_Number": "X"},
        },
    ]


def _wrong_column(world: World, tree: dict[str, Any]) -> None:
    tree["resources"] = [
        {"name": "sheets", "data-source": 4142, "domain": "quality", "key": ["Checksheet_Number"]},
    ]


def _unknown_path(world: World, tree: dict[str, Any]) -> None:
    tree["resources"] = [{"name": "pos", "path": "/purchasing/v1/purchase-order", "key": ["id"]}]


@pytest.mark.parametrize(
    ("breaks", "code", "says"),
    [
        (_ungranted, 1, "fix: ask Plex to grant data source 4142 to the web-service user 'sim-user'"),
        (_wrong_input, 2, "resources: 'sheets' (data source 4142): inputs.Part_Number is not an input"),
        (_wrong_column, 2, "key[0] 'Checksheet_Number' is not a column"),
        (_unknown_path, 2, "path /purchasing/v1/purchase-order is not a documented Plex Connect GET route"),
    ],
    ids=["not-granted", "unknown-input", "unknown-column", "unknown-path"],
)
def test_a_mistake_gives_one_clear_line_before_any_data_call(
    world_pair: World, breaks: Any, code: int, says: str
) -> None:
    tree = world_pair.config_tree()
    tree["logger"] = {"console": {"level": "ERROR"}}
    breaks(world_pair, tree)
    config = world_pair.write_config(tree)
    before = sum(c for p, c in world_pair.plex.request_counts().items() if p.endswith("/execute"))

    done = world_pair.cli("run", "--once", "--dry-run", "-c", str(config), "--only", "quality")

    assert done.returncode == code, f"exit {done.returncode}:\n{done.stderr}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{done.stderr}"
    assert says in lines[0], lines[0]
    after = sum(c for p, c in world_pair.plex.request_counts().items() if p.endswith("/execute"))
    assert after == before, "a data source was executed before the configuration was found wrong"


def test_backfill_of_a_configured_source_splits_at_the_row_limit_and_loses_nothing() -> None:
    """A configured data-source row in date windows, backfilled over 60 days of a medium plant in one
    window (a 10-year span): the answer exceeds the source's row limit, the window is split, every row
    becomes one event, and a second backfill writes nothing."""
    from plex_cdf.config.resources import ConfiguredResource
    from plex_cdf.domains.configured import build_row
    from plex_cdf.plex.client import PlexClient
    from plex_cdf.plex.dates import format_plex_datetime
    from plex_cdf.runner import Runner
    from plex_cdf.sim.plex import SimPlex
    from plex_cdf.windows import TimeRange, floor_to
    from tests.integration.test_plex_client_sim import plex_settings
    from tests.memory import MemoryState
    from tests.unit.test_runner import MemorySink

    row = build_row(
        ConfiguredResource.model_validate(
            {
                "name": "problem_events",
                "data-source": 19938,
                "domain": "quality",
                "key": ["Problem_Log_Key"],
                "mode": "windows",
                "windows": {"begin": "Start_Date", "end": "End_Date", "max-span": "3650d", "lookback": "0s"},
                "target": "events",
                "events": {"type": "problem", "start-time": "Problem_Date"},
            }
        )
    )
    sim = SimPlex(seed=1, scale="medium", now=datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    now = sim.clock.now()
    window = TimeRange(now - timedelta(days=60), now)
    # Windows are cut at multiples of the span (UTC), so the backfill reads from the plant's beginning.
    start = floor_to(window.begin, timedelta(days=3650))
    inputs = {"Start_Date": format_plex_datetime(start), "End_Date": format_plex_datetime(window.end)}
    truth = {str(r["Problem_Log_Key"]) for r in sim.truth.datasource(19938, inputs)}
    assert len(truth) > 1000, "the window must exceed the data source's row limit"

    async def backfill(client: PlexClient, state: MemoryState, sink: MemorySink) -> Any:
        runner = Runner(pcn="1", source=client, sink=sink, state=state, resources=[row], clock=lambda: now)
        return await runner.run(["problem_events"], window)

    with sim.serve() as server:
        state = MemoryState()
        sink = MemorySink(state)

        async def twice() -> tuple[Any, Any, int]:
            async with PlexClient(plex_settings(server.base_url)) as client:
                first = await backfill(client, state, sink)
                second = await backfill(client, state, sink)
                return first, second, client.stats.row_limit_splits

        (first,), (second,), splits = asyncio.run(twice())

    assert splits >= 1, "the window that hit the row limit was not split"
    assert first.status == "ok" and first.quarantined == 0
    assert {x.removeprefix("PCN1_problem_events_") for x in sink.store} == truth
    assert second.write.written == 0, "a second backfill of the same range wrote again"
