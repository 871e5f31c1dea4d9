"""zap-loop: baseline-4.19 whose unmap_region zaps the range one page per step, in a loop.

The loop runs ``len`` times, and ``len`` is symbolic: no depth bound covers every length, so
bounded model checking can never exhaust the paths. Only an unbounded proof (Spacer, or
k-induction) can say the property holds for every length (tests/checker/test_symbolic_proofs.py).
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, range_of
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame
from vmacheck.protocol.variants import baseline_4_19 as base


class ZapLoopFrame(DoMunmapFrame):
    addr: int  # the next page to zap


munmap = Program("munmap", ZapLoopFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

munmap.step("down_write")(base.down_write)
munmap.step("find_vma", kernel="do_munmap")(base.find_vma)
munmap.step("split_first", kernel="__split_vma")(base.split_first)
munmap.step("split_last", kernel="__split_vma")(base.split_last)
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


munmap.step("free_pgtables_bounds", kernel="free_pgtables")(base.read_free_pgtables_bounds)
munmap.step("free_pgtables")(base.free_pgtables)
munmap.step("remove_vma_list")(base.remove_vma_list)
munmap.step("up_write")(base.up_write)

VARIANT = Variant(
    name="zap-loop",
    summary="baseline-4.19 zapping page by page in a loop of symbolic length",
    source="tests/checker/test_symbolic_proofs.py",
    munmap=munmap,
    doc=__doc__ or "",
)
