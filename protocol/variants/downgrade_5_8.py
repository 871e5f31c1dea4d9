"""downgrade-5.8: ``246c320a8cfe`` (fix for CVE-2020-29369, reported by Jann Horn).

As ``downgrade-4.20``, but ``detach_vmas_to_be_unmapped`` reports whether downgrading is
safe: not when the vma after the range is VM_GROWSDOWN or the one before it is VM_GROWSUP —
those change size under the read lock and could grow into the range. Then munmap keeps the
write lock for the zap and the page-table freeing.
"""

from __future__ import annotations

from typing import Any

from vmacheck.protocol import Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, bad_range

munmap = Program(
    "munmap",
    params=("start", "len"),
    locals=("end", "vma", "prev", "next", "floor", "ceiling", "downgrade", "retval"),
    errnos=MUNMAP_ERRNOS,
    unmaps=lambda t: (t.start, t.start + t.len),
)


@munmap.step("down_write")
def down_write(k: Any, t: Any) -> None:
    k.down_write()


@munmap.step("find_vma", kernel="__do_munmap")
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
        t.vma = k.find_vma(t.start)


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Any, t: Any) -> None:
    last = k.find_vma(t.end)
    if last and t.end > last.start:
        k.split_vma(last, t.end, new_below=True)
    t.vma = k.find_vma(t.start)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Any, t: Any) -> None:
    # "Do not downgrade mmap_lock if we are next to VM_GROWSDOWN or VM_GROWSUP VMA."
    t.downgrade = k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Any, t: Any) -> None:
    if t.downgrade:
        k.downgrade_write()


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Any, t: Any) -> None:
    t.next = k.find_vma(t.end)
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("free_pgtables_bounds", kernel="free_pgtables")
def free_pgtables_bounds(k: Any, t: Any) -> None:
    t.floor = t.prev.end if t.prev else 0
    t.ceiling = t.next.start if t.next else k.task_size


@munmap.step("free_pgtables")
def free_pgtables(k: Any, t: Any) -> None:
    k.free_pgtables(t.vma, t.floor, t.ceiling)


@munmap.step("remove_vma_list")
def remove_vma_list(k: Any, t: Any) -> None:
    k.remove_vma_list(t.vma)
    t.retval = 0


@munmap.step("up_read", kernel="up_read/up_write")
def up_read(k: Any, t: Any) -> None:
    if t.downgrade:
        k.up_read()
    else:
        k.up_write()
    k.ret(0)


@munmap.step("up_write")
def up_write(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="downgrade-5.8",
    summary="as 4.20, but no downgrade next to a GROWSDOWN/GROWSUP neighbour",
    source="246c320a8cfe (Linux 5.8, CVE-2020-29369)",
    munmap=munmap,
    doc=__doc__ or "",
)
