"""Liveness and readiness for orchestrators, served beside the metrics.

- `/healthz` (liveness): the event loop still turns. A task beats every few seconds; no beat for
  `stale_after_s` means the process hangs and should be restarted.
- `/readyz` (readiness): the service has opened its clients and no tenant's Plex key and no CDF token is
  currently failing. Each check is a callable asked at request time that answers None (fine) or the
  problem in one line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

Check = Callable[[], str | None]
BEAT_EVERY_S = 5.0
STALE_AFTER_S = 120.0


class Health:
    """What the health endpoints answer; written by the service's thread, read by the server's."""

    def __init__(self, stale_after_s: float = STALE_AFTER_S, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._stale_after_s = stale_after_s
        self._last_beat = clock()
        self._checks: dict[str, Check] = {}
        self._open = False
        self._lock = threading.Lock()

    def beat(self) -> None:
        self._last_beat = self._clock()

    def opened(self, is_open: bool = True) -> None:
        """The service has (or no longer has) its clients open."""
        self._open = is_open

    def add_check(self, name: str, check: Check) -> None:
        with self._lock:
            self._checks[name] = check

    def live(self) -> tuple[bool, str]:
        silent = self._clock() - self._last_beat
        if silent > self._stale_after_s:
            return False, f"the event loop has not turned for {silent:.0f} s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if not self._open:
            return False, "starting: clients not open yet"
        with self._lock:
            checks = list(self._checks.items())
        problems = [f"{name}: {problem}" for name, check in checks if (problem := check())]
        return (False, "; ".join(problems)) if problems else (True, "ok")


def health_app(health: Health, metrics_app: WSGIApplication) -> WSGIApplication:
    """`/healthz` and `/readyz` as plain text (200 or 503); every other path is the metrics app."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/healthz", "/readyz"):
            return metrics_app(environ, start_response)
        fine, text = health.live() if path == "/healthz" else health.ready()
        body = (text + "\n").encode("utf-8")
        status = "200 OK" if fine else "503 Service Unavailable"
        start_response(
            status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return app
