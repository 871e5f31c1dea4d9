"""documented_errno: syscalls return only errors their man pages document.

munmap(2): EINVAL, ENOMEM; mmap(2): no EBUSY ("non of those is documented to return EBUSY and
EAGAIN already has a meaning for locked memory"); mremap(2), mprotect(2) likewise. Each
program declares its documented errnos.
"""

from __future__ import annotations

from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

from .base import Property, Violation


class DocumentedErrno(Property):
    name = "documented_errno"
    summary = "only errnos the man page documents"
    symbolic_hooks = True

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        th = tr.state.threads[tr.tid]
        if not th.done or not isinstance(th.result, str) or not th.result.startswith("E"):
            return None
        prog = model.programs[tr.tid]
        if th.result in prog.errnos:
            return None
        return self.violation(
            f"T{tr.tid} {model.describe_call(tr.state, tr.tid)} returned {th.result}, which"
            f" {prog.syscall}(2) does not document ({', '.join(sorted(prog.errnos)) or 'none'})",
            thread=tr.tid,
        )


PROPERTY = DocumentedErrno()
