"""vmacheck inside a test suite: verdict assertions, a Hypothesis strategy of schedules, and a
Hypothesis state machine built from any model.

Everything takes a variant and a scenario as objects or as names: a shipped variant's name,
or the path of a variant file (which may define scenarios and properties of its own), and a
scenario's name. A failed assertion's message is the counterexample, told as ``vmacheck
check`` tells it (docs/pytest.md has examples)::

    from vmacheck.checker.testing import assert_holds, assert_violates, machine_for

    def test_my_munmap():
        assert_holds("./my_variant.py", "stack-below-growsdown")

    TestMyVariant = machine_for("./my_variant.py", "stack-below-growsdown").TestCase

The pytest plugin (:mod:`vmacheck.checker.pytest_plugin`) sets the defaults of :data:`DEFAULT` from
the command line (engine, seed, examples, a directory for trace files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from vmacheck.checker.core.judge import Judge
from vmacheck.checker.core.result import HOLDS, PROVED, VIOLATED, CheckResult
from vmacheck.checker.core.trace import Trace, build_trace
from vmacheck.checker.engines import load_engines, make_options
from vmacheck.checker.engines.random import DEFAULT_MAX_STEPS, Schedule
from vmacheck.checker.engines.random import schedules as _schedules
from vmacheck.checker.errors import UserError
from vmacheck.checker.loader import Catalogue, resolve_variant
from vmacheck.checker.report.render import render_trace_text
from vmacheck.checker.report.trace import trace_json, write_trace
from vmacheck.properties import Property
from vmacheck.protocol import Model, Scenario, State, Transition, Variant, VariantError

VariantLike = Variant | str | Path
ScenarioLike = Scenario | str
PropertiesLike = Sequence[Property | str] | Property | str | None


class VerdictError(AssertionError):
    """A verdict assertion failed; the message is the counterexample (or why there is no
    verdict), ``results`` the check results behind it."""

    def __init__(self, message: str, results: Sequence[CheckResult] = ()) -> None:
        super().__init__(message)
        self.results = list(results)


# --- naming things ----------------------------------------------------------------------------
def _resolve(variant: VariantLike, cat: Catalogue) -> Variant:
    if isinstance(variant, Variant):
        return variant
    try:
        found = resolve_variant(str(variant), cat)
    except UserError as exc:
        raise VariantError(str(exc)) from None
    if len(found) != 1:
        names = ", ".join(v.name for v in found)
        raise VariantError(f"{variant} defines several variants ({names}): pass the Variant object")
    return found[0]


def _scenarios(
    scenario: ScenarioLike | None, variant: Variant, cat: Catalogue, exhaustive: bool
) -> list[Scenario]:
    if isinstance(scenario, Scenario):
        return [scenario]
    if scenario is None:
        chosen = [
            s
            for s in cat.scenarios.values()
            if s.applies_to(variant.name) and (s.exhaustive or not exhaustive)
        ]
        if not chosen:
            raise VariantError(f"no scenario applies to variant '{variant.name}'")
        return chosen
    if scenario not in cat.scenarios:
        raise VariantError(f"unknown scenario '{scenario}' (known: {', '.join(cat.scenarios)})")
    return [cat.scenarios[scenario]]


def _properties(props: PropertiesLike, cat: Catalogue) -> list[Property]:
    if props is None:
        return list(cat.properties.values())
    if isinstance(props, (str, Property)):
        props = [props]
    out = []
    for p in props:
        if isinstance(p, Property):
            out.append(p)
        elif p in cat.properties:
            out.append(cat.properties[p])
        else:
            raise VariantError(f"unknown property '{p}' (known: {', '.join(cat.properties)})")
    return out


def model(variant: VariantLike, scenario: ScenarioLike) -> Model:
    """The model of ``variant`` in ``scenario`` (names, a variant file's path, or objects)."""
    cat = Catalogue.shipped()
    v = _resolve(variant, cat)
    (sc,) = _scenarios(scenario, v, cat, exhaustive=False)
    return Model(v, sc)


def _model_and_props(
    target: Model | VariantLike, scenario: ScenarioLike | None, properties: PropertiesLike
) -> tuple[Model, list[Property]]:
    cat = Catalogue.shipped()
    if isinstance(target, Model):
        return target, _properties(properties, cat)
    v = _resolve(target, cat)
    if scenario is None:
        raise VariantError("a scenario is needed")
    (sc,) = _scenarios(scenario, v, cat, exhaustive=False)
    return Model(v, sc), _properties(properties, cat)


# --- verdicts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checker:
    """Checks with fixed options: the engine (``explicit`` or ``random``; any registered
    one), its options (``seed``, ``examples``, ``max_steps``, ``max_states``, ``timeout``)
    and where to write the trace of a failed assertion (``trace_dir``)."""

    engine: str = "explicit"
    seed: int | None = None
    examples: int | None = None
    max_steps: int | None = None
    max_states: int | None = None
    timeout: float | None = None
    trace_dir: str | None = None

    def with_options(self, **options: Any) -> Checker:
        return replace(self, **{k: v for k, v in options.items() if v is not None})

    def check(
        self, variant: VariantLike, scenario: ScenarioLike | None = None, properties: PropertiesLike = None
    ) -> list[CheckResult]:
        """Check ``variant`` in ``scenario`` (default: every scenario that applies, the
        exhaustive ones only for an exhaustive engine); one result per scenario."""
        engines = load_engines()
        if self.engine not in engines:
            raise VariantError(f"unknown engine '{self.engine}' (known: {', '.join(engines)})")
        engine = engines[self.engine]
        cat = Catalogue.shipped()
        v = _resolve(variant, cat)
        scs = _scenarios(scenario, v, cat, exhaustive=engine.exhaustive)
        props = _properties(properties, cat)
        try:
            opts = make_options(engine, self.options())
        except UserError as exc:
            raise VariantError(str(exc)) from None
        return [engine.run(Model(v, sc), props, opts, None) for sc in scs]

    def options(self) -> dict[str, Any]:
        """The engine options this checker sets (``None``: the engine's default)."""
        return {
            "seed": self.seed,
            "examples": self.examples,
            "max_steps": self.max_steps,
            "max_states": self.max_states,
            "timeout": self.timeout,
        }

    def _explain(self, res: CheckResult, name: str) -> str:
        pr = res.properties[name]
        head = f"{res.variant} violates {name} in scenario {res.scenario} ({res.engine} engine)"
        if pr.trace is None:
            return f"{head}: {pr.violation.message if pr.violation else ''}"
        text = render_trace_text(trace_json(pr.trace))
        if self.trace_dir:
            Path(self.trace_dir).mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in res.variant)
            path = Path(self.trace_dir) / f"{safe}--{res.scenario}--{name}.json"
            write_trace(pr.trace, path)
            text += f"\n  (trace written to {path}; view it with: vmacheck show {path})"
        return f"{head}\n{text}"

    def assert_holds(
        self, variant: VariantLike, scenario: ScenarioLike | None = None, properties: PropertiesLike = None
    ) -> list[CheckResult]:
        """Fail, with the shortest counterexample found, unless every property holds in
        every scenario. With the random engine a property no schedule violated counts as
        holding; with the explicit engine a bound hit (``max_states``, ``timeout``) fails."""
        __tracebackhide__ = True  # pytest: show the caller's line and the trace
        results = self.check(variant, scenario, properties)
        problems = []
        for res in results:
            for name, pr in res.properties.items():
                if pr.verdict == VIOLATED:
                    problems.append(self._explain(res, name))
                elif pr.verdict not in (HOLDS, PROVED) and self.engine == "explicit":
                    problems.append(f"{res.variant} / {res.scenario}: {name} unknown: {pr.reason}")
        if problems:
            raise VerdictError("\n\n".join(problems), results)
        return results

    def assert_violates(
        self,
        variant: VariantLike,
        scenario: ScenarioLike,
        property: Property | str,
        max_length: int | None = None,
    ) -> Trace:
        """Fail unless ``property`` is violated in ``scenario`` (by a trace of at most
        ``max_length`` steps, if given); return the counterexample."""
        __tracebackhide__ = True  # pytest: show the caller's line and the trace
        (res,) = self.check(variant, scenario, [property])
        name = property.name if isinstance(property, Property) else property
        pr = res.properties[name]
        if pr.verdict != VIOLATED or pr.trace is None:
            why = f" ({pr.reason})" if pr.reason else ""
            raise VerdictError(
                f"{res.variant} was expected to violate {name} in scenario {res.scenario},"
                f" but the {res.engine} engine says: {pr.verdict}{why}",
                [res],
            )
        if max_length is not None and len(pr.trace) > max_length:
            raise VerdictError(
                f"expected a counterexample of at most {max_length} steps, got {len(pr.trace)}:\n"
                + self._explain(res, name),
                [res],
            )
        return pr.trace


DEFAULT = Checker()  # the pytest plugin replaces it with the command line's options


def check(
    variant: VariantLike,
    scenario: ScenarioLike | None = None,
    properties: PropertiesLike = None,
    **options: Any,
) -> list[CheckResult]:
    """:meth:`Checker.check` with the default options, overridden by ``options``."""
    return DEFAULT.with_options(**options).check(variant, scenario, properties)


def assert_holds(
    variant: VariantLike,
    scenario: ScenarioLike | None = None,
    properties: PropertiesLike = None,
    **options: Any,
) -> list[CheckResult]:
    """:meth:`Checker.assert_holds` with the default options, overridden by ``options``
    (e.g. ``engine="random", seed=1``)."""
    __tracebackhide__ = True  # pytest: show the caller's line and the trace
    return DEFAULT.with_options(**options).assert_holds(variant, scenario, properties)


def assert_violates(
    variant: VariantLike,
    scenario: ScenarioLike,
    property: Property | str,
    max_length: int | None = None,
    **options: Any,
) -> Trace:
    """:meth:`Checker.assert_violates` with the default options, overridden by ``options``."""
    __tracebackhide__ = True  # pytest: show the caller's line and the trace
    return DEFAULT.with_options(**options).assert_violates(variant, scenario, property, max_length)


# --- Hypothesis ---------------------------------------------------------------------------------
def schedules(
    target: Model | VariantLike,
    scenario: ScenarioLike | None = None,
    properties: PropertiesLike = (),
    max_steps: int = DEFAULT_MAX_STEPS,
) -> st.SearchStrategy[Schedule]:
    """A Hypothesis strategy of executed schedules of a model (or of ``variant`` in
    ``scenario``): each draws an initial state and, step by step, which thread runs; the
    schedule records the ``properties`` it violated (``schedule.found``) and
    ``schedule.trace(model, name)`` tells one as a trace. Pass ``properties=None`` for all."""
    m, props = _model_and_props(target, scenario, properties)
    return _schedules(m, props, max_steps)


def explain(m: Model, schedule: Schedule, name: str) -> str:
    """A schedule's violation of ``name`` as the readable trace."""
    return render_trace_text(trace_json(schedule.trace(m, name)))


def _default_steps(m: Model) -> int:
    return max(50, 3 * sum(len(p.steps) for p in m.programs))


def machine_for(
    target: Model | VariantLike,
    scenario: ScenarioLike | None = None,
    properties: PropertiesLike = None,
    hypothesis_settings: settings | None = None,
) -> type[RuleBasedStateMachine]:
    """A Hypothesis ``RuleBasedStateMachine`` of a model: one rule per step of each thread
    (``T0_munmap__down_write``…, enabled when that thread is at that step and can run),
    the properties' ``check_state`` as the invariant ``properties_hold``, ``check_step`` after every rule, and
    ``check_stuck``/``check_final`` once no thread can run. A violation fails with the
    readable trace. Use ``machine_for(...).TestCase`` as a test class.

    Default settings: derandomized (the same schedules every run, no example database),
    no deadline, enough steps for every thread to finish."""
    m, props = _model_and_props(target, scenario, properties)
    inits = m.initial_states()

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.initial: State = inits[0]
            self.state: State = inits[0]
            self.path: list[Transition] = []
            self._succ: dict[int, list[Transition]] = {}
            self.judge = Judge(m, props)

        def successors(self, tid: int) -> list[Transition]:
            if tid not in self._succ:
                th = self.state.threads[tid]
                self._succ[tid] = [] if th.done else m.thread_successors(self.state, tid)
            return self._succ[tid]

        def failed(self, path: list[Transition]) -> None:
            """Fail with the first violation the judge has found, if it has found one."""
            for name, f in self.judge.found.items():
                self.fail(name, f.violation, path)

        def fail(self, name: str, violation: Any, path: list[Transition]) -> None:
            trace = build_trace(m, name, violation, self.initial, path)
            trace.engine = "hypothesis-state-machine"
            raise AssertionError(
                f"{m.variant.name} violates {name} in scenario {m.scenario.name}\n"
                + render_trace_text(trace_json(trace))
            )

        @initialize(choice=st.integers(0, len(inits) - 1))
        def initial_state(self, choice: int) -> None:
            self.initial = self.state = inits[choice]
            self.path, self._succ = [], {}

        def take(self, tid: int, outcome: int) -> None:
            trs = self.successors(tid)
            tr = trs[outcome % len(trs)]
            before, self.state = self.state, tr.state
            self._succ = {}
            path = self.path + [tr]
            self.judge.step(before, tr, len(path))
            self.failed(path)
            self.path = path

        def runnable(self) -> bool:
            return any(self.successors(t) for t in range(m.nthreads))

        @precondition(lambda self: not self.runnable())
        @rule()
        def no_thread_can_run(self) -> None:
            """Every thread returned, or the unfinished ones wait forever."""
            self.judge.end(self.state, len(self.path))
            self.failed(self.path)

    for tid, prog in enumerate(m.programs):
        for pc, step in enumerate(prog.steps):
            _add_step_rule(Machine, tid, pc, f"T{tid}_{prog.syscall}__{_ident(step.label)}")
    state_props = [p for p in props if "check_state" in p.hooks()]
    if state_props:
        _add_invariant(Machine, state_props)

    name = "".join(part.capitalize() for part in _ident(f"{m.variant.name}_{m.scenario.name}").split("_"))
    Machine.__name__ = Machine.__qualname__ = f"{name}Machine"
    Machine.TestCase.settings = hypothesis_settings or settings(
        max_examples=100,
        stateful_step_count=_default_steps(m),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
    )
    return Machine


def _ident(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _add_invariant(machine: type[RuleBasedStateMachine], props: list[Property]) -> None:
    def properties_hold(self: Any) -> None:
        self.judge.state(self.state, len(self.path))
        self.failed(self.path)

    properties_hold.__doc__ = "check_state of " + ", ".join(p.name for p in props)
    machine.properties_hold = invariant()(properties_hold)  # type: ignore[attr-defined]


def _add_step_rule(machine: type[RuleBasedStateMachine], tid: int, pc: int, name: str) -> None:
    def enabled(self: Any) -> bool:
        th = self.state.threads[tid]
        return not th.done and th.pc == pc and bool(self.successors(tid))

    def step(self: Any, outcome: int) -> None:
        self.take(tid, outcome)

    step.__name__ = step.__qualname__ = name
    setattr(machine, name, precondition(enabled)(rule(outcome=st.integers(0, 3))(step)))


__all__ = [
    "Checker",
    "DEFAULT",
    "VerdictError",
    "assert_holds",
    "assert_violates",
    "check",
    "explain",
    "machine_for",
    "model",
    "schedules",
]
