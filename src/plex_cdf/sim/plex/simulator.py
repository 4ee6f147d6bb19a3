"""SimPlex: the simulated Plex tenant, its switches, its ground truth and its server thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn

from plex_cdf.sim.plex import connect
from plex_cdf.sim.plex.clock import SimClock
from plex_cdf.sim.plex.datasources import DataSources
from plex_cdf.sim.plex.defaults import DEFAULT_API_KEY, DEFAULT_DS_PASSWORD, DEFAULT_DS_USER, DEFAULT_PCN
from plex_cdf.sim.plex.master import TENANT
from plex_cdf.sim.plex.mix import make_uuid
from plex_cdf.sim.plex.plant import Plant, build_plant
from plex_cdf.sim.plex.scales import scale_named
from plex_cdf.sim.plex.server import BAD_ANSWER_KINDS, BadAnswer, Faults, LogEntry, PlexApp, Traffic

ROW_LIMIT_FLAGS = ("rowLimitExceeded", "rowLimitedExceeded", "limitExceeded")


def checked(faults: Faults) -> Faults:
    """The faults, or a ValueError naming the first switch out of range."""
    for name in ("fault_5xx", "fault_429"):
        share = getattr(faults, name)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} is a share of requests between 0 and 1, not {share}")
    if faults.latency_ms < 0:
        raise ValueError(f"latency_ms must not be negative, not {faults.latency_ms}")
    return faults


class Truth:
    """What the tenant holds: exactly what a route answers now, without faults, limits or row caps."""

    def __init__(self, sim: SimPlex) -> None:
        self._sim = sim

    @property
    def pcn(self) -> str:
        return self._sim.plant.master.pcn

    @property
    def tenant_id(self) -> str:
        return str(self._sim.plant.master.tenant["id"])

    def get(
        self, path: str, params: Mapping[str, str | list[str]] | None = None
    ) -> list[dict[str, Any]] | dict[str, Any]:
        pairs = [(k, v) for k, vs in (params or {}).items() for v in ([vs] if isinstance(vs, str) else vs)]
        _, result = self._sim.answer_connect(path, connect.lower_params(pairs))
        answer: list[dict[str, Any]] | dict[str, Any] = result
        return answer

    def datasource(self, source_id: int, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._sim.datasources.rows(source_id, inputs)


@dataclass
class Server:
    base_url: str
    thread: threading.Thread
    uvicorn: uvicorn.Server


class SimPlex:
    """A seeded, deterministic Plex tenant with Plex's quirks as switches (see docs/simulated-plex.md)."""

    def __init__(
        self,
        seed: int = 1,
        scale: str = "small",
        api_key: str = DEFAULT_API_KEY,
        pcn: str = DEFAULT_PCN,
        tenant_id: str | None = None,
        ds_user: str = DEFAULT_DS_USER,
        ds_password: str = DEFAULT_DS_PASSWORD,
        rate_limit_per_minute: int = 200,
        rate_limit_window_s: float = 60.0,
        retry_after: bool = True,
        empty_as_404: bool = False,
        fault_5xx: float = 0.0,
        fault_429: float = 0.0,
        latency_ms: int = 0,
        moves_400: bool = False,
        row_limit_flag: str = "rowLimitExceeded",
        now: datetime | None = None,
        clock_rate: float = 0.0,
        plant_zone: str | None = None,
    ) -> None:
        if row_limit_flag not in ROW_LIMIT_FLAGS:
            raise ValueError(
                f"row_limit_flag {row_limit_flag!r}: expected one of {', '.join(ROW_LIMIT_FLAGS)}"
            )
        if rate_limit_per_minute < 1:
            raise ValueError(f"rate_limit_per_minute must be at least 1, not {rate_limit_per_minute}")
        self.seed = seed
        self.clock = SimClock(now or datetime.now(UTC), clock_rate)
        self.plant: Plant = build_plant(seed, scale_named(scale), self.clock.now_ms(), pcn, tenant_id)
        self.rate_limit_per_minute = rate_limit_per_minute
        self.rate_limit_window_s = rate_limit_window_s
        self.retry_after = retry_after
        self.empty_as_404 = empty_as_404
        self.faults = checked(Faults(fault_5xx, fault_429, latency_ms, moves_400))
        self.traffic = Traffic()
        self.bad_answers: list[BadAnswer] = []
        self.datasources = DataSources(
            self.plant, self.clock.now_ms, ds_user, ds_password, row_limit_flag, plant_zone
        )
        tenant = str(self.plant.master.tenant["id"])
        self._pcns: dict[str, str] = {pcn: tenant}
        self._keys: dict[str, list[str]] = {api_key: [tenant]}
        self._subscriptions: dict[str, set[str]] = {api_key: set(connect.NAMESPACES)}
        self.truth = Truth(self)

    # -- switches --------------------------------------------------------------------------------------
    def set_faults(
        self,
        fault_5xx: float | None = None,
        fault_429: float | None = None,
        latency_ms: int | None = None,
        moves_400: bool | None = None,
    ) -> None:
        current = self.faults
        self.faults = checked(
            Faults(
                current.fault_5xx if fault_5xx is None else fault_5xx,
                current.fault_429 if fault_429 is None else fault_429,
                current.latency_ms if latency_ms is None else latency_ms,
                current.moves_400 if moves_400 is None else moves_400,
            )
        )

    def inject_bad_answer(self, path: str, kind: str, *, query: str = "", times: int | None = None) -> None:
        """Fault injection: GETs of `path` (decoded query containing `query`) answer a 200 with an empty body
        (`empty`), the list wrapped in an object (`object`) or a 404 (`404`), `times` times or until
        `clear_bad_answers()`."""
        if kind not in BAD_ANSWER_KINDS:
            raise ValueError(f"bad answer kind {kind!r}: expected one of {', '.join(BAD_ANSWER_KINDS)}")
        with self.traffic.lock:
            self.bad_answers.append(BadAnswer(path, kind, query, times))

    def clear_bad_answers(self) -> None:
        with self.traffic.lock:
            self.bad_answers.clear()

    def take_bad_answer(self, path: str, query: str) -> str | None:
        """The kind of bad answer injected for this GET, if any (one use of it is spent)."""
        with self.traffic.lock:
            for bad in self.bad_answers:
                if bad.path == path and bad.query in query and bad.times != 0:
                    if bad.times is not None:
                        bad.times -= 1
                    return bad.kind
        return None

    def grant_datasource(self, user: str, source_id: int, granted: bool = True) -> None:
        grants = self.datasources.grants.setdefault(user, set())
        (grants.add if granted else grants.discard)(source_id)

    def add_datasource_user(self, user: str, password: str, sources: Sequence[int] = ()) -> None:
        self.datasources.users[user] = password
        self.datasources.grants[user] = set(sources)

    def subscribe(self, api_key: str, namespace: str, subscribed: bool = True) -> None:
        """A key not subscribed to a namespace (product) gets 401 there, as Plex answers."""
        if namespace not in connect.NAMESPACES:
            raise ValueError(
                f"unknown namespace {namespace!r}; expected one of {', '.join(connect.NAMESPACES)}"
            )
        found = self._subscriptions.setdefault(api_key, set())
        (found.add if subscribed else found.discard)(namespace)

    def add_key(self, api_key: str, tenants: Sequence[str] = ()) -> None:
        """A key granted the given tenants (ids or PCNs; the first is its default). Tenants other than
        this one exist but hold no data."""
        self._keys[api_key] = [self._tenant_id(str(tenant)) for tenant in tenants]
        self._subscriptions.setdefault(api_key, set(connect.NAMESPACES))

    def _tenant_id(self, tenant: str) -> str:
        """A tenant's UUID from its UUID or PCN; another PCN gets a stable made-up UUID."""
        if tenant.isdigit():
            return self._pcns.setdefault(tenant, make_uuid(self.seed, TENANT, int(tenant)))
        return tenant.lower()

    def _tenant_rows(self, api_key: str) -> list[dict[str, Any]]:
        ours = self.plant.master.tenant
        return [
            dict(ours) if tenant == ours["id"] else {"id": tenant, "code": f"other-{n}"}
            for n, tenant in enumerate(self._keys.get(api_key, []))
        ]

    def subscriptions(self, api_key: str) -> set[str]:
        return self._subscriptions.get(api_key, set())

    def tenant_for(self, api_key: str | None, customer_id: str | None, tenant_id: str | None) -> str | None:
        """The tenant a request runs against, or None (401) for a bad key or a tenant the key lacks."""
        if api_key is None or api_key not in self._keys:
            return None
        granted = self._keys[api_key]
        if tenant_id is not None:
            wanted = tenant_id.lower()
        elif customer_id is not None:
            wanted = self._pcns.get(customer_id, "")
        else:
            wanted = granted[0] if granted else ""
        return wanted if wanted in granted else None

    # -- observation -----------------------------------------------------------------------------------
    def request_counts(self) -> Counter[str]:
        with self.traffic.lock:
            return Counter(self.traffic.counts)

    def request_log(self) -> list[LogEntry]:
        with self.traffic.lock:
            return list(self.traffic.log)

    def answer_connect(
        self,
        path: str,
        params: Mapping[str, Sequence[str]],
        api_key: str | None = None,
        tenant: str | None = None,
    ) -> tuple[str, Any]:
        """(path template, answer) of a GET as `api_key` sees `tenant`; without a key, this tenant's own
        view (the ground truth)."""
        tenants = None if api_key is None else self._tenant_rows(api_key)
        empty = tenant is not None and tenant != self.plant.master.tenant["id"]
        return connect.answer(
            self.plant, self.clock.now_ms(), path.rstrip("/") or "/", params, tenants, empty
        )

    # -- serving ---------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[Server]:
        """Serve on a background thread; returns once it accepts connections, stops on exit."""
        # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that say so, and with Nagle on
        # every small answer waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        config = uvicorn.Config(PlexApp(self), log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sim-plex", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"simulated Plex failed to start on {host}:{port}")
            time.sleep(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        try:
            yield Server(f"http://{shown}:{bound_port}", thread, server)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
