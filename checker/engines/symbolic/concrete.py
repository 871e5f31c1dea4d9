"""Between concrete and symbolic states: lift a concrete state into z3 terms (its numbers as
fresh variables pinned to their values) and evaluate a symbolic state back under a model.

This is what the agreement tests stand on: for a concrete state and a step, the symbolic
successors of the lifted state, evaluated, must be exactly the concrete successors.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import z3

from vmacheck.checker.engines.symbolic.kernel import SymModel
from vmacheck.checker.engines.symbolic.terms import SymBool, SymInt
from vmacheck.protocol.state import PtRef, State, ThreadState, Vma, VmaRef

_fresh = itertools.count()


def lift(sm: SymModel, state: State) -> tuple[State, list[z3.BoolRef]]:
    """``state`` with every address, length and generation a fresh z3 variable, and the
    equations that pin the variables to ``state``'s values."""
    d = sm.domain
    eqs: list[z3.BoolRef] = []

    def addr(value: int) -> SymInt:
        v = d.var(f"x{next(_fresh)}")
        eqs.append(v.term == d.const(value))
        return v

    def gen(value: int) -> SymInt:
        v = SymInt(z3.Int(f"g{next(_fresh)}"))
        eqs.append(v.term == value)
        return v

    def local(x: object) -> object:
        if isinstance(x, bool) or isinstance(x, VmaRef) or not isinstance(x, int):
            if isinstance(x, PtRef):
                return PtRef(addr(x.table), gen(x.gen))  # type: ignore[arg-type]
            return x
        return addr(x)

    vmas = tuple(v._replace(start=addr(v.start), end=addr(v.end)) for v in state.vmas)  # type: ignore[arg-type]
    p = z3.Const("p", d.sort)
    body: z3.ExprRef = z3.IntVal(0)
    for page, tag in enumerate(state.ptes):
        if tag is not None:
            body = z3.If(p == d.const(page), sm.code(tag), body)
    ptes = z3.Lambda([p], body)
    i = z3.Const("i", d.sort)
    tbody: z3.ExprRef = z3.IntVal(0)
    for index, g in enumerate(state.pts):
        if g != 0:
            tbody = z3.If(i == d.const(index), g, tbody)
    pts = z3.Lambda([i], tbody)

    def param(tid: int, name: str, x: object) -> object:
        # A syscall's arguments are the model's own variables (T0.start, ...), so that
        # terms built from them elsewhere (the reference executions) mean the same values.
        var = sm.variables.get(f"T{tid}.{name}")
        if var is None or not isinstance(x, int) or isinstance(x, bool):
            return local(x)
        eqs.append(var.term == d.const(x))
        return var

    threads = tuple(
        th._replace(
            locals=tuple(
                param(tid, n, x) if n in prog.params else local(x) for n, x in zip(prog.names, th.locals)
            ),
            result=th.result,
        )
        for tid, (th, prog) in enumerate(zip(state.threads, sm.model.programs))
    )
    eqs.append(sm.task_size.term == d.const(sm.model.pages))
    return State(vmas, state.map_count, ptes, pts, state.sem, threads), eqs  # type: ignore[arg-type]


def _int(zm: z3.ModelRef, x: Any, solver: z3.Solver) -> int:
    term = x.term if isinstance(x, SymInt) else x
    val = zm.eval(term, model_completion=True)
    if not (z3.is_int_value(val) or z3.is_bv_value(val)):
        # a quantified term (move_page_tables' "a PTE arrives here"): let z3 solve for it
        y = z3.FreshConst(term.sort())
        solver.push()
        solver.add(y == term)
        assert solver.check() == z3.sat
        val = solver.model().eval(y, model_completion=True)
        solver.pop()
    return int(val.as_long())


def _truth(solver: z3.Solver, cond: z3.BoolRef) -> bool:
    """Whether ``cond`` holds in the solver's (unique) model; quantified conditions too."""
    return solver.check(cond) == z3.sat


def concretize(sm: SymModel, state: State, solver: z3.Solver) -> State:
    """Evaluate ``state`` in the model of ``solver``'s assertions (which must pin every
    variable, as :func:`lift`'s equations do)."""
    assert solver.check() == z3.sat
    zm = solver.model()

    def val(x: object) -> object:
        if isinstance(x, SymInt):
            return _int(zm, x, solver)
        if isinstance(x, SymBool):
            return _truth(solver, x.term)
        if isinstance(x, PtRef):
            return PtRef(cast(int, val(x.table)), cast(int, val(x.gen)))
        return x

    vmas = tuple(
        Vma(v.id, cast(int, val(v.start)), cast(int, val(v.end)), v.flags, v.tag, v.status, v.owner)
        for v in state.vmas
    )
    pages = sm.model.pages
    ptes = tuple(
        sm.code_tag.get(_int(zm, z3.Select(state.ptes, sm.domain.const(p)), solver)) for p in range(pages)
    )  # type: ignore[arg-type]
    pts = tuple(
        _int(zm, z3.Select(state.pts, sm.domain.const(i)), solver) for i in range(pages // sm.pt_span)
    )  # type: ignore[arg-type]
    threads = tuple(
        ThreadState(
            th.pc,
            tuple(val(x) for x in th.locals),
            val(th.result),
            th.done,
            th.snapshot,
            bool(val(th.changed)),
        )
        for th in state.threads
    )
    return State(vmas, state.map_count, ptes, pts, state.sem, threads)
