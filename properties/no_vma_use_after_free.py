"""no_vma_use_after_free: no thread uses a vma pointer after another thread detached or
freed the vma.

The hazard of carrying ``vma``/``prev`` across a dropped mmap_sem (RFC v1's sections, v3's
three phases): "once you drop the lock the address space might change under your feet".
Every dereference of a pointer held in a thread's locals is checked when it happens.
"""

from __future__ import annotations

from vmacheck.protocol.events import VMA_STALE_USE
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import DETACHED, FREED, State

from .base import Property, Violation, vma_name


class NoVmaUseAfterFree(Property):
    name = "no_vma_use_after_free"
    summary = "no thread dereferences a vma another thread detached or freed"
    symbolic_hooks = True

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        for e in tr.events:
            if e.kind == VMA_STALE_USE and e.vma is not None:
                if e.vma.status == FREED:
                    how = "freed"
                elif e.vma.status == DETACHED:
                    how = f"detached by T{e.vma.owner}"
                else:  # still linked, but not what the pointer was taken for (split_vma)
                    how = "changed by another thread"
                extra = f" ({e.detail})" if e.detail else ""
                return self.violation(
                    f"T{e.tid} used {vma_name(e.vma)} in {e.primitive} after it was {how}{extra}",
                    thread=e.tid,
                    vma=e.vma.tag,
                )
        return None


PROPERTY = NoVmaUseAfterFree()
