"""Mutation testing of the checker: mutants derived from the shipped variants' source must
be caught — killed by the explicit engine's verdicts (and told apart by the random engine
within a stated budget), or shown equivalent by computation.

The full runs are marked slow; CI runs them (``pytest -q`` runs everything): they are the
evidence that the checker catches bugs. The report is printed and written to
``test-artifacts/mutation-report.txt``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.builders import rebuild
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.mutants import (
    EQUIVALENT,
    KILLED,
    KILLED_ERROR,
    OPERATORS,
    SURVIVED,
    UNEXERCISED,
    Report,
    generate,
    mutation_test,
    same_behaviour,
)
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Kernel, Model, Variant
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())
VARIANTS = shipped_variants()
SCENARIOS = shipped_scenarios()
ROOT = Path(__file__).resolve().parents[2]

# The random engine's budget for telling a mutant apart: seed 0, 20 schedules per scenario.
RANDOM_SEED, RANDOM_EXAMPLES = 0, 20


def small(variant: str) -> list:  # type: ignore[type-arg]
    return [sc for sc in SCENARIOS.values() if sc.exhaustive and sc.applies_to(variant)]


def test_generation_is_generic_and_deterministic() -> None:
    """Every operator applies to the shipped variants; the same source gives the same
    mutants; each mutant is a different program that still loads as a variant."""
    seen = set()
    for variant in VARIANTS.values():
        first, second = generate(variant), generate(variant)
        assert [m.source for m in first] == [m.source for m in second]
        assert len({m.source for m in first}) == len(first)
        for m in first:
            seen.add(m.operator)
            assert m.load().name == variant.name
    assert seen == set(OPERATORS)


def test_mutant_descriptions_name_the_change() -> None:
    v420 = VARIANTS["downgrade-4.20"]
    texts = [f"{m.operator}: {m.description}" for m in generate(v420)]
    line = Path(v420.file).read_text().splitlines().index("    k.downgrade_write()") + 1
    assert f"drop-lock: step 'downgrade_write' line {line}: drop k.downgrade_write()" in texts
    assert "swap-steps: munmap: swap steps 'detach_vmas_to_be_unmapped' and 'downgrade_write'" in texts
    # steps appended by a library call are swapped as a whole, named by the call; a lock is
    # moved only into a step function of the file, never into code written elsewhere
    assert (
        "swap-steps: munmap: swap steps 'do_munmap_split_steps(...)' and 'detach_vmas_to_be_unmapped'"
        in texts
    )
    assert not any("'down_write' and 'do_munmap_split_steps(...)'" in t for t in texts)  # neither is here
    assert "swap-steps: munmap: swap steps 'downgrade_write' and 'unmap_region_steps(...)'" in texts
    assert not any("move k.downgrade_write() to the start of next step" in t for t in texts)
    v2 = [f"{m.operator}: {m.description}" for m in generate(VARIANTS["rfc-v2-read-split"])]
    assert any(
        t.startswith("flip-map-count") and "k.map_count > k.max_map_count -> " in t and ">=" in t for t in v2
    )


def _one(variant: str, operator: str, contains: str):  # type: ignore[no-untyped-def]
    return next(
        m for m in generate(VARIANTS[variant]) if m.operator == operator and contains in m.description
    )


# Bugs in the parts of __do_munmap the variants share (vmacheck.protocol.syscalls.munmap): the
# mutation operators see only variant files, so these are written out. Each is what an
# operator would make of the library's code (drop-primitive, flip-map-count, skip-map-count,
# drop-split, swap-steps), put into baseline-4.19.
def _split_first(check: str, split: bool = True) -> Callable[[Kernel, DoMunmapFrame], None]:
    def split_first(k: Kernel, t: DoMunmapFrame) -> None:
        if t.start > t.vma.start:
            over = {
                ">=": t.end < t.vma.end and k.map_count >= k.max_map_count,
                ">": t.end < t.vma.end and k.map_count > k.max_map_count,  # flip-map-count
                "skip": False,  # skip-map-count
            }[check]
            if over:
                t.retval = "ENOMEM"
                return k.goto("up_write")
            if split:  # not: drop-split
                k.split_vma(t.vma, t.start, new_below=False)
            t.prev = t.vma
            t.vma = k.find_vma(t.start)

    return split_first


def _retval_0(k: Kernel, t: DoMunmapFrame) -> None:
    t.retval = 0  # remove_vma_list dropped


def _nothing(k: Kernel, t: DoMunmapFrame) -> None:
    pass  # free_pgtables dropped


def _baseline(name: str, order: list[str] | None = None, **replace: Callable[[Kernel, Any], None]) -> Variant:
    base = VARIANTS["baseline-4.19"]
    return Variant(name, "mutant", rebuild(base.munmap, order=order, replace=replace))


def test_the_written_out_split_first_is_the_librarys() -> None:
    """The written-out step, unmutated, behaves as the library's: the mutants below differ
    from baseline-4.19 by their mutation only."""
    same = _baseline("same", split_first=_split_first(">="))
    for sc in ("mprotect-at-limit", "munmap-over-limit", "access-split-vma"):
        assert same_behaviour(VARIANTS["baseline-4.19"], same, SCENARIOS[sc]), sc


_LABELS = [st.label for st in VARIANTS["baseline-4.19"].munmap.steps]
_SPLITS_SWAPPED = _LABELS[:2] + ["split_last", "split_first"] + _LABELS[4:]


@pytest.mark.parametrize(
    ("mutant", "scenario", "prop", "message"),
    [
        (
            lambda: _baseline("no-remove", remove_vma_list=_retval_0),  # drop-primitive
            "access-split-vma",
            "vma_consistency",
            "is never freed",
        ),
        (
            lambda: _baseline("no-free", free_pgtables=_nothing),  # drop-primitive
            "two-munmaps",
            "vma_consistency",
            "still allocated, under no vma",
        ),
        (
            lambda: _baseline("flip", split_first=_split_first(">")),
            "mprotect-at-limit",
            "map_count_limit",
            "around its range",
        ),
        (
            lambda: _baseline("skip", split_first=_split_first("skip")),
            "mprotect-at-limit",
            "map_count_limit",
            "around its range",
        ),
        (
            lambda: _baseline("swap", order=_SPLITS_SWAPPED),
            "mprotect-at-limit",
            "map_count_limit",
            "around its range",
        ),
    ],
    ids=["drop-remove_vma_list", "drop-free_pgtables", "flip-map-count", "skip-map-count", "swap-splits"],
)
def test_properties_added_for_survivors(
    mutant: Callable[[], Variant], scenario: str, prop: str, message: str
) -> None:
    """Mutants that first survived showed what the properties lacked (a leaked vma struct, a
    leaked page table, a split at the map_count limit); the baseline keeps holding."""
    props = [shipped_properties()[prop]]
    res = Search(Model(mutant(), SCENARIOS[scenario]), props).run()
    assert res.properties[prop].verdict == "violated"
    assert message in res.properties[prop].violation.message
    assert (
        Search(Model(VARIANTS["baseline-4.19"], SCENARIOS[scenario]), props).run().properties[prop].verdict
        == "holds"
    )


def test_equivalence_is_computed_not_assumed() -> None:
    v420, v58 = VARIANTS["downgrade-4.20"], VARIANTS["downgrade-5.8"]
    assert same_behaviour(v420, v420, SCENARIOS["stack-below-growsdown"])
    assert not same_behaviour(v420, v58, SCENARIOS["stack-below-growsdown"])
    # moving down_read into the next step only adds a step that shows nothing
    v65 = VARIANTS["stack-write-6.5"]
    moved = _one("stack-write-6.5", "move-lock", "k.down_read() to the start of next step 'find_vma'").load()
    assert all(same_behaviour(v65, moved, sc) for sc in small("stack-write-6.5"))
    # moving the release of the write lock into the step that takes the read lock is not
    early = _one(
        "rfc-v3-three-phase", "move-lock", "k.up_write() to the start of next step 'down_read'"
    ).load()
    assert not all(
        same_behaviour(VARIANTS["rfc-v3-three-phase"], early, sc) for sc in small("rfc-v3-three-phase")
    )
    # forgetting a split is not equivalent
    dropped = _baseline("no-split", split_first=_split_first(">=", split=False))
    assert not same_behaviour(VARIANTS["baseline-4.19"], dropped, SCENARIOS["access-split-vma"])


@pytest.fixture(scope="module")
def report() -> Report:
    """Every mutant of every shipped variant, judged in two processes; the random engine is
    asked about every mutant the explicit engine killed by a verdict."""
    rep = mutation_test(
        list(VARIANTS.values()), SCENARIOS, PROPS, workers=2, random_budget=(RANDOM_SEED, RANDOM_EXAMPLES)
    )
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "mutation-report.txt").write_text(rep.summary() + "\n")
    print("\n" + rep.summary())
    return rep


@pytest.mark.slow
def test_every_non_equivalent_mutant_is_killed(report: Report) -> None:
    survivors = [j for j in report.judgements if j.status in (SURVIVED, UNEXERCISED)]
    assert not survivors, "\n".join(f"{j.mutant.name} {j.mutant.description}: {j.detail}" for j in survivors)
    assert report.kill_rate == 1.0
    # most mutants are real bugs; equivalence stays the exception
    assert report.count(KILLED, KILLED_ERROR) > 3 * report.count(EQUIVALENT)


@pytest.mark.slow
def test_random_engine_catches_every_killed_mutant(report: Report) -> None:
    """Within the budget (seed 0, 20 schedules per scenario) the random engine finds, for
    every mutant the explicit engine kills by a verdict, a violation that tells it from the
    original (one the explicit engine proved the other free of)."""
    assert report.random_checked == report.count(KILLED)
    assert not report.random_missed, report.random_missed
