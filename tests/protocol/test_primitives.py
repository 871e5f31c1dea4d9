"""The concrete meaning of each kernel primitive (protocol/kernel.py), on hand-built states."""

from __future__ import annotations

import pytest

from tests.builders import held, kernel, make_state, vma
from vmacheck.protocol import events as ev
from vmacheck.protocol.kernel import PRIMITIVES, Blocked, Queued, VmaView
from vmacheck.protocol.state import DETACHED, FREED, LINKED, VM_DEAD, VM_GROWSDOWN, VM_RDONLY, PtRef

TESTED: set[str] = set()


def covers(*names: str):  # type: ignore[no-untyped-def]
    TESTED.update(names)
    return lambda fn: fn


def kinds(k) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.kind for e in k.events]


LAYOUT = [vma(0, "A", 1, 4), vma(1, "S", 5, 8, "VM_GROWSDOWN")]


@covers("find_vma", "find_vma_prev")
def test_find_vma_returns_first_vma_ending_above() -> None:
    k = kernel(make_state(LAYOUT, sem=held("R")))
    assert k.find_vma(0).tag == "A"  # type: ignore[union-attr]
    assert k.find_vma(3).tag == "A"  # type: ignore[union-attr]
    assert k.find_vma(4).tag == "S"  # type: ignore[union-attr]  # may start above addr
    assert k.find_vma(8) is None
    assert k.find_vma_prev(4).tag == "A"  # type: ignore[union-attr]
    assert k.find_vma_prev(3) is None
    assert k.events == []


@covers("__split_vma")
@pytest.mark.parametrize("new_below", [False, True])
def test_split_vma(new_below: bool) -> None:
    k = kernel(make_state(LAYOUT, sem=held("W")))
    k.split_vma(VmaView(k, 0), 2, new_below=new_below)
    parts = sorted((v.start, v.end, v.id == 0) for v in k._vmas.values() if v.tag == "A")
    assert [(s, e) for s, e, _ in parts] == [(1, 2), (2, 4)]
    # the original struct keeps the upper part when the new one is below, and vice versa
    assert [orig for _, _, orig in parts] == ([False, True] if new_below else [True, False])
    assert k._map_count == 3


@covers("__split_vma")
def test_split_needs_write_lock_and_a_live_vma() -> None:
    k = kernel(make_state(LAYOUT, sem=held("R")))
    k.split_vma(VmaView(k, 0), 2, new_below=False)
    assert kinds(k) == [ev.LOCK_REQUIRED]
    detached = [vma(0, "A", 1, 4, status=DETACHED, owner=1), LAYOUT[1]]
    k = kernel(make_state(detached, sem=held("W")))
    k.split_vma(VmaView(k, 0), 2, new_below=False)
    assert kinds(k) == [ev.VMA_STALE_USE]
    assert k._map_count == 1  # the tree is not touched through a stale pointer


@covers("vma_link", "vma_set_flags", "vma->vm_flags |= VM_DEAD")
def test_link_and_flags() -> None:
    k = kernel(make_state(LAYOUT, sem=held("W")))
    new = k.vma_link(4, 5, 0, "N")
    assert k._vmas[new.id].tag == "N" and k._map_count == 3
    k.vma_set_flags(VmaView(k, 0), VM_RDONLY)
    assert k._vmas[0].flags == VM_RDONLY
    k.mark_vma_dead(VmaView(k, 0))
    assert k._vmas[0].flags & VM_DEAD and k._vmas[0].owner == 0
    assert k.events == []


@covers("detach_vmas_to_be_unmapped")
def test_detach_reports_stack_neighbours() -> None:
    layout = [vma(0, "A", 1, 3), vma(1, "B", 3, 4), vma(2, "S", 5, 8, "VM_GROWSDOWN")]
    k = kernel(make_state(layout, sem=held("W")))
    safe = k.detach_vmas_to_be_unmapped(VmaView(k, 0), 4)
    assert safe is False  # S above is GROWSDOWN: 5.8 keeps the write lock
    assert [(v.tag, v.status, v.owner) for v in sorted(k._vmas.values())] == [
        ("A", DETACHED, 0),
        ("B", DETACHED, 0),
        ("S", LINKED, -1),
    ]
    assert k._map_count == 1 and kinds(k) == [ev.DETACH, ev.DETACH]
    layout = [vma(0, "G", 0, 1, "VM_GROWSUP"), vma(1, "A", 2, 4), vma(2, "B", 6, 8)]
    k = kernel(make_state(layout, sem=held("W")))
    assert k.detach_vmas_to_be_unmapped(VmaView(k, 1), 4) is False
    k = kernel(make_state([vma(0, "A", 2, 4), vma(1, "B", 6, 8)], sem=held("W")))
    assert k.detach_vmas_to_be_unmapped(VmaView(k, 0), 4) is True


@covers("remove_vma_list")
def test_remove_vma_list_frees_only_my_detached_list() -> None:
    layout = [
        vma(0, "A", 1, 2, status=DETACHED, owner=0),
        vma(1, "B", 2, 3, status=DETACHED, owner=0),
        vma(2, "C", 3, 4, status=DETACHED, owner=1),
    ]
    k = kernel(make_state(layout, sem=held("R")))
    k.remove_vma_list(VmaView(k, 0))
    assert [v.status for v in sorted(k._vmas.values())] == [FREED, FREED, DETACHED]
    assert kinds(k) == [ev.FREE_VMA, ev.FREE_VMA]


@covers("expand_downwards", "expand_upwards")
def test_stack_expansion_under_read_lock() -> None:
    k = kernel(
        make_state([vma(0, "G", 0, 2, "VM_GROWSUP"), vma(1, "S", 5, 8, "VM_GROWSDOWN")], sem=held("R"))
    )
    k.expand_downwards(VmaView(k, 1), 3)
    k.expand_upwards(VmaView(k, 0), 2)
    assert (k._vmas[1].start, k._vmas[0].end) == (3, 3)
    assert k.events == []  # the read lock is enough, as before Linux 6.5


@covers("zap_page_range")
def test_unmap_vmas_zaps_the_detached_range_and_reports_what_lies_there() -> None:
    layout = [vma(0, "A", 2, 4, status=DETACHED, owner=0), vma(1, "S", 3, 8, "VM_GROWSDOWN")]
    k = kernel(make_state(layout, ptes="..AS.SSS", sem=held("R")))
    k.unmap_vmas(VmaView(k, 0), 2, 4)
    assert k._ptes is not None and k._ptes[2:4] == [None, None]
    zaps = [(e.page, e.tag, e.vma.tag if e.vma else None) for e in k.events]
    assert zaps == [(2, "A", None), (3, "S", "S")]  # page 3 lies inside the linked stack


@covers("free_pgtables")
def test_free_pgtables_respects_floor_and_ceiling() -> None:
    # pt pages of 2: [0,2) [2,4) [4,6) [6,8); A detached over [1,6)
    layout = [vma(0, "P", 0, 1), vma(1, "A", 1, 6, status=DETACHED, owner=0), vma(2, "N", 7, 8)]
    k = kernel(make_state(layout, ptes="P......N", pts=(1, 1, 1, 1), sem=held("R")))
    k.free_pgtables(VmaView(k, 1), 1, 7)
    # [0,2) is shared with P (below floor 1), [6,8) with N (above ceiling 7): they survive
    assert k._pts == [1, -1, -1, 1]
    assert [(e.page, e.pages, e.vmas) for e in k.events] == [(1, (), ()), (2, (), ())]


@covers("free_pgtables")
def test_free_pgtables_reports_ptes_and_linked_vmas_over_the_page() -> None:
    layout = [vma(0, "A", 2, 3, status=DETACHED, owner=0), vma(1, "S", 3, 8, "VM_GROWSDOWN")]
    k = kernel(make_state(layout, ptes="...SSSSS", sem=held("R")))
    k.free_pgtables(VmaView(k, 0), 0, 5)  # a ceiling read before S grew down to 3
    (e,) = k.events
    assert e.page == 1 and e.pages == (3,) and [v.tag for v in e.vmas] == ["S"]
    assert k._ptes is not None and k._ptes[3] is None  # the PTE went with the page


@covers("__pte_alloc", "set_pte_at")
def test_pte_alloc_and_store_into_a_freed_page_table() -> None:
    k = kernel(make_state([vma(0, "A", 0, 8)], pts=(0, -1, 2, 1), sem=held("R")))
    assert k.pte_alloc(0) == PtRef(0, 1)
    assert k.pte_alloc(2) == PtRef(1, 2)  # a new generation after a free
    assert k.pte_alloc(4) == PtRef(2, 2)
    k.set_pte(PtRef(2, 2), 4, "A")
    assert k._ptes is not None and k._ptes[4] == "A"
    k.set_pte(PtRef(3, 7), 6, "A")  # the page table was freed and replaced since
    assert k._ptes[6] is None and kinds(k) == [ev.PTE_STORE_FREED]


@covers("set_pte_at")
def test_set_pte_keeps_an_existing_pte() -> None:
    k = kernel(make_state([vma(0, "S", 0, 8)], ptes="A.......", sem=held("R")))
    k.set_pte(PtRef(0, 1), 0, "S")
    assert k._ptes is None  # pte_none failed: the old page stays mapped


@covers("move_page_tables")
def test_move_page_tables() -> None:
    k = kernel(make_state([vma(0, "A", 0, 2)], ptes="A.......", sem=held("W")))
    k.move_page_tables(0, 4, 2, "M")
    assert k._ptes == [None, None, None, None, "M", None, None, None]
    assert k._pts is not None and k._pts[2] == 1


@covers("bad_area")
def test_bad_area_records_what_was_mapped() -> None:
    k = kernel(make_state(LAYOUT, sem=held("R")))
    k.bad_area(2)
    (e,) = k.events
    assert e.kind == ev.SEGV and e.page == 2 and e.vma is not None and e.vma.tag == "A"


@covers("down_read", "down_write", "up_read", "up_write", "downgrade_write", "upgrade_read")
def test_lock_primitives_queue_block_and_misuse() -> None:
    k = kernel(make_state(LAYOUT, sem=held("W", tid=1)))
    with pytest.raises(Queued):
        k.down_read()
    k = kernel(make_state(LAYOUT, sem=held("W", tid=1)._replace(waiters=((0, "R"),))))
    with pytest.raises(Blocked):
        k.down_read()
    k = kernel(make_state(LAYOUT))
    k.down_write()
    k.downgrade_write()
    k.up_read()
    assert k.sem.holds(0) is None and k.events == []
    k.up_write()
    k.upgrade_read()
    assert kinds(k) == [ev.LOCK_MISUSE, ev.LOCK_MISUSE]


def test_stale_pointer_use_is_reported_once_per_vma() -> None:
    k = kernel(make_state([vma(0, "A", 1, 4, status=FREED)], sem=held("R")))
    view = VmaView(k, 0)
    assert (view.start, view.end, view.tag) == (1, 4, "A")  # the stale fields
    assert kinds(k) == [ev.VMA_STALE_USE]


def test_reading_without_the_lock_is_reported() -> None:
    k = kernel(make_state(LAYOUT))
    k.find_vma(0)
    _ = k.map_count
    assert [(e.kind, e.primitive) for e in k.events] == [
        (ev.LOCK_REQUIRED, "find_vma"),
        (ev.LOCK_REQUIRED, "map_count"),
    ]


def test_every_primitive_has_a_test() -> None:
    names = {info.kernel for info in PRIMITIVES.values()}
    assert names - TESTED == set(), "primitives without a unit test"


def test_every_primitive_declares_kernel_function_and_doc() -> None:
    for name, info in PRIMITIVES.items():
        assert info.kernel and info.doc, name
        assert info.requires in (None, "read", "write"), name


def test_tree_changes_need_the_write_lock() -> None:
    for name in ("split_vma", "vma_link", "detach_vmas_to_be_unmapped", "mark_vma_dead", "move_page_tables"):
        assert PRIMITIVES[name].requires == "write", name
    assert VM_GROWSDOWN
