"""Helpers composed of primitives, and frames, shared by several syscall programs.

The helpers are not primitives themselves: they call primitives, so whatever meaning the
kernel object gives its primitives (concrete or symbolic), these helpers inherit it. They
stay plain Python over ``k`` and their arguments, because the symbolic engine runs them again
with addresses that are z3 terms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

from ..kernel import Kernel
from ..program import Frame, param

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


class RangeArgs(Frame):
    """The parameters of a syscall on the pages ``[start, start + len)``: munmap, mmap with
    MAP_FIXED, mprotect."""

    start: Final[int] = param()
    len: Final[int] = param()


class RangeCall(RangeArgs):
    """A syscall on ``[start, start + len)`` that decides its return value in one step under
    the lock and returns it in the next."""

    retval: int | str


def range_of(t: RangeArgs) -> tuple[int, int]:
    """``[start, start + len)``: what a munmap or a MAP_FIXED mmap unmaps (``Program``'s
    ``unmaps``)."""
    return (t.start, t.start + t.len)


class Returning(Protocol):
    """A frame with a return value (every syscall program's here)."""

    @property
    def retval(self) -> int | str: ...


# --- the steps that take and release mmap_sem around a syscall --------------------------------
def down_write(k: Kernel, t: Frame) -> None:
    """``down_write(&mm->mmap_sem)`` (``mmap_write_lock``): the step a writer starts with."""
    k.down_write()


def up_write_return(k: Kernel, t: Returning) -> None:
    """``up_write(&mm->mmap_sem); return retval;``: the exit of a syscall that holds the
    lock for write (the ``out:`` label of the kernel function)."""
    k.up_write()
    k.ret(t.retval)


def up_read_return(k: Kernel, t: Returning) -> None:
    """``up_read(&mm->mmap_sem); return retval;``: the exit of one that holds it for read."""
    k.up_read()
    k.ret(t.retval)


def bad_range(k: Kernel, start: int, length: int) -> bool:
    """The munmap/mmap argument check, as the kernel writes it so that ``start + len``
    cannot overflow: ``start > TASK_SIZE || len > TASK_SIZE - start``, and no empty range."""
    return start < 0 or start > k.task_size or length > k.task_size - start or length <= 0


def __getattr__(name: str) -> Callable[[Kernel, int, int], int | str]:
    # do_munmap lived here before munmap's parts got their own module; files that import it
    # from here keep working.
    if name == "do_munmap":
        from .munmap import do_munmap

        return do_munmap
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
