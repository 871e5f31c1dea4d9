"""``--engine symbolic``: bounded model checking with z3, proofs for every address layout.

Verdicts (see docs/symbolic.md):

- ``violated``: z3 found values of the variables and a schedule that break the property;
  when the values fit the scenario's own layout and arguments, the counterexample is
  replayed on the explicit model and reported as an ordinary schema-1 trace;
- ``proved``: every path of every interleaving ended within the depth bound and none
  violates the property, for every value of the variables (``--layout any``); or an
  inductive invariant inferred by :mod:`vmacheck.checker.engines.symbolic.houdini` excludes every violation,
  for paths of any length (``--proof``);
- ``holds``: the same, with the variables pinned to the scenario's values
  (``--layout scenario``: the explicit engine's model, checked symbolically);
- ``unknown``: the depth bound cut paths off, z3 gave up, or the property or a step has no
  symbolic encoding; the reason says which.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import z3

from vmacheck.checker.core.judge import Judge
from vmacheck.checker.core.replay import ReplayError
from vmacheck.checker.core.result import HOLDS, PROVED, UNKNOWN, VIOLATED, CheckResult, PropertyResult, Stats
from vmacheck.checker.core.search import ProgressFn
from vmacheck.checker.core.trace import build_trace
from vmacheck.checker.engines import (
    Engine,
    max_states_option,
    option,
    register,
    seconds,
    timeout_option,
    whole,
)
from vmacheck.checker.engines.symbolic import houdini
from vmacheck.checker.engines.symbolic.bmc import BoundedSearch, Exploration, Found, schedule_for
from vmacheck.checker.engines.symbolic.encodings import encoding_for
from vmacheck.checker.engines.symbolic.kernel import SymModel
from vmacheck.checker.engines.symbolic.terms import Domain, NotSymbolic
from vmacheck.properties.base import Property, Violation
from vmacheck.protocol.kernel import VariantError
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

DEFAULT_DEPTH = 60
DEFAULT_SOLVER_TIMEOUT = 60.0
# Per scenario, unless --timeout says otherwise: a proof over every layout can take far
# longer than an explicit run (mremap-into-range: more than ten minutes), and a check should end.
DEFAULT_TIMEOUT = 600.0


class SymbolicCheck:
    def __init__(
        self,
        model: Model,
        props: Sequence[Property],
        depth: int = DEFAULT_DEPTH,
        bits: int | None = None,
        layout: str = "any",
        solver_timeout: float = DEFAULT_SOLVER_TIMEOUT,
        timeout: float | None = None,
        progress: ProgressFn | None = None,
        max_states: int | None = None,
        proof: str = "auto",
        max_k: int = 3,
    ) -> None:
        self.max_k = max_k
        self.inferred: houdini.Outcome | None = None
        self.max_states = max_states
        self.proof = proof
        self.model = model
        self.props = list(props)
        self.depth = depth
        self.bits = bits
        self.layout = layout
        self.solver_timeout = solver_timeout
        self.timeout = timeout
        self.progress = progress

    def _progress(self, states: int, transitions: int, depth: int, seconds: float, frontier: int) -> None:
        if self.progress is not None:
            self.progress(Stats(states, transitions, depth, seconds, _peak_mb()), frontier)

    def run(self) -> CheckResult:
        t0 = time.monotonic()
        m = self.model
        results: dict[str, PropertyResult] = {}
        deadline = None if self.timeout is None else t0 + self.timeout
        try:
            sm = SymModel(m, Domain(self.bits), pinned=self.layout == "scenario")
            induced: dict[str, str] = {}
            why_not: dict[str, str] = {}
            bmc_props = self.props
            if self.proof == "invariant" and not sm.pinned:
                # prove first; BMC then only looks for counterexamples to what is left
                induced, why_not = self._induction(sm, self.props, deadline)
                bmc_props = [p for p in self.props if p.name not in induced]
            search = BoundedSearch(
                sm,
                bmc_props,
                self.depth,
                int(self.solver_timeout * 1000),
                self.timeout,  # its own budget: --proof invariant may have used all of the first
                self._progress,
                self.max_states,
            )
            ex = search.run()
            # only the depth bound, not a time or state bound: a model BMC cannot search in
            # time is one whose invariant takes longer still (docs/symbolic.md)
            if self.proof == "auto" and not sm.pinned and not ex.complete and ex.bound is None:
                open_ = [p for p in self.props if p.name not in ex.found and encoding_for(p) is not None]
                if open_:
                    # BMC could not exhaust the paths: try an inductive invariant, with a
                    # time budget of its own (BMC may have used all of --timeout)
                    budget = None if self.timeout is None else time.monotonic() + self.timeout
                    induced, why_not = self._induction(sm, open_, budget)
        except NotSymbolic as exc:
            for p in self.props:
                results[p.name] = PropertyResult(
                    p.name, UNKNOWN, reason=f"not symbolically executable: {exc}"
                )
            return CheckResult(m.variant.name, m.scenario.name, "symbolic", results, self._stats(None, t0))
        induced.update(self._k_induction(ex, induced, why_not))
        for p in self.props:
            if p.name in induced and p.name not in ex.found:
                results[p.name] = PropertyResult(p.name, PROVED, reason=induced[p.name])
                continue
            res = self._verdict(sm, p, ex)
            if res.verdict == UNKNOWN and p.name in why_not:
                res.reason = f"{res.reason}; no inductive invariant either: {why_not[p.name]}"
            results[p.name] = res
        bound = ex.bound
        if bound is None and not ex.complete and any(r.verdict == UNKNOWN for r in results.values()):
            bound = f"depth {self.depth}"
        if all(r.verdict != UNKNOWN for r in results.values()):
            bound = None
        return CheckResult(m.variant.name, m.scenario.name, "symbolic", results, self._stats(ex, t0), bound)

    def _k_induction(
        self, ex: Exploration, induced: dict[str, str], why_not: dict[str, str]
    ) -> dict[str, str]:
        """k-induction for what the invariant alone did not prove: the inductive step over
        chains of k steps, strengthened by the invariant; BMC's clean depth is the base."""
        h = None if self.inferred is None else self.inferred.houdini
        if h is None or h.fault() is not None or ex.complete:
            return {}
        out: dict[str, str] = {}
        budget = time.monotonic() + (self.timeout or DEFAULT_TIMEOUT)
        for name in list(why_not):
            if name in induced or name in ex.found or name in ex.undecided or name not in h.encodings:
                continue
            for k in range(1, self.max_k + 1):
                if ex.depth < k or time.monotonic() > budget:
                    break
                h.deadline = budget
                try:
                    ok, how = h.k_inductive(name, k)
                except houdini.GaveUp as exc:
                    why_not[name] += f"; k-induction gave up: {exc}"
                    break
                if ok:
                    out[name] = (
                        f"{how}, no violation within {ex.depth} steps (BMC): holds on paths of every"
                        " length, for every layout of the scenario's vmas, every argument and every TASK_SIZE"
                    )
                    break
                if k == self.max_k:
                    why_not[name] += f"; k-induction: {how}"
        return out

    def _induction(
        self, sm: SymModel, props: Sequence[Property], deadline: float | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Properties proved by an inferred inductive invariant (how), and why not the rest."""
        out = self.inferred = houdini.prove(
            sm,
            props,
            deadline,
            solver_timeout_ms=int(self.solver_timeout * 1000),
            pages=self.proof == "invariant",
            progress=lambda locs, edges, secs, todo: self._progress(locs, edges, 0, secs, todo),
        )
        where = f"{sm.domain.describe()} addresses"
        proved = {
            name: f"{how}: holds on paths of every length, for every layout of the scenario's"
            f" {len(sm.initial_vmas)} vmas, every argument and every TASK_SIZE ({where})"
            for name, how in out.proved.items()
        }
        return proved, dict(out.unproved)

    def _stats(self, ex: Exploration | None, t0: float) -> Stats:
        if ex is None:
            return Stats(0, 0, 0, time.monotonic() - t0, _peak_mb())
        return Stats(ex.states, ex.transitions, ex.depth, time.monotonic() - t0, _peak_mb())

    def _verdict(self, sm: SymModel, p: Property, ex: Exploration) -> PropertyResult:
        if encoding_for(p) is None:
            return PropertyResult(p.name, UNKNOWN, reason="property has no symbolic encoding yet")
        found = ex.found.get(p.name)
        if found is not None:
            return self._counterexample(sm, p, found)
        where = f"{sm.domain.describe()} addresses"
        if p.name in ex.undecided:
            return PropertyResult(p.name, UNKNOWN, reason=ex.undecided[p.name])
        if ex.bound is not None:
            more = " (raise --timeout)" if ex.timed_out else ""
            return PropertyResult(p.name, UNKNOWN, reason=f"stopped by {ex.bound} at depth {ex.depth}{more}")
        if not ex.complete:
            return PropertyResult(
                p.name,
                UNKNOWN,
                reason=f"no violation within {self.depth} steps, but longer paths remain (raise --depth)",
            )
        if sm.pinned:
            return PropertyResult(
                p.name, HOLDS, reason=f"every path of the scenario's own layout ended within {ex.depth} steps"
            )
        return PropertyResult(
            p.name,
            PROVED,
            reason=(
                f"every interleaving ends within {ex.depth} steps, for every layout of the scenario's"
                f" {len(sm.initial_vmas)} vmas, every argument and every TASK_SIZE ({where})"
            ),
        )

    def _counterexample(self, sm: SymModel, p: Property, found: Found) -> PropertyResult:
        s = z3.Solver()
        s.set("timeout", int(self.solver_timeout * 1000))
        s.add(sm.initial_condition(), found.node.pc, found.condition)
        if found.tr is not None:
            s.add(found.tr.guard)
        fits = s.check(*sm.scenario_values) == z3.sat
        if not fits and s.check() != z3.sat:
            return PropertyResult(
                p.name, UNKNOWN, reason="z3 could not produce the counterexample's values again"
            )
        zm = s.model()
        values = {name: _value(zm, v.term) for name, v in sm.variables.items()}
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        if not fits:
            steps = schedule_for(found, zm)
            told = ", ".join(f"T{tid} {label}" for tid, label in steps)
            v = p.violation(
                f"violated for {shown}, after {len(steps)} steps: {told} (outside the scenario's"
                " layout and arguments, so no trace replays on the explicit model; put those values"
                " in a scenario of your own to see it step by step)",
                details={"values": values, "schedule": [[tid, label] for tid, label in steps]},
            )
            return PropertyResult(p.name, VIOLATED, v, reason=f"z3 found values: {shown}")
        schedule = schedule_for(found, zm)
        initial, path, violation = _replay(self.model, p, values, schedule)
        trace = build_trace(self.model, p.name, violation, initial, path)
        trace.engine = "symbolic"
        trace.extra["search"] = {"engine": "symbolic", "values": values, "depth": len(path)}
        return PropertyResult(p.name, VIOLATED, violation, trace, reason=f"z3 chose {shown}")


def _value(zm: z3.ModelRef, term: z3.ExprRef) -> int:
    val = zm.eval(term, model_completion=True)
    return val.as_long() if hasattr(val, "as_long") else int(str(val))


def _paths(model: Model, state: State, schedule: list[tuple[int, str]]) -> Iterator[list[Transition]]:
    """Every path of the explicit model that takes ``schedule``'s steps (thread, label) in
    order: the solver's path fixes the branches a step takes, not its ``k.choose`` choices,
    so each step may match several transitions."""
    if not schedule:
        yield []
        return
    (tid, label), rest = schedule[0], schedule[1:]
    if state.threads[tid].done:
        return
    for tr in model.thread_successors(state, tid):
        if tr.label == label:
            for tail in _paths(model, tr.state, rest):
                yield [tr, *tail]


def _replay(
    model: Model, prop: Property, values: dict[str, int], schedule: list[tuple[int, str]]
) -> tuple[State, list[Transition], Violation]:
    """Run ``schedule`` on the explicit model from the initial state with ``values``'
    arguments and judge ``prop`` along it (the core's judge): the first path on which it is
    violated. None is an error of vmacheck (the engines disagree), never papered over."""
    start = next(
        (
            st
            for st in model.initial_states()
            if all(
                values.get(f"T{tid}.{name}") == val
                for tid, th in enumerate(st.threads)
                for name, val in model.programs[tid].args(th).items()
            )
        ),
        None,
    )
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    if start is None:
        raise ReplayError(
            f"z3's counterexample ({shown}): no initial state of the scenario has these arguments"
        )
    for path in _paths(model, start, schedule):
        judge = Judge(model, [prop])
        judge.state(start, 0)
        state = start
        for n, tr in enumerate(path, 1):
            judge.step(state, tr, n)
            judge.state(tr.state, n)
            state = tr.state
        if not model.successors(state):
            judge.end(state, len(path))
        found = judge.found.get(prop.name)
        if found is not None:
            return start, path[: found.where], found.violation
    told = ", ".join(f"T{tid} {label}" for tid, label in schedule)
    raise ReplayError(
        f"z3's counterexample to {prop.name} ({shown}; {told}) does not replay on the explicit model:"
        " the engines disagree"
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- registration ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SymbolicOptions:
    """Options of the symbolic engine (``vmacheck check --engine symbolic``)."""

    depth: int = option(
        "--depth",
        "explore paths of up to N steps; a property is proved only when every path ends within N",
        default=DEFAULT_DEPTH,
        parse=whole(1),
    )
    bits: int | None = option(
        "--bits",
        "addresses as 64-bit unsigned words, so start + len can wrap as in the kernel (default:"
        " unbounded integers)",
        parse=int,
        choices=(64,),
    )
    layout: str = option(
        "--layout",
        "'any' checks every layout of the scenario's vmas, every argument and TASK_SIZE; 'scenario'"
        " pins them to the scenario's values (the explicit engine's model)",
        default="any",
        choices=("any", "scenario"),
    )
    proof: str = option(
        "--proof",
        "with --layout any, how to prove. 'paths': only by exhausting every path within --depth;"
        " 'auto': that, and when paths remain, infer an inductive invariant (Houdini) to prove"
        " properties for paths of any length; 'invariant': infer the invariant first, with"
        " quantified atoms about pages too (slower), then search counterexamples to what it does"
        " not prove",
        default="auto",
        choices=("auto", "paths", "invariant"),
    )
    k_induction: int = option(
        "--k-induction",
        "for what the invariant alone does not prove, try k-induction (strengthened by the"
        " invariant) for k = 1..N (0 turns it off)",
        default=3,
        parse=whole(0),
    )
    solver_timeout: float = option(
        "--solver-timeout", "seconds z3 may spend on one query", default=DEFAULT_SOLVER_TIMEOUT, parse=seconds
    )
    max_states: int | None = max_states_option()
    timeout: float = timeout_option(DEFAULT_TIMEOUT)


def check(
    model: Model,
    props: Sequence[Property],
    options: SymbolicOptions = SymbolicOptions(),
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Run the symbolic engine on ``model``."""
    try:
        return SymbolicCheck(
            model,
            props,
            depth=options.depth,
            bits=options.bits,
            layout=options.layout,
            solver_timeout=options.solver_timeout,
            timeout=options.timeout,
            progress=progress,
            max_states=options.max_states,
            proof=options.proof,
            max_k=options.k_induction,
        ).run()
    except RecursionError as exc:
        raise VariantError(f"symbolic engine: {exc}") from exc


register(
    Engine(
        "symbolic",
        "z3: bounded model checking; proofs for every address layout when every path ends",
        check,
        SymbolicOptions,
    )
)
