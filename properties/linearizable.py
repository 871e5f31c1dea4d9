"""linearizable: every complete execution ends as some sequential execution would.

The final mappings (range, flags, tag), PTEs and each thread's return value must equal those
of some execution of the same syscalls, with the same arguments, one at a time, each atomic
under the write lock — the reference semantics of :mod:`vmacheck.protocol.syscalls.reference`: munmap
as Linux 4.19's ``do_munmap``, the other syscalls as their default programs. So a protocol
must not only be free of races, it must also do what munmap does when it runs alone (no
ENOMEM where 4.19 succeeds, no success without the work done). Page-table pages are not
compared: when an empty one is freed is not visible to user space.
"""

from __future__ import annotations

import weakref

from vmacheck.protocol.kernel import collect_garbage
from vmacheck.protocol.model import Model
from vmacheck.protocol.state import LINKED, State, ThreadState, VmaRef
from vmacheck.protocol.syscalls.reference import reference_for

from .base import Property, Violation

Outcome = tuple[object, ...]


def outcome(model: Model, state: State) -> Outcome:
    calls = tuple(
        (model.programs[t].syscall, tuple(model.programs[t].args(th).items()), th.result)
        for t, th in enumerate(state.threads)
    )
    vmas = tuple(sorted((v.start, v.end, v.flags, v.tag) for v in state.vmas if v.status == LINKED))
    return (calls, vmas, state.ptes)


def _between_calls(model: Model, state: State) -> State:
    """``state`` with the history of returned threads forgotten, when no syscall is in
    progress: their locals (but not their arguments), snapshot and ``changed`` flag. Nothing
    that runs later reads them, and :func:`outcome` keeps only arguments and results, so
    serial executions that differ only in the order of commuting syscalls merge here
    instead of being explored once per order (n! of them for n threads)."""
    if any(not th.done and th.pc != 0 for th in state.threads) or any(
        isinstance(x, VmaRef) for th in state.threads if not th.done for x in th.locals
    ):
        return state
    threads = tuple(
        ThreadState(th.pc, th.locals[: len(prog.params)] + (None,) * len(prog.local_names), th.result, True)
        if th.done
        else th
        for th, prog in zip(state.threads, model.programs)
    )
    # No thread holds a vma pointer now, so vma ids are mere names: number them in
    # address order, as the ids of merged orders would otherwise differ.
    live = sorted(
        collect_garbage(state.vmas, threads),
        key=lambda v: (v.status, v.start, v.end, v.tag, v.flags, v.owner),
    )
    vmas = tuple(v._replace(id=i) for i, v in enumerate(live))
    return state._replace(threads=threads, vmas=vmas)


def sequential_outcomes(model: Model) -> set[Outcome]:
    """Every outcome of every one-at-a-time execution of ``model``'s threads."""
    seen: set[State] = {_between_calls(model, s) for s in model.initial_states()}
    todo = list(seen)
    outcomes: set[Outcome] = set()
    while todo:
        state = todo.pop()
        succ = model.serial_successors(state)
        if not succ and all(th.done for th in state.threads):
            outcomes.add(outcome(model, state))
        for tr in succ:
            nxt = _between_calls(model, tr.state)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return outcomes


class Linearizable(Property):
    name = "linearizable"
    summary = "every complete execution matches some sequential one"

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Model, set[Outcome]] = weakref.WeakKeyDictionary()

    def prepare(self, model: Model) -> None:
        if model not in self._cache:
            reference = Model(reference_for(model.variant), model.scenario)
            self._cache[model] = sequential_outcomes(reference)

    def check_final(self, model: Model, state: State) -> Violation | None:
        self.prepare(model)
        if outcome(model, state) in self._cache[model]:
            return None
        calls = "; ".join(
            f"T{t} {model.describe_call(state, t)} = {th.result}" for t, th in enumerate(state.threads)
        )
        return self.violation(
            f"no sequential order of [{calls}], each syscall atomic under the write lock, ends"
            " with these mappings, PTEs and results",
        )


PROPERTY = Linearizable()
