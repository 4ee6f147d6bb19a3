"""Deterministic pseudo-randomness as a pure function of its inputs: the plant and its history are
functions of (seed, what, which), so any window can be regenerated without state."""

from __future__ import annotations

import random
import uuid

_MASK = (1 << 64) - 1


def _splitmix(value: int) -> int:
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def mix(*parts: int) -> int:
    """A 64-bit hash of integers, stable across runs and platforms: FNV-style folding (each step a
    bijection of the running value), then one splitmix64 finaliser to spread the bits."""
    value = 0xCBF29CE484222325
    for part in parts:
        value = ((value ^ (part & _MASK)) * 0x100000001B3) & _MASK
    return _splitmix(value)


def unit(*parts: int) -> float:
    """A float in [0, 1) from the hash of the parts."""
    return mix(*parts) / 2**64


def pick(options: tuple[str, ...], *parts: int) -> str:
    return options[mix(*parts) % len(options)]


def rng(*parts: int) -> random.Random:
    """A seeded generator for a burst of draws that belong together (one day of one workcenter, ...)."""
    return random.Random(mix(*parts))


def make_uuid(*parts: int) -> str:
    """A lower-case UUID v4 text, as Plex emits its ids."""
    high, low = mix(*parts, 1), mix(*parts, 2)
    return str(uuid.UUID(int=(high << 64) | low, version=4))
