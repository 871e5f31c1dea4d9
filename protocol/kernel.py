"""The kernel primitives, with their concrete meaning: what one step of one thread does.

A step function of a syscall program receives a :class:`Kernel` (here: a working copy of one
state for one step of one thread) and the thread's locals, and calls primitives on it, as the
kernel function it models calls ``find_vma`` or ``__split_vma``. Each primitive is declared
with :func:`primitive`: the kernel function it models and the ``mmap_sem`` mode it requires.
The registry :data:`PRIMITIVES` is the contract a second meaning of the same primitives (the
symbolic one, over z3 terms) implements under the same names, so variants never change when
an engine is added.

Lock requirements are checked, not enforced: a primitive run without its lock still runs,
and leaves a ``lock_required`` event for the ``lock_discipline`` property to report.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from . import events as ev
from . import rwsem
from .state import (
    DETACHED,
    FREED,
    LINKED,
    NO_THREAD,
    READ,
    VM_DEAD,
    VM_GROWSDOWN,
    VM_GROWSUP,
    WRITE,
    PtRef,
    State,
    ThreadState,
    Vma,
    VmaRef,
)

if TYPE_CHECKING:
    from .model import Model
    from .program import Program

NEEDS_READ = "read"  # mmap_sem held for read or write
NEEDS_WRITE = "write"  # mmap_sem held for write


class VariantError(Exception):
    """A variant, scenario or property is malformed; the message says where."""


class Blocked(Exception):
    """The step cannot run now (waiting for mmap_sem): it is not enabled."""


class Queued(Exception):
    """The step joined mmap_sem's wait queue: only that is committed, the pc stays."""


@dataclass(frozen=True)
class PrimitiveInfo:
    name: str
    kernel: str  # the kernel function it models
    requires: str | None  # NEEDS_READ, NEEDS_WRITE or None
    doc: str


PRIMITIVES: dict[str, PrimitiveInfo] = {}

F = TypeVar("F", bound=Callable[..., Any])


def primitive(kernel: str, requires: str | None = None) -> Callable[[F], F]:
    """Declare a method of :class:`Kernel` as a primitive (see module docstring)."""

    def decorate(method: F) -> F:
        name = method.__name__
        PRIMITIVES[name] = PrimitiveInfo(name, kernel, requires, (method.__doc__ or "").strip())
        if requires is None:
            return method

        @functools.wraps(method)
        def checked(self: Kernel, *args: Any, **kwargs: Any) -> Any:
            self._require(name, requires)
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


class VmaView:
    """A ``struct vm_area_struct *`` inside one step: reading a field reads the vma as it is
    now, and reading it through a pointer whose vma another thread detached or freed is a
    use-after-free (an event, then the stale fields)."""

    __slots__ = ("_k", "id")

    def __init__(self, k: Kernel, vid: int) -> None:
        self._k = k
        self.id = vid

    def _rec(self) -> Vma:
        return self._k._use(self.id, "vma->field")

    @property
    def start(self) -> int:
        return self._rec().start

    @property
    def end(self) -> int:
        return self._rec().end

    @property
    def flags(self) -> int:
        return self._rec().flags

    @property
    def tag(self) -> str:
        return self._rec().tag

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VmaView) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        rec = self._k._vmas.get(self.id)
        return f"<vma {self.id} {rec}>"


class Kernel:
    """Concrete meaning of the primitives: a working copy of ``state`` for a step of ``tid``."""

    __slots__ = (
        "model",
        "tid",
        "state",
        "_vmas",
        "_ptes",
        "_pts",
        "_map_count",
        "sem",
        "events",
        "next_pc",
        "result",
        "done",
        "_prefix",
        "taken",
        "arity",
        "_dirty",
        "_stale_seen",
        "_tree_changed",
        "_ptes_changed",
    )

    def __init__(self, model: Model, state: State, tid: int, prefix: tuple[int, ...] = ()):
        self.model = model
        self.tid = tid
        self.state = state
        self._vmas: dict[int, Vma] = {v.id: v for v in state.vmas}
        self._ptes: list[str | None] | None = None
        self._pts: list[int] | None = None
        self._map_count = state.map_count
        self.sem = state.sem
        self.events: list[ev.Event] = []
        self.next_pc: int | None = None
        self.result: object = None
        self.done = False
        self._prefix = prefix
        self.taken: list[int] = []
        self.arity: list[int] = []
        self._dirty = False
        self._stale_seen: set[int] = set()
        self._tree_changed = False
        self._ptes_changed = False

    # --- bounds of the scenario -----------------------------------------------------------
    @property
    def task_size(self) -> int:
        """TASK_SIZE: one past the highest user page."""
        return self.model.pages

    @property
    def max_map_count(self) -> int:
        """sysctl vm.max_map_count."""
        return self.model.max_map_count

    @property
    def my_tag(self) -> str:
        """The tag of mappings this thread's syscall creates (its own name by default)."""
        return self.model.tags[self.tid]

    @property
    def map_count(self) -> int:
        """mm->map_count (read under mmap_sem)."""
        self._require("map_count", NEEDS_READ)
        return self._map_count

    # --- internal helpers -----------------------------------------------------------------
    def _event(self, kind: str, primitive: str, **facts: Any) -> None:
        self.events.append(ev.Event(kind, self.tid, primitive, **facts))

    def _require(self, name: str, requires: str) -> None:
        held = self.sem.holds(self.tid)
        ok = held == WRITE if requires == NEEDS_WRITE else held in (READ, WRITE)
        if not ok:
            have = {READ: "read", WRITE: "write", None: "nothing"}[held]
            self._event(ev.LOCK_REQUIRED, name, detail=f"needs mmap_sem for {requires}, holds {have}")

    def _use(self, vid: int, primitive: str) -> Vma:
        """Dereference a vma pointer: a stale pointer is an event, then its stale fields."""
        self._require(primitive, NEEDS_READ)
        rec = self._vmas[vid]
        stale = rec.status == FREED or (rec.status == DETACHED and rec.owner != self.tid)
        if stale and vid not in self._stale_seen:
            self._stale_seen.add(vid)
            self._event(ev.VMA_STALE_USE, primitive, vma=rec)
        return rec

    def _put(self, rec: Vma) -> None:
        self._vmas[rec.id] = rec
        self._dirty = True
        self._tree_changed = True

    def _ptes_w(self) -> list[str | None]:
        if self._ptes is None:
            self._ptes = list(self.state.ptes)
        self._dirty = True
        self._ptes_changed = True
        return self._ptes

    def _pts_w(self) -> list[int]:
        if self._pts is None:
            self._pts = list(self.state.pts)
        self._dirty = True
        return self._pts

    def _pte(self, page: int) -> str | None:
        return (self._ptes if self._ptes is not None else self.state.ptes)[page]

    def _pt(self, index: int) -> int:
        return (self._pts if self._pts is not None else self.state.pts)[index]

    def _linked(self) -> list[Vma]:
        return sorted((v for v in self._vmas.values() if v.status == LINKED), key=lambda v: v.start)

    def linked_at(self, page: int) -> Vma | None:
        for v in self._vmas.values():
            if v.status == LINKED and v.start <= page < v.end:
                return v
        return None

    def _view(self, rec: Vma | None) -> VmaView | None:
        return None if rec is None else VmaView(self, rec.id)

    def _new_id(self) -> int:
        return max(self._vmas, default=-1) + 1

    def _list_from(self, first: VmaView, end: int, primitive: str) -> list[Vma]:
        """The vmas a kernel walk ``for (vma = first; vma && vma->vm_start < end; vma =
        vma->vm_next)`` visits: the tree if ``first`` is linked, the detached list if it
        was detached (the list keeps address order)."""
        head = self._use(first.id, primitive)
        if head.status == FREED:
            return [head]
        same = [
            v
            for v in self._vmas.values()
            if v.status == head.status
            and (head.status == LINKED or v.owner == head.owner)
            and v.start >= head.start
        ]
        same.sort(key=lambda v: v.start)
        return [v for v in same if v.start < end]

    # --- control flow -----------------------------------------------------------------------
    def goto(self, label: str) -> None:
        """Continue at ``label`` (a PlusCal ``goto``)."""
        prog = self.model.programs[self.tid]
        if label not in prog.index:
            raise VariantError(f"{prog.where()}: goto to unknown step '{label}'")
        self.next_pc = prog.index[label]

    def ret(self, value: object) -> None:
        """Return to user space with ``value`` (0, an errno name, ``"SIGSEGV"``, ...)."""
        held = self.sem.holds(self.tid)
        if held is not None or self.sem.queued(self.tid):
            self._event(ev.RETURN_LOCKED, "return", detail=f"returned holding mmap_sem ({held})")
        self.result = value
        self.done = True

    def choose(self, options: Iterable[Any]) -> Any:
        """A nondeterministic choice: the engines explore every option."""
        opts = list(options)
        if not opts:
            raise Blocked()
        pos = len(self.taken)
        idx = self._prefix[pos] if pos < len(self._prefix) else 0
        self.taken.append(idx)
        self.arity.append(len(opts))
        return opts[idx]

    # --- mmap_sem ---------------------------------------------------------------------------
    def _acquire(self, outcome: str, sem: Any, name: str) -> None:
        if outcome == rwsem.BLOCKED:
            raise Blocked()
        if self._dirty:
            prog = self.model.programs[self.tid]
            raise VariantError(f"{prog.where()}: {name} must come before any change in its step")
        self.sem = sem
        if outcome == rwsem.QUEUED:
            raise Queued()

    @primitive("down_read")
    def down_read(self) -> None:
        """Take mmap_sem for read; queue behind a waiting writer."""
        self._acquire(*rwsem.down_read(self.sem, self.tid), "down_read")

    @primitive("down_write")
    def down_write(self) -> None:
        """Take mmap_sem for write."""
        self._acquire(*rwsem.down_write(self.sem, self.tid), "down_write")

    @primitive("upgrade_read")
    def upgrade_read(self) -> None:
        """Modelled blocking upgrade from read to write (Linux has none)."""
        if self.sem.holds(self.tid) != READ:
            self._event(ev.LOCK_MISUSE, "upgrade_read", detail="upgrade without holding read")
            return
        self._acquire(*rwsem.upgrade_read(self.sem, self.tid), "upgrade_read")

    def _release(self, name: str, new: Any) -> None:
        if new is None:
            held = self.sem.holds(self.tid) or "nothing"
            self._event(ev.LOCK_MISUSE, name, detail=f"{name} while holding {held}")
            return
        self.sem = new
        self._dirty = True

    @primitive("up_read")
    def up_read(self) -> None:
        """Release a read hold."""
        self._release("up_read", rwsem.up_read(self.sem, self.tid))

    @primitive("up_write")
    def up_write(self) -> None:
        """Release the write hold."""
        self._release("up_write", rwsem.up_write(self.sem, self.tid))

    @primitive("downgrade_write")
    def downgrade_write(self) -> None:
        """Turn the write hold into a read hold, with no window between."""
        self._release("downgrade_write", rwsem.downgrade_write(self.sem, self.tid))

    # --- the vma tree -------------------------------------------------------------------------
    @primitive("find_vma", NEEDS_READ)
    def find_vma(self, addr: int) -> VmaView | None:
        """The first linked vma with ``addr < vm_end`` (it may start above ``addr``)."""
        for v in self._linked():
            if addr < v.end:
                return VmaView(self, v.id)
        return None

    @primitive("find_vma_prev", NEEDS_READ)
    def find_vma_prev(self, addr: int) -> VmaView | None:
        """``*pprev`` of find_vma_prev: the last linked vma ending at or below ``addr``."""
        prev = None
        for v in self._linked():
            if v.end <= addr:
                prev = v
        return self._view(prev)

    @primitive("__split_vma", NEEDS_WRITE)
    def split_vma(self, vma: VmaView, addr: int, new_below: bool) -> None:
        """Split ``vma`` at ``addr``; ``map_count += 1`` with no limit check (the callers
        check). ``new_below``: the new struct is the lower part, else the upper part."""
        rec = self._use(vma.id, "__split_vma")
        if rec.status != LINKED:
            return  # stale pointer: the use was reported; the tree is not touched
        if not rec.start < addr < rec.end:
            self._event(ev.VMA_STALE_USE, "__split_vma", vma=rec, detail=f"split at {addr} outside vma")
            return
        nid = self._new_id()
        if new_below:
            self._put(rec._replace(id=nid, end=addr))
            self._put(rec._replace(start=addr))
        else:
            self._put(rec._replace(end=addr))
            self._put(rec._replace(id=nid, start=addr))
        self._map_count += 1

    @primitive("vma_link", NEEDS_WRITE)
    def vma_link(self, start: int, end: int, flags: int, tag: str) -> VmaView:
        """Insert a new vma ``[start, end)`` into the tree; ``map_count += 1``."""
        rec = Vma(self._new_id(), start, end, flags, tag)
        self._put(rec)
        self._map_count += 1
        return VmaView(self, rec.id)

    @primitive("vma_set_flags", NEEDS_WRITE)
    def vma_set_flags(self, vma: VmaView, flags: int) -> None:
        """``vma->vm_flags |= flags`` (what mprotect_fixup changes)."""
        rec = self._use(vma.id, "vma_set_flags")
        self._put(rec._replace(flags=rec.flags | flags))

    @primitive("vma->vm_flags |= VM_DEAD", NEEDS_WRITE)
    def mark_vma_dead(self, vma: VmaView) -> None:
        """Mark a vma as being unmapped by this thread (the 2018 RFCs' VM_DEAD); faults
        that honour VM_DEAD get SIGSEGV on it."""
        rec = self._use(vma.id, "mark_vma_dead")
        self._put(rec._replace(flags=rec.flags | VM_DEAD, owner=self.tid))

    @primitive("detach_vmas_to_be_unmapped", NEEDS_WRITE)
    def detach_vmas_to_be_unmapped(self, vma: VmaView, end: int) -> bool:
        """Unlink ``vma`` and the linked vmas after it that start below ``end``; they become
        this thread's detached list (``map_count -= 1`` each). Returns whether downgrading
        is safe as 5.8 defines it: not next to a GROWSDOWN vma above or GROWSUP below."""
        head = self._use(vma.id, "detach_vmas_to_be_unmapped")
        linked = self._linked()
        prev = None
        for v in linked:
            if v.start < head.start:
                prev = v
        for v in linked:
            if v.start >= head.start and v.start < end:
                self._put(v._replace(status=DETACHED, owner=self.tid))
                self._map_count -= 1
                self._event(ev.DETACH, "detach_vmas_to_be_unmapped", vma=v)
        nxt = next((v for v in linked if v.start >= end), None)
        if nxt is not None and nxt.flags & VM_GROWSDOWN:
            return False
        return not (prev is not None and prev.flags & VM_GROWSUP)

    @primitive("remove_vma_list", NEEDS_READ)
    def remove_vma_list(self, vma: VmaView) -> None:
        """Free the structs of the detached list starting at ``vma`` (remove_vma)."""
        for v in self._list_from(vma, self.task_size, "remove_vma_list"):
            if v.status == FREED:
                continue
            self._put(v._replace(status=FREED))
            self._event(ev.FREE_VMA, "remove_vma", vma=v)

    @primitive("expand_downwards", NEEDS_READ)
    def expand_downwards(self, vma: VmaView, addr: int) -> None:
        """Grow a VM_GROWSDOWN stack down to ``addr``: ``vma->vm_start = addr``, under the
        read lock (as before 6.5; the kernel's anon_vma lock orders it only against
        other expansions)."""
        rec = self._use(vma.id, "expand_downwards")
        if addr < rec.start:
            self._put(rec._replace(start=addr))

    @primitive("expand_upwards", NEEDS_READ)
    def expand_upwards(self, vma: VmaView, addr: int) -> None:
        """Grow a VM_GROWSUP vma up to include ``addr``."""
        rec = self._use(vma.id, "expand_upwards")
        if addr >= rec.end:
            self._put(rec._replace(end=addr + 1))

    # --- page tables ------------------------------------------------------------------------
    @primitive("zap_page_range", NEEDS_READ)
    def unmap_vmas(self, vma: VmaView, start: int, end: int) -> None:
        """unmap_vmas: zap the PTEs of the list starting at ``vma``, within
        ``[start, end)``."""
        for v in self._list_from(vma, end, "unmap_vmas"):
            for page in range(max(v.start, start), min(v.end, end)):
                tag = self._pte(page)
                if tag is not None:
                    self._event(ev.ZAP, "zap_page_range", page=page, tag=tag, vma=self.linked_at(page))
                    self._ptes_w()[page] = None

    @primitive("free_pgtables", NEEDS_READ)
    def free_pgtables(self, vma: VmaView, floor: int, ceiling: int) -> None:
        """Free the page-table pages under the list starting at ``vma`` that lie wholly
        inside ``[floor, ceiling)`` (free_pgd_range's rounding: a page-table page shared
        with a neighbour outside the bounds survives)."""
        span = self.model.pt_span
        todo: set[int] = set()
        for v in self._list_from(vma, self.task_size, "free_pgtables"):
            for page in range(v.start, v.end):
                todo.add(page // span)
        for index in sorted(todo):
            lo, hi = index * span, (index + 1) * span
            if lo < floor or hi > ceiling or self._pt(index) <= 0:
                continue
            pages = tuple(p for p in range(lo, hi) if self._pte(p) is not None)
            under = tuple(v for v in self._linked() if v.start < hi and v.end > lo)
            self._event(ev.FREE_PT, "free_pgtables", page=index, pages=pages, vmas=under)
            pts = self._pts_w()
            pts[index] = -pts[index]
            if pages:  # the PTEs go with the page that held them
                ptes = self._ptes_w()
                for p in pages:
                    ptes[p] = None

    @primitive("__pte_alloc", NEEDS_READ)
    def pte_alloc(self, addr: int) -> PtRef:
        """Find the page-table page for ``addr``, allocating it if absent."""
        index = addr // self.model.pt_span
        gen = self._pt(index)
        if gen <= 0:
            gen = -gen + 1
            self._pts_w()[index] = gen
        return PtRef(index, gen)

    @primitive("set_pte_at", NEEDS_READ)
    def set_pte(self, pt: PtRef, addr: int, tag: str) -> None:
        """do_anonymous_page: under the page-table lock, install a PTE for ``tag`` at
        ``addr`` if none is there (pte_none), in the page-table page found earlier."""
        if self._pt(pt.table) != pt.gen:
            self._event(ev.PTE_STORE_FREED, "set_pte_at", page=addr, detail=f"page table {pt.table}")
            return
        if self._pte(addr) is None:
            self._ptes_w()[addr] = tag

    @primitive("move_page_tables", NEEDS_WRITE)
    def move_page_tables(self, old: int, new: int, npages: int, tag: str) -> None:
        """mremap: move the PTEs of ``[old, old+npages)`` to ``[new, ...)``, allocating
        page-table pages at the destination; they now map ``tag``."""
        moved = [(i, self._pte(old + i)) for i in range(npages)]
        ptes = self._ptes_w()
        for i, tag_here in moved:
            if tag_here is None:
                continue
            ptes[old + i] = None
            self.pte_alloc(new + i)
            ptes[new + i] = tag

    @primitive("bad_area", NEEDS_READ)
    def bad_area(self, addr: int) -> None:
        """The fault at ``addr`` is not in a usable vma: SIGSEGV."""
        self._event(ev.SEGV, "bad_area", page=addr, vma=self.linked_at(addr))

    # --- commit ------------------------------------------------------------------------------
    def _advance(
        self, locals_: tuple[object, ...], prog: Program
    ) -> tuple[int, tuple[object, ...], frozenset[str] | None]:
        """The thread's next pc, its locals after the step, and its snapshot."""
        st = self.state
        th = st.threads[self.tid]
        if self.done:
            pc = th.pc
            # A returned syscall's locals are dead: keep its arguments only, so the vmas it
            # pointed to can be forgotten once freed and equal outcomes are equal states.
            locals_ = locals_[: len(prog.params)] + (None,) * len(prog.local_names)
        elif self.next_pc is not None:
            pc = self.next_pc
        else:
            pc = th.pc + 1
            if pc >= len(prog.steps):
                raise VariantError(f"{prog.where(th.pc)}: falls off the end without ret()")
        snapshot = th.snapshot
        if snapshot is None and self.sem.holds(self.tid) is not None:
            # The syscall takes effect once it holds mmap_sem: what was mapped then (before
            # this step, which may already change the tree) is what it may unmap (no_clobber).
            snapshot = frozenset(v.tag for v in st.vmas if v.status == LINKED)
        return pc, locals_, snapshot

    def commit(self, locals_: tuple[object, ...], prog: Program) -> State:
        """The successor state: this working copy frozen, with the thread advanced.

        Freed vmas stay in it: whether another thread still points at one is not this
        thread's business (a step sees the shared state and its own locals only, so that its
        outcome can be reused wherever they recur); :func:`collect_garbage` drops them."""
        st = self.state
        th = st.threads[self.tid]
        vmas = st.vmas
        if self._tree_changed:
            vmas = tuple(sorted(self._vmas.values()))
        ptes = tuple(self._ptes) if self._ptes is not None else st.ptes
        pts = tuple(self._pts) if self._pts is not None else st.pts
        threads = list(st.threads)
        pc, locals_, snapshot = self._advance(locals_, prog)
        changed = th.changed
        if not changed and (self._tree_changed or self._ptes_changed):
            changed = page_view(st.vmas, st.ptes) != page_view(vmas, ptes)
        threads[self.tid] = ThreadState(pc, locals_, self.result, self.done, snapshot, changed)
        return State(vmas, self._map_count, ptes, pts, self.sem, tuple(threads))


def page_view(vmas: tuple[Vma, ...], ptes: tuple[str | None, ...]) -> tuple[object, ...]:
    """What user space can observe: per page, the mapping (tag, flags) and its PTE."""
    view: list[object] = [None] * len(ptes)
    for v in vmas:
        if v.status == LINKED:
            for p in range(max(v.start, 0), min(v.end, len(ptes))):
                view[p] = (v.tag, v.flags)
    return (tuple(view), ptes)


def vma_refs(value: object) -> Iterator[VmaRef]:
    """The vma pointers in a local's value, at any depth (a tuple or set of pointers)."""
    if isinstance(value, VmaRef):
        yield value
    elif isinstance(value, (tuple, frozenset)):
        for x in value:
            yield from vma_refs(x)


def referenced_vmas(threads: Iterable[ThreadState]) -> set[int]:
    """The vmas some thread points to, from its locals or its result."""
    return {int(r) for th in threads for x in (*th.locals, th.result) for r in vma_refs(x)}


def collect_garbage(vmas: tuple[Vma, ...], threads: Iterable[ThreadState]) -> tuple[Vma, ...]:
    """Drop freed vmas no thread points to any more: nothing can observe them again."""
    if all(v.status != FREED for v in vmas):
        return vmas
    live = referenced_vmas(threads)
    return tuple(v for v in vmas if v.status != FREED or v.id in live)


__all__ = [
    "Kernel",
    "VmaView",
    "VariantError",
    "Blocked",
    "Queued",
    "PRIMITIVES",
    "PrimitiveInfo",
    "primitive",
    "NEEDS_READ",
    "NEEDS_WRITE",
    "NO_THREAD",
    "VM_DEAD",
]
