"""Alone, every variant's munmap is 4.19's munmap.

Whatever a variant does about locking, a munmap with nothing racing it must end where Linux
4.19's ``do_munmap`` ends: the same vmas (range, flags, mapping), the same PTEs, the same
return value. Hypothesis draws the layout (up to three vmas, stacks among them, some pages
populated), ``max_map_count`` (at, just above or well above map_count) and the arguments
(including ranges over holes, past the end, and empty ones).

Two variants differ from 4.19 on purpose, both at the map_count limit, and the test pins
exactly where:

- ``rfc-v2-read-split`` checks ``map_count > max_map_count``: at ``map_count ==
  max_map_count`` it unmaps the middle of a vma where 4.19 returns ENOMEM;
- ``rfc-v1-sections`` applies the check per section: at the limit it returns ENOMEM for a
  range whose *section* ends inside a vma even when the whole range does not (4.19 succeeds:
  it needs one split, not two). ``linearizable`` reports both, since it
  compares with the reference semantics (4.19's do_munmap); they are pinned here as well.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmacheck.properties.linearizable import Outcome, outcome
from vmacheck.protocol import Model
from vmacheck.protocol.scenario import Scenario, VmaSpec, thread
from vmacheck.protocol.variants import shipped as shipped_variants

PAGES = 8
VARIANTS = shipped_variants()


@st.composite
def layouts(draw: st.DrawFn) -> tuple[tuple[VmaSpec, ...], int, int, int]:
    cuts = sorted(draw(st.sets(st.integers(0, PAGES), min_size=2, max_size=6)))
    spans = [(a, b) for a, b in zip(cuts, cuts[1:])]
    chosen = draw(st.lists(st.sampled_from(spans), min_size=1, max_size=3, unique=True)) if spans else []
    vmas = []
    for i, (a, b) in enumerate(sorted(chosen)):
        flags = draw(st.sampled_from([(), (), ("VM_GROWSDOWN",), ("VM_GROWSUP",)]))
        pages = tuple(p for p in range(a, b) if draw(st.booleans()))
        vmas.append(VmaSpec("ABC"[i], a, b, flags=flags, populated=pages))
    slack = draw(st.sampled_from([0, 0, 1, 2, 5]))
    # mostly valid ranges; sometimes one the kernel rejects with EINVAL
    start = draw(st.integers(0, PAGES - 1) | st.sampled_from([-1, PAGES]))
    length = draw(st.integers(1, 4) | st.sampled_from([0, PAGES + 1]))
    return tuple(vmas), len(vmas) + slack, start, length


def alone(variant: str, vmas: tuple[VmaSpec, ...], max_map_count: int, start: int, length: int) -> Outcome:
    sc = Scenario(
        name="alone",
        summary="one munmap, nothing racing",
        vmas=vmas,
        threads=(thread("munmap", start=start, len=length),),
        pages=PAGES,
        pt_span=2,
        max_map_count=max_map_count,
    )
    model = Model(VARIANTS[variant], sc)
    (state,) = model.initial_states()
    for _ in range(200):
        succ = model.successors(state)
        if not succ:
            break
        assert len(succ) == 1, f"{variant}: one thread alone must be deterministic"
        state = succ[0].state
    assert all(th.done for th in state.threads), f"{variant}: munmap alone did not return"
    return outcome(model, state)


def result_of(out: Outcome) -> object:
    calls = out[0]
    return calls[0][2]  # type: ignore[index]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_every_variant_alone_ends_as_4_19(case: tuple[tuple[VmaSpec, ...], int, int, int]) -> None:
    vmas, max_map_count, start, length = case
    reference = alone("baseline-4.19", vmas, max_map_count, start, length)
    for name in VARIANTS:
        got = alone(name, vmas, max_map_count, start, length)
        if got == reference:
            continue
        at_limit = len(vmas) == max_map_count
        if name == "rfc-v2-read-split":
            # '>' instead of '>=': succeeds at the limit where 4.19 refuses
            assert at_limit and result_of(reference) == "ENOMEM" and result_of(got) == 0, (name, case)
        elif name == "rfc-v1-sections":
            # the check per section: refuses at the limit where 4.19 succeeds
            assert at_limit and result_of(got) == "ENOMEM" and result_of(reference) == 0, (name, case)
        else:
            raise AssertionError(f"{name} alone differs from 4.19 on {case}: {got} != {reference}")


def test_the_two_limit_differences_exist() -> None:
    """The exceptions above are not vacuous: each happens."""
    a = (VmaSpec("A", 0, 4),)
    # the middle of A at the limit: 4.19 refuses, v2 unmaps
    assert result_of(alone("baseline-4.19", a, 1, 1, 2)) == "ENOMEM"
    assert result_of(alone("rfc-v2-read-split", a, 1, 1, 2)) == 0
    # the tail of A at the limit: 4.19 needs one split and succeeds; v1's first section ends
    # inside A, so it asks for two and refuses
    assert result_of(alone("baseline-4.19", a, 1, 1, 3)) == 0
    assert result_of(alone("rfc-v1-sections", a, 1, 1, 3)) == "ENOMEM"
