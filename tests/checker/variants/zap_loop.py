"""zap-loop: baseline-4.19 whose unmap_region zaps the range one page per step, in a loop.

The loop runs ``len`` times, and ``len`` is symbolic: no depth bound covers every length, so
bounded model checking can never exhaust the paths. Only an unbounded proof (Spacer, or
k-induction) can say the property holds for every length (tests/checker/test_symbolic_proofs.py).
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    do_munmap_split_steps,
    free_pgtables_step,
    read_free_pgtables_bounds,
    remove_vma_list_step,
)
from vmacheck.protocol.variants import baseline_4_19 as base


class ZapLoopFrame(DoMunmapFrame):
    addr: int  # the next page to zap


munmap = Program("munmap", ZapLoopFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write")(down_write)
do_munmap_split_steps(munmap, lookup="do_munmap", out="up_write", refind=True)
munmap.step("detach_vmas_to_be_unmapped")(base.detach)


@munmap.step("unmap_region", kernel="unmap_vmas")
def unmap_region(k: Kernel, t: ZapLoopFrame) -> None:
    t.next = k.find_vma(t.end)
    t.addr = t.start


@munmap.step("zap_page", kernel="zap_pte_range")
def zap_page(k: Kernel, t: ZapLoopFrame) -> None:
    # one page per step, as a loop over the range would (a symbolic count: no range())
    if t.addr < t.end:
        k.unmap_vmas(t.vma, t.addr, t.addr + 1)
        t.addr = t.addr + 1
        return k.goto("zap_page")


munmap.step("free_pgtables_bounds", kernel="free_pgtables")(read_free_pgtables_bounds)
munmap.step("free_pgtables")(free_pgtables_step)
munmap.step("remove_vma_list")(remove_vma_list_step)
munmap.step("up_write")(up_write_return)

VARIANT = Variant(
    name="zap-loop",
    summary="baseline-4.19 zapping page by page in a loop of symbolic length",
    source="tests/checker/test_symbolic_proofs.py",
    munmap=munmap,
    doc=__doc__ or "",
)
