"""One `run` per state file: an advisory lock beside it (`{state}.lock`), held for the life of the process.

The lock is the kernel's (flock), so a killed process never leaves a stale one behind; the file only says
who holds it (process id, host, start time) so the second process can name the first.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class StateInUse(RuntimeError):
    """Another process holds the state file; the message names it."""


def lock_path(state_path: str | Path) -> Path:
    return Path(f"{state_path}.lock")


@contextmanager
def state_lock(state_path: str | Path) -> Iterator[None]:
    """Hold the state file's lock until the block ends; StateInUse at once when another process has it."""
    path = lock_path(state_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateInUse(_in_use(state_path, _holder(handle))) from None
        _write_holder(handle)
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_holder(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate(0)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat()}
    handle.write(json.dumps(holder))
    handle.flush()


def _holder(handle: IO[str]) -> dict[str, object]:
    handle.seek(0)
    try:
        found = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _in_use(state_path: str | Path, holder: dict[str, object]) -> str:
    since = str(holder.get("since"))[:19]
    who = (
        f"plex-cdf process {holder.get('pid')} on {holder.get('host')} (since {since})"
        if holder
        else "another plex-cdf process"
    )
    return (
        f"state file {state_path} is in use by {who}; fix: stop that process first, or give this one its"
        " own state-store.local.path (two runs on one state would both do all the work)"
    )
