"""The explicit-state engine: breadth-first search over the reachable states.

States are stored as 64-bit fingerprints (Python's structural hash of the canonical state)
with a parent index, so memory grows by a few dozen bytes per state; only the current BFS
level is kept in full. Because the search goes level by level, the first violation found of
each property lies at the smallest depth: its trace is a shortest one. The trace is rebuilt
afterwards by replaying the model along the parent chain (see :func:`rebuild_path`).

The search continues until every requested property has a verdict: it stops early when all
are violated, and otherwise explores everything (then unviolated properties ``hold``) or
stops at ``max_states``/``timeout`` (then they are ``unknown``, with what was explored).

Hash compaction can, with probability about n²/2⁶⁵ for n states, merge two distinct states
and miss the successors of one; ``exact=True`` stores states instead (the tests compare
both on every shipped scenario).
"""

from __future__ import annotations

import resource
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vmacheck.checker.core.canon import canonicaliser
from vmacheck.checker.core.result import HOLDS, UNKNOWN, VIOLATED, CheckResult, PropertyResult, Stats
from vmacheck.checker.core.trace import Trace, build_trace
from vmacheck.properties.base import Property, Violation
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

ProgressFn = Callable[[Stats, int], None]


@dataclass
class _Found:
    violation: Violation
    index: int  # the state the violation is at, or (check_step) the state it leaves
    hook: str  # which hook found it


class Search:
    """One BFS over ``model`` checking ``properties``."""

    def __init__(
        self,
        model: Model,
        properties: Sequence[Property],
        max_states: int | None = None,
        timeout: float | None = None,
        reduce_ids: bool = True,
        symmetry: bool = True,
        exact: bool = False,
        progress: ProgressFn | None = None,
        progress_every: float = 0.5,
    ) -> None:
        self.model = model
        self.properties = list(properties)
        self.max_states = max_states
        self.timeout = timeout
        self.canon = canonicaliser(model, ids=reduce_ids, symmetry=symmetry)
        self.exact = exact
        self.progress = progress
        self.progress_every = progress_every
        self.found: dict[str, _Found] = {}
        self.parent = array("q")
        self.keys: list[object] = []  # canonical state (exact) or fingerprint, per index
        self.stats = Stats()
        self.bound: str | None = None

    def _key(self, state: State) -> object:
        return state if self.exact else hash(state)

    def run(self) -> CheckResult:
        model = self.model
        t0 = time.monotonic()
        by_hook = {
            hook: [p for p in self.properties if hook in p.hooks()]
            for hook in ("check_state", "check_step", "check_stuck", "check_final")
        }
        index: dict[object, int] = {}
        frontier: list[tuple[int, State]] = []
        for init in model.initial_states():
            c = self.canon(init)
            key = self._key(c)
            if key in index:
                continue
            index[key] = len(self.keys)
            self.keys.append(key)
            self.parent.append(-1)
            frontier.append((index[key], c))
            self._check_state(by_hook["check_state"], c, index[key])
        depth = 0
        transitions = 0
        last_report = t0
        stopped = False
        while frontier and not stopped:
            next_frontier: list[tuple[int, State]] = []
            for i, state in frontier:
                if self._all_violated():
                    stopped = True
                    break
                succ = model.successors(state)
                if not succ:
                    hook = "check_final" if all(th.done for th in state.threads) else "check_stuck"
                    for prop in self._pending(by_hook[hook]):
                        v = getattr(prop, hook)(model, state)
                        if v is not None:
                            self.found[prop.name] = _Found(v, i, hook)
                for tr in succ:
                    transitions += 1
                    for prop in self._pending(by_hook["check_step"]):
                        v = prop.check_step(model, state, tr)
                        if v is not None:
                            self.found[prop.name] = _Found(v, i, "check_step")
                    c = self.canon(tr.state)
                    key = self._key(c)
                    if key in index:
                        continue
                    j = len(self.keys)
                    index[key] = j
                    self.keys.append(key)
                    self.parent.append(i)
                    next_frontier.append((j, c))
                    self._check_state(by_hook["check_state"], c, j)
                now = time.monotonic()
                if self.progress is not None and now - last_report >= self.progress_every:
                    last_report = now
                    self.progress(self._stats(t0, transitions, depth + 1), len(next_frontier))
                if self.max_states is not None and len(self.keys) >= self.max_states:
                    self.bound = f"max_states={self.max_states}"
                elif self.timeout is not None and now - t0 >= self.timeout:
                    self.bound = f"timeout={self.timeout:g}s"
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
        return Stats(len(self.keys), transitions, depth, time.monotonic() - t0, peak)

    def _pending(self, props: list[Property]) -> list[Property]:
        return [p for p in props if p.name not in self.found]

    def _all_violated(self) -> bool:
        return len(self.found) == len(self.properties)

    def _check_state(self, props: list[Property], state: State, i: int) -> None:
        for prop in self._pending(props):
            v = prop.check_state(self.model, state)
            if v is not None:
                self.found[prop.name] = _Found(v, i, "check_state")

    def _result(self) -> CheckResult:
        results: dict[str, PropertyResult] = {}
        for prop in self.properties:
            f = self.found.get(prop.name)
            if f is not None:
                trace = self.trace_for(prop, f)
                results[prop.name] = PropertyResult(prop.name, VIOLATED, trace.violation, trace)
            elif self.bound is not None:
                reason = f"stopped at {self.bound} after {self.stats.states} states"
                results[prop.name] = PropertyResult(prop.name, UNKNOWN, reason=reason)
            else:
                results[prop.name] = PropertyResult(prop.name, HOLDS)
        m = self.model
        return CheckResult(m.variant.name, m.scenario.name, "explicit", results, self.stats, self.bound)

    # --- counterexamples -----------------------------------------------------------------
    def trace_for(self, prop: Property, found: _Found) -> Trace:
        """Rebuild the shortest trace to ``found`` on real (not canonical) states, and judge
        its last state or step again there, so the message names the trace's threads."""
        chain = []
        i = found.index
        while i >= 0:
            chain.append(self.keys[i])
            i = self.parent[i]
        chain.reverse()
        init, path = rebuild_path(self.model, self.canon, self._key, chain)
        last = path[-1].state if path else init
        if found.hook == "check_step":
            for tr in self.model.successors(last):
                v = prop.check_step(self.model, last, tr)
                if v is not None:
                    return build_trace(self.model, prop.name, v, init, path + [tr])
        else:
            v = getattr(prop, found.hook)(self.model, last)
            if v is not None:
                return build_trace(self.model, prop.name, v, init, path)
        raise AssertionError(f"{prop.name}: violation not found again on replay")  # pragma: no cover


def rebuild_path(
    model: Model, canon: Callable[[State], State], key: Callable[[State], object], chain: list[object]
) -> tuple[State, list[Transition]]:
    """Replay the model along a chain of canonical keys: the real initial state and
    transitions (real thread numbers and vma ids, consistent from step to step)."""
    state = next((s for s in model.initial_states() if key(canon(s)) == chain[0]), None)
    if state is None:  # pragma: no cover
        raise AssertionError("no initial state matches the trace")
    init = state
    path: list[Transition] = []
    for want in chain[1:]:
        for tr in model.successors(state):
            if key(canon(tr.state)) == want:
                path.append(tr)
                state = tr.state
                break
        else:  # pragma: no cover - would mean the model is not deterministic
            raise AssertionError("trace replay diverged")
    return init, path


def check(
    model: Model,
    properties: Sequence[Property],
    **options: object,
) -> CheckResult:
    """Run the explicit engine; ``options`` as for :class:`Search`."""
    return Search(model, properties, **options).run()  # type: ignore[arg-type]
