"""Suite-wide settings: hypothesis runs on a shared 2-core machine, so no per-example deadline.

The default suite (`make test`, what CI runs) draws the same examples every run, so a verdict on main never
depends on luck; `make test-slow` explores new random examples each run (`--hypothesis-profile=explore`),
which is where a new edge case turns up, to be pinned by a test of its own.
"""

from hypothesis import settings

settings.register_profile("default", deadline=None, derandomize=True)
settings.register_profile("explore", deadline=None)
settings.load_profile("default")
