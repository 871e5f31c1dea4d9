"""downgrade-4.20: ``dd2283f2605e`` "mm: mmap: zap pages with read mmap_sem in munmap".

``W{ validate; find_vma; map_count check; split first; split last;
detach_vmas_to_be_unmapped }``; ``downgrade_write``; ``R{ unmap_region: zap the PTEs;
free_pgtables(prev->vm_end, next->vm_start); remove_vma_list }``; ``up_read``.

Detached vmas are invisible to faults, so a fault in the range gets SIGSEGV as it should.
But stack vmas change size under the read lock: a fault below a GROWSDOWN ``next`` expands it
into the range munmap has detached and is now zapping and freeing (CVE-2020-29369).
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame, do_munmap_split_steps, unmap_region_steps

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


# --- W{ validate; find_vma; map_count check; split first; split last; detach } ------------
munmap.step("down_write")(down_write)
# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="__do_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.downgrade_write()


# --- R{ unmap_region: zap, free_pgtables (its bounds read beside faults); remove_vma_list } -
unmap_region_steps(munmap)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Kernel, t: DoMunmapFrame) -> None:
    k.remove_vma_list(t.vma)


@munmap.step("up_read")
def up_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_read()
    k.ret(0)


munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="downgrade-4.20",
    summary="W{check, split, detach} downgrade R{zap, free_pgtables, free}",
    source="dd2283f2605e (Linux 4.20)",
    munmap=munmap,
    doc=__doc__ or "",
)
