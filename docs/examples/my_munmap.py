"""my-munmap: downgrade-4.20 with the 5.8 fix added, as a user's variant file.

Copied from protocol/variants/downgrade_4_20.py; the changes are marked "5.8:".
"""

from __future__ import annotations

from vmacheck import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame, do_munmap_split_steps, unmap_region_steps


class MyFrame(DoMunmapFrame):
    downgrade: bool  # 5.8: what detach_vmas_to_be_unmapped says


munmap = Program("munmap", MyFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


# --- W{ validate; find_vma; map_count check; split first; split last; detach } ------------
munmap.step("down_write")(down_write)
# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="__do_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: MyFrame) -> None:
    # 5.8: not next to a GROWSDOWN vma above or a GROWSUP vma below
    t.downgrade = k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: MyFrame) -> None:
    if t.downgrade:  # 5.8
        k.downgrade_write()


# --- R{ unmap_region: zap, free_pgtables (its bounds read beside faults); remove_vma_list } -
unmap_region_steps(munmap)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Kernel, t: DoMunmapFrame) -> None:
    k.remove_vma_list(t.vma)


@munmap.step("up_read")
def up_read(k: Kernel, t: MyFrame) -> None:
    if t.downgrade:  # 5.8: we may still hold it for write
        k.up_read()
    else:
        k.up_write()
    k.ret(0)


munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="my-munmap",
    summary="4.20 plus the 5.8 stack-neighbour check",
    source="my idea",
    munmap=munmap,
    doc=__doc__ or "",
)
