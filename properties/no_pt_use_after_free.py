"""no_pt_use_after_free: page-table pages are freed only when empty and unused.

No PTE is installed in, or left in, a page-table page that is freed (a fault that found or
allocated the page earlier and stores into it after munmap's ``free_pgtables`` freed it
counts); no page-table page is freed while it holds a PTE or lies partly under a linked vma —
other than a VM_DEAD vma inside the freeing unmap's own range, which faults no longer touch
and which that unmap tears down (RFC v3 frees the page tables before it detaches).
This is how CVE-2020-29369 corrupts memory: ``free_pgtables`` reads its floor and ceiling from
the neighbours, then frees, while a fault expands the stack below ``next->vm_start`` and
populates the page table being freed.
"""

from __future__ import annotations

from vmacheck.protocol.events import FREE_PT, PTE_STORE_FREED
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import NO_THREAD, VM_DEAD, State

from .base import Property, Violation, vma_name


class NoPtUseAfterFree(Property):
    name = "no_pt_use_after_free"
    summary = "no PTE in a freed page table; never free one that holds a PTE or lies under a vma"

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        for e in tr.events:
            if e.kind == PTE_STORE_FREED:
                return self.violation(
                    f"T{e.tid} stored the PTE for page {e.page} into {e.detail}, freed since"
                    " the fault found it",
                    thread=e.tid,
                    page=e.page,
                )
            if e.kind != FREE_PT:
                continue
            rng = model.programs[e.tid].unmap_range(before.threads[e.tid])
            vmas = tuple(
                v
                for v in e.vmas
                if not (
                    v.flags & VM_DEAD
                    and v.owner != NO_THREAD
                    and rng is not None
                    and rng[0] <= v.start
                    and v.end <= rng[1]
                )
            )
            if e.pages or vmas:
                span = model.pt_span
                what = []
                if e.pages:
                    what.append("PTEs for pages " + ", ".join(map(str, e.pages)))
                if vmas:
                    what.append("linked " + ", ".join(vma_name(v) for v in vmas) + " over it")
                return self.violation(
                    f"T{e.tid} freed page table {e.page} (pages {e.page * span}-"
                    f"{(e.page + 1) * span - 1}) with " + " and ".join(what),
                    thread=e.tid,
                    page=e.pages[0] if e.pages else None,
                    vma=vmas[0].tag if vmas else None,
                )
        return None

    def check_state(self, model: Model, state: State) -> Violation | None:
        for page, tag in enumerate(state.ptes):
            if tag is not None and state.pts[page // model.pt_span] <= 0:
                return self.violation(
                    f"page {page} has a PTE for {tag} but page table {page // model.pt_span} is freed",
                    page=page,
                    vma=tag,
                )
        return None


PROPERTY = NoPtUseAfterFree()
