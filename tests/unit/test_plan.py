"""`plex-cdf plan` over main's rows: configured rows and their own intervals, and windows cut by the
plant's clock (shift days), as a run cuts them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plex_cdf.config import Config
from plex_cdf.domains.performance import OEE_PER_SHIFT
from plex_cdf.plan import Plan, Sizes, plan_tenant
from tests.unit.test_config import MINIMAL, load

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
SIZES = Sizes(lists={}, completed_per_day=0)
PO = {"name": "pos", "path": "/purchasing/v1/purchase-orders", "key": ["id"]}


def config_with(tmp_path: Path, plant: dict[str, Any] | None = None, **extra: Any) -> Config:
    tenant = {**MINIMAL["plex"]["tenants"][0], **({"plant": plant} if plant else {})}
    return load(tmp_path, {**MINIMAL, "plex": {**MINIMAL["plex"], "tenants": [tenant]}, **extra})


def planned(config: Config) -> Plan:
    return plan_tenant(config, config.plex.tenants[0].pcn, 200, SIZES, NOW)


def test_a_configured_row_is_planned_at_its_own_interval(tmp_path: Path) -> None:
    every_pass = planned(config_with(tmp_path, resources=[PO]))
    daily = planned(config_with(tmp_path, resources=[{**PO, "interval": "1d"}]))
    [often] = [line for line in every_pass.lines if line.resource == "pos"]
    [seldom] = [line for line in daily.lines if line.resource == "pos"]
    assert often.per_minute > 0 and seldom.per_minute == 1 / (24 * 60)


def test_shift_day_windows_cost_nothing_without_shifts_and_one_call_a_shift_day_with_them(
    tmp_path: Path,
) -> None:
    shifts = {"time-zone": "America/Detroit", "shifts": [{"name": "Day", "start": "06:00", "end": "14:00"}]}
    without = planned(config_with(tmp_path))
    with_shifts = planned(config_with(tmp_path, shifts))
    [none] = [line for line in without.lines if line.resource == OEE_PER_SHIFT]
    [some] = [line for line in with_shifts.lines if line.resource == OEE_PER_SHIFT]
    assert none.cold_calls == 0 and none.per_minute == 0
    assert 7 <= some.cold_calls <= 8, "the default first-run reach (7 days) in shift days"
