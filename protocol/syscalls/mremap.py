"""``mremap(old, old_len, new_len, flags, new)``: shrink in place, or move with
``MREMAP_MAYMOVE|MREMAP_FIXED`` to ``new`` (``new < 0`` means no MREMAP_FIXED).

Linux 4.19 ``mremap`` under mmap_sem held for write. The move (``mremap_to``) unmaps the
destination first, then checks the source, then ``move_vma``: a new vma at ``new``
(``copy_vma``, tagged with this thread's tag: it is a new mapping in the new place),
``move_page_tables``, and ``do_munmap`` of the source. As in the kernel, ``move_vma``'s
map_count check (``map_count >= max_map_count - 3``) comes after the destination was
unmapped, so an ENOMEM from it has changed the address space: scenarios that put mremap at
the limit would rightly report that as a ``map_count_limit`` violation.
"""

from __future__ import annotations

from typing import Final

from ..kernel import Kernel
from ..program import Frame, Program, param
from .common import MREMAP_ERRNOS, bad_range, down_write, up_write_return
from .munmap import do_munmap


class MremapFrame(Frame):
    """``mremap(old, old_len, new_len, MREMAP_MAYMOVE|MREMAP_FIXED, new)``; ``new < 0``: no
    MREMAP_FIXED (shrink in place)."""

    old: Final[int] = param()
    old_len: Final[int] = param()
    new_len: Final[int] = param()
    new: Final[int] = param()
    retval: int | str


def mremap_unmaps(t: MremapFrame) -> tuple[int, int]:
    """What mremap unmaps first: the destination, or the tail it cuts off in place."""
    return (t.new, t.new + t.new_len) if t.new >= 0 else (t.old + t.new_len, t.old + t.old_len)


mremap = Program(
    "mremap",
    MremapFrame,
    errnos=MREMAP_ERRNOS,
    unmaps=mremap_unmaps,
    doc="mremap: shrink in place, or move to a fixed address",
)


mremap.step("down_write")(down_write)


def _shrink(k: Kernel, t: MremapFrame) -> int | str:
    if t.new_len >= t.old_len:
        return "EINVAL"  # growing in place is not modelled
    err = do_munmap(k, t.old + t.new_len, t.old_len - t.new_len)
    return err or t.old


def _move(k: Kernel, t: MremapFrame) -> int | str:
    if bad_range(k, t.new, t.new_len) or t.new_len > t.old_len:
        return "EINVAL"
    if t.new < t.old + t.old_len and t.old < t.new + t.new_len:
        return "EINVAL"  # ranges overlap
    err = do_munmap(k, t.new, t.new_len)  # mremap_to: unmap the destination
    if err:
        return err
    length = t.old_len
    if t.old_len > t.new_len:
        err = do_munmap(k, t.old + t.new_len, t.old_len - t.new_len)
        if err:
            return err
        length = t.new_len
    vma = k.find_vma(t.old)  # vma_to_resize
    if not vma or vma.start > t.old or t.old + length > vma.end:
        return "EFAULT"
    if k.map_count >= k.max_map_count - 3:  # move_vma
        return "ENOMEM"
    k.vma_link(t.new, t.new + length, vma.flags, k.my_tag)  # copy_vma
    k.move_page_tables(t.old, t.new, length, k.my_tag)
    err = do_munmap(k, t.old, length)
    return err or t.new


@mremap.step("mremap", kernel="mremap_to")
def sys_mremap(k: Kernel, t: MremapFrame) -> None:
    """The syscall under the write lock: shrink in place, or ``mremap_to`` and ``move_vma``."""
    if bad_range(k, t.old, t.old_len):
        t.retval = "EINVAL"
    elif t.new < 0:
        t.retval = _shrink(k, t)
    else:
        t.retval = _move(k, t)


mremap.step("up_write")(up_write_return)
