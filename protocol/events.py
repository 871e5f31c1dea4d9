"""What a step did that a property may need to judge it: the observable facts of a step.

A step's effect is its successor state; an event records a fact that the successor state
cannot show, captured at the moment the primitive ran (mid-step, with what lay at that page
then). Events say what happened, never whether it was wrong: properties decide that.
"""

from __future__ import annotations

from typing import NamedTuple

from .state import Vma

# kinds
LOCK_REQUIRED = "lock_required"  # a primitive ran without the mmap_sem mode it needs
LOCK_MISUSE = "lock_misuse"  # up_read/up_write/downgrade without holding the lock that way
RETURN_LOCKED = "return_locked"  # a syscall returned to user space holding mmap_sem
VMA_STALE_USE = "vma_stale_use"  # a carried vma pointer used after its vma was detached/freed
SEGV = "segv"  # an access got SIGSEGV
ZAP = "zap"  # an unmap cleared a PTE
DETACH = "detach"  # an unmap took a vma out of the tree
FREE_VMA = "free_vma"  # remove_vma freed a vma struct
FREE_PT = "free_pt"  # free_pgtables freed a page-table page
PTE_STORE_FREED = "pte_store_freed"  # a fault stored a PTE into a page-table page since freed


class Event(NamedTuple):
    kind: str
    tid: int
    primitive: str
    # kind-specific facts, e.g. ZAP: page, pte tag, the linked vma at that page (or None)
    page: int = -1
    tag: str | None = None
    vma: Vma | None = None
    vmas: tuple[Vma, ...] = ()
    pages: tuple[int, ...] = ()
    detail: str = ""
