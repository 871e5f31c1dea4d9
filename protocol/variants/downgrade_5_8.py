"""downgrade-5.8: ``246c320a8cfe`` (fix for CVE-2020-29369, reported by Jann Horn).

As ``downgrade-4.20``, but ``detach_vmas_to_be_unmapped`` reports whether downgrading is
safe: not when the vma after the range is VM_GROWSDOWN or the one before it is VM_GROWSUP —
those change size under the read lock and could grow into the range. Then munmap keeps the
write lock for the zap and the page-table freeing.
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


class DowngradeFrame(DoMunmapFrame):
    """``__do_munmap``'s locals, and whether ``detach_vmas_to_be_unmapped`` found it safe to
    downgrade."""

    downgrade: bool
    retval: int | str  # declared again: last, as traces list it


munmap = Program("munmap", DowngradeFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write")(down_write)

# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="__do_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DowngradeFrame) -> None:
    # "Do not downgrade mmap_lock if we are next to VM_GROWSDOWN or VM_GROWSUP VMA."
    t.downgrade = k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: DowngradeFrame) -> None:
    if t.downgrade:
        k.downgrade_write()


# R{ unmap_region: zap; read free_pgtables' floor and ceiling, faults beside us; free }
unmap_region_steps(munmap)

munmap.step("remove_vma_list")(remove_vma_list_step)


@munmap.step("up_read", kernel="up_read/up_write")
def up_read(k: Kernel, t: DowngradeFrame) -> None:
    if t.downgrade:
        k.up_read()
    else:
        k.up_write()
    k.ret(0)


munmap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="downgrade-5.8",
    summary="as 4.20, but no downgrade next to a GROWSDOWN/GROWSUP neighbour",
    source="246c320a8cfe (Linux 5.8, CVE-2020-29369)",
    munmap=munmap,
    doc=__doc__ or "",
)
