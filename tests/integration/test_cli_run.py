"""`plex-cdf run` through the real command line against the simulated Plex and the local CDF: one pass,
dry runs, domain selection, several tenants, pipeline runs, the metrics endpoint, and SIGTERM in service
mode (clean exit, nothing lost)."""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tests.integration.conftest import (
    WORLD_API_KEY,
    WORLD_DS_PASSWORD,
    WORLD_PCN,
    WORLD_PIPELINE,
    WORLD_SECRET,
    World,
    world_cdf_content,
    world_differences,
    world_other_cdf,
    world_point_at,
    world_serving,
    world_summary,
    world_table,
    world_wait,
)

EXIT_DEADLINE_S = 45.0  # SIGTERM: the current window finishes (grace 30 s), then the process exits


def plex_objects(world: World, pcn: str = WORLD_PCN) -> dict[str, int]:
    """How many assets, events and time series carry the PCN's external-id prefix."""
    prefix = f"PCN{pcn}_"
    store = world.cdf.store
    return {
        "assets": sum(a["externalId"].startswith(prefix) for a in store.assets()),
        "events": sum(e["externalId"].startswith(prefix) for e in store.events()),
        "time series": sum(t["externalId"].startswith(prefix) for t in store.time_series()),
    }


def test_run_once_fills_cdf_prints_the_summary_and_reports_a_successful_pipeline_run(
    world_pair: World, world_config: Path
) -> None:
    world_pair.setup(world_config)

    done = world_pair.cli("run", "--once", "-c", str(world_config))

    assert done.returncode == 0, f"`plex-cdf run --once` failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert "plex-cdf run summary" in done.stdout, "no summary table after a one-shot run"
    rows = world_summary(done.stdout)
    for domain in ("master_data", "jobs", "production", "inventory", "quality", "performance"):
        assert domain in rows, f"the summary has no row for {domain}: {sorted(rows)}"
        assert int(rows[domain][1].replace(",", "")) > 0, f"{domain}: the summary shows nothing fetched"
    written = plex_objects(world_pair)
    assert all(written.values()), f"a one-shot run left a kind of object empty in CDF: {written}"
    runs = world_pair.cdf.store.extpipe_runs(WORLD_PIPELINE)
    assert [r["status"] for r in runs] == ["success"], f"pipeline runs after one pass: {runs}"


def test_dry_run_fetches_and_reports_but_writes_nothing(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)
    before = world_pair.cdf.store.counts()
    world_pair.cdf.reset_counts()

    done = world_pair.cli("run", "--once", "--dry-run", "-c", str(world_config))

    assert done.returncode == 0, f"`run --once --dry-run` failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    row = world_summary(done.stdout)["production"]
    assert int(row[1].replace(",", "")) > 0, f"a dry run fetched no production records: {row}"
    assert world_pair.cdf.store.counts() == before, "a dry run changed what CDF holds"
    assert world_pair.cdf.write_count() == 0, f"a dry run sent writes: {world_pair.cdf.request_counts()}"


def test_only_runs_the_named_domains(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)

    done = world_pair.cli("run", "--once", "--only", "master-data,jobs", "-c", str(world_config))

    assert done.returncode == 0, f"`run --once --only master-data,jobs` failed:\n{done.stderr[-3000:]}"
    assert f"PCN {WORLD_PCN}" in done.stdout, "a one-tenant summary names its PCN in the title"
    tasks = {row[0] for row in _summary_rows(done.stdout)}
    assert tasks == {"master_data", "jobs"}, f"--only ran {sorted(tasks)}"
    types = {e.get("type") for e in world_pair.cdf.store.events()}
    assert types == {"job", "job_operation"}, (
        f"--only master-data,jobs wrote events of types {sorted(map(str, types))}"
    )


def test_only_with_an_unknown_domain_is_a_usage_error(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("run", "--once", "--only", "jobs,sales", "-c", str(world_config))

    assert done.returncode == 2, f"an unknown --only domain exited {done.returncode}"
    assert "unknown domain 'sales'" in done.stderr, f"the error does not name the domain: {done.stderr}"
    assert world_pair.cdf.write_count() == 0, "a usage error still wrote to CDF"


def test_a_run_stopped_by_a_revoked_key_exits_1_and_reports_a_failed_pipeline_run(world_pair: World) -> None:
    world_pair.setup(world_pair.write_config())
    tree = world_pair.config_tree()
    tree["plex"]["api-key"] = "revoked-key"
    config = world_pair.write_config(tree, "revoked.yaml")

    done = world_pair.cli("run", "--once", "-c", str(config))

    assert done.returncode == 1, f"a run with a revoked key exited {done.returncode}"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("plex-cdf: Plex: Plex rejected the Connect API key"), f"last line: {last}"
    runs = world_pair.cdf.store.extpipe_runs(WORLD_PIPELINE)
    assert [r["status"] for r in runs] == ["failure"], f"pipeline runs after a fatal error: {runs}"
    message = runs[0].get("message", "")
    assert 0 < len(message) <= 1000, f"failure message of {len(message)} characters"
    assert "rejected the Connect API key" in message, f"the failure message does not say why: {message}"
    for text in (done.stdout, done.stderr, message):
        assert "revoked-key" not in text, "the Plex key leaked into the output or the pipeline message"


def test_a_product_the_key_lacks_is_skipped_with_a_note_and_the_run_succeeds(
    world_pair: World, world_config: Path
) -> None:
    world_pair.setup(world_config)
    world_pair.plex.subscribe(api_key=WORLD_API_KEY, namespace="inventory", subscribed=False)

    done = world_pair.cli("run", "--once", "-c", str(world_config))

    assert done.returncode == 0, f"an unsubscribed product failed the run:\n{done.stderr[-2000:]}"
    notes = world_summary(done.stdout)["inventory"][-1]
    assert "locations: not_offered" in notes, f"the summary does not say inventory was skipped: {notes}"
    assert plex_objects(world_pair)["events"] > 0, "one missing product stopped the other domains"
    runs = world_pair.cdf.store.extpipe_runs(WORLD_PIPELINE)
    assert [r["status"] for r in runs] == ["success"], f"pipeline runs: {runs}"


def test_several_tenants_each_get_their_own_prefix_state_and_budget(world_pair: World) -> None:
    other = "777001"  # granted to the same key, holds no data
    world_pair.plex.add_key(api_key=WORLD_API_KEY, tenants=[WORLD_PCN, other])
    tree = world_pair.config_tree()
    del tree["cognite"]["extraction-pipeline"]  # with several tenants each reports to plex-cdf-{pcn}
    tree["plex"]["tenants"].append({"pcn": other, "calls-per-minute": 600})
    config = world_pair.write_config(tree)
    world_pair.setup(config)

    done = world_pair.cli("run", "--once", "-c", str(config))

    assert done.returncode == 0, f"a two-tenant run failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    tasks = {row[0].split("/")[0] for row in _summary_rows(done.stdout)}
    assert tasks == {WORLD_PCN, other}, f"the summary shows tenants {sorted(tasks)}"
    assert plex_objects(world_pair)["events"] > 0, "the tenant with data wrote no events"
    empty = plex_objects(world_pair, other)
    assert empty["events"] == empty["time series"] == 0, f"the tenant without data holds {empty}"
    roots = {a["externalId"]: a["id"] for a in world_pair.cdf.store.assets() if "parentId" not in a}
    own_root = roots.get(f"PCN{other}_facility_{other}")
    assert own_root is not None, f"the second tenant has no root asset of its own; roots: {sorted(roots)}"
    prefixed = [a for a in world_pair.cdf.store.assets() if a["externalId"].startswith(f"PCN{other}_")]
    own_roots = {i for x, i in roots.items() if x.startswith(f"PCN{other}_")}  # facility, parts, ...
    assert own_roots - {own_root}, "parts, suppliers, customers and statuses have roots of their own"
    assert all(a["rootId"] in own_roots for a in prefixed), "a second-tenant asset hangs under another root"
    for pcn in (WORLD_PCN, other):
        runs = world_pair.cdf.store.extpipe_runs(f"plex-cdf-{pcn}")
        assert [r["status"] for r in runs] == ["success"], f"PCN {pcn} pipeline runs: {runs}"
    status = world_pair.cli("status", "-c", str(config))
    pcns = {row[0] for row in _status_rows(status.stdout)}
    assert pcns == {WORLD_PCN, other}, f"status shows state for PCNs {sorted(pcns)}"


def test_service_mode_reports_heartbeats_and_serves_metrics_without_secrets(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["metrics"] = {"server": {"host": "127.0.0.1", "port": 0}}
    config = world_pair.write_config(tree)
    world_pair.setup(config)

    process = world_pair.start("run", "-c", str(config))
    try:
        world_wait(lambda: "metrics on http://" in world_pair.output(), 30, "the metrics endpoint to start")
        url = re.search(r"metrics on (http://\S+/metrics)", world_pair.output())
        assert url is not None
        world_wait(
            lambda: "plex_cdf_records_written_total{" in _get(url.group(1)),
            60,
            "the first pass to show in the metrics",
        )
        world_wait(
            lambda: any(r["status"] == "seen" for r in world_pair.cdf.store.extpipe_runs(WORLD_PIPELINE)),
            30,
            "a heartbeat (seen) run in the extraction pipeline",
        )
        metrics = _get(url.group(1))
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=EXIT_DEADLINE_S)
    assert code == 0, f"SIGTERM in service mode exited {code}:\n{world_pair.output()[-3000:]}"
    for family in ("plex_cdf_records_written_total", "plex_cdf_plex_requests_total", "plex_cdf_lag_seconds"):
        assert family in metrics, f"metrics lack {family}"
    for secret in (WORLD_API_KEY, WORLD_SECRET, WORLD_DS_PASSWORD):
        assert secret not in metrics, "a secret appears on the metrics endpoint"
        assert secret not in world_pair.output(), "a secret appears in the service's log"


def test_sigterm_mid_run_exits_cleanly_and_the_next_run_loses_nothing(tmp_path: Path) -> None:
    """Service mode against a slow Plex: SIGTERM in the middle of the first pass, exit 0 within the
    deadline, then `run --once` must leave CDF exactly as one uninterrupted run does."""
    began = datetime.now(UTC)
    with world_serving(tmp_path / "interrupted", latency_ms=40) as world:
        config = world.write_config()
        world.setup(config)
        process = world.start("run", "-c", str(config))
        try:
            world_wait(lambda: sum(world.plex.request_counts().values()) >= 80, 60, "80 Plex calls")
            assert process.poll() is None, "the service ended before it was stopped"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=EXIT_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(f"no exit within {EXIT_DEADLINE_S:.0f} s of SIGTERM") from None
        assert code == 0, f"SIGTERM exited {code}:\n{world.output()[-3000:]}"
        assert "stop requested" in world.output(), "the service did not log that it was stopping"
        partial = world_cdf_content(world.cdf, began)

        status = world.cli("status", "-c", str(config))
        assert status.returncode == 0, f"the state is unreadable after SIGTERM:\n{status.stderr[-2000:]}"
        world.plex.set_faults(latency_ms=0)
        resumed = world.cli("run", "--once", "-c", str(config))
        assert resumed.returncode == 0, f"the run after SIGTERM failed:\n{resumed.stderr[-3000:]}"
        after = world_cdf_content(world.cdf, began)

        with world_other_cdf() as (clean_cdf, clean_server):
            tree = world_point_at(world.config_tree(), clean_server, world.folder / "clean-state.db")
            clean_config = world.write_config(tree, "clean.yaml")
            world.setup(clean_config)
            clean = world.cli("run", "--once", "-c", str(clean_config))
            assert clean.returncode == 0, f"the uninterrupted run failed:\n{clean.stderr[-3000:]}"
            want = world_cdf_content(clean_cdf, began)

    assert len(partial["events"]) < len(want["events"]), "SIGTERM came too late to interrupt anything"
    differences = world_differences(after, want)
    assert not differences, "after SIGTERM and a rerun CDF differs from an uninterrupted run:\n" + "\n".join(
        differences
    )


def _summary_rows(stdout: str) -> list[list[str]]:
    return list(world_summary(stdout).values())


def _status_rows(stdout: str) -> list[list[str]]:
    return [row for row in world_table(stdout) if row[0].isdigit()]


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())
    except OSError:
        return ""
