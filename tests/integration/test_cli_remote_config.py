"""`type: remote`: the local file holds only the CDF connection, the configuration is the extraction
pipeline's latest revision in CDF (as Cognite's extractors keep it), and a new revision is picked up by a
running service without a restart."""

from __future__ import annotations

import signal
from typing import Any

import yaml
from cognite.client import CogniteClient
from cognite.client.data_classes import ExtractionPipelineConfigWrite

from tests.integration.conftest import (
    WORLD_PIPELINE,
    LocalCdfHandle,
    World,
    world_summary,
    world_wait,
)

EXIT_DEADLINE_S = 45.0


def sdk(world: World) -> CogniteClient:
    return LocalCdfHandle(world.cdf, world.cdf_server).client()  # the world's CDF has the same client


def upload(world: World, tree: dict[str, Any] | str) -> int:
    """A new configuration revision in the pipeline; its number."""
    text = tree if isinstance(tree, str) else yaml.safe_dump(tree, sort_keys=False)
    made = sdk(world).extraction_pipelines.config.create(
        ExtractionPipelineConfigWrite(external_id=WORLD_PIPELINE, config=text, description="test")
    )
    return int(made.revision or 0)


def remote_file(world: World) -> str:
    """The local file: `type: remote` and the CDF connection only, checking every second."""
    cognite = world.config_tree()["cognite"]
    cognite["extraction-pipeline"]["config-poll"] = "1s"
    return str(world.write_config({"type": "remote", "cognite": cognite}, name="remote.yaml"))


def without_cognite(tree: dict[str, Any], **domains: bool) -> dict[str, Any]:
    remote = {k: v for k, v in tree.items() if k != "cognite"}
    remote["extractor"] = {
        **remote["extractor"],
        **{d.replace("_", "-"): {"enabled": on} for d, on in domains.items()},
    }
    return remote


def wait_showing(world: World, condition: Any, timeout: float, what: str) -> None:
    """world_wait, and on failure what the service printed."""
    try:
        world_wait(condition, timeout, what)
    except AssertionError as failed:
        raise AssertionError(f"{failed}; the service printed:\n{world.output()[-3000:]}") from None


def events_of(world: World, kind: str) -> int:
    return sum(e.get("type") == kind for e in world.cdf.store.events())


def test_run_once_with_a_remote_configuration_runs_the_pipelines_revision(world_pair: World) -> None:
    world_pair.setup(world_pair.write_config())
    upload(world_pair, without_cognite(world_pair.config_tree()))

    done = world_pair.cli("run", "--once", "-c", remote_file(world_pair))

    assert done.returncode == 0, f"run with a remote configuration failed:\n{done.stderr[-3000:]}"
    rows = world_summary(done.stdout)
    assert {"master_data", "jobs", "production"} <= set(rows), f"summary rows: {sorted(rows)}"
    assert world_pair.state_path.exists(), "the revision's state-store was not used"


def test_a_pipeline_without_configuration_is_one_line(world_pair: World) -> None:
    world_pair.setup(world_pair.write_config())

    done = world_pair.cli("run", "--once", "-c", remote_file(world_pair))

    errors = [line for line in done.stderr.splitlines() if line.startswith("plex-cdf: ")]
    assert done.returncode == 2, f"exit {done.returncode}:\n{done.stderr[-2000:]}"
    assert len(errors) == 1 and WORLD_PIPELINE in errors[0] and "no configuration" in errors[0], errors


def test_a_new_revision_is_picked_up_without_a_restart_and_a_bad_one_is_refused(world_pair: World) -> None:
    world_pair.setup(world_pair.write_config())
    tree = world_pair.config_tree()
    only_master = {d: False for d in ("jobs", "production", "inventory", "quality", "performance")}
    upload(world_pair, without_cognite(tree, **only_master))

    process = world_pair.start("run", "-c", remote_file(world_pair))
    try:
        roots = len(world_pair.cdf.store.assets())  # `setup` wrote the root asset
        wait_showing(
            world_pair,
            lambda: len(world_pair.cdf.store.assets()) > roots,
            60,
            "the first revision's master data",
        )
        assert events_of(world_pair, "job") == 0, "a domain the first revision disables ran"

        bad = upload(world_pair, "plex:\n  tenants: []\n")
        world_wait(
            lambda: f"configuration revision {bad} of pipeline" in world_pair.output(), 30, "the refusal"
        )
        assert process.poll() is None, "a bad revision stopped the service"

        good = upload(
            world_pair,
            without_cognite(tree, jobs=True, **{k: v for k, v in only_master.items() if k != "jobs"}),
        )
        wait_showing(
            world_pair, lambda: events_of(world_pair, "job") > 0, 90, f"revision {good}'s jobs in CDF"
        )
        assert process.poll() is None, "the service restarted as a process to take the new revision"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=EXIT_DEADLINE_S)

    assert code == 0, f"the service exited {code}:\n{world_pair.output()[-3000:]}"
    assert f"configuration revision {good} of pipeline {WORLD_PIPELINE}" in world_pair.output()


def test_check_and_status_read_the_pipelines_revision_too(world_pair: World) -> None:
    world_pair.setup(world_pair.write_config())
    upload(world_pair, without_cognite(world_pair.config_tree()))
    remote = remote_file(world_pair)

    check = world_pair.cli("check", "-c", remote)
    status = world_pair.cli("status", "-c", remote)

    assert check.returncode == 0, f"check with a remote configuration failed:\n{check.stdout[-2000:]}"
    assert world_pair.plex_url in check.stdout, "check did not reach the Plex the revision names"
    assert status.returncode == 0, f"status with a remote configuration failed:\n{status.stderr[-2000:]}"
