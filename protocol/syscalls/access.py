"""``access(addr)``: a user load or store at page ``addr``, i.e. a page fault.

The fault path before Linux 6.5 (``__do_page_fault`` on x86, with the GROWSUP mirror of
``find_extend_vma``), under mmap_sem held for read: ``find_vma``; inside the vma: fault in;
below a VM_GROWSDOWN vma (or above a VM_GROWSUP one): ``expand_stack`` — which changes the
vma's bounds under the *read* lock — then fault in; else SIGSEGV. Faulting in is two steps,
as in ``handle_mm_fault``: find or allocate the page-table page (``__pte_alloc``), then
install the PTE in it under the page-table lock (``do_anonymous_page``), so an unmap can
free the page-table page in between. ``stack_guard_gap`` is taken as 0.

The steps other than ``find_vma`` are shared with the other fault paths
(:mod:`.access_vm_dead`, and stack-write-6.5's), which register them under the same labels.
"""

from __future__ import annotations

from typing import Final

from ..kernel import Kernel, VmaView
from ..program import Frame, Program, Ptr, param
from ..state import VM_GROWSDOWN, VM_GROWSUP, PtRef
from .common import up_read_return


class AccessFrame(Frame):
    """``access(addr)``: the vma the fault found, the page-table page it found or allocated,
    and what the access ends with ("ok" or SIGSEGV)."""

    addr: Final[int] = param()
    vma: Ptr[VmaView]
    pt: Ptr[PtRef]
    retval: str


access = Program(
    "access", AccessFrame, doc="a user access to one page: page fault, stack expansion, or SIGSEGV"
)


@access.step("down_read")
def down_read(k: Kernel, t: AccessFrame) -> None:
    k.down_read()


@access.step("find_vma")
def find_vma(k: Kernel, t: AccessFrame) -> None:
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
def expand_stack(k: Kernel, t: AccessFrame) -> None:
    if t.vma.flags & VM_GROWSDOWN:
        k.expand_downwards(t.vma, t.addr)
    else:
        k.expand_upwards(t.vma, t.addr)


@access.step("__pte_alloc", kernel="handle_mm_fault")
def pte_alloc(k: Kernel, t: AccessFrame) -> None:
    t.pt = k.pte_alloc(t.addr)


@access.step("do_anonymous_page")
def do_anonymous_page(k: Kernel, t: AccessFrame) -> None:
    k.set_pte(t.pt, t.addr, t.vma.tag)
    t.retval = "ok"


access.step("up_read")(up_read_return)
