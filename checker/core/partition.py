"""One partition of a breadth-first search split between processes by shared-component fingerprint.

A state belongs to the partition ``f % n``, where ``f`` is the fingerprint of its shared
component (the vma tree, page tables, mmap_sem: :mod:`.encoding`), not of the whole state.
The caches of a process (steps keyed by thread, shared component and thread block; verdicts
keyed by what a property read, mostly shared) then serve one partition each: partitioned by
whole-state fingerprint, every partition met nearly every shared component and ran the same
steps again (126,083 step runs in each of 2 partitions against 155,557 in one process on
``bench-munmap-low`` without reductions), which ate the second core's gain. The price is
balance: the states of one shared component stay together (``bench-munmap-low`` has 10,363
shared components; split at random by component, the largest partition holds 1.02x the mean
at 2 partitions, 1.11x at 4, 1.17x at 8, 1.27x at 16). Each partition keeps the seen-set of
its own states, expands them level by level, and sends every successor to the partition that
owns it; the owner decides whether it is new. Components (:mod:`.encoding`) are numbered per
process, so what travels is their stable fingerprints, and the first time a partition sends
a component to another it sends its contents too. A state is named across partitions by a
*global number* ``local number * n + partition``.

The partition does not know how it is driven: :mod:`.parallel` runs partitions in forked
processes or as Ray actors, and exchanges their batches level by level, so that the first
violation found lies at the smallest depth, as in the one-process search.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vmacheck.properties.base import Property, Violation
from vmacheck.protocol.model import Model
from vmacheck.protocol.state import ThreadState

from .canon import Canonicaliser
from .encoding import Comp, Components, Shared
from .fingerprint import fingerprint
from .frontier import Frontier
from .judge import MemoJudge
from .seen import FingerprintStore
from .stepper import Stepper


@dataclass
class Batch:
    """Candidate states for one partition: fingerprint, component fingerprints and parent's
    global number of each, and the contents of components the receiver has not seen."""

    keys: np.ndarray  # uint64, one per candidate
    comps: np.ndarray  # uint64, (candidates, width): the canonical state's component fingerprints
    parents: np.ndarray  # int64, global numbers
    shared: list[tuple[int, Shared]] = field(default_factory=list)  # (fingerprint, contents)
    threads: list[tuple[int, ThreadState]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class Report:
    """What a partition did in one phase."""

    states: int = 0  # states it holds
    transitions: int = 0  # transitions it took (in all)
    new: int = 0  # new states this phase
    frontier: int = 0  # states waiting to be expanded
    timed_out: bool = False
    # property -> (trace length, global number, hook, violation): its first violation here
    found: dict[str, tuple[int, int, str, Violation]] = field(default_factory=dict)
    steps_run: int = 0
    store_bytes: int = 0  # what its seen-set holds
    peak_mb: float = 0.0  # its process's peak resident memory


class _Out:
    """Successors on their way to one partition."""

    def __init__(self, width: int) -> None:
        self.keys: list[int] = []
        self.comps: list[int] = []  # component fingerprints, ``width`` per successor
        self.local: list[int] = []  # the same components' numbers in this process
        self.parents: list[int] = []
        self.width = width


class Partition:
    """Partition ``me`` of ``n`` (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        properties: Sequence[Property],
        me: int,
        n: int,
        reduce_ids: bool = True,
        symmetry: bool = True,
        check_determinism: bool = True,
    ) -> None:
        self.model = model
        self.me, self.n = me, n
        self.width = model.nthreads + 1
        self.comps = Components()
        self.canon = Canonicaliser(model, self.comps, ids=reduce_ids, symmetry=symmetry)
        self.stepper = Stepper(
            model,
            self.comps,
            check_determinism=check_determinism,
            groups=self.canon.groups if (reduce_ids or symmetry) else None,
        )
        self.judge = MemoJudge(model, properties, self.comps)
        self.store = FingerprintStore(parent_type="q")
        self.frontier = Frontier(self.width)
        self.depth = 0  # the depth of the states in the frontier
        self.transitions = 0
        self._shared_by_fp: dict[int, int] = {}
        self._thread_by_fp: dict[int, int] = {}
        self._sent: list[set[int]] = [set() for _ in range(n)]  # component fps sent to each
        self._lengths: dict[str, int] = {}

    # --- numbering ----------------------------------------------------------------------------
    def global_number(self, local: int) -> int:
        return local * self.n + self.me

    def key_and_parent(self, number: int) -> tuple[int, int]:
        """The fingerprint and parent (global numbers) of global state ``number``."""
        local = number // self.n
        return int(self.store.key(local)), self.store.parent(local)

    # --- phases -------------------------------------------------------------------------------
    def initial(self) -> list[Batch]:
        """The initial states, routed to their owners (one partition calls this)."""
        outs = [_Out(self.width) for _ in range(self.n)]
        for state in self.model.initial_states():
            comp, fps = self.canon(self.comps.encode(state))
            self._route(outs, comp, fps, -1)
        return [self._batch(outs[d], d) for d in range(self.n)]

    def _route(self, outs: list[_Out], comp: Comp, fps: tuple[int, ...], parent: int) -> None:
        out = outs[fps[0] % self.n]
        out.keys.append(fingerprint(fps))
        out.comps.extend(fps)
        out.local.extend(comp)
        out.parents.append(parent)

    def _batch(self, out: _Out, dest: int) -> Batch:
        n = len(out.keys)
        batch = Batch(
            np.array(out.keys, dtype=np.uint64),
            np.array(out.comps, dtype=np.uint64).reshape(n, self.width),
            np.array(out.parents, dtype=np.int64),
        )
        if n:
            self._remember(batch.comps, np.array(out.local, dtype=np.int64).reshape(n, self.width))
        if dest != self.me and n:
            # the contents of components the receiver has not been sent yet
            sent = self._sent[dest]
            comps = self.comps
            sfp = set(batch.comps[:, 0].tolist()) - sent
            tfp = set(batch.comps[:, 1:].ravel().tolist()) - sent
            if sfp:
                batch.shared = [(f, comps.shared[self._shared_by_fp[f]]) for f in sorted(sfp)]
            if tfp:
                batch.threads = [(f, comps.threads[self._thread_by_fp[f]]) for f in sorted(tfp)]
            sent |= sfp | tfp
        return batch

    def expand(self, deadline: float | None = None) -> tuple[list[Batch], Report]:
        """Expand the frontier: judge its steps, route every successor to its owner."""
        outs = [_Out(self.width) for _ in range(self.n)]
        judge, stepper, canon = self.judge, self.stepper, self.canon
        timed_out = False
        for batch in self.frontier.batches(4096):
            for k, (local, comp) in enumerate(batch):
                if judge.done:
                    break
                g = self.global_number(local)
                succs = stepper.successors(comp)
                if not succs:
                    if judge.end(self.comps.decode(comp), g):
                        self._note_lengths(self.depth)
                    continue
                for s in succs:
                    self.transitions += 1
                    if judge.step_comp(comp, s, g):
                        self._note_lengths(self.depth + 1)
                    c, fps = canon(s.comp)
                    self._route(outs, c, fps, g)
                if deadline is not None and k % 64 == 0 and time.monotonic() >= deadline:
                    timed_out = True
                    break
            if timed_out or judge.done:
                break
        self.frontier = Frontier(self.width)
        batches = [self._batch(outs[d], d) for d in range(self.n)]
        return batches, self._report(timed_out=timed_out)

    def _remember(self, fps: np.ndarray, local: np.ndarray) -> None:
        """Which local component each fingerprint in a batch names (to send contents, and
        to find the receiver's own components): once per distinct component, not per
        successor."""
        for table, f, c in (
            (self._shared_by_fp, fps[:, 0], local[:, 0]),
            (self._thread_by_fp, fps[:, 1:].ravel(), local[:, 1:].ravel()),
        ):
            uniq, first = np.unique(f, return_index=True)
            for fp, number in zip(uniq.tolist(), c[first].tolist()):
                table.setdefault(fp, number)

    def receive(self, batches: Sequence[Batch]) -> Report:
        """Take the candidates every partition sent here (in partition order): number the
        new ones, judge them, and keep them for the next level."""
        comps = self.comps
        for batch in batches:
            for f, sh in batch.shared:
                if f not in self._shared_by_fp:
                    self._shared_by_fp[f] = comps.intern_shared(sh)
            for f, th in batch.threads:
                if f not in self._thread_by_fp:
                    self._thread_by_fp[f] = comps.intern_thread(th)
        new = 0
        self.depth += 1
        for batch in batches:
            if not len(batch):
                continue
            numbers = self.store.insert(batch.keys.tolist(), batch.parents.tolist())
            rows = batch.comps.tolist()
            sb, tb = self._shared_by_fp, self._thread_by_fp
            for row, number in zip(rows, numbers):
                if number < 0:
                    continue
                new += 1
                comp = (sb[row[0]], *[tb[f] for f in row[1:]])
                self.frontier.append(number, comp)
                if self.judge.state_comp(comp, self.global_number(number)):
                    self._note_lengths(self.depth)
        report = self._report()
        report.new = new
        return report

    def start(self, batches: Sequence[Batch]) -> Report:
        """Take the initial states (depth 0)."""
        self.depth = -1
        return self.receive(batches)

    def _note_lengths(self, length: int) -> None:
        for name in self.judge.found:
            self._lengths.setdefault(name, length)

    def _report(self, timed_out: bool = False) -> Report:
        found = {
            name: (self._lengths[name], f.where, f.hook, f.violation) for name, f in self.judge.found.items()
        }
        return Report(
            states=len(self.store),
            transitions=self.transitions,
            frontier=len(self.frontier),
            timed_out=timed_out,
            found=found,
            steps_run=self.stepper.runs,
            store_bytes=self.store.nbytes(),
            peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        )
