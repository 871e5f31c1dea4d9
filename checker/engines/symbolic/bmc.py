"""Bounded model checking over symbolic states, and proof by exhausting every path.

Breadth-first over *symbolic* states: each holds the model's discrete part as it is
(program counters, mmap_sem, which vmas are linked) and its numbers as z3 terms over the
initial variables (every vma bound, every syscall argument, TASK_SIZE), together with the
path condition under which it is reached. A step of a thread forks into one transition per
feasible path of its Python code (:mod:`vmacheck.checker.engines.symbolic.kernel`); states whose terms are
equal are merged (path conditions joined by ``Or``) layer by layer, so depth ``d`` holds
every state reachable in ``d`` steps for *some* choice of the variables.

At every state and transition each property's violation condition
(:mod:`vmacheck.checker.engines.symbolic.encodings`) is conjoined with the path condition and handed to z3.
Satisfiable: a counterexample, the shortest in steps (breadth-first), whose variables z3
chooses. If the frontier empties before the depth bound, every path of every interleaving
has ended and was checked: an unviolated property is then proved for every value of the
variables — every layout of the scenario's vmas (in their order, with their flags), every
argument, every TASK_SIZE.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from vmacheck.checker.engines.symbolic.encodings import Encoding, encoding_for
from vmacheck.checker.engines.symbolic.kernel import SymModel, SymTransition, state_key
from vmacheck.properties.base import Property
from vmacheck.protocol.state import State


@dataclass
class Node:
    state: State
    pc: z3.BoolRef
    depth: int
    # (parent node, transition taken from it); several after a merge
    parents: list[tuple[Node, SymTransition]] = field(default_factory=list)


@dataclass
class Found:
    prop: str
    node: Node
    tr: SymTransition | None  # the violating transition (a step property) or None
    condition: z3.BoolRef  # violation condition (over the initial variables)
    fits: bool = True  # satisfiable with the scenario's own values (replayable)


@dataclass
class Exploration:
    found: dict[str, Found] = field(default_factory=dict)
    undecided: dict[str, str] = field(default_factory=dict)  # solver said unknown: why
    found_at: dict[str, int] = field(default_factory=dict)  # depth of a counterexample that does not fit
    complete: bool = False
    depth: int = 0
    states: int = 0
    transitions: int = 0
    queries: int = 0
    seconds: float = 0.0
    timed_out: bool = False
    bound: str | None = None  # which of --max-states / --timeout stopped the search


SLACK = 6  # layers to search on for a counterexample that fits the scenario

ProgressFn = Callable[[int, int, int, float, int], None]  # states, transitions, depth, s, frontier


class BoundedSearch:
    def __init__(
        self,
        sm: SymModel,
        props: Sequence[Property],
        depth: int,
        solver_timeout_ms: int = 60_000,
        timeout: float | None = None,
        progress: ProgressFn | None = None,
        max_states: int | None = None,
    ) -> None:
        self.max_states = max_states
        self.sm = sm
        self.props = list(props)
        self.depth = depth
        self.solver_timeout_ms = solver_timeout_ms
        self.timeout = timeout
        self.progress = progress
        self.encodings: dict[str, Encoding] = {}
        for p in self.props:
            enc = encoding_for(p)
            if enc is not None:
                self.encodings[p.name] = enc

    def _solver(self) -> z3.Solver:
        s = z3.Solver()
        s.set("timeout", self.solver_timeout_ms)
        s.add(self.sm.initial_condition())
        return s

    def _check(self, solver: z3.Solver, ex: Exploration, prop: str, cond: z3.BoolRef) -> bool | None:
        """Is ``cond`` satisfiable here? ``True`` with the scenario's own values, ``False``
        only with other values, ``None`` not at all (or z3 could not tell)."""
        ex.queries += 1
        have = ex.found.get(prop)
        if have is None:
            r = solver.check(cond)
            if r == z3.unknown:
                ex.undecided.setdefault(prop, f"z3 answered unknown ({solver.reason_unknown()})")
                return None
            if r != z3.sat:
                return None
            if self.sm.pinned:
                return True
        # satisfiable (or a counterexample with other values is known): does one fit?
        return solver.check(cond, *self.sm.scenario_values) == z3.sat or (None if have else False)

    def _record(self, ex: Exploration, found: Found) -> None:
        have = ex.found.get(found.prop)
        if have is None or (found.fits and not have.fits):
            ex.found[found.prop] = found
            if not found.fits:
                ex.found_at.setdefault(found.prop, found.node.depth)

    def _open(self, ex: Exploration, name: str) -> bool:
        """Still looking for a (better) counterexample of ``name``."""
        have = ex.found.get(name)
        return have is None or not have.fits

    def run(self) -> Exploration:
        ex = Exploration()
        t0 = time.monotonic()
        solver = self._solver()
        init = Node(self.sm.initial_state(), z3.BoolVal(True), 0)
        layer: dict[Any, Node] = {state_key(init.state): init}
        pending = set(self.encodings)
        for d in range(self.depth + 1):
            ex.depth = d
            nxt: dict[Any, Node] = {}
            for node in layer.values():
                if self.max_states is not None and ex.states >= self.max_states:
                    ex.bound = f"max-states {self.max_states:,}"
                    ex.seconds = time.monotonic() - t0
                    return ex
                if self.timeout is not None and time.monotonic() - t0 > self.timeout:
                    ex.bound = f"timeout {self.timeout:g} s"
                    ex.timed_out = True
                    ex.seconds = time.monotonic() - t0
                    return ex
                ex.states += 1
                if self.progress is not None and ex.states % 20 == 0:
                    self.progress(ex.states, ex.transitions, d, time.monotonic() - t0, len(layer))
                solver.push()
                solver.add(node.pc)
                try:
                    self._expand(node, solver, ex, pending, nxt, d)
                finally:
                    solver.pop()
            if self.progress is not None:
                self.progress(ex.states, ex.transitions, d, time.monotonic() - t0, len(nxt))
            layer = nxt
            if not layer:
                ex.complete = True
                break
            # stop once every property has a replayable counterexample, or has had one with
            # other values for SLACK layers
            if all(
                name in ex.found and (ex.found[name].fits or d >= ex.found_at.get(name, d) + SLACK)
                for name in pending
            ):
                break
        ex.seconds = time.monotonic() - t0
        return ex

    def _expand(
        self, node: Node, solver: z3.Solver, ex: Exploration, pending: set[str], nxt: dict[Any, Node], d: int
    ) -> None:
        sm = self.sm
        for name, enc in self.encodings.items():
            if not self._open(ex, name) or enc.state is None:
                continue
            for cond in enc.state(sm, node.state, solver):
                fits = self._check(solver, ex, name, cond)
                if fits is not None:
                    self._record(ex, Found(name, node, None, cond, fits))
                    break
        if all(th.done for th in node.state.threads):
            for name, enc in self.encodings.items():
                if not self._open(ex, name) or enc.final is None:
                    continue
                for cond in enc.final(sm, node.state, solver):
                    fits = self._check(solver, ex, name, cond)
                    if fits is not None:
                        self._record(ex, Found(name, node, None, cond, fits))
                        break
        trs = sm.successors(node.state, solver)
        ex.transitions += len(trs)
        for tr in trs:
            for name, enc in self.encodings.items():
                if not self._open(ex, name) or enc.step is None:
                    continue
                for cond in enc.step(sm, node.state, tr, solver):
                    fits = self._check(solver, ex, name, cond)
                    if fits is not None:
                        self._record(ex, Found(name, node, tr, cond, fits))
                        break
        if any(not th.done for th in node.state.threads):
            # stuck where no path of any step is feasible: the stuck hooks judge it there
            stuck = z3.Not(z3.Or(*[tr.guard for tr in trs])) if trs else z3.BoolVal(True)
            for name, enc in self.encodings.items():
                if not self._open(ex, name) or enc.stuck is None:
                    continue
                for cond in enc.stuck(sm, node.state, stuck, solver):
                    fits = self._check(solver, ex, name, cond)
                    if fits is not None:
                        self._record(ex, Found(name, node, None, cond, fits))
                        break
        if d == self.depth:
            if trs:
                nxt[("beyond",)] = node  # marks the frontier as not empty
            return
        for tr in trs:
            key = state_key(tr.state)
            pc = z3.And(node.pc, tr.guard)
            have = nxt.get(key)
            if have is None:
                nxt[key] = Node(tr.state, pc, d + 1, [(node, tr)])
            else:
                have.pc = z3.Or(have.pc, pc)
                have.parents.append((node, tr))


def schedule_for(found: Found, model: z3.ModelRef) -> list[tuple[int, str]]:
    """The steps (thread, label) from the initial state to the violation, along a path whose
    conditions hold for the variables' values in ``model``."""
    steps: list[tuple[int, str]] = []
    if found.tr is not None:
        steps.append((found.tr.tid, found.tr.label))
    node = found.node
    while node.parents:
        for parent, tr in node.parents:
            if z3.is_true(model.eval(z3.And(parent.pc, tr.guard), model_completion=True)):
                steps.append((tr.tid, tr.label))
                node = parent
                break
        else:
            raise RuntimeError("no parent path holds for the counterexample's values")
    steps.reverse()
    return steps
