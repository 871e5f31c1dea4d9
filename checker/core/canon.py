"""State-space reductions that never change a verdict.

- **vma-id canonicalisation**: vma ids are names for pointers, nothing else; states that
  differ only in how their vmas are numbered are the same state. Vmas are renumbered in a
  canonical order and the pointers in threads' locals renamed with them.
- **thread symmetry**: threads running the same program with the same argument choices are
  interchangeable; of the states that differ only by swapping them (their locals, lock
  holds, vma ownership and the tags of mappings they created) one representative is kept.

A representative is itself a reachable state (the same run with the threads' names
swapped), and properties never depend on ids or on which identical thread is which, so
every verdict is unchanged; tests compare verdicts with and without each reduction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from vmacheck.protocol.model import Model
from vmacheck.protocol.state import NO_THREAD, RwSem, State, ThreadState, Vma, VmaRef


def _rename_ids(state: State) -> State:
    order = sorted(state.vmas, key=lambda v: (v.status, v.start, v.end, v.owner, v.flags, v.tag, v.id))
    mapping = {v.id: i for i, v in enumerate(order)}
    if all(mapping[v.id] == v.id for v in state.vmas):
        return state
    vmas = tuple(v._replace(id=mapping[v.id]) for v in order)
    threads = tuple(
        th._replace(locals=tuple(VmaRef(mapping[x]) if isinstance(x, VmaRef) else x for x in th.locals))
        if any(isinstance(x, VmaRef) for x in th.locals)
        else th
        for th in state.threads
    )
    return state._replace(vmas=vmas, threads=threads)


def symmetry_groups(model: Model) -> list[list[int]]:
    """Threads with the same program, the same argument choices and default tags."""
    groups: dict[object, list[int]] = {}
    for tid, spec in enumerate(model.scenario.threads):
        if spec.tag:  # an explicit tag makes the thread distinguishable
            continue
        key = (id(model.programs[tid].steps), spec.syscall, tuple(sorted(spec.args.items())))
        groups.setdefault(key, []).append(tid)
    return [g for g in groups.values() if len(g) > 1]


def _permute(state: State, perm: dict[int, int], tags: dict[str, str]) -> State:
    def tid(t: int) -> int:
        return perm.get(t, t)

    def tag(t: str | None) -> str | None:
        return tags.get(t, t) if t is not None else None

    threads: list[ThreadState] = list(state.threads)
    for old, new in perm.items():
        th = state.threads[old]
        snap = th.snapshot
        if snap is not None:
            snap = frozenset(tags.get(x, x) for x in snap)
        threads[new] = th._replace(snapshot=snap)
    for i, th in enumerate(threads):
        if i not in perm and th.snapshot is not None:
            threads[i] = th._replace(snapshot=frozenset(tags.get(x, x) for x in th.snapshot))
    sem = state.sem
    sem = RwSem(
        tid(sem.writer) if sem.writer != NO_THREAD else NO_THREAD,
        tuple(sorted(tid(r) for r in sem.readers)),
        tuple((tid(w), m) for w, m in sem.waiters),
    )
    vmas = tuple(
        Vma(
            v.id,
            v.start,
            v.end,
            v.flags,
            tags.get(v.tag, v.tag),
            v.status,
            tid(v.owner) if v.owner != NO_THREAD else NO_THREAD,
        )
        for v in state.vmas
    )
    ptes = tuple(tag(p) for p in state.ptes)
    return State(vmas, state.map_count, ptes, state.pts, sem, tuple(threads))


def _stable(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(map(_stable, value), key=repr)
    if isinstance(value, tuple):
        return [_stable(v) for v in value]
    return value


def stable_key(state: State) -> str:
    """A total order on states that is the same in every process (frozensets sorted)."""
    return repr(_stable(state))


def canonicaliser(model: Model, ids: bool = True, symmetry: bool = True) -> Callable[[State], State]:
    """The canonicalising function for ``model`` with the chosen reductions."""
    groups = symmetry_groups(model) if symmetry else []
    perms: list[tuple[dict[int, int], dict[str, str]]] = []
    if groups:
        per_group = [list(itertools.permutations(g)) for g in groups]
        for combo in itertools.product(*per_group):
            perm: dict[int, int] = {}
            for group, image in zip(groups, combo):
                perm.update({a: b for a, b in zip(group, image) if a != b})
            if perm:
                tags = {model.tags[a]: model.tags[b] for a, b in perm.items()}
                perms.append((perm, tags))

    def rename(state: State) -> State:
        return _rename_ids(state) if ids else state

    if not perms:
        return rename if ids else (lambda s: s)

    def canon(state: State) -> State:
        # The representative is the candidate with the least stable_key: Python's hash()
        # of strings changes from process to process (PYTHONHASHSEED), and which of two
        # symmetric states is kept decides which of several shortest traces is reported.
        best = rename(state)
        best_key = stable_key(best)
        for perm, tags in perms:
            cand = rename(_permute(state, perm, tags))
            key = stable_key(cand)
            if key < best_key:
                best, best_key = cand, key
        return best

    return canon
