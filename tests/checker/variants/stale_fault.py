"""stale-fault: a user's fault path that drops mmap_sem and takes it again, then goes on
using the vma pointer it found before the gap (as RFC v1 did with munmap's vma): a stale
pointer when munmap or MAP_FIXED took that vma away meanwhile. The protocol is wrong, but
it is a correct *model*: the checker must explore it and report the use-after-free, never
crash. (Its kind broke vmacheck's old reduction: "trace replay diverged".)

It also keeps the vmas it found in a tuple, so that pointers nested inside a local are
renamed and kept alive like plain ones."""

from __future__ import annotations

from typing import Final

from vmacheck import Kernel, Program, Variant
from vmacheck.protocol import VmaView
from vmacheck.protocol.program import Frame, Ptr, param
from vmacheck.protocol.state import PtRef
from vmacheck.protocol.variants import downgrade_4_20


class StaleFaultFrame(Frame):
    addr: Final[int] = param()
    vma: Ptr[VmaView]
    seen: tuple[object, ...]
    pt: Ptr[PtRef]


access = Program("access", StaleFaultFrame, doc="a fault that drops mmap_sem between lookup and use")


@access.step("down_read")
def down_read(k: Kernel, t: StaleFaultFrame) -> None:
    k.down_read()


@access.step("find_vma")
def find_vma(k: Kernel, t: StaleFaultFrame) -> None:
    t.vma = k.find_vma(t.addr)
    if not t.vma or t.vma.start > t.addr:
        k.bad_area(t.addr)
        k.goto("up_read_segv")
        return
    t.seen = (t.vma, k.find_vma_prev(t.addr))


@access.step("drop_mmap_sem", kernel="up_read")
def drop(k: Kernel, t: StaleFaultFrame) -> None:
    k.up_read()


@access.step("retake_mmap_sem", kernel="down_read")
def retake(k: Kernel, t: StaleFaultFrame) -> None:
    k.down_read()


@access.step("__pte_alloc", kernel="handle_mm_fault")
def pte_alloc(k: Kernel, t: StaleFaultFrame) -> None:
    t.pt = k.pte_alloc(t.addr)


@access.step("do_anonymous_page")
def do_anonymous_page(k: Kernel, t: StaleFaultFrame) -> None:
    # the pointer found before the gap, read back out of the tuple: no re-lookup
    vma = t.seen[0]
    assert isinstance(vma, VmaView)
    k.set_pte(t.pt, t.addr, vma.tag)


@access.step("up_read")
def up_read(k: Kernel, t: StaleFaultFrame) -> None:
    k.up_read()
    k.ret("ok")


@access.step("up_read_segv", kernel="up_read")
def up_read_segv(k: Kernel, t: StaleFaultFrame) -> None:
    k.up_read()
    k.ret("SIGSEGV")


VARIANT = Variant(
    name="stale-fault",
    summary="4.20's munmap; a fault path that keeps a vma pointer across a dropped mmap_sem",
    source="tests/checker/test_canon.py",
    munmap=downgrade_4_20.VARIANT.munmap,
    overrides={"access": access},
    doc=__doc__ or "",
)
