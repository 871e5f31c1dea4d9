"""Large scenarios: six or eight threads over a 32- or 48-page address space.

Too large to explore exhaustively (``exhaustive=False``: `vmacheck check` runs them with
the random engine, or when named with ``--scenario``; the explicit engine stops at its
``--max-states``/``--timeout`` bound there). They mix the races of the small scenarios in
one address space, so a schedule has to find the one interleaving that matters among many
threads doing unrelated work, as in a real process.
"""

from __future__ import annotations

from ..scenario import Scenario, VmaSpec, oneof, thread

SCENARIOS = [
    Scenario(
        name="large-stack-race",
        summary="32 pages, 8 threads: munmap below a GROWSDOWN stack amid mmap, mremap, mprotect, faults",
        doc="The CVE-2020-29369 layout (E right below the stack S, a fault that expands S into "
        "E's range and page table) inside a busy address space: a MAP_FIXED over A, an mprotect "
        "splitting B, an mremap moving the tail [14,16) of C to 22, a second munmap in D and "
        "faults in C or D and in A run at the same time.",
        pages=32,
        pt_span=4,
        max_map_count=16,
        vmas=(
            VmaSpec("A", 1, 6),
            VmaSpec("B", 8, 12),
            VmaSpec("C", 12, 16),
            VmaSpec("D", 17, 22),
            VmaSpec("E", 24, 28),
            VmaSpec("S", 29, 32, flags=("VM_GROWSDOWN",)),
        ),
        threads=(
            thread("munmap", start=24, len=4),
            thread("access", addr=oneof(26, 28)),
            thread("mmap", tag="N", start=3, len=2),
            thread("mprotect", start=9, len=2),
            thread("munmap", start=18, len=2),
            thread("access", addr=oneof(13, 19)),
            thread("access", addr=oneof(2, 4)),
            thread("mremap", tag="M", old=14, old_len=2, new_len=2, new=22),
        ),
        exhaustive=False,
    ),
    Scenario(
        name="large-growsup-mremap",
        summary="48 pages, 6 threads: munmap above a GROWSUP vma amid mremap over a munmap, mprotect, faults",
        doc="The mirror image of the stack race (G grows up into the range munmap detached from "
        "A) while an mremap moves C onto B (or into free space) under a second munmap of B, "
        "an mprotect splits D and faults land in B or D.",
        pages=48,
        pt_span=4,
        max_map_count=12,
        vmas=(
            VmaSpec("G", 0, 6, flags=("VM_GROWSUP",)),
            VmaSpec("A", 8, 16),
            VmaSpec("B", 20, 28),
            VmaSpec("C", 30, 34),
            VmaSpec("D", 36, 40),
        ),
        threads=(
            thread("munmap", start=8, len=4),
            thread("access", addr=oneof(9, 7)),
            thread("mremap", tag="M", old=30, old_len=4, new_len=4, new=oneof(20, 42)),
            thread("munmap", start=22, len=4),
            thread("mprotect", start=37, len=2),
            thread("access", addr=oneof(21, 38)),
        ),
        exhaustive=False,
    ),
]
