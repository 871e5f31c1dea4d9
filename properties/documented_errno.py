"""documented_errno: syscalls return only errors their man pages document — and a success
only when they did what it documents.

munmap(2): EINVAL, ENOMEM; mmap(2): no EBUSY ("non of those is documented to return EBUSY and
EAGAIN already has a meaning for locked memory"); mremap(2), mprotect(2) likewise. Each
program declares its documented errnos. Every syscall returns something (a program that
returns without setting its result is broken). ``mmap(MAP_FIXED)`` returns its address only
with the new mapping in place over the whole range, and a fault's step that reports the
access done leaves the page mapped (a PTE) — unless the page table it stored into was freed
under it (``no_pt_use_after_free``'s matter).
"""

from __future__ import annotations

from protocol.events import PTE_STORE_FREED
from protocol.model import Model, Transition
from protocol.state import State

from .base import Property, Violation


class DocumentedErrno(Property):
    name = "documented_errno"
    summary = "only errnos the man page documents"

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        th = tr.state.threads[tr.tid]
        unmapped = _fault_without_page(model, before, tr)
        if unmapped is not None:
            return self.violation(unmapped, thread=tr.tid)
        if th.done and not before.threads[tr.tid].done:
            broken = _not_done(model, tr)
            if broken is not None:
                return self.violation(
                    f"T{tr.tid} {model.describe_call(tr.state, tr.tid)} returned {th.result}, but {broken}",
                    thread=tr.tid,
                )
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


def _not_done(model: Model, tr: Transition) -> str | None:
    """Why a syscall returning now did not do what its result says, if it did not."""
    state, tid = tr.state, tr.tid
    th = state.threads[tid]
    prog = model.programs[tid]
    args = prog.args(th)
    if th.result is None:
        return "it set no result"
    start, length = args.get("start"), args.get("len")
    if prog.syscall == "mmap" and th.result == start and isinstance(start, int) and isinstance(length, int):
        end = start + length
        missing = [p for p in range(start, end) if not ((v := state.vma_at(p)) and v.tag == model.tags[tid])]
        if missing:
            return f"page {missing[0]} is not mapped by its new mapping {model.tags[tid]}"
    return None


def _fault_without_page(model: Model, before: State, tr: Transition) -> str | None:
    """A fault's step that reports the access done (its ``retval`` becomes "ok") must leave
    the page mapped: set_pte_at installs the PTE, or one is already there — unless the
    store went to a page table freed under the fault (an event ``no_pt_use_after_free``
    judges)."""
    prog = model.programs[tr.tid]
    slot = prog.slot.get("retval")
    if prog.syscall != "access" or slot is None:
        return None
    was, now = before.threads[tr.tid].locals[slot], tr.state.threads[tr.tid].locals[slot]
    addr = prog.args(tr.state.threads[tr.tid]).get("addr")
    if now != "ok" or was == "ok" or not isinstance(addr, int) or tr.state.ptes[addr] is not None:
        return None
    if any(e.kind == PTE_STORE_FREED for e in tr.events):
        return None
    return (
        f"T{tr.tid} {model.describe_call(tr.state, tr.tid)} reports the access done in step {tr.label},"
        f" but page {addr} has no PTE: the fault did not map it"
    )


PROPERTY = DocumentedErrno()
