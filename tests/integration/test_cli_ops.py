"""`plex-cdf setup`, `status [--reconcile]`, `cleanup [--yes]` and `demo` through the real command
line against the simulated Plex and the local CDF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from cognite.client.data_classes import AssetWrite

from tests.integration.conftest import (
    WORLD_PCN,
    WORLD_PIPELINE,
    LocalCdfHandle,
    World,
    world_cli_env,
    world_row,
    world_table,
)

ROOT = f"PCN{WORLD_PCN}_facility_{WORLD_PCN}"
REPO = Path(__file__).resolve().parents[2]


def cdf_client(world: World) -> Any:
    return LocalCdfHandle(world.cdf, world.cdf_server).client()


# ------------------------------------------------------------------------------------------------- setup


def test_setup_creates_what_the_extractor_writes_into_and_is_safe_to_repeat(
    world_pair: World, world_config: Path
) -> None:
    first = world_pair.cli("setup", "-c", str(world_config))

    assert first.returncode == 0, f"`plex-cdf setup` failed:\n{first.stderr[-2000:]}"
    store = world_pair.cdf.store
    data_sets = sorted(d["externalId"] for d in store.data_sets())
    assert data_sets == [
        f"plex-cdf-{key}"
        for key in ("inventory", "maintenance", "master", "production", "quality", "scheduling")
    ], f"setup created data sets {data_sets}"
    assert f"extraction pipeline {WORLD_PIPELINE}: created" in first.stdout
    assert f"plex_PCN{WORLD_PCN}" in store.raw_databases(), "setup created no RAW database for the PCN"
    roots = [a for a in store.assets() if a["externalId"] == ROOT]
    assert len(roots) == 1 and "parentId" not in roots[0], f"no root asset {ROOT}"
    before = store.counts()

    again = world_pair.cli("setup", "-c", str(world_config))

    assert again.returncode == 0, f"a second `plex-cdf setup` failed:\n{again.stderr[-2000:]}"
    assert f"extraction pipeline {WORLD_PIPELINE}: exists" in again.stdout
    assert f"RAW database plex_PCN{WORLD_PCN}: exists" in again.stdout
    assert store.counts() == before, "a second setup changed what CDF holds"


def test_run_before_setup_says_to_run_setup(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("run", "--once", "-c", str(world_config))

    assert done.returncode == 2, f"a run without setup exited {done.returncode}"
    assert "run `plex-cdf setup` first" in done.stderr, f"the error does not say what to do: {done.stderr}"


# ------------------------------------------------------------------------------------------------ status


def test_status_shows_watermarks_last_runs_counts_and_lag(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)
    never = world_pair.cli("status", "-c", str(world_config))
    assert never.returncode == 0, f"status before any run failed:\n{never.stderr[-2000:]}"
    jobs = next(row for row in world_table(never.stdout) if row[:3] == [WORLD_PCN, "jobs", "jobs_open"])
    assert jobs[5] == "never", f"status before the first run does not say never: {jobs}"

    world_pair.cli("run", "--once", "-c", str(world_config))
    done = world_pair.cli("status", "-c", str(world_config))

    assert done.returncode == 0, f"status failed:\n{done.stderr[-2000:]}"
    rows = {row[2]: row for row in world_table(done.stdout) if row[0] == WORLD_PCN}
    entries = rows.get("production_entries")
    assert entries is not None, f"status has no production_entries row; resources: {sorted(rows)}"
    _, _, _, watermark, lag, last_run, result, fetched, _, pending = entries
    assert watermark != "-" and lag != "-", f"a windowed resource shows no watermark or lag: {entries}"
    assert last_run != "never" and result == "ok", f"production_entries last run: {entries}"
    assert int(fetched) > 0, f"production_entries shows nothing fetched: {entries}"
    assert pending == "0", f"windows left to fetch again (a quarantine, a refusal) are shown: {entries}"
    assert rows["parts"][3] == "-", "a snapshot resource shows a watermark"


def test_status_reconcile_lists_what_cdf_lacks(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)
    world_pair.cli("run", "--once", "-c", str(world_config))

    complete = world_pair.cli("status", "--reconcile", "-c", str(world_config))

    assert complete.returncode == 0, f"reconcile after a full run exited {complete.returncode}"
    lacking = [row for row in _reconcile_rows(complete.stdout) if row[4] != "0"]
    assert not lacking, f"reconcile reports objects missing after a complete run: {lacking}"
    customer = next(
        a for a in world_pair.cdf.store.assets() if a["externalId"].startswith("PCN340884_customer_")
    )
    cdf_client(world_pair).assets.delete(external_id=customer["externalId"])

    gap = world_pair.cli("status", "--reconcile", "-c", str(world_config))

    assert gap.returncode == 1, f"reconcile with an object missing exited {gap.returncode}"
    row = next((r for r in _reconcile_rows(gap.stdout) if r[1] == "customers"), None)
    assert row is not None, "reconcile has no customers row"
    assert row[4] == "1" and customer["externalId"] in row[5].replace(" ", ""), (
        f"reconcile does not name the deleted customer {customer['externalId']}: {row}"
    )


def _reconcile_rows(stdout: str) -> list[list[str]]:
    table = stdout.split("plex-cdf status --reconcile", 1)[-1]
    return [row for row in world_table(table) if len(row) == 6 and row[0] == WORLD_PCN]


# ----------------------------------------------------------------------------------------------- cleanup


def test_cleanup_lists_first_deletes_only_plex_cdf_objects_with_yes_and_the_next_run_restores(
    world_pair: World, world_config: Path
) -> None:
    world_pair.setup(world_config)
    world_pair.cli("run", "--once", "-c", str(world_config))
    client = cdf_client(world_pair)
    master = client.data_sets.retrieve(external_id="plex-cdf-master").id
    client.assets.create(
        [
            AssetWrite(external_id="someone-elses-pump", name="Pump", data_set_id=master),
            AssetWrite(external_id="PCN999999_facility_999999", name="Other plant", data_set_id=master),
            AssetWrite(external_id="PCN340884_hand_made", name="Hand-made, no data set"),
        ]
    )
    store = world_pair.cdf.store
    full = store.counts()

    listed = world_pair.cli("cleanup", "-c", str(world_config))

    assert listed.returncode == 0, f"cleanup (list) failed:\n{listed.stderr[-2000:]}"
    assert "would delete" in listed.stdout, "cleanup without --yes does not say it only lists"
    assert int(world_row(listed.stdout, "events")[1].replace(",", "")) == full["events"]
    assert store.counts() == full, "cleanup without --yes deleted something"

    deleted = world_pair.cli("cleanup", "--yes", "-c", str(world_config))

    assert deleted.returncode == 0, f"cleanup --yes failed:\n{deleted.stderr[-2000:]}"
    left = sorted(a["externalId"] for a in store.assets())
    assert left == ["PCN340884_hand_made", "PCN999999_facility_999999", "someone-elses-pump"], (
        f"cleanup --yes left or took the wrong assets: {left[:10]}"
    )
    assert not store.events() and not store.time_series() and not store.relationships()
    assert len(store.data_sets()) == 6, "cleanup deleted data sets"

    again = world_pair.cli("run", "--once", "-c", str(world_config))

    assert again.returncode == 0, f"the run after cleanup failed:\n{again.stderr[-2000:]}"
    restored = store.counts()
    for kind in ("events", "timeseries", "relationships"):
        assert restored[kind] == full[kind], (
            f"after cleanup a run restored {restored[kind]} {kind}, not {full[kind]}"
        )
    assert restored["assets"] == full["assets"], "after cleanup a run did not restore every asset"


# -------------------------------------------------------------------------------------------------- demo


def test_demo_exits_0_and_prints_the_summary_and_the_tree(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plex_cdf", "demo"],
        cwd=tmp_path,
        env=world_cli_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, f"`plex-cdf demo` exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "plex-cdf run summary" in done.stdout, "the demo printed no summary"
    assert ROOT in done.stdout and "Production line" in done.stdout, "the demo printed no plant-shaped tree"
    assert f"PCN{WORLD_PCN}_root_parts" in done.stdout, "parts have a tree of their own"


def test_make_demo_on_a_fresh_clone_runs_the_committed_tree(tmp_path: Path) -> None:
    """A fresh clone of the committed tree: `make demo` would install it and run `.venv/bin/plex-cdf demo`
    (installing needs the package index, which this machine cannot reach, so the clone's source runs on
    this environment's interpreter and dependencies instead)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=60)
    plan = subprocess.run(["make", "-n", "demo"], cwd=clone, capture_output=True, text=True, check=False)
    assert plan.returncode == 0, f"`make -n demo` failed in a fresh clone:\n{plan.stderr}"
    assert "pip install" in plan.stdout and ".venv/bin/plex-cdf demo" in plan.stdout, plan.stdout
    env = world_cli_env({"PYTHONPATH": str(clone / "src")})
    source = subprocess.run(
        [sys.executable, "-c", "import plex_cdf; print(plex_cdf.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert source.stdout.startswith(str(clone)), f"the demo would run {source.stdout}, not the clone"

    done = subprocess.run(
        [sys.executable, "-m", "plex_cdf", "demo"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, f"demo from a fresh clone exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "plex-cdf run summary" in done.stdout and ROOT in done.stdout, done.stdout[-2000:]
