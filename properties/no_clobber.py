"""no_clobber: an unmap zaps and removes only what belongs to the vmas it took out of the tree.

Never a PTE inside a vma that is still linked (however old that vma: a stack that grew into
the range under the read lock, CVE-2020-29369), unless that vma is VM_DEAD — marked by this
unmap, or by an overlapping unmap in flight that marked it again (the kernel's VM_DEAD is a
flag, not an owner: two unmaps tearing down the same pages may both zap them) — and the page
lies in this unmap's own range; never a mapping installed after the unmap took effect (a
racing MAP_FIXED or mremap landing between two lock holds: "you might be unmapping a
completely different vma").
An unmap takes effect when its thread first holds mmap_sem; the mappings linked then are
the ones it may remove.
"""

from __future__ import annotations

from vmacheck.protocol.events import DETACH, ZAP
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import LINKED, NO_THREAD, VM_DEAD, State, Vma

from .base import Property, Violation, vma_name


def _mapped_when_begun(before: State, tid: int) -> frozenset[str]:
    snap = before.threads[tid].snapshot
    if snap is None:  # the step that takes the lock is the step that acts
        snap = frozenset(v.tag for v in before.vmas if v.status == LINKED)
    return snap


def _dying_in_own_range(model: Model, before: State, tid: int, vma: Vma, page: int) -> bool:
    """``vma`` is VM_DEAD, marked by an unmap in flight, and ``page`` lies in the range
    ``tid`` itself unmaps: the page is this unmap's to zap, whoever marked the vma last."""
    if not vma.flags & VM_DEAD or vma.owner == NO_THREAD:
        return False
    rng = model.programs[tid].unmap_range(before.threads[tid])
    return rng is not None and rng[0] <= page < rng[1]


class NoClobber(Property):
    name = "no_clobber"
    summary = "an unmap removes only what it took out of the tree, nothing linked or newer"

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        for e in tr.events:
            if e.kind == ZAP:
                if (
                    e.vma is not None
                    and e.vma.owner != e.tid
                    and not _dying_in_own_range(model, before, e.tid, e.vma, e.page)
                ):
                    return self.violation(
                        f"T{e.tid} zapped the PTE of page {e.page} inside {vma_name(e.vma)},"
                        " which is still linked",
                        thread=e.tid,
                        page=e.page,
                        vma=e.vma.tag,
                    )
                if e.tag not in _mapped_when_begun(before, e.tid):
                    return self.violation(
                        f"T{e.tid} zapped the PTE of page {e.page} of mapping {e.tag},"
                        " installed after its unmap began",
                        thread=e.tid,
                        page=e.page,
                        vma=e.tag,
                    )
            elif e.kind == DETACH and e.vma is not None:
                if e.vma.tag not in _mapped_when_begun(before, e.tid):
                    return self.violation(
                        f"T{e.tid} unmapped {vma_name(e.vma)}, a mapping installed after its unmap began",
                        thread=e.tid,
                        vma=e.vma.tag,
                    )
        return None


PROPERTY = NoClobber()
