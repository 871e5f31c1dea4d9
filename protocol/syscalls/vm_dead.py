"""VM_DEAD walks shared by the 2018 RFCs (v3, Michal Hocko's upgrade, v4, the EBUSY idea).

Composed of primitives (``find_vma``, ``mark_vma_dead``, field reads), not primitives
themselves, so they mean whatever the kernel object's primitives mean.
"""

from __future__ import annotations

from ..kernel import Kernel, VmaView
from ..state import VM_DEAD


def mark_vmas_dead(k: Kernel, vma: VmaView | None, end: int) -> None:
    """``for (tmp = vma; tmp && tmp->vm_start < end; tmp = tmp->vm_next) tmp->vm_flags |=
    VM_DEAD;`` — the range has been split first, so every vma walked lies inside it."""
    tmp = vma
    while tmp and tmp.start < end:
        k.mark_vma_dead(tmp)
        tmp = k.find_vma(tmp.end)  # tmp->vm_next


def range_has_dead(k: Kernel, start: int, end: int) -> bool:
    """Whether a linked vma overlapping ``[start, end)`` is VM_DEAD (being unmapped)."""
    vma = k.find_vma(start)
    while vma and vma.start < end:
        if vma.flags & VM_DEAD:
            return True
        vma = k.find_vma(vma.end)
    return False
