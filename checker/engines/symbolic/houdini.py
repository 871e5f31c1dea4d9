"""Unbounded proofs by inductive invariants, inferred Houdini-style over skeleton locations.

BMC proves a property only by exhausting every path, which fails for a loop whose count is
symbolic (zap a range one page per step: ``len`` iterations, any ``len``). This module proves
properties for paths of *every* length.

A *location* is a skeleton (:mod:`vmacheck.checker.engines.symbolic.skeleton`): the discrete part of a state
(program counters, mmap_sem, which vmas exist, concrete locals), its numbers left open as
fresh variables. Each location carries a candidate invariant: a conjunction of atoms over its
numbers, the initial variables (ghosts: every vma bound, argument, TASK_SIZE) and 0 —
``a <= b`` and ``a < b`` for every ordered pair, and ``b`` / ``not b`` for each boolean.

Houdini's fixpoint (Flanagan & Leino, 2001) removes atoms until the invariant is inductive:

- the initial state satisfies the initial location's invariant;
- from every state satisfying a location's invariant, every feasible path of every step
  (run symbolically from the location's variables, exactly as BMC runs it) leads to a state
  satisfying its destination's invariant.

Atoms are removed by counterexample: when z3 finds a post-state that breaks the conjunction,
every atom false in that model goes. A location is (re)explored when its invariant weakens;
new locations start with every atom. The result is an inductive invariant per location, so
it holds in every reachable state, of any depth, for every value of the variables.

A property is then **proved** if no state satisfying its location's invariant violates it
(the property's encoding, the same as BMC's, is unsatisfiable under the invariant); and no
step *raises* (a model error) from a state the invariant allows. What the invariant cannot
express is never proved: facts about PTEs page by page would need quantifiers (``every
mapped page lies in a vma``), so properties judged on pages are usually left unknown here;
:meth:`Houdini.pages` adds a few such quantified atoms on request.

:meth:`Houdini.k_inductive` is k-induction strengthened by the invariant: chains of ``k``
steps between locations, from states the invariant allows, on BMC's clean depth as the base.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from vmacheck.checker.engines.symbolic.encodings import Encoding, encoding_for
from vmacheck.checker.engines.symbolic.kernel import SymModel, SymTransition
from vmacheck.checker.engines.symbolic.skeleton import fill, holes, split
from vmacheck.checker.engines.symbolic.terms import SymInt, le, lt
from vmacheck.properties.base import Property
from vmacheck.protocol.state import FREED, LINKED, State


class GaveUp(Exception):
    """The inference passed a bound (locations, time) or z3 answered unknown."""


@dataclass
class Location:
    id: int
    key: Any
    vars: list[z3.ExprRef]
    state: State
    atoms: dict[int, z3.BoolRef]  # candidate id -> atom over vars and ghosts
    explored: bool = False
    trs: list[SymTransition] = field(default_factory=list)
    dsts: list[int] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    pages: dict[str, z3.BoolRef] = field(default_factory=dict)  # quantified page atoms
    _cached: tuple[int, z3.BoolRef] | None = None

    def invariant(self) -> z3.BoolRef:
        # atoms are only ever removed, so their number says whether the cache is current
        if self._cached is None or self._cached[0] != len(self.atoms):
            self._cached = (len(self.atoms), conjunction(list(self.atoms.values())))
        return self._cached[1]

    def full(self) -> z3.BoolRef:
        return z3.And(self.invariant(), *self.pages.values())


def conjunction(terms: list[z3.BoolRef]) -> z3.BoolRef:
    """``And(*terms)`` without z3py's per-argument sort checks (thousands of atoms)."""
    if not terms:
        return z3.BoolVal(True)
    if len(terms) == 1:
        return terms[0]
    ctx = terms[0].ctx
    arr = (z3.Ast * len(terms))(*[t.as_ast() for t in terms])
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(terms), arr), ctx)


def _true_args(m: z3.ModelRef, conj: z3.BoolRef) -> list[bool]:
    """Which arguments of the conjunction ``conj`` are true in ``m``: through z3's C API,
    since z3py's per-call wrapping dominates with thousands of atoms."""
    ctx = conj.ctx.ref()
    app = z3.Z3_to_app(ctx, conj.as_ast())
    out = []
    val = (z3.Ast * 1)()
    for j in range(z3.Z3_get_app_num_args(ctx, app)):
        arg = z3.Z3_get_app_arg(ctx, app, j)
        ok = z3.Z3_model_eval(ctx, m.model, arg, True, val)
        out.append(bool(ok) and z3.Z3_get_bool_value(ctx, val[0]) == z3.Z3_L_TRUE)
    return out


@dataclass
class Outcome:
    proved: dict[str, str] = field(default_factory=dict)  # property -> how
    unproved: dict[str, str] = field(default_factory=dict)  # property -> why not
    locations: int = 0
    atoms: int = 0
    queries: int = 0
    seconds: float = 0.0
    houdini: Houdini | None = None  # the inference, when it ended (for k-induction)


def _atoms(sm: SymModel, vars_: list[z3.ExprRef], ghosts: list[z3.ExprRef]) -> dict[int, z3.BoolRef]:
    nums = [v for v in vars_ if not z3.is_array(v) and not z3.is_bool(v)]
    terms = nums + ghosts + [sm.domain.const(0)]
    out: list[z3.BoolRef] = []
    for i, a in enumerate(terms):
        for j, b in enumerate(terms):
            if i == j or (i >= len(nums) and j >= len(nums)):
                continue  # relations among the ghosts are the initial condition's business
            out += [le(SymInt(a), SymInt(b)), lt(SymInt(a), SymInt(b))]
    for v in vars_:
        if z3.is_bool(v):
            out += [v, z3.Not(v)]
    return dict(enumerate(out))


def _page_atoms(sm: SymModel, st: State) -> dict[str, z3.BoolRef]:
    """Quantified atoms about pages: every PTE lies in a vma of its mapping, every
    page-table page lies under a vma, every PTE sits in an allocated page table — over the
    linked vmas, or the vmas not yet freed (an unmap in flight holds detached ones)."""
    ptes, pts = st.ptes, st.pts
    if not (isinstance(ptes, z3.ExprRef) and isinstance(pts, z3.ExprRef)):
        return {}
    d = sm.domain
    p = z3.Const("page", d.sort)
    i = z3.Const("table", d.sort)
    page, index = SymInt(p), SymInt(i)
    pte = z3.Select(ptes, p)
    out: dict[str, z3.BoolRef] = {}
    groups = {
        "linked": [v for v in st.vmas if v.status == LINKED],
        "held": [v for v in st.vmas if v.status != FREED],
    }
    for name, vmas in groups.items():
        ins = [z3.And(le(v.start, page), lt(page, v.end), pte == sm.code(v.tag)) for v in vmas]
        out[f"pte_in_{name}"] = z3.ForAll(
            [p], z3.Implies(pte != 0, z3.Or(*ins) if ins else z3.BoolVal(False))
        )
        under = [sm._overlaps_table(v, index) for v in vmas]
        fits = lt(index * sm.pt_span, (index + 1) * sm.pt_span) if d.bits is not None else z3.BoolVal(True)
        out[f"table_under_{name}"] = z3.ForAll(
            [i],
            z3.Implies(z3.And(z3.Select(pts, i) > 0, fits), z3.Or(*under) if under else z3.BoolVal(False)),
        )
    table = (page // sm.pt_span).term
    out["pte_has_table"] = z3.ForAll([p], z3.Implies(pte != 0, z3.Select(pts, table) > 0))
    return out


class Houdini:
    """The inference for one symbolic model: :meth:`run`, then :meth:`judge`."""

    def __init__(
        self,
        sm: SymModel,
        props: Sequence[Property],
        max_locations: int = 2_000,
        deadline: float | None = None,
        solver_timeout_ms: int = 60_000,
        progress: Callable[[int, int, float, int], None] | None = None,
    ) -> None:
        self.progress = progress  # (locations, transitions, seconds, locations to explore)
        self.t0 = time.monotonic()
        self.sm = sm
        self.props = list(props)
        self.max_locations = max_locations
        self.deadline = deadline
        self.solver_timeout_ms = solver_timeout_ms
        self.ghosts = [v.term for v in sm.variables.values()]
        self.sorts: dict[str, z3.SortRef] = {}
        self.locations: list[Location] = []
        self.index: dict[Any, int] = {}
        self.queries = 0
        self.encodings: dict[str, Encoding] = {
            p.name: e for p in self.props if (e := encoding_for(p)) is not None
        }

    # --- locations ------------------------------------------------------------------------
    def _locate(self, key: Any) -> Location:
        have = self.index.get(key)
        if have is not None:
            return self.locations[have]
        if len(self.locations) >= self.max_locations:
            raise GaveUp(f"more than {self.max_locations:,} locations")
        lid = len(self.locations)
        vs = []
        for j, h in enumerate(holes(key)):
            sort = z3.BoolSort() if h.kind == "bool" else self.sorts[h.sort]
            vs.append(z3.Const(f"L{lid}.{j}", sort))
        loc = Location(lid, key, vs, fill(key, vs), _atoms(self.sm, vs, self.ghosts))
        self.locations.append(loc)
        self.index[key] = lid
        return loc

    def _solver(self) -> z3.Solver:
        s = z3.Solver()
        s.set("timeout", self.solver_timeout_ms)
        s.add(self.sm.initial_condition())
        return s

    def _check(self, s: z3.Solver, *extra: z3.BoolRef, quiet: bool = False) -> z3.CheckSatResult:
        """``quiet``: an unknown answer is returned, not raised (the caller treats it as
        "could be satisfiable")."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise GaveUp("the time limit passed")
        self.queries += 1
        r = s.check(*extra)
        if r == z3.unknown and not quiet:
            raise GaveUp(f"z3 answered unknown ({s.reason_unknown()})")
        return r

    def _weaken(self, s: z3.Solver, loc: Location, args: list[z3.ExprRef]) -> bool:
        """Drop the atoms of ``loc`` that a state allowed by ``s`` breaks when ``loc``'s
        variables take the values ``args``. True if any atom was dropped."""
        sub = list(zip(loc.vars, args))
        dropped = False
        while loc.atoms:
            whole = z3.substitute(loc.invariant(), *sub)  # one substitution, in z3
            if self._check(s, z3.Not(whole)) != z3.sat:
                break
            m = s.model()
            ids = list(loc.atoms)
            if len(ids) > 1 and z3.is_and(whole) and whole.num_args() == len(ids):
                gone = [ids[j] for j, true in enumerate(_true_args(m, whole)) if not true]
            else:
                inst = {i: z3.substitute(a, *sub) for i, a in loc.atoms.items()}
                gone = [i for i, a in inst.items() if not z3.is_true(m.eval(a, model_completion=True))]
            if not gone:  # z3's model disagrees with its own answer: keep nothing unproved
                gone = ids
            for i in gone:
                del loc.atoms[i]
            dropped = True
        return dropped

    def _along(
        self,
        s: z3.Solver,
        tr: SymTransition,
        weaken: Callable[[z3.Solver, Location, list[z3.ExprRef]], bool],
        dst: Location,
        args: list[z3.ExprRef],
    ) -> bool:
        """``weaken(s, dst, args)`` with the transition's path condition added to ``s``."""
        s.push()
        s.add(tr.guard)
        try:
            return weaken(s, dst, args)
        finally:
            s.pop()

    def fault(self) -> str | None:
        """A step that raises from a state some invariant allows (then nothing is proved)."""
        return next((f for loc in self.locations for f in loc.faults), None)

    # --- the fixpoint ---------------------------------------------------------------------
    def run(self) -> None:
        key, args = split(self.sm.initial_state(), self.sorts)
        init = self._locate(key)
        s = self._solver()
        self._weaken(s, init, args)
        todo = [init.id]
        saved, self.sm.faults = self.sm.faults, []
        try:
            explored = 0
            while todo:
                loc = self.locations[todo.pop()]
                explored += 1
                if self.progress is not None and explored % 10 == 0:
                    edges = sum(len(x.trs) for x in self.locations)
                    self.progress(len(self.locations), edges, time.monotonic() - self.t0, len(todo))
                for dst in self._explore(loc):
                    if dst not in todo:
                        todo.append(dst)
        finally:
            self.sm.faults = saved

    def _explore(self, loc: Location) -> list[int]:
        """Run every step from ``loc`` under its invariant; weaken the destinations. The
        locations to (re)explore: destinations that weakened or are new."""
        assert self.sm.faults is not None
        s = self._solver()
        s.add(loc.invariant())
        loc.explored = True
        if self._check(s) == z3.unsat:
            loc.trs, loc.dsts, loc.faults = [], [], []
            return []
        trs = self.sm.successors(loc.state, s)
        loc.faults = [f"T{f.tid} {f.label}: {f.message}" for f in self.sm.faults]
        self.sm.faults.clear()
        loc.trs, loc.dsts = trs, []
        again: list[int] = []
        for tr in trs:
            key, args = split(tr.state, self.sorts)
            dst = self._locate(key)
            loc.dsts.append(dst.id)
            weakened = self._along(s, tr, self._weaken, dst, args)
            if (weakened or not dst.explored) and dst.id not in again:
                again.append(dst.id)
        return again

    # --- page atoms (second phase) ------------------------------------------------------------
    def pages(self, timeout_ms: int = 2_000) -> None:
        """Add the page atoms that are inductive relative to the invariant found so far.

        The edges stay those computed under the quantifier-free invariant: they cover every
        state it allows, so also every state that satisfies the page atoms too. A query z3
        cannot decide drops the atom (never keeps one unproved)."""
        for loc in self.locations:
            loc.pages = _page_atoms(self.sm, loc.state)
        key, args = split(self.sm.initial_state(), self.sorts)
        init = self.locations[self.index[key]]
        s = self._solver()
        s.set("timeout", timeout_ms)
        self._weaken_pages(s, init, args)
        todo = [loc.id for loc in self.locations]
        while todo:
            loc = self.locations[todo.pop()]
            s = self._solver()
            s.set("timeout", timeout_ms)
            s.add(loc.full())
            if self._check(s, quiet=True) == z3.unsat:
                continue  # no state allowed here: nothing leaves it
            for tr, did in zip(loc.trs, loc.dsts):
                dst = self.locations[did]
                if not dst.pages:
                    continue
                _, args = split(tr.state, self.sorts)
                weakened = self._along(s, tr, self._weaken_pages, dst, args)
                if weakened and dst.id not in todo:
                    todo.append(dst.id)

    def _weaken_pages(self, s: z3.Solver, loc: Location, args: list[z3.ExprRef]) -> bool:
        sub = list(zip(loc.vars, args))
        inst = {n: z3.substitute(a, *sub) for n, a in loc.pages.items()}
        if not inst or self._check(s, z3.Not(z3.And(*inst.values())), quiet=True) == z3.unsat:
            return False
        for n, a in inst.items():
            if self._check(s, z3.Not(a), quiet=True) != z3.unsat:
                del loc.pages[n]
        return True

    # --- properties -----------------------------------------------------------------------
    def judge(self, props: Sequence[Property] | None = None) -> Outcome:
        out = Outcome(
            locations=len(self.locations), atoms=sum(len(x.atoms) + len(x.pages) for x in self.locations)
        )
        fault = self.fault()
        pages = sum(len(x.pages) for x in self.locations)
        for p in self.props if props is None else props:
            enc = self.encodings.get(p.name)
            if enc is None:
                out.unproved[p.name] = "property has no symbolic encoding yet"
                continue
            if fault is not None:
                out.unproved[p.name] = (
                    f"the inferred invariant allows a state where a step raises ({fault}); too weak to prove"
                )
                continue
            where = self._violable(enc, p.name)
            if where is None:
                kind = f", {pages:,} of them about pages" if pages else ""
                out.proved[p.name] = (
                    f"inductive invariant over {len(self.locations):,} locations"
                    f" ({out.atoms:,} atoms{kind}, inferred by Houdini)"
                )
            else:
                out.unproved[p.name] = f"the inferred invariant is too weak at {where}"
        out.queries = self.queries
        return out

    def _conditions(self, enc: Encoding, loc: Location, s: z3.Solver) -> list[z3.BoolRef]:
        """The property's violation conditions at ``loc`` (its state, its steps, being final
        or stuck there), over ``loc``'s variables: the encodings BMC uses."""
        sm, st = self.sm, loc.state
        conds: list[z3.BoolRef] = []
        if enc.state is not None:
            conds += enc.state(sm, st, s)
        if all(th.done for th in st.threads) and enc.final is not None:
            conds += enc.final(sm, st, s)
        if enc.step is not None:
            for tr in loc.trs:
                conds += enc.step(sm, st, tr, s)
        if enc.stuck is not None and any(not th.done for th in st.threads):
            stuck = z3.Not(z3.Or(*[tr.guard for tr in loc.trs])) if loc.trs else z3.BoolVal(True)
            conds += enc.stuck(sm, st, stuck, s)
        return conds

    def _where(self, loc: Location) -> str:
        pcs = ", ".join(
            f"T{t} {self.sm.model.programs[t].steps[th.pc].label if not th.done else 'returned'}"
            for t, th in enumerate(loc.state.threads)
        )
        return f"location {loc.id} ({pcs})"

    def _violable(self, enc: Encoding, name: str) -> str | None:
        for loc in self.locations:
            s = self._solver()
            s.add(loc.full())
            if self._check(s, quiet=True) == z3.unsat:
                continue
            for c in self._conditions(enc, loc, s):
                if self._check(s, c, quiet=True) != z3.unsat:
                    return self._where(loc)
        return None

    # --- k-induction, strengthened by the invariant ----------------------------------------------
    def k_inductive(self, prop: str, k: int, max_chains: int = 50_000) -> tuple[bool, str]:
        """The inductive step of k-induction for ``prop``: along every chain of ``k`` steps
        between locations, from states allowed by the invariant where ``prop`` is not
        violated at the first ``k`` states, it is not violated at the last. The base case
        (no violation within the first ``k`` steps from the initial state) is BMC's, and the
        caller's to check. Faults are excluded beforehand (see :meth:`judge`)."""
        enc = self.encodings[prop]
        bad: dict[int, z3.BoolRef] = {}
        for loc in self.locations:
            s = self._solver()
            s.add(loc.full())
            conds = self._conditions(enc, loc, s)
            bad[loc.id] = z3.Or(*conds) if conds else z3.BoolVal(False)
        s = self._solver()
        chains = 0

        def walk(loc: Location, sub: list[tuple[z3.ExprRef, z3.ExprRef]], depth: int) -> str | None:
            nonlocal chains
            inv = z3.substitute(loc.full(), *sub) if sub else loc.full()
            here = z3.substitute(bad[loc.id], *sub) if sub else bad[loc.id]
            if depth == k:
                chains += 1
                if chains > max_chains:
                    return f"more than {max_chains:,} chains of {k} steps"
                if self._check(s, inv, here, quiet=True) != z3.unsat:
                    return (
                        f"not {k}-inductive: a chain of {k} steps ends in a violation at {self._where(loc)}"
                    )
                return None
            s.push()
            s.add(inv, z3.Not(here))
            try:
                for tr, did in zip(loc.trs, loc.dsts):
                    guard = z3.substitute(tr.guard, *sub) if sub else tr.guard
                    if self._check(s, guard, quiet=True) == z3.unsat:
                        continue
                    dst = self.locations[did]
                    _, args = split(tr.state, self.sorts)
                    nxt = [(v, z3.substitute(a, *sub) if sub else a) for v, a in zip(dst.vars, args)]
                    s.push()
                    s.add(guard)
                    try:
                        why = walk(dst, nxt, depth + 1)
                    finally:
                        s.pop()
                    if why is not None:
                        return why
            finally:
                s.pop()
            return None

        for loc in self.locations:
            why = walk(loc, [], 0)
            if why is not None:
                return False, why
        return True, f"{k}-inductive relative to the invariant ({chains:,} chains of {k} steps)"


def prove(
    sm: SymModel,
    props: Sequence[Property],
    deadline: float | None = None,
    max_locations: int = 2_000,
    solver_timeout_ms: int = 60_000,
    pages: bool = False,
    progress: Callable[[int, int, float, int], None] | None = None,
) -> Outcome:
    """Infer an inductive invariant and judge ``props`` with it (see the module docstring).
    ``pages``: then add the quantified page atoms for what is left (slower: minutes)."""
    t0 = time.monotonic()
    h = Houdini(sm, props, max_locations, deadline, solver_timeout_ms, progress)
    try:
        h.run()
        out = h.judge()
    except GaveUp as exc:
        out = Outcome(locations=len(h.locations), queries=h.queries)
        for p in props:
            out.unproved[p.name] = f"invariant inference gave up: {exc}"
        out.seconds = time.monotonic() - t0
        return out
    rest = [p for p in props if p.name in out.unproved and p.name in h.encodings]
    if pages and rest and h.fault() is None:
        # facts about pages: a second, quantified round, only when something is left
        try:
            h.pages()
            again = h.judge(rest)
        except GaveUp as exc:
            for p in rest:
                out.unproved[p.name] += f" (and the page round gave up: {exc})"
        else:
            for name, how in again.proved.items():
                out.proved[name] = how
                del out.unproved[name]
            out.unproved.update(again.unproved)
            out.atoms = again.atoms
    out.queries = h.queries
    out.houdini = h
    out.seconds = time.monotonic() - t0
    return out
