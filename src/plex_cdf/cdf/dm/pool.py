"""Instance applies filled across writes: the changed instances of every `write` of a tenant's sink share
apply calls of up to 1,000, and full calls go out in parallel (the writer's concurrency gate).

A write hands its instances to the pool and waits until each one is acknowledged (its hash committed) or
refused (quarantined, left uncommitted), so the runner's promise holds: nothing it commits after `write`
returns is ahead of CDF. A full call is sent at once; a part-filled one waits at most `linger` seconds for
instances of other resources (domains write concurrently), then goes as it is.

Two versions of one instance never travel in calls that may overtake each other: the later one waits until
the call holding the earlier one is answered. A call CDF refuses for its content is halved until the refused
instances are found; each is reported to the write it came from.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plex_cdf.cdf.plan import Planned
from plex_cdf.cdf.transport import Json, Missing, Rejected
from plex_cdf.ports import WriteReport

Send = Callable[[list[Json], WriteReport], Awaitable[None]]
Landed = Callable[[list[Planned[Any]], WriteReport], None]
Refused = Callable[[Planned[Any], Exception, WriteReport], None]
LINGER_S = 0.05


@dataclass(eq=False)
class _Parcel:
    """One write's instances: its report, how many are still unanswered, and the future it waits on."""

    report: WriteReport
    left: int
    done: asyncio.Future[None]


@dataclass(slots=True)
class _Entry:
    planned: Planned[Any]
    parcel: _Parcel
    key: tuple[str, str, str] = field(init=False)

    def __post_init__(self) -> None:
        body = self.planned.body
        self.key = (str(body["instanceType"]), str(body["space"]), str(body["externalId"]))


class ApplyPool:
    """Fills apply calls from every write of one sink; see the module docstring."""

    def __init__(
        self, send: Send, landed: Landed, refused: Refused, *, size: int, linger: float = LINGER_S
    ) -> None:
        self._send = send
        self._landed = landed
        self._refused = refused
        self.size = size
        self.linger = linger
        self._pending: deque[_Entry] = deque()
        self._in_flight: Counter[tuple[str, str, str]] = Counter()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def apply(self, entries: Sequence[Planned[Any]], report: WriteReport) -> None:
        """Send `entries` (bodies made); return once every one was acknowledged or refused."""
        if not entries:
            return
        self._on_this_loop()
        parcel = _Parcel(report, len(entries), asyncio.get_running_loop().create_future())
        self._pending.extend(_Entry(entry, parcel) for entry in entries)
        self._dispatch(lingered=False)
        await parcel.done

    def _on_this_loop(self) -> None:
        """Forget what a finished event loop left (a sink may serve one `asyncio.run` after another): its
        timer and calls are gone, and what it had not sent was never committed, so it is simply dropped."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._pending.clear()
            self._in_flight.clear()
            self._timer = None

    # -- forming calls ----------------------------------------------------------------------------------

    def _dispatch(self, *, lingered: bool) -> None:
        """Send every full call; after the linger, the part-filled rest too; else arm the linger."""
        while self._pending:
            batch = self._take(full_only=not lingered)
            if not batch:
                break
            self._launch(batch)
        if self._pending and self._timer is None and not lingered:
            self._timer = asyncio.get_running_loop().call_later(self.linger, self._lingered)
        elif not self._pending and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _lingered(self) -> None:
        self._timer = None
        self._dispatch(lingered=True)

    def _take(self, *, full_only: bool) -> list[_Entry]:
        """Up to `size` sendable entries in arrival order (a second version of an instance, or one whose
        earlier version is in flight, stays behind); [] when `full_only` and a full call is not there."""
        batch: list[_Entry] = []
        held: list[_Entry] = []
        keys: set[tuple[str, str, str]] = set()
        while self._pending and len(batch) < self.size:
            entry = self._pending.popleft()
            if entry.key in keys or self._in_flight[entry.key]:
                held.append(entry)
            else:
                keys.add(entry.key)
                batch.append(entry)
        if full_only and len(batch) < self.size:
            held = batch + held
            batch = []
        self._pending.extendleft(reversed(held))
        return batch

    def _launch(self, batch: list[_Entry]) -> None:
        for entry in batch:
            self._in_flight[entry.key] += 1
        task = asyncio.get_running_loop().create_task(self._call(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- one call ---------------------------------------------------------------------------------------

    async def _call(self, batch: list[_Entry]) -> None:
        try:
            await self._halving(batch)
        except BaseException as err:
            for parcel in {entry.parcel for entry in batch}:
                _fail(parcel, err)
            if not isinstance(err, Exception):
                raise
        finally:
            for entry in batch:
                self._in_flight[entry.key] -= 1
                if not self._in_flight[entry.key]:
                    del self._in_flight[entry.key]
            if self._pending and self._timer is None:  # entries held back for this call's instances
                self._timer = asyncio.get_running_loop().call_later(self.linger, self._lingered)

    async def _halving(self, batch: list[_Entry]) -> None:
        try:
            await self._send([entry.planned.body for entry in batch], batch[0].parcel.report)
        except (Missing, Rejected) as err:
            if len(batch) == 1:
                entry = batch[0]
                self._refused(entry.planned, err, entry.parcel.report)
                _settle(batch)
                return
            half = len(batch) // 2
            await self._halving(batch[:half])
            await self._halving(batch[half:])
            return
        by_parcel: dict[_Parcel, list[Planned[Any]]] = {}
        for entry in batch:
            by_parcel.setdefault(entry.parcel, []).append(entry.planned)
        for parcel, planned in by_parcel.items():
            self._landed(planned, parcel.report)
        _settle(batch)


def _settle(batch: list[_Entry]) -> None:
    """These entries are answered; a parcel with none left is done."""
    for entry in batch:
        parcel = entry.parcel
        parcel.left -= 1
        if parcel.left == 0 and not parcel.done.done():
            parcel.done.set_result(None)


def _fail(parcel: _Parcel, err: BaseException) -> None:
    if parcel.done.done():
        return
    if isinstance(err, asyncio.CancelledError):
        parcel.done.cancel()
    else:
        parcel.done.set_exception(err)
