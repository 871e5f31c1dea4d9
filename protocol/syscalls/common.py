"""Helpers composed of primitives, shared by several syscall programs.

They are not primitives themselves: they call primitives, so whatever meaning the kernel
object gives its primitives (concrete or symbolic), these helpers inherit it.
"""

from __future__ import annotations

from typing import Any

# errno values a syscall may return, from the man pages (munmap(2), mmap(2), mremap(2),
# mprotect(2)); documented_errno checks results against these.
MUNMAP_ERRNOS = ("EINVAL", "ENOMEM")
MMAP_ERRNOS = (
    "EACCES",
    "EAGAIN",
    "EBADF",
    "EEXIST",
    "EINVAL",
    "ENFILE",
    "ENODEV",
    "ENOMEM",
    "EOVERFLOW",
    "EPERM",
    "ETXTBSY",
)
MREMAP_ERRNOS = ("EAGAIN", "EFAULT", "EINVAL", "ENOMEM")
MPROTECT_ERRNOS = ("EACCES", "EINVAL", "ENOMEM")


def bad_range(k: Any, start: Any, length: Any) -> Any:
    """The munmap/mmap argument check, as the kernel writes it so that ``start + len``
    cannot overflow: ``start > TASK_SIZE || len > TASK_SIZE - start``, and no empty range."""
    return start < 0 or start > k.task_size or length > k.task_size - start or length <= 0


def do_munmap(k: Any, start: Any, length: Any) -> Any:
    """Linux 4.19 ``do_munmap`` in one go (the caller holds mmap_sem for write): returns 0
    or an errno name. Used where the whole unmap happens under one write hold (mmap's
    "clear old maps", mremap, and the final phase of rfc-v4)."""
    if bad_range(k, start, length):
        return "EINVAL"
    end = start + length
    vma = k.find_vma(start)
    if not vma or vma.start >= end:
        return 0
    if start > vma.start:
        # map_count may go one above the limit for a moment; never two on return.
        if end < vma.end and k.map_count >= k.max_map_count:
            return "ENOMEM"
        k.split_vma(vma, start, new_below=False)
    last = k.find_vma(end)
    if last and end > last.start:
        k.split_vma(last, end, new_below=True)
    prev = k.find_vma_prev(start)
    vma = k.find_vma(start)
    k.detach_vmas_to_be_unmapped(vma, end)
    nxt = k.find_vma(end)
    k.unmap_vmas(vma, start, end)
    k.free_pgtables(vma, prev.end if prev else 0, nxt.start if nxt else k.task_size)
    k.remove_vma_list(vma)
    return 0
