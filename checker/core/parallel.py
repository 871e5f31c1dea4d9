"""The breadth-first search split between processes: on this machine's cores, or on Ray.

The driver holds no states. Each level, every partition (:mod:`.partition`) expands the
states it owns and returns one batch of successors per partition; the driver hands each
partition the batches addressed to it, in partition order; the partition keeps the new ones.
Level by level, so the first violation of a property is found at the smallest depth, as in
the one-process search; among violations found at that depth by several partitions the one
with the least global state number is reported, so the result does not depend on timing.

Two transports carry the calls:

- :class:`ForkTransport`: ``n`` processes forked from this one (so the model, variant files
  included, needs no pickling), each serving its partition over a pipe. Batches go through
  the driver: two copies of a few dozen bytes per successor.
- :class:`RayTransport`: one Ray actor per partition. A partition's outgoing batches are
  separate objects in Ray's object store, handed from actor to actor without passing
  through the driver. Each actor builds its model from a :class:`ModelSpec` (a shipped
  variant's name or a variant file's path, which must be readable on every node).

Counts, verdicts and the lengths of counterexamples equal the one-process search's
(``tests/checker/test_parallel.py``). When every property is violated, the partitioned search
finishes the level it is in, where one process stops at once: its count can then be larger.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

from vmacheck.properties.base import Property
from vmacheck.protocol.model import Model
from vmacheck.protocol.scenario import Scenario

from .judge import Found
from .partition import Batch, Partition, Report
from .result import CheckResult, Stats
from .search import ProgressFn, Search, SearchOptions


class Transport(Protocol):
    """Calls on every partition at once, and on one."""

    n: int

    def start(self, first: Sequence[Batch]) -> list[Report]: ...

    def level(self, deadline: float | None) -> tuple[list[Report], list[Report]]:
        """One level: every partition expands, then receives what was sent to it. Returns
        the expand reports and the receive reports."""
        ...

    def initial(self) -> list[Batch]: ...

    def key_and_parent(self, number: int) -> tuple[int, int]: ...

    def close(self) -> None: ...


# --- forked processes ---------------------------------------------------------------------------
def _serve(conn: Connection, make: Callable[[], Partition]) -> None:
    part = make()
    while True:
        cmd, args = conn.recv()
        if cmd == "stop":
            conn.close()
            return
        try:
            conn.send(("ok", getattr(part, cmd)(*args)))
        except BaseException as exc:  # report it to the driver, which raises it there
            conn.send(("error", exc))


class ForkTransport:
    """Partitions in processes forked from this one."""

    def __init__(self, make: Callable[[int, int], Partition], n: int) -> None:
        self.n = n
        ctx = multiprocessing.get_context("fork")
        self._conns: list[Connection] = []
        self._procs = []
        for i in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, lambda i=i: make(i, n)), daemon=True)
            proc.start()
            theirs.close()
            self._conns.append(mine)
            self._procs.append(proc)

    def _call(self, calls: Sequence[tuple[int, str, tuple[Any, ...]]]) -> list[Any]:
        for i, cmd, args in calls:
            self._conns[i].send((cmd, args))
        out = []
        for i, _, _ in calls:
            status, value = self._conns[i].recv()
            if status == "error":
                raise value
            out.append(value)
        return out

    def initial(self) -> list[Batch]:
        return self._call([(0, "initial", ())])[0] 

    def start(self, first: Sequence[Batch]) -> list[Report]:
        return self._call([(d, "start", ([first[d]],)) for d in range(self.n)])

    def level(self, deadline: float | None) -> tuple[list[Report], list[Report]]:
        outs = self._call([(i, "expand", (deadline,)) for i in range(self.n)])
        expanded = [r for _, r in outs]
        ins = [[outs[src][0][dest] for src in range(self.n)] for dest in range(self.n)]
        received = self._call([(d, "receive", (ins[d],)) for d in range(self.n)])
        return expanded, received

    def key_and_parent(self, number: int) -> tuple[int, int]:
        return self._call([(number % self.n, "key_and_parent", (number,))])[0] 

    def close(self) -> None:
        for conn, proc in zip(self._conns, self._procs):
            try:
                conn.send(("stop", ()))
            except OSError:
                pass
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


# --- Ray ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """How a process elsewhere builds the same model: the variant (a shipped name or the
    path of a variant file), the scenario (data) and the properties (names; those a variant
    file defines are found in it)."""

    variant: str
    scenario: Scenario
    properties: tuple[str, ...]

    @classmethod
    def of(cls, model: Model, properties: Sequence[Property]) -> ModelSpec:
        from vmacheck.checker.core.trace import is_shipped

        variant = model.variant.name if is_shipped(model) else os.path.abspath(model.variant.file)
        return cls(variant, model.scenario, tuple(p.name for p in properties))

    def build(self) -> tuple[Model, list[Property]]:
        from vmacheck.checker.loader import Catalogue, resolve_variant

        cat = Catalogue.shipped()
        (variant,) = [v for v in resolve_variant(self.variant, cat)][:1]
        return Model(variant, self.scenario), [cat.properties[p] for p in self.properties]


class RayTransport:
    """One Ray actor per partition (see the module docstring)."""

    def __init__(self, spec: ModelSpec, options: SearchOptions, n: int) -> None:
        import ray

        self.n = n
        actor: Any = ray.remote(num_cpus=1)(_RayPartition)
        self._actors: list[Any] = [actor.remote(spec, options, i, n) for i in range(n)]
        self._ray: Any = ray

    def initial(self) -> list[Batch]:
        return self._ray.get(self._actors[0].initial.remote()) 

    def start(self, first: Sequence[Batch]) -> list[Report]:
        return self._ray.get([a.start.remote(first[d]) for d, a in enumerate(self._actors)]) 

    def level(self, deadline: float | None) -> tuple[list[Report], list[Report]]:
        n = self.n
        # each expand returns n batches (one per partition) and its report, as n + 1 objects
        outs = [a.expand.options(num_returns=n + 1).remote(deadline) for a in self._actors]
        received = [
            a.receive.remote(*[outs[src][dest] for src in range(n)]) for dest, a in enumerate(self._actors)
        ]
        expanded = self._ray.get([o[n] for o in outs])
        return expanded, self._ray.get(received)

    def key_and_parent(self, number: int) -> tuple[int, int]:
        return self._ray.get(self._actors[number % self.n].key_and_parent.remote(number)) 

    def close(self) -> None:
        for a in self._actors:
            self._ray.kill(a)


class _RayPartition:
    """A partition as a Ray actor: built from a model spec, batches as separate returns."""

    def __init__(self, spec: ModelSpec, options: SearchOptions, me: int, n: int) -> None:
        model, props = spec.build()
        self.part = _partition(model, props, options, me, n)

    def initial(self) -> list[Batch]:
        return self.part.initial()

    def start(self, *batches: Batch) -> Report:
        return self.part.start(batches)

    def expand(self, deadline: float | None) -> tuple[Any, ...]:
        batches, report = self.part.expand(deadline)
        return (*batches, report)

    def receive(self, *batches: Batch) -> Report:
        return self.part.receive(batches)

    def key_and_parent(self, number: int) -> tuple[int, int]:
        return self.part.key_and_parent(number)


def _partition(model: Model, props: Sequence[Property], options: SearchOptions, me: int, n: int) -> Partition:
    return Partition(
        model,
        props,
        me,
        n,
        reduce_ids=options.reduce_ids,
        symmetry=options.symmetry,
        check_determinism=options.check_determinism,
    )


# --- the driver ---------------------------------------------------------------------------------
class ParallelSearch(Search):
    """:class:`Search` with its states in ``workers`` partitions (see the module docstring).
    ``ray``: ``None`` for forked processes here, else a Ray address (``"auto"`` for a running
    cluster, ``"local"`` to start one on this machine)."""

    def __init__(
        self,
        model: Model,
        properties: Sequence[Property],
        options: SearchOptions,
        workers: int,
        ray: str | None = None,
        progress: ProgressFn | None = None,
        engine: str = "explicit",
    ) -> None:
        super().__init__(model, properties, options, progress, engine)
        self.workers = workers
        self.ray = ray
        self._transport: Transport | None = None
        self.per_worker: list[int] = []  # states each partition holds
        self._found_at: dict[str, tuple[int, int]] = {}

    def _open(self) -> Transport:
        opts = self.options
        if self.ray is None:
            model, props = self.model, self.properties
            return ForkTransport(lambda me, n: _partition(model, props, opts, me, n), self.workers)
        import ray

        if not ray.is_initialized():
            if self.ray == "local":  # on this machine, on the loopback interface only
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    _node_ip_address="127.0.0.1",
                )
            else:
                ray.init(address=self.ray, log_to_driver=False)
        return RayTransport(ModelSpec.of(self.model, self.properties), opts, self.workers)

    def run(self) -> CheckResult:
        opts = self.options
        t0 = time.monotonic()
        deadline = None if opts.timeout is None else t0 + opts.timeout
        self.prepare()  # before forking: the partitions inherit what it computed
        transport = self._transport = self._open()
        try:
            received = transport.start(transport.initial())
            expanded: list[Report] = []
            depth = 0
            last_report = t0
            names = {p.name for p in self.properties}
            while True:
                self._collect(expanded + received)
                states = sum(r.states for r in received)
                self.per_worker = [r.states for r in received]
                transitions = sum(r.transitions for r in expanded) if expanded else 0
                frontier = sum(r.frontier for r in received)
                now = time.monotonic()
                self.stats = Stats(states, transitions, depth, now - t0, 0.0)
                if self.progress is not None and now - last_report >= opts.progress_every:
                    last_report = now
                    self.progress(self.stats, frontier)
                if not frontier or set(self.judge.found) >= names:
                    break
                if any(r.timed_out for r in expanded) or (deadline is not None and now >= deadline):
                    self.bound = f"timeout={opts.timeout:g}s"
                    break
                if opts.max_states is not None and states >= opts.max_states:
                    self.bound = f"max_states={opts.max_states}"
                    break
                expanded, received = transport.level(deadline)
                if any(r.new for r in received):
                    depth += 1
            self.stats = self._stats_parallel(t0, transitions, depth, received)
            if self.progress is not None:
                self.progress(self.stats, 0)
            return self._result()
        finally:
            transport.close()
            self._transport = None

    def _collect(self, reports: Sequence[Report]) -> None:
        """The first violation of each property: least trace length, then least number."""
        best: dict[str, tuple[int, int, str, Any]] = {}
        for r in reports:
            for name, got in r.found.items():
                if name not in best or got[:2] < best[name][:2]:
                    best[name] = got
        for name, (length, where, hook, violation) in best.items():
            old = self.judge.found.get(name)
            if old is None or (length, where) < self._found_at[name]:
                self.judge.found[name] = Found(violation, where, hook)
                self._found_at[name] = (length, where)

    def _stats_parallel(self, t0: float, transitions: int, depth: int, reports: Sequence[Report]) -> Stats:
        """The run's statistics; memory is the largest of the driver and the partitions."""
        peak = max(
            [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, *(r.peak_mb for r in reports)]
        )
        states = sum(r.states for r in reports)
        per_state = sum(r.store_bytes for r in reports) / states if states else 0.0
        return Stats(states, transitions, depth, time.monotonic() - t0, peak, per_state)

    def chain(self, number: int) -> list[Hashable]:
        transport = self._transport
        assert transport is not None
        chain: list[Hashable] = []
        while number >= 0:
            key, number = transport.key_and_parent(number)
            chain.append(key)
        chain.reverse()
        return chain
