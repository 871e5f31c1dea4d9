"""Counterexample traces in memory: the initial state and the steps that lead to a violation.

Every engine builds its counterexamples as a :class:`Trace` with :func:`build_trace`; the
exchange format (JSON, schema 1), its reading and its replay against a model live in
:mod:`vmacheck.checker.report.trace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vmacheck.properties.base import Violation
from vmacheck.protocol.events import Event
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State


@dataclass
class TraceStep:
    thread: int
    syscall: str
    label: str
    kernel: str
    choices: tuple[int, ...]
    events: tuple[Event, ...]
    state: State


@dataclass
class Trace:
    variant: str
    scenario: str
    property: str
    violation: Violation
    initial: State
    steps: list[TraceStep]
    model: Model | None = None
    variant_file: str | None = None
    engine: str = "explicit"
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.steps)


def build_trace(
    model: Model, prop: str, violation: Violation, initial: State, path: list[Transition]
) -> Trace:
    steps = [
        TraceStep(
            tr.tid, model.programs[tr.tid].syscall, tr.label, tr.kernel, tr.choices, tr.events, tr.state
        )
        for tr in path
    ]
    vfile = model.variant.file if model.variant.file and not is_shipped(model) else None
    return Trace(model.variant.name, model.scenario.name, prop, violation, initial, steps, model, vfile)


def is_shipped(model: Model) -> bool:
    from vmacheck.protocol.variants import shipped

    v = shipped().get(model.variant.name)
    return v is not None and v.file == model.variant.file
