"""The symbolic meaning of every primitive and property agrees with the concrete one.

For random reachable states of the shipped models and a thread that can step: the symbolic
successors of the state (its numbers lifted to z3 variables pinned to their values),
evaluated, are exactly the concrete successors — guards agree (the same steps are enabled,
with the same number of paths) and so do the successor states; and each property's symbolic
violation condition is satisfiable exactly where the concrete property is violated.
"""

from __future__ import annotations

from typing import Any

import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmacheck.checker.engines.symbolic.encodings import encoding_for
from vmacheck.checker.engines.symbolic.kernel import GENERIC, SYMBOLIC
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol.kernel import PRIMITIVES

from .symbolic_support import PAIRS, model_of, reachable, symbolic_steps

PROPS = [p for p in shipped_properties().values() if encoding_for(p) is not None]


@st.composite
def concrete_steps(draw: Any) -> tuple[str, str, Any, int]:
    variant, scenario = draw(st.sampled_from(PAIRS))
    states = reachable(variant, scenario)
    state = draw(st.sampled_from(states))
    live = [t for t, th in enumerate(state.threads) if not th.done]
    tid = draw(st.sampled_from(live)) if live else 0
    return variant, scenario, state, tid


def test_every_primitive_has_a_symbolic_meaning() -> None:
    assert set(SYMBOLIC) | set(GENERIC) == set(PRIMITIVES)
    assert SYMBOLIC, "the page-level primitives are redefined over arrays"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(concrete_steps())
def test_symbolic_successors_are_the_concrete_ones(case: tuple[str, str, Any, int]) -> None:
    variant, scenario, state, tid = case
    m = model_of(variant, scenario)
    if state.threads[tid].done:
        return
    concrete = sorted((tr.label, tr.state) for tr in m.thread_successors(state, tid))
    _, _, _, sym = symbolic_steps(m, state, tid)
    got = sorted((tr.label, evaluated) for tr, evaluated in sym)
    assert got == concrete, f"{variant} / {scenario}: T{tid} from {state}"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(concrete_steps())
def test_property_encodings_agree_with_the_properties(case: tuple[str, str, Any, int]) -> None:
    variant, scenario, state, tid = case
    m = model_of(variant, scenario)
    if state.threads[tid].done:
        return
    sm, lifted, solver, sym = symbolic_steps(m, state, tid)
    for tr in m.thread_successors(state, tid):
        matches = [s for s, evaluated in sym if evaluated == tr.state and s.label == tr.label]
        assert matches, "no symbolic transition evaluates to the concrete one"
        str_ = matches[0]
        for prop in PROPS:
            enc = encoding_for(prop)
            assert enc is not None
            if enc.step is not None:
                want = prop.check_step(m, state, tr) is not None
                conds = enc.step(sm, lifted, str_, solver)
                have = any(solver.check(c) == z3.sat for c in conds)
                assert have == want, f"{prop.name} on step {tr.label} of T{tid} ({variant} / {scenario})"
            if enc.state is not None:
                want = prop.check_state(m, tr.state) is not None
                solver.push()
                solver.add(str_.guard)
                conds = enc.state(sm, str_.state, solver)
                have = any(solver.check(c) == z3.sat for c in conds)
                solver.pop()
                assert have == want, f"{prop.name} after step {tr.label} of T{tid} ({variant} / {scenario})"


def test_linearizable_encoding_agrees_on_final_states() -> None:
    """Every reachable final state (sampled): the symbolic linearizable condition against
    the reference's symbolic serial executions is satisfiable exactly where the concrete
    property finds no serial execution ending the same way."""
    from vmacheck.checker.engines.symbolic.concrete import lift
    from vmacheck.checker.engines.symbolic.kernel import SymModel

    prop = shipped_properties()["linearizable"]
    enc = encoding_for(prop)
    assert enc is not None and enc.final is not None
    seen = {True: 0, False: 0}
    for variant, scenario in PAIRS:
        m = model_of(variant, scenario)
        finals = [s for s in reachable(variant, scenario) if all(th.done for th in s.threads)]
        sm = SymModel(m, pinned=True)  # the reference runs from the scenario's layout
        for state in finals[:: max(1, len(finals) // 4)]:
            want = prop.check_final(m, state) is not None
            lifted, eqs = lift(sm, state)
            solver = z3.Solver()
            solver.add(eqs)
            solver.add(sm.scenario_values)  # the initial layout the reference starts from
            have = any(solver.check(c) == z3.sat for c in enc.final(sm, lifted, solver))
            assert have == want, f"linearizable on a final state of {variant} / {scenario}: {state}"
            seen[want] += 1
    assert seen[True] and seen[False], seen
