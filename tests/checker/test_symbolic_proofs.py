"""Proofs for paths of every length (checker.symbolic.houdini), cross-checked.

- A loop of symbolic length (tests/checker/variants/zap_loop.py) defeats proof by
  exhausting paths at every depth; the inferred invariant proves it, and the explicit
  engine agrees the properties hold in the scenario's own layout.
- The inferred invariant holds in every state a forward exploration reaches (a small
  breadth-first explorer here, independent of the inference), so it really is an invariant.
- On seeded bugs (mutants) run one syscall at a time, the invariant never proves a property
  the explicit engine refutes.

Two-thread models take minutes to infer (docs/symbolic.md); these tests use one-thread
scenarios so that they fit in CI. ``VMACHECK_SYMBOLIC_FULL=1`` adds shipped two-thread pairs
whose violations the inference must not prove.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from pathlib import Path
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmacheck.checker.core.result import HOLDS, PROVED, UNKNOWN, VIOLATED
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.checker.engines.symbolic import houdini
from vmacheck.checker.engines.symbolic.engine import SymbolicCheck
from vmacheck.checker.engines.symbolic.kernel import SymModel, state_key
from vmacheck.checker.engines.symbolic.skeleton import fill, split
from vmacheck.checker.loader import load_file
from vmacheck.checker.mutants import generate
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, Variant, VariantError
from vmacheck.protocol.scenario import Scenario

from .symbolic_support import SCENARIOS, VARIANTS, model_of

PROPS = list(shipped_properties().values())
ZAP_LOOP = Path(__file__).parent / "variants" / "zap_loop.py"
FULL = os.environ.get("VMACHECK_SYMBOLIC_FULL") == "1"
# what the quantifier-free invariant can express: vmas, counts, locks, results
VMA_LEVEL = {
    "no_segv_on_mapped",
    "map_count_limit",
    "no_vma_use_after_free",
    "deadlock_free",
    "lock_discipline",
    "documented_errno",
}


def _alone(name: str) -> Scenario:
    """Shipped scenario ``name`` with its munmap thread only."""
    sc = SCENARIOS[name]
    (munmap,) = [t for t in sc.threads if t.syscall == "munmap"][:1]
    return dataclasses.replace(sc, name=f"{name}-alone", threads=(munmap,))


def _zap_loop() -> Variant:
    (variant,) = load_file(str(ZAP_LOOP)).variants.values()
    return variant


@pytest.mark.slow
def test_a_loop_of_symbolic_length_is_proved_by_induction_only() -> None:
    model = Model(_zap_loop(), _alone("access-split-vma"))
    bounded = SymbolicCheck(model, PROPS, depth=20, proof="paths").run()
    for name in VMA_LEVEL:
        res = bounded.properties[name]
        assert res.verdict == UNKNOWN and "longer paths remain" in res.reason, (name, res.reason)
    proved = SymbolicCheck(model, PROPS, depth=20, proof="auto").run()
    explicit = Search(model, PROPS).run()
    for name in VMA_LEVEL:
        res = proved.properties[name]
        assert res.verdict == PROVED, (name, res.reason)
        assert "paths of every length" in res.reason
        assert explicit.properties[name].verdict == HOLDS
    for name, res in proved.properties.items():
        assert res.verdict in (PROVED, UNKNOWN), (name, res.verdict)  # nothing is violated


def _reachable(sm: SymModel, depth: int) -> list[tuple[Any, z3.BoolRef]]:
    """Every symbolic state reachable within ``depth`` steps, with its path condition:
    plain breadth-first search from the initial state, merging equal terms."""
    solver = z3.Solver()
    solver.add(sm.initial_condition())
    layer = {state_key(sm.initial_state()): (sm.initial_state(), z3.BoolVal(True))}
    out = list(layer.values())
    for _ in range(depth):
        nxt: dict[Any, tuple[Any, z3.BoolRef]] = {}
        for st_, pc in layer.values():
            solver.push()
            solver.add(pc)
            for tr in sm.successors(st_, solver):
                k = state_key(tr.state)
                cond = z3.And(pc, tr.guard)
                have = nxt.get(k)
                nxt[k] = (tr.state, cond if have is None else z3.Or(have[1], cond))
            solver.pop()
        layer = nxt
        out += layer.values()
    return out


@pytest.mark.parametrize(
    "variant,scenario", [("zap-loop", "access-split-vma"), ("baseline-4.19", "munmap-at-limit")]
)
def test_every_reachable_state_satisfies_the_inferred_invariant(variant: str, scenario: str) -> None:
    v = _zap_loop() if variant == "zap-loop" else VARIANTS[variant]
    sm = SymModel(Model(v, _alone(scenario)))
    h = houdini.Houdini(sm, PROPS, deadline=time.monotonic() + 300)
    h.run()
    solver = z3.Solver()
    solver.add(sm.initial_condition())
    checked = 0
    for st_, pc in _reachable(sm, 16):
        key, leaves = split(st_, {})
        loc = h.locations[h.index[key]]  # every reachable shape is a location
        inv = z3.substitute(loc.invariant(), *zip(loc.vars, leaves))
        assert solver.check(pc, z3.Not(inv)) == z3.unsat, f"location {loc.id}: a reachable state breaks it"
        checked += 1
    assert checked > 20


ALONE = ["access-split-vma", "munmap-at-limit"]


@functools.cache
def _refuted() -> list[tuple[Any, str, Any]]:
    """(mutant, scenario, explicit result) where the explicit engine refutes a property the
    invariant could express: the cases where a wrong proof would show."""
    out = []
    # downgrade-4.20's: the mutants of baseline-4.19's file are few since its steps other than
    # detach and remove_vma_list come from the library (vmacheck.protocol.syscalls.munmap)
    for mutant in generate(VARIANTS["downgrade-4.20"]):
        for scenario in ALONE:
            try:
                model = Model(mutant.load(), _alone(scenario))
                explicit = Search(model, PROPS, SearchOptions(max_states=20_000)).run()
            except VariantError:
                continue
            bad = {n for n, r in explicit.properties.items() if r.verdict == VIOLATED}
            if not explicit.bound and bad & VMA_LEVEL:
                out.append((mutant, scenario, explicit))
    return out


def test_mutants_refute_vma_level_properties_alone() -> None:
    assert len(_refuted()) >= 10  # the next test has cases to try


@pytest.mark.slow
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_induction_never_proves_a_refuted_mutant(data: Any) -> None:
    """The whole pipeline with a short BMC: Houdini, then k-induction up to k = 3 on BMC's
    base of 4 steps; violations deeper than that must stop both."""
    mutant, scenario, explicit = data.draw(st.sampled_from(_refuted()))
    model = Model(mutant.load(), _alone(scenario))
    res = SymbolicCheck(model, PROPS, depth=4, proof="auto", max_k=3, timeout=120).run()
    for name, r in res.properties.items():
        if r.verdict == PROVED:
            assert explicit.properties[name].verdict != VIOLATED, (
                f"{mutant.name} ({mutant.description}) in {scenario}: {name} proved ({r.reason}) but violated"
            )


def test_k_induction_proves_what_the_invariant_alone_does_not() -> None:
    model = Model(VARIANTS["baseline-4.19"], _alone("access-split-vma"))
    res = SymbolicCheck(model, PROPS, depth=8, proof="auto", max_k=6).run()
    r = res.properties["no_clobber"]
    assert r.verdict == PROVED and "6-inductive" in r.reason, r.reason
    assert Search(model, PROPS).run().properties["no_clobber"].verdict == HOLDS
    # k = 3 is too short: the property is then not proved, and the reason says why
    short = SymbolicCheck(model, PROPS, depth=8, proof="auto", max_k=3).run().properties["no_clobber"]
    assert short.verdict == UNKNOWN and "not 3-inductive" in short.reason, short.reason


TWO_THREADS = [
    ("rfc-v2-read-split", "access-split-vma", "lock_discipline"),
    ("ebusy-on-dead", "map-fixed", "documented_errno"),
    ("upgrade-read", "map-fixed", "deadlock_free"),
    ("rfc-v3-three-phase", "munmap-at-limit", "map_count_limit"),
    ("rfc-v1-sections", "two-munmaps", "no_vma_use_after_free"),
]


@pytest.mark.slow
@pytest.mark.skipif(not FULL, reason="minutes per pair: runs with VMACHECK_SYMBOLIC_FULL=1")
@pytest.mark.parametrize("variant,scenario,violated", TWO_THREADS)
def test_induction_never_proves_a_shipped_violation(variant: str, scenario: str, violated: str) -> None:
    model = model_of(variant, scenario)
    assert Search(model, PROPS).run().properties[violated].verdict == VIOLATED
    out = houdini.prove(SymModel(model), PROPS, deadline=time.monotonic() + 900)
    assert violated not in out.proved, out.proved[violated]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_a_skeleton_filled_with_its_leaves_is_the_state(seed: int) -> None:
    sm = SymModel(model_of("downgrade-4.20", "stack-below-growsdown"))
    states = [s for s, _ in _reachable_cached(sm.model.variant.name, sm.model.scenario.name)]
    st_ = states[seed % len(states)]
    key, leaves = split(st_, {})
    assert state_key(fill(key, leaves)) == state_key(st_)


@functools.cache
def _reachable_cached(variant: str, scenario: str) -> list[tuple[Any, z3.BoolRef]]:
    return _reachable(SymModel(model_of(variant, scenario)), 8)
