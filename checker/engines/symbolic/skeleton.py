"""Skeletons: a symbolic state with its numbers taken out, the locations of invariant inference.

A symbolic state is a discrete part (program counters, mmap_sem, which vmas exist, their
flags and tags, concrete locals) and numbers (vma bounds, symbolic locals and results, the
PTE and page-table arrays). :func:`split` separates the two: the *skeleton* is the state
with every number replaced by a typed hole, hashable; the *leaves* are the numbers, in a
fixed order. :func:`fill` puts z3 terms back into the holes.

The invariant inference (:mod:`vmacheck.checker.engines.symbolic.houdini`) works on skeletons: one
candidate invariant per skeleton over its leaves, and a step from a skeleton is what the
primitives do from the skeleton filled with fresh variables, i.e. from every state of that
shape the invariant allows, at once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import z3

from vmacheck.checker.engines.symbolic.terms import SymBool, SymInt
from vmacheck.protocol.state import PtRef, State, ThreadState, VmaRef


class Hole(NamedTuple):
    """Where a number was: ``kind`` is ``int`` (a SymInt), ``bool`` (a SymBool) or
    ``term`` (a raw z3 term, the arrays), with its sort for the last."""

    kind: str
    sort: Any  # the sort's s-expression, hashable


def _leaf(x: Any, leaves: list[Any], sorts: dict[str, z3.SortRef]) -> Any:
    if isinstance(x, SymInt):
        leaves.append(x.term)
        key = x.term.sort().sexpr()
        sorts[key] = x.term.sort()
        return Hole("int", key)
    if isinstance(x, SymBool):
        leaves.append(x.term)
        return Hole("bool", "Bool")
    if isinstance(x, z3.ExprRef):
        leaves.append(x)
        key = x.sort().sexpr()
        sorts[key] = x.sort()
        return Hole("term", key)
    if isinstance(x, PtRef):
        return PtRef(_leaf(x.table, leaves, sorts), _leaf(x.gen, leaves, sorts))
    if isinstance(x, VmaRef):
        return x
    if isinstance(x, tuple) and not hasattr(x, "_fields"):
        return tuple(_leaf(y, leaves, sorts) for y in x)
    return x


def split(state: State, sorts: dict[str, z3.SortRef]) -> tuple[Any, list[z3.ExprRef]]:
    """The state's skeleton key and its leaves (in the order :func:`fill` expects)."""
    leaves: list[Any] = []
    vmas = tuple(
        v._replace(start=_leaf(v.start, leaves, sorts), end=_leaf(v.end, leaves, sorts)) for v in state.vmas
    )
    ptes = _leaf(state.ptes, leaves, sorts)
    pts = _leaf(state.pts, leaves, sorts)
    threads = tuple(
        th._replace(
            locals=_leaf(th.locals, leaves, sorts),
            result=_leaf(th.result, leaves, sorts),
            changed=_leaf(th.changed, leaves, sorts),
        )
        for th in state.threads
    )
    key = State(vmas, state.map_count, ptes, pts, state.sem, threads)  # type: ignore[arg-type]
    return key, leaves


def holes(key: State) -> list[Hole]:
    """The holes of a skeleton key, in leaf order."""
    out: list[Hole] = []

    def walk(x: Any) -> None:
        if isinstance(x, Hole):
            out.append(x)
        elif isinstance(x, PtRef):
            walk(x.table)
            walk(x.gen)
        elif isinstance(x, tuple) and not isinstance(x, VmaRef) and not hasattr(x, "_fields"):
            for y in x:
                walk(y)

    for v in key.vmas:
        walk(v.start)
        walk(v.end)
    walk(key.ptes)
    walk(key.pts)
    for th in key.threads:
        walk(th.locals)
        walk(th.result)
        walk(th.changed)
    return out


def fill(key: State, terms: list[z3.ExprRef]) -> State:
    """The skeleton with its holes filled by ``terms`` (in leaf order)."""
    it = iter(terms)

    def put(x: Any) -> Any:
        if isinstance(x, Hole):
            t = next(it)
            if x.kind == "int":
                return SymInt(t)
            if x.kind == "bool":
                return SymBool(t)
            return t
        if isinstance(x, PtRef):
            return PtRef(put(x.table), put(x.gen))
        if isinstance(x, tuple) and not isinstance(x, VmaRef) and not hasattr(x, "_fields"):
            return tuple(put(y) for y in x)
        return x

    vmas = tuple(v._replace(start=put(v.start), end=put(v.end)) for v in key.vmas)
    ptes = put(key.ptes)
    pts = put(key.pts)
    threads = tuple(
        ThreadState(th.pc, put(th.locals), put(th.result), th.done, th.snapshot, put(th.changed))
        for th in key.threads
    )
    return State(vmas, key.map_count, ptes, pts, key.sem, threads)


__all__ = ["Hole", "fill", "holes", "split"]
