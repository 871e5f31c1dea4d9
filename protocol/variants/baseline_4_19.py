"""baseline-4.19: Linux <= 4.19 ``do_munmap``, everything under mmap_sem held for write.

``down_write``; validate; ``find_vma``; the map_count check (before any change, so that
ENOMEM changes nothing); ``__split_vma`` at start and at end; ``detach_vmas_to_be_unmapped``;
``unmap_region`` (zap the PTEs, then ``free_pgtables`` between the neighbours); ``remove_vma``
of each detached vma; ``up_write``. Nothing can race with it: the reference every other
variant is measured against.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, range_of
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame, do_munmap_split_steps, read_free_pgtables_bounds

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


@munmap.step("down_write")
def down_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.down_write()


# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="do_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Kernel, t: DoMunmapFrame) -> None:
    t.next = k.find_vma(t.end)  # prev->vm_next, now that the range is detached
    k.unmap_vmas(t.vma, t.start, t.end)


munmap.step("free_pgtables_bounds", kernel="free_pgtables")(read_free_pgtables_bounds)


@munmap.step("free_pgtables")
def free_pgtables(k: Kernel, t: DoMunmapFrame) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Kernel, t: DoMunmapFrame) -> None:
    k.remove_vma_list(t.vma)
    t.retval = 0


@munmap.step("up_write")
def up_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="baseline-4.19",
    summary="everything under the write lock",
    source="mm/mmap.c do_munmap, Linux 4.19",
    munmap=munmap,
    doc=__doc__ or "",
)
