"""The outside world for a benchmark, in its own process: the simulated Plex and the local CDF.

Run by bench/support/harness.py, never by hand. It prints one JSON line once both servers accept
connections, then answers one JSON line per command read from stdin:
  {"cmd": "plex_log", "path": FILE}   -> writes the simulated Plex's request log (JSON) to FILE
  {"cmd": "cdf_counts"}               -> {"writes": N, "counts": {"METHOD /route": n, ...}}
  {"cmd": "reset"}                    -> clears the Plex request log and the CDF request counts
  {"cmd": "clear_cdf"}                -> empties the local CDF store (for a floor replay into a fresh CDF)
  {"cmd": "idle"}                     -> {"seconds": since the last Plex request, or null}
  {"cmd": "advance", "seconds": S}    -> moves the simulated Plex clock forward
  {"cmd": "clock", "rate": R}         -> the simulated clock runs R times wall time from now; {"now": ISO}
  {"cmd": "budget", "calls": N, "window_s": W} -> the simulated Plex's rate limit from now on
  {"cmd": "first_data"}               -> {"production": n, "job": n}: events of each type with asset links
                                          (counting stops at one of each, so the poll stays cheap)
  {"cmd": "sizes"}                    -> the tenant's sizes: parts by type, workcenters, jobs
  {"cmd": "quit"}
Keeping both servers here means the product's RSS and CPU seconds, measured in its own process, are its own.
`--serve plex` or `--serve cdf` starts only one of the two (harness.World's split layout runs one process of
each and sends each command to the process whose server it concerns); the ready line then names only that
server's addresses.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from datetime import datetime, timedelta

from plex_cdf.sim.cdf import LocalCdf
from plex_cdf.sim.plex import SimPlex

API_KEY, PCN, DS_USER, DS_PASSWORD = "sim-key", "340884", "sim-user", "sim-password"
PROJECT, CLIENT_ID, CLIENT_SECRET = "bench", "bench", "local-bench-secret"  # local simulator credentials


def answer(value: object) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def serve_commands(sim: SimPlex, cdf: LocalCdf) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        match command["cmd"]:
            case "plex_log":
                with open(command["path"], "w") as out:
                    json.dump(sim.request_log(), out)
                answer({"entries": len(sim.request_log())})
            case "cdf_counts":
                answer({"writes": cdf.write_count(), "counts": dict(cdf.request_counts())})
            case "reset":
                with sim.traffic.lock:
                    sim.traffic.log.clear()
                    sim.traffic.counts.clear()
                cdf.reset_counts()
                answer({"ok": True})
            case "clear_cdf":
                cdf.reset_store()
                cdf.reset_counts()
                answer({"ok": True})
            case "idle":
                log = sim.request_log()
                answer({"seconds": time.monotonic() - log[-1][0] if log else None})
            case "advance":
                answer({"now": sim.clock.advance(timedelta(seconds=command["seconds"])).isoformat()})
            case "clock":
                answer({"now": sim.clock.set_rate(float(command["rate"])).isoformat()})
            case "budget":
                sim.rate_limit_per_minute = int(command["calls"])
                sim.rate_limit_window_s = float(command["window_s"])
                answer({"ok": True})
            case "first_data":
                answer(linked_events(cdf))
            case "sizes":
                answer(sizes(sim))
            case "quit":
                answer({"ok": True})
                return
            case other:
                answer({"error": f"unknown command {other!r}"})


def linked_events(cdf: LocalCdf) -> dict[str, int]:
    """Whether production-entry and job events with asset links are in the local CDF yet (at most one of
    each is counted; the store is read in place, as copying a large plant's events each poll would not do)."""
    found = {"production": 0, "job": 0}
    store = cdf._store  # the bench's own world process: a read under the store's lock
    with store.lock:
        for event in store.events.items.values():
            kind = event.get("type")
            if kind in found and not found[kind] and event.get("assetIds"):
                found[kind] = 1
                if all(found.values()):
                    break
    return found


def sizes(sim: SimPlex) -> dict[str, object]:
    master = sim.plant.master
    types: dict[str, int] = {}
    for part in master.parts:
        types[part.type] = types.get(part.type, 0) + 1
    return {"parts": types, "workcenters": len(master.workcenters), "jobs": len(sim.plant.jobs.created)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--calls-per-minute", type=int, default=100_000, help="calls per rate-limit window")
    parser.add_argument("--window-s", type=float, default=60.0)
    parser.add_argument("--now", required=True, help="the simulated Plex's start instant (ISO 8601, UTC)")
    parser.add_argument("--serve", choices=("both", "plex", "cdf"), default="both", help="which servers")
    args = parser.parse_args()
    sim = SimPlex(
        seed=1,
        scale=args.scale,
        api_key=API_KEY,
        pcn=PCN,
        ds_user=DS_USER,
        ds_password=DS_PASSWORD,
        rate_limit_per_minute=args.calls_per_minute,
        rate_limit_window_s=args.window_s,
        now=datetime.fromisoformat(args.now),
    )
    cdf = LocalCdf(project=PROJECT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with contextlib.ExitStack() as servers:
        ready: dict[str, str] = {}
        if args.serve in ("both", "plex"):
            ready["plex_url"] = servers.enter_context(sim.serve()).base_url
        if args.serve in ("both", "cdf"):
            local = servers.enter_context(cdf.serve())
            ready |= {"cdf_url": local.base_url, "token_url": local.token_url}
        answer(ready)
        serve_commands(sim, cdf)


if __name__ == "__main__":
    main()
