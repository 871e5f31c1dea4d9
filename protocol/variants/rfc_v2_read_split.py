"""rfc-v2-read-split: Yang Shi's RFC v2, ``<1529364856-49589-3-*>`` "mm: mmap: zap pages with
read mmap_sem for large mapping" (the patch of the seed thread).

``R{ munmap_lookup_vma: find_vma; the map_count check; __split_vma at start and at end;
unmap_region: zap the PTEs, free_pgtables }`` then ``W{ detach_vmas_to_be_unmapped;
remove_vma_list }`` with ``vma`` and ``prev`` carried from the read phase.

Its flaws, modelled as written:
- the splits change the vma tree under the *read* lock, beside page faults ("splitting can't
  be done with read mmap_sem held");
- the map_count check is written ``map_count > sysctl_max_map_count`` where ``do_munmap``
  has ``>=``, so at the limit both splits go ahead and map_count reaches the limit + 2,
  visible to everyone holding the read lock;
- page tables are freed while the vmas above them are still linked and faultable;
- ``vma``/``prev`` are carried from the read hold into the write hold, with the lock free
  in between.
"""

from __future__ import annotations

from vmacheck.protocol import Kernel, Program, Variant
from vmacheck.protocol.syscalls.common import MUNMAP_ERRNOS, down_write, range_of, up_read_return
from vmacheck.protocol.syscalls.munmap import (
    DoMunmapFrame,
    find_vma_step,
    split_last_step,
    unmap_region_steps,
)

munmap = Program("munmap", DoMunmapFrame, errnos=MUNMAP_ERRNOS, unmaps=range_of)


@munmap.step("down_read")
def down_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.down_read()


munmap.step("find_vma", kernel="munmap_lookup_vma")(find_vma_step(out="out"))


@munmap.step("split_first", kernel="__split_vma")
def split_first(k: Kernel, t: DoMunmapFrame) -> None:
    if t.start > t.vma.start:
        # RFC v2 wrote '>' where do_munmap has '>=' (the seed thread quotes the '>=' form)
        if t.end < t.vma.end and k.map_count > k.max_map_count:
            t.retval = "ENOMEM"
            return k.goto("out")
        k.split_vma(t.vma, t.start, new_below=False)  # under the READ lock
        t.prev = t.vma


# __split_vma under the READ lock; then vma = prev ? prev->vm_next : mm->mmap
munmap.step("split_last", kernel="__split_vma")(split_last_step(refind=False))

# unmap_region, still under the READ lock: page tables freed while the vmas are still linked
unmap_region_steps(munmap)


@munmap.step("up_read")
def up_read(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_read()


munmap.step("down_write")(down_write)


@munmap.step("detach_vmas_to_be_unmapped")
def detach(k: Kernel, t: DoMunmapFrame) -> None:
    k.detach_vmas_to_be_unmapped(t.vma, t.end)  # vma carried from the read phase


@munmap.step("remove_vma_list")
def remove_vma_list(k: Kernel, t: DoMunmapFrame) -> None:
    k.remove_vma_list(t.vma)


@munmap.step("up_write")
def up_write(k: Kernel, t: DoMunmapFrame) -> None:
    k.up_write()
    k.ret(0)


munmap.step("out", kernel="up_read")(up_read_return)


VARIANT = Variant(
    name="rfc-v2-read-split",
    summary="find/split/zap/free_pgtables under the read lock, then detach/free under the write lock",
    source="<1529364856-49589-3-*> (RFC v2, June 2018; the seed thread)",
    munmap=munmap,
    doc=__doc__ or "",
)
