"""Self-checks of the engines with Hypothesis, on random small models.

Random scenarios (layouts, flags, populated pages, threads running random syscalls with
random — sometimes nondeterministic — arguments) under every shipped variant:

- the explicit engine agrees with the naive reference explorer: state and transition counts
  with reductions off, verdicts and shortest-trace lengths with them on;
- reductions (vma-id canonicalisation, thread symmetry) and fingerprinting never change a
  verdict or a shortest length;
- every trace any engine finds replays step by step on the explicit model, through its JSON;
- the random engine is sound against the explicit one (it reports no violation the explicit
  engine does not, never a shorter trace, and "holds" only where the explicit engine agrees);
- the same inputs give the same output.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reference_explorer import explore
from tests.schemas import assert_valid_results, assert_valid_trace
from vmacheck.checker.core.result import HOLDS, VIOLATED
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.checker.engines.random import RandomSearch
from vmacheck.checker.report.trace import load_trace_json, replay, trace_json, validate_trace, write_trace
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, Scenario, VmaSpec, oneof, thread
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())
VARIANTS = shipped_variants()
FLAGS = ((), ("VM_GROWSDOWN",), ("VM_GROWSUP",))
SYSCALLS = ("munmap", "mmap", "mremap", "mprotect", "access")


@st.composite
def scenarios(draw: st.DrawFn, max_threads: int = 2) -> Scenario:
    """A small random scenario: 4-8 pages, up to three vmas, up to ``max_threads``
    threads with random (sometimes nondeterministic) arguments."""
    pt_span = draw(st.sampled_from((1, 2)))
    pages = draw(st.sampled_from((4, 6, 8)))
    cuts = sorted(draw(st.sets(st.integers(0, pages), min_size=2, max_size=6)))
    vmas = []
    for a, b in zip(cuts, cuts[1:]):
        if len(vmas) < 3 and draw(st.booleans()):
            pop = tuple(p for p in range(a, b) if draw(st.booleans()))
            vmas.append(VmaSpec("ABC"[len(vmas)], a, b, flags=draw(st.sampled_from(FLAGS)), populated=pop))
    if not vmas:
        vmas.append(VmaSpec("A", 0, 2))

    def page() -> object:
        values = draw(st.lists(st.integers(0, pages - 1), min_size=1, max_size=2, unique=True))
        return values[0] if len(values) == 1 else oneof(*values)

    def length() -> int:
        return draw(st.integers(1, 3))

    threads = []
    for tid in range(draw(st.integers(1, max_threads))):
        syscall = draw(st.sampled_from(SYSCALLS))
        if syscall == "access":
            threads.append(thread("access", addr=page()))
        elif syscall == "mremap":
            n = length()
            threads.append(thread("mremap", tag=f"M{tid}", old=page(), old_len=n, new_len=n, new=page()))
        elif syscall == "mmap":
            threads.append(thread("mmap", tag=f"N{tid}", start=page(), len=length()))
        else:
            threads.append(thread(syscall, start=page(), len=length()))
    max_map_count = len(vmas) + draw(st.integers(0, 2))
    return Scenario(
        "random", "a random small scenario", tuple(vmas), tuple(threads), pages, pt_span, max_map_count
    )


def violated(result) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {n: p.trace_length for n, p in result.properties.items() if p.verdict == VIOLATED}


SELFCHECK = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@SELFCHECK
@given(variant=st.sampled_from(sorted(VARIANTS)), scenario=scenarios())
def test_explicit_engine_matches_reference(variant: str, scenario: Scenario) -> None:
    model = Model(VARIANTS[variant], scenario)
    ref = explore(model, PROPS)
    plain = Search(model, PROPS, SearchOptions(reduce_ids=False, symmetry=False, exact=True)).run()
    assert (plain.stats.states, plain.stats.transitions) == (ref.states, ref.transitions)
    assert violated(plain) == ref.violated
    assert violated(Search(model, PROPS).run()) == ref.violated


@SELFCHECK
@given(variant=st.sampled_from(sorted(VARIANTS)), scenario=scenarios(max_threads=3))
def test_reductions_and_fingerprints_never_change_a_verdict(variant: str, scenario: Scenario) -> None:
    model = Model(VARIANTS[variant], scenario)
    outcomes = {
        (ids, sym, exact): violated(
            Search(model, PROPS, SearchOptions(reduce_ids=ids, symmetry=sym, exact=exact)).run()
        )
        for ids in (False, True)
        for sym in (False, True)
        for exact in (False, True)
    }
    assert len(set(map(lambda d: tuple(sorted(d.items())), outcomes.values()))) == 1, outcomes


def _replays(model: Model, trace, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("traces") / "t.json"
    write_trace(trace, path)
    assert_valid_trace(json.loads(path.read_text()))  # the published schema, by jsonschema itself
    data = load_trace_json(path)
    validate_trace(data)
    _init, steps, problem = replay(model, data)
    assert problem is None, problem
    assert len(steps) == len(trace)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(variant=st.sampled_from(sorted(VARIANTS)), scenario=scenarios(), seed=st.integers(0, 3))
def test_random_engine_is_sound_and_its_traces_replay(
    variant: str, scenario: Scenario, seed: int, tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    model = Model(VARIANTS[variant], scenario)
    exact = Search(model, PROPS).run()
    rnd = RandomSearch(model, PROPS, seed=seed, examples=30).run()
    assert_valid_results({"schema": 1, "results": [exact.to_json(), rnd.to_json()]})
    for name, pr in rnd.properties.items():
        if pr.verdict == VIOLATED:
            # a real violation: the explicit engine saw it too, never shorter than its shortest
            assert exact.properties[name].verdict == VIOLATED, name
            assert len(pr.trace) >= exact.properties[name].trace_length
            _replays(model, pr.trace, tmp_path_factory)
        elif pr.verdict == HOLDS:  # claimed only when every schedule was run
            assert exact.properties[name].verdict == HOLDS, name
    for pr in exact.properties.values():
        if pr.trace is not None:
            _replays(model, pr.trace, tmp_path_factory)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(variant=st.sampled_from(sorted(VARIANTS)), scenario=scenarios(), seed=st.integers(0, 3))
def test_same_inputs_same_output(variant: str, scenario: Scenario, seed: int) -> None:
    def run_both() -> list[str]:
        out = []
        for res in (
            Search(Model(VARIANTS[variant], scenario), PROPS).run(),
            RandomSearch(Model(VARIANTS[variant], scenario), PROPS, seed=seed, examples=20).run(),
        ):
            data = res.to_json()
            data["stats"] = {
                k: v for k, v in data["stats"].items() if k in ("states", "transitions", "depth")
            }
            for p in data["properties"].values():
                p.pop("reason", None)  # names seconds
            traces = [trace_json(p.trace) for p in res.properties.values() if p.trace is not None]
            out.append(json.dumps([data, traces], sort_keys=True, default=str))
        return out

    assert run_both() == run_both()
