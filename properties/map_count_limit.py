"""map_count_limit: ``map_count`` never exceeds ``max_map_count + 1``, an unmap splits a vma in
two only below the limit, and a syscall that fails with ENOMEM has changed nothing.

``do_munmap`` checks the limit before its first split and then lets map_count go "just above
its limit temporarily, to help free resources as expected"; ``__split_vma`` does not check.
The bound is judged in every state where no thread holds mmap_sem for write — the states
other threads (and ``/proc/pid/maps``) can observe; inside one write hold the kernel's two
splits may briefly count two above. Splitting a vma around the unmapped range (the one case
where an unmap raises map_count) needs ``map_count < max_map_count`` when the split happens:
do_munmap checks that before its first split ("Make sure that map_count on return from
munmap() will not exceed its limit"); a check with ``>``, a check skipped, or a split made
before the check (or outside the lock hold that checked) breaks it. "Changed nothing" means
nothing user space can observe: which mapping and flags each page has, and its PTE (a split
that leaves both halves alike is invisible, as when ``mprotect``'s second ``split_vma``
fails).
"""

from __future__ import annotations

from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import NO_THREAD, State, Vma

from .base import Property, Violation, vma_name


class MapCountLimit(Property):
    name = "map_count_limit"
    summary = "map_count <= max_map_count + 1; ENOMEM means nothing changed"
    symbolic_hooks = True

    def check_state(self, model: Model, state: State) -> Violation | None:
        if state.sem.writer == NO_THREAD and state.map_count > model.max_map_count + 1:
            return self.violation(
                f"map_count is {state.map_count} with max_map_count {model.max_map_count}"
                f" (limit + 1 = {model.max_map_count + 1}) while mmap_sem is not held for write",
                details={"map_count": state.map_count},
            )
        return None

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        v = split_around_range(model, before, tr)
        if v is not None and before.map_count >= model.max_map_count:
            return self.violation(
                f"T{tr.tid} {model.describe_call(before, tr.tid)} split {vma_name(v)} around its range"
                f" with map_count {before.map_count} at max_map_count {model.max_map_count}: do_munmap"
                " returns ENOMEM before any change here, so that map_count on return will not exceed"
                " its limit",
                thread=tr.tid,
                vma=v.tag,
            )
        th = tr.state.threads[tr.tid]
        if th.done and th.result == "ENOMEM" and th.changed:
            return self.violation(
                f"T{tr.tid} {model.describe_call(tr.state, tr.tid)} returned ENOMEM after"
                " changing the address space",
                thread=tr.tid,
            )
        return None


def split_around_range(model: Model, before: State, tr: Transition) -> Vma | None:
    """The vma this step split although it held the thread's whole unmap range strictly
    inside it — a split that makes the unmap raise map_count by one — if it did."""
    rng = model.programs[tr.tid].unmap_range(before.threads[tr.tid])
    if rng is None:
        return None
    start, end = rng
    for v in before.vmas:
        if v.linked and v.start < start and end < v.end:
            pieces = [
                w
                for w in tr.state.vmas
                if w.linked and w.tag == v.tag and w.start < v.end and w.end > v.start
            ]
            return v if len(pieces) > 1 else None
    return None


PROPERTY = MapCountLimit()
