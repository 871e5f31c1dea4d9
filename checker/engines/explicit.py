"""The explicit-state engine: breadth-first search over every reachable state.

The search itself is the core's (:mod:`vmacheck.checker.core.search`); this module is the
engine's face: its typed options, and how they map onto the core search.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vmacheck.checker.core.result import CheckResult
from vmacheck.checker.core.search import ProgressFn, Search, SearchOptions
from vmacheck.checker.engines import Engine, max_states_option, option, register, timeout_option
from vmacheck.properties.base import Property
from vmacheck.protocol.model import Model

__all__ = ["ExplicitOptions", "ProgressFn", "Search", "SearchOptions", "check"]


@dataclass(frozen=True)
class ExplicitOptions:
    """Options of the explicit engine (``vmacheck check --engine explicit``)."""

    max_states: int | None = max_states_option()
    timeout: float | None = timeout_option()
    reduction: bool = option(
        "--no-reduction",
        "explore without vma-id renaming and thread symmetry",
        default=True,
        switch=False,
    )
    exact: bool = option(
        "--exact",
        "store canonical states instead of 64-bit fingerprints (no collision possible)",
        default=False,
        switch=True,
    )

    def search_options(self) -> SearchOptions:
        return SearchOptions(
            max_states=self.max_states,
            timeout=self.timeout,
            reduce_ids=self.reduction,
            symmetry=self.reduction,
            exact=self.exact,
        )


def check(
    model: Model,
    properties: Sequence[Property],
    options: ExplicitOptions = ExplicitOptions(),
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Run the explicit engine on ``model``."""
    return Search(model, properties, options.search_options(), progress).run()


register(
    Engine(
        "explicit",
        "breadth-first over every reachable state; shortest counterexamples",
        check,
        ExplicitOptions,
    )
)
