"""Symbolic encodings of the properties: for a symbolic state or transition, the z3 condition
under which the property is violated there.

Two kinds. A property whose hooks only compare addresses and read vmas, threads and the
events of vma-level primitives is encoded *generically*: its own Python hooks run over the
symbolic state with every comparison forking (:mod:`vmacheck.checker.engines.symbolic.terms`), and the
violation condition is the disjunction of the paths that return a violation. A property that
reads PTEs or page-table pages page by page gets a hand encoding here, over the PTE and
page-table arrays, with an existential witness page (``∃ p. …``) that z3 instantiates.

Which kind is the property's to say: ``Property.symbolic_hooks`` marks hooks that can run as
they are. A property with neither has no symbolic encoding yet: the symbolic engine reports
it ``unknown`` and says so. Encodings are tested against the concrete properties on concrete
states (tests/checker/test_symbolic_agreement.py).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import z3

from vmacheck.checker.engines.symbolic.kernel import (
    FREE_PT_RANGE,
    ZAP_RANGE,
    SymEvent,
    SymModel,
    SymTransition,
)
from vmacheck.checker.engines.symbolic.terms import Decider, Infeasible, SymInt, as_bool, le, lt
from vmacheck.properties.base import Property
from vmacheck.protocol import events as ev
from vmacheck.protocol.state import FREED, LINKED, NO_THREAD, VM_DEAD, State, Vma

Found = list[z3.BoolRef]  # violation conditions (any one satisfiable: violated)

StateFn = Callable[[SymModel, State, z3.Solver | None], Found]
StepFn = Callable[[SymModel, State, SymTransition, z3.Solver | None], Found]
StuckFn = Callable[[SymModel, State, z3.BoolRef, z3.Solver | None], Found]


class Encoding:
    """How one property reads a symbolic state (``state``) and transition (``step``)."""

    def __init__(
        self,
        state: StateFn | None = None,
        step: StepFn | None = None,
        how: str = "",
        final: StateFn | None = None,
        stuck: StuckFn | None = None,
    ) -> None:
        self.state = state
        self.step = step
        self.how = how
        self.final = final  # judged where every thread has returned
        self.stuck = stuck  # judged where no step can run: (model, state, stuck condition)


def _forked(run: Callable[[], Found], solver: z3.Solver | None, assume: list[z3.BoolRef]) -> Found:
    """Run a hand encoding down every path of the Python code it calls (a syscall's
    ``unmaps`` range may depend on a symbolic argument), each result under its path."""
    out: Found = []
    pending: list[tuple[int, ...]] = [()]
    while pending:
        prefix = pending.pop()
        dec = Decider(solver, prefix)
        dec.conds = list(assume)
        base = len(assume)
        try:
            with dec.active():
                conds = run()
        except Infeasible:
            conds = []
        path = dec.conds[base:]
        pending.extend(dec.alternatives())
        out.extend(z3.And(*assume, *path, c) for c in conds)
    return out


def hand(state: StateFn | None, step: StepFn | None, how: str) -> Encoding:
    def state_fn(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
        assert state is not None
        return _forked(lambda: state(sm, st, solver), solver, [])

    def step_fn(sm: SymModel, before: State, tr: SymTransition, solver: z3.Solver | None) -> Found:
        assert step is not None
        return _forked(lambda: step(sm, before, tr, solver), solver, [tr.guard])

    return Encoding(state_fn if state else None, step_fn if step else None, how)


def _found(violation: object) -> Found:
    """A concrete hook's answer on one path: violated here (under the path), or not."""
    return [z3.BoolVal(True)] if violation is not None else []


def generic(prop: Property) -> Encoding:
    hooks = prop.hooks()

    def state_fn(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
        return _forked(lambda: _found(prop.check_state(sm.model, st)), solver, [])

    def final_fn(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
        return _forked(lambda: _found(prop.check_final(sm.model, st)), solver, [])

    def stuck_fn(sm: SymModel, st: State, stuck: z3.BoolRef, solver: z3.Solver | None) -> Found:
        return _forked(lambda: _found(prop.check_stuck(sm.model, st)), solver, [stuck])

    def step_fn(sm: SymModel, before: State, tr: SymTransition, solver: z3.Solver | None) -> Found:
        concrete = tuple(e for e in tr.events if not isinstance(e, SymEvent))
        ctr = _as_transition(tr, concrete)
        return _forked(lambda: _found(prop.check_step(sm.model, before, ctr)), solver, [tr.guard])

    return Encoding(
        state_fn if "check_state" in hooks else None,
        step_fn if "check_step" in hooks else None,
        "its own hooks, run over symbolic values",
        final_fn if "check_final" in hooks else None,
        stuck_fn if "check_stuck" in hooks else None,
    )


def _as_transition(tr: SymTransition, events: tuple[Any, ...]) -> Any:
    from vmacheck.protocol.model import Transition

    return Transition(tr.tid, tr.label, tr.kernel, (), tr.state, events)


# --- helpers ------------------------------------------------------------------------------
def _covers(v: Vma, p: SymInt) -> z3.BoolRef:
    return z3.And(le(v.start, p), lt(p, v.end))


def _in_range(rng: Any, p: SymInt) -> z3.BoolRef:
    if rng is None:
        return z3.BoolVal(False)
    return z3.And(le(rng[0], p), lt(p, rng[1]))


def _witness(sm: SymModel, name: str) -> SymInt:
    return SymInt(z3.FreshConst(sm.domain.sort, name))


def _linked(st: State) -> list[Vma]:
    return [v for v in st.vmas if v.status == LINKED]


# --- vma_consistency ----------------------------------------------------------------------
def _vma_consistency_state(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
    model = sm.model
    linked = _linked(st)
    found: Found = []
    for v in linked:
        found.append(z3.Not(lt(v.start, v.end)))
    for i, a in enumerate(linked):
        for b in linked[i + 1 :]:
            found.append(z3.And(lt(a.start, b.end), lt(b.start, a.end)))
    if st.map_count != len(linked):
        return [z3.BoolVal(True)]
    for v in st.vmas:
        if v.owner >= 0 and st.threads[v.owner].done and v.status != FREED:
            return [z3.BoolVal(True)]
    if model.unmaps_in_flight(st) or model.holds_unmapped(st):
        return found
    w = _witness(sm, "page")
    pte = z3.Select(st.ptes, w.term)  # type: ignore[arg-type]
    ok = [z3.And(_covers(v, w), pte == sm.code(v.tag)) for v in linked]
    found.append(z3.And(pte != 0, z3.Not(z3.Or(*ok)) if ok else z3.BoolVal(True)))
    t = _witness(sm, "table")
    gen = z3.Select(st.pts, t.term)  # type: ignore[arg-type]
    under = [sm._overlaps_table(v, t) for v in linked]
    found.append(z3.And(gen > 0, z3.Not(z3.Or(*under)) if under else z3.BoolVal(True), _table_fits(sm, t)))
    return found


def _table_fits(sm: SymModel, i: SymInt) -> z3.BoolRef:
    """Bit-vector mode: page-table index ``i`` covers addresses that do not wrap."""
    if sm.domain.bits is None:
        return z3.BoolVal(True)
    return lt(i * sm.pt_span, (i + 1) * sm.pt_span)


# --- no_clobber ---------------------------------------------------------------------------
def _mapped_when_begun(before: State, tid: int) -> frozenset[str]:
    snap = before.threads[tid].snapshot
    if snap is None:
        snap = frozenset(v.tag for v in before.vmas if v.status == LINKED)
    return snap


def _no_clobber_step(sm: SymModel, before: State, tr: SymTransition, solver: z3.Solver | None) -> Found:
    found: Found = []
    for e in tr.events:
        if isinstance(e, SymEvent) and e.kind == ZAP_RANGE:
            w = _witness(sm, "page")
            old = z3.Select(e.ptes, w.term)
            rng = sm.model.programs[e.tid].unmap_range(before.threads[e.tid])
            linked_foreign = []
            for v in e.vmas:
                if v.owner == e.tid:
                    continue
                dying = bool(v.flags & VM_DEAD) and v.owner != NO_THREAD
                exempt = _in_range(rng, w) if dying else z3.BoolVal(False)
                linked_foreign.append(z3.And(_covers(v, w), z3.Not(exempt)))
            snap = _mapped_when_begun(before, e.tid)
            newer = [old == sm.code(t) for t in sm.tag_code if t not in snap]
            bad = z3.Or(*linked_foreign, *newer)
            found.append(z3.And(tr.guard, le(e.lo, w), lt(w, e.hi), old != 0, bad))
        elif not isinstance(e, SymEvent) and e.kind == ev.DETACH and e.vma is not None:
            if e.vma.tag not in _mapped_when_begun(before, e.tid):
                found.append(tr.guard)
    return found


# --- no_pt_use_after_free -----------------------------------------------------------------
def _no_pt_uaf_step(sm: SymModel, before: State, tr: SymTransition, solver: z3.Solver | None) -> Found:
    found: Found = []
    span = sm.pt_span
    for e in tr.events:
        if not isinstance(e, SymEvent):
            if e.kind == ev.PTE_STORE_FREED:
                found.append(tr.guard)
            continue
        if e.kind != FREE_PT_RANGE or e.freed is None:
            continue
        rng = sm.model.programs[e.tid].unmap_range(before.threads[e.tid])
        i = _witness(sm, "table")
        p = _witness(sm, "page")
        in_table = z3.And(le(i * span, p), lt(p, (i + 1) * span), _table_fits(sm, i))
        holds_pte = z3.And(in_table, z3.Select(e.ptes, p.term) != 0)
        over = []
        for v in e.vmas:
            exempt: z3.BoolRef = z3.BoolVal(False)
            if v.flags & VM_DEAD and v.owner != NO_THREAD and rng is not None:
                exempt = z3.And(le(rng[0], v.start), le(v.end, rng[1]))
            over.append(z3.And(sm._overlaps_table(v, i), z3.Not(exempt)))
        found.append(z3.And(tr.guard, e.freed(i.term), z3.Or(holds_pte, *over)))
    return found


def _no_pt_uaf_state(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
    p = _witness(sm, "page")
    table = p // sm.pt_span
    return [z3.And(z3.Select(st.ptes, p.term) != 0, z3.Select(st.pts, table.term) <= 0)]  # type: ignore[arg-type]


# --- linearizable -------------------------------------------------------------------------
_REFERENCE: weakref.WeakKeyDictionary[SymModel, list[tuple[z3.BoolRef, State]]] = weakref.WeakKeyDictionary()


def _reference_finals(sm: SymModel) -> list[tuple[z3.BoolRef, State]]:
    """Every final state of every one-at-a-time execution of the reference semantics
    (protocol.syscalls.reference) from the same initial variables, with its condition."""
    if sm in _REFERENCE:
        return _REFERENCE[sm]
    from vmacheck.checker.engines.symbolic.kernel import state_key
    from vmacheck.protocol.model import Model
    from vmacheck.protocol.syscalls.reference import reference_for

    ref = SymModel(Model(reference_for(sm.model.variant), sm.model.scenario), sm.domain, sm.pinned)
    solver = z3.Solver()
    solver.add(ref.initial_condition())
    layer: dict[Any, tuple[z3.BoolRef, State]] = {
        state_key(ref.initial_state()): (z3.BoolVal(True), ref.initial_state())
    }
    finals: list[tuple[z3.BoolRef, State]] = []
    while layer:
        nxt: dict[Any, tuple[z3.BoolRef, State]] = {}
        for pc, st in layer.values():
            if all(th.done for th in st.threads):
                finals.append((pc, st))
                continue
            solver.push()
            solver.add(pc)
            busy = [t for t, th in enumerate(st.threads) if not th.done and th.pc != 0]
            tids = busy[:1] or [t for t, th in enumerate(st.threads) if not th.done]
            for tid in tids:
                for tr in ref.thread_successors(st, tid, solver):
                    k = state_key(tr.state)
                    cond = z3.And(pc, tr.guard)
                    have = nxt.get(k)
                    nxt[k] = (cond if have is None else z3.Or(have[0], cond), tr.state)
            solver.pop()
        layer = nxt
    _REFERENCE[sm] = finals
    return finals


def _same_result(a: object, b: object) -> z3.BoolRef:
    num_a = isinstance(a, SymInt) or (isinstance(a, int) and not isinstance(a, bool))
    num_b = isinstance(b, SymInt) or (isinstance(b, int) and not isinstance(b, bool))
    if num_a and num_b:
        return as_bool(
            SymInt(a.term) == b if isinstance(a, SymInt) else (b == a if isinstance(b, SymInt) else a == b)
        )
    return z3.BoolVal(a == b)


def _same_outcome(sm: SymModel, f: State, s: State) -> z3.BoolRef:
    """Equal results, equal linked mappings (range, flags, tag) and equal PTEs, except at
    a free witness page: the negation says some page differs."""
    parts = [_same_result(a.result, b.result) for a, b in zip(f.threads, s.threads)]
    lf, ls = _linked(f), _linked(s)
    groups: dict[tuple[str, int], list[int]] = {}
    for v in lf:
        groups.setdefault((v.tag, v.flags), [0, 0])[0] += 1
    for v in ls:
        groups.setdefault((v.tag, v.flags), [0, 0])[1] += 1
    if any(a != b for a, b in groups.values()):
        return z3.BoolVal(False)
    for v in lf:
        same = [
            z3.And(as_bool(SymInt(sm.addr(v.start)) == w.start), as_bool(SymInt(sm.addr(v.end)) == w.end))
            for w in ls
            if (w.tag, w.flags) == (v.tag, v.flags)
        ]
        parts.append(z3.Or(*same))
    p = _witness(sm, "page")
    parts.append(z3.Select(f.ptes, p.term) == z3.Select(s.ptes, p.term))  # type: ignore[arg-type]
    return z3.And(*parts)


def _linearizable_final(sm: SymModel, st: State, solver: z3.Solver | None) -> Found:
    # Linked vmas are disjoint here (vma_consistency), so matching each final vma to an
    # equal reference vma of the same mapping, with equal counts, is multiset equality.
    return [z3.And(*[z3.Not(z3.And(c, _same_outcome(sm, st, ref))) for c, ref in _reference_finals(sm)])]


# --- the hand encodings ----------------------------------------------------------------------
# Properties that read PTEs or page tables page by page: their encodings read the symbolic
# arrays, which only this package knows, so they live here rather than in properties/.
HAND = {
    "vma_consistency": hand(_vma_consistency_state, None, "PTE and page-table arrays, witness page"),
    "no_clobber": hand(None, _no_clobber_step, "zapped ranges, witness page"),
    "no_pt_use_after_free": hand(_no_pt_uaf_state, _no_pt_uaf_step, "freed page-table ranges, witness page"),
    "linearizable": Encoding(
        None, None, "final states against the reference's serial finals", _linearizable_final
    ),
}


def encoding_for(prop: Property) -> Encoding | None:
    """The property's hand encoding, else its own hooks if it says they can run over
    symbolic values (``Property.symbolic_hooks``), else none."""
    if prop.name in HAND:
        return HAND[prop.name]
    if prop.symbolic_hooks:
        return generic(prop)
    return None
