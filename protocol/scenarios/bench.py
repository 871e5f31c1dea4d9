"""Benchmark scenarios: four threads on a 12-page layout, the size an independent C model
checker (SPIN) explores in a fraction of a second; `benchmarks/run.py` measures the explicit
engine on them.

``U=[0,2)`` grows up, ``A=[2,7)``, ``S=[9,12)`` grows down (page 9 not yet populated);
page tables cover 2 pages; ``max_map_count`` is 5. munmap takes the low or the high part of
A while two faults hit any page and an mmap(MAP_FIXED) lands across U/A, A's end, or the
gap below S.
"""

from __future__ import annotations

from ..scenario import Scenario, VmaSpec, oneof, thread

_LAYOUT = (
    VmaSpec("U", 0, 2, flags=("VM_GROWSUP",)),
    VmaSpec("A", 2, 7),
    VmaSpec("S", 9, 12, flags=("VM_GROWSDOWN",), populated=(10, 11)),
)
_PAGES = tuple(range(12))


def _bench(name: str, start: int, length: int) -> Scenario:
    return Scenario(
        name=name,
        summary=f"benchmark: munmap [{start},{start + length}) of A, two faults anywhere,"
        " MAP_FIXED at 1, 6 or 7",
        vmas=_LAYOUT,
        threads=(
            thread("munmap", start=start, len=length),
            thread("access", addr=oneof(*_PAGES)),
            thread("access", addr=oneof(*_PAGES)),
            thread("mmap", tag="N", start=oneof(1, 6, 7), len=2),
        ),
        pages=12,
        pt_span=2,
        max_map_count=5,
        exhaustive=False,
    )


SCENARIOS = [_bench("bench-munmap-low", 2, 2), _bench("bench-munmap-high", 4, 3)]
