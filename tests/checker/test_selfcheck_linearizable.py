"""linearizable's sequential outcomes: merging serial states that differ only in the history
of returned threads (their locals, snapshot, vma ids) gives exactly the outcomes of the
naive exploration, on every shipped small scenario and on random ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checker.test_selfcheck import scenarios
from vmacheck.properties.linearizable import outcome, sequential_outcomes
from vmacheck.protocol import Model, Scenario, State
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

VARIANTS = shipped_variants()


def naive(model: Model) -> set[object]:
    seen: set[State] = set(model.initial_states())
    todo = list(seen)
    outcomes: set[object] = set()
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


def test_shipped_scenarios() -> None:
    for variant in VARIANTS.values():
        for sc in shipped_scenarios().values():
            if sc.exhaustive:
                model = Model(variant, sc)
                assert sequential_outcomes(model) == naive(model), (variant.name, sc.name)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(variant=st.sampled_from(sorted(VARIANTS)), scenario=scenarios(max_threads=3))
def test_random_scenarios(variant: str, scenario: Scenario) -> None:
    model = Model(VARIANTS[variant], scenario)
    assert sequential_outcomes(model) == naive(model)
