"""rfc-v4-redo: RFC v4, ``<1531265649-93433-*>``.

``W{ find_vma; the map_count check; __split_vma at start and at end; VM_DEAD on the range }``;
``downgrade_write``; ``R{ zap_page_range }``; ``up_read``; ``W{ do_munmap(start, len) }``:
the final phase looks the range up afresh, so no pointer is carried across the gap. Faults
on VM_DEAD get SIGSEGV (:mod:`vmacheck.protocol.syscalls.access_vm_dead`).

The flaw: between ``up_read`` and the final ``down_write`` mmap_sem is free, and a racing
``mmap(MAP_FIXED)`` or ``mremap(MREMAP_FIXED)`` may map something new over the range — which
the fresh ``do_munmap`` then removes.

The munmap program is in :mod:`vmacheck.protocol.syscalls.munmap_rfc_v4`, step by step as
above, because ``ebusy-on-dead`` runs it too.
"""

from __future__ import annotations

from vmacheck.protocol import Variant
from vmacheck.protocol.syscalls.access_vm_dead import access_vm_dead
from vmacheck.protocol.syscalls.munmap_rfc_v4 import munmap

VARIANT = Variant(
    name="rfc-v4-redo",
    summary="W{split, VM_DEAD} downgrade R{zap} up_read W{do_munmap afresh}",
    source="<1531265649-93433-*> (RFC v4, July 2018)",
    munmap=munmap,
    overrides={"access": access_vm_dead},
    doc=__doc__ or "",
)
