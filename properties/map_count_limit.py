"""map_count_limit: ``map_count`` never exceeds ``max_map_count + 1``, and a syscall that
fails with ENOMEM has changed nothing.

``do_munmap`` checks the limit before its first split and then lets map_count go "just above
its limit temporarily, to help free resources as expected"; ``__split_vma`` does not check.
The bound is judged in every state where no thread holds mmap_sem for write — the states
other threads (and ``/proc/pid/maps``) can observe; inside one write hold the kernel's two
splits may briefly count two above. "Changed nothing" means nothing user space can observe:
which mapping and flags each page has, and its PTE (a split that leaves both halves alike is
invisible, as when ``mprotect``'s second ``split_vma`` fails).
"""

from __future__ import annotations

from protocol.model import Model, Transition
from protocol.state import NO_THREAD, State

from .base import Property, Violation


class MapCountLimit(Property):
    name = "map_count_limit"
    summary = "map_count <= max_map_count + 1; ENOMEM means nothing changed"

    def check_state(self, model: Model, state: State) -> Violation | None:
        if state.sem.writer == NO_THREAD and state.map_count > model.max_map_count + 1:
            return self.violation(
                f"map_count is {state.map_count} with max_map_count {model.max_map_count}"
                f" (limit + 1 = {model.max_map_count + 1}) while mmap_sem is not held for write",
                details={"map_count": state.map_count},
            )
        return None

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        th = tr.state.threads[tr.tid]
        if th.done and th.result == "ENOMEM" and th.changed:
            return self.violation(
                f"T{tr.tid} {model.describe_call(tr.state, tr.tid)} returned ENOMEM after"
                " changing the address space",
                thread=tr.tid,
            )
        return None


PROPERTY = MapCountLimit()
