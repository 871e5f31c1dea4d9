"""Stable 64-bit fingerprints of canonical states.

A canonical state's key is the tuple of its components' fingerprints (BLAKE2b of their
typed serialisation, :mod:`vmacheck.checker.core.encoding`); its fingerprint is xxHash's
XXH3-64 of that tuple packed as little-endian 64-bit words. Both are the same in every
process, run and machine, which is what partitioning a search across processes needs — unlike
Python's ``hash()``, which is salted for strings and maps ``-1`` and ``-2`` alike.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import xxhash

from vmacheck.protocol.model import Model
from vmacheck.protocol.state import State

from .canon import Canonicaliser
from .encoding import Components

_PACKERS: dict[int, Callable[..., bytes]] = {}


def fingerprint(key: tuple[int, ...]) -> int:
    """The 64-bit fingerprint of a canonical state's key."""
    pack = _PACKERS.get(len(key))
    if pack is None:
        pack = _PACKERS[len(key)] = struct.Struct(f"<{len(key)}Q").pack
    return xxhash.xxh3_64_intdigest(pack(*key))


class StateFingerprints:
    """Fingerprints of whole states of one model: of their canonical forms, so that states
    the reductions identify count once (the random engine's count of distinct states)."""

    def __init__(self, model: Model, ids: bool = True, symmetry: bool = True) -> None:
        self.comps = Components()
        self.canon = Canonicaliser(model, self.comps, ids=ids, symmetry=symmetry)

    def __call__(self, state: State) -> int:
        return fingerprint(self.canon(self.comps.encode(state))[1])
