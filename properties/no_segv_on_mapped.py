"""no_segv_on_mapped: an access to a mapped page never gets SIGSEGV, unless the page lies in
the range of an unmap in progress.

The seed thread's worry about VM_DEAD: marking a vma that is only partly inside the unmapped
range makes faults on its still-mapped pages SIGSEGV ("we can't set VM_DEAD to that vma since
that would trigger SIGSEGV for still mapped area"). "Mapped" is judged when the fault path
decides (``bad_area``): the page lies in a linked vma. An access racing with an unmap of its
page may legitimately fail either way.
"""

from __future__ import annotations

from vmacheck.protocol.events import SEGV
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

from .base import Property, Violation, vma_name


class NoSegvOnMapped(Property):
    name = "no_segv_on_mapped"
    summary = "an access to a mapped page outside any unmap in progress never gets SIGSEGV"
    symbolic_hooks = True

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        for e in tr.events:
            if e.kind != SEGV or e.vma is None:
                continue
            ranges = [r for tid, r in model.unmaps_in_flight(before) if tid != e.tid]
            if any(lo <= e.page < hi for lo, hi in ranges):
                continue
            return self.violation(
                f"T{e.tid} got SIGSEGV at page {e.page}, which {vma_name(e.vma)} maps"
                + (f" (flags {', '.join(_flags(e.vma.flags))})" if e.vma.flags else "")
                + " and no unmap in progress covers",
                thread=e.tid,
                page=e.page,
                vma=e.vma.tag,
            )
        return None


def _flags(flags: int) -> list[str]:
    from vmacheck.protocol.state import flag_names

    return flag_names(flags)


PROPERTY = NoSegvOnMapped()
