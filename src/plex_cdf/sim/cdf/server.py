"""`LocalCdf`: the local CDF as an object tests start in-process, and the handle of a running server."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from plex_cdf.sim.cdf.app import SERVER_ERRORS, TOKEN_PATH, CdfApp, Faults
from plex_cdf.sim.cdf.auth import TokenIssuer
from plex_cdf.sim.cdf.dms import install as install_dms
from plex_cdf.sim.cdf.persist import load_snapshot, save_snapshot
from plex_cdf.sim.cdf.store import Store, StoreView

STARTUP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class RunningServer:
    host: str
    port: int
    project: str

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}{TOKEN_PATH}"


class LocalCdf:
    """A CDF project the unmodified cognite-sdk works against; `serve()` runs it on a background thread."""

    def __init__(
        self,
        project: str = "plex-cdf",
        client_id: str | None = "plex-cdf",
        client_secret: str | None = "local-secret",
        persist: str | Path | None = None,
        fault_429: float = 0.0,
        fault_5xx: float = 0.0,
        latency_ms: int = 0,
        token_ttl_s: int = 3600,
        seed: int | None = None,
    ) -> None:
        if not project or "/" in project:
            raise ValueError(f"project must be a non-empty name without '/', got {project!r}")
        if token_ttl_s <= 0:
            raise ValueError(f"token_ttl_s must be positive, got {token_ttl_s}")
        self.project = project
        self.persist_path = Path(persist) if persist is not None else None
        self._store = Store()
        install_dms(self._store)
        if self.persist_path is not None and self.persist_path.exists():
            load_snapshot(self._store, self.persist_path)
        issuer = TokenIssuer(client_id, client_secret, token_ttl_s)
        self.app = CdfApp(self._store, project, issuer, Faults(fault_429, fault_5xx, latency_ms), seed)
        if self.persist_path is not None:
            self.app.on_snapshot = self.snapshot
        self.store = StoreView(self._store)

    def request_counts(self) -> Counter[str]:
        """Requests per "METHOD /route-template" since the last reset, faulted ones included."""
        return self.app.counts.snapshot()

    def write_count(self) -> int:
        """Requests that changed (or tried to change) data; excludes tokens, reads and pipeline runs."""
        return self.app.counts.writes()

    def reset_counts(self) -> None:
        self.app.counts.reset()

    def reset_store(self) -> None:
        """Empty the project (assets, events, ..., RAW) while the server keeps running."""
        with self._store.lock:
            self._store.clear()
            install_dms(self._store)

    def set_faults(
        self,
        fault_429: float = 0.0,
        fault_5xx: float = 0.0,
        latency_ms: int = 0,
        server_errors: tuple[int, ...] = SERVER_ERRORS,
    ) -> None:
        """Replace the fault settings of a running (or not yet started) server; zeros switch faults off."""
        self.app.faults = Faults(fault_429, fault_5xx, latency_ms, server_errors)

    def snapshot(self) -> None:
        """Write the store to the `persist` file now (also done when `serve()` ends)."""
        if self.persist_path is None:
            raise RuntimeError("this LocalCdf was started without persist=FILE")
        save_snapshot(self._store, self.persist_path)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
        """Serve on a background thread; returns once the socket accepts connections; port 0 picks one."""
        # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say they are TCP; without it
        # every small answer waits ~40 ms for the client's delayed acknowledgement.
        sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1024)
        except OSError as exc:
            sock.close()
            raise OSError(f"local CDF cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="local-cdf", daemon=True
        )
        thread.start()
        try:
            _wait_started(server, thread)
            yield RunningServer(host, sock.getsockname()[1], self.project)
        finally:
            server.should_exit = True
            thread.join()
            sock.close()
            if self.persist_path is not None:
                self.snapshot()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Poll uvicorn's started flag (it offers no event); fail loudly if the thread died instead."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("local CDF server thread exited during startup")
        if time.monotonic() > deadline:
            raise RuntimeError(f"local CDF did not start within {STARTUP_TIMEOUT_S} s")
        time.sleep(0.005)
