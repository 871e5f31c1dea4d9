"""A model: one variant on one scenario — its initial states and its transition relation.

This is the whole interface the engines see: :meth:`Model.initial_states` and
:meth:`Model.successors`. A transition is one atomic step of one thread, with the events the
step's primitives recorded (see :mod:`vmacheck.protocol.events`).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

from .events import Event
from .kernel import Blocked, Kernel, Queued, VariantError, collect_garbage
from .program import Locals, Program
from .scenario import Scenario
from .state import (
    DETACHED,
    LINKED,
    RwSem,
    State,
    ThreadState,
    Vma,
    flags_from_names,
)
from .variant import Variant


class Transition(NamedTuple):
    tid: int
    label: str
    kernel: str
    choices: tuple[int, ...]
    state: State
    events: tuple[Event, ...]


class Model:
    """``variant`` running ``scenario``; built once per check."""

    def __init__(self, variant: Variant, scenario: Scenario) -> None:
        scenario.validate()
        self.variant = variant
        self.scenario = scenario
        self.pages = scenario.pages
        self.pt_span = scenario.pt_span
        self.max_map_count = scenario.max_map_count
        self.programs: tuple[Program, ...] = tuple(variant.program(th.syscall) for th in scenario.threads)
        for prog in self.programs:
            prog.validate()
        self.tags = tuple(scenario.thread_tag(t) for t in range(len(scenario.threads)))
        self._initial: list[State] | None = None

    @property
    def nthreads(self) -> int:
        return len(self.programs)

    # --- initial states ---------------------------------------------------------------------
    def initial_states(self) -> list[State]:
        if self._initial is None:
            self._initial = self._build_initial()
        return self._initial

    def _build_initial(self) -> list[State]:
        sc = self.scenario
        vmas = tuple(
            Vma(i, v.start, v.end, flags_from_names(v.flags), v.tag)
            for i, v in enumerate(sorted(sc.vmas, key=lambda v: v.start))
        )
        ptes: list[str | None] = [None] * sc.pages
        for spec in sc.vmas:
            for p in spec.pages():
                ptes[p] = spec.tag
        pts = tuple(
            1 if any(ptes[p] is not None for p in range(i * sc.pt_span, (i + 1) * sc.pt_span)) else 0
            for i in range(sc.pages // sc.pt_span)
        )
        states = []
        for combo in itertools.product(*sc.arg_choices()):
            threads = tuple(
                ThreadState(0, prog.initial_locals(args)) for prog, args in zip(self.programs, combo)
            )
            states.append(State(vmas, len(vmas), tuple(ptes), pts, RwSem(), threads))
        return states

    # --- transitions ----------------------------------------------------------------------
    def successors(self, state: State) -> list[Transition]:
        out: list[Transition] = []
        for tid, th in enumerate(state.threads):
            if not th.done:
                out.extend(self.thread_successors(state, tid))
        return out

    def serial_successors(self, state: State) -> list[Transition]:
        """Successors when every syscall runs alone from its first step to its return (the
        sequential executions ``linearizable`` compares against)."""
        for tid, th in enumerate(state.threads):
            if not th.done and th.pc != 0:
                return self.thread_successors(state, tid)
        return self.successors(state)

    def thread_successors(self, state: State, tid: int) -> list[Transition]:
        """The steps thread ``tid`` can take in ``state`` (one per outcome of its choices)."""
        out = []
        for tr in self.local_successors(state, tid):
            vmas = collect_garbage(tr.state.vmas, tr.state.threads)
            out.append(tr if vmas is tr.state.vmas else tr._replace(state=tr.state._replace(vmas=vmas)))
        return out

    def local_successors(self, state: State, tid: int) -> list[Transition]:
        """:meth:`thread_successors` before freed vmas no thread points to are dropped: what
        the step itself did, a function of the shared state and ``tid``'s own block only."""
        th = state.threads[tid]
        prog = self.programs[tid]
        step = prog.steps[th.pc]
        out: list[Transition] = []
        pending: list[tuple[int, ...]] = [()]
        while pending:
            prefix = pending.pop(0)
            k = Kernel(self, state, tid, prefix)
            t = Locals(k, prog, list(th.locals), th.pc)
            nxt: State | None
            try:
                step.fn(k, t)
                nxt = k.commit(t.frozen(), prog)
            except Blocked:
                nxt = None
            except Queued:
                nxt = state._replace(sem=k.sem)
            except (VariantError, RecursionError):
                raise
            except Exception as exc:  # a bug in the variant's code: say where
                raise VariantError(f"{prog.where(th.pc)}: {type(exc).__name__}: {exc}") from exc
            for pos in range(len(prefix), len(k.taken)):
                for alt in range(1, k.arity[pos]):
                    pending.append(tuple(k.taken[:pos]) + (alt,))
            if nxt is not None:
                out.append(Transition(tid, step.label, step.kernel, tuple(k.taken), nxt, tuple(k.events)))
        return out

    # --- descriptions -----------------------------------------------------------------------
    def thread_name(self, tid: int) -> str:
        return f"T{tid}"

    def describe_call(self, state: State, tid: int) -> str:
        prog = self.programs[tid]
        args = ", ".join(f"{k}={v}" for k, v in prog.args(state.threads[tid]).items())
        return f"{prog.syscall}({args})"

    def unmaps_in_flight(self, state: State) -> list[tuple[int, tuple[int, int]]]:
        """Threads that have started an unmap (hold or held mmap_sem for it) and not
        returned, with their ranges."""
        out = []
        for tid, th in enumerate(state.threads):
            if th.done or th.snapshot is None:
                continue
            rng = self.programs[tid].unmap_range(th)
            if rng is not None:
                out.append((tid, rng))
        return out

    def holds_unmapped(self, state: State) -> bool:
        """Some vma is detached or marked dead by an unmap still in progress."""
        return any(v.status == DETACHED or (v.status == LINKED and v.owner >= 0) for v in state.vmas)
