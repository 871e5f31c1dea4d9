"""Strict replay: re-running a path on the model, step by step, never repairing a mismatch.

Two kinds of path are replayed:

- a chain of canonical keys from a search (:func:`rebuild`): the real initial state and
  steps whose canonical images are those keys, with real thread numbers and vma ids;
- a list of recorded steps, one at a time (:func:`take`): thread, label and choices, as a
  trace file records them (``vmacheck show`` replays a trace through it).

A mismatch is never papered over (no "take the first transition instead"). Either the
variant's code behaves differently on states the model says are the same — a
nondeterministic step, or one that tells interchangeable threads or vma numberings apart
(it reads ``k.tid`` or a vma's id, or compares tags) — which is the user's fault and is
reported naming the step (:class:`ReplayFault`, a bad-input error); or it is a bug of
vmacheck itself (:class:`ReplayError`, an internal error). :func:`diagnose` tells which.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import NamedTuple

from vmacheck.protocol.kernel import VariantError
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State


class ReplayError(Exception):
    """vmacheck could not replay its own path: an internal error."""


class ReplayFault(VariantError):
    """A variant's step made a replay diverge: the user's code is at fault."""


class Step(NamedTuple):
    """A recorded step: which thread moved, the step's label and its choices."""

    tid: int
    label: str
    choices: tuple[int, ...]


def ours(path: str) -> bool:
    """Whether a program's file is one of vmacheck's own (a shipped variant or syscall)."""
    from pathlib import Path

    from vmacheck import checker, properties, protocol

    real = Path(path).resolve()
    roots = [Path(str(m.__file__)).resolve().parent for m in (protocol, properties, checker)]
    return any(real.is_relative_to(root) for root in roots)


def diagnose(model: Model, state: State, canon: Callable[[State], State], what: str) -> Exception:
    """Why the successors of ``state`` do not match those of its canonical form: the first
    thread whose step gives different canonical outcomes from the two, named with its file."""
    rep = canon(state)
    for tid in range(model.nthreads):
        if state.threads[tid].done:
            continue
        mine = sorted(repr(canon(tr.state)) for tr in model.thread_successors(state, tid))
        theirs = sorted(repr(canon(tr.state)) for tr in model.thread_successors(rep, tid))
        if mine == theirs:
            continue
        # a permutation may move the thread: compare with any thread of the representative
        if any(
            mine == sorted(repr(canon(tr.state)) for tr in model.thread_successors(rep, other))
            for other in range(model.nthreads)
            if not rep.threads[other].done
        ):
            continue
        prog = model.programs[tid]
        step = prog.steps[state.threads[tid].pc]
        where = prog.where(state.threads[tid].pc)
        code = getattr(step.fn, "__code__", None)
        if not ours(code.co_filename if code is not None else prog.file):
            return ReplayFault(
                f"{where}: {what}: the step does different things in states that differ only in"
                " the numbering of vmas or of interchangeable threads (does it read k.tid, a"
                " vma's id, or compare tags?); run with --no-reduction to check it without"
                " assuming that"
            )
        return ReplayError(f"{what}: step '{step.label}' of T{tid} breaks the reduction ({where})")
    return ReplayError(f"{what}: no step explains the mismatch")


def rebuild(
    model: Model,
    canon: Callable[[State], State],
    key: Callable[[State], Hashable],
    chain: Sequence[Hashable],
) -> tuple[State, list[Transition]]:
    """The real path whose states' keys are ``chain`` (the first: an initial state's)."""
    state = next((s for s in model.initial_states() if key(s) == chain[0]), None)
    if state is None:
        raise ReplayError("no initial state of the model has the trace's first key")
    init = state
    path: list[Transition] = []
    for n, want in enumerate(chain[1:], 1):
        for tr in model.successors(state):
            if key(tr.state) == want:
                path.append(tr)
                state = tr.state
                break
        else:
            raise diagnose(model, state, canon, f"rebuilding step {n} of a trace")
    return init, path


def take(model: Model, state: State, want: Step) -> Transition | str:
    """The transition by which ``want``'s thread takes ``want``'s step (label and choices)
    from ``state`` — exactly one — or why there is none."""
    if state.threads[want.tid].done:
        return f"T{want.tid} has already returned"
    trs = model.thread_successors(state, want.tid)
    match = [tr for tr in trs if tr.label == want.label and tr.choices == want.choices]
    if len(match) == 1:
        return match[0]
    can = ", ".join(sorted({tr.label for tr in trs})) or "nothing (it waits for mmap_sem)"
    return f"the model cannot take this step here (T{want.tid} can take {can})"
