"""ebusy-on-dead: ``rfc-v4-redo``, plus Yang Shi's idea from the seed thread: ``mmap(MAP_FIXED)``
and ``mremap(MREMAP_FIXED)`` fail when they hit a VM_DEAD vma, "since it is being unmapped"
("How about letting them return -EBUSY or -EAGAIN to notify the application?").

munmap and the fault path are ``rfc-v4-redo``'s. ``mmap`` and ``mremap`` are the defaults of
:mod:`vmacheck.protocol.syscalls` with one check first: a VM_DEAD vma overlapping the range they would
unmap (for mremap, the destination and the source) makes them return EBUSY with nothing
changed. That closes v4's window, but Michal Hocko's answer stands: "non of those is
documented to return EBUSY and EAGAIN already has a meaning for locked memory". Never
implemented; modelled because the thread proposed it.
"""

from __future__ import annotations

from typing import Any

from vmacheck.protocol import Program, Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.common import MMAP_ERRNOS, MREMAP_ERRNOS, bad_range, do_munmap
from vmacheck.protocol.syscalls.mremap import mremap as default_mremap
from vmacheck.protocol.syscalls.vm_dead import range_has_dead

from .rfc_v4_redo import munmap as v4_munmap

# --- mmap(start, len, MAP_FIXED): EBUSY on a VM_DEAD vma ----------------------------------
mmap = Program(
    "mmap",
    params=("start", "len"),
    locals=("retval",),
    errnos=MMAP_ERRNOS,
    unmaps=lambda t: (t.start, t.start + t.len),
    doc="mmap(start, len, MAP_FIXED), failing with EBUSY over a VM_DEAD vma",
)


@mmap.step("down_write")
def mmap_down_write(k: Any, t: Any) -> None:
    k.down_write()


@mmap.step("mmap_region", kernel="do_mmap")
def mmap_region(k: Any, t: Any) -> None:
    if bad_range(k, t.start, t.len):
        t.retval = "EINVAL"
    elif k.map_count > k.max_map_count:
        t.retval = "ENOMEM"
    elif range_has_dead(k, t.start, t.start + t.len):
        t.retval = "EBUSY"  # a munmap is tearing the range down
    else:
        err = do_munmap(k, t.start, t.len)  # "Clear old maps"
        if err:
            t.retval = err
        else:
            k.vma_link(t.start, t.start + t.len, 0, k.my_tag)
            t.retval = t.start


@mmap.step("up_write")
def mmap_up_write(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)


# --- mremap(old, old_len, new_len, MREMAP_FIXED|MAYMOVE, new): EBUSY on a VM_DEAD vma -------
mremap = Program(
    "mremap",
    params=default_mremap.params,
    locals=("retval",),
    errnos=MREMAP_ERRNOS,
    unmaps=default_mremap.unmaps,
    doc="mremap, failing with EBUSY when MREMAP_FIXED meets a VM_DEAD vma",
)


@mremap.step("down_write")
def mremap_down_write(k: Any, t: Any) -> None:
    k.down_write()


# The default mremap's own step: shrink in place, or mremap_to + move_vma.
_default_mremap_to = default_mremap.steps[default_mremap.index["mremap"]].fn


@mremap.step("mremap", kernel="mremap_to")
def mremap_to(k: Any, t: Any) -> None:
    fixed = t.new >= 0 and not bad_range(k, t.new, t.new_len) and not bad_range(k, t.old, t.old_len)
    if fixed and (range_has_dead(k, t.new, t.new + t.new_len) or range_has_dead(k, t.old, t.old + t.old_len)):
        t.retval = "EBUSY"  # the destination or the source is being unmapped
    else:
        _default_mremap_to(k, t)


@mremap.step("up_write")
def mremap_up_write(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)


VARIANT = Variant(
    name="ebusy-on-dead",
    summary="rfc-v4-redo, and MAP_FIXED/MREMAP_FIXED fail with EBUSY on a VM_DEAD vma",
    source="seed thread (Yang Shi, 2018-06-29), on top of <1531265649-93433-*>; never merged",
    munmap=v4_munmap,
    overrides={"access": access_vm_dead, "mmap": mmap, "mremap": mremap},
    doc=__doc__ or "",
)
