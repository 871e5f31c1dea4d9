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

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    free_pgtables_bounds,
    remove_vma_list_step,
)
from vmacheck.protocol.syscalls.vm_dead import split_and_mark_dead_steps

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

# down_write; find_vma (checks, find_vma, prev); split_first, split_last (__split_vma,
# no re-lookup); mark_vm_dead (VM_DEAD on every vma of the range)
split_and_mark_dead_steps(munmap, lookup="do_munmap", out="up_write")


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.downgrade_write()


@munmap.step("unmap_vmas", kernel="unmap_vmas")
def unmap_vmas(k: Kernel, t: DoMunmapFrame) -> None:
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("upgrade_read")
def upgrade_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.upgrade_read()


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def read_free_pgtables_bounds(k: Kernel, t: DoMunmapFrame) -> None:
    t.next = k.find_vma(t.end)
    t.floor, t.ceiling = free_pgtables_bounds(k, t.prev, t.next)


@munmap.step("free_pgtables")
def free_pgtables(k: Kernel, t: DoMunmapFrame) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


munmap.step("remove_vma_list")(remove_vma_list_step)

munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="upgrade-read",
    summary="W{split, VM_DEAD} downgrade R{unmap} upgrade(blocking) W{zap, free}",
    source="<20180629113447.GA5963@dhcp22.suse.cz> (Michal Hocko, seed thread)",
    munmap=munmap,
    overrides={"access": access_vm_dead},
    doc=__doc__ or "",
)
