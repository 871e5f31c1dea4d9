"""``mmap(start, len, PROT_*, MAP_FIXED|MAP_ANONYMOUS)``: replace whatever is mapped there.

Linux 4.19 ``do_mmap`` → ``mmap_region``, all under mmap_sem held for write: the map_count
check first (``map_count > max_map_count``: ENOMEM, nothing changed), then "clear old
maps" with ``do_munmap``, then link the new vma (not populated: its pages fault in later).
"""

from __future__ import annotations

from ..kernel import Kernel
from ..program import Program
from .common import MMAP_ERRNOS, RangeCall, bad_range, down_write, range_of, up_write_return
from .munmap import do_munmap

mmap = Program(
    "mmap",
    RangeCall,
    errnos=MMAP_ERRNOS,
    unmaps=range_of,
    doc="mmap(start, len, MAP_FIXED): unmap what is there, map a new anonymous vma",
)


mmap.step("down_write")(down_write)


def mmap_checks(k: Kernel, start: int, length: int) -> str | None:
    """``do_mmap``'s checks before anything changes: the arguments (EINVAL), and
    ``map_count > sysctl_max_map_count`` (ENOMEM; one more than the limit is allowed)."""
    if bad_range(k, start, length):
        return "EINVAL"
    if k.map_count > k.max_map_count:
        return "ENOMEM"
    return None


def map_fixed(k: Kernel, start: int, length: int) -> int | str:
    """``mmap_region`` after the checks: "Clear old maps" with ``do_munmap``, then link the
    new vma; returns its address, or ``do_munmap``'s error."""
    err = do_munmap(k, start, length)
    if err:
        return err
    k.vma_link(start, start + length, 0, k.my_tag)
    return start


@mmap.step("mmap_region", kernel="do_mmap")
def mmap_region(k: Kernel, t: RangeCall) -> None:
    t.retval = mmap_checks(k, t.start, t.len) or map_fixed(k, t.start, t.len)


mmap.step("up_write")(up_write_return)
