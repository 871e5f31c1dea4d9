"""The seen-set: which states a search has met, their numbers and parent links.

One interface, two stores (TLC's FPSet has the same split):

- :class:`ExactStore` keeps every canonical state's component tuple: no two states are ever
  confused; memory grows with the states (a tuple of small numbers each).
- :class:`FingerprintStore` keeps a 64-bit fingerprint per state, in sorted numpy runs
  merged as they grow (a log-structured set), plus the fingerprint and the parent of each
  state by number: 20 bytes per state, whatever the state. Two distinct states can share a
  fingerprint with probability about n²/2⁶⁵ for n states (6·10⁻⁸ at 10⁶ states); the tests
  compare both stores on every shipped scenario.

Both take candidates a batch at a time — a search inserts the successors of a slice of a
BFS level at once — and number new states in the order of their first occurrence, so that
numbering, and hence every trace, is the same with either store.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Sequence
from typing import Protocol

import numpy as np


class SeenSet(Protocol):
    def insert(self, keys: Sequence[Hashable], parents: Sequence[int]) -> list[int]:
        """Each candidate's new state number, or -1 if it was met before (in an earlier batch
        or earlier in this one)."""
        ...

    def parent(self, index: int) -> int: ...

    def key(self, index: int) -> Hashable: ...

    def __len__(self) -> int: ...

    def nbytes(self) -> int:
        """Memory the store holds, in bytes (an estimate for the exact store)."""
        ...


class ExactStore:
    """Canonical states themselves (their component tuples)."""

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self._keys: list[Hashable] = []
        self._parents = array("q")

    def insert(self, keys: Sequence[Hashable], parents: Sequence[int]) -> list[int]:
        out = []
        index = self._index
        for key, parent in zip(keys, parents):
            if key in index:
                out.append(-1)
                continue
            i = index[key] = len(self._keys)
            self._keys.append(key)
            self._parents.append(parent)
            out.append(i)
        return out

    def parent(self, index: int) -> int:
        return self._parents[index]

    def key(self, index: int) -> Hashable:
        return self._keys[index]

    def __len__(self) -> int:
        return len(self._keys)

    def nbytes(self) -> int:
        # a dict slot, a list slot, the tuple and its parent link: measured on CPython 3.11
        n = len(self._keys)
        width = len(self._keys[0]) if n and isinstance(self._keys[0], tuple) else 1  # type: ignore[arg-type]
        return n * (104 + 8 * width + 8 + 8)


class FingerprintStore:
    """64-bit fingerprints in sorted runs (see the module docstring)."""

    def __init__(self, parent_type: str = "i") -> None:
        """``parent_type``: the array type of parent links: ``"i"`` (4 bytes) for one
        process, ``"q"`` (8 bytes) for global numbers across partitions."""
        self._runs: list[np.ndarray] = []  # sorted, disjoint, each at least twice the next
        self._fps = array("Q")  # fingerprint by state number
        self._parents = array(parent_type)  # parent by state number (-1: an initial state)

    def insert(self, keys: Sequence[Hashable], parents: Sequence[int]) -> list[int]:
        n = len(keys)
        if n == 0:
            return []
        fps = np.fromiter(keys, dtype=np.uint64, count=n)  # type: ignore[arg-type]
        uniq, first = np.unique(fps, return_index=True)
        fresh = np.ones(len(uniq), dtype=bool)
        for run in self._runs:
            pos = np.searchsorted(run, uniq)
            hit = pos < len(run)
            hit[hit] = run[pos[hit]] == uniq[hit]
            fresh &= ~hit
        new_first = np.sort(first[fresh])  # positions of new states, in order of occurrence
        out = [-1] * n
        base = len(self._fps)
        for k, pos in enumerate(new_first.tolist()):
            out[pos] = base + k
            self._parents.append(parents[pos])
        self._fps.frombytes(fps[new_first].tobytes())
        self._add_run(np.sort(fps[new_first]))
        return out

    def _add_run(self, run: np.ndarray) -> None:
        if len(run) == 0:
            return
        self._runs.append(run)
        # keep runs geometric so a lookup searches O(log n) of them
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            b = self._runs.pop()
            a = self._runs.pop()
            merged = np.concatenate((a, b))
            merged.sort(kind="mergesort")
            self._runs.append(merged)

    def parent(self, index: int) -> int:
        return self._parents[index]

    def key(self, index: int) -> int:
        return self._fps[index]

    def __len__(self) -> int:
        return len(self._fps)

    def nbytes(self) -> int:
        links = len(self._parents) * self._parents.itemsize
        return sum(r.nbytes for r in self._runs) + len(self._fps) * 8 + links
