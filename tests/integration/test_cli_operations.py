"""Operating plex-cdf as a plant IT team does (issue 20): a quiet console, warnings an operator acts on,
one `run` per state file, a clean exit after SIGTERM, tables that are not cut when piped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import World, world_serving

MAX_CONSOLE_LINES = 40  # start, one line per domain pass, warnings: never one per HTTP request


@pytest.mark.parametrize("scale", ["small", pytest.param("medium", marks=pytest.mark.slow)])
def test_a_run_once_at_info_prints_a_few_dozen_lines_not_one_per_request(tmp_path: Path, scale: str) -> None:
    with world_serving(tmp_path / "work", scale=scale) as world:
        config = world.write_config()
        world.setup(config)

        done = world.cli("run", "--once", "-c", str(config), timeout=600)

    assert done.returncode == 0, f"`run --once` failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    lines = done.stderr.splitlines()
    requests = [line for line in lines if "HTTP Request" in line or "HTTP/1.1" in line]
    assert not requests, f"the INFO console shows HTTP requests, e.g. {requests[:3]}"
    assert len(lines) <= MAX_CONSOLE_LINES, (
        f"a {scale} `run --once` at INFO printed {len(lines)} log lines; first ones: {lines[:10]}"
    )


def test_the_log_file_at_debug_still_gets_every_request(world_pair: World) -> None:
    tree = world_pair.config_tree()
    log_file = world_pair.folder / "plex-cdf.log"
    tree["logger"] = {"console": {"level": "INFO"}, "file": {"path": str(log_file), "level": "DEBUG"}}
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config))

    assert "HTTP Request" not in done.stderr, "the INFO console shows HTTP requests"
    logged = log_file.read_text(encoding="utf-8")
    assert "HTTP Request: GET" in logged, "the DEBUG log file lost the per-request lines"


def test_verify_tls_false_warns_with_the_fix(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["plex"]["verify-tls"] = False
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config))

    warnings = [line for line in done.stderr.splitlines() if "verify-tls" in line]
    assert warnings, f"verify-tls: false gave no warning:\n{done.stderr[-2000:]}"
    assert "WARNING" in warnings[0] and "set plex.verify-tls: true" in warnings[0], warnings[0]
