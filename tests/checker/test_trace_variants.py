"""Two deliberately broken munmap variants and a three-thread scenario, as a user's variant
file: the traces they produce exercise what the shipped 4.19/4.20/5.8 traces do not (VM_DEAD
vmas, a thread queued on mmap_sem, a deadlock of two upgraders, a carried pointer used after
another thread freed its vma, three lanes). The viewer and trace tests load this file by path,
as ``vmacheck check FILE`` does; the tests here pin down that the variants really fail the way
the viewer tests rely on.

- ``viewer-test-dead-gap``: ``W{split; VM_DEAD}`` downgrade ``R{zap}`` up_read
  ``W{detach, free_pgtables, free}`` with the vma pointer carried across the unlocked gap (the
  2018 v1/v3 hazard: "once you drop the lock ... you might be unmapping a completely different
  vma").
- ``viewer-test-upgrade``: ``W{split; VM_DEAD}`` downgrade ``R{zap}`` upgrade_read
  ``W{detach, free}``: two of them wait for each other in the modelled upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import load_file
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Kernel, Model, Program, Scenario, Variant, VmaSpec, VmaView, oneof, thread
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, bad_range, range_of
from vmacheck.protocol.syscalls.munmap import MunmapRange

FILE = Path(__file__)


class DeadGapFrame(MunmapRange):
    retval: int | str


def _program(name: str, relock: str) -> Program[DeadGapFrame]:
    prog = Program("munmap", DeadGapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

    @prog.step("down_write")
    def _lock(k: Kernel, t: DeadGapFrame) -> None:
        k.down_write()

    @prog.step("split_and_mark_dead", kernel="__do_munmap")
    def _mark(k: Kernel, t: DeadGapFrame) -> None:
        if bad_range(k, t.start, t.len):
            t.retval = "EINVAL"
            return k.goto("up_write")
        t.end = t.start + t.len
        vma = k.find_vma(t.start)
        if not vma or vma.start >= t.end:
            t.retval = 0
            return k.goto("up_write")
        if t.start > vma.start:
            k.split_vma(vma, t.start, new_below=False)
        last = k.find_vma(t.end)
        if last and t.end > last.start:
            k.split_vma(last, t.end, new_below=True)
        t.vma = k.find_vma(t.start)
        v: VmaView | None = t.vma
        while v and v.start < t.end:
            k.mark_vma_dead(v)
            v = k.find_vma(v.end)

    @prog.step("downgrade_write")
    def _downgrade(k: Kernel, t: DeadGapFrame) -> None:
        k.downgrade_write()

    @prog.step("zap", kernel="unmap_vmas")
    def _zap(k: Kernel, t: DeadGapFrame) -> None:
        k.unmap_vmas(t.vma, t.start, t.end)

    if relock == "gap":

        @prog.step("up_read")
        def _up_read(k: Kernel, t: DeadGapFrame) -> None:
            k.up_read()

        @prog.step("down_write_again", kernel="down_write")
        def _relock(k: Kernel, t: DeadGapFrame) -> None:
            k.down_write()

    else:

        @prog.step("upgrade_read")
        def _upgrade(k: Kernel, t: DeadGapFrame) -> None:
            k.upgrade_read()

    @prog.step("detach_and_free", kernel="detach_vmas_to_be_unmapped")
    def _detach(k: Kernel, t: DeadGapFrame) -> None:
        t.prev = k.find_vma_prev(t.start)
        k.detach_vmas_to_be_unmapped(t.vma, t.end)
        nxt = k.find_vma(t.end)
        k.free_pgtables(t.vma, t.prev.end if t.prev else 0, nxt.start if nxt else k.task_size)
        k.remove_vma_list(t.vma)
        t.retval = 0

    @prog.step("up_write")
    def _unlock(k: Kernel, t: DeadGapFrame) -> None:
        k.up_write()
        k.ret(t.retval)

    return prog


VARIANTS = [
    Variant(
        name="viewer-test-dead-gap",
        summary="W{split, VM_DEAD} downgrade R{zap} up_read W{detach, free} with the vma carried",
        munmap=_program("viewer-test-dead-gap", "gap"),
    ),
    Variant(
        name="viewer-test-upgrade",
        summary="W{split, VM_DEAD} downgrade R{zap} upgrade_read W{detach, free}",
        munmap=_program("viewer-test-upgrade", "upgrade"),
    ),
]

SCENARIOS = [
    Scenario(
        name="viewer-three-threads",
        summary="munmap [2,4) of A, a fault below the stack S, and MAP_FIXED over page 3",
        vmas=(VmaSpec("A", 1, 5), VmaSpec("S", 6, 8, flags=("VM_GROWSDOWN",))),
        threads=(
            thread("munmap", start=2, len=2),
            thread("access", addr=oneof(5)),
            thread("mmap", tag="N", start=3, len=1),
        ),
    ),
]


def _run(variant: str, scenario: str) -> dict[str, Any]:
    cat = load_file(str(FILE))
    scenarios = {**shipped_scenarios(), **cat.scenarios}
    model = Model(cat.variants[variant], scenarios[scenario])
    res = Search(model, list(shipped_properties().values())).run()
    return {n: p for n, p in res.properties.items() if p.verdict == "violated"}


def test_dead_gap_uses_a_freed_vma_after_map_fixed() -> None:
    bad = _run("viewer-test-dead-gap", "map-fixed")
    assert "no_vma_use_after_free" in bad
    trace = bad["no_vma_use_after_free"].trace
    assert any(st.thread == 1 for st in trace.steps)  # the racing mmap ran in between


def test_upgrader_deadlocks_behind_a_queued_writer() -> None:
    bad = _run("viewer-test-upgrade", "two-munmaps")
    assert "deadlock_free" in bad
    last = bad["deadlock_free"].trace.steps[-1].state
    assert {mode for _, mode in last.sem.waiters} == {"U", "W"}


def test_three_threads_deadlock_uses_three_lanes() -> None:
    bad = _run("viewer-test-upgrade", "viewer-three-threads")
    trace = bad["deadlock_free"].trace
    assert {st.thread for st in trace.steps} == {0, 1, 2}
