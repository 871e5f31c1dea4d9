"""The search core's own invariants, checked with Hypothesis (the reductions are sound).

On states reached by random walks of every shipped variant in every scenario, of test
variants that keep vma pointers across a dropped mmap_sem (in plain and in nested locals),
of seeded-bug mutants and of random scenarios:

- the canonical form is a function of the class: ``canon(s) == canon(π(s))`` for every
  thread permutation π of the scenario's symmetry groups and every renaming of vma ids that
  keeps their order (the model scans vmas in id order where two overlap, so only those
  renamings are symmetries of it: see ``vmacheck.checker.core.canon``);
- canonicalisation commutes with successors: the canonical successors of ``canon(s)`` are
  the canonical images of the successors of ``s``, with the same steps, events and verdicts;
- every property's verdict on a state is the same on its canonical form;
- the memoising judge gives the verdicts the plain one gives;
- the encoding is exact: decoding an encoded state gives it back, and states that Python's
  ``==`` confuses (``VmaRef(2)`` and ``2``, ``True`` and ``1``) encode apart.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.checker.test_selfcheck import scenarios as random_scenarios
from vmacheck.checker.core.canon import Canonicaliser, Perm, rename_thread, symmetry_groups
from vmacheck.checker.core.encoding import Components, Shared
from vmacheck.checker.core.judge import Judge, MemoJudge
from vmacheck.checker.core.search import Search, SearchOptions
from vmacheck.checker.core.stepper import Stepper
from vmacheck.checker.loader import load_file
from vmacheck.checker.mutants import generate
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, Scenario, Variant, VmaSpec, oneof, thread
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.state import State, ThreadState, VmaRef
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())
# Scenarios with interchangeable threads (no shipped small one has them): faults, MAP_FIXEDs
# whose mappings carry their thread's tag, and munmaps, two of each.
SYMMETRIC = [
    Scenario(
        "sym-faults",
        "munmap below a stack, two faults",
        vmas=(VmaSpec("A", 2, 4), VmaSpec("S", 5, 8, flags=("VM_GROWSDOWN",))),
        threads=(
            thread("munmap", start=2, len=2),
            thread("access", addr=oneof(3, 4)),
            thread("access", addr=oneof(3, 4)),
        ),
    ),
    Scenario(
        "sym-mmaps",
        "munmap and two MAP_FIXEDs",
        vmas=(VmaSpec("A", 1, 5),),
        threads=(
            thread("munmap", start=2, len=2),
            thread("mmap", start=oneof(2, 3), len=2),
            thread("mmap", start=oneof(2, 3), len=2),
        ),
    ),
    Scenario(
        "sym-munmaps",
        "two munmaps and a fault",
        vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 4, 8)),
        threads=(
            thread("munmap", start=oneof(1, 4), len=2),
            thread("munmap", start=oneof(1, 4), len=2),
            thread("access", addr=oneof(1, 5)),
        ),
    ),
]
SCENARIOS = {n: s for n, s in shipped_scenarios().items() if s.exhaustive} | {s.name: s for s in SYMMETRIC}
HERE = Path(__file__).parent / "variants"


def _variants() -> list[Variant]:
    out = list(shipped_variants().values())
    out += list(load_file(str(HERE / "stale_fault.py")).variants.values())
    # seeded bugs: locks moved, steps swapped, re-lookups dropped (pointers kept across gaps)
    for name in ("downgrade-4.20", "rfc-v3-three-phase", "upgrade-read"):
        mutants = generate(shipped_variants()[name])
        out += [m.variant for m in mutants[:: max(1, len(mutants) // 6)]]
    return out


VARIANTS = _variants()


@st.composite
def models(draw: st.DrawFn) -> Model:
    variant = draw(st.sampled_from(VARIANTS))
    pick = draw(st.integers(0, 3))
    if pick == 0:
        sc = draw(random_scenarios(max_threads=3))
    elif pick == 1:
        sc = draw(st.sampled_from(SYMMETRIC))
    else:
        sc = draw(st.sampled_from(sorted(SCENARIOS.values(), key=lambda s: s.name)))
    try:
        return Model(variant, sc)
    except Exception:
        return Model(shipped_variants()["baseline-4.19"], SCENARIOS["two-munmaps"])


def walk(model: Model, rnd: random.Random, steps: int) -> State:
    state = rnd.choice(model.initial_states())
    for _ in range(steps):
        succ = model.successors(state)
        if not succ:
            break
        state = rnd.choice(succ).state
    return state


def renamed(state: State, rnd: random.Random) -> State:
    """``state`` with its vma ids renamed to other numbers in the same order."""
    old = sorted(v.id for v in state.vmas)
    new = sorted(rnd.sample(range(3 * len(old) + 5), len(old)))
    ids = dict(zip(old, new))
    vmas = tuple(sorted((v._replace(id=ids[v.id]) for v in state.vmas), key=lambda v: v.id))
    return state._replace(vmas=vmas, threads=tuple(rename_thread(th, ids) for th in state.threads))


def permuted(model: Model, state: State, rnd: random.Random) -> State:
    """``state`` with the threads of each symmetry group shuffled among themselves."""
    to = list(range(model.nthreads))
    for group in symmetry_groups(model):
        image = group[:]
        rnd.shuffle(image)
        for a, b in zip(group, image):
            to[a] = b
    p = Perm(tuple(to), model.tags, -1)
    sh = p.shared(Shared(state.vmas, state.map_count, state.ptes, state.pts, state.sem))
    threads: list[ThreadState] = list(state.threads)
    for t, th in enumerate(state.threads):
        threads[to[t]] = p.thread(th)
    return State(*sh, tuple(threads))


class Core:
    """The core's pieces for one model, as a search builds them."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.comps = Components()
        self.canon = Canonicaliser(model, self.comps)

    def key(self, state: State) -> tuple[int, ...]:
        return self.canon(self.comps.encode(state))[1]

    def rep(self, state: State) -> State:
        return self.comps.decode(self.canon(self.comps.encode(state))[0])


def _violated(model: Model, state: State) -> set[str]:
    judge = Judge(model, PROPS)
    judge.state(state, 0)
    return set(judge.found)


def _steps(core: Core, state: State) -> Counter[tuple[object, ...]]:
    """The steps from ``state``, each as what no renaming changes: the canonical successor,
    the kernel function, the choices, the kinds of events and the step's verdicts."""
    model = core.model
    out: Counter[tuple[object, ...]] = Counter()
    for tr in model.successors(state):
        judge = Judge(model, PROPS)
        judge.step(state, tr, 0)
        events = tuple(sorted(e.kind for e in tr.events))
        out[(core.key(tr.state), tr.label, tr.kernel, tr.choices, events, frozenset(judge.found))] += 1
    return out


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(models(), st.randoms(use_true_random=False), st.integers(0, 40))
def test_the_canonical_form_is_a_function_of_the_class(model: Model, rnd: random.Random, steps: int) -> None:
    core = Core(model)
    s = walk(model, rnd, steps)
    key = core.key(s)
    for _ in range(3):
        other = permuted(model, renamed(s, rnd), rnd)
        assert core.key(other) == key
    assert core.key(core.rep(s)) == key


@SETTINGS
@given(models(), st.randoms(use_true_random=False), st.integers(0, 40))
def test_canonicalisation_commutes_with_successors_and_verdicts(
    model: Model, rnd: random.Random, steps: int
) -> None:
    core = Core(model)
    s = walk(model, rnd, steps)
    rep = core.rep(s)
    assert _violated(model, rep) == _violated(model, s)
    assert _steps(core, rep) == _steps(core, s)
    assert all(th.done for th in rep.threads) == all(th.done for th in s.threads)
    other = permuted(model, renamed(s, rnd), rnd)
    assert _violated(model, other) == _violated(model, s)
    assert _steps(core, other) == _steps(core, s)


@SETTINGS
@given(models(), st.randoms(use_true_random=False))
def test_the_memoising_judge_agrees_with_the_plain_one(model: Model, rnd: random.Random) -> None:
    comps = Components()
    stepper = Stepper(model, comps)
    memo, plain = MemoJudge(model, PROPS, comps), Judge(model, PROPS)
    for _ in range(8):  # several walks, so that memoised verdicts are reused
        comp = comps.encode(rnd.choice(model.initial_states()))
        for n in range(40):
            memo.state_comp(comp, n)
            plain.state(comps.decode(comp), n)
            succs = stepper.successors(comp)
            if not succs:
                break
            for s in succs:
                memo.step_comp(comp, s, n)
                plain.step(comps.decode(comp), stepper.transition(s), n)
            comp = rnd.choice(succs).comp
    assert {k: (f.where, f.hook, f.violation) for k, f in memo.found.items()} == {
        k: (f.where, f.hook, f.violation) for k, f in plain.found.items()
    }


@SETTINGS
@given(models(), st.randoms(use_true_random=False), st.integers(0, 40))
def test_encoding_is_exact(model: Model, rnd: random.Random, steps: int) -> None:
    comps = Components()
    s = walk(model, rnd, steps)
    assert comps.decode(comps.encode(s)) == s
    assert comps.encode(s) == comps.encode(s)


def test_values_python_confuses_encode_apart() -> None:
    comps = Components()
    a = ThreadState(0, (VmaRef(2),))
    b = ThreadState(0, (2,))
    c = ThreadState(0, (True,))
    d = ThreadState(0, (1,))
    assert a == b and c == d  # Python's == cannot tell them apart
    assert len({comps.intern_thread(x) for x in (a, b, c, d)}) == 4
    assert len({comps.thread_fp[comps.intern_thread(x)] for x in (a, b, c, d)}) == 4


def test_fingerprints_are_stable_across_processes() -> None:
    import subprocess
    import sys

    code = (
        "from vmacheck.checker.core.search import Search;"
        "from vmacheck.properties import shipped;"
        "from vmacheck.protocol import Model;"
        "from vmacheck.protocol.scenarios import shipped as sc;"
        "from vmacheck.protocol.variants import shipped as va;"
        "s = Search(Model(va()['downgrade-4.20'], sc()['map-fixed-fault']), list(shipped().values()));"
        "s.run(); print(sum(s.store.key(i) for i in range(len(s.store))) % (1 << 64))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def _outcome(res: object) -> dict[str, tuple[str, int | None]]:
    return {n: (p.verdict, p.trace_length) for n, p in res.properties.items()}  # type: ignore[attr-defined]


MATRIX = [
    (v, s)
    for v in [*shipped_variants().values(), *load_file(str(HERE / "stale_fault.py")).variants.values()]
    for s in SCENARIOS.values()
    if s.applies_to(v.name)
]


def test_reductions_and_stores_never_change_a_verdict_on_any_shipped_pair() -> None:
    """Every shipped variant (and the stale-pointer test variant) in every exhaustive
    scenario (and the symmetric ones): the fingerprint store finds exactly the states the
    exact one does; with and without reductions, every verdict and every shortest length
    is the same."""
    differ = []
    for variant, sc in MATRIX:
        model = Model(variant, sc)
        fp = Search(model, PROPS).run()
        exact = Search(model, PROPS, SearchOptions(exact=True)).run()
        plain = Search(model, PROPS, SearchOptions(exact=True, reduce_ids=False, symmetry=False)).run()
        if fp.stats.states != exact.stats.states or not _outcome(fp) == _outcome(exact) == _outcome(plain):
            differ.append((variant.name, sc.name, fp.stats.states, exact.stats.states))
        assert plain.stats.states >= exact.stats.states
    assert not differ
