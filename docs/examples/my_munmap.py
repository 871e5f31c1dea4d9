"""my-munmap: downgrade-4.20 with the 5.8 fix added, as a user's variant file.

Copied from protocol/variants/downgrade_4_20.py; the changes are marked "5.8:".
"""

from __future__ import annotations

from vmacheck import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, range_of
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    do_munmap_find,
    do_munmap_split_first,
    do_munmap_split_last,
    free_pgtables_bounds,
)


class MyFrame(DoMunmapFrame):
    downgrade: bool  # 5.8: what detach_vmas_to_be_unmapped says


munmap = Program("munmap", MyFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


@munmap.step("down_write")
def down_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.down_write()


@munmap.step("find_vma", kernel="__do_munmap")
def find_vma(k: Kernel, t: DoMunmapFrame) -> None:
    if (ret := do_munmap_find(k, t)) is not None:  # EINVAL, or nothing mapped there
        t.retval = ret
        k.goto("up_write")


@munmap.step("split_first", kernel="__split_vma")
def split_first(k: Kernel, t: DoMunmapFrame) -> None:
    if (err := do_munmap_split_first(k, t, refind=True)) is not None:
        t.retval = err
        k.goto("up_write")


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Kernel, t: DoMunmapFrame) -> None:
    do_munmap_split_last(k, t.end)
    t.vma = k.find_vma(t.start)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: MyFrame) -> None:
    # 5.8: not next to a GROWSDOWN vma above or a GROWSUP vma below
    t.downgrade = k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: MyFrame) -> None:
    if t.downgrade:  # 5.8
        k.downgrade_write()


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Kernel, t: DoMunmapFrame) -> None:
    t.next = k.find_vma(t.end)  # prev->vm_next
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def read_free_pgtables_bounds(k: Kernel, t: DoMunmapFrame) -> None:
    # The arguments are read here, under the read lock, while faults run beside us.
    t.floor, t.ceiling = free_pgtables_bounds(k, t.prev, t.next)


@munmap.step("free_pgtables")
def free_pgtables(k: Kernel, t: DoMunmapFrame) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


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


@munmap.step("up_write")
def up_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="my-munmap",
    summary="4.20 plus the 5.8 stack-neighbour check",
    source="my idea",
    munmap=munmap,
    doc=__doc__ or "",
)
