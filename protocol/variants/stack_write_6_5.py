"""stack-write-6.5: ``8d7071af8907`` "mm: always expand the stack with the mmap write lock held"
(Linux 6.5, after StackRot, CVE-2023-3269).

munmap is 4.20's and downgrades unconditionally: ``W{ validate; find_vma; map_count check;
split first; split last; detach }``; ``downgrade_write``; ``R{ zap; free_pgtables; free }``;
``up_read`` — with stack expansion needing the write lock, no vma can change size while
munmap holds only the read lock, so the 5.8 exception is not needed.

The fault path is ``lock_mm_and_find_vma``: ``R{ find_vma; if found and vm_start <= addr:
fault in }``; otherwise, for a VM_GROWSDOWN vma above the address (or a VM_GROWSUP one
below): ``up_read; down_write`` (``mmap_upgrade_trylock`` does not exist, so the lock is
dropped), ``find_vma`` again — the address space may have changed in between —
``expand_stack_locked``, ``downgrade_write``, fault in, ``up_read``.
"""

from __future__ import annotations

from vmacheck.protocol import VM_GROWSDOWN, VM_GROWSUP, Kernel, Program, Variant
from vmacheck.protocol.syscalls.access import AccessFrame, do_anonymous_page, expand_stack, pte_alloc
from vmacheck.protocol.syscalls.common import (
    MUNMAP_ERRNOS,
    down_write,
    range_of,
    up_read_return,
    up_write_return,
)
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame, do_munmap_split_steps, unmap_region_steps

# --- munmap: do_vmi_align_munmap with downgrade, as 4.20 -------------------------------------
munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write", kernel="mmap_write_lock")(down_write)

# find_vma (checks, find_vma, prev); split_first, split_last (__split_vma; vma found again)
do_munmap_split_steps(munmap, lookup="do_vmi_munmap", out="up_write", refind=True)


@munmap.step("detach_vmas_to_be_unmapped", kernel="vma_mas_detach")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)


@munmap.step("downgrade_write", kernel="mmap_write_downgrade")
def downgrade_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.downgrade_write()  # always: no vma changes size under the read lock any more


# R{ unmap_region: zap; read free_pgtables' floor and ceiling, faults beside us; free }
unmap_region_steps(munmap)


@munmap.step("remove_vma_list", kernel="remove_mt")
def remove_vma_list(k: Kernel, t: DoMunmapFrame) -> None:
    k.remove_vma_list(t.vma)


@munmap.step("up_read", kernel="mmap_read_unlock")
def read_unlock(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_read()
    k.ret(0)


munmap.step("up_write", kernel="mmap_write_unlock")(up_write_return)


# --- access: lock_mm_and_find_vma, expanding the stack only under the write lock -------------
access = Program(
    "access", AccessFrame, doc="a user access to one page; stack expansion under the write lock (Linux 6.5)"
)


@access.step("down_read", kernel="get_mmap_lock_carefully")
def fault_down_read(k: Kernel, t: AccessFrame) -> None:
    k.down_read()


def _needs_expansion(k: Kernel, t: AccessFrame) -> bool:
    """After ``find_vma``: whether ``addr`` can only be reached by growing a stack; sets
    ``t.vma`` to the stack (a VM_GROWSUP one lies below ``addr``)."""
    if t.vma and t.vma.flags & VM_GROWSDOWN:
        return True
    prev = k.find_vma_prev(t.addr)
    if prev and prev.flags & VM_GROWSUP:
        t.vma = prev
        return True
    return False


@access.step("find_vma", kernel="lock_mm_and_find_vma")
def fault_find_vma(k: Kernel, t: AccessFrame) -> None:
    t.vma = k.find_vma(t.addr)
    if t.vma and t.vma.start <= t.addr:
        return k.goto("__pte_alloc")
    if not _needs_expansion(k, t):
        k.bad_area(t.addr)
        t.retval = "SIGSEGV"
        return k.goto("up_read")
    # mmap_upgrade_trylock() "We don't have this operation yet": drop and retake the lock


@access.step("mmap_read_unlock", kernel="upgrade_mmap_lock_carefully")
def fault_read_unlock(k: Kernel, t: AccessFrame) -> None:
    k.up_read()


access.step("mmap_write_lock", kernel="upgrade_mmap_lock_carefully")(down_write)


@access.step("find_vma_again", kernel="lock_mm_and_find_vma")
def fault_find_vma_again(k: Kernel, t: AccessFrame) -> None:
    # The lock was dropped: the vma found before may be gone. Look it up again.
    t.vma = k.find_vma(t.addr)
    if t.vma and t.vma.start <= t.addr:
        return k.goto("mmap_write_downgrade")  # someone else mapped or grew it: success
    if not _needs_expansion(k, t):
        k.bad_area(t.addr)
        t.retval = "SIGSEGV"
        return k.goto("mmap_write_unlock")


# expand_downwards or expand_upwards, as before 6.5 but under the write lock
access.step("expand_stack_locked")(expand_stack)


@access.step("mmap_write_downgrade")
def fault_downgrade(k: Kernel, t: AccessFrame) -> None:
    k.downgrade_write()


# handle_mm_fault under the read lock, as before 6.5
access.step("__pte_alloc", kernel="handle_mm_fault")(pte_alloc)
access.step("do_anonymous_page")(do_anonymous_page)
access.step("up_read", kernel="mmap_read_unlock")(up_read_return)

access.step("mmap_write_unlock")(up_write_return)


VARIANT = Variant(
    name="stack-write-6.5",
    summary="munmap downgrades always; stack expansion only under the write lock, with re-lookup",
    source="8d7071af8907 (Linux 6.5, after CVE-2023-3269)",
    munmap=munmap,
    overrides={"access": access},
    doc=__doc__ or "",
)
