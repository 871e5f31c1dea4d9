"""Symbolic values: z3 terms that a variant's Python code can compute with unchanged.

A step function is ordinary Python (``if t.start > vma.start: ...``). Run over a state whose
addresses are z3 terms, each comparison yields a :class:`SymBool`; when Python asks for its
truth value (``if``, ``and``, ``not``, ``max``, ``sorted``), the active :class:`Decider`
answers: it takes one side, records the condition in the path condition, and — when the
other side is satisfiable too — remembers it, so that the step is re-executed down every
feasible path (symbolic execution by re-execution, as ``Kernel.choose`` does for
nondeterministic choices). Each path of a step is one symbolic transition, with the
conjunction of its recorded conditions as its guard.

Addresses are unbounded integers, or 64-bit bit-vectors compared unsigned as the kernel's
``unsigned long`` (``--bits 64``), so ``start + len`` wraps as it does in the kernel.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import z3


class NotSymbolic(Exception):
    """Code a symbolic run cannot execute (a symbolic value used as a list index, ...)."""


class Infeasible(Exception):
    """The path being executed has become unsatisfiable: it is no transition."""


class Domain:
    """The sort of addresses: unbounded integers (``bits=None``) or ``bits``-bit vectors."""

    def __init__(self, bits: int | None = None) -> None:
        self.bits = bits
        self.sort: z3.SortRef = z3.IntSort() if bits is None else z3.BitVecSort(bits)

    def var(self, name: str) -> SymInt:
        return SymInt(z3.Const(name, self.sort))

    def const(self, value: int) -> z3.ExprRef:
        return z3.IntVal(value) if self.bits is None else z3.BitVecVal(value % (1 << self.bits), self.bits)

    def describe(self) -> str:
        return "unbounded integers" if self.bits is None else f"{self.bits}-bit unsigned"


def _coerce(value: Any, like: z3.ExprRef) -> z3.ExprRef:
    if isinstance(value, SymInt):
        return value.term
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        if z3.is_bv(like):
            width = like.size()
            return z3.BitVecVal(value % (1 << width), width)
        return z3.IntVal(value)
    raise TypeError(f"cannot combine a symbolic number with {type(value).__name__}")


class SymInt:
    """A symbolic integer (an address, a length, a page-table generation)."""

    __slots__ = ("term",)

    def __init__(self, term: z3.ExprRef) -> None:
        self.term = term

    @property
    def is_bv(self) -> bool:
        return z3.is_bv(self.term)

    def _o(self, other: Any) -> z3.ExprRef:
        return _coerce(other, self.term)

    # arithmetic ------------------------------------------------------------------------
    def __add__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        return SymInt(self.term + self._o(other))

    __radd__ = __add__

    def __sub__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        return SymInt(self.term - self._o(other))

    def __rsub__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        return SymInt(self._o(other) - self.term)

    def __mul__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        return SymInt(self.term * self._o(other))

    __rmul__ = __mul__

    def __floordiv__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        if self.is_bv:
            return SymInt(z3.UDiv(self.term, self._o(other)))
        return SymInt(self.term / self._o(other))  # z3's div floors for positive divisors

    def __mod__(self, other: Any) -> SymInt:
        if not isinstance(other, (int, SymInt)):
            return NotImplemented
        if self.is_bv:
            return SymInt(z3.URem(self.term, self._o(other)))
        return SymInt(self.term % self._o(other))

    def __neg__(self) -> SymInt:
        return SymInt(-self.term)

    # comparisons (unsigned for bit-vectors, as the kernel's unsigned long) --------------
    def __lt__(self, other: Any) -> SymBool:
        o = self._o(other)
        return SymBool(z3.ULT(self.term, o) if self.is_bv else self.term < o)

    def __le__(self, other: Any) -> SymBool:
        o = self._o(other)
        return SymBool(z3.ULE(self.term, o) if self.is_bv else self.term <= o)

    def __gt__(self, other: Any) -> SymBool:
        o = self._o(other)
        return SymBool(z3.UGT(self.term, o) if self.is_bv else self.term > o)

    def __ge__(self, other: Any) -> SymBool:
        o = self._o(other)
        return SymBool(z3.UGE(self.term, o) if self.is_bv else self.term >= o)

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, (int, SymInt)):
            return False
        return SymBool(self.term == self._o(other))

    def __ne__(self, other: object) -> Any:
        if not isinstance(other, (int, SymInt)):
            return True
        return SymBool(self.term != self._o(other))

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return bool(self != 0)

    def __index__(self) -> int:
        raise NotSymbolic("a symbolic number is used as an index or a count (range(), a list index)")

    def __repr__(self) -> str:
        return f"<{self.term}>"


class SymBool:
    """A symbolic condition; its truth value is decided by the active :class:`Decider`."""

    __slots__ = ("term",)

    def __init__(self, term: z3.BoolRef) -> None:
        self.term = term

    def __bool__(self) -> bool:
        if not _DECIDERS:
            raise NotSymbolic("a symbolic condition is decided outside a step")
        return _DECIDERS[-1].decide(self.term)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.term}>"


def ite(cond: Any, a: Any, b: Any, like: z3.ExprRef) -> Any:
    """``a if cond else b`` as one term, without forking the path."""
    c = cond.term if isinstance(cond, SymBool) else z3.BoolVal(bool(cond))
    return SymInt(z3.If(c, _coerce(a, like), _coerce(b, like)))


def smax(a: Any, b: Any) -> Any:
    """``max(a, b)`` without forking (unsigned for bit-vectors)."""
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        return max(a, b)
    like = a.term if isinstance(a, SymInt) else b.term
    return ite(SymInt(_coerce(a, like)) > b, a, b, like)


def smin(a: Any, b: Any) -> Any:
    if not isinstance(a, SymInt) and not isinstance(b, SymInt):
        return min(a, b)
    like = a.term if isinstance(a, SymInt) else b.term
    return ite(SymInt(_coerce(a, like)) < b, a, b, like)


def as_bool(value: Any) -> z3.BoolRef:
    """A Python bool or a :class:`SymBool` as a z3 Bool."""
    if isinstance(value, SymBool):
        return value.term
    if isinstance(value, z3.BoolRef):
        return value
    return z3.BoolVal(bool(value))


def lt(a: Any, b: Any) -> z3.BoolRef:
    """``a < b`` as a z3 Bool, never forking."""
    if isinstance(a, SymInt):
        return as_bool(a < b)
    if isinstance(b, SymInt):
        return as_bool(b > a)
    return z3.BoolVal(a < b)


def le(a: Any, b: Any) -> z3.BoolRef:
    if isinstance(a, SymInt):
        return as_bool(a <= b)
    if isinstance(b, SymInt):
        return as_bool(b >= a)
    return z3.BoolVal(a <= b)


# --- deciding conditions ------------------------------------------------------------------
_DECIDERS: list[Decider] = []


class Decider:
    """Decides the conditions of one path (see the module docstring).

    ``prefix`` replays earlier decisions; a new condition is checked against ``solver``
    (which holds what is known of the pre-state) and the path so far; when both outcomes
    are satisfiable the path takes ``True`` and the other outcome is left for a re-run.
    """

    def __init__(self, solver: z3.Solver | None, prefix: Sequence[int] = ()) -> None:
        self.solver = solver
        self.prefix = tuple(prefix)
        self.taken: list[int] = []
        self.arity: list[int] = []
        self.conds: list[z3.BoolRef] = []
        self.queries = 0
        self._pushed = False
        self._known: dict[int, tuple[z3.BoolRef, bool]] = {}

    def _sat(self, extra: z3.BoolRef) -> bool:
        if self.solver is None:
            return True
        self.queries += 1
        return self.solver.check(extra) != z3.unsat

    def _note(self, cond: z3.BoolRef) -> None:
        self.conds.append(cond)
        if self.solver is not None and self._pushed:
            self.solver.add(cond)

    def decide(self, cond: z3.BoolRef) -> bool:
        key = cond.get_id()
        known = self._known.get(key)
        if known is not None:  # asked before on this path (sorted() asks the same pairs)
            return known[1]
        value = self._decide(cond)
        self._known[key] = (cond, value)  # keeps the term alive: z3 reuses freed ids
        return value

    def _decide(self, cond: z3.BoolRef) -> bool:
        simple = z3.simplify(cond)
        if z3.is_true(simple):
            return True
        if z3.is_false(simple):
            return False
        pos = len(self.taken)
        if pos < len(self.prefix):
            value = bool(self.prefix[pos])
            arity = 2
        else:
            # the path so far is satisfiable, so one side is: one query when it is forced
            yes = self._sat(cond)
            no = self._sat(z3.Not(cond)) if yes else True
            value = yes
            arity = 2 if yes and no else 1
        self.taken.append(int(value))
        self.arity.append(arity)
        self._note(cond if value else z3.Not(cond))
        return value

    def choose(self, n: int) -> int:
        pos = len(self.taken)
        idx = self.prefix[pos] if pos < len(self.prefix) else 0
        self.taken.append(idx)
        self.arity.append(n)
        return idx

    def alternatives(self) -> list[tuple[int, ...]]:
        """Prefixes of the paths this run left unexplored."""
        out = []
        for pos in range(len(self.prefix), len(self.taken)):
            if self.arity[pos] == 2:
                out.append(tuple(self.taken[:pos]) + (1 - self.taken[pos],))
            elif self.arity[pos] > 2:
                out.extend(tuple(self.taken[:pos]) + (alt,) for alt in range(1, self.arity[pos]))
        return out

    def guard(self) -> z3.BoolRef:
        return z3.And(*self.conds) if self.conds else z3.BoolVal(True)

    @contextmanager
    def active(self) -> Iterator[Decider]:
        _DECIDERS.append(self)
        if self.solver is not None:
            # the path's conditions live in a solver scope: each query adds one assumption
            self.solver.push()
            self.solver.add(*self.conds)
            self._pushed = True
        try:
            yield self
        finally:
            _DECIDERS.pop()
            if self._pushed and self.solver is not None:
                self.solver.pop()
                self._pushed = False
