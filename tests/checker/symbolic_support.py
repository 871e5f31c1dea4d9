"""Shared helpers of the symbolic engine's tests: reachable concrete states of shipped
models, and the symbolic successors of a concrete state evaluated back to concrete ones."""

from __future__ import annotations

import functools
from collections import deque

import z3

from vmacheck.checker.engines.symbolic.concrete import concretize, lift
from vmacheck.checker.engines.symbolic.kernel import SymModel, SymTransition
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.state import State
from vmacheck.protocol.variants import shipped as shipped_variants

VARIANTS = shipped_variants()
SCENARIOS = shipped_scenarios()
PAIRS = [(v, s) for v in VARIANTS for s, sc in SCENARIOS.items() if sc.exhaustive and sc.applies_to(v)]


@functools.cache
def model_of(variant: str, scenario: str) -> Model:
    return Model(VARIANTS[variant], SCENARIOS[scenario])


@functools.cache
def reachable(variant: str, scenario: str, limit: int = 1500) -> list[State]:
    """Reachable states in breadth-first order (at most ``limit``)."""
    m = model_of(variant, scenario)
    seen = set(m.initial_states())
    order = list(m.initial_states())
    queue = deque(order)
    while queue and len(order) < limit:
        st = queue.popleft()
        for tr in m.successors(st):
            if tr.state not in seen:
                seen.add(tr.state)
                order.append(tr.state)
                queue.append(tr.state)
    return order


def symbolic_steps(
    m: Model, state: State, tid: int
) -> tuple[SymModel, State, z3.Solver, list[tuple[SymTransition, State]]]:
    """The symbolic transitions of ``tid`` from ``state`` lifted, each with its successor
    evaluated back to a concrete state."""
    sm = SymModel(m)
    lifted, eqs = lift(sm, state)
    solver = z3.Solver()
    solver.add(eqs)
    out = []
    for tr in sm.thread_successors(lifted, tid, solver):
        solver.push()
        solver.add(tr.guard)
        out.append((tr, concretize(sm, tr.state, solver)))
        solver.pop()
    return sm, lifted, solver, out
