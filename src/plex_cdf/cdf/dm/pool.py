"""Instance applies filled across writes: the changed instances of every `write` of a tenant's sink share
apply calls of up to 1,000, and full calls go out in parallel (the writer's concurrency gate).

A write hands its instances to the pool and waits until each one is acknowledged (its hash committed) or
refused (quarantined, left uncommitted), so the runner's promise holds: nothing it commits after `write`
returns is ahead of CDF. A full call is sent at once. Part-filled calls follow Nagle's rule, without a
timer: one may be in flight at a time; it goes once the writes ready in the same turn of the event loop
have joined, and while it is in flight the instances of other writes (domains write concurrently) gather
for the next one. An idle pool adds no wait; a busy one fills its calls.

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

    def __init__(self, send: Send, landed: Landed, refused: Refused, *, size: int) -> None:
        self._send = send
        self._landed = landed
        self._refused = refused
        self.size = size
        self._pending: deque[_Entry] = deque()
        self._in_flight: Counter[tuple[str, str, str]] = Counter()
        self._soon: asyncio.Handle | None = None  # the part-filled call's turn, when one is due
        self._partial_open = False  # a part-filled call is in flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def apply(self, entries: Sequence[Planned[Any]], report: WriteReport) -> None:
        """Send `entries` (bodies made); return once every one was acknowledged or refused."""
        if not entries:
            return
        self._on_this_loop()
        parcel = _Parcel(report, len(entries), asyncio.get_running_loop().create_future())
        self._pending.extend(_Entry(entry, parcel) for entry in entries)
        self._dispatch()
        await parcel.done

    def _on_this_loop(self) -> None:
        """Forget what a finished event loop left (a sink may serve one `asyncio.run` after another): its
        callbacks and calls are gone, and what it had not sent was never committed, so it is dropped."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._pending.clear()
            self._in_flight.clear()
            self._soon = None
            self._partial_open = False

    # -- forming calls ----------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Send every full call; leave the part-filled rest for `_partial` in the loop's next turn."""
        while len(self._pending) >= self.size:
            batch = self._take(full_only=True)
            if not batch:
                break
            self._launch(batch, partial=False)
        if self._pending and self._soon is None and not self._partial_open:
            self._soon = asyncio.get_running_loop().call_soon(self._partial)

    def _partial(self) -> None:
        """The part-filled call, now that every write of this turn has joined (one in flight at a time)."""
        self._soon = None
        if self._partial_open:
            return
        batch = self._take(full_only=False)
        if batch:
            self._launch(batch, partial=len(batch) < self.size)

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

    def _launch(self, batch: list[_Entry], *, partial: bool) -> None:
        for entry in batch:
            self._in_flight[entry.key] += 1
        self._partial_open = self._partial_open or partial
        task = asyncio.get_running_loop().create_task(self._call(batch, partial))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- one call ---------------------------------------------------------------------------------------

    async def _call(self, batch: list[_Entry], partial: bool) -> None:
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
            if partial:
                self._partial_open = False
            self._dispatch()  # what gathered meanwhile, or waited for this call's instances

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
