"""What a property is: named checks over states and transitions of any model.

A property overrides the hooks it needs; the explicit engine calls only overridden hooks:

- ``check_state(model, state)``: an invariant of every reachable state;
- ``check_step(model, before, transition)``: a judgement of one atomic step, which may look
  at the events its primitives recorded (:mod:`vmacheck.protocol.events`);
- ``check_stuck(model, state)``: a reachable state where some thread has not returned and
  no step can run;
- ``check_final(model, state)``: a reachable state where every thread has returned.

Each returns ``None`` or a :class:`Violation` that names the failing part (page, vma,
thread), not only the property. Properties must not depend on vma ids or on which of two
identical threads is which: the engine's reductions rename both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State


@dataclass(frozen=True)
class Violation:
    property: str
    message: str
    thread: int | None = None
    page: int | None = None
    vma: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "message": self.message,
            "thread": self.thread,
            "page": self.page,
            "vma": self.vma,
            "details": self.details,
        }


class Property:
    """Base class; see the module docstring."""

    name: str = ""
    summary: str = ""
    # True when the hooks read only vmas, threads, mmap_sem and vma-level events (never PTEs
    # or page tables page by page): then the symbolic engine runs them as they are, over
    # symbolic addresses (docs/symbolic.md).
    symbolic_hooks: bool = False

    def violation(self, message: str, **where: Any) -> Violation:
        return Violation(self.name, message, **where)

    def check_state(self, model: Model, state: State) -> Violation | None:
        return None

    def check_step(self, model: Model, before: State, tr: Transition) -> Violation | None:
        return None

    def check_stuck(self, model: Model, state: State) -> Violation | None:
        return None

    def check_final(self, model: Model, state: State) -> Violation | None:
        return None

    def prepare(self, model: Model) -> None:
        """Work done once per model before a search (a reference to compare against): a
        search calls it before it starts, and before it forks its partitions, so that they
        share the result instead of each computing it."""

    def hooks(self) -> set[str]:
        """The hooks this property overrides."""
        names = ("check_state", "check_step", "check_stuck", "check_final")
        return {n for n in names if getattr(type(self), n) is not getattr(Property, n)}

    @property
    def doc(self) -> str:
        import sys

        module = sys.modules.get(type(self).__module__)
        return (getattr(module, "__doc__", None) or self.summary).strip()


def vma_name(v: Any) -> str:
    """``S[3,8)`` — a vma as a property message names it."""
    return f"{v.tag}[{v.start},{v.end})"
