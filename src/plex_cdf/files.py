"""Files that may hold what an operator must keep private (state, logs): readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_MODE = 0o600


def create_private(path: str | Path) -> None:
    """Create `path` with mode 0600 if it does not exist; take group and other access away if it does."""
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, PRIVATE_MODE)
    except OSError:
        return  # a directory, no permission, ...: the caller's own open names the problem
    try:
        if os.fstat(descriptor).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            os.fchmod(descriptor, PRIVATE_MODE)
    except OSError:
        pass  # not ours to change (e.g. a file on a read-only mount): leave it as it is
    finally:
        os.close(descriptor)
