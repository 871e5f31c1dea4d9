"""``access(addr)``: a user load or store at page ``addr``, i.e. a page fault.

The fault path before Linux 6.5 (``__do_page_fault`` on x86, with the GROWSUP mirror of
``find_extend_vma``), under mmap_sem held for read: ``find_vma``; inside the vma: fault in;
below a VM_GROWSDOWN vma (or above a VM_GROWSUP one): ``expand_stack`` — which changes the
vma's bounds under the *read* lock — then fault in; else SIGSEGV. Faulting in is two steps,
as in ``handle_mm_fault``: find or allocate the page-table page (``__pte_alloc``), then
install the PTE in it under the page-table lock (``do_anonymous_page``), so an unmap can
free the page-table page in between. ``stack_guard_gap`` is taken as 0.
"""

from __future__ import annotations

from typing import Any

from ..program import Program
from ..state import VM_GROWSDOWN, VM_GROWSUP

access = Program(
    "access",
    params=("addr",),
    locals=("vma", "pt", "retval"),
    doc="a user access to one page: page fault, stack expansion, or SIGSEGV",
)


@access.step("down_read")
def _lock(k: Any, t: Any) -> None:
    k.down_read()


@access.step("find_vma")
def _find(k: Any, t: Any) -> None:
    t.vma = k.find_vma(t.addr)
    if t.vma and t.vma.start <= t.addr:
        k.goto("__pte_alloc")
    elif t.vma and t.vma.flags & VM_GROWSDOWN:
        k.goto("expand_stack")
    else:
        prev = k.find_vma_prev(t.addr)
        if prev and prev.flags & VM_GROWSUP:
            t.vma = prev
            k.goto("expand_stack")
        else:
            k.bad_area(t.addr)
            t.retval = "SIGSEGV"
            k.goto("up_read")


@access.step("expand_stack")
def _expand(k: Any, t: Any) -> None:
    if t.vma.flags & VM_GROWSDOWN:
        k.expand_downwards(t.vma, t.addr)
    else:
        k.expand_upwards(t.vma, t.addr)


@access.step("__pte_alloc", kernel="handle_mm_fault")
def _pte_alloc(k: Any, t: Any) -> None:
    t.pt = k.pte_alloc(t.addr)


@access.step("do_anonymous_page")
def _fault_in(k: Any, t: Any) -> None:
    k.set_pte(t.pt, t.addr, t.vma.tag)
    t.retval = "ok"


@access.step("up_read")
def _unlock(k: Any, t: Any) -> None:
    k.up_read()
    k.ret(t.retval)
