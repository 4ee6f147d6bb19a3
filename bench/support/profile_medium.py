"""Where a cold medium run's CPU goes: one plex-cdf pass under cProfile with a process-time clock.

Run: cd bench && ../.venv/bin/python support/profile_medium.py [--target data-modeling] [--top 40]
The world (simulated Plex, medium plant, and the local CDF) runs in its own process, as in
extract_medium.py; the product runs in this one, through `product.run` (setup, then one pass), under
`cProfile.Profile(time.process_time)`, so waiting (on Plex, on CDF, on other processes of a busy machine)
costs nothing in the table: what is left is CPU. Prints the product's own wall and CPU seconds, the world's
CPU seconds during the pass, and the functions with the most cumulative CPU. The profiler inflates
Python-heavy functions several times over; compare functions with each other, not with the bench figures.
Not run by `make bench` (it prints no target).

`--bare` runs the pass without cProfile, for a sampling profiler that does not inflate Python code, e.g.
`py-spy record -r 200 -f raw -o /tmp/spy.txt -- ../.venv/bin/python support/profile_medium.py --bare`
(py-spy is not a dependency: install it anywhere, it attaches from outside).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extract_medium import BUDGET, NOW
from support import product
from support.harness import World, config_tree, cpu_s, say


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", choices=("classic", "data-modeling"), default="data-modeling")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--own", action="store_true", help="also list the functions by their own CPU")
    parser.add_argument("--bare", action="store_true", help="no cProfile: for an outside sampling profiler")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="profile-medium-"))
    say("starting the simulated Plex (medium) and the local CDF")
    world = World("medium", NOW, BUDGET)
    try:
        config = config_tree(world, folder / "state.db", BUDGET)
        config["destination"] = {"type": args.target}
        spec = {"config": config, "now": NOW.isoformat(), "setup": True}
        before = cpu_s(f"/proc/{world.process.pid}/stat")
        profile = cProfile.Profile(time.process_time)
        if args.bare:
            figures = asyncio.run(product.run(spec))
        else:
            profile.enable()
            figures = asyncio.run(product.run(spec))
            profile.disable()
        if os.environ.get("PROFILE_DUMP") and not args.bare:
            profile.dump_stats(os.environ["PROFILE_DUMP"])
        world_cpu = cpu_s(f"/proc/{world.process.pid}/stat") - before
    finally:
        world.close()
    profiled = "" if args.bare else " (profiled)"
    product_figures = f"{figures['wall_s']:.1f} s wall, {figures['cpu_s']:.1f} s CPU{profiled}"
    print(f"product: {product_figures}; world: {world_cpu:.1f} s CPU")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.bare:
        return
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    if args.own:
        stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
