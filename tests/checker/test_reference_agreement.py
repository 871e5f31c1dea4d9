"""The explicit engine agrees with the naive reference explorer on every shipped
(variant, scenario): state and transition counts with reductions off, verdicts and the
length of every shortest counterexample with and without reductions."""

from __future__ import annotations

import pytest

from tests.reference_explorer import explore
from vmacheck.checker.core.result import VIOLATED
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

PAIRS = [
    (v, s)
    for v in shipped_variants()
    for s, sc in shipped_scenarios().items()
    if sc.exhaustive and sc.applies_to(v)
]


@pytest.mark.parametrize(("variant", "scenario"), PAIRS)
def test_engine_matches_reference(variant: str, scenario: str) -> None:
    props = list(shipped_properties().values())
    model = Model(shipped_variants()[variant], shipped_scenarios()[scenario])
    ref = explore(model, props)
    plain = Search(model, props, SearchOptions(reduce_ids=False, symmetry=False, exact=True)).run()
    assert plain.stats.states == ref.states
    assert plain.stats.transitions == ref.transitions
    for opts in ({}, {"reduce_ids": False, "symmetry": False}):
        res = Search(model, props, SearchOptions(**opts)).run()
        got = {n: p.trace_length for n, p in res.properties.items() if p.verdict == VIOLATED}
        assert got == ref.violated
