"""The state encoding: a state as a flat tuple of small integers, one per component.

A state of the model is its *shared* part — the vma tree, ``map_count``, the PTEs, the
page-table pages and ``mmap_sem`` — and one block per thread (pc, locals, result, history).
In the states of one check the same components recur again and again: a few hundred shared
parts and a few thousand thread blocks make up hundreds of thousands of states (SPIN's
``-DCOLLAPSE`` is built on the same observation). So every component is *interned* once,
numbered, and a state is the tuple ``(shared, thread 0, …, thread n-1)`` of those numbers.

Interning compares components by a typed serialisation (:func:`serialise`), not by Python's
``==``: ``VmaRef(2) == 2`` and ``True == 1`` in Python, but a local holding a vma pointer and
one holding the number 2 are different states. The serialisation also gives each component a
*stable* 64-bit fingerprint (BLAKE2b), the same in every process and run, from which the
fingerprint of a whole canonical state is computed (:mod:`vmacheck.checker.core.fingerprint`).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from vmacheck.protocol.state import PtRef, RwSem, State, ThreadState, Vma, VmaRef

Comp = tuple[int, ...]  # (shared id, thread 0 id, ..., thread n-1 id)


class Shared(NamedTuple):
    """The part of a state every thread sees."""

    vmas: tuple[Vma, ...]
    map_count: int
    ptes: tuple[str | None, ...]
    pts: tuple[int, ...]
    sem: RwSem


def _ser(value: object, out: list[str]) -> None:
    # One letter per type, so that values equal under Python's == but of different types
    # (True/1, VmaRef(2)/2, a tuple/a frozenset) never serialise alike.
    if value is None:
        out.append("N")
    elif value is True:
        out.append("T")
    elif value is False:
        out.append("F")
    elif isinstance(value, VmaRef):
        out.append(f"V{int(value)};")
    elif isinstance(value, int):
        out.append(f"I{value};")
    elif isinstance(value, str):
        out.append(f"S{len(value)}:{value}")
    elif isinstance(value, PtRef):
        out.append("P(")
        _ser(value.table, out)
        _ser(value.gen, out)
        out.append(")")
    elif isinstance(value, frozenset):
        # set order is not stable between processes (string hashing is randomised): sort
        out.append("{" + "".join(sorted(serialise(x) for x in value)) + "}")
    elif isinstance(value, tuple):
        out.append("(")
        for x in value:
            _ser(x, out)
        out.append(")")
    else:
        raise TypeError(f"a state cannot hold a {type(value).__name__}: {value!r}")


def serialise(value: object) -> str:
    """A text that names ``value`` exactly, types included, the same in every process."""
    out: list[str] = []
    _ser(value, out)
    return "".join(out)


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text``, the same in every process (BLAKE2b)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _key(value: object) -> str:
    """:func:`serialise`, fast: ``repr`` names every value a state holds exactly, types
    included (``True``, ``1``, ``VmaRef(1)``, ``'1'``), except a frozenset, whose element
    order is not stable between processes; only values with one pay for the slow path."""
    text = repr(value)
    return serialise(value) if "frozenset(" in text else text


class Components:
    """The interned components of one model's states, and their fingerprints.

    Thread blocks are interned field by field too: ``thread_fields[t]`` numbers each field of
    block ``t`` (pc, locals, result, done, snapshot, changed), so that what a property read of
    a block can be compared without comparing Python values (see :mod:`.judge`).
    """

    def __init__(self) -> None:
        self.shared: list[Shared] = []
        self.threads: list[ThreadState] = []
        self.shared_fp: list[int] = []
        self.thread_fp: list[int] = []
        self.thread_fields: list[tuple[int, ...]] = []
        self._shared_ids: dict[str, int] = {}
        self._thread_ids: dict[str, int] = {}
        self._field_ids: list[dict[str, int]] = [{} for _ in ThreadState._fields]

    def intern_shared(self, sh: Shared) -> int:
        key = repr(sh)  # no frozenset in a shared part: repr is exact and stable
        sid = self._shared_ids.get(key)
        if sid is None:
            sid = self._shared_ids[key] = len(self.shared)
            self.shared.append(sh)
            self.shared_fp.append(stable_hash("s" + key))
        return sid

    def intern_thread(self, th: ThreadState) -> int:
        snap = th.snapshot
        fields = (
            repr(th.pc),
            _key(th.locals),
            _key(th.result),
            repr(th.done),
            "N" if snap is None else repr(sorted(snap)),
            repr(th.changed),
        )
        key = "|".join(fields)
        tid = self._thread_ids.get(key)
        if tid is None:
            tid = self._thread_ids[key] = len(self.threads)
            self.threads.append(th)
            self.thread_fp.append(stable_hash("t" + key))
            ids = []
            for table, text in zip(self._field_ids, fields):
                got = table.get(text)
                if got is None:
                    got = table[text] = len(table)
                ids.append(got)
            self.thread_fields.append(tuple(ids))
        return tid

    def encode(self, state: State) -> Comp:
        sid = self.intern_shared(Shared(state.vmas, state.map_count, state.ptes, state.pts, state.sem))
        return (sid, *(self.intern_thread(th) for th in state.threads))

    def decode(self, comp: Comp) -> State:
        sh = self.shared[comp[0]]
        threads = self.threads
        return State(sh.vmas, sh.map_count, sh.ptes, sh.pts, sh.sem, tuple(threads[t] for t in comp[1:]))

    def fingerprints(self, comp: Comp) -> tuple[int, ...]:
        """The stable fingerprints of a state's components, in order."""
        fp = self.thread_fp
        return (self.shared_fp[comp[0]], *(fp[t] for t in comp[1:]))
