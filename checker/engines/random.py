"""The random engine: Hypothesis-driven schedules over the same model, for configurations too
large to explore exhaustively.

A *schedule* starts in one of the model's initial states (the scenario's argument choices)
and, step after step, lets one thread run its next atomic step: Hypothesis draws which thread
and, when a step has several outcomes (``k.choose``), which one (:func:`execute`). Every
property is judged as the explicit engine judges it — ``check_state`` on every state reached,
``check_step`` on every step taken, ``check_stuck``/``check_final`` where the schedule ends —
so a violation found here is a real interleaving of the model, and its trace replays.

A run has two phases:

1. **explore** (Hypothesis): up to ``--examples`` schedules, recording each property's first
   violating schedule, and how many schedules and seconds it took to find;
2. **shrink**, per violated property: drop every step of that schedule the violation does
   not need (:func:`drop_steps`: whole threads first, then single steps, to a fixpoint).
   This replaces Hypothesis' own shrinker here because restarting that shrinker from a
   recorded failure needs an example database, which a seeded search disables; dropping
   steps is one edit per step, where editing the decisions that drew a burst of steps is
   several. On the shipped small scenarios it reaches the explicit engine's shortest
   traces. (The strategy :func:`schedules` and the pytest state machine shrink with
   Hypothesis' shrinker, as any Hypothesis test does.)

Everything is seeded (``--seed``; no example database, no deadline): the same seed gives the
same trace. Random search proves nothing — except when Hypothesis runs out of distinct
schedules before ``--examples``: then it has run every interleaving, and a property it never
saw violated holds.
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.reporting import with_reporter
from hypothesis.statistics import collector

from vmacheck.checker.core.fingerprint import StateFingerprints
from vmacheck.checker.core.judge import Found, Judge
from vmacheck.checker.core.result import HOLDS, UNKNOWN, VIOLATED, CheckResult, PropertyResult, Stats
from vmacheck.checker.core.search import ProgressFn
from vmacheck.checker.core.trace import Trace, build_trace
from vmacheck.checker.engines import Engine, max_states_option, option, register, timeout_option, whole
from vmacheck.properties.base import Property
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State

try:  # Hypothesis' statistics text for "every distinct input was tried"
    from hypothesis.internal.conjecture.engine import ExitReason

    _EXHAUSTED: str | None = ExitReason.finished.value
except (ImportError, AttributeError):  # pragma: no cover - then exhaustion is never claimed
    _EXHAUSTED = None

DEFAULT_SEED = 0
DEFAULT_EXAMPLES = 500
DEFAULT_MAX_STEPS = 200

# How a schedule ended.
ENDED_DONE = "done"  # every thread returned
ENDED_STUCK = "stuck"  # unfinished threads, none can run
ENDED_CUT = "cut"  # the step bound (or the end of a replayed step list) cut it short
ENDED_STOPPED = "stopped"  # the caller's stop condition (a violation it was looking for)

STAY, SWITCH = 0, 1  # the per-step decision: keep running the same thread, or switch

StopFn = Callable[[dict[str, "Found"]], bool]


@dataclass
class Schedule:
    """One executed schedule: the initial state, the steps taken, what it violated, and the
    decisions that produced it (to replay or shrink it)."""

    initial: State
    path: list[Transition] = field(default_factory=list)
    ended: str = ENDED_CUT
    found: dict[str, Found] = field(default_factory=dict)
    decisions: list[int] = field(default_factory=list)

    def __repr__(self) -> str:  # Hypothesis prints it for a failing example: keep it short
        found = f", violates {', '.join(self.found)}" if self.found else ""
        return f"<schedule of {len(self.path)} steps, {self.ended}{found}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # Hypothesis' pretty-printer
        p.text(repr(self))

    @property
    def state(self) -> State:
        """The state the schedule ended in."""
        return self.path[-1].state if self.path else self.initial

    def trace(self, model: Model, prop: str, engine: str = "random") -> Trace:
        """The schedule up to the first violation of ``prop``, as a schema-1 trace."""
        f = self.found[prop]
        tr = build_trace(model, prop, f.violation, self.initial, self.path[: f.where])
        tr.engine = engine
        return tr


# --- where decisions come from ------------------------------------------------------------
class Decider:
    """The source of a schedule's decisions: ``draw(n)`` answers a number in ``range(n)``
    (``n == 1`` is a decision with one possible answer: it keeps its place in the list)."""

    def __init__(self) -> None:
        self.made: list[int] = []  # every answer given, in order

    def draw(self, n: int) -> int:
        value = self._answer(n)
        self.made.append(value)
        return value

    def _answer(self, n: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, nthreads: int, can_switch: bool) -> int:
        """Stay with the running thread (-1), or switch to another: its number among the
        threads other than the running one, ``0 .. nthreads-2``. Asked at every step while
        another thread is unfinished; when none of them can run the only answer is "stay",
        still asked, so that later steps' decisions keep their places when the shrinker
        edits this one's neighbours."""
        if self.draw(2 if can_switch else 1) == STAY:
            return -1
        return self.draw(nthreads - 1) if nthreads > 2 else 0


class Recorded(Decider):
    """Decisions from a list (a recorded schedule); missing or out-of-range ones are 0."""

    def __init__(self, decisions: Sequence[int]) -> None:
        super().__init__()
        self._it = iter(decisions)

    def _answer(self, n: int) -> int:
        value = next(self._it, 0)
        return value if 0 <= value < n else 0


class Randomly(Decider):
    """Decisions from a seeded ``random.Random`` (uniform, no Hypothesis): for tests and
    for comparing search strategies."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def _answer(self, n: int) -> int:
        return self._rng.randrange(n)


_INTEGERS: dict[int, st.SearchStrategy[int]] = {}
_STEPS: dict[tuple[int, bool], st.SearchStrategy[tuple[int, ...]]] = {}


def _integers(n: int) -> st.SearchStrategy[int]:
    strategy = _INTEGERS.get(n)
    if strategy is None:
        strategy = _INTEGERS[n] = st.integers(0, n - 1)
    return strategy


@st.composite
def _step_draws(draw: st.DrawFn, nthreads: int, can_switch: bool) -> tuple[int, ...]:
    coin = draw(_integers(2 if can_switch else 1))
    if coin == STAY or nthreads <= 2:
        return (coin,)
    return (coin, draw(_integers(nthreads - 1)))


class _Drawing(Decider):
    """Decisions drawn by Hypothesis: small integers, shrinking towards 0 (stay with the
    running thread, lower thread numbers, the first outcome). A step's stay-or-switch
    decision is one draw of its own strategy, so the shrinker sees one span per step and
    can delete whole steps."""

    def __init__(self, draw: st.DrawFn) -> None:
        super().__init__()
        self._draw = draw

    def _answer(self, n: int) -> int:
        return self._draw(_integers(n))

    def step(self, nthreads: int, can_switch: bool) -> int:
        key = (nthreads, can_switch)
        strategy = _STEPS.get(key)
        if strategy is None:
            strategy = _STEPS[key] = _step_draws(nthreads, can_switch)
        values = self._draw(strategy)
        self.made.extend(values)
        if values[0] == STAY:
            return -1
        return values[1] if len(values) > 1 else 0


# --- running one schedule -----------------------------------------------------------------
class _Judge:
    """Judges one schedule's states and steps (with the core's judge); says whether the
    caller's stop condition holds after each judgement."""

    def __init__(self, model: Model, props: Sequence[Property], run: Schedule, stop: StopFn | None):
        self.judge = Judge(model, props)
        self.run, self.stop = run, stop
        run.found = self.judge.found

    def _stop(self) -> bool:
        return self.stop is not None and self.stop(self.run.found)

    def state(self, state: State) -> bool:
        self.judge.state(state, len(self.run.path))
        return self._stop()

    def step(self, before: State, tr: Transition) -> bool:
        self.judge.step(before, tr, len(self.run.path))
        return self._stop()

    def end(self, state: State, unfinished: list[int]) -> None:
        """No thread can run: every one returned, or the unfinished ones are stuck."""
        self.run.ended = ENDED_STUCK if unfinished else ENDED_DONE
        self.judge.end(state, len(self.run.path))
        if self._stop():
            self.run.ended = ENDED_STOPPED


def execute(
    model: Model,
    props: Sequence[Property],
    decide: Decider,
    max_steps: int = DEFAULT_MAX_STEPS,
    stop: StopFn | None = None,
    on_state: Callable[[State], None] | None = None,
) -> Schedule:
    """Run one schedule whose decisions come from ``decide``; judge ``props`` all along.

    Decisions, in order: the initial state (if the scenario has several); then for each
    step, while another thread is unfinished, whether to stay with the thread that ran last
    or switch, and to which thread (:meth:`Decider.step`) — or, if the last one cannot run,
    which thread runs instead; then which outcome, if the step has several. Threads are
    named by number, not by position among the runnable ones, so that a decision keeps
    naming the same thread while the shrinker edits the schedule; a named thread that cannot
    run hands the step to the next one (cyclically) that can. Staying is the default (0):
    shrinking removes context switches, and schedules come in bursts, which reaches races
    that need one thread to get far ahead of another more often than switching at every
    step does.

    ``stop(found)`` is asked after every judgement: true ends the schedule there (the
    shrinker stops at the violation it shrinks). ``on_state`` sees every state reached.
    """
    inits = model.initial_states()
    state = inits[decide.draw(len(inits))] if len(inits) > 1 else inits[0]
    run = Schedule(state, decisions=decide.made)
    judge = _Judge(model, props, run, stop)
    succ: dict[int, list[Transition]] = {}  # the current state's successors, per thread

    def successors(tid: int) -> list[Transition]:
        if tid not in succ:
            succ[tid] = model.thread_successors(state, tid)
        return succ[tid]

    def runnable_from(want: int, among: list[int]) -> int:
        n = model.nthreads
        return next((t % n for t in range(want, want + n) if t % n in among and successors(t % n)), -1)

    if on_state is not None:
        on_state(state)
    if judge.state(state):
        run.ended = ENDED_STOPPED
        return run
    current = -1
    while len(run.path) < max_steps:
        succ.clear()
        unfinished = [tid for tid, th in enumerate(state.threads) if not th.done]
        others = [t for t in unfinished if t != current]
        if current in unfinished and successors(current):
            if others:
                pick = decide.step(model.nthreads, any(successors(t) for t in others))
                if pick >= 0:
                    current = runnable_from(pick + (pick >= current), others)
        else:
            want = decide.draw(model.nthreads) if len(others) > 1 else others[0] if others else 0
            current = runnable_from(want, others)
        if current < 0:
            judge.end(state, unfinished)
            return run
        trs = successors(current)
        tr = trs[decide.draw(len(trs))] if len(trs) > 1 else trs[0]
        before, state = state, tr.state
        run.path.append(tr)
        if on_state is not None:
            on_state(state)
        if judge.step(before, tr) or judge.state(state):
            run.ended = ENDED_STOPPED
            return run
    return run


def _step_of(model: Model, state: State, want: Transition) -> Transition | None:
    """``want``'s thread taking its next step in ``state`` with ``want``'s choices, or
    ``None`` if that thread cannot take it now (it waits, has returned, or its step no
    longer has that outcome: the schedule being shrunk differs before this step)."""
    if state.threads[want.tid].done:
        return None
    return next((t for t in model.thread_successors(state, want.tid) if t.choices == want.choices), None)


def _judge_end(model: Model, judge: _Judge, state: State) -> None:
    """A replayed step list ended: if no thread can run there, judge it stuck or final."""
    unfinished = [tid for tid, th in enumerate(state.threads) if not th.done]
    if not any(model.thread_successors(state, t) for t in unfinished):
        judge.end(state, unfinished)


def execute_steps(
    model: Model,
    props: Sequence[Property],
    initial: State,
    steps: Sequence[Transition],
    stop: StopFn | None = None,
) -> Schedule:
    """Replay a list of steps, each as "thread T takes its next step (with these choices)",
    skipping a step whose thread cannot run then: what a subsequence of a found schedule
    does. The schedule ends where the list ends."""
    run = Schedule(initial)
    judge = _Judge(model, props, run, stop)
    state = initial
    if judge.state(state):
        run.ended = ENDED_STOPPED
        return run
    for want in steps:
        tr = _step_of(model, state, want)
        if tr is None:
            continue
        before, state = state, tr.state
        run.path.append(tr)
        if judge.step(before, tr) or judge.state(state):
            run.ended = ENDED_STOPPED
            return run
    _judge_end(model, judge, state)
    return run


def replay_decisions(
    model: Model, props: Sequence[Property], decisions: Sequence[int], max_steps: int = DEFAULT_MAX_STEPS
) -> Schedule:
    """Run the schedule a recorded list of decisions describes."""
    return execute(model, props, Recorded(decisions), max_steps)


# --- Hypothesis strategies ----------------------------------------------------------------
def schedules(
    model: Model,
    properties: Sequence[Property] = (),
    max_steps: int = DEFAULT_MAX_STEPS,
    stop: StopFn | None = None,
    on_state: Callable[[State], None] | None = None,
) -> st.SearchStrategy[Schedule]:
    """A Hypothesis strategy of executed schedules of ``model``, judged by ``properties``
    (see :func:`execute` for what is drawn and how it shrinks)."""

    @st.composite
    def schedule(draw: st.DrawFn) -> Schedule:
        return execute(model, properties, _Drawing(draw), max_steps, stop, on_state)

    return schedule()


def drop_steps(model: Model, properties: Sequence[Property], found: Schedule, target: str) -> Schedule:
    """The shortest subsequence of ``found``'s steps this finds that still violates
    ``target``: first every step of one thread at a time, then single steps, until no step
    can go (replayed with :func:`execute_steps`, so the result is a real schedule).

    A deterministic pass after Hypothesis' shrinking: Hypothesis shrinks the decisions
    that drew the schedule, where dropping one step of a thread that ran in a burst means
    editing several decisions at once; here dropping a step is one edit."""

    def stop(f: dict[str, Found]) -> bool:
        return target in f

    best = found
    steps = list(found.path[: found.found[target].where])

    def attempt(candidate: list[Transition]) -> bool:
        nonlocal best, steps
        run = execute_steps(model, properties, found.initial, candidate, stop)
        if target not in run.found or run.found[target].where >= len(steps):
            return False
        best, steps = run, list(run.path[: run.found[target].where])
        return True

    for tid in range(model.nthreads):
        attempt([tr for tr in steps if tr.tid != tid])
    shorter = True
    while shorter:
        shorter = False
        i = len(steps) - 1
        while i >= 0:
            if attempt(steps[:i] + steps[i + 1 :]):
                shorter = True
            i = min(i, len(steps)) - 1
    return best


def _quiet_settings(examples: int, phases: tuple[Phase, ...], database: Any = None) -> settings:
    return settings(
        max_examples=examples,
        database=database,
        deadline=None,
        derandomize=False,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )


# --- the engine ---------------------------------------------------------------------------
class _Stop(Exception):
    """Ends the exploration (a bound, or nothing left to find)."""


@dataclass
class Exploration:
    """What the explore phase saw."""

    first: dict[str, int] = field(default_factory=dict)  # property -> schedules until found
    seconds_to_find: dict[str, float] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)  # the first violating one
    examples: int = 0
    transitions: int = 0
    longest: int = 0
    states: set[int] = field(default_factory=set)
    cut: int = 0  # schedules cut short by max_steps
    exhausted: bool = False  # Hypothesis ran every distinct schedule
    bound: str | None = None
    seconds: float = 0.0


class RandomSearch:
    """One random-engine run over ``model`` (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        properties: Sequence[Property],
        seed: int = DEFAULT_SEED,
        examples: int = DEFAULT_EXAMPLES,
        max_steps: int = DEFAULT_MAX_STEPS,
        timeout: float | None = None,
        max_states: int | None = None,
        shrink: bool = True,
        progress: ProgressFn | None = None,
        progress_every: float = 0.5,
    ) -> None:
        self.model = model
        self.properties = list(properties)
        self.seed = seed
        self.examples = examples
        self.max_steps = max_steps
        self.timeout = timeout
        self.max_states = max_states
        self.shrink = shrink
        self.progress = progress
        self.progress_every = progress_every

    def explore(self) -> Exploration:
        """Run up to ``examples`` schedules; record each property's first violation."""
        ex = Exploration()
        t0 = time.monotonic()
        last_report = [t0]
        names = {p.name for p in self.properties}
        stopped = [False]
        key = StateFingerprints(self.model)

        @_quiet_settings(self.examples, (Phase.generate,))
        @seed(self.seed)
        @given(
            schedules(self.model, self.properties, self.max_steps, on_state=lambda s: ex.states.add(key(s)))
        )
        def schedule(run: Schedule) -> None:
            if stopped[0]:
                # Hypothesis replays the schedule that stopped the search (drawing it again
                # is all it checks); stop again.
                raise _Stop()
            ex.examples += 1
            ex.transitions += len(run.path)
            ex.longest = max(ex.longest, len(run.path))
            ex.cut += run.ended == ENDED_CUT
            for name in run.found:
                if name not in ex.first:
                    ex.first[name] = ex.examples
                    ex.seconds_to_find[name] = time.monotonic() - t0
                    ex.schedules[name] = run
            # Bounds are judged between schedules, never in the middle of one (stopping a
            # schedule half-drawn would be inconsistent data generation to Hypothesis).
            now = time.monotonic()
            if self.timeout is not None and now - t0 >= self.timeout:
                ex.bound = f"timeout={self.timeout:g}s"
            elif self.max_states is not None and len(ex.states) >= self.max_states:
                ex.bound = f"max_states={self.max_states}"
            if ex.bound or set(ex.first) >= names:
                stopped[0] = True
                raise _Stop()
            if self.progress is not None and now - last_report[0] >= self.progress_every:
                last_report[0] = now
                self.progress(self._stats(ex, t0), 0)

        statistics: list[dict[str, Any]] = []
        # (collector is typed for None only; it takes the callback the pytest plugin gives it)
        with with_reporter(lambda _msg: None), collector.with_value(statistics.append):  # type: ignore[arg-type]
            try:
                schedule()
            except _Stop:
                pass
        ex.seconds = time.monotonic() - t0
        # Hypothesis stops before max_examples only when its tree of decisions is exhausted:
        # it has run every distinct schedule, i.e. every interleaving — an exhaustive search
        # if no schedule was cut short and no bound ended it.
        ex.exhausted = (
            _EXHAUSTED is not None
            and not stopped[0]
            and ex.cut == 0
            and any(s.get("stopped-because") == _EXHAUSTED for s in statistics)
        )
        return ex

    def shrink_schedule(self, prop: Property, found: Schedule) -> Schedule:
        """Shrink ``found``, a schedule that violates ``prop``, to the steps it needs."""
        return drop_steps(self.model, self.properties, found, prop.name)

    def run(self) -> CheckResult:
        t0 = time.monotonic()
        ex = self.explore()
        results: dict[str, PropertyResult] = {}
        for prop in self.properties:
            if prop.name in ex.first:
                first = ex.schedules[prop.name]
                sched = self.shrink_schedule(prop, first) if self.shrink else first
                trace = sched.trace(self.model, prop.name)
                found_len = first.found[prop.name].where
                trace.extra["search"] = {
                    "engine": "random",
                    "seed": self.seed,
                    "schedules_to_find": ex.first[prop.name],
                    "length_found": found_len,
                }
                reason = (
                    f"found in schedule {ex.first[prop.name]} after {ex.seconds_to_find[prop.name]:.2f} s"
                    f" (seed {self.seed}), {found_len} steps shrunk to {len(trace)}"
                )
                results[prop.name] = PropertyResult(prop.name, VIOLATED, trace.violation, trace, reason)
            elif ex.exhausted:
                reason = f"every schedule tried ({ex.examples}): all interleavings explored"
                results[prop.name] = PropertyResult(prop.name, HOLDS, reason=reason)
            elif ex.bound:
                reason = f"stopped at {ex.bound}: no violation in {ex.examples} schedules"
                results[prop.name] = PropertyResult(prop.name, UNKNOWN, reason=reason)
            else:
                reason = (
                    f"no violation in {ex.examples} random schedules (seed {self.seed},"
                    f" at most {self.max_steps} steps each); random search proves nothing"
                )
                results[prop.name] = PropertyResult(prop.name, UNKNOWN, reason=reason)
        m = self.model
        return CheckResult(m.variant.name, m.scenario.name, "random", results, self._stats(ex, t0), ex.bound)

    @staticmethod
    def _stats(ex: Exploration, t0: float) -> Stats:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        return Stats(len(ex.states), ex.transitions, ex.longest, time.monotonic() - t0, peak)


@dataclass(frozen=True)
class RandomOptions:
    """Options of the random engine (``vmacheck check --engine random``)."""

    seed: int = option("--seed", "seed of the search", default=DEFAULT_SEED, parse=whole(0))
    examples: int = option(
        "--examples", "schedules to try per scenario", default=DEFAULT_EXAMPLES, parse=whole(1)
    )
    max_steps: int = option(
        "--max-steps", "steps per schedule at most", default=DEFAULT_MAX_STEPS, parse=whole(1)
    )
    max_states: int | None = max_states_option()
    timeout: float | None = timeout_option()


def check(
    model: Model,
    properties: Sequence[Property],
    options: RandomOptions = RandomOptions(),
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Run the random engine on ``model``."""
    return RandomSearch(
        model,
        properties,
        seed=options.seed,
        examples=options.examples,
        max_steps=options.max_steps,
        timeout=options.timeout,
        max_states=options.max_states,
        progress=progress,
    ).run()


register(
    Engine(
        "random",
        "Hypothesis-driven random schedules, shrunk to short traces; for scenarios too large to explore",
        check,
        RandomOptions,
        exhaustive=False,
    )
)
