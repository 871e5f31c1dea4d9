"""The engine registry: ``--engine NAME`` picks one of these.

An engine is a function from a model, the properties to check and the parsed command-line
options to a :class:`CheckResult`. Engines register themselves from their own modules
(listed in :data:`ENGINE_MODULES`), each adding its own command-line options, so adding an
engine touches neither the CLI nor the other engines.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vmacheck.checker.core.result import CheckResult
from vmacheck.checker.engines.explicit import ProgressFn, Search
from vmacheck.properties import Property
from vmacheck.protocol import Model

RunFn = Callable[[Model, Sequence[Property], argparse.Namespace, "ProgressFn | None"], CheckResult]


@dataclass
class Engine:
    name: str
    summary: str
    run: RunFn
    add_arguments: Callable[[argparse._ArgumentGroup], None] | None = None
    # True: by default run only scenarios small enough to explore exhaustively
    exhaustive: bool = True


ENGINES: dict[str, Engine] = {}

# Optional engine modules: each calls register() when imported.
ENGINE_MODULES = ("vmacheck.checker.engines.symbolic.engine", "vmacheck.checker.engines.random")


def register(engine: Engine) -> None:
    ENGINES[engine.name] = engine


def _run_explicit(
    model: Model, props: Sequence[Property], opts: argparse.Namespace, progress: ProgressFn | None
) -> CheckResult:
    reduce = not getattr(opts, "no_reduction", False)
    return Search(
        model,
        props,
        max_states=getattr(opts, "max_states", None),
        timeout=getattr(opts, "timeout", None),
        reduce_ids=reduce,
        symmetry=reduce,
        exact=getattr(opts, "exact", False),
        progress=progress,
    ).run()


def _explicit_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--no-reduction",
        action="store_true",
        help="explicit: explore without vma-id canonicalisation and thread symmetry",
    )
    group.add_argument(
        "--exact",
        action="store_true",
        help="explicit: store whole states instead of 64-bit fingerprints",
    )


register(
    Engine(
        "explicit",
        "breadth-first over every reachable state; shortest counterexamples",
        _run_explicit,
        _explicit_arguments,
    )
)


def load_engines() -> dict[str, Engine]:
    for name in ENGINE_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(name)
    return ENGINES
