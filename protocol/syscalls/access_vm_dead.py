"""``access(addr)`` for the 2018 RFCs that mark vmas being unmapped ``VM_DEAD``.

The pre-6.5 fault path of :mod:`vmacheck.protocol.syscalls.access` (``find_vma``, ``expand_stack``
under the read lock, ``handle_mm_fault``), plus the check the RFCs added so that a fault
on a vma munmap is tearing down gets SIGSEGV instead of faulting a page back in behind the
zap: "the page fault to VM_DEAD vma will trigger SIGSEGV" (RFC v3/v4). The check is made
where ``find_vma`` returns the vma, before anything else looks at it. Shared by
``rfc-v3-three-phase``, ``upgrade-read``, ``rfc-v4-redo`` and ``ebusy-on-dead``.
"""

from __future__ import annotations

from ..kernel import Kernel
from ..program import Program
from ..state import VM_DEAD, VM_GROWSDOWN, VM_GROWSUP
from .access import AccessFrame, do_anonymous_page, down_read, expand_stack, pte_alloc
from .common import up_read_return

access_vm_dead = Program(
    "access",
    AccessFrame,
    doc="a user access to one page; SIGSEGV on a VM_DEAD vma (the 2018 RFCs' fault path)",
)

access_vm_dead.step("down_read")(down_read)


@access_vm_dead.step("find_vma")
def find_vma(k: Kernel, t: AccessFrame) -> None:
    t.vma = k.find_vma(t.addr)
    if t.vma and t.vma.flags & VM_DEAD:
        # The RFCs' addition: the vma is being unmapped; do not fault it back in.
        k.bad_area(t.addr)
        t.retval = "SIGSEGV"
        k.goto("up_read")
    elif t.vma and t.vma.start <= t.addr:
        k.goto("__pte_alloc")
    elif t.vma and t.vma.flags & VM_GROWSDOWN:
        k.goto("expand_stack")
    else:
        prev = k.find_vma_prev(t.addr)
        if prev and prev.flags & VM_GROWSUP and not prev.flags & VM_DEAD:
            t.vma = prev
            k.goto("expand_stack")
        else:
            k.bad_area(t.addr)
            t.retval = "SIGSEGV"
            k.goto("up_read")


# the rest is the pre-6.5 fault path's
access_vm_dead.step("expand_stack")(expand_stack)
access_vm_dead.step("__pte_alloc", kernel="handle_mm_fault")(pte_alloc)
access_vm_dead.step("do_anonymous_page")(do_anonymous_page)
access_vm_dead.step("up_read")(up_read_return)
