"""upgrade-read: Michal Hocko's proposal in the seed thread,
``<20180629113447.GA5963@dhcp22.suse.cz>``::

    down_write
    split & set up VM_DEAD
    downgrade_write
    unmap
    upgrade_read
    zap ptes
    up_write

``W{ find_vma; the map_count check; __split_vma at start and at end; VM_DEAD on the range }``;
``downgrade_write``; ``R{ unmap_vmas }``; ``upgrade_read``; ``W{ detach; free_pgtables;
remove_vma_list }``; ``up_write``. The lock is never released, so no pointer goes stale; the
fault path sends SIGSEGV on VM_DEAD (:mod:`vmacheck.protocol.syscalls.access_vm_dead`).

Linux has no ``upgrade_read``. The modelled one (:func:`vmacheck.protocol.rwsem.upgrade_read`) is the
fair, blocking upgrade the thread discussed ("we have to wait them to finish"): it keeps its
read hold and queues like a writer. Two upgraders, or an upgrader behind a writer that queued
while it held the read lock (any munmap, mmap or mremap), wait for each other forever.
"""

from __future__ import annotations

from typing import Any

from vmacheck.protocol import Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, bad_range
from vmacheck.protocol.syscalls.vm_dead import mark_vmas_dead

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


@munmap.step("unmap_vmas", kernel="unmap_vmas")
def unmap_vmas(k: Any, t: Any) -> None:
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("upgrade_read")
def upgrade_read(k: Any, t: Any) -> None:
    k.upgrade_read()


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Any, t: Any) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def free_pgtables_bounds(k: Any, t: Any) -> None:
    t.next = k.find_vma(t.end)
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
    name="upgrade-read",
    summary="W{split, VM_DEAD} downgrade R{unmap} upgrade(blocking) W{zap, free}",
    source="<20180629113447.GA5963@dhcp22.suse.cz> (Michal Hocko, seed thread)",
    munmap=munmap,
    overrides={"access": access_vm_dead},
    doc=__doc__ or "",
)
