"""The judge: every property's verdict on the states and steps a search meets, in one place.

A property overrides the hooks it needs (:mod:`vmacheck.properties.base`): ``check_state``
on every state reached, ``check_step`` on every step taken, and, where no thread can move,
``check_final`` if every thread returned or ``check_stuck`` if some did not. The judge
calls each property only until it is first violated, and remembers where (``Found``).
Every engine judges through this class, so the stuck-or-final rule and the order in which
hooks run exist once.

A property is the user's code as much as a variant is: one that raises is reported as a
fault in it, naming the property and the file and line (:class:`PropertyFault`), not as a
verdict and not as a traceback.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vmacheck.properties.base import Property, Violation
from vmacheck.protocol.kernel import VariantError
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import State, ThreadState

from .encoding import Comp, Components
from .stepper import Succ

HOOKS = ("check_state", "check_step", "check_stuck", "check_final")


class PropertyFault(VariantError):
    """A property's own code raised."""


@dataclass
class Found:
    """A property's first violation: the violation, where the search was (a state number,
    or a step count for a schedule) and which hook found it."""

    violation: Violation
    where: int
    hook: str


def _fault(prop: Property, hook: str, exc: Exception) -> PropertyFault:
    source = inspect.getsourcefile(type(prop)) or ""
    line = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if source and Path(frame.filename).resolve() == Path(source).resolve():
            line = f"{frame.filename}:{frame.lineno}"
            break
    where = f" ({line})" if line else (f" ({source})" if source else "")
    return PropertyFault(f"property '{prop.name}' {hook}{where}: {type(exc).__name__}: {exc}")


class Judge:
    """Judges states and steps of ``model`` by ``properties`` (see the module docstring)."""

    def __init__(self, model: Model, properties: Sequence[Property]) -> None:
        self.model = model
        self.properties = list(properties)
        self.found: dict[str, Found] = {}
        self._pending = {hook: [p for p in self.properties if hook in p.hooks()] for hook in HOOKS}

    def _call(self, hook: str, where: int, *args: object) -> bool:
        pending = self._pending[hook]
        hit = False
        for prop in list(pending):
            try:
                v = getattr(prop, hook)(self.model, *args)
            except VariantError:
                raise
            except Exception as exc:
                raise _fault(prop, hook, exc) from exc
            if v is not None:
                self.found[prop.name] = Found(v, where, hook)
                hit = True
                for lst in self._pending.values():
                    if prop in lst:
                        lst.remove(prop)
        return hit

    def wants(self, hook: str) -> bool:
        """Some property not yet violated has this hook."""
        return bool(self._pending[hook])

    def state(self, state: State, where: int) -> bool:
        """Judge a state reached; true if a property was newly violated."""
        return bool(self._pending["check_state"]) and self._call("check_state", where, state)

    def step(self, before: State, tr: Transition, where: int) -> bool:
        """Judge a step taken from ``before``."""
        return bool(self._pending["check_step"]) and self._call("check_step", where, before, tr)

    def end(self, state: State, where: int) -> bool:
        """Judge a state where no thread can move: final if every thread returned, else stuck."""
        hook = "check_final" if all(th.done for th in state.threads) else "check_stuck"
        return bool(self._pending[hook]) and self._call(hook, where, state)

    def again(
        self, prop: Property, hook: str, state: State, tr: Transition | None = None
    ) -> Violation | None:
        """``prop``'s verdict by ``hook`` on one state (or step from it), outside a search:
        to judge a rebuilt trace's last state or step with its real thread numbers."""
        try:
            if hook == "check_step":
                assert tr is not None
                return prop.check_step(self.model, state, tr)
            result: Violation | None = getattr(prop, hook)(self.model, state)
            return result
        except VariantError:
            raise
        except Exception as exc:
            raise _fault(prop, hook, exc) from exc

    @property
    def done(self) -> bool:
        """Every property has been violated: nothing is left to find."""
        return len(self.found) == len(self.properties)


# --- judging encoded states, with memoisation ------------------------------------------------------
# The properties' verdict on a state is a function of what they read of it. A search meets
# the same shared part, and the same few fields of the threads' blocks, over and over: so
# the judge runs the properties on a state whose thread blocks record which fields are read,
# and remembers the verdict under the values of exactly those fields. Another state with the
# same shared part and the same values at those fields makes every property read the same
# fields in the same order (properties are deterministic), hence the same verdict.


class _Reads:
    """The (thread, field) positions read during one judgement, in order."""

    __slots__ = ("seen", "skip")

    def __init__(self, skip: int = -1) -> None:
        self.seen: dict[tuple[int, int], None] = {}
        self.skip = skip  # a thread whose block the memo key already determines

    def add(self, j: int, f: int) -> None:
        if j != self.skip:
            self.seen[(j, f)] = None

    def all(self, j: int) -> None:
        for f in range(len(ThreadState._fields)):
            self.add(j, f)


class _Watched(ThreadState):
    """A thread block that records every read of its fields (see above). It is a real
    :class:`ThreadState` (equal to, and hashing like, the block it watches): reading it
    whole — iterating, indexing, comparing, hashing, printing, copying — counts as reading
    every field."""

    def _touch(self) -> None:
        self.__dict__["reads"].all(self.__dict__["j"])

    def _replace(self, **kw: object) -> ThreadState:  # type: ignore[override]
        self._touch()
        return tuple.__new__(ThreadState, tuple.__iter__(self))._replace(**kw)  # type: ignore[type-var, arg-type]

    def _asdict(self) -> dict[str, object]:
        self._touch()
        return tuple.__new__(ThreadState, tuple.__iter__(self))._asdict()  # type: ignore[type-var]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        self._touch()
        return (ThreadState, tuple(tuple.__iter__(self)))


def _whole(name: str) -> object:
    base = getattr(ThreadState, name) if name == "__repr__" else getattr(tuple, name)

    def read(self: _Watched, *args: object) -> object:
        self._touch()
        return base(self, *args)

    read.__name__ = name
    return read


for _name in (
    "__repr__",
    "__getitem__",
    "__iter__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
):
    setattr(_Watched, _name, _whole(_name))


def _field(i: int) -> property:
    def get(self: _Watched) -> object:
        d = self.__dict__
        d["reads"].add(d["j"], i)
        return tuple.__getitem__(self, i)

    return property(get)


for _i, _name in enumerate(ThreadState._fields):
    setattr(_Watched, _name, _field(_i))


def _watch(th: ThreadState, j: int, reads: _Reads) -> ThreadState:
    w = tuple.__new__(_Watched, th)
    w.__dict__["j"] = j
    w.__dict__["reads"] = reads
    return w


Verdicts = tuple[tuple[Property, Violation], ...]
MEMO_LIMIT = 1 << 18  # verdicts remembered before the memo starts afresh (some 25 MB)
Entries = list[tuple[tuple[tuple[int, int], ...], dict[tuple[int, ...], Verdicts]]]


class MemoJudge(Judge):
    """A :class:`Judge` of encoded states (:mod:`.encoding`) that memoises verdicts by what
    the properties read (see above). ``state_comp`` and ``step_comp`` give the same verdicts
    as ``state`` and ``step`` on the decoded states; the tests compare both."""

    def __init__(self, model: Model, properties: Sequence[Property], comps: Components) -> None:
        super().__init__(model, properties)
        self.comps = comps
        self._memo: dict[str, dict[Hashable, Entries]] = {"check_state": {}, "check_step": {}}
        self.misses = 0
        self.remembered = 0

    def _lookup(self, entries: Entries | None, comp: Comp) -> Verdicts | None:
        if not entries:
            return None
        fields = self.comps.thread_fields
        for positions, table in entries:
            got = table.get(tuple(fields[comp[1 + j]][f] for j, f in positions))
            if got is not None:
                return got
        return None

    def _remember(self, hook: str, base: Hashable, comp: Comp, reads: _Reads, verdicts: Verdicts) -> None:
        self.remembered += 1
        if self.remembered > MEMO_LIMIT:  # a bound on memory: start again
            self._memo = {h: {} for h in self._memo}
            self.remembered = 1
        fields = self.comps.thread_fields
        positions = tuple(sorted(reads.seen))  # which positions, not in what order, decides
        values = tuple(fields[comp[1 + j]][f] for j, f in positions)
        entries = self._memo[hook].setdefault(base, [])
        for pos, table in entries:
            if pos == positions:
                table[values] = verdicts
                return
        entries.append((positions, {values: verdicts}))

    def _apply(self, hook: str, verdicts: Verdicts, where: int) -> bool:
        hit = False
        for prop, v in verdicts:
            if prop.name not in self.found:
                self.found[prop.name] = Found(v, where, hook)
                hit = True
                for lst in self._pending.values():
                    if prop in lst:
                        lst.remove(prop)
        return hit

    def _run(self, hook: str, *args: object) -> Verdicts:
        self.misses += 1
        out = []
        for prop in self._pending[hook]:
            try:
                v = getattr(prop, hook)(self.model, *args)
            except VariantError:
                raise
            except Exception as exc:
                raise _fault(prop, hook, exc) from exc
            if v is not None:
                out.append((prop, v))
        return tuple(out)

    def state_comp(self, comp: Comp, where: int) -> bool:
        """Judge an encoded state reached (as :meth:`Judge.state`)."""
        if not self._pending["check_state"]:
            return False
        base = comp[0]
        got = self._lookup(self._memo["check_state"].get(base), comp)
        if got is None:
            reads = _Reads()
            sh = self.comps.shared[base]
            threads = tuple(_watch(self.comps.threads[t], j, reads) for j, t in enumerate(comp[1:]))
            state = State(sh.vmas, sh.map_count, sh.ptes, sh.pts, sh.sem, threads)
            got = self._run("check_state", state)
            self._remember("check_state", base, comp, reads, got)
        return bool(got) and self._apply("check_state", got, where)

    def step_comp(self, comp: Comp, succ: Succ, where: int) -> bool:
        """Judge a step from encoded state ``comp`` to ``succ`` (as :meth:`Judge.step`)."""
        if not self._pending["check_step"]:
            return False
        tid = succ.tid
        base = (tid, comp[0], comp[1 + tid], succ.k, succ.comp[0])
        got = self._lookup(self._memo["check_step"].get(base), comp)
        if got is None:
            reads = _Reads(skip=tid)  # the moving thread's block is part of the key
            threads = self.comps.threads
            watched = [_watch(threads[t], j, reads) for j, t in enumerate(comp[1:])]
            watched[tid] = threads[comp[1 + tid]]
            sh = self.comps.shared[comp[0]]
            before = State(sh.vmas, sh.map_count, sh.ptes, sh.pts, sh.sem, tuple(watched))
            watched[tid] = threads[succ.comp[1 + tid]]
            sa = self.comps.shared[succ.comp[0]]
            after = State(sa.vmas, sa.map_count, sa.ptes, sa.pts, sa.sem, tuple(watched))
            o = succ.outcome
            got = self._run(
                "check_step", before, Transition(tid, o.label, o.kernel, o.choices, after, o.events)
            )
            self._remember("check_step", base, comp, reads, got)
        return bool(got) and self._apply("check_step", got, where)
