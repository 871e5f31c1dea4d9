"""Results of a check: a verdict per property, statistics, and the JSON result object.

Verdicts: ``holds`` (no violation in the explored, complete state space), ``violated`` (with
a shortest trace), ``unknown`` (a bound stopped the run first; says which), and, from the
symbolic engine, ``proved`` (holds for every layout within the encoding's bounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vmacheck.properties.base import Violation

HOLDS = "holds"
VIOLATED = "violated"
UNKNOWN = "unknown"
PROVED = "proved"


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_mb: float = 0.0
    bytes_per_state: float = 0.0  # what the seen-set holds per stored state (0: no seen-set)

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float(self.states)

    def to_json(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "states_per_second": round(self.states_per_second, 1),
            "peak_mb": round(self.peak_mb, 1),
            "bytes_per_state": round(self.bytes_per_state, 1),
        }


@dataclass
class PropertyResult:
    name: str
    verdict: str
    violation: Violation | None = None
    trace: Any = None  # checker.trace.Trace for violated properties
    reason: str = ""  # for unknown / proved: why, or what was proved
    trace_file: str | None = None

    @property
    def trace_length(self) -> int | None:
        return None if self.trace is None else len(self.trace.steps)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.violation is not None:
            out["message"] = self.violation.message
        if self.trace is not None:
            out["trace_length"] = self.trace_length
        if self.trace_file:
            out["trace_file"] = self.trace_file
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class CheckResult:
    variant: str
    scenario: str
    engine: str
    properties: dict[str, PropertyResult]
    stats: Stats = field(default_factory=Stats)
    bound: str | None = None  # which bound stopped the run, if any

    @property
    def violated(self) -> list[PropertyResult]:
        return [p for p in self.properties.values() if p.verdict == VIOLATED]

    @property
    def unknown(self) -> list[PropertyResult]:
        return [p for p in self.properties.values() if p.verdict == UNKNOWN]

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "scenario": self.scenario,
            "engine": self.engine,
            "properties": {n: p.to_json() for n, p in self.properties.items()},
            "stats": self.stats.to_json(),
            "bound": self.bound,
        }
