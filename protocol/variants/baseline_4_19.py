"""baseline-4.19: Linux <= 4.19 ``do_munmap``, everything under mmap_sem held for write.

``down_write``; validate; ``find_vma``; the map_count check (before any change, so that
ENOMEM changes nothing); ``__split_vma`` at start and at end; ``detach_vmas_to_be_unmapped``;
``unmap_region`` (zap the PTEs, then ``free_pgtables`` between the neighbours); ``remove_vma``
of each detached vma; ``up_write``. Nothing can race with it: the reference every other
variant is measured against.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    do_munmap_split_steps,
    remove_vma_list_step,
    unmap_region_steps,
)

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write")(down_write)

# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="do_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


# unmap_region: zap (next = prev->vm_next); free_pgtables between the neighbours
unmap_region_steps(munmap)

munmap.step("remove_vma_list")(remove_vma_list_step)

munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="baseline-4.19",
    summary="everything under the write lock",
    source="mm/mmap.c do_munmap, Linux 4.19",
    munmap=munmap,
    doc=__doc__ or "",
)
