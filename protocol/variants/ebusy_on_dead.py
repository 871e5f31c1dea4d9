"""ebusy-on-dead: ``rfc-v4-redo``, plus Yang Shi's idea from the seed thread: ``mmap(MAP_FIXED)``
and ``mremap(MREMAP_FIXED)`` fail when they hit a VM_DEAD vma, "since it is being unmapped"
("How about letting them return -EBUSY or -EAGAIN to notify the application?").

munmap and the fault path are ``rfc-v4-redo``'s (:mod:`vmacheck.protocol.syscalls.munmap_rfc_v4`,
:mod:`vmacheck.protocol.syscalls.access_vm_dead`). ``mmap`` and ``mremap`` are the defaults of
:mod:`vmacheck.protocol.syscalls` with one check first: a VM_DEAD vma overlapping the range they would
unmap (for mremap, the destination and the source) makes them return EBUSY with nothing
changed. That closes v4's window, but Michal Hocko's answer stands: "non of those is
documented to return EBUSY and EAGAIN already has a meaning for locked memory". Never
implemented; modelled because the thread proposed it.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import (
    MMAP_ERRNOS,
    MREMAP_ERRNOS,
    RangeCall,
    bad_range,
    down_write,
    range_of,
    up_write_return,
)
from vmacheck.protocol.syscalls.mmap import map_fixed, mmap_checks
from vmacheck.protocol.syscalls.mremap import MremapFrame, mremap_unmaps, sys_mremap
from vmacheck.protocol.syscalls.munmap_rfc_v4 import munmap
from vmacheck.protocol.syscalls.vm_dead import range_has_dead

# --- mmap(start, len, MAP_FIXED): EBUSY on a VM_DEAD vma ----------------------------------
mmap = Program(
    "mmap",
    RangeCall,
    errnos=MMAP_ERRNOS,
    unmaps=range_of,
    doc="mmap(start, len, MAP_FIXED), failing with EBUSY over a VM_DEAD vma",
)
mmap.step("down_write")(down_write)


@mmap.step("mmap_region", kernel="do_mmap")
def mmap_region(k: Kernel, t: RangeCall) -> None:
    err = mmap_checks(k, t.start, t.len)
    if err:
        t.retval = err
    elif range_has_dead(k, t.start, t.start + t.len):
        t.retval = "EBUSY"  # a munmap is tearing the range down
    else:
        t.retval = map_fixed(k, t.start, t.len)


mmap.step("up_write")(up_write_return)


# --- mremap(old, old_len, new_len, MREMAP_FIXED|MAYMOVE, new): EBUSY on a VM_DEAD vma -------
mremap = Program(
    "mremap",
    MremapFrame,
    errnos=MREMAP_ERRNOS,
    unmaps=mremap_unmaps,
    doc="mremap, failing with EBUSY when MREMAP_FIXED meets a VM_DEAD vma",
)
mremap.step("down_write")(down_write)


@mremap.step("mremap", kernel="mremap_to")
def mremap_to(k: Kernel, t: MremapFrame) -> None:
    fixed = t.new >= 0 and not bad_range(k, t.new, t.new_len) and not bad_range(k, t.old, t.old_len)
    if fixed and (range_has_dead(k, t.new, t.new + t.new_len) or range_has_dead(k, t.old, t.old + t.old_len)):
        t.retval = "EBUSY"  # the destination or the source is being unmapped
    else:
        sys_mremap(k, t)  # the default: shrink in place, or mremap_to + move_vma


mremap.step("up_write")(up_write_return)


VARIANT = Variant(
    name="ebusy-on-dead",
    summary="rfc-v4-redo, and MAP_FIXED/MREMAP_FIXED fail with EBUSY on a VM_DEAD vma",
    source="seed thread (Yang Shi, 2018-06-29), on top of <1531265649-93433-*>; never merged",
    munmap=munmap,
    overrides={"access": access_vm_dead, "mmap": mmap, "mremap": mremap},
    doc=__doc__ or "",
)
