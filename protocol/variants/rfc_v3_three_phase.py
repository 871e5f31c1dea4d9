"""rfc-v3-three-phase: RFC v3, ``<1530311985-31251-*>``, Peter Zijlstra's scheme from the seed
thread: "Acquire mmap_sem for writing, split, mark VM_DEAD, drop mmap_sem. Acquire mmap_sem
for reading, madv_free drop mmap_sem. Acquire mmap_sem for writing, free everything left,
drop mmap_sem."

``W{ find_vma; the map_count check; __split_vma at start and at end; VM_DEAD on every vma in
the range }`` ``R{ zap the PTEs }`` ``W{ free_pgtables (next recomputed now); detach; free }``,
with ``vma`` and ``prev`` carried across both gaps. The fault path sends SIGSEGV on a
VM_DEAD vma (:mod:`vmacheck.protocol.syscalls.access_vm_dead`); splitting first keeps that from
hitting the still-mapped parts of the first and last vma.

The flaw: between the phases mmap_sem is free, and nothing stops ``mmap(MAP_FIXED)``,
``mremap`` or another munmap from unmapping (and freeing) the VM_DEAD vmas the carried
pointers point to — VM_DEAD is honoured only by the fault path.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    free_pgtables_bounds,
    remove_vma_list_step,
)
from vmacheck.protocol.syscalls.vm_dead import split_and_mark_dead_steps

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


# --- phase 1: W{ find, check, split, VM_DEAD } ------------------------------------------
# down_write; find_vma (checks, find_vma, prev); split_first, split_last (__split_vma,
# no re-lookup); mark_vm_dead (VM_DEAD on every vma of the range)
split_and_mark_dead_steps(munmap, lookup="munmap_lookup_vma", out="out")


@munmap.step("up_write")
def up_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_write()


# --- phase 2: R{ zap } ------------------------------------------------------------------
@munmap.step("down_read")
def down_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.down_read()


@munmap.step("zap_page_range", kernel="unmap_vmas")
def zap_page_range(k: Kernel, t: DoMunmapFrame) -> None:
    k.unmap_vmas(t.vma, t.start, t.end)  # vma carried from phase 1


@munmap.step("up_read")
def up_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_read()


# --- phase 3: W{ free_pgtables, detach, free } ------------------------------------------
munmap.step("down_write_again", kernel="down_write")(down_write)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def read_free_pgtables_bounds(k: Kernel, t: DoMunmapFrame) -> None:
    t.next = k.find_vma(t.end)  # next recomputed now; prev is carried
    t.floor, t.ceiling = free_pgtables_bounds(k, t.prev, t.next)


@munmap.step("free_pgtables")
def free_pgtables(k: Kernel, t: DoMunmapFrame) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


munmap.step("remove_vma_list")(remove_vma_list_step)

munmap.step("out", kernel="up_write")(up_write_return)


VARIANT = Variant(
    name="rfc-v3-three-phase",
    summary="W{split, VM_DEAD} R{zap} W{free_pgtables, detach, free} with carried pointers; "
    "faults SIGSEGV on VM_DEAD",
    source="<1530311985-31251-*> (RFC v3, June 2018; Peter Zijlstra's scheme)",
    munmap=munmap,
    overrides={"access": access_vm_dead},
    doc=__doc__ or "",
)
