"""Scenarios for the 2018 variants and Linux 6.5: the limit and the windows between lock holds.

:mod:`vmacheck.protocol.scenarios.races` races munmap against each other syscall; these add what the
thread and the later fixes argue about and that those do not cover:

- ``munmap-at-limit``: map_count exactly at ``max_map_count`` when a munmap must split a vma
  in two — where ``do_munmap``'s ``>=`` and RFC v2's ``>`` part ways;
- ``stack-relookup``: a fault below a GROWSDOWN stack while a munmap removes that stack —
  the window 6.5's fault path opens when it drops the read lock to take the write lock, and
  the reason it must ``find_vma`` again;
- two three-thread scenarios, kept because each reaches what no two-thread one does:
  ``map-fixed-fault`` (a fault populates what MAP_FIXED mapped in a munmap's window, so an
  unmap that later removes the mapping without zapping it leaves a live PTE behind) and
  ``stack-relookup-map-fixed`` (a MAP_FIXED maps the faulting address in 6.5's window: the
  second ``find_vma`` succeeds; also a mapping installed just below a range being unmapped).

Layouts and conventions as in :mod:`vmacheck.protocol.scenarios.races`.
"""

from __future__ import annotations

from ..scenario import Scenario, VmaSpec, oneof, thread

SCENARIOS = [
    Scenario(
        name="munmap-at-limit",
        summary="map_count at its limit: munmap the middle (ENOMEM) or the tail of A while "
        "mmap(MAP_FIXED) maps into a hole",
        doc="max_map_count is 2 and two vmas exist. Unmapping the middle of A needs a third vma "
        "for a moment and one on return, so do_munmap's check (map_count >= max_map_count) "
        "fails it with ENOMEM before any change. Unmapping the tail [1,4) needs one split and "
        "no more vmas on return: do_munmap does not check and succeeds. The mmap into the hole "
        "at 4 passes mmap's lenient check (map_count > max_map_count) and takes map_count to the limit + 1, "
        "the kernel's deliberate slack.",
        max_map_count=2,
        vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 6, 8)),
        threads=(thread("munmap", start=1, len=oneof(2, 3)), thread("mmap", tag="N", start=4, len=2)),
    ),
    Scenario(
        name="munmap-over-limit",
        summary="map_count one above its limit (mmap's slack): munmap the middle of A while "
        "mprotect waits for the write lock",
        doc="max_map_count is 2 and three vmas exist, as after an mmap passed its lenient check "
        "(map_count > max_map_count). do_munmap must refuse the middle of A with ENOMEM and "
        "release mmap_sem on that error path; mprotect, which needs the write lock after it, "
        "then fails its own split with ENOMEM.",
        max_map_count=2,
        vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 5, 6), VmaSpec("C", 6, 8)),
        threads=(thread("munmap", start=1, len=2), thread("mprotect", start=6, len=1)),
    ),
    Scenario(
        name="stack-relookup",
        summary="munmap removes a GROWSDOWN stack while a fault just below it wants to grow it",
        doc="The fault at 4 finds S[5,8) above it. Where stack expansion needs the write lock "
        "(6.5), the fault drops the read lock and takes the write lock; in between the munmap "
        "removes S, so the fault must look the address up again instead of growing the vma "
        "it found before (a freed one): it then finds nothing and gets SIGSEGV.",
        vmas=(VmaSpec("A", 0, 2), VmaSpec("S", 5, 8, flags=("VM_GROWSDOWN",))),
        threads=(thread("munmap", start=5, len=3), thread("access", addr=4)),
    ),
    Scenario(
        name="map-fixed-fault",
        summary="munmap the middle of A, mmap(MAP_FIXED) over part of the range, and a fault there",
        doc="As map-fixed, with a third thread faulting at 2 or 3: a page of the new mapping N "
        "can be populated between the munmap's lock holds, before anything removes N.",
        vmas=(VmaSpec("A", 1, 5),),
        threads=(
            thread("munmap", start=2, len=2),
            thread("mmap", tag="N", start=oneof(2, 3), len=2),
            thread("access", addr=oneof(2, 3)),
        ),
    ),
    Scenario(
        name="stack-relookup-map-fixed",
        summary="munmap removes a GROWSDOWN stack, mmap(MAP_FIXED) maps just below it, a fault "
        "at the stack's foot",
        doc="As stack-relookup, with N[3,5) mapped by a third thread: when it lands between "
        "6.5's up_read and down_write, the fault's second find_vma finds N covering page 4 "
        "and faults it in. N also lands right below a range being unmapped, where a floor "
        "computed earlier from the old neighbour is wrong.",
        vmas=(VmaSpec("A", 0, 2), VmaSpec("S", 5, 8, flags=("VM_GROWSDOWN",))),
        threads=(
            thread("munmap", start=5, len=3),
            thread("mmap", tag="N", start=3, len=2),
            thread("access", addr=4),
        ),
    ),
]
