"""A circuit breaker per endpoint: after `threshold` consecutive failed attempts the endpoint is left alone
for `cooldown_s` seconds, then one probe call may try it (half-open); its outcome closes or reopens it."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from plex_cdf.plex.budget import Clock

_ID_SEGMENT = re.compile(r"/(?:[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|\d+)(?=/|$)")


def endpoint_of(path: str) -> str:
    """The endpoint a path belongs to: UUID and integer segments become `{id}`, so one per-parent
    endpoint shares one breaker and one stats line."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0])


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


class CircuitBreakers:
    """All endpoints' circuits of one client."""

    def __init__(self, threshold: int, cooldown_s: float, clock: Clock = time.monotonic) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def blocked_for(self, endpoint: str) -> float | None:
        """None when a call may go ahead (closed, or the single half-open probe); else the seconds until
        the circuit half-opens (0 while another probe is out)."""
        circuit = self._circuits.get(endpoint)
        if circuit is None or circuit.opened_at is None:
            return None
        remaining = circuit.opened_at + self._cooldown_s - self._clock()
        if remaining > 0:
            return remaining
        if circuit.probing:
            return 0.0
        circuit.probing = True
        return None

    def succeeded(self, endpoint: str) -> None:
        self._circuits.pop(endpoint, None)

    def failed(self, endpoint: str) -> bool:
        """Count a failed attempt; True when this failure opened (or reopened) the circuit."""
        circuit = self._circuits.setdefault(endpoint, _Circuit())
        circuit.failures += 1
        if circuit.probing or (circuit.opened_at is None and circuit.failures >= self._threshold):
            circuit.opened_at = self._clock()
            circuit.probing = False
            return True
        return False

    def inconclusive(self, endpoint: str) -> None:
        """The attempt said nothing about the endpoint's health (a 429, a cancellation): a half-open
        circuit lets the next caller probe again."""
        circuit = self._circuits.get(endpoint)
        if circuit is not None:
            circuit.probing = False

    def open_endpoints(self) -> list[str]:
        return sorted(name for name, c in self._circuits.items() if c.opened_at is not None)
