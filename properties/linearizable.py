"""linearizable: every complete execution ends as some sequential execution would.

The final mappings (range, flags, tag), PTEs and each thread's return value must equal those
of some execution of the same syscalls, with the same arguments, one at a time (each
atomic, the first step of one after the last of the previous). Page-table pages are not
compared: when an empty one is freed is not visible to user space.
"""

from __future__ import annotations

import weakref

from protocol.model import Model
from protocol.state import LINKED, State

from .base import Property, Violation

Outcome = tuple[object, ...]


def outcome(model: Model, state: State) -> Outcome:
    calls = tuple(
        (model.programs[t].syscall, tuple(model.programs[t].args(th).items()), th.result)
        for t, th in enumerate(state.threads)
    )
    vmas = tuple(sorted((v.start, v.end, v.flags, v.tag) for v in state.vmas if v.status == LINKED))
    return (calls, vmas, state.ptes)


def sequential_outcomes(model: Model) -> set[Outcome]:
    """Every outcome of every one-at-a-time execution (explored once per model)."""
    seen: set[State] = set(model.initial_states())
    todo = list(seen)
    outcomes: set[Outcome] = set()
    while todo:
        state = todo.pop()
        succ = model.serial_successors(state)
        if not succ and all(th.done for th in state.threads):
            outcomes.add(outcome(model, state))
        for tr in succ:
            if tr.state not in seen:
                seen.add(tr.state)
                todo.append(tr.state)
    return outcomes


class Linearizable(Property):
    name = "linearizable"
    summary = "every complete execution matches some sequential one"

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Model, set[Outcome]] = weakref.WeakKeyDictionary()

    def check_final(self, model: Model, state: State) -> Violation | None:
        if model not in self._cache:
            self._cache[model] = sequential_outcomes(model)
        if outcome(model, state) in self._cache[model]:
            return None
        calls = "; ".join(
            f"T{t} {model.describe_call(state, t)} = {th.result}" for t, th in enumerate(state.threads)
        )
        return self.violation(
            f"no sequential order of [{calls}] ends with these mappings, PTEs and results",
        )


PROPERTY = Linearizable()
