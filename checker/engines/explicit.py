"""The explicit-state engine: breadth-first search over every reachable state.

The search itself is the core's (:mod:`vmacheck.checker.core.search`); this module is the
engine's face: its typed options, and how they map onto the core search.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vmacheck.checker.core.parallel import ParallelSearch
from vmacheck.checker.core.result import CheckResult
from vmacheck.checker.core.search import HANDED_OVER, ProgressFn, Search, SearchOptions
from vmacheck.checker.engines import Engine, max_states_option, option, register, timeout_option, whole
from vmacheck.checker.errors import UserError
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
        "store canonical states instead of 64-bit fingerprints (no collision possible; one process)",
        default=False,
        switch=True,
    )
    workers: int | None = option(
        "--workers",
        "search in N processes, states partitioned by fingerprint (default: this machine's cores,"
        " once a search outgrows one process; 1: one process)",
        parse=whole(1),
    )
    ray: str | None = option(
        "--ray",
        "search on a Ray cluster: 'auto' (a running one), 'local' (start one here) or its address;"
        " --workers partitions (default: the cluster's CPUs)",
        metavar="auto|local|ADDRESS",
    )

    def search_options(self) -> SearchOptions:
        return SearchOptions(
            max_states=self.max_states,
            timeout=self.timeout,
            reduce_ids=self.reduction,
            symmetry=self.reduction,
            exact=self.exact,
        )


# A search that reaches this many states in one process moves to every core (when --workers
# is not given): below it, starting processes costs more than it saves.
HANDOVER = 50_000


def check(
    model: Model,
    properties: Sequence[Property],
    options: ExplicitOptions = ExplicitOptions(),
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Run the explicit engine on ``model``."""
    opts = options.search_options()
    if options.exact and (options.workers not in (None, 1) or options.ray is not None):
        raise UserError(
            "--exact keeps whole states in one process: it cannot be combined with --workers or --ray"
        )
    if options.ray is not None:
        n = options.workers or _ray_cpus(options.ray)
        return ParallelSearch(model, properties, opts, n, ray=options.ray, progress=progress).run()
    workers: int | None = options.workers
    if workers is None:
        cores = len(os.sched_getaffinity(0))
        if cores == 1 or options.exact:
            workers = 1
        else:
            # start in one process; a search that outgrows it starts again on every core,
            # within what is left of the time allowed
            t0 = time.monotonic()
            first = Search(model, properties, replace(opts, handover=HANDOVER), progress).run()
            if first.bound != HANDED_OVER:
                return first
            workers = cores
            if opts.timeout is not None:
                opts = replace(opts, timeout=max(opts.timeout - (time.monotonic() - t0), 0.001))
    if workers == 1:
        return Search(model, properties, opts, progress).run()
    return ParallelSearch(model, properties, opts, workers, progress=progress).run()


def _ray_cpus(address: str) -> int:
    import ray

    if not ray.is_initialized():
        if address == "local":
            return len(os.sched_getaffinity(0))
        ray.init(address=address, log_to_driver=False)
    return int(ray.cluster_resources().get("CPU", 1))


register(
    Engine(
        "explicit",
        "breadth-first over every reachable state; shortest counterexamples",
        check,
        ExplicitOptions,
    )
)
