"""Scenarios that race one munmap against each other syscall (design.md §4).

Layouts use 8 pages and page-table pages of 2 pages unless said otherwise; ``A``, ``B`` are
ordinary anonymous mappings, ``S`` a VM_GROWSDOWN stack, ``G`` a VM_GROWSUP one. Every
initial page is populated (has a PTE) so that zaps and page-table frees have work to do.
"""

from __future__ import annotations

from ..scenario import Scenario, VmaSpec, oneof, thread

SCENARIOS = [
    Scenario(
        name="stack-below-growsdown",
        summary="munmap [2,4) right below a GROWSDOWN stack; a fault in the range or the gap",
        doc="The CVE-2020-29369 layout: a fault at 3 expands the stack into the range munmap "
        "is unmapping; a fault at 4 expands it only into the gap above the range, whose "
        "page-table page covers none of the range (harmless).",
        vmas=(VmaSpec("A", 2, 4), VmaSpec("S", 5, 8, flags=("VM_GROWSDOWN",))),
        threads=(thread("munmap", start=2, len=2), thread("access", addr=oneof(3, 4))),
    ),
    Scenario(
        name="stack-above-growsup",
        summary="munmap [2,4) right above a GROWSUP vma; a fault in the range",
        doc="The mirror image: G grows up into the range munmap is unmapping.",
        vmas=(VmaSpec("G", 0, 2, flags=("VM_GROWSUP",)), VmaSpec("A", 2, 4), VmaSpec("B", 6, 8)),
        threads=(thread("munmap", start=2, len=2), thread("access", addr=oneof(2, 3))),
    ),
    Scenario(
        name="access-split-vma",
        summary="munmap the middle of A; faults inside the range and in the parts that stay",
        doc="A page of A outside the range is still mapped and must never SIGSEGV.",
        vmas=(VmaSpec("A", 1, 7),),
        threads=(thread("munmap", start=3, len=2), thread("access", addr=oneof(2, 3, 5))),
    ),
    Scenario(
        name="map-fixed",
        summary="munmap the middle of A while mmap(MAP_FIXED) maps over part of the range",
        vmas=(VmaSpec("A", 1, 5),),
        threads=(thread("munmap", start=2, len=2), thread("mmap", tag="N", start=oneof(2, 3), len=2)),
    ),
    Scenario(
        name="mremap-into-range",
        summary="munmap part of B while mremap moves A into (or next to) the range",
        vmas=(VmaSpec("A", 0, 2), VmaSpec("B", 4, 7)),
        threads=(
            thread("munmap", start=4, len=2),
            thread("mremap", tag="M", old=0, old_len=2, new_len=2, new=oneof(3, 4)),
        ),
    ),
    Scenario(
        name="mprotect-at-limit",
        summary="map_count one below its limit: munmap splits A while mprotect splits B",
        doc="max_map_count is 3 and two vmas exist: munmap's two splits take map_count to "
        "4 (the kernel's deliberate one-vma slack) and back to 3; mprotect's split_vma "
        "refuses at the limit.",
        max_map_count=3,
        vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 5, 8)),
        threads=(thread("munmap", start=1, len=2), thread("mprotect", start=6, len=1)),
    ),
    Scenario(
        name="two-munmaps",
        summary="two munmaps: overlapping ranges, or disjoint ranges in two vmas",
        vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 4, 8)),
        threads=(thread("munmap", start=1, len=2), thread("munmap", start=oneof(2, 5), len=2)),
    ),
]
