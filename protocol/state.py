"""The abstract state of one address space and the threads racing on it.

Everything an interleaving can depend on and nothing else (design.md §3). Every value is an
immutable tuple (``NamedTuple``), so states hash and compare structurally and unchanged parts
are shared between successor states instead of copied.

Units are pages: page ``p`` is the address range ``[p, p+1)``; page-table page ``i`` maps
pages ``[i*B, (i+1)*B)`` where ``B`` is the scenario's ``pt_span``.
"""

from __future__ import annotations

from typing import NamedTuple

# --- vm_flags -------------------------------------------------------------------------------
# Bit values are ours; the names are the kernel's.
VM_DEAD = 1  # set by the 2018 RFCs on vmas being unmapped; faults on it get SIGSEGV
VM_GROWSDOWN = 2  # a stack: a fault just below it expands it downwards (expand_downwards)
VM_GROWSUP = 4  # the mirror image (ia64, parisc): expand_upwards
VM_RDONLY = 8  # what mprotect changes, so that a split it makes is visible

FLAG_NAMES: dict[int, str] = {
    VM_DEAD: "VM_DEAD",
    VM_GROWSDOWN: "VM_GROWSDOWN",
    VM_GROWSUP: "VM_GROWSUP",
    VM_RDONLY: "VM_RDONLY",
}
FLAG_BITS: dict[str, int] = {name: bit for bit, name in FLAG_NAMES.items()}


def flag_names(flags: int) -> list[str]:
    """The kernel names of the bits set in ``flags``, lowest bit first."""
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]


def flags_from_names(names: list[str] | tuple[str, ...]) -> int:
    """Inverse of :func:`flag_names`; raises ``KeyError`` on an unknown name."""
    flags = 0
    for name in names:
        flags |= FLAG_BITS[name]
    return flags


# --- vma life cycle --------------------------------------------------------------------------
LINKED = 0  # in the tree: find_vma sees it
DETACHED = 1  # taken out of the tree by detach_vmas_to_be_unmapped, held by ``owner``
FREED = 2  # remove_vma ran: the struct is gone; kept only while a thread still points at it

STATUS_NAMES = {LINKED: "linked", DETACHED: "detached", FREED: "freed"}

NO_THREAD = -1


class Vma(NamedTuple):
    """One ``vm_area_struct``: ``[start, end)`` in pages.

    ``tag`` names the mapping (the syscall instance that created it), so properties can tell
    an old mapping from one a racing thread installed. ``owner`` is the thread that took the
    vma for unmapping: by detaching it, or by marking it ``VM_DEAD`` while it stays linked.
    """

    id: int
    start: int
    end: int
    flags: int
    tag: str
    status: int = LINKED
    owner: int = NO_THREAD

    @property
    def linked(self) -> bool:
        return self.status == LINKED

    def covers(self, page: int) -> bool:
        return self.start <= page < self.end


# --- mmap_sem ------------------------------------------------------------------------------
READ = "R"
WRITE = "W"
UPGRADE = "U"  # a reader waiting in the queue to become the writer (modelled upgrade_read)


class RwSem(NamedTuple):
    """``mmap_sem`` with Linux rwsem semantics.

    ``readers`` is sorted and may repeat a thread (a recursive ``down_read``). ``waiters`` is
    the FIFO wait queue of ``(tid, mode)``; a non-empty queue stops new readers, which is what
    makes a recursive ``down_read`` deadlock behind a waiting writer.
    """

    writer: int = NO_THREAD
    readers: tuple[int, ...] = ()
    waiters: tuple[tuple[int, str], ...] = ()

    def holds(self, tid: int) -> str | None:
        """``"W"``, ``"R"`` or ``None``: how ``tid`` holds the semaphore now."""
        if self.writer == tid:
            return WRITE
        if tid in self.readers:
            return READ
        return None

    def queued(self, tid: int) -> bool:
        return any(w == tid for w, _ in self.waiters)


# --- threads -------------------------------------------------------------------------------
class VmaRef(int):
    """A vma pointer held in a thread's locals (a ``struct vm_area_struct *``).

    A distinct type so that reductions can rename vma ids inside locals and the viewer can
    print the pointer as the vma it points to.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"VmaRef({int(self)})"


class PtRef(NamedTuple):
    """A page-table page found or allocated by a fault: its number and allocation generation.

    A fault stores into the page it found earlier (``pte_offset_map_lock`` then
    ``set_pte_at``); if munmap freed it in between, the generation no longer matches.
    """

    table: int
    gen: int


class ThreadState(NamedTuple):
    """One thread: where it is in its syscall program and what it has computed.

    ``locals`` is aligned with the program's declared parameter and local names.
    ``snapshot`` is the set of mapping tags linked when the thread first held ``mmap_sem``
    (when its syscall took effect), ``changed`` whether the thread has changed what user
    space can observe; both are history the properties need, kept by the model itself.
    """

    pc: int
    locals: tuple[object, ...]
    result: object = None
    done: bool = False
    snapshot: frozenset[str] | None = None
    changed: bool = False


class State(NamedTuple):
    """The whole abstract state; see the module docstring for units."""

    vmas: tuple[Vma, ...]  # sorted by id; includes detached and (referenced) freed vmas
    map_count: int
    ptes: tuple[str | None, ...]  # per page: tag of the mapping whose page is mapped there
    pts: tuple[int, ...]  # per page-table page: gen > 0 allocated, <= 0 absent (-last gen)
    sem: RwSem
    threads: tuple[ThreadState, ...]

    def linked_vmas(self) -> list[Vma]:
        """Linked vmas in address order (the tree order ``find_vma`` walks)."""
        return sorted((v for v in self.vmas if v.status == LINKED), key=lambda v: v.start)

    def vma_by_id(self, vid: int) -> Vma | None:
        for v in self.vmas:
            if v.id == vid:
                return v
        return None

    def vma_at(self, page: int) -> Vma | None:
        """The linked vma covering ``page``, if any."""
        for v in self.vmas:
            if v.status == LINKED and v.start <= page < v.end:
                return v
        return None

    def pt_present(self, index: int) -> bool:
        return self.pts[index] > 0
