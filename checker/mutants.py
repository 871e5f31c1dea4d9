"""Mutation testing of the checker: seeded bugs, derived automatically from a variant's source.

A *mutant* is a variant file changed by one generic rewrite of its syntax tree, the kind of
slip a kernel developer makes in a locking protocol. The operators know the primitives'
names, never a variant:

- ``drop-lock``: remove one ``k.down_*``/``k.up_*``/``k.downgrade_write``/``k.upgrade_read``;
- ``move-lock``: move one such call to the start of the next step or the end of the previous;
- ``drop-split``: remove one ``k.split_vma`` (forget a split);
- ``drop-primitive``: remove one other primitive call made for its effect (detach, zap, free…);
- ``flip-map-count``: turn ``>=`` into ``>`` (and so on) in a comparison with ``map_count``;
- ``skip-map-count``: make an ``if`` that tests ``map_count`` never taken (skip the check);
- ``drop-relookup``: remove a ``find_vma``/``find_vma_prev`` that looks up again a pointer
  the program already holds (e.g. after retaking the lock);
- ``free-before-zap``: move a ``free_pgtables``/``remove_vma_list`` before the zap;
- ``swap-steps``: swap two adjacent steps of a program.

The explicit engine *kills* a mutant when its verdicts over the scenarios differ from the
original variant's (a mutant the model rejects with an error is killed too: the developer
is told). A mutant that survives is either *equivalent* — :func:`same_behaviour` computes
that in every scenario it reaches the same quiescent address spaces and ends the same ways
as the original (:func:`behaviour`) — or shows a property or scenario the suite lacks.
"""

from __future__ import annotations

import ast
import copy
import itertools
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from vmacheck.checker.core.canon import state_canonicaliser
from vmacheck.checker.core.result import VIOLATED
from vmacheck.checker.engines.explicit import Search
from vmacheck.properties import Property
from vmacheck.protocol import Model, Scenario, Variant, VariantError
from vmacheck.protocol.state import NO_THREAD, State

LOCKS = {"down_read", "down_write", "up_read", "up_write", "downgrade_write", "upgrade_read"}
SPLITS = {"split_vma"}
CONTROL = {"goto", "ret", "choose"}
LOOKUPS = {"find_vma", "find_vma_prev"}
FREES = {"free_pgtables", "remove_vma_list"}
ZAPS = {"unmap_vmas"}

OPERATORS = (
    "drop-lock",
    "move-lock",
    "drop-split",
    "drop-primitive",
    "flip-map-count",
    "skip-map-count",
    "drop-relookup",
    "free-before-zap",
    "swap-steps",
)

FLIP = {ast.GtE: ast.Gt, ast.Gt: ast.GtE, ast.LtE: ast.Lt, ast.Lt: ast.LtE}


@dataclass(frozen=True)
class Mutant:
    """One seeded bug: ``operator`` applied at ``line`` of ``variant``'s file (a line the
    original must run for the mutation to matter)."""

    variant: str
    index: int
    operator: str
    description: str
    line: int
    source: str = field(repr=False)

    @property
    def name(self) -> str:
        return f"{self.variant}#{self.index}"

    def load(self) -> Variant:
        """Execute the mutated module and return its variant (named as the original, so
        that scenarios meant for the original apply)."""
        namespace: dict[str, object] = {
            "__name__": f"vmacheck_mutant_{self.variant.replace('-', '_').replace('.', '_')}_{self.index}",
            "__package__": "vmacheck.protocol.variants",
        }
        code = compile(self.source, f"<mutant {self.name}: {self.description}>", "exec")
        exec(code, namespace)  # noqa: S102 - our own variant file, rewritten
        variant = namespace.get("VARIANT")
        if not isinstance(variant, Variant):
            raise VariantError(f"mutant {self.name} defines no VARIANT")
        return variant


# --- reading a variant module ----------------------------------------------------------------
def _calls_on(node: ast.AST, receiver: str) -> Iterator[tuple[ast.Call, str]]:
    """Calls ``receiver.attr(...)`` inside ``node``."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == receiver
        ):
            yield sub, sub.func.attr


def _primitive_stmt(stmt: ast.stmt, receiver: str) -> str | None:
    """The primitive a statement ``k.prim(...)`` calls for its effect, if it is one."""
    if (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and isinstance(stmt.value.func.value, ast.Name)
        and stmt.value.func.value.id == receiver
    ):
        return stmt.value.func.attr
    return None


def _mentions(node: ast.AST, attrs: set[str]) -> bool:
    return any(isinstance(sub, ast.Attribute) and sub.attr in attrs for sub in ast.walk(node))


def _receiver(fn: ast.FunctionDef) -> str:
    """The name a step or helper gives the kernel (its first parameter, usually ``k``)."""
    return fn.args.args[0].arg if fn.args.args else "k"


def _programs(tree: ast.Module) -> dict[str, list[int]]:
    """Program variable → indexes (in ``tree.body``) of the statements that append its steps,
    in order: step functions (``@prog.step(...)``), and calls that append steps written
    elsewhere (``prog.step(...)(fn)``, or a library function given ``prog``)."""
    progs = {
        tgt.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "Program"
        for tgt in node.targets
        if isinstance(tgt, ast.Name)
    }
    steps: dict[str, list[int]] = {p: [] for p in progs}
    for i, node in enumerate(tree.body):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr == "step"
                    and isinstance(dec.func.value, ast.Name)
                    and dec.func.value.id in steps
                ):
                    steps[dec.func.value.id].append(i)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(steps)
            if len(named) == 1:
                steps[named.pop()].append(i)
    return {p: s for p, s in steps.items() if any(isinstance(tree.body[i], ast.FunctionDef) for i in s)}


def _is_step_fn(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef)


def _name(node: ast.stmt) -> str:
    """A step statement as a description names it: its label, or the call that appends it."""
    if isinstance(node, ast.FunctionDef):
        return _label(node)
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    call = node.value
    if isinstance(call.func, ast.Call) and call.func.args and isinstance(call.func.args[0], ast.Constant):
        return str(call.func.args[0].value)  # prog.step("label", ...)(fn)
    return ast.unparse(call.func) + "(...)"


def _label(fn: ast.FunctionDef) -> str:
    for dec in fn.decorator_list:
        if isinstance(dec, ast.Call) and dec.args and isinstance(dec.args[0], ast.Constant):
            return str(dec.args[0].value)
    return fn.name


def _bodies(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list inside ``node`` (function body, if/else branches, loops...)."""
    for sub in ast.walk(node):
        for name in ("body", "orelse", "finalbody"):
            stmts = getattr(sub, name, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                yield stmts


def _fill(stmts: list[ast.stmt]) -> None:
    if not stmts:
        stmts.append(ast.Pass())


# --- the operators --------------------------------------------------------------------------
class _Generator:
    """Enumerates mutants of one module: each candidate is found in a fresh copy of the tree
    (by its position in a deterministic walk) and rewritten there."""

    def __init__(self, variant: str, source: str) -> None:
        self.variant = variant
        self.source = source
        self.tree = ast.parse(source)
        self.original = ast.unparse(self.tree)
        self.sources: set[str] = set()
        self.out: list[Mutant] = []

    def emit(self, operator: str, description: str, line: int, tree: ast.Module) -> None:
        ast.fix_missing_locations(tree)
        src = ast.unparse(tree)
        if src == self.original or src in self.sources:
            return  # no change, or the same mutant by another route
        self.sources.add(src)
        self.out.append(Mutant(self.variant, len(self.out) + 1, operator, description, line, src))

    def functions(self, tree: ast.Module) -> list[ast.FunctionDef]:
        return [n for n in tree.body if isinstance(n, ast.FunctionDef)]

    def statements(self, tree: ast.Module) -> list[tuple[ast.FunctionDef, list[ast.stmt], int]]:
        """(function, statement list, position) of every statement, in a stable order."""
        out = []
        for fn in self.functions(tree):
            for stmts in _bodies(fn):
                for pos in range(len(stmts)):
                    out.append((fn, stmts, pos))
        return out

    def where(self, fn: ast.FunctionDef, stmt: ast.stmt) -> str:
        kind = "step" if any(isinstance(d, ast.Call) for d in fn.decorator_list) else "helper"
        name = _label(fn) if kind == "step" else fn.name
        return f"{kind} '{name}' line {stmt.lineno}"

    # drop-lock, drop-split, drop-primitive
    def drops(self) -> None:
        for i, (fn, stmts, pos) in enumerate(self.statements(self.tree)):
            prim = _primitive_stmt(stmts[pos], _receiver(fn))
            if prim is None or prim in CONTROL or prim in LOOKUPS:
                continue
            op = "drop-lock" if prim in LOCKS else "drop-split" if prim in SPLITS else "drop-primitive"
            tree = copy.deepcopy(self.tree)
            _f, s2, p2 = self.statements(tree)[i]
            del s2[p2]
            _fill(s2)
            self.emit(op, f"{self.where(fn, stmts[pos])}: drop k.{prim}()", stmts[pos].lineno, tree)

    # move-lock: to the start of the next step, or the end of the previous one
    def moves(self) -> None:
        for prog, idx in _programs(self.tree).items():
            for n, body_i in enumerate(idx):
                fn = self.tree.body[body_i]
                if not isinstance(fn, ast.FunctionDef):
                    continue
                for pos, stmt in enumerate(fn.body):
                    prim = _primitive_stmt(stmt, _receiver(fn))
                    if prim not in LOCKS:
                        continue
                    for other, where in ((n + 1, "start of next step"), (n - 1, "end of previous step")):
                        if not 0 <= other < len(idx) or not _is_step_fn(self.tree.body[idx[other]]):
                            continue  # no step there, or one written elsewhere
                        tree = copy.deepcopy(self.tree)
                        src_fn, dst_fn = tree.body[body_i], tree.body[idx[other]]
                        assert isinstance(src_fn, ast.FunctionDef) and isinstance(dst_fn, ast.FunctionDef)
                        moved = src_fn.body.pop(pos)
                        _fill(src_fn.body)
                        if other > n:
                            dst_fn.body.insert(0, moved)
                        else:
                            dst_fn.body.append(moved)
                        target = _label(dst_fn)
                        self.emit(
                            "move-lock",
                            f"{prog} step '{_label(fn)}': move k.{prim}() to the {where} '{target}'",
                            stmt.lineno,
                            tree,
                        )

    # flip-map-count, skip-map-count
    def map_count(self) -> None:
        compares = [
            n
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Compare) and _mentions(n, {"map_count", "max_map_count"})
        ]
        for c_i, cmp_ in enumerate(compares):
            for o_i, op in enumerate(cmp_.ops):
                if type(op) not in FLIP:
                    continue
                tree = copy.deepcopy(self.tree)
                target = [
                    n
                    for n in ast.walk(tree)
                    if isinstance(n, ast.Compare) and _mentions(n, {"map_count", "max_map_count"})
                ][c_i]
                target.ops[o_i] = FLIP[type(op)]()
                old, new = ast.unparse(cmp_), ast.unparse(target)
                self.emit("flip-map-count", f"line {cmp_.lineno}: {old} -> {new}", cmp_.lineno, tree)
        ifs = [
            n
            for n in ast.walk(self.tree)
            if isinstance(n, ast.If) and _mentions(n.test, {"map_count", "max_map_count"})
        ]
        for f_i, if_ in enumerate(ifs):
            tree = copy.deepcopy(self.tree)
            target_if = [
                n
                for n in ast.walk(tree)
                if isinstance(n, ast.If) and _mentions(n.test, {"map_count", "max_map_count"})
            ][f_i]
            target_if.test = ast.Constant(False)
            self.emit(
                "skip-map-count", f"line {if_.lineno}: skip 'if {ast.unparse(if_.test)}'", if_.lineno, tree
            )

    # drop-relookup: an assignment of find_vma/find_vma_prev to a pointer assigned before
    def relookups(self) -> None:
        progs = _programs(self.tree)
        order: list[int] = [i for idx in progs.values() for i in idx]
        order += [
            i for i, n in enumerate(self.tree.body) if isinstance(n, ast.FunctionDef) and i not in order
        ]
        for body_i in order:
            fn = self.tree.body[body_i]
            if not isinstance(fn, ast.FunctionDef):
                continue  # steps written elsewhere: not this file's to mutate
            prog = next((p for p, idx in progs.items() if body_i in idx), None)
            earlier: set[str] = set()
            if prog is not None:  # pointers the program assigned in its earlier steps
                for j in progs[prog][: progs[prog].index(body_i)]:
                    earlier |= self._assigned(self.tree.body[j])
            self._relookups_in(fn, body_i, earlier)

    @staticmethod
    def _assigned(fn: ast.AST) -> set[str]:
        return {ast.unparse(t) for n in ast.walk(fn) if isinstance(n, ast.Assign) for t in n.targets}

    def _relookups_in(self, fn: ast.FunctionDef, body_i: int, earlier: set[str]) -> None:
        seen = set(earlier)
        k = _receiver(fn)
        stmts_all = [(stmts, pos) for stmts in _bodies(fn) for pos in range(len(stmts))]
        lines = sorted(stmts_all, key=lambda sp: (sp[0][sp[1]].lineno, sp[0][sp[1]].col_offset))
        for stmts, pos in lines:
            stmt = stmts[pos]
            if not isinstance(stmt, ast.Assign):
                continue
            names = {ast.unparse(t) for t in stmt.targets}
            lookup = isinstance(stmt.value, ast.Call) and any(
                a in LOOKUPS for _c, a in _calls_on(stmt.value, k) if _c is stmt.value
            )
            if lookup and names & seen:
                tree = copy.deepcopy(self.tree)
                fn2 = tree.body[body_i]
                for s2 in _bodies(fn2):
                    for p2, st2 in enumerate(s2):
                        if st2.lineno == stmt.lineno and st2.col_offset == stmt.col_offset:
                            del s2[p2]
                            _fill(s2)
                            break
                self.emit(
                    "drop-relookup",
                    f"{self.where(fn, stmt)}: drop the re-lookup {ast.unparse(stmt)}",
                    stmt.lineno,
                    tree,
                )
            seen |= names

    # free-before-zap
    def free_before_zap(self) -> None:
        for prog, idx in _programs(self.tree).items():
            zap_step = next(
                (
                    n
                    for n, i in enumerate(idx)
                    if any(a in ZAPS for _c, a in _calls_on(self.tree.body[i], "k"))
                ),
                None,
            )
            for n, body_i in enumerate(idx):
                fn = self.tree.body[body_i]
                if not isinstance(fn, ast.FunctionDef):
                    continue
                k = _receiver(fn)
                frees = [a for _c, a in _calls_on(fn, k) if a in FREES]
                if not frees:
                    continue
                if zap_step is not None and n > zap_step:
                    # move the whole freeing step before the zapping step
                    tree = copy.deepcopy(self.tree)
                    node = tree.body.pop(body_i)
                    tree.body.insert(idx[zap_step], node)
                    zap_label = _name(self.tree.body[idx[zap_step]])
                    self.emit(
                        "free-before-zap",
                        f"{prog}: step '{_label(fn)}' ({', '.join(frees)}) moved before '{zap_label}'",
                        fn.body[0].lineno,
                        tree,
                    )
        # within one function body: a free statement after a zap statement moves before it
        for i, (fn, stmts, pos) in enumerate(self.statements(self.tree)):
            prim = _primitive_stmt(stmts[pos], _receiver(fn))
            if prim not in FREES:
                continue
            zap_pos = next(
                (p for p in range(pos) if _primitive_stmt(stmts[p], _receiver(fn)) in ZAPS),
                None,
            )
            if zap_pos is None:
                continue
            tree = copy.deepcopy(self.tree)
            _f, s2, p2 = self.statements(tree)[i]
            s2.insert(zap_pos, s2.pop(p2))
            self.emit(
                "free-before-zap",
                f"{self.where(fn, stmts[pos])}: k.{prim}() before the zap",
                stmts[pos].lineno,
                tree,
            )

    # swap-steps
    def swaps(self) -> None:
        for prog, idx in _programs(self.tree).items():
            for a, b in itertools.pairwise(idx):
                tree = copy.deepcopy(self.tree)
                tree.body[a], tree.body[b] = tree.body[b], tree.body[a]
                fa, fb = self.tree.body[a], self.tree.body[b]
                # the line the original must run for the swap to matter: the first statement
                # of one of the two step functions (a step appended by a call runs elsewhere)
                fns = [f for f in (fa, fb) if isinstance(f, ast.FunctionDef)]
                if not fns:
                    continue
                desc = f"{prog}: swap steps '{_name(fa)}' and '{_name(fb)}'"
                self.emit("swap-steps", desc, fns[0].body[0].lineno, tree)


def generate(variant: Variant) -> list[Mutant]:
    """Every mutant of ``variant``'s source file, in a stable order."""
    if not variant.file or not Path(variant.file).is_file():
        raise VariantError(f"variant '{variant.name}': no source file to mutate")
    gen = _Generator(variant.name, Path(variant.file).read_text())
    gen.drops()
    gen.moves()
    gen.map_count()
    gen.relookups()
    gen.free_before_zap()
    gen.swaps()
    return gen.out


# --- coverage ------------------------------------------------------------------------------
def covered_lines(variant: Variant, scenarios: Sequence[Scenario]) -> set[int]:
    """The lines of ``variant``'s file that run while every reachable state of every
    scenario is explored: a mutation on any other line cannot show in these scenarios."""
    target = Path(variant.file).resolve()
    lines: set[int] = set()
    # the same file may be reached through the vmacheck/ links: compare real paths, once each
    is_target: dict[str, bool] = {}

    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            lines.add(frame.f_lineno)
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Any:
        name = frame.f_code.co_filename
        hit = is_target.get(name)
        if hit is None:
            hit = is_target[name] = Path(name).resolve() == target
        if hit:
            lines.add(frame.f_lineno)
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        for sc in scenarios:
            behaviour(Model(variant, sc))
    finally:
        sys.settrace(previous)
    return lines


# --- judging mutants ------------------------------------------------------------------------
KILLED, KILLED_ERROR, EQUIVALENT = "killed", "killed (model error)", "equivalent"
SURVIVED, UNEXERCISED = "survived", "survived (line never run)"

Verdicts = dict[str, str]  # property -> verdict


def verdicts(variant: Variant, scenario: Scenario, props: Sequence[Property]) -> Verdicts:
    """What the explicit engine decides: per property, its verdict. (Not the length of the
    shortest counterexample: taking a lock one step later changes that without changing
    any behaviour.)"""
    res = Search(Model(variant, scenario), props).run()
    return {name: pr.verdict for name, pr in res.properties.items()}


@dataclass
class Judgement:
    mutant: Mutant
    status: str
    scenario: str | None = None  # where it was told apart
    detail: str = ""


def judge(
    mutant: Mutant,
    original: Variant,
    scenarios: Sequence[Scenario],
    props: Sequence[Property],
    baseline: dict[str, Verdicts],
    covered: set[int] | None = None,
    behaviours: dict[str, object] | None = None,
) -> Judgement:
    """Kill ``mutant`` with the explicit engine (``baseline``: the original's verdicts per
    scenario); if it survives, compute whether it is equivalent — unless the scenarios never
    run the mutated line (``covered``: the lines they run), which shows a missing scenario."""
    try:
        variant = mutant.load()
        variant.validate()
    except (VariantError, SyntaxError) as exc:
        return Judgement(mutant, KILLED_ERROR, None, str(exc))
    for sc in scenarios:
        try:
            got = verdicts(variant, sc, props)
        except VariantError as exc:
            return Judgement(mutant, KILLED_ERROR, sc.name, str(exc))
        if got != baseline[sc.name]:
            diff = [
                f"{p}: {baseline[sc.name][p]} -> {v}" for p, v in got.items() if v != baseline[sc.name][p]
            ]
            return Judgement(mutant, KILLED, sc.name, "; ".join(diff))
    if covered is not None and mutant.line not in covered:
        return Judgement(mutant, UNEXERCISED, None, f"no scenario runs line {mutant.line}")
    behaviours = {} if behaviours is None else behaviours  # the original's, per scenario

    def differs_in(sc: Scenario) -> bool:
        if sc.name not in behaviours:
            behaviours[sc.name] = behaviour(Model(original, sc))
        try:
            return behaviour(Model(variant, sc)) != behaviours[sc.name]
        except VariantError:
            return True

    differs = [sc.name for sc in scenarios if differs_in(sc)]
    if not differs and mutant.operator in ("flip-map-count", "skip-map-count"):
        # A changed limit check that changes nothing: no scenario reaches its boundary.
        return Judgement(mutant, UNEXERCISED, None, "no scenario reaches the map_count boundary it tests")
    if not differs:
        return Judgement(mutant, EQUIVALENT, None, "same settled states and ends in every scenario")
    return Judgement(mutant, SURVIVED, differs[0], "behaves differently in " + ", ".join(differs))


# --- equivalence ---------------------------------------------------------------------------
def memory(state: State) -> tuple[object, ...]:
    """The address space as user space sees it: linked vmas (range, flags, mapping), vmas
    held by unmaps, ``map_count``, the PTEs and which page-table pages are allocated."""
    linked = tuple(sorted((v.start, v.end, v.flags, v.tag) for v in state.vmas if v.linked))
    held = tuple(sorted((v.start, v.end, v.flags, v.tag, v.status) for v in state.vmas if not v.linked))
    return (linked, held, state.map_count, state.ptes, tuple(g > 0 for g in state.pts))


def behaviour(model: Model) -> tuple[frozenset[object], frozenset[object]]:
    """What ``model`` lets anyone observe: the address spaces of its *quiescent* states (no
    thread holds ``mmap_sem`` and no unmap is in progress, so any thread may look next and
    see a settled address space), and how its runs end (address space, each thread's
    result, or stuck).

    Two variants with the same behaviour differ only in how an unmap gets from start to
    finish — a lock released or taken a step earlier or later, two steps of one hold merged
    or reordered, the range zapped earlier or later — where an access racing with the unmap
    of its page may see either (``no_segv_on_mapped`` allows it), and every property has
    already judged each step on the way."""
    canon = state_canonicaliser(model)
    seen = {canon(s) for s in model.initial_states()}
    todo = list(seen)
    quiet: set[object] = set()
    ends: set[object] = set()
    while todo:
        state = todo.pop()
        if (
            state.sem.writer == NO_THREAD
            and not state.sem.readers
            and not model.unmaps_in_flight(state)
            and not model.holds_unmapped(state)
        ):
            quiet.add(memory(state))
        succ = model.successors(state)
        if not succ:
            if all(th.done for th in state.threads):
                results = tuple(th.result for th in state.threads)
                ends.add((memory(state), True, results, state.sem))  # a lock never released shows
            else:
                # A deadlock: deadlock_free has judged it. No thread returns from it, so the
                # memory it froze with is no outcome anyone observes: only that it is stuck,
                # what the threads that did return returned, and who holds what.
                returned = tuple(th.result if th.done else None for th in state.threads)
                ends.add(("stuck", returned, state.sem))
        for tr in succ:
            nxt = canon(tr.state)
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(quiet), frozenset(ends)


def same_behaviour(a: Variant, b: Variant, scenario: Scenario) -> bool:
    """Whether ``a`` and ``b`` behave alike in ``scenario`` (see :func:`behaviour`)."""
    try:
        return behaviour(Model(a, scenario)) == behaviour(Model(b, scenario))
    except VariantError:
        return False


def random_catches(
    mutant: Variant,
    original: Variant,
    scenarios: Sequence[Scenario],
    props: Sequence[Property],
    baseline: dict[str, Verdicts],
    seed: int = 0,
    examples: int = 50,
    first: str | None = None,
    cache: dict[str, set[str]] | None = None,
) -> str | None:
    """Whether the random engine (``examples`` schedules per scenario, ``seed``) tells the
    mutant from the original as the explicit engine did: it finds a violation in one that
    the explicit engine proved the other free of. Returns where (scenario: property), or
    ``None``. ``first``: the scenario to try first (where the explicit engine saw it);
    ``cache``: the original's random results per scenario, kept between calls."""
    from vmacheck.checker.engines.random import RandomSearch

    def violated(variant: Variant, sc: Scenario) -> set[str]:
        return set(
            RandomSearch(Model(variant, sc), props, seed=seed, examples=examples, shrink=False)
            .explore()
            .first
        )

    for sc in sorted(scenarios, key=lambda s: s.name != first):
        try:
            got = violated(mutant, sc)
            mine = verdicts(mutant, sc, props)
        except VariantError:
            return f"{sc.name}: model error"
        cache = {} if cache is None else cache
        if sc.name not in cache:
            cache[sc.name] = violated(original, sc)
        orig = cache[sc.name]
        new = sorted(p for p in got - orig if baseline[sc.name][p] != VIOLATED)
        gone = sorted(p for p in orig - got if mine[p] != VIOLATED)
        if new or gone:
            return f"{sc.name}: " + ", ".join(
                [f"{p} found" for p in new] + [f"{p} no longer found" for p in gone]
            )
    return None


@dataclass
class Report:
    """The outcome of mutation testing over some variants."""

    judgements: list[Judgement] = field(default_factory=list)
    random_checked: int = 0  # killed mutants the random engine was asked to tell apart
    random_missed: list[str] = field(default_factory=list)  # ... and could not, in budget

    def count(self, *statuses: str) -> int:
        return sum(j.status in statuses for j in self.judgements)

    @property
    def kill_rate(self) -> float:
        """Killed mutants over all non-equivalent ones (1.0 if there are none)."""
        killed = self.count(KILLED, KILLED_ERROR)
        total = killed + self.count(SURVIVED, UNEXERCISED)
        return killed / total if total else 1.0

    def summary(self) -> str:
        lines = [
            f"{len(self.judgements)} mutants: {self.count(KILLED)} killed by a verdict,"
            f" {self.count(KILLED_ERROR)} by a model error, {self.count(EQUIVALENT)} equivalent,"
            f" {self.count(SURVIVED, UNEXERCISED)} survived;"
            f" kill rate {self.kill_rate:.0%} of non-equivalent mutants"
        ]
        if self.random_checked:
            lines.append(
                f"random engine: told apart {self.random_checked - len(self.random_missed)} of the"
                f" {self.random_checked} mutants killed by a verdict"
                + (f"; missed {', '.join(self.random_missed)}" if self.random_missed else "")
            )
        for j in self.judgements:
            where = f" [{j.scenario}]" if j.scenario else ""
            lines.append(
                f"  {j.status:<25} {j.mutant.name:<22} {j.mutant.operator:<15} {j.mutant.description}{where}"
            )
        return "\n".join(lines)


_WORK: dict[str, Any] = {}  # what forked workers inherit: variants, scenarios, properties


def _prepare(original: Variant, scenarios: dict[str, Scenario], props: Sequence[Property]) -> dict[str, Any]:
    scs = [sc for sc in scenarios.values() if sc.exhaustive and sc.applies_to(original.name)]
    return {
        "original": original,
        "scenarios": scs,
        "baseline": {sc.name: verdicts(original, sc, props) for sc in scs},
        "covered": covered_lines(original, scs),
        "mutants": generate(original),
        "behaviours": {},
        "random": {},
    }


def _judge_task(task: tuple[str, int]) -> Judgement:
    name, index = task
    w = _WORK["variants"][name]
    return judge(
        w["mutants"][index],
        w["original"],
        w["scenarios"],
        _WORK["props"],
        w["baseline"],
        w["covered"],
        w["behaviours"],
    )


def _random_task(task: tuple[str, int, str | None, int, int]) -> tuple[str, str | None]:
    name, index, first, seed, examples = task
    w = _WORK["variants"][name]
    mutant = w["mutants"][index]
    where = random_catches(
        mutant.load(),
        w["original"],
        w["scenarios"],
        _WORK["props"],
        w["baseline"],
        seed,
        examples,
        first,
        w["random"],
    )
    return mutant.name, where


def _run(fn: Any, tasks: list[Any], workers: int) -> list[Any]:
    if workers <= 1 or len(tasks) < 2:
        return [fn(t) for t in tasks]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(fn, tasks, chunksize=4)


def mutation_test(
    variants: Sequence[Variant],
    scenarios: dict[str, Scenario],
    props: Sequence[Property],
    workers: int = 1,
    random_budget: tuple[int, int] | None = None,
) -> Report:
    """Generate and judge every mutant of ``variants`` over the exhaustive ``scenarios``
    that apply to each, in ``workers`` processes. With ``random_budget`` (seed, schedules
    per scenario), also ask the random engine to tell apart each mutant the explicit
    engine killed by a verdict (:attr:`Report.random_missed` lists those it did not)."""
    _WORK.clear()
    _WORK["props"] = list(props)
    _WORK["variants"] = {v.name: _prepare(v, scenarios, props) for v in variants}
    tasks = [(v.name, i) for v in variants for i in range(len(_WORK["variants"][v.name]["mutants"]))]
    report = Report(_run(_judge_task, tasks, workers))
    if random_budget is not None:
        seed, examples = random_budget
        killed = [
            (j.mutant.variant, j.mutant.index - 1, j.scenario, seed, examples)
            for j in report.judgements
            if j.status == KILLED
        ]
        for name, where in _run(_random_task, killed, workers):
            if where is None:
                report.random_missed.append(name)
            report.random_checked += 1
    _WORK.clear()
    return report
