"""Successor generation over encoded states, with a cache of every thread's steps.

A step of thread ``t`` reads the shared state and ``t``'s own block, nothing else (the kernel
object a step receives holds no other thread's locals), so its outcomes are a function of
``(t, shared, block of t)``. In one check those triples recur: on the benchmark scenario
97 % of the calls repeat one seen before. The stepper runs each distinct triple's step once,
through :meth:`Model.local_successors`, and keeps the outcomes as component numbers; a
successor of an encoded state is then its tuple with two entries replaced.

What does depend on the other threads is which freed vmas somebody still points to:
garbage collection (:func:`vmacheck.protocol.kernel.collect_garbage`) runs on the composed
state, cached by (shared part, pointers held).

A step of the user's is run twice the first time it is met, the second time on a mirror
image of the state (:meth:`Stepper._check`), and both runs must agree: a step whose outcome
depends on anything but the state (a global that changes, a random number, the time), or
that tells apart what the reductions identify, would make verdicts and traces depend on the
order of exploration. It is reported as the user's fault, naming the step
(:class:`NondeterministicStep`, :class:`AsymmetricStep`). vmacheck's own steps are checked
by its tests instead.
"""

from __future__ import annotations

from typing import NamedTuple

from vmacheck.protocol.events import Event
from vmacheck.protocol.kernel import VariantError, referenced_vmas
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import FREED, State

from .canon import Perm, compact, permute_state, rename_state
from .encoding import Comp, Components, Shared
from .replay import ReplayError, ours


class NondeterministicStep(VariantError):
    """A step gave different outcomes from the same state."""


class AsymmetricStep(VariantError):
    """A user's step behaves differently on states the reductions identify: it tells
    interchangeable threads apart, or reads the numbers of vma ids."""


class Outcome(NamedTuple):
    """One outcome of one thread's step, as component numbers (before garbage collection)."""

    label: str
    kernel: str
    choices: tuple[int, ...]
    events: tuple[Event, ...]
    shared: int
    thread: int


class Succ(NamedTuple):
    """A successor of an encoded state: who moved, which outcome (and its number among the
    thread's outcomes), and the state reached."""

    tid: int
    k: int
    outcome: Outcome
    comp: Comp


def _strip(e: Event) -> Event:
    """An event without vma ids, which no property may read."""
    return e._replace(
        vma=None if e.vma is None else e.vma._replace(id=-1), vmas=tuple(v._replace(id=-1) for v in e.vmas)
    )


def _mirrors(a: list[Transition], b: list[Transition], perm: Perm) -> bool:
    """Whether ``b`` (steps from a mirror image) are the images of ``a`` under ``perm``, up
    to the numbering of vma ids."""

    def event(e: Event) -> Event:
        tag = perm.tags.get(e.tag, e.tag) if e.tag is not None else None
        vma = e.vma
        if vma is not None:
            vma = vma._replace(tag=perm.tags.get(vma.tag, vma.tag), owner=perm.tid(vma.owner))
        vmas = tuple(v._replace(tag=perm.tags.get(v.tag, v.tag), owner=perm.tid(v.owner)) for v in e.vmas)
        return _strip(e._replace(tid=perm.tid(e.tid), tag=tag, vma=vma, vmas=vmas))

    return len(a) == len(b) and all(
        x.label == y.label
        and x.choices == y.choices
        and compact(permute_state(perm, x.state)) == compact(y.state)
        and [event(e) for e in x.events] == [_strip(e) for e in y.events]
        for x, y in zip(a, b)
    )


def _same(a: list[Transition], b: list[Transition]) -> bool:
    return len(a) == len(b) and all(
        x.label == y.label and x.choices == y.choices and x.state == y.state and x.events == y.events
        for x, y in zip(a, b)
    )


class Stepper:
    """Successors of encoded states of ``model`` (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        comps: Components,
        check_determinism: bool = True,
        groups: list[list[int]] | None = None,
    ) -> None:
        """``groups``: the symmetry groups the search identifies threads of (and vma ids
        are renamed); each step is then also checked to treat them alike (see :meth:`_run`).
        ``None``: no reductions, only determinism is checked."""
        self.model = model
        self.comps = comps
        self.check_determinism = check_determinism
        self.groups = groups
        self._steps: dict[tuple[int, int, int], list[Outcome]] = {}
        self._freed: dict[int, frozenset[int]] = {}  # shared id -> ids of its freed vmas
        self._refs: dict[int, frozenset[int]] = {}  # thread block id -> vma ids it points to
        self._gc: dict[tuple[int, frozenset[int]], int] = {}
        self.runs = 0  # steps actually executed (cache misses)
        self._trust: dict[object, bool] = {}

    def outcomes(self, comp: Comp, tid: int) -> list[Outcome]:
        """Thread ``tid``'s step from ``comp``: one outcome per choice; none if it waits."""
        key = (tid, comp[0], comp[1 + tid])
        got = self._steps.get(key)
        if got is None:
            got = self._steps[key] = self._run(comp, tid)
        return got

    def _run(self, comp: Comp, tid: int) -> list[Outcome]:
        state = self.comps.decode(comp)
        model = self.model
        trs = model.local_successors(state, tid)
        self.runs += 1
        if self.check_determinism and not self._trusted(model.programs[tid].steps[state.threads[tid].pc].fn):
            self._check(state, tid, trs)
        comps = self.comps
        out = []
        for tr in trs:
            s = tr.state
            sid = comps.intern_shared(Shared(s.vmas, s.map_count, s.ptes, s.pts, s.sem))
            out.append(
                Outcome(tr.label, tr.kernel, tr.choices, tr.events, sid, comps.intern_thread(s.threads[tid]))
            )
        return out

    def _trusted(self, fn: object) -> bool:
        """vmacheck's own steps (shipped variants and syscalls) are not checked again at run
        time: the test suite checks them (``tests/checker/test_canon.py``)."""
        got = self._trust.get(fn)
        if got is None:
            code = getattr(fn, "__code__", None)
            got = self._trust[fn] = code is not None and ours(code.co_filename)
        return got

    def _check(self, state: State, tid: int, trs: list[Transition]) -> None:
        """Run the step a second time, on a mirror image of ``state``: its vma ids renamed
        to other numbers in the same order and, if ``tid`` has an interchangeable peer, the
        two threads swapped. The outcomes must be the mirror images of the first run's. If
        they are not, a third run from ``state`` itself tells a nondeterministic step from
        one that treats the mirror differently, which would make the reductions unsound."""
        model = self.model
        if self.groups is None:
            again = model.local_successors(state, tid)
            if not _same(trs, again):
                raise self._fault(state, tid, NondeterministicStep)
            return
        peer = next((g[(g.index(tid) + 1) % len(g)] for g in self.groups if tid in g), tid)
        to = list(range(model.nthreads))
        to[tid], to[peer] = peer, tid
        perm = Perm(tuple(to), model.tags, -1)
        ids = {v.id: 2 * v.id + 1 for v in state.vmas}
        image = permute_state(perm, rename_state(state, ids))
        mirrored = model.local_successors(image, peer)
        if _mirrors(trs, mirrored, perm):
            return
        if not _same(mirrored, model.local_successors(image, peer)) or not _same(
            trs, model.local_successors(state, tid)
        ):
            raise self._fault(state, tid, NondeterministicStep)
        raise self._fault(state, tid, AsymmetricStep)

    def _fault(self, state: State, tid: int, kind: type[VariantError]) -> Exception:
        prog = self.model.programs[tid]
        where = prog.where(state.threads[tid].pc)
        if kind is NondeterministicStep:
            return NondeterministicStep(
                f"{where}: the step is not deterministic: run twice from the same state it did"
                " different things (does it read a global variable, the time or a random number?"
                " a step may depend only on the state)"
            )
        what = (
            f"{where}: the step does different things in states that differ only in the numbering"
            " of vmas or of interchangeable threads (does it read k.tid, a vma's id, or compare"
            " tags?)"
        )
        fn = prog.steps[state.threads[tid].pc].fn
        code = getattr(fn, "__code__", None)
        if ours(code.co_filename if code is not None else prog.file):
            return ReplayError(what)
        return AsymmetricStep(what + "; run with --no-reduction to check it without assuming that")

    def successors(self, comp: Comp) -> list[Succ]:
        """Every step any unfinished thread can take from ``comp``."""
        threads = self.comps.threads
        out: list[Succ] = []
        for tid in range(len(comp) - 1):
            if threads[comp[1 + tid]].done:
                continue
            for k, o in enumerate(self.outcomes(comp, tid)):
                nxt = list(comp)
                nxt[0] = o.shared
                nxt[1 + tid] = o.thread
                out.append(Succ(tid, k, o, self.collect(tuple(nxt))))
        return out

    def collect(self, comp: Comp) -> Comp:
        """``comp`` without the freed vmas no thread points to any more."""
        sid = comp[0]
        freed = self._freed.get(sid)
        if freed is None:
            freed = self._freed[sid] = frozenset(
                v.id for v in self.comps.shared[sid].vmas if v.status == FREED
            )
        if not freed:
            return comp
        held = frozenset().union(*(self._held(t) for t in comp[1:])) & freed
        key = (sid, held)
        gone = self._gc.get(key)
        if gone is None:
            sh = self.comps.shared[sid]
            vmas = tuple(v for v in sh.vmas if v.status != FREED or v.id in held)
            gone = self._gc[key] = self.comps.intern_shared(sh._replace(vmas=vmas))
        return (gone, *comp[1:])

    def _held(self, tc: int) -> frozenset[int]:
        got = self._refs.get(tc)
        if got is None:
            got = self._refs[tc] = frozenset(referenced_vmas([self.comps.threads[tc]]))
        return got

    def transition(self, succ: Succ) -> Transition:
        """The transition object properties judge: the real successor state, whole."""
        o = succ.outcome
        return Transition(succ.tid, o.label, o.kernel, o.choices, self.comps.decode(succ.comp), o.events)
