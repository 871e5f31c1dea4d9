"""The symbolic meaning of the primitives, and symbolic transitions of any model.

:class:`SymKernel` is :class:`vmacheck.protocol.kernel.Kernel` over a state whose addresses are z3
terms (:mod:`vmacheck.checker.engines.symbolic.terms`). Most primitives need no second definition: their
Python code (``find_vma``'s walk, ``__split_vma``, ``detach_vmas_to_be_unmapped``,
``expand_downwards``) compares addresses, and each comparison forks the path. The
primitives that touch pages one by one cannot loop over a symbolic range, so they are
redefined here over z3 arrays: the PTEs are an array from address to mapping code (0: none),
the page-table pages an array from page-table index to generation. Their events become range
events (:class:`SymEvent`) that the symbolic property encodings read.

The registry :data:`SYMBOLIC` names each redefinition; every other primitive's concrete code
is its symbolic meaning too (tests check both meanings agree on concrete values).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, TypeVar

import z3

from vmacheck.checker.engines.symbolic.terms import (
    Decider,
    Domain,
    Infeasible,
    NotSymbolic,
    SymBool,
    SymInt,
    as_bool,
    le,
    lt,
    smax,
    smin,
)
from vmacheck.protocol.kernel import PRIMITIVES, Blocked, Kernel, Queued, VariantError, collect_garbage
from vmacheck.protocol.model import Model
from vmacheck.protocol.program import Locals, Program
from vmacheck.protocol.state import LINKED, PtRef, RwSem, State, ThreadState, Vma, VmaRef, flags_from_names

# kinds of range events (the symbolic counterparts of ZAP and FREE_PT)
ZAP_RANGE = "zap_range"  # PTEs in [lo, hi) cleared; ``ptes`` is the array before
FREE_PT_RANGE = "free_pt_range"  # page-table pages where ``freed(i)`` holds were freed


class SymEvent(NamedTuple):
    kind: str
    tid: int
    primitive: str
    lo: Any = None
    hi: Any = None
    ptes: Any = None  # the PTE array before the primitive
    pts: Any = None  # the page-table array before the primitive
    vmas: tuple[Vma, ...] = ()  # the linked vmas then
    freed: Callable[[z3.ExprRef], z3.BoolRef] | None = None


SYMBOLIC: dict[str, str] = {}  # primitive name -> why it has a symbolic redefinition

F = TypeVar("F", bound=Callable[..., Any])


def symbolic_meaning(name: str, why: str) -> Callable[[F], F]:
    """Declare the symbolic redefinition of primitive ``name`` (with its lock check)."""
    info = PRIMITIVES[name]
    SYMBOLIC[name] = why

    def decorate(method: F) -> F:
        if info.requires is None:
            return method

        @functools.wraps(method)
        def checked(self: SymKernel, *args: Any, **kwargs: Any) -> Any:
            self._require(name, info.requires)  # type: ignore[arg-type]
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


class SymModel:
    """A model's symbolic reading: addresses, lengths and arguments become z3 variables.

    ``pinned``: the variables are fixed to the scenario's own values (arguments to its
    ``oneof`` choices), so the symbolic and the explicit engines check the same model.
    """

    def __init__(self, model: Model, domain: Domain | None = None, pinned: bool = False) -> None:
        self.model = model
        self.domain = domain or Domain()
        self.pinned = pinned
        sc = model.scenario
        for v in sc.vmas:
            if v.populated is not None:
                raise NotSymbolic(f"scenario '{sc.name}': vma {v.tag} is partly populated")
        tags = sorted({v.tag for v in sc.vmas} | set(model.tags))
        self.tag_code = {t: i + 1 for i, t in enumerate(tags)}
        self.code_tag = {i: t for t, i in self.tag_code.items()}
        self.task_size = self.domain.var("TASK_SIZE")
        self.pt_span = model.pt_span
        self.variables: dict[str, SymInt] = {"TASK_SIZE": self.task_size}
        # None: a step that raises is an error; a list: its path is recorded there instead
        self.faults: list[Fault] | None = None
        self.constraints: list[z3.BoolRef] = []
        self.scenario_values: list[z3.BoolRef] = []  # the scenario's own values
        self._build()

    # --- sorts and codes ----------------------------------------------------------------
    def addr(self, value: Any) -> z3.ExprRef:
        return value.term if isinstance(value, SymInt) else self.domain.const(value)

    def code(self, tag: str | None) -> int:
        return 0 if tag is None else self.tag_code[tag]

    def _build(self) -> None:
        sc = self.model.scenario
        d = self.domain
        vmas = []
        prev_end: Any = 0
        for i, spec in enumerate(sorted(sc.vmas, key=lambda v: v.start)):
            s = d.var(f"{spec.tag}.start")
            e = d.var(f"{spec.tag}.end")
            self.variables[s.term.decl().name()] = s
            self.variables[e.term.decl().name()] = e
            self.constraints += [le(prev_end, s), lt(s, e)]
            self.scenario_values += [s.term == d.const(spec.start), e.term == d.const(spec.end)]
            prev_end = e
            vmas.append(Vma(i, s, e, flags_from_names(spec.flags), spec.tag))  # type: ignore[arg-type]
        self.constraints.append(le(prev_end, self.task_size))
        # TASK_SIZE is page-table aligned (free_pgd_range's ceiling rounds to it)
        self.constraints.append((self.task_size % self.pt_span).term == self.domain.const(0))
        self.constraints.append(lt(0, self.task_size))
        self.scenario_values.append(self.task_size.term == d.const(sc.pages))
        p = z3.Const("p", d.sort)
        pte_body: z3.ExprRef = z3.IntVal(0)
        for v in reversed(vmas):
            pte_body = z3.If(z3.And(le(v.start, SymInt(p)), lt(SymInt(p), v.end)), self.code(v.tag), pte_body)
        ptes = z3.Lambda([p], pte_body)
        i = z3.Const("i", d.sort)
        under = [self._overlaps_table(v, SymInt(i)) for v in vmas]
        pts = z3.Lambda([i], z3.If(z3.Or(*under), 1, 0) if under else z3.IntVal(0))
        self.initial_vmas = tuple(vmas)
        self.initial_ptes = ptes
        self.initial_pts = pts
        self.initial_threads: list[ThreadState] = []
        for tid, (prog, tspec) in enumerate(zip(self.model.programs, sc.threads)):
            vals: list[object] = []
            for name in prog.names:
                if name in tspec.args:
                    var = d.var(f"T{tid}.{name}")
                    self.variables[var.term.decl().name()] = var
                    raw = tspec.args[name]
                    choices = raw.values if hasattr(raw, "values") else (raw,)
                    self.scenario_values.append(z3.Or(*[var.term == d.const(c) for c in choices]))
                    vals.append(var)
                else:
                    vals.append(None)
            self.initial_threads.append(ThreadState(0, tuple(vals)))

    def _overlaps_table(self, v: Vma, index: SymInt) -> z3.BoolRef:
        lo = index * self.pt_span
        hi = (index + 1) * self.pt_span
        return z3.And(lt(v.start, hi), lt(lo, v.end))

    def initial_state(self) -> State:
        return State(
            self.initial_vmas,
            len(self.initial_vmas),
            self.initial_ptes,  # type: ignore[arg-type]
            self.initial_pts,  # type: ignore[arg-type]
            RwSem(),
            tuple(self.initial_threads),
        )

    def initial_condition(self) -> z3.BoolRef:
        conds = list(self.constraints)
        if self.pinned:
            conds += self.scenario_values
        return z3.And(*conds)

    # --- transitions --------------------------------------------------------------------
    def successors(self, state: State, solver: z3.Solver | None) -> list[SymTransition]:
        out: list[SymTransition] = []
        for tid, th in enumerate(state.threads):
            if not th.done:
                out.extend(self.thread_successors(state, tid, solver))
        return out

    def thread_successors(self, state: State, tid: int, solver: z3.Solver | None) -> list[SymTransition]:
        th = state.threads[tid]
        prog = self.model.programs[tid]
        step = prog.steps[th.pc]
        out: list[SymTransition] = []
        pending: list[tuple[int, ...]] = [()]
        while pending:
            prefix = pending.pop()
            dec = Decider(solver, prefix)
            k = SymKernel(self, state, tid, dec)
            t = SymLocals(k, prog, list(th.locals), th.pc)
            nxt: State | None = None
            with dec.active():
                try:
                    step.fn(k, t)
                    nxt = k.commit(t.frozen(), prog)
                except Blocked:
                    nxt = None
                except Queued:
                    nxt = state._replace(sem=k.sem)
                except Infeasible:
                    nxt = None
                except RecursionError:
                    raise
                except Exception as exc:
                    if self.faults is None:
                        if isinstance(exc, VariantError):
                            raise
                        why = str(exc) if isinstance(exc, NotSymbolic) else f"{type(exc).__name__}: {exc}"
                        raise NotSymbolic(f"{prog.where(th.pc)}: {why}") from exc
                    # a proof engine runs steps from states no run may reach: it records
                    # the path and proves later that no reachable state takes it
                    self.faults.append(Fault(tid, step.label, dec.guard(), f"{prog.where(th.pc)}: {exc}"))
                    nxt = None
            pending.extend(dec.alternatives())
            if nxt is not None:
                out.append(SymTransition(tid, step.label, step.kernel, dec.guard(), nxt, tuple(k.events)))
        return out


class Fault(NamedTuple):
    """A path of a step that raised (a model error, or code that cannot run symbolically)."""

    tid: int
    label: str
    guard: z3.BoolRef
    message: str


class SymTransition(NamedTuple):
    tid: int
    label: str
    kernel: str
    guard: z3.BoolRef  # over the pre-state's terms: this path's condition
    state: State
    events: tuple[Any, ...]


class SymLocals(Locals):
    """Locals that may hold symbolic numbers."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (SymInt, SymBool)):
            i = self._slot(name)
            if name in self._prog.params:
                raise VariantError(f"{self._prog.where(self._pc)}: parameter '{name}' is read-only")
            self._vals[i] = value
            return
        super().__setattr__(name, value)  # PtRef with symbolic fields is allowed there too


class SymKernel(Kernel):
    """The kernel primitives over a symbolic state (see the module docstring)."""

    __slots__ = ("sym", "dec", "_parr", "_tarr")

    def __init__(self, sym: SymModel, state: State, tid: int, dec: Decider) -> None:
        super().__init__(sym.model, state, tid)
        self.sym = sym
        self.dec = dec
        self._parr: Any = state.ptes
        self._tarr: Any = state.pts

    @property
    def task_size(self) -> Any:
        return self.sym.task_size

    def choose(self, options: Iterable[Any]) -> Any:
        opts = list(options)
        if not opts:
            raise Blocked()
        return opts[self.dec.choose(len(opts))]

    # --- arrays ---------------------------------------------------------------------------
    def _pte_term(self, addr: Any) -> z3.ExprRef:
        return z3.Select(self._parr, self.sym.addr(addr))

    def _pt_term(self, index: Any) -> z3.ExprRef:
        return z3.Select(self._tarr, self.sym.addr(index))

    def _set_ptes(self, arr: Any) -> None:
        self._parr = arr
        self._dirty = True
        self._ptes_changed = True

    def _set_pts(self, arr: Any) -> None:
        self._tarr = arr
        self._dirty = True

    def _sym_event(self, e: SymEvent) -> None:
        self.events.append(e)  # type: ignore[arg-type]  # events hold both kinds here

    def _fresh(self, name: str) -> z3.ExprRef:
        return z3.Const(name, self.sym.domain.sort)

    # --- page tables ------------------------------------------------------------------------
    @symbolic_meaning("unmap_vmas", "clears a range of PTEs")
    def unmap_vmas(self, vma: Any, start: Any, end: Any) -> None:
        for v in self._list_from(vma, end, "unmap_vmas"):
            lo, hi = smax(v.start, start), smin(v.end, end)
            old = self._parr
            p = self._fresh("p")
            inside = z3.And(le(lo, SymInt(p)), lt(SymInt(p), hi))
            self._set_ptes(z3.Lambda([p], z3.If(inside, 0, z3.Select(old, p))))
            self._sym_event(
                SymEvent(ZAP_RANGE, self.tid, "zap_page_range", lo, hi, old, None, tuple(self._linked()))
            )

    @symbolic_meaning("free_pgtables", "frees every page-table page of a range")
    def free_pgtables(self, vma: Any, floor: Any, ceiling: Any) -> None:
        span = self.sym.pt_span
        listed = self._list_from(vma, self.task_size, "free_pgtables")
        old_pts, old_ptes = self._tarr, self._parr
        zero = self.sym.addr(0)

        def freed(i: z3.ExprRef) -> z3.BoolRef:
            idx = SymInt(i)
            lo, hi = idx * span, (idx + 1) * span
            under_list = [z3.And(lt(v.start, hi), lt(lo, v.end)) for v in listed]
            return z3.And(
                z3.Or(*under_list) if under_list else z3.BoolVal(False),
                le(floor, lo),
                le(hi, ceiling),
                # the last page-table index does not wrap around (bit-vector mode)
                lt(lo, hi) if z3.is_bv(zero) else z3.BoolVal(True),
                z3.Select(old_pts, i) > 0,
            )

        i = self._fresh("i")
        self._set_pts(z3.Lambda([i], z3.If(freed(i), -z3.Select(old_pts, i), z3.Select(old_pts, i))))
        p = self._fresh("p")
        table = (SymInt(p) // span).term
        self._set_ptes(z3.Lambda([p], z3.If(freed(table), 0, z3.Select(old_ptes, p))))
        self._sym_event(
            SymEvent(
                FREE_PT_RANGE,
                self.tid,
                "free_pgtables",
                floor,
                ceiling,
                old_ptes,
                old_pts,
                tuple(self._linked()),
                freed,
            )
        )

    @symbolic_meaning("pte_alloc", "reads and writes the page-table array")
    def pte_alloc(self, addr: Any) -> PtRef:
        index = (
            addr // self.sym.pt_span
            if isinstance(addr, SymInt)
            else SymInt(self.sym.addr(addr // self.sym.pt_span))
        )
        gen = SymInt(self._pt_term(index))
        if gen <= 0:
            gen = -gen + 1
            self._set_pts(z3.Store(self._tarr, self.sym.addr(index), gen.term))
        return PtRef(index, gen)  # type: ignore[arg-type]

    @symbolic_meaning("set_pte", "reads and writes the PTE array")
    def set_pte(self, pt: PtRef, addr: Any, tag: str) -> None:
        if SymInt(self._pt_term(pt.table)) != pt.gen:
            from vmacheck.protocol import events as ev

            self._event(ev.PTE_STORE_FREED, "set_pte_at", page=addr, detail="page table")
            return
        if SymInt(self._pte_term(addr)) == 0:
            self._set_ptes(z3.Store(self._parr, self.sym.addr(addr), self.sym.code(tag)))

    @symbolic_meaning("move_page_tables", "moves a range of PTEs")
    def move_page_tables(self, old: Any, new: Any, npages: Any, tag: str) -> None:
        src = self._parr
        p = self._fresh("p")
        P = SymInt(p)
        in_old = z3.And(le(old, P), lt(P, old + npages))
        in_new = z3.And(le(new, P), lt(P, new + npages))
        moved_from = z3.Select(src, (P - new + old).term)
        # the destination was unmapped first (mremap_to), so old and new do not overlap
        self._set_ptes(
            z3.Lambda(
                [p],
                z3.If(
                    z3.And(in_new, moved_from != 0),
                    self.sym.code(tag),
                    z3.If(in_old, 0, z3.Select(src, p)),
                ),
            )
        )
        # page-table pages at the destination: allocated where a PTE arrives. A table holds
        # pt_span pages, so "some page of table i receives a PTE" is a finite disjunction.
        span = self.sym.pt_span
        i = self._fresh("i")
        arrives = []
        for j in range(span):
            Q = SymInt(i) * span + j
            arrives.append(z3.And(le(new, Q), lt(Q, new + npages), z3.Select(src, (Q - new + old).term) != 0))
        cur = z3.Select(self._tarr, i)
        self._set_pts(z3.Lambda([i], z3.If(z3.And(z3.Or(*arrives), cur <= 0), -cur + 1, cur)))

    # --- commit ---------------------------------------------------------------------------
    def commit(self, locals_: tuple[object, ...], prog: Program) -> State:
        st = self.state
        th = st.threads[self.tid]
        vmas = st.vmas
        if self._tree_changed:
            vmas = tuple(sorted(self._vmas.values(), key=lambda v: v.id))
        threads = list(st.threads)
        pc, locals_, snapshot = self._advance(locals_, prog)
        changed: Any = th.changed
        if changed is not True and (self._tree_changed or self._ptes_changed):
            differs = view_differs(self.sym, self.tid, st.vmas, st.ptes, vmas, self._parr)
            changed = SymBool(z3.Or(as_bool(changed), differs))
        result = simplify_value(self.result)
        locals_ = tuple(simplify_value(x) for x in locals_)
        vmas = tuple(v._replace(start=simplify_value(v.start), end=simplify_value(v.end)) for v in vmas)
        threads[self.tid] = ThreadState(pc, locals_, result, self.done, snapshot, changed)
        vmas = collect_garbage(vmas, threads)
        return State(vmas, self._map_count, self._parr, self._tarr, self.sem, tuple(threads))


def simplify_value(x: Any) -> Any:
    if isinstance(x, SymInt):
        return SymInt(z3.simplify(x.term))
    if isinstance(x, PtRef):
        return PtRef(simplify_value(x.table), simplify_value(x.gen))
    return x


def _view_term(sym: SymModel, vmas: tuple[Vma, ...], p: z3.ExprRef) -> z3.ExprRef:
    """What user space sees at page ``p``: a code for (mapping, flags), 0 for none."""
    body: z3.ExprRef = z3.IntVal(0)
    for v in vmas:
        if v.status == LINKED:
            code = sym.code(v.tag) * 64 + v.flags + 1
            body = z3.If(z3.And(le(v.start, SymInt(p)), lt(SymInt(p), v.end)), code, body)
    return body


def view_differs(
    sym: SymModel, tid: int, va: tuple[Vma, ...], pa: Any, vb: tuple[Vma, ...], pb: Any
) -> z3.BoolRef:
    """Some page looks different: ``∃ w. view_a(w) != view_b(w)``, with ``w`` a free
    constant (one per thread, so equal changes give equal terms) rather than a quantifier.
    A thread's ``changed`` is the disjunction over its steps, ``∃ w. d1(w) ∨ d2(w) …``,
    which is ``(∃ w. d1) ∨ (∃ w. d2) …``. Satisfiable exactly when the existential is; its
    negation is weaker than "no page differs", so a path that assumes nothing changed may be
    explored needlessly, but a change is never missed (``changed`` is only ever needed
    positively: "returned ENOMEM after changing something")."""
    w = z3.Const(f"changed_T{tid}", sym.domain.sort)
    return z3.Or(_view_term(sym, va, w) != _view_term(sym, vb, w), z3.Select(pa, w) != z3.Select(pb, w))


# Primitives whose concrete code is their symbolic meaning too (it only compares addresses).
GENERIC = tuple(sorted(set(PRIMITIVES) - set(SYMBOLIC)))


def state_key(state: State) -> tuple[Any, ...]:
    """A hashable key of a symbolic state: equal keys, equal terms (z3 hash-conses terms)."""

    def f(x: Any) -> Any:
        if isinstance(x, SymInt):
            return ("s", x.term.get_id())
        if isinstance(x, SymBool):
            return ("b", x.term.get_id())
        if isinstance(x, z3.ExprRef):
            return ("t", x.get_id())
        if isinstance(x, PtRef):
            return ("pt", f(x.table), f(x.gen))
        if isinstance(x, VmaRef):
            return ("v", int(x))
        return x

    vmas = tuple((v.id, f(v.start), f(v.end), v.flags, v.tag, v.status, v.owner) for v in state.vmas)
    threads = tuple(
        (t.pc, tuple(f(x) for x in t.locals), f(t.result), t.done, t.snapshot, f(t.changed))
        for t in state.threads
    )
    return (vmas, state.map_count, f(state.ptes), f(state.pts), state.sem, threads)
