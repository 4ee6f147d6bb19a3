"""`cleanup` must also forget what the state knew of a PCN, or the next run would write nothing."""

from datetime import UTC, datetime
from pathlib import Path

from plex_cdf.state.sqlite import SqliteStateStore


def test_forget_tenant_drops_only_that_pcns_state(tmp_path: Path) -> None:
    state = SqliteStateStore(tmp_path / "state.db")
    for pcn in ("1", "2"):
        state.commit_watermark(pcn, "jobs", datetime(2026, 1, 1, tzinfo=UTC))
        state.commit_hashes(pcn, "parts", {"PCN_part_a": "h"})
        state.set_value(pcn, "boms#full_refresh_at", "2026-01-01T00:00:00+00:00")
    state.forget_tenant("1")
    assert state.get_watermark("1", "jobs") is None
    assert state.get_hashes("1", "parts") == {}
    assert state.get_value("1", "boms#full_refresh_at") is None
    assert state.get_hashes("2", "parts") == {"PCN_part_a": "h"}, "another PCN's state must be kept"
    state.close()
