"""munmap's parts: the pieces of Linux's ``__do_munmap`` (``mm/mmap.c``) that the variants'
munmap programs are made of.

Every variant writes its own munmap program — which lock each step holds, where it drops or
downgrades ``mmap_sem``, which pointers it carries across: that is the protocol — and calls
these for the parts of ``__do_munmap`` that every protocol does the same way. Each is one
piece of kernel code, run inside whatever step calls it:

- :class:`MunmapRange` and :class:`DoMunmapFrame`: the frames of munmap programs;
- :func:`do_munmap_find`: the argument check, ``end``, ``find_vma`` and ``prev``;
- :func:`split_would_exceed`: the map_count check before the first split;
- :func:`do_munmap_split_first` and :func:`do_munmap_split_last`: the two ``__split_vma``;
- :func:`vm_next`: ``vma = prev ? prev->vm_next : mm->mmap``;
- :func:`free_pgtables_bounds`: ``unmap_region``'s floor and ceiling for ``free_pgtables``;
- :func:`do_munmap`: the whole of 4.19's ``do_munmap`` in one go, for callers that hold the
  write lock throughout (mmap's "clear old maps", mremap, RFC v4's last phase, the reference);
Whole steps made of them, for a program to register:

- :func:`find_vma_step`, :func:`split_first_step`, :func:`split_last_step` (e.g.
  ``munmap.step("split_last", kernel="__split_vma")(split_last_step(refind=True))``), and
  :func:`do_munmap_split_steps`, which appends those three as ``__do_munmap`` starts;
- :func:`unmap_vmas_step`, :func:`read_free_pgtables_bounds`, :func:`free_pgtables_step`, and
  :func:`unmap_region_steps`, which appends those three: ``unmap_region``;
- :func:`remove_vma_list_step`.

A variant that does a part differently writes its own (RFC v2's map_count check is ``>``
where ``__do_munmap`` has ``>=``; RFC v1 splits per section). Like every helper, these are
plain Python over primitives, so the symbolic engine runs them over z3 terms too.
"""

from __future__ import annotations

from typing import TypeVar

from ..kernel import Kernel, VmaView
from ..program import Program, Ptr, StepFn
from .common import RangeArgs, bad_range

F = TypeVar("F", bound="MunmapRange")
D = TypeVar("D", bound="DoMunmapFrame")


class MunmapRange(RangeArgs):
    """``munmap(start, len)``, what the start of ``__do_munmap`` finds — the range's ``end``,
    ``vma`` (the first vma that overlaps it) and ``prev`` (the one before) — and ``retval``.
    The frame of every munmap here, and the locals the functions below use."""

    end: int
    vma: Ptr[VmaView]
    prev: Ptr[VmaView]
    retval: int | str


class DoMunmapFrame(MunmapRange):
    """The locals of a munmap that runs all of ``__do_munmap`` as steps: also ``next`` (the
    vma after the range) and ``free_pgtables``' ``floor`` and ``ceiling``."""

    next: Ptr[VmaView]
    floor: int
    ceiling: int
    retval: int | str  # last, where traces list it


def do_munmap_find(k: Kernel, t: MunmapRange) -> bool:
    """The start of ``__do_munmap``: the argument check (EINVAL), ``end = start + len``,
    ``vma = find_vma(start)`` — "Find the first overlapping VMA" — and nothing to do (0)
    when it does not overlap ``[start, end)``; then ``prev``. False when munmap returns
    here, with ``t.retval`` (``end`` and ``vma`` are kept: a trace shows what was found)."""
    if bad_range(k, t.start, t.len):
        t.retval = "EINVAL"
        return False
    t.end = t.start + t.len
    t.vma = k.find_vma(t.start)
    if not t.vma or t.vma.start >= t.end:
        t.retval = 0
        return False
    t.prev = k.find_vma_prev(t.start)
    return True


def split_would_exceed(k: Kernel, vma: VmaView, end: int) -> bool:
    """``__do_munmap``'s map_count check before it splits ``vma`` at the start of the range:
    when the range also ends inside ``vma`` unmapping it takes two splits, and "map_count on
    return from munmap() will not exceed its limit" — ENOMEM, before anything changed. The
    split at the end is not checked ("let map_count go just above its limit temporarily"),
    so map_count may be the limit + 1 for a moment, never on return."""
    return end < vma.end and k.map_count >= k.max_map_count


def do_munmap_split_first(k: Kernel, t: MunmapRange, *, refind: bool) -> bool:
    """ "If we need to split any vma, do it now": when the range starts inside ``vma``,
    ``__split_vma(vma, start, new_below=0)`` after the map_count check, and the lower part
    (still ``vma``'s struct) becomes ``prev``. False when the check fails: ``t.retval`` is
    ENOMEM and nothing changed.

    ``refind``: then look the vma up at ``start``, so that ``t.vma`` is the part inside the
    range at once (how the 4.19 family of variants writes it); without it ``t.vma`` stays the
    lower part until the caller takes ``prev->vm_next`` (:func:`vm_next`, the RFCs)."""
    if t.start > t.vma.start:
        if split_would_exceed(k, t.vma, t.end):
            t.retval = "ENOMEM"
            return False
        k.split_vma(t.vma, t.start, new_below=False)
        t.prev = t.vma
        if refind:
            t.vma = k.find_vma(t.start)
    return True


def do_munmap_split_last(k: Kernel, end: int) -> None:
    """ "Does it split the last one?": if a vma straddles ``end``, ``__split_vma(last, end,
    new_below=1)`` — the lower part, inside the range, is the new struct. Not checked
    against max_map_count (:func:`split_would_exceed` counted it)."""
    last = k.find_vma(end)
    if last and end > last.start:
        k.split_vma(last, end, new_below=True)


def vm_next(k: Kernel, prev: VmaView | None) -> VmaView | None:
    """``prev ? prev->vm_next : mm->mmap``: the first vma after ``prev`` (the first of all
    without one). A ``prev`` found before the lock was dropped may have been freed since:
    reading it is then a use-after-free, which the model reports."""
    return k.find_vma(prev.end) if prev else k.find_vma(0)


def free_pgtables_bounds(k: Kernel, prev: VmaView | None, next: VmaView | None) -> tuple[int, int]:
    """``unmap_region``'s ``free_pgtables(tlb, vma, prev ? prev->vm_end : FIRST_USER_ADDRESS,
    next ? next->vm_start : USER_PGTABLES_CEILING)``: the floor and ceiling between which
    page-table pages may be freed (0 and TASK_SIZE here). Read them in a step of their own:
    a fault that grows ``next`` under the read lock can change them before the freeing."""
    return (prev.end if prev else 0, next.start if next else k.task_size)


# --- steps: the parts above as whole steps, for the programs that take them as they are ----
def find_vma_step(out: str) -> StepFn[MunmapRange]:
    """A step that is :func:`do_munmap_find`, going to ``out`` (the step that releases the
    lock and returns ``t.retval``) when munmap returns there."""

    def find_vma(k: Kernel, t: MunmapRange) -> None:
        if not do_munmap_find(k, t):  # EINVAL, or nothing mapped in the range
            k.goto(out)

    return find_vma


def split_first_step(out: str, *, refind: bool) -> StepFn[MunmapRange]:
    """A step that is :func:`do_munmap_split_first`, going to ``out`` on ENOMEM."""

    def split_first(k: Kernel, t: MunmapRange) -> None:
        if not do_munmap_split_first(k, t, refind=refind):  # map_count at the limit
            k.goto(out)

    return split_first


def split_last_step(*, refind: bool) -> StepFn[MunmapRange]:
    """A step that is :func:`do_munmap_split_last` at ``end``, then ``vma`` for what
    follows: found again at ``start`` (``refind``, the 4.19 family), or ``prev->vm_next``
    (:func:`vm_next`, the RFCs: through a ``prev`` that may have been carried)."""

    def split_last(k: Kernel, t: MunmapRange) -> None:
        do_munmap_split_last(k, t.end)
        t.vma = k.find_vma(t.start) if refind else vm_next(k, t.prev)

    return split_last


def do_munmap_split_steps(prog: Program[F], *, lookup: str, out: str, refind: bool) -> None:
    """Append the three steps that start ``__do_munmap``: ``find_vma`` (modelling ``lookup``,
    the function that does it in the variant's kernel), ``split_first`` and ``split_last``
    (``__split_vma``); ``out`` is where munmap goes when it returns early. Every munmap that
    takes them as 4.19 does (or as the RFCs do, ``refind=False``) appends them with this."""
    prog.step("find_vma", kernel=lookup)(find_vma_step(out))
    prog.step("split_first", kernel="__split_vma")(split_first_step(out, refind=refind))
    prog.step("split_last", kernel="__split_vma")(split_last_step(refind=refind))


def read_free_pgtables_bounds(k: Kernel, t: DoMunmapFrame) -> None:
    """A step that reads :func:`free_pgtables_bounds` from ``prev`` and ``next`` into
    ``floor`` and ``ceiling``, for the step that frees. Its own step, because under the read
    lock a fault can grow ``next`` between the reading and the freeing (the 4.20 race)."""
    t.floor, t.ceiling = free_pgtables_bounds(k, t.prev, t.next)


def unmap_region_steps(prog: Program[D]) -> None:
    """Append ``unmap_region`` as three steps: ``unmap_region`` (``next = prev->vm_next``
    now that the range is detached, and ``unmap_vmas``: zap the PTEs), ``free_pgtables_bounds``
    (:func:`read_free_pgtables_bounds`) and ``free_pgtables`` — so that under the read lock a
    fault can run between the zap, the reading of the bounds and the freeing, as it can in
    the kernel (the 4.20 race needs both gaps)."""
    prog.step("unmap_region", kernel="unmap_vmas")(unmap_vmas_step)
    prog.step("free_pgtables_bounds", kernel="free_pgtables")(read_free_pgtables_bounds)
    prog.step("free_pgtables")(free_pgtables_step)


def unmap_vmas_step(k: Kernel, t: DoMunmapFrame) -> None:
    """``unmap_region``'s start: ``next`` (the vma after the detached range), then
    ``unmap_vmas``: zap the PTEs of ``[start, end)``."""
    t.next = k.find_vma(t.end)
    k.unmap_vmas(t.vma, t.start, t.end)


def free_pgtables_step(k: Kernel, t: DoMunmapFrame) -> None:
    """``free_pgtables(tlb, vma, floor, ceiling)`` with the bounds read before."""
    k.free_pgtables(t.vma, t.floor, t.ceiling)


def remove_vma_list_step(k: Kernel, t: MunmapRange) -> None:
    """``remove_vma_list(mm, vma)``: free the detached vmas' structs; munmap has succeeded
    (``retval`` 0, returned when the lock is released)."""
    k.remove_vma_list(t.vma)
    t.retval = 0


def do_munmap(k: Kernel, start: int, length: int) -> int | str:
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
        if split_would_exceed(k, vma, end):
            return "ENOMEM"
        k.split_vma(vma, start, new_below=False)
    do_munmap_split_last(k, end)
    prev = k.find_vma_prev(start)
    vma = k.find_vma(start)
    assert vma is not None  # the part inside the range: split off, and the write lock is held
    k.detach_vmas_to_be_unmapped(vma, end)
    nxt = k.find_vma(end)
    k.unmap_vmas(vma, start, end)
    k.free_pgtables(vma, *free_pgtables_bounds(k, prev, nxt))
    k.remove_vma_list(vma)
    return 0
