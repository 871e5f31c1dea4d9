"""baseline-4.19: Linux <= 4.19 ``do_munmap``, everything under mmap_sem held for write.

``down_write``; validate; ``find_vma``; the map_count check (before any change, so that
ENOMEM changes nothing); ``__split_vma`` at start and at end; ``detach_vmas_to_be_unmapped``;
``unmap_region`` (zap the PTEs, then ``free_pgtables`` between the neighbours); ``remove_vma``
of each detached vma; ``up_write``. Nothing can race with it: the reference every other
variant is measured against.
"""

from __future__ import annotations

from typing import Any

from vmacheck.protocol import Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, bad_range

munmap = Program(
    "munmap",
    params=("start", "len"),
    locals=("end", "vma", "prev", "next", "floor", "ceiling", "retval"),
    errnos=MUNMAP_ERRNOS,
    unmaps=lambda t: (t.start, t.start + t.len),
)


@munmap.step("down_write")
def down_write(k: Any, t: Any) -> None:
    k.down_write()


@munmap.step("find_vma", kernel="do_munmap")
def find_vma(k: Any, t: Any) -> None:
    if bad_range(k, t.start, t.len):
        t.retval = "EINVAL"
        return k.goto("up_write")
    t.end = t.start + t.len
    t.vma = k.find_vma(t.start)
    if not t.vma or t.vma.start >= t.end:
        t.retval = 0
        return k.goto("up_write")
    t.prev = k.find_vma_prev(t.start)


@munmap.step("split_first", kernel="__split_vma")
def split_first(k: Any, t: Any) -> None:
    if t.start > t.vma.start:
        # let map_count go just above its limit temporarily, never on return
        if t.end < t.vma.end and k.map_count >= k.max_map_count:
            t.retval = "ENOMEM"
            return k.goto("up_write")
        k.split_vma(t.vma, t.start, new_below=False)
        t.prev = t.vma
        t.vma = k.find_vma(t.start)


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Any, t: Any) -> None:
    last = k.find_vma(t.end)
    if last and t.end > last.start:
        k.split_vma(last, t.end, new_below=True)
    t.vma = k.find_vma(t.start)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Any, t: Any) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Any, t: Any) -> None:
    t.next = k.find_vma(t.end)  # prev->vm_next, now that the range is detached
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def free_pgtables_bounds(k: Any, t: Any) -> None:
    # free_pgtables(tlb, vma, prev ? prev->vm_end : 0, next ? next->vm_start : TASK_SIZE)
    t.floor = t.prev.end if t.prev else 0
    t.ceiling = t.next.start if t.next else k.task_size


@munmap.step("free_pgtables")
def free_pgtables(k: Any, t: Any) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Any, t: Any) -> None:
    k.remove_vma_list(t.vma)
    t.retval = 0


@munmap.step("up_write")
def up_write(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="baseline-4.19",
    summary="everything under the write lock",
    source="mm/mmap.c do_munmap, Linux 4.19",
    munmap=munmap,
    doc=__doc__ or "",
)
