"""A BFS level waiting to be expanded: state numbers and encoded states, packed in arrays.

A level can hold a large share of the states (the widest level of the benchmark scenarios
holds about a sixth), so it is kept as two flat arrays — 4 bytes per component number and
8 per state number — instead of a list of tuples (about 150 bytes a state). Past a memory
bound the arrays are written to a temporary file and read back, in order, when the level is
expanded: a level larger than memory slows the search instead of ending it.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Iterator

from .encoding import Comp

SPILL_BYTES = 256 << 20  # in memory per level before spilling to disk


class Frontier:
    """States to expand, in the order they were found."""

    def __init__(self, width: int, spill_bytes: int | None = None) -> None:
        self.width = width  # components per state: shared part and one per thread
        self.spill_bytes = SPILL_BYTES if spill_bytes is None else spill_bytes
        self._numbers = array("q")
        self._comps = array("I")
        self._spilled: list[tuple[str, int]] = []  # (file, states in it)
        self._count = 0

    def append(self, number: int, comp: Comp) -> None:
        self._numbers.append(number)
        self._comps.extend(comp)
        self._count += 1
        if len(self._numbers) * (8 + 4 * self.width) > self.spill_bytes:
            self._spill()

    def _spill(self) -> None:
        fd, path = tempfile.mkstemp(prefix="vmacheck-frontier-")
        with os.fdopen(fd, "wb") as f:
            self._numbers.tofile(f)
            self._comps.tofile(f)
        self._spilled.append((path, len(self._numbers)))
        self._numbers = array("q")
        self._comps = array("I")

    @property
    def spilled(self) -> int:
        """States held on disk now."""
        return sum(n for _, n in self._spilled)

    def __len__(self) -> int:
        return self._count

    def _chunks(self) -> Iterator[tuple[array[int], array[int]]]:
        for path, n in self._spilled:
            numbers, comps = array("q"), array("I")
            with open(path, "rb") as f:
                numbers.fromfile(f, n)
                comps.fromfile(f, n * self.width)
            os.unlink(path)
            yield numbers, comps
        self._spilled = []
        yield self._numbers, self._comps

    def batches(self, size: int) -> Iterator[list[tuple[int, Comp]]]:
        """The states in order, ``size`` at a time, as (number, encoded state). Reading
        consumes what was spilled to disk."""
        w = self.width
        for numbers, comps in self._chunks():
            for start in range(0, len(numbers), size):
                part = numbers[start : start + size]
                flat = comps[start * w : (start + len(part)) * w]
                yield [(n, tuple(flat[k * w : (k + 1) * w])) for k, n in enumerate(part)]

    def __del__(self) -> None:
        for path, _ in self._spilled:
            try:
                os.unlink(path)
            except OSError:
                pass
