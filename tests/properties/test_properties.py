"""Each shipped property on hand-built states and steps: one where it holds, one where it
fails, and the failing part named in the message."""

from __future__ import annotations

from tests.builders import held, make_state, scratch_model, vma
from vmacheck.properties import shipped
from vmacheck.protocol import events as ev
from vmacheck.protocol.events import Event
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import DETACHED, FREED, State, ThreadState

P = shipped()
MODEL = scratch_model(max_map_count=3)


def step(before: State, *events: Event, after: State | None = None, tid: int = 0) -> Transition:
    return Transition(tid, "x", "x", (), after or before, tuple(events))


def thread(
    done: bool = False,
    result: object = None,
    snapshot: frozenset[str] | None = None,
    changed: bool = False,
    start: int = 2,
    length: int = 2,
) -> ThreadState:
    return ThreadState(1, (start, length, None, None, None), result, done, snapshot, changed)


def threads(*ths: ThreadState) -> tuple[ThreadState, ...]:
    return ths + tuple(thread() for _ in range(2 - len(ths)))


def test_names_and_docs() -> None:
    assert list(P) == [
        "no_segv_on_mapped",
        "map_count_limit",
        "no_clobber",
        "no_pt_use_after_free",
        "no_vma_use_after_free",
        "vma_consistency",
        "deadlock_free",
        "lock_discipline",
        "documented_errno",
        "linearizable",
    ]
    for prop in P.values():
        assert prop.summary and len(prop.doc) > len(prop.summary), prop.name
        assert prop.hooks(), prop.name


def test_no_segv_on_mapped() -> None:
    prop = P["no_segv_on_mapped"]
    a = vma(0, "A", 1, 7)
    # T1 (an access) gets SIGSEGV at page 5, mapped by A; T0 unmaps [2,4) only
    s = make_state([a], threads=threads(thread(snapshot=frozenset("A"))))
    v = prop.check_step(MODEL, s, step(s, Event(ev.SEGV, 1, "bad_area", page=5, vma=a), tid=1))
    assert v is not None and v.page == 5 and v.vma == "A" and "T1" in v.message
    # page 3 lies in the range T0 is unmapping: SIGSEGV is allowed there
    assert prop.check_step(MODEL, s, step(s, Event(ev.SEGV, 1, "bad_area", page=3, vma=a), tid=1)) is None
    # an unmapped page may fault
    assert prop.check_step(MODEL, s, step(s, Event(ev.SEGV, 1, "bad_area", page=7, vma=None), tid=1)) is None
    # T0 has not begun its unmap (never held the lock): page 3 is plainly mapped
    s2 = make_state([a])
    assert prop.check_step(MODEL, s2, step(s2, Event(ev.SEGV, 1, "bad_area", page=3, vma=a), tid=1))


def test_map_count_limit() -> None:
    prop = P["map_count_limit"]
    vmas = [vma(i, "ABCDE"[i], i, i + 1) for i in range(5)]
    over = make_state(vmas)  # 5 > max_map_count + 1 = 4
    assert "map_count is 5" in prop.check_state(MODEL, over).message  # type: ignore[union-attr]
    assert prop.check_state(MODEL, make_state(vmas[:4])) is None  # the deliberate slack
    assert prop.check_state(MODEL, make_state(vmas, sem=held("W"))) is None  # inside a write hold
    s = make_state(vmas[:2])
    failed_after_change = s._replace(threads=threads(thread(done=True, result="ENOMEM", changed=True)))
    v = prop.check_step(MODEL, s, step(s, after=failed_after_change))
    assert v is not None and v.thread == 0 and "ENOMEM" in v.message
    clean = s._replace(threads=threads(thread(done=True, result="ENOMEM", changed=False)))
    assert prop.check_step(MODEL, s, step(s, after=clean)) is None


def test_no_clobber() -> None:
    prop = P["no_clobber"]
    stack = vma(1, "S", 3, 8, "VM_GROWSDOWN")
    s = make_state(
        [vma(0, "A", 2, 4, status=DETACHED, owner=0), stack],
        threads=threads(thread(snapshot=frozenset("ABS"))),
    )
    ok = Event(ev.ZAP, 0, "zap_page_range", page=2, tag="A", vma=None)
    assert prop.check_step(MODEL, s, step(s, ok)) is None
    inside_stack = Event(ev.ZAP, 0, "zap_page_range", page=3, tag="S", vma=stack)
    v = prop.check_step(MODEL, s, step(s, inside_stack))
    assert v is not None and v.page == 3 and v.vma == "S" and "still linked" in v.message
    # a vma the unmap marked VM_DEAD itself is its own to zap
    dead = vma(2, "B", 2, 4, "VM_DEAD", owner=0)
    assert prop.check_step(MODEL, s, step(s, Event(ev.ZAP, 0, "z", page=2, tag="B", vma=dead))) is None
    newer = Event(ev.ZAP, 0, "zap_page_range", page=2, tag="N", vma=None)
    assert "installed after" in prop.check_step(MODEL, s, step(s, newer)).message  # type: ignore[union-attr]
    detach_new = Event(ev.DETACH, 0, "detach", vma=vma(3, "N", 2, 4))
    assert prop.check_step(MODEL, s, step(s, detach_new)) is not None
    detach_old = Event(ev.DETACH, 0, "detach", vma=vma(0, "A", 2, 4))
    assert prop.check_step(MODEL, s, step(s, detach_old)) is None


def test_no_pt_use_after_free() -> None:
    prop = P["no_pt_use_after_free"]
    s = make_state([vma(0, "S", 3, 8)], ptes="...SSSSS")
    assert prop.check_step(MODEL, s, step(s, Event(ev.FREE_PT, 0, "free_pgtables", page=0))) is None
    under = Event(ev.FREE_PT, 0, "free_pgtables", page=1, vmas=(vma(0, "S", 3, 8),))
    assert "linked S[3,8)" in prop.check_step(MODEL, s, step(s, under)).message  # type: ignore[union-attr]
    holding = Event(ev.FREE_PT, 0, "free_pgtables", page=1, pages=(3,))
    assert "PTEs for pages 3" in prop.check_step(MODEL, s, step(s, holding)).message  # type: ignore[union-attr]
    store = Event(ev.PTE_STORE_FREED, 1, "set_pte_at", page=3, detail="page table 1")
    assert prop.check_step(MODEL, s, step(s, store, tid=1)).thread == 1  # type: ignore[union-attr]
    assert prop.check_state(MODEL, s) is None
    left = make_state([vma(0, "S", 3, 8)], ptes="...SSSSS", pts=(0, -1, 1, 1))
    assert prop.check_state(MODEL, left).page == 3  # type: ignore[union-attr]


def test_no_vma_use_after_free() -> None:
    prop = P["no_vma_use_after_free"]
    s = make_state([vma(0, "A", 2, 4)])
    assert prop.check_step(MODEL, s, step(s)) is None
    e = Event(ev.VMA_STALE_USE, 0, "__split_vma", vma=vma(0, "A", 2, 4, status=FREED))
    v = prop.check_step(MODEL, s, step(s, e))
    assert v is not None and "A[2,4) in __split_vma after it was freed" in v.message
    e = Event(ev.VMA_STALE_USE, 0, "vma->field", vma=vma(0, "A", 2, 4, status=DETACHED, owner=1))
    assert "detached by T1" in prop.check_step(MODEL, s, step(s, e)).message  # type: ignore[union-attr]


def test_vma_consistency() -> None:
    prop = P["vma_consistency"]
    assert (
        prop.check_state(MODEL, make_state([vma(0, "A", 0, 2), vma(1, "B", 2, 4)], ptes="AAB.....")) is None
    )
    assert "overlap" in prop.check_state(MODEL, make_state([vma(0, "A", 0, 3), vma(1, "B", 2, 4)])).message  # type: ignore[union-attr]
    assert "map_count is 3" in prop.check_state(MODEL, make_state([vma(0, "A", 0, 2)], map_count=3)).message  # type: ignore[union-attr]
    stray = make_state([vma(0, "A", 0, 2)], ptes="A..A....")
    assert prop.check_state(MODEL, stray).page == 3  # type: ignore[union-attr]
    stale = make_state([vma(0, "S", 0, 4)], ptes="SSA.....")
    assert "maps the memory of A" in prop.check_state(MODEL, stale).message  # type: ignore[union-attr]
    # while an unmap is in flight, PTEs may lag behind the tree
    busy = stray._replace(threads=threads(thread(snapshot=frozenset("A"))))
    assert prop.check_state(MODEL, busy) is None


def test_deadlock_free() -> None:
    prop = P["deadlock_free"]
    s = make_state([vma(0, "A", 0, 2)], sem=held("R")._replace(waiters=((1, "W"),)))
    v = prop.check_stuck(MODEL, s)
    assert v is not None and "T0 at first" in v.message and "waiting T1(W)" in v.message


def test_lock_discipline() -> None:
    prop = P["lock_discipline"]
    s = make_state([vma(0, "A", 0, 2)])
    assert prop.check_step(MODEL, s, step(s, Event(ev.ZAP, 0, "z", page=0, tag="A"))) is None
    e = Event(ev.LOCK_REQUIRED, 0, "__split_vma", detail="needs mmap_sem for write, holds read")
    v = prop.check_step(MODEL, s, step(s, e))
    assert v is not None and "__split_vma" in v.message and "holds read" in v.message
    assert prop.check_step(MODEL, s, step(s, Event(ev.RETURN_LOCKED, 0, "return"))) is not None


def test_documented_errno() -> None:
    prop = P["documented_errno"]
    prog = MODEL.programs[0]
    object.__setattr__(prog, "errnos", frozenset({"EINVAL", "ENOMEM"}))
    s = make_state([vma(0, "A", 0, 2)])
    for result, bad in (("ENOMEM", False), ("EBUSY", True), (0, False)):
        after = s._replace(threads=threads(thread(done=True, result=result)))
        v = prop.check_step(MODEL, s, step(s, after=after))
        assert (v is not None) == bad, result
        if v is not None:
            assert "EBUSY" in v.message and "munmap(2)" in v.message


def test_linearizable_against_the_sequential_executions() -> None:
    from vmacheck.protocol.scenarios import shipped as scenarios
    from vmacheck.protocol.variants import shipped as variants

    prop = P["linearizable"]
    model = Model(variants()["baseline-4.19"], scenarios()["two-munmaps"])
    state = model.initial_states()[0]
    while not all(th.done for th in state.threads):  # one serial execution, thread by thread
        state = model.serial_successors(state)[0].state
    assert prop.check_final(model, state) is None
    changed = state._replace(ptes=("Z",) + state.ptes[1:])
    v = prop.check_final(model, changed)
    assert (
        v is not None and "no sequential order" in v.message and "T0 munmap(start=1, len=2) = 0" in v.message
    )
    wrong_result = state._replace(threads=(state.threads[0]._replace(result="ENOMEM"),) + state.threads[1:])
    assert prop.check_final(model, wrong_result) is not None


def test_linearizable_compares_with_the_reference_not_the_variant_itself() -> None:
    """A munmap that does nothing, run alone, ends unlike 4.19's do_munmap."""
    prop = P["linearizable"]
    model: Model = scratch_model()  # its munmap returns 0 and unmaps nothing
    state = model.initial_states()[0]
    while not all(th.done for th in state.threads):
        state = model.serial_successors(state)[0].state
    assert prop.check_final(model, state) is not None
