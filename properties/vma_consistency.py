"""vma_consistency: the vma tree and the page tables agree.

Linked vmas never overlap and have ``start < end``; ``map_count`` equals the number of linked
vmas; no vma an unmap took (detached, or marked VM_DEAD) outlives the unmap's return without
being freed (``remove_vma_list``); and once no unmap is in flight, every PTE lies inside a
linked vma and maps that vma's memory (a stale PTE left by an unmap, or an old page seen
through a vma that grew over it, is user memory corruption), and every allocated page-table
page lies at least partly under a linked vma (``free_pgtables`` frees the others: one left
behind is leaked).
"""

from __future__ import annotations

from vmacheck.protocol.model import Model
from vmacheck.protocol.state import DETACHED, FREED, LINKED, State

from .base import Property, Violation, vma_name


class VmaConsistency(Property):
    name = "vma_consistency"
    summary = "linked vmas are disjoint and counted; no stray PTE once no unmap is in flight"

    def check_state(self, model: Model, state: State) -> Violation | None:
        linked = state.linked_vmas()
        for v in linked:
            if not v.start < v.end:
                return self.violation(f"{vma_name(v)} is empty or inverted", vma=v.tag)
        for a, b in zip(linked, linked[1:]):
            if b.start < a.end:
                return self.violation(f"{vma_name(a)} and {vma_name(b)} overlap", vma=b.tag)
        if state.map_count != len(linked):
            return self.violation(
                f"map_count is {state.map_count} but {len(linked)} vmas are linked",
                details={"map_count": state.map_count, "linked": len(linked)},
            )
        for v in state.vmas:
            if v.owner >= 0 and state.threads[v.owner].done and v.status != FREED:
                # remove_vma_list never ran for it: the struct is leaked (and, marked
                # VM_DEAD, it would make every later fault there SIGSEGV).
                how = "detached" if v.status == DETACHED else "marked VM_DEAD"
                return self.violation(
                    f"{vma_name(v)}, {how} by T{v.owner}, is never freed: T{v.owner} returned", vma=v.tag
                )
        if model.unmaps_in_flight(state) or model.holds_unmapped(state):
            return None
        for page, tag in enumerate(state.ptes):
            if tag is None:
                continue
            cover = next((v for v in linked if v.start <= page < v.end and v.status == LINKED), None)
            if cover is None:
                return self.violation(f"page {page} keeps a PTE of {tag} outside any vma", page=page, vma=tag)
            if cover.tag != tag:
                return self.violation(
                    f"page {page} of {vma_name(cover)} maps the memory of {tag}", page=page, vma=cover.tag
                )
        span = model.pt_span
        for index, gen in enumerate(state.pts):
            lo, hi = index * span, (index + 1) * span
            if gen > 0 and not any(v.start < hi and v.end > lo for v in linked):
                # free_pgtables frees what lies between the neighbours of an unmapped range;
                # a page-table page no vma covers any more is leaked.
                return self.violation(
                    f"page table {index} (pages {lo}-{hi - 1}) is still allocated, under no vma", page=lo
                )
        return None


PROPERTY = VmaConsistency()
