"""lock_discipline: every primitive runs with the mmap_sem mode it requires.

Tree changes (``__split_vma``, ``detach_vmas_to_be_unmapped``, ``vma_link``) need the lock for
write; lookups, faults and zaps need it at least for read ("splitting can't be done with read
mmap_sem held"). Also: no release of a lock not held, no return to user space holding it.
Stack expansion is declared as needing only the read lock, as the kernel had it before 6.5.
"""

from __future__ import annotations

from vmacheck.protocol.events import LOCK_MISUSE, LOCK_REQUIRED, RETURN_LOCKED
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

from .base import Property, Violation

KINDS = (LOCK_REQUIRED, LOCK_MISUSE, RETURN_LOCKED)


class LockDiscipline(Property):
    name = "lock_discipline"
    summary = "each primitive holds the lock it requires"
    symbolic_hooks = True

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        for e in tr.events:
            if e.kind in KINDS:
                return self.violation(f"T{e.tid} {e.primitive} in step {tr.label}: {e.detail}", thread=e.tid)
        return None


PROPERTY = LockDiscipline()
