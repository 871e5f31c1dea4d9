"""The canonicaliser: one representative per class of states that no step and no property can
tell apart. Both reductions work on encoded states (:mod:`vmacheck.checker.core.encoding`),
component by component, and every component's image is computed once and cached.

- **vma-id renaming.** Vma ids are names for pointers. The model may depend on their
  *order* (``find_vma`` and ``page_view`` scan vmas in id order when two overlap, a new vma
  gets the next id), so ids are renamed by *compaction*: the k-th smallest id becomes k.
  Relative order is kept, so this renaming commutes with every step, whatever order-
  dependence a step has; what it merges is states that differ in which ids freed vmas held.
  Pointers are renamed everywhere they can be: in locals at any depth (a tuple of vmas), in
  a returned result, for linked, detached, freed and forgotten vmas alike.
- **thread symmetry.** Threads that run the same program with the same argument choices
  and no explicit tag are interchangeable: permuting them (their blocks, their lock holds
  and waits, the vmas they own, the tags of the mappings they create, wherever a tag is
  stored: vmas, PTEs, snapshots, locals, results) maps runs to runs. The representative is
  the permutation whose image has the least tuple of component fingerprints — stable across
  processes, so every worker picks the same one. With few permutations (at most
  :data:`ENUMERATE` in all) every one is tried; with more, threads are sorted by a signature
  that a permutation cannot change (their block with tags replaced by their role, their
  lock role, the vmas they own or created, the pages their mappings back), and only threads
  with equal signatures are permuted among themselves.

Soundness rests on the model: a step sees the shared state and its own block only, and
treats threads and vma ids by identity and order; ``tests/checker/test_canon.py`` checks,
on random reachable states of every shipped variant and scenario, that
``canon(s) == canon(π(s))`` for every renaming and permutation π, that the canonical
successors of ``canon(s)`` are those of ``s``, and that every verdict is unchanged.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from vmacheck.protocol.model import Model
from vmacheck.protocol.state import NO_THREAD, RwSem, State, ThreadState, Vma, VmaRef

from .encoding import Comp, Components, Shared, serialise

# Try every permutation when there are at most this many; else sort by signature.
ENUMERATE = 24


# --- thread symmetry ----------------------------------------------------------------------------
def symmetry_groups(model: Model) -> list[list[int]]:
    """Threads with the same program, the same argument choices and default tags."""
    groups: dict[object, list[int]] = {}
    for tid, spec in enumerate(model.scenario.threads):
        if spec.tag:  # an explicit tag makes the thread distinguishable
            continue
        key = (id(model.programs[tid].steps), spec.syscall, tuple(sorted(spec.args.items())))
        groups.setdefault(key, []).append(tid)
    return [g for g in groups.values() if len(g) > 1]


class Perm:
    """A permutation of threads: thread ``t`` becomes thread ``to[t]``; tags move with them."""

    __slots__ = ("to", "src", "tags", "index", "identity")

    def __init__(self, to: tuple[int, ...], model_tags: Sequence[str], index: int) -> None:
        self.to = to
        src = [0] * len(to)
        for a, b in enumerate(to):
            src[b] = a
        self.src = tuple(src)  # thread b of the image is thread src[b] of the original
        self.tags = {model_tags[a]: model_tags[b] for a, b in enumerate(to) if a != b}
        self.index = index
        self.identity = all(a == b for a, b in enumerate(to))

    def tid(self, t: int) -> int:
        return t if t == NO_THREAD else self.to[t]

    def value(self, x: object) -> object:
        """A value held by a thread, with the tags of moved threads renamed (at any depth)."""
        if isinstance(x, str):
            return self.tags.get(x, x)
        if type(x) is tuple:
            return tuple(self.value(y) for y in x)
        if type(x) is frozenset:
            return frozenset(self.value(y) for y in x)
        return x

    def shared(self, sh: Shared) -> Shared:
        tags, to = self.tags, self.to
        sem = sh.sem
        if sem.writer != NO_THREAD or sem.readers or sem.waiters:
            sem = RwSem(
                self.tid(sem.writer),
                tuple(sorted(to[r] for r in sem.readers)),
                tuple((to[w], m) for w, m in sem.waiters),
            )
        vmas = sh.vmas
        if any(v.tag in tags or v.owner != NO_THREAD for v in vmas):
            vmas = tuple(
                Vma(v.id, v.start, v.end, v.flags, tags.get(v.tag, v.tag), v.status, self.tid(v.owner))
                for v in vmas
            )
        ptes = sh.ptes
        if tags and any(p in tags for p in ptes if p is not None):
            ptes = tuple(None if p is None else tags.get(p, p) for p in ptes)
        return Shared(vmas, sh.map_count, ptes, sh.pts, sem)

    def thread(self, th: ThreadState) -> ThreadState:
        if not self.tags:
            return th
        snap = th.snapshot
        if snap is not None:
            snap = frozenset(self.tags.get(x, x) for x in snap)
        return th._replace(
            locals=tuple(self.value(x) for x in th.locals), result=self.value(th.result), snapshot=snap
        )


def _group_perms(groups: list[list[int]], n: int) -> list[tuple[int, ...]]:
    """Every permutation of ``n`` threads that permutes within the groups, identity first."""
    out: list[tuple[int, ...]] = []
    for combo in itertools.product(*(itertools.permutations(g) for g in groups)):
        to = list(range(n))
        for group, image in zip(groups, combo):
            for a, b in zip(group, image):
                to[a] = b
        out.append(tuple(to))
    return out


# --- vma-id renaming ----------------------------------------------------------------------------
def _rename(value: object, ids: dict[int, int]) -> object:
    if isinstance(value, VmaRef):
        return VmaRef(ids[value])
    if type(value) is tuple:
        return tuple(_rename(x, ids) for x in value)
    if type(value) is frozenset:
        return frozenset(_rename(x, ids) for x in value)
    return value


def _holds_refs(value: object) -> bool:
    if isinstance(value, VmaRef):
        return True
    if type(value) in (tuple, frozenset):
        return any(_holds_refs(x) for x in value)  # type: ignore[attr-defined]
    return False


def rename_thread(th: ThreadState, ids: dict[int, int]) -> ThreadState:
    if not any(_holds_refs(x) for x in th.locals) and not _holds_refs(th.result):
        return th
    return ThreadState(
        th.pc,
        tuple(_rename(x, ids) for x in th.locals),
        _rename(th.result, ids),
        th.done,
        th.snapshot,
        th.changed,
    )


def rename_state(state: State, ids: dict[int, int]) -> State:
    """``state`` with vma ids renamed by ``ids`` (everywhere: vmas, pointers, results)."""
    vmas = tuple(sorted((Vma(ids[v.id], *v[1:]) for v in state.vmas), key=lambda v: v.id))
    threads = tuple(rename_thread(th, ids) for th in state.threads)
    return State(vmas, state.map_count, state.ptes, state.pts, state.sem, threads)


def compact(state: State) -> State:
    """``state`` with vma ids renamed 0, 1, … in their order (the canonical renaming)."""
    ids = {old: new for new, old in enumerate(sorted(v.id for v in state.vmas))}
    return state if all(k == v for k, v in ids.items()) else rename_state(state, ids)


def permute_state(p: Perm, state: State) -> State:
    """``state`` with its threads permuted by ``p`` (tags, holds and ownership with them)."""
    if p.identity:
        return state
    sh = p.shared(Shared(state.vmas, state.map_count, state.ptes, state.pts, state.sem))
    threads: list[ThreadState] = list(state.threads)
    for t, th in enumerate(state.threads):
        threads[p.to[t]] = p.thread(th)
    return State(*sh, tuple(threads))


# --- the canonicaliser --------------------------------------------------------------------------
class Canonicaliser:
    """``canon(comp)`` → (canonical comp, its fingerprint key) for one model's states.

    The key is the tuple of the canonical state's component fingerprints: equal keys, equal
    canonical states (up to a 64-bit collision of a component's fingerprint).
    """

    def __init__(self, model: Model, comps: Components, ids: bool = True, symmetry: bool = True) -> None:
        self.model = model
        self.comps = comps
        self.ids = ids
        n = model.nthreads
        self.groups = symmetry_groups(model) if symmetry else []
        count = math.prod(math.factorial(len(g)) for g in self.groups)
        self.enumerate = count <= ENUMERATE
        tos = _group_perms(self.groups, n) if self.groups and self.enumerate else [tuple(range(n))]
        self.perms = [Perm(to, model.tags, i) for i, to in enumerate(tos)]
        self._perm_by_to: dict[tuple[int, ...], Perm] = {p.to: p for p in self.perms}
        # caches: shared id -> (renamed shared id, renaming index); (thread, renaming) -> id;
        # (component, permutation) -> id
        self._rho: dict[int, tuple[int, int]] = {}
        self._renamings: list[dict[int, int] | None] = [None]
        self._renaming_index: dict[tuple[int, ...], int] = {}
        self._t_rho: dict[tuple[int, int], int] = {}
        # per permutation: shared id -> its image; block id -> its image
        self._s_perm: dict[int, dict[int, int]] = {p.index: {} for p in self.perms}
        self._t_perm: dict[int, dict[int, int]] = {p.index: {} for p in self.perms}
        self._signature: dict[tuple[int, int, int], tuple[object, ...]] = {}
        self.trivial = not ids and not self.groups

    # --- per component, cached ----------------------------------------------------------------
    def _renamed_shared(self, sid: int) -> tuple[int, int]:
        got = self._rho.get(sid)
        if got is None:
            sh = self.comps.shared[sid]
            old = sorted(v.id for v in sh.vmas)
            if old == list(range(len(old))):
                got = (sid, 0)
            else:
                key = tuple(old)
                r = self._renaming_index.get(key)
                if r is None:
                    r = self._renaming_index[key] = len(self._renamings)
                    self._renamings.append({o: i for i, o in enumerate(old)})
                ids = self._renamings[r]
                assert ids is not None
                vmas = tuple(v._replace(id=ids[v.id]) for v in sh.vmas)
                got = (self.comps.intern_shared(sh._replace(vmas=vmas)), r)
            self._rho[sid] = got
        return got

    def _renamed_thread(self, tc: int, r: int) -> int:
        key = (tc, r)
        got = self._t_rho.get(key)
        if got is None:
            ids = self._renamings[r]
            assert ids is not None
            th = self.comps.threads[tc]
            got = self._t_rho[key] = self.comps.intern_thread(rename_thread(th, ids))
        return got

    def _perm_shared(self, sid: int, p: Perm) -> int:
        table = self._s_perm[p.index]
        got = table.get(sid)
        if got is None:
            got = table[sid] = self.comps.intern_shared(p.shared(self.comps.shared[sid]))
        return got

    def _perm_thread(self, tc: int, p: Perm) -> int:
        table = self._t_perm[p.index]
        got = table.get(tc)
        if got is None:
            got = table[tc] = self.comps.intern_thread(p.thread(self.comps.threads[tc]))
        return got

    # --- the canonical form -----------------------------------------------------------------
    def __call__(self, comp: Comp) -> tuple[Comp, tuple[int, ...]]:
        comps = self.comps
        if self.ids:
            got = self._rho.get(comp[0])
            sid, r = got if got is not None else self._renamed_shared(comp[0])
            if r:
                comp = (sid, *[self._renamed_thread(t, r) for t in comp[1:]])
            elif sid != comp[0]:
                comp = (sid, *comp[1:])
        sfp, tfp = comps.shared_fp, comps.thread_fp
        if not self.groups:
            return comp, (sfp[comp[0]], *[tfp[t] for t in comp[1:]])
        perms = self.perms if self.enumerate else self._sorted_perms(comp)
        best_comp = comp
        best_key = (sfp[comp[0]], *[tfp[t] for t in comp[1:]]) if perms[0].index == 0 else None
        threads = comp[1:]
        for p in perms:
            if p.index == 0:
                continue
            s_table = self._s_perm[p.index]
            t_table = self._t_perm[p.index]
            c0 = s_table.get(comp[0])
            if c0 is None:
                c0 = self._perm_shared(comp[0], p)
            ths = []
            for q in p.src:
                c = t_table.get(threads[q])
                ths.append(c if c is not None else self._perm_thread(threads[q], p))
            key = (sfp[c0], *[tfp[c] for c in ths])
            if best_key is None or key < best_key:
                best_comp, best_key = (c0, *ths), key
        assert best_key is not None
        return best_comp, best_key

    def _sorted_perms(self, comp: Comp) -> list[Perm]:
        """With too many permutations to try: sort each group's threads by a signature no
        permutation changes, and permute only threads whose signatures tie."""
        per_group: list[list[list[int]]] = []
        for group in self.groups:
            order = sorted(group, key=lambda t: (self._thread_signature(comp, t), t))
            ties = [
                list(g) for _, g in itertools.groupby(order, key=lambda t: self._thread_signature(comp, t))
            ]
            arrangements = [
                list(itertools.permutations(tie)) if math.factorial(len(tie)) <= ENUMERATE else [tuple(tie)]
                for tie in ties
            ]
            orders = [list(itertools.chain.from_iterable(c)) for c in itertools.product(*arrangements)]
            per_group.append(orders[:ENUMERATE])
        out = []
        for combo in itertools.product(*per_group):
            to = list(range(len(comp) - 1))
            for group, order in zip(self.groups, combo):
                for pos, t in zip(sorted(group), order):
                    to[t] = pos
            out.append(self._perm(tuple(to)))
            if len(out) >= ENUMERATE:
                break
        return out

    def _perm(self, to: tuple[int, ...]) -> Perm:
        p = self._perm_by_to.get(to)
        if p is None:
            p = Perm(to, self.model.tags, len(self.perms))
            self.perms.append(p)
            self._s_perm[p.index] = {}
            self._t_perm[p.index] = {}
            self._perm_by_to[to] = p
        return p

    def _thread_signature(self, comp: Comp, t: int) -> tuple[object, ...]:
        key = (comp[0], comp[1 + t], t)
        got = self._signature.get(key)
        if got is None:
            sh = self.comps.shared[comp[0]]
            th = self.comps.threads[comp[1 + t]]
            tags = self.model.tags
            sym = {tags[u]: ("other" if u != t else "own") for g in self.groups for u in g}
            role = Perm(tuple(range(len(comp) - 1)), tags, -1)
            role.tags = sym  # tags of symmetric threads replaced by their role
            sem = sh.sem
            got = self._signature[key] = (
                serialise(tuple(role.thread(th))),
                sem.writer == t,
                sem.readers.count(t),
                tuple(i for i, (w, _) in enumerate(sem.waiters) if w == t),
                tuple(v.id for v in sh.vmas if v.owner == t),
                tuple(v.id for v in sh.vmas if v.tag == tags[t]),
                tuple(p for p, tag in enumerate(sh.ptes) if tag == tags[t]),
            )
        return got


# --- the same on whole states (tests, tools) ------------------------------------------------------
def state_canonicaliser(model: Model, ids: bool = True, symmetry: bool = True) -> Callable[[State], State]:
    """``canon`` over :class:`State` objects: the representative of a state's class."""
    comps = Components()
    canon = Canonicaliser(model, comps, ids=ids, symmetry=symmetry)

    def run(state: State) -> State:
        return comps.decode(canon(comps.encode(state))[0])

    return run


__all__ = [
    "Canonicaliser",
    "Perm",
    "rename_thread",
    "state_canonicaliser",
    "symmetry_groups",
]
