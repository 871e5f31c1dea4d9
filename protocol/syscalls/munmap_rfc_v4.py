"""munmap as RFC v4 wrote it, ``<1531265649-93433-*>``: the munmap of ``rfc-v4-redo`` and of
``ebusy-on-dead`` (v4 plus EBUSY from MAP_FIXED and MREMAP_FIXED), kept here because both
variants run it.

``W{ find_vma; the map_count check; __split_vma at start and at end; VM_DEAD on the range }``;
``downgrade_write``; ``R{ zap_page_range }``; ``up_read``; ``W{ do_munmap(start, len) }``:
the final phase looks the range up afresh, so no pointer is carried across the gap.
"""

from __future__ import annotations

from ..kernel import Kernel
from ..program import Program
from .common import MUNMAP_ERRNOS, range_of
from .munmap import (
    MunmapRange,
    do_munmap,
    do_munmap_find,
    do_munmap_split_first,
    do_munmap_split_last,
    vm_next,
)
from .vm_dead import mark_vmas_dead


class RedoFrame(MunmapRange):
    """What the first phase finds (``end``, ``vma``, ``prev``), and ``retval``: the last
    phase needs nothing carried."""

    retval: int | str


munmap = Program("munmap", RedoFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


# --- W{ find, check, split, VM_DEAD } -----------------------------------------------------
@munmap.step("down_write")
def down_write(k: Kernel, t: RedoFrame) -> None:
    k.down_write()


@munmap.step("find_vma", kernel="munmap_lookup_vma")
def find_vma(k: Kernel, t: RedoFrame) -> None:
    if (ret := do_munmap_find(k, t)) is not None:  # EINVAL, or nothing mapped there
        t.retval = ret
        k.goto("up_write")


@munmap.step("split_first", kernel="__split_vma")
def split_first(k: Kernel, t: RedoFrame) -> None:
    if (err := do_munmap_split_first(k, t, refind=False)) is not None:
        t.retval = err
        k.goto("up_write")


@munmap.step("split_last", kernel="__split_vma")
def split_last(k: Kernel, t: RedoFrame) -> None:
    do_munmap_split_last(k, t.end)
    t.vma = vm_next(k, t.prev)


@munmap.step("mark_vm_dead", kernel="vma->vm_flags |= VM_DEAD")
def mark_vm_dead(k: Kernel, t: RedoFrame) -> None:
    mark_vmas_dead(k, t.vma, t.end)


@munmap.step("downgrade_write")
def downgrade_write(k: Kernel, t: RedoFrame) -> None:
    k.downgrade_write()


# --- R{ zap } -------------------------------------------------------------------------------
@munmap.step("zap_page_range", kernel="unmap_vmas")
def zap_page_range(k: Kernel, t: RedoFrame) -> None:
    k.unmap_vmas(t.vma, t.start, t.end)


@munmap.step("up_read")
def up_read(k: Kernel, t: RedoFrame) -> None:
    k.up_read()


# --- W{ do_munmap afresh } ----------------------------------------------------------------
@munmap.step("down_write_again", kernel="down_write")
def down_write_again(k: Kernel, t: RedoFrame) -> None:
    k.down_write()


@munmap.step("do_munmap")
def do_munmap_afresh(k: Kernel, t: RedoFrame) -> None:
    t.retval = do_munmap(k, t.start, t.len)  # "call do_munmap() for vma cleanup"


@munmap.step("up_write")
def up_write(k: Kernel, t: RedoFrame) -> None:
    k.up_write()
    k.ret(t.retval)
