"""One simulated tenant: master data, jobs and history behind a clock, rendered the way Plex shows them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from plex_cdf.sim.plex.commerce import Commerce, build_commerce
from plex_cdf.sim.plex.history import History
from plex_cdf.sim.plex.jobs import JobTable, build_jobs, render_job, visible_jobs
from plex_cdf.sim.plex.master import (
    EDIT,
    KEY_BASE,
    Master,
    PartBase,
    Row,
    build_master,
    number_revision,
    style_of,
)
from plex_cdf.sim.plex.mix import mix
from plex_cdf.sim.plex.scales import Scale
from plex_cdf.sim.plex.timefmt import DAY, HOUR, emit, floor_day


@dataclass
class Plant:
    master: Master
    jobs: JobTable
    history: History
    _jobs_cache: tuple[int, list[Row]] | None = None
    _ids: dict[str, int] | None = None
    _keys: dict[str, dict[str, int]] = field(default_factory=dict)
    _commerce: Commerce | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def seed(self) -> int:
        return self.master.seed

    # -- parts change over time ------------------------------------------------------------------------
    def part_edits(self, part: PartBase, now: int) -> tuple[int, int]:
        """(edits so far, time of the last one or of creation)."""
        if now <= part.first_edit_ms:
            return 0, part.created_ms
        slots = (now - part.first_edit_ms) // part.edit_period_ms
        last = (
            part.first_edit_ms + slots * part.edit_period_ms + mix(self.seed, EDIT, part.index, slots) % HOUR
        )
        if last >= now:
            slots -= 1
            last = (
                part.first_edit_ms
                + slots * part.edit_period_ms
                + mix(self.seed, EDIT, part.index, slots) % HOUR
            )
        return (int(slots + 1), last) if slots >= 0 else (0, part.created_ms)

    def part_row(self, part: PartBase, now: int) -> Row:
        edits, modified = self.part_edits(part, now)
        row = dict(part.row)
        if edits:
            row["description"] = f"{row['description']} (change {edits})"
            row["leadTimeDays"] = None if row["leadTimeDays"] is None else (row["leadTimeDays"] + edits) % 30
        row["modifiedDate"] = emit(modified, style_of(self.seed, EDIT, part.index, edits))
        return row

    def parts(self, now: int) -> list[Row]:
        return [self.part_row(part, now) for part in self.master.parts]

    def inventory_parts(self, now: int) -> list[tuple[Row, int, int]]:
        """(row, created ms, updated ms) for `/inventory/v1/inventory-definitions/parts`."""
        result = []
        for part in self.master.parts:
            _, modified = self.part_edits(part, now)
            row = part.row
            result.append(
                (
                    {
                        "partId": row["id"],
                        "partNumber": row["number"],
                        "revision": row["revision"],
                        "partNumberRevision": number_revision(row),
                        "type": row["type"],
                        "source": row["source"],
                        "status": row["status"],
                        "lotRequired": row["type"] != "Raw Material",
                    },
                    part.created_ms,
                    modified,
                )
            )
        return result

    # -- jobs and containers ---------------------------------------------------------------------------
    def job_rows(self, now: int) -> list[Row]:
        """Every visible job at `now`; the last answer is kept, since a still clock repeats it."""
        with self._lock:
            if self._jobs_cache is not None and self._jobs_cache[0] == now:
                return self._jobs_cache[1]
        rows = [render_job(self.master, self.jobs, job, now) for job in visible_jobs(self.jobs, now)]
        with self._lock:
            self._jobs_cache = (now, rows)
        return rows

    def containers(self, now: int) -> list[Row]:
        return [self.history.container_state(container, now) for container in self.master.containers]

    def job_index(self, job_id: str) -> int | None:
        with self._lock:
            if self._ids is None:
                self._ids = {job_id: i for i, job_id in enumerate(self.jobs.ids)}
            return self._ids.get(job_id.lower())

    def commerce(self) -> Commerce:
        """Supply items, contacts, orders and lookups (built on first use; they do not change)."""
        with self._lock:
            if self._commerce is None:
                self._commerce = build_commerce(self.master)
            return self._commerce

    # -- the Data Source world's integer keys ----------------------------------------------------------
    def keys(self, kind: str) -> dict[str, int]:
        """Connect UUID -> integer key for one standard object (built on first use)."""
        with self._lock:
            if kind not in self._keys:
                self._keys[kind] = self._build_keys(kind)
            return self._keys[kind]

    def _build_keys(self, kind: str) -> dict[str, int]:
        base = KEY_BASE[kind]
        ids = {
            "Part": [p.row["id"] for p in self.master.parts],
            "Workcenter": [w["workcenterId"] for w in self.master.workcenters],
            "Building": [b["id"] for b in self.master.buildings],
            "Employee": [e["id"] for e in self.master.employees],
            "Location": [loc["locationId"] for loc in self.master.locations],
            "PartOperation": [op["id"] for p in self.master.parts for op in p.operations],
        }.get(kind)
        if ids is None:
            ids = self.jobs.ids
        return {value: base + i for i, value in enumerate(ids)}


def build_plant(seed: int, scale: Scale, start_ms: int, pcn: str, tenant_id: str | None) -> Plant:
    """History begins `history_days` before the start's UTC midnight and reaches up to the start instant."""
    origin = floor_day(start_ms) - scale.history_days * DAY
    master = build_master(seed, scale, origin, pcn, tenant_id)
    jobs = build_jobs(master)
    return Plant(master, jobs, History(master, jobs))
