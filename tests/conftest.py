"""Suite-wide settings: hypothesis runs on a shared 2-core machine, so no per-example deadline."""

from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.load_profile("default")
