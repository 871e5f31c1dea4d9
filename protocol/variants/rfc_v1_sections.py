"""rfc-v1-sections: Yang Shi's RFC v1, ``<1521581486-99134-*>`` "unmap large mapping by section".

Motivation: munmap of a 320 GB mapping held mmap_sem for write for ~18 s. v1 unmaps the range
one section at a time, the whole of ``do_munmap`` (split, detach, ``unmap_region``,
``remove_vma_list``) per section under the write lock, and between sections, if the lock is
contended, ``up_write; cond_resched; down_write`` — then continues with the ``vma`` (and
``prev``) it computed before it dropped the lock.

The flaw (Michal Hocko): "once you drop the lock the address space might change under your
feet and you might be unmapping a completely different vma". A racing ``mmap(MAP_FIXED)``,
``mremap`` or munmap in the gap frees the carried vma, or links a new one where
``prev->vm_next`` now points.

A section is :data:`SECTION` pages here (1 GB in the RFC), so that the scenarios' two-page
ranges are unmapped in two sections with one gap between them.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Ptr, Variant, VmaView
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    do_munmap_find,
    do_munmap_split_last,
    read_free_pgtables_bounds,
    split_would_exceed,
    vm_next,
)

# Pages per section: the RFC's LARGE_MAP_THRESH (1 GB), scaled to the scenarios' page universe.
SECTION = 1


class SectionFrame(DoMunmapFrame):
    """do_munmap's locals, and the section being unmapped: ``[addr, sec_end)``."""

    addr: int
    sec_end: int
    # declared again, to come after the section's bounds as traces list them
    vma: Ptr[VmaView]  # carried from one section to the next, across the dropped lock
    prev: Ptr[VmaView]
    next: Ptr[VmaView]
    floor: int
    ceiling: int
    retval: int | str


munmap = Program("munmap", SectionFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write")(down_write)


@munmap.step("find_vma", kernel="do_munmap")
def find_vma(k: Kernel, t: SectionFrame) -> None:
    if not do_munmap_find(k, t):  # EINVAL, or nothing mapped in the range
        return k.goto("up_write")
    t.addr = t.start


# --- one section: do_munmap(addr, sec_end), starting from the vma carried in --------------
@munmap.step("split_first", kernel="__split_vma")
def split_first(k: Kernel, t: SectionFrame) -> None:
    t.sec_end = min(t.addr + SECTION, t.end)
    if not t.vma or t.vma.start >= t.end:
        t.retval = 0  # nothing mapped in the rest of the range
        return k.goto("up_write")
    if t.vma.start >= t.sec_end:
        return k.goto("next_section")  # a hole: nothing mapped in this section
    if t.addr > t.vma.start:
        if split_would_exceed(k, t.vma, t.sec_end):
            t.retval = "ENOMEM"
            return k.goto("up_write")
        k.split_vma(t.vma, t.addr, new_below=False)
        t.prev = t.vma


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Kernel, t: SectionFrame) -> None:
    do_munmap_split_last(k, t.sec_end)
    t.vma = vm_next(k, t.prev)  # through the prev carried across the gap
    if not t.vma:
        # Nothing after prev: the RFC would pass NULL to detach_vmas_to_be_unmapped (an
        # oops). Only a prev made stale across the dropped lock gets here, and reading it
        # was already reported (no_vma_use_after_free); end the unmap instead of crashing.
        t.retval = 0
        return k.goto("up_write")


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: SectionFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.sec_end)


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Kernel, t: SectionFrame) -> None:
    t.next = k.find_vma(t.sec_end)  # prev->vm_next, now that the section is detached
    k.unmap_vmas(t.vma, t.addr, t.sec_end)


munmap.step("free_pgtables_bounds", kernel="free_pgtables")(read_free_pgtables_bounds)


@munmap.step("free_pgtables")
def free_pgtables(k: Kernel, t: SectionFrame) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Kernel, t: SectionFrame) -> None:
    k.remove_vma_list(t.vma)
    t.vma = t.next  # the section after starts from here: carried across the gap


# --- between sections ------------------------------------------------------------------
@munmap.step("next_section", kernel="up_write")
def next_section(k: Kernel, t: SectionFrame) -> None:
    t.addr = t.sec_end
    if t.addr >= t.end:
        t.retval = 0
        return k.goto("up_write")
    # if (rwsem_is_contended(&mm->mmap_sem)) { up_write; cond_resched; down_write }
    # Modelled as always dropping: when nobody waits, nobody takes the lock in the gap, and
    # those interleavings are exactly the ones of keeping it.
    k.up_write()


@munmap.step("cond_resched_down_write", kernel="down_write")
def cond_resched_down_write(k: Kernel, t: SectionFrame) -> None:
    k.down_write()
    k.goto("split_first")


munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="rfc-v1-sections",
    summary="whole munmap per section, dropping and retaking the write lock between sections, vma carried",
    source="<1521581486-99134-*> (RFC v1, March 2018)",
    munmap=munmap,
    doc=__doc__ or "",
)
