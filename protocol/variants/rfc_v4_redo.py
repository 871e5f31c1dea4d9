"""rfc-v4-redo: RFC v4, ``<1531265649-93433-*>``.

``W{ find_vma; the map_count check; __split_vma at start and at end; VM_DEAD on the range }``;
``downgrade_write``; ``R{ zap_page_range }``; ``up_read``; ``W{ do_munmap(start, len) }``:
the final phase looks the range up afresh, so no pointer is carried across the gap. Faults
on VM_DEAD get SIGSEGV (:mod:`vmacheck.protocol.syscalls.access_vm_dead`).

The flaw: between ``up_read`` and the final ``down_write`` mmap_sem is free, and a racing
``mmap(MAP_FIXED)`` or ``mremap(MREMAP_FIXED)`` may map something new over the range — which
the fresh ``do_munmap`` then removes.
"""

from __future__ import annotations

from typing import Any

from vmacheck.protocol import Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, bad_range, do_munmap
from vmacheck.protocol.syscalls.vm_dead import mark_vmas_dead

munmap = Program(
    "munmap",
    params=("start", "len"),
    locals=("end", "vma", "prev", "retval"),
    errnos=MUNMAP_ERRNOS,
    unmaps=lambda t: (t.start, t.start + t.len),
)


# --- W{ find, check, split, VM_DEAD } -----------------------------------------------------
@munmap.step("down_write")
def down_write(k: Any, t: Any) -> None:
    k.down_write()


@munmap.step("find_vma", kernel="munmap_lookup_vma")
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
        if t.end < t.vma.end and k.map_count >= k.max_map_count:
            t.retval = "ENOMEM"
            return k.goto("up_write")
        k.split_vma(t.vma, t.start, new_below=False)
        t.prev = t.vma


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Any, t: Any) -> None:
    last = k.find_vma(t.end)
    if last and t.end > last.start:
        k.split_vma(last, t.end, new_below=True)
    t.vma = k.find_vma(t.prev.end) if t.prev else k.find_vma(0)


@munmap.step("mark_vm_dead", kernel="vma->vm_flags |= VM_DEAD")
def mark_vm_dead(k: Any, t: Any) -> None:
    mark_vmas_dead(k, t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Any, t: Any) -> None:
    k.downgrade_write()


# --- R{ zap } -------------------------------------------------------------------------------
@munmap.step("zap_page_range", kernel="unmap_vmas")
def zap_page_range(k: Any, t: Any) -> None:
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("up_read")
def up_read(k: Any, t: Any) -> None:
    k.up_read()


# --- W{ do_munmap afresh } ----------------------------------------------------------------
@munmap.step("down_write_again", kernel="down_write")
def down_write_again(k: Any, t: Any) -> None:
    k.down_write()


@munmap.step("do_munmap")
def do_munmap_afresh(k: Any, t: Any) -> None:
    t.retval = do_munmap(k, t.start, t.len)  # "call do_munmap() for vma cleanup"


@munmap.step("up_write")
def up_write(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="rfc-v4-redo",
    summary="W{split, VM_DEAD} downgrade R{zap} up_read W{do_munmap afresh}",
    source="<1531265649-93433-*> (RFC v4, July 2018)",
    munmap=munmap,
    overrides={"access": access_vm_dead},
    doc=__doc__ or "",
)
