"""VM_DEAD walks shared by the 2018 RFCs (v3, Michal Hocko's upgrade, v4, the EBUSY idea).

Composed of primitives (``find_vma``, ``mark_vma_dead``, field reads), not primitives
themselves, so they mean whatever the kernel object's primitives mean.
"""

from __future__ import annotations

from typing import TypeVar

from ..kernel import Kernel, VmaView
from ..program import Program
from ..state import VM_DEAD
from .common import down_write
from .munmap import MunmapRange, do_munmap_split_steps

R = TypeVar("R", bound=MunmapRange)


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


def mark_vm_dead_step(k: Kernel, t: MunmapRange) -> None:
    """``vma->vm_flags |= VM_DEAD`` on every vma of the (split) range."""
    mark_vmas_dead(k, t.vma, t.end)


def split_and_mark_dead_steps(prog: Program[R], *, lookup: str, out: str) -> None:
    """Append the first phase the 2018 RFCs share (v3, Michal Hocko's upgrade, v4):
    ``W{ find_vma (as ``lookup``); the map_count check; __split_vma at start and end; VM_DEAD
    on every vma in the range }`` — ``down_write``, ``find_vma``, ``split_first``,
    ``split_last``, ``mark_vm_dead``, with no re-lookup after the splits; ``out`` is where
    munmap goes when it returns early."""
    prog.step("down_write")(down_write)
    do_munmap_split_steps(prog, lookup=lookup, out=out, refind=False)
    prog.step("mark_vm_dead", kernel="vma->vm_flags |= VM_DEAD")(mark_vm_dead_step)
