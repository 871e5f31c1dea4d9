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
from .common import MUNMAP_ERRNOS, down_write, range_of, up_write_return
from .munmap import MunmapRange, do_munmap
from .vm_dead import split_and_mark_dead_steps


class RedoFrame(MunmapRange):
    """What the first phase finds (``end``, ``vma``, ``prev``), and ``retval``: the last
    phase needs nothing carried."""

    retval: int | str


munmap = Program("munmap", RedoFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)

# --- W{ find, check, split, VM_DEAD } -----------------------------------------------------
# down_write; find_vma (checks, find_vma, prev); split_first, split_last (__split_vma,
# no re-lookup); mark_vm_dead (VM_DEAD on every vma of the range)
split_and_mark_dead_steps(munmap, lookup="munmap_lookup_vma", out="up_write")


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
munmap.step("down_write_again", kernel="down_write")(down_write)


@munmap.step("do_munmap")
def do_munmap_afresh(k: Kernel, t: RedoFrame) -> None:
    t.retval = do_munmap(k, t.start, t.len)  # "call do_munmap() for vma cleanup"


munmap.step("up_write")(up_write_return)
