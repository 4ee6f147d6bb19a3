"""`plex-cdf backfill --from DATE [--to DATE] [--only ...]` through the real command line: progress bars,
history inside the range only, bad ranges refused, and an interrupted backfill resumed with nothing lost."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.conftest import (
    WORLD_PCN,
    World,
    world_cdf_content,
    world_differences,
    world_other_cdf,
    world_point_at,
    world_serving,
    world_summary,
    world_wait,
)

EXIT_DEADLINE_S = 45.0


def backfill_range(world: World) -> tuple[str, str]:
    """Six whole days of the simulated plant's history, ending two days before its clock."""
    now = world.plex.clock.now()
    return (now - timedelta(days=8)).date().isoformat(), (now - timedelta(days=2)).date().isoformat()


def ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def test_backfill_loads_the_range_with_progress_bars_and_nothing_outside_it(
    world_pair: World, world_config: Path
) -> None:
    world_pair.setup(world_config)
    begin, end = backfill_range(world_pair)

    done = world_pair.cli(
        "backfill", "--from", begin, "--to", end, "--only", "production", "-c", str(world_config)
    )

    assert done.returncode == 0, f"backfill failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert f"{WORLD_PCN} production_entries" in done.stdout and "6/6" in done.stdout, (
        f"no progress bar with six daily windows for production entries:\n{done.stdout[:2000]}"
    )
    assert int(world_summary(done.stdout)["production"][2].replace(",", "")) > 0
    entries = [e for e in world_pair.cdf.store.events() if e.get("type") == "production"]
    assert entries, "backfill wrote no production events"
    outside = [e["externalId"] for e in entries if not ms(begin) <= e["startTime"] < ms(end)]
    assert not outside, f"backfill wrote production events outside {begin}..{end}: {outside[:5]}"
    types = {e.get("type") for e in world_pair.cdf.store.events()}
    assert "job" not in types, "--only production still ran the jobs domain"


def test_backfill_refuses_a_range_that_ends_before_it_begins(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("backfill", "--from", "2026-11-20", "--to", "2026-11-10", "-c", str(world_config))

    assert done.returncode == 2, f"an empty range exited {done.returncode}"
    assert "must be before --to" in done.stderr, f"the error does not explain the range: {done.stderr}"
    bad = world_pair.cli("backfill", "--from", "last tuesday", "-c", str(world_config))
    assert bad.returncode == 2 and "not a date" in bad.stderr, f"a bad date: {bad.returncode} {bad.stderr}"


def test_an_interrupted_backfill_resumes_and_ends_equal_to_an_uninterrupted_one(tmp_path: Path) -> None:
    began = datetime.now(UTC)
    with world_serving(tmp_path / "interrupted", latency_ms=60) as world:
        config = world.write_config()
        world.setup(config)
        begin, end = backfill_range(world)
        args = ("backfill", "--from", begin, "--to", end, "--only", "production,quality", "-c", str(config))
        process = world.start(*args)
        try:
            world_wait(lambda: sum(world.plex.request_counts().values()) >= 12, 60, "12 Plex calls")
            assert process.poll() is None, "the backfill ended before it was interrupted"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=EXIT_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError(
                    f"backfill did not exit within {EXIT_DEADLINE_S:.0f} s of SIGTERM"
                ) from None
        assert code == 0, f"SIGTERM during backfill exited {code}:\n{world.output()[-3000:]}"
        partial = world_cdf_content(world.cdf, began)
        world.plex.set_faults(latency_ms=0)

        calls_before = sum(world.plex.request_counts().values())
        resumed = world.cli(*args)
        resumed_calls = sum(world.plex.request_counts().values()) - calls_before

        assert resumed.returncode == 0, f"the resumed backfill failed:\n{resumed.stderr[-3000:]}"
        after = world_cdf_content(world.cdf, began)
        with world_other_cdf() as (clean_cdf, clean_server):
            tree = world_point_at(world.config_tree(), clean_server, world.folder / "clean-state.db")
            clean_config = world.write_config(tree, "clean.yaml")
            world.setup(clean_config)
            calls_before = sum(world.plex.request_counts().values())
            clean = world.cli(*args[:-1], str(clean_config))
            clean_calls = sum(world.plex.request_counts().values()) - calls_before
            assert clean.returncode == 0, f"the uninterrupted backfill failed:\n{clean.stderr[-3000:]}"
            want = world_cdf_content(clean_cdf, began)

    assert len(partial["events"]) < len(want["events"]), "SIGTERM came too late to interrupt the backfill"
    differences = world_differences(after, want)
    assert not differences, (
        "an interrupted and resumed backfill differs from an uninterrupted one:\n" + "\n".join(differences)
    )
    assert resumed_calls < clean_calls, (
        f"the resumed backfill started over: {resumed_calls} Plex calls, a whole backfill takes {clean_calls}"
    )


def test_backfill_without_to_reaches_up_to_now(world_pair: World, world_config: Path) -> None:
    world_pair.setup(world_config)
    begin = (world_pair.plex.clock.now() - timedelta(days=1)).date().isoformat()

    done = world_pair.cli("backfill", "--from", begin, "--only", "production", "-c", str(world_config))

    assert done.returncode == 0, f"backfill without --to failed:\n{done.stderr[-2000:]}"
    starts = [e["startTime"] for e in world_pair.cdf.store.events() if e.get("type") == "production"]
    assert starts and min(starts) >= ms(begin), "backfill without --to wrote nothing from --from on"
    newest = datetime.fromtimestamp(max(starts) / 1000, UTC)
    assert world_pair.plex.clock.now() - newest < timedelta(hours=3), (
        f"backfill without --to stopped at {newest:%Y-%m-%d %H:%M}, hours before the plant's clock"
    )
