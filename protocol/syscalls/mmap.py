"""``mmap(start, len, PROT_*, MAP_FIXED|MAP_ANONYMOUS)``: replace whatever is mapped there.

Linux 4.19 ``do_mmap`` → ``mmap_region``, all under mmap_sem held for write: the map_count
check first (``map_count > max_map_count``: ENOMEM, nothing changed), then "clear old
maps" with ``do_munmap``, then link the new vma (not populated: its pages fault in later).
"""

from __future__ import annotations

from typing import Any

from ..program import Program
from .common import MMAP_ERRNOS, bad_range, do_munmap

mmap = Program(
    "mmap",
    params=("start", "len"),
    locals=("retval",),
    errnos=MMAP_ERRNOS,
    unmaps=lambda t: (t.start, t.start + t.len),
    doc="mmap(start, len, MAP_FIXED): unmap what is there, map a new anonymous vma",
)


@mmap.step("down_write")
def _lock(k: Any, t: Any) -> None:
    k.down_write()


@mmap.step("mmap_region", kernel="do_mmap")
def _region(k: Any, t: Any) -> None:
    if bad_range(k, t.start, t.len):
        t.retval = "EINVAL"
    elif k.map_count > k.max_map_count:
        t.retval = "ENOMEM"
    else:
        err = do_munmap(k, t.start, t.len)  # "Clear old maps"
        if err:
            t.retval = err
        else:
            k.vma_link(t.start, t.start + t.len, 0, k.my_tag)
            t.retval = t.start


@mmap.step("up_write")
def _unlock(k: Any, t: Any) -> None:
    k.up_write()
    k.ret(t.retval)
