"""Seeded bugs seen by both engines: on mutants of the shipped variants (checker.mutants),
the symbolic engine with the scenario's layout gives exactly the explicit verdicts, and
with every layout never proves a property the explicit engine refutes.

Hypothesis picks the mutants and scenarios; each example is one mutant in one scenario.
The every-layout half runs with ``VMACHECK_SYMBOLIC_FULL=1`` (it needs minutes).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmacheck.checker.core.result import PROVED, VIOLATED
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.checker.engines.symbolic.engine import SymbolicCheck
from vmacheck.checker.mutants import generate
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, VariantError

from .symbolic_support import SCENARIOS, VARIANTS

PROPS = list(shipped_properties().values())
MUTATED = ("baseline-4.19", "downgrade-4.20", "downgrade-5.8")
MUTANTS = [m for v in MUTATED for m in generate(VARIANTS[v])]
FULL = os.environ.get("VMACHECK_SYMBOLIC_FULL") == "1"
SMALL = ["stack-below-growsdown", "access-split-vma", "map-fixed", "munmap-at-limit", "two-munmaps"]


@st.composite
def mutant_runs(draw: Any) -> tuple[Any, str]:
    return draw(st.sampled_from(MUTANTS)), draw(st.sampled_from(SMALL))


@pytest.mark.slow
@settings(max_examples=60 if FULL else 30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutant_runs())
def test_engines_agree_on_mutants(case: tuple[Any, str]) -> None:
    mutant, scenario = case
    try:
        model = Model(mutant.load(), SCENARIOS[scenario])
        explicit = Search(model, PROPS, SearchOptions(max_states=20_000)).run()
    except VariantError:
        return  # a mutant that is not a well-formed model (the explicit engine says so)
    if explicit.bound:
        return
    pinned = SymbolicCheck(model, PROPS, layout="scenario", depth=80, timeout=60).run()
    if pinned.bound:
        return
    for p in PROPS:
        a, b = explicit.properties[p.name], pinned.properties[p.name]
        assert (a.verdict, a.trace_length) == (b.verdict, b.trace_length), (
            f"{mutant.name} ({mutant.description}) in {scenario}: {p.name} explicit {a.verdict}"
            f" {a.trace_length}, symbolic {b.verdict} {b.trace_length} ({b.reason})"
        )
    if FULL and any(a.verdict == VIOLATED for a in explicit.properties.values()):
        free = SymbolicCheck(model, PROPS, layout="any", depth=60, timeout=30).run()
        for p in PROPS:
            if explicit.properties[p.name].verdict == VIOLATED:
                assert free.properties[p.name].verdict != PROVED, f"{mutant.name} in {scenario}: {p.name}"
