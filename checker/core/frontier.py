"""A BFS level waiting to be expanded: state numbers and encoded states, packed in arrays.

A level can hold a large share of the states (the widest level of the benchmark scenarios
holds about a sixth), so it is kept as two flat arrays — 4 bytes per component number and
per state number — instead of a list of tuples (about 150 bytes a state).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from .encoding import Comp


class Frontier:
    """States to expand, in the order they were found."""

    def __init__(self, width: int) -> None:
        self.width = width  # components per state: shared part and one per thread
        self._numbers = array("l")
        self._comps = array("I")

    def append(self, number: int, comp: Comp) -> None:
        self._numbers.append(number)
        self._comps.extend(comp)

    def __len__(self) -> int:
        return len(self._numbers)

    def batches(self, size: int) -> Iterator[list[tuple[int, Comp]]]:
        """The states in order, ``size`` at a time, as (number, encoded state)."""
        w = self.width
        comps = self._comps
        for start in range(0, len(self._numbers), size):
            numbers = self._numbers[start : start + size]
            flat = comps[start * w : (start + len(numbers)) * w]
            yield [(n, tuple(flat[k * w : (k + 1) * w])) for k, n in enumerate(numbers)]
