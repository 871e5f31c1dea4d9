"""The breadth-first search every exhaustive engine runs: bounds, deadline, progress, verdicts.

States are encoded (:mod:`~vmacheck.checker.core.encoding`), canonicalised
(:mod:`~vmacheck.checker.core.canon`), stored in a seen-set (:mod:`~vmacheck.checker.core.seen`)
under their canonical component tuple (exact) or their 64-bit fingerprint, and expanded level
by level with cached steps (:mod:`~vmacheck.checker.core.stepper`). Level by level, so the
first violation of a property lies at the smallest depth and its trace is a shortest one;
the trace is rebuilt afterwards by strict replay along the parent links
(:mod:`~vmacheck.checker.core.replay`) and judged again on real states, so its message names
the trace's own threads.

A level is expanded in batches: the successors of a batch of states are inserted into the
seen-set at once (which is what lets the fingerprint store stay in numpy arrays), in the
order a one-by-one search would meet them, so state numbers and traces do not depend on the
batch size.

The search runs until every property has a verdict: it stops early when all are violated,
and otherwise explores everything (then the others ``hold``) or stops at ``max_states`` or
``timeout`` (then they are ``unknown``, with what was explored).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from vmacheck.properties.base import Property
from vmacheck.protocol.model import Model
from vmacheck.protocol.state import State

from .canon import Canonicaliser
from .encoding import Comp, Components
from .fingerprint import fingerprint
from .frontier import Frontier
from .judge import Found, MemoJudge
from .replay import ReplayError, rebuild
from .result import HOLDS, UNKNOWN, VIOLATED, CheckResult, PropertyResult, Stats
from .seen import ExactStore, FingerprintStore, SeenSet
from .stepper import Stepper
from .trace import Trace, build_trace

ProgressFn = Callable[[Stats, int], None]


@dataclass(frozen=True)
class SearchOptions:
    """How a breadth-first search runs (the explicit engine's options map onto these)."""

    max_states: int | None = None
    timeout: float | None = None  # seconds
    reduce_ids: bool = True  # vma-id renaming
    symmetry: bool = True  # thread symmetry
    exact: bool = False  # store canonical states, not fingerprints
    batch: int = 2048  # states expanded before their successors go into the seen-set
    check_determinism: bool = True  # run each new step twice and compare
    progress_every: float = 0.5  # seconds between progress reports
    handover: int | None = None  # stop with bound HANDED_OVER past this many states, unfinished


HANDED_OVER = "handover"


class Search:
    """One breadth-first search of ``model`` judging ``properties``."""

    def __init__(
        self,
        model: Model,
        properties: Sequence[Property],
        options: SearchOptions = SearchOptions(),
        progress: ProgressFn | None = None,
        engine: str = "explicit",
    ) -> None:
        self.model = model
        self.properties = list(properties)
        self.options = options
        self.progress = progress
        self.engine = engine
        self.comps = Components()
        self.canon = Canonicaliser(model, self.comps, ids=options.reduce_ids, symmetry=options.symmetry)
        reduced = options.reduce_ids or options.symmetry
        self.stepper = Stepper(
            model,
            self.comps,
            check_determinism=options.check_determinism,
            groups=self.canon.groups if reduced else None,
        )
        self.store: SeenSet = ExactStore() if options.exact else FingerprintStore()
        self.judge = MemoJudge(model, self.properties, self.comps)
        self.stats = Stats()
        self.bound: str | None = None

    # --- keys ---------------------------------------------------------------------------------
    def _key(self, comp: Comp, fps: tuple[int, ...]) -> Hashable:
        return comp if self.options.exact else fingerprint(fps)

    def key_of(self, state: State) -> Hashable:
        """The seen-set key of a real state: that of its canonical form."""
        return self._key(*self.canon(self.comps.encode(state)))

    def canonical(self, state: State) -> State:
        return self.comps.decode(self.canon(self.comps.encode(state))[0])

    # --- the search ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Every property's once-per-model work (:meth:`Property.prepare`)."""
        for prop in self.properties:
            prop.prepare(self.model)

    def run(self) -> CheckResult:
        self.prepare()
        opts = self.options
        model, comps, judge, store = self.model, self.comps, self.judge, self.store
        canon, stepper, key = self.canon, self.stepper, self._key
        decode = comps.decode
        t0 = time.monotonic()
        deadline = None if opts.timeout is None else t0 + opts.timeout
        last_report = t0
        transitions = 0
        depth = 0

        inits = [canon(comps.encode(s)) for s in model.initial_states()]
        numbers = store.insert([key(c, k) for c, k in inits], [-1] * len(inits))
        width = model.nthreads + 1
        frontier = Frontier(width)
        for i, (c, _) in zip(numbers, inits):
            if i >= 0:
                frontier.append(i, c)
                judge.state_comp(c, i)

        stopped = False
        while frontier and not stopped:
            next_frontier = Frontier(width)
            for batch in frontier.batches(opts.batch):
                keys: list[Hashable] = []
                parents: list[int] = []
                found: list[Comp] = []
                for n, (i, comp) in enumerate(batch):
                    if judge.done:
                        stopped = True
                        break
                    succs = stepper.successors(comp)
                    if not succs:
                        judge.end(decode(comp), i)
                        continue
                    for s in succs:
                        transitions += 1
                        judge.step_comp(comp, s, i)
                        c, fps = canon(s.comp)
                        keys.append(key(c, fps))
                        parents.append(i)
                        found.append(c)
                    if deadline is not None and n % 64 == 0 and time.monotonic() >= deadline:
                        self.bound = f"timeout={opts.timeout:g}s"
                        stopped = True
                        break
                for j, number in enumerate(store.insert(keys, parents)):
                    if number >= 0:
                        c = found[j]
                        next_frontier.append(number, c)
                        judge.state_comp(c, number)
                now = time.monotonic()
                if self.progress is not None and now - last_report >= opts.progress_every:
                    last_report = now
                    self.progress(self._stats(t0, transitions, depth + 1), len(next_frontier))
                if stopped:
                    break
                if opts.handover is not None and len(store) >= opts.handover:
                    self.bound = HANDED_OVER
                elif opts.max_states is not None and len(store) >= opts.max_states:
                    self.bound = f"max_states={opts.max_states}"
                elif deadline is not None and now >= deadline:
                    self.bound = f"timeout={opts.timeout:g}s"
                if self.bound:
                    stopped = True
                    break
            if next_frontier:
                depth += 1
            frontier = next_frontier
        self.stats = self._stats(t0, transitions, depth)
        if self.progress is not None:
            self.progress(self.stats, 0)
        return self._result()

    def _stats(self, t0: float, transitions: int, depth: int) -> Stats:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        n = len(self.store)
        return Stats(
            n, transitions, depth, time.monotonic() - t0, peak, self.store.nbytes() / n if n else 0.0
        )

    def _result(self) -> CheckResult:
        results: dict[str, PropertyResult] = {}
        for prop in self.properties:
            f = self.judge.found.get(prop.name)
            if f is not None:
                trace = self.trace_for(prop, f)
                results[prop.name] = PropertyResult(prop.name, VIOLATED, trace.violation, trace)
            elif self.bound is not None:
                reason = f"stopped at {self.bound} after {self.stats.states} states"
                results[prop.name] = PropertyResult(prop.name, UNKNOWN, reason=reason)
            else:
                results[prop.name] = PropertyResult(prop.name, HOLDS)
        m = self.model
        return CheckResult(m.variant.name, m.scenario.name, self.engine, results, self.stats, self.bound)

    # --- counterexamples ----------------------------------------------------------------------
    def chain(self, number: int) -> list[Hashable]:
        """The keys of the states from an initial state to state ``number``."""
        chain = []
        while number >= 0:
            chain.append(self.store.key(number))
            number = self.store.parent(number)
        chain.reverse()
        return chain

    def trace_for(self, prop: Property, found: Found) -> Trace:
        """The shortest trace to ``found``, rebuilt on real (not canonical) states, with the
        violation judged again on them so that its message names the trace's threads."""
        chain = self.chain(found.where)
        init, path = rebuild(self.model, self.canonical, self.key_of, chain)
        last = path[-1].state if path else init
        if found.hook == "check_step":
            for tr in self.model.successors(last):
                v = self.judge.again(prop, "check_step", last, tr)
                if v is not None:
                    return build_trace(self.model, prop.name, v, init, path + [tr])
        else:
            v = self.judge.again(prop, found.hook, last)
            if v is not None:
                return build_trace(self.model, prop.name, v, init, path)
        raise ReplayError(f"{prop.name}: the violation was not found again on the rebuilt trace")
