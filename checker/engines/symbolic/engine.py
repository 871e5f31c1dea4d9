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

import argparse
import resource
import time
from collections.abc import Sequence
from typing import Any

import z3

from vmacheck.checker.core.result import HOLDS, PROVED, UNKNOWN, VIOLATED, CheckResult, PropertyResult, Stats
from vmacheck.checker.core.trace import build_trace
from vmacheck.checker.engines import Engine, register
from vmacheck.checker.engines.explicit import ProgressFn
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
        replayed = _replay(self.model, p, values, schedule)
        if isinstance(replayed, str):
            return PropertyResult(
                p.name,
                UNKNOWN,
                reason=f"z3's counterexample ({shown}) did not replay on the explicit model: {replayed}"
                " — a disagreement between the engines; please report it",
            )
        initial, path, violation = replayed
        trace = build_trace(self.model, p.name, violation, initial, path)
        trace.engine = "symbolic"
        trace.extra["search"] = {"engine": "symbolic", "values": values, "depth": len(path)}
        return PropertyResult(p.name, VIOLATED, violation, trace, reason=f"z3 chose {shown}")


def _value(zm: z3.ModelRef, term: z3.ExprRef) -> int:
    val = zm.eval(term, model_completion=True)
    return val.as_long() if hasattr(val, "as_long") else int(str(val))


def _replay(
    model: Model, prop: Property, values: dict[str, int], schedule: list[tuple[int, str]]
) -> tuple[State, list[Transition], Violation] | str:
    """Run ``schedule`` on the explicit model from the initial state with ``values``'
    arguments; the concrete property must be violated at its end."""
    start = None
    for st in model.initial_states():
        ok = True
        for tid, th in enumerate(st.threads):
            for name, val in model.programs[tid].args(th).items():
                if values.get(f"T{tid}.{name}") != val:
                    ok = False
        if ok:
            start = st
            break
    if start is None:
        return "no initial state has these arguments"
    state = start
    path: list[Transition] = []
    for i, (tid, label) in enumerate(schedule):
        trs = [t for t in model.thread_successors(state, tid) if t.label == label]
        if not trs:
            return f"step {i + 1}: T{tid} cannot run {label}"
        tr = trs[0]
        before = state
        path.append(tr)
        state = tr.state
        last = i == len(schedule) - 1
        v = prop.check_step(model, before, tr) or prop.check_state(model, state)
        if v is None and last and all(th.done for th in state.threads):
            v = prop.check_final(model, state)
        if v is not None:
            return start, path, v
    if not schedule:
        v = prop.check_state(model, state)
        if v is not None:
            return start, path, v
    if not model.successors(state) and any(not th.done for th in state.threads):
        v = prop.check_stuck(model, state)
        if v is not None:
            return start, path, v
    return "the property holds at the end of the schedule"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- registration ---------------------------------------------------------------------------
def _run(
    model: Model, props: Sequence[Property], opts: argparse.Namespace, progress: ProgressFn | None
) -> CheckResult:
    try:
        return SymbolicCheck(
            model,
            props,
            depth=getattr(opts, "depth", None) or DEFAULT_DEPTH,
            bits=getattr(opts, "bits", None),
            layout=getattr(opts, "layout", None) or "any",
            solver_timeout=getattr(opts, "solver_timeout", None) or DEFAULT_SOLVER_TIMEOUT,
            timeout=getattr(opts, "timeout", None) or DEFAULT_TIMEOUT,
            progress=progress,
            max_states=getattr(opts, "max_states", None),
            proof=getattr(opts, "proof", None) or "auto",
            max_k=3 if getattr(opts, "k_induction", None) is None else opts.k_induction,
        ).run()
    except RecursionError as exc:
        raise VariantError(f"symbolic engine: {exc}") from exc


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def _arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--depth",
        type=_positive(int),
        metavar="K",
        help=f"symbolic: explore paths of up to K steps (default {DEFAULT_DEPTH}); a property is"
        " proved only when every path ends within K",
    )
    group.add_argument(
        "--bits",
        type=int,
        choices=(64,),
        help="symbolic: addresses as 64-bit unsigned words, so start + len can wrap as in the kernel"
        " (default: unbounded integers)",
    )
    group.add_argument(
        "--layout",
        choices=("any", "scenario"),
        help="symbolic: 'any' (default) checks every layout of the scenario's vmas, every argument"
        " and TASK_SIZE; 'scenario' pins them to the scenario's values (the explicit engine's model)",
    )
    group.add_argument(
        "--proof",
        choices=("auto", "paths", "invariant"),
        help="symbolic, with --layout any: how to prove. 'paths': only by exhausting every path"
        " within --depth; 'auto' (default): that, and when paths remain, infer an inductive"
        " invariant (Houdini) to prove properties for paths of any length; 'invariant': infer the"
        " invariant first, with quantified atoms about pages too (slower), then search"
        " counterexamples to what it does not prove",
    )
    group.add_argument(
        "--k-induction",
        type=_natural,
        metavar="K",
        help="symbolic: for what the invariant alone does not prove, try k-induction (strengthened"
        " by the invariant) for k = 1..K (default 3; 0 turns it off)",
    )
    group.add_argument(
        "--solver-timeout",
        type=_positive(float),
        metavar="S",
        help=f"symbolic: seconds z3 may spend on one query (default {DEFAULT_SOLVER_TIMEOUT:g})",
    )


register(
    Engine(
        "symbolic",
        "z3: bounded model checking; proofs for every address layout when every path ends",
        _run,
        _arguments,
    )
)
