"""The three property corrections the 2018 variants needed, each pinned both ways.

VM_DEAD is a flag in the kernel, not an owner; the model records in ``Vma.owner`` the *last*
unmap that marked a vma. Two judgements treated "marked by another unmap" or "marked by this
unmap" too strictly and reported bugs that are not there:

- ``no_pt_use_after_free`` flagged RFC v3 for freeing page tables under its *own* VM_DEAD
  vmas, under the write lock, before detaching them (the order the RFC used);
- ``no_clobber`` flagged a munmap for zapping a page of its own range inside a vma that an
  overlapping munmap had marked VM_DEAD again.

Each test below also checks that the real bugs next to the exemption are still reported.
"""

from __future__ import annotations

import pytest

from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, State
from vmacheck.protocol.events import FREE_PT, VMA_STALE_USE, ZAP, Event
from vmacheck.protocol.model import Transition
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.state import DETACHED, FREED, LINKED, NO_THREAD, VM_DEAD, Vma
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = shipped_properties()


@pytest.fixture(scope="module")
def model() -> Model:
    # two munmaps: T0 munmap(1, 2), T1 munmap(2, 2) (first argument choice)
    return Model(shipped_variants()["rfc-v3-three-phase"], shipped_scenarios()["two-munmaps"])


def _started(model: Model) -> State:
    """The first initial state, with both munmaps begun (their snapshot taken)."""
    init = model.initial_states()[0]
    snap = frozenset(v.tag for v in init.vmas)
    threads = tuple(th._replace(snapshot=snap) for th in init.threads)
    return init._replace(threads=threads)


def _step(model: Model, before: State, tid: int, *events: Event) -> Transition:
    return Transition(tid, "x", "x", (), before, tuple(events))


def _judge(name: str, model: Model, before: State, tid: int, *events: Event) -> object:
    return PROPS[name].check_step(model, before, _step(model, before, tid, *events))


def test_the_model_is_the_one_the_tests_assume(model: Model) -> None:
    st = _started(model)
    assert [model.programs[t].unmap_range(st.threads[t]) for t in (0, 1)] == [(1, 3), (2, 4)]


# --- no_pt_use_after_free --------------------------------------------------------------------
def test_freeing_under_own_dead_vma_is_not_a_use_after_free(model: Model) -> None:
    st = _started(model)
    dead = Vma(7, 1, 3, VM_DEAD, "A", LINKED, 0)  # T0 marked it; inside T0's range [1,3)
    ev = Event(FREE_PT, 0, "free_pgtables", page=1, vmas=(dead,))
    assert _judge("no_pt_use_after_free", model, st, 0, ev) is None


def test_freeing_under_another_unmaps_dead_vma_inside_own_range_is_not_either(model: Model) -> None:
    st = _started(model)
    dead = Vma(7, 2, 3, VM_DEAD, "A", LINKED, 1)  # T1 marked it again; still inside T0's range
    ev = Event(FREE_PT, 0, "free_pgtables", page=1, vmas=(dead,))
    assert _judge("no_pt_use_after_free", model, st, 0, ev) is None


@pytest.mark.parametrize(
    ("vma", "why"),
    [
        (Vma(7, 1, 3, 0, "A", LINKED, NO_THREAD), "a live, faultable vma"),
        (Vma(7, 0, 3, VM_DEAD, "A", LINKED, 0), "a dead vma reaching outside the range"),
        (Vma(7, 1, 3, VM_DEAD, "A", LINKED, NO_THREAD), "VM_DEAD with no unmap in flight"),
    ],
)
def test_freeing_under_a_live_vma_is_still_reported(model: Model, vma: Vma, why: str) -> None:
    st = _started(model)
    v = _judge("no_pt_use_after_free", model, st, 0, Event(FREE_PT, 0, "free_pgtables", page=1, vmas=(vma,)))
    assert v is not None, why
    assert "linked A" in v.message  # type: ignore[attr-defined]


def test_freeing_a_page_table_that_holds_a_pte_is_still_reported(model: Model) -> None:
    st = _started(model)
    dead = Vma(7, 1, 3, VM_DEAD, "A", LINKED, 0)
    ev = Event(FREE_PT, 0, "free_pgtables", page=1, pages=(2,), vmas=(dead,))
    v = _judge("no_pt_use_after_free", model, st, 0, ev)
    assert v is not None and "PTEs for pages 2" in v.message and "linked" not in v.message  # type: ignore[attr-defined]


# --- no_clobber ------------------------------------------------------------------------------
def test_zapping_own_range_inside_a_vma_an_overlapping_unmap_marked_dead(model: Model) -> None:
    st = _started(model)
    remarked = Vma(7, 2, 3, VM_DEAD, "A", LINKED, 1)  # T0 marked [1,3), T1 split and re-marked [2,3)
    ev = Event(ZAP, 0, "zap_page_range", page=2, tag="A", vma=remarked)
    assert _judge("no_clobber", model, st, 0, ev) is None


@pytest.mark.parametrize(
    ("page", "vma", "why"),
    [
        (2, Vma(7, 2, 3, 0, "A", LINKED, NO_THREAD), "a live vma"),
        (3, Vma(7, 3, 4, VM_DEAD, "A", LINKED, 1), "a dead vma, but the page is outside T0's range"),
        (2, Vma(7, 2, 3, VM_DEAD, "A", LINKED, NO_THREAD), "VM_DEAD with no unmap in flight"),
    ],
)
def test_zapping_a_linked_vma_is_still_reported(model: Model, page: int, vma: Vma, why: str) -> None:
    st = _started(model)
    v = _judge("no_clobber", model, st, 0, Event(ZAP, 0, "zap_page_range", page=page, tag="A", vma=vma))
    assert v is not None and "still linked" in v.message, why  # type: ignore[attr-defined]


def test_zapping_a_newer_mapping_is_reported_even_inside_a_dead_vma(model: Model) -> None:
    st = _started(model)
    newer = Vma(7, 2, 3, VM_DEAD, "N", LINKED, 1)  # installed after T0 began, then marked by T1
    v = _judge("no_clobber", model, st, 0, Event(ZAP, 0, "zap_page_range", page=2, tag="N", vma=newer))
    assert v is not None and "installed after its unmap began" in v.message  # type: ignore[attr-defined]


# --- no_vma_use_after_free: the message says what happened to the vma ---------------------
@pytest.mark.parametrize(
    ("status", "owner", "words"),
    [
        (FREED, 1, "after it was freed"),
        (DETACHED, 1, "detached by T1"),
        (LINKED, NO_THREAD, "changed by another"),
    ],
)
def test_stale_use_message(model: Model, status: int, owner: int, words: str) -> None:
    st = _started(model)
    rec = Vma(7, 0, 1, 0, "A", status, owner)
    v = _judge("no_vma_use_after_free", model, st, 0, Event(VMA_STALE_USE, 0, "__split_vma", vma=rec))
    assert v is not None and words in v.message and "T-1" not in v.message  # type: ignore[attr-defined]


# --- and on the model: v3's own order no longer trips the page-table check ----------------
def test_v3_alone_frees_its_page_tables_cleanly() -> None:
    from vmacheck.checker.engines.explicit import Search

    model = Model(shipped_variants()["rfc-v3-three-phase"], shipped_scenarios()["stack-below-growsdown"])
    res = Search(model, [PROPS["no_pt_use_after_free"], PROPS["no_clobber"]]).run()
    assert {n: p.verdict for n, p in res.properties.items()} == {
        "no_pt_use_after_free": "holds",
        "no_clobber": "holds",
    }
