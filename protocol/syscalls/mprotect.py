"""``mprotect(start, len, PROT_READ)``: make part of one vma read-only, splitting it.

Linux 4.19 ``mprotect_fixup`` under mmap_sem held for write: ``split_vma`` (which, unlike
``__split_vma``, fails with ENOMEM when ``map_count >= max_map_count``) at ``start`` and at
``end``, then the new flags. A failure of the second split leaves the first split in place,
as in the kernel: invisible to user space (same flags on both halves), so nothing changed.
"""

from __future__ import annotations

from ..kernel import Kernel
from ..program import Program
from ..state import VM_RDONLY
from .common import MPROTECT_ERRNOS, RangeCall, bad_range, down_write, up_write_return

mprotect = Program(
    "mprotect",
    RangeCall,
    errnos=MPROTECT_ERRNOS,
    doc="mprotect: split a vma and change the flags of the middle part",
)


mprotect.step("down_write")(down_write)


def _fixup(k: Kernel, start: int, end: int) -> int | str:
    vma = k.find_vma(start)
    if not vma or vma.start > start or end > vma.end:
        return "ENOMEM"  # not (wholly) mapped
    if start > vma.start:
        if k.map_count >= k.max_map_count:
            return "ENOMEM"
        k.split_vma(vma, start, new_below=True)
    if end < vma.end:
        if k.map_count >= k.max_map_count:
            return "ENOMEM"
        k.split_vma(vma, end, new_below=False)
    k.vma_set_flags(vma, VM_RDONLY)
    return 0


@mprotect.step("mprotect_fixup")
def _mprotect(k: Kernel, t: RangeCall) -> None:
    if bad_range(k, t.start, t.len):
        t.retval = "EINVAL"
    else:
        t.retval = _fixup(k, t.start, t.start + t.len)


mprotect.step("up_write")(up_write_return)
