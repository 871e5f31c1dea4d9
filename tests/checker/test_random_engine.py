"""The random engine: acceptance on the stack race, determinism, replayable traces, bounds,
exhaustion, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schemas import assert_valid_results, assert_valid_trace
from vmacheck.checker.cli import main
from vmacheck.checker.core.result import HOLDS, UNKNOWN, VIOLATED
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.engines.random import (
    ENDED_CUT,
    Randomly,
    RandomSearch,
    execute,
    replay_decisions,
    schedules,
)
from vmacheck.checker.report.trace import load_trace_json, replay
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())
SMALL = sorted(n for n, sc in shipped_scenarios().items() if sc.exhaustive)


def model(variant: str, scenario: str) -> Model:
    return Model(shipped_variants()[variant], shipped_scenarios()[scenario])


def test_acceptance_finds_and_shrinks_the_4_20_stack_race(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vmacheck check downgrade-4.20 --engine random --seed 1` (on the stack scenario): the
    race is found and shrunk to at most two steps more than the explicit engine's
    shortest trace (it reaches the shortest)."""
    code = main(
        [
            "check",
            "downgrade-4.20",
            "--engine",
            "random",
            "--seed",
            "1",
            "-s",
            "stack-below-growsdown",
            "--json",
            str(tmp_path / "r.json"),
            "--trace-dir",
            str(tmp_path),
            "-q",
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "VIOLATED  no_pt_use_after_free" in out and "Counterexample for no_clobber" in out
    results = json.loads((tmp_path / "r.json").read_text())
    assert_valid_results(results)
    got = results["results"][0]["properties"]
    shortest = Search(model("downgrade-4.20", "stack-below-growsdown"), PROPS).run().properties
    for name in ("no_clobber", "no_pt_use_after_free", "linearizable"):
        assert got[name]["verdict"] == VIOLATED
        assert shortest[name].trace_length <= got[name]["trace_length"] <= shortest[name].trace_length + 2
        file = tmp_path / f"downgrade-4.20--stack-below-growsdown--{name}.json"
        assert_valid_trace(json.loads(file.read_text()))  # the published schema, by jsonschema itself
        data = load_trace_json(file)
        assert data["engine"] == "random" and data["search"]["seed"] == 1
        _init, steps, problem = replay(model("downgrade-4.20", "stack-below-growsdown"), data)
        assert problem is None and len(steps) == got[name]["trace_length"]


def test_same_seed_same_trace_other_seed_other_search() -> None:
    m = model("downgrade-4.20", "stack-above-growsup")
    runs = [RandomSearch(m, PROPS, seed=s, examples=150).run() for s in (3, 3, 4)]
    traces = [{n: p.trace.steps for n, p in r.properties.items() if p.trace} for r in runs]
    assert traces[0] == traces[1] and traces[0]
    firsts = [r.properties["no_clobber"].reason for r in runs]
    assert firsts[0].split(" after")[0] == firsts[1].split(" after")[0]


def test_exhausted_search_is_exact() -> None:
    """When Hypothesis has run every distinct schedule, random's verdicts are the explicit
    engine's, and the schedules it ran are every maximal path of the state graph."""
    m = model("baseline-4.19", "map-fixed")
    rnd = RandomSearch(m, PROPS, seed=0, examples=1000)
    ex = rnd.explore()
    assert ex.exhausted and ex.examples < 1000
    res = rnd.run()
    exact = Search(m, PROPS).run()
    assert {n: p.verdict for n, p in res.properties.items()} == {
        n: p.verdict for n, p in exact.properties.items()
    }
    assert all(p.verdict == HOLDS for p in res.properties.values())

    def maximal_paths(state, prefix=()):  # type: ignore[no-untyped-def]
        succ = m.successors(state)
        if not succ:
            yield prefix
        for tr in succ:
            yield from maximal_paths(tr.state, prefix + ((tr.tid, tr.label),))

    every = {(i, p) for i, s in enumerate(m.initial_states()) for p in maximal_paths(s)}
    assert len(every) == ex.examples


def test_bounds_give_unknown() -> None:
    m = model("baseline-4.19", "stack-below-growsdown")
    res = RandomSearch(m, PROPS, seed=0, examples=10_000, max_states=20).run()
    assert res.bound == "max_states=20"
    assert all(p.verdict == UNKNOWN and "max_states=20" in p.reason for p in res.properties.values())
    res = RandomSearch(m, PROPS, seed=0, examples=10_000, timeout=0.01).run()
    assert res.bound and res.bound.startswith("timeout")


@settings(max_examples=50, deadline=None)
@given(
    variant=st.sampled_from(sorted(shipped_variants())),
    scenario=st.sampled_from(SMALL),
    seed=st.integers(0, 2**32),
)
def test_every_schedule_is_a_path_of_the_model(variant: str, scenario: str, seed: int) -> None:
    """A schedule's steps are transitions the model offers, and its recorded decisions
    replay it exactly."""
    import random

    m = model(variant, scenario)
    run = execute(m, PROPS, Randomly(random.Random(seed)), max_steps=60)
    state = run.initial
    assert state in m.initial_states()
    for tr in run.path:
        assert tr in m.successors(state)
        state = tr.state
    again = replay_decisions(m, PROPS, run.decisions, max_steps=60)
    assert again.path == run.path and again.found.keys() == run.found.keys()
    assert run.ended != ENDED_CUT or len(run.path) == 60


def test_schedules_strategy_shrinks_to_the_race() -> None:
    """The strategy alone, shrunk by Hypothesis' own shrinker (no step dropping)."""
    import random

    from hypothesis import find

    m = model("downgrade-4.20", "stack-below-growsdown")
    props = [shipped_properties()["no_clobber"]]
    found = find(
        schedules(m, props),
        lambda s: "no_clobber" in s.found,
        settings=settings(database=None, max_examples=500),
        random=random.Random(0),
    )
    assert found.found["no_clobber"].where <= 10 + 4  # the explicit engine's shortest is 10


def test_cli_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "baseline-4.19", "--engine", "random", "--examples", "0"])
    assert exc.value.code == 2
    assert "--examples" in capsys.readouterr().err
    code = main(["check", "baseline-4.19", "--engine", "random", "-s", "map-fixed", "--examples", "40", "-q"])
    assert code == 0  # every schedule tried: all hold


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["large-stack-race", "large-growsup-mremap"])
def test_large_scenarios_out_of_reach_for_explicit_found_by_random(
    scenario: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The large scenarios: the explicit engine stops at a bound; the random engine finds
    the stack race there and shrinks it to a short trace."""
    assert (
        main(["check", "downgrade-4.20", "-s", scenario, "--max-states", "30000", "--no-traces", "-q"]) == 3
    )
    m = model("downgrade-4.20", scenario)
    props = [shipped_properties()[n] for n in ("no_clobber", "no_pt_use_after_free")]
    res = RandomSearch(m, props, seed=1, examples=500).run()
    assert any(p.verdict == VIOLATED for p in res.properties.values())
    for p in res.properties.values():
        if p.trace is not None:
            assert len(p.trace) <= 20
