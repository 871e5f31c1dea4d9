"""Scenarios: an initial address space, the bounds, and the threads that race on it.

A scenario is data. Each thread runs one syscall of the variant under check; an argument
given as :func:`oneof` is chosen nondeterministically (each choice is a separate initial
state, so one scenario covers every combination).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .kernel import VariantError
from .state import FLAG_BITS


@dataclass(frozen=True)
class OneOf:
    """A nondeterministic argument: every value is explored."""

    values: tuple[int, ...]


def oneof(*values: int) -> OneOf:
    if not values:
        raise VariantError("oneof() needs at least one value")
    return OneOf(tuple(values))


@dataclass(frozen=True)
class VmaSpec:
    """An initial mapping ``[start, end)`` named ``tag``; ``populated``: which of its pages
    have a PTE at the start (all by default)."""

    tag: str
    start: int
    end: int
    flags: tuple[str, ...] = ()
    populated: tuple[int, ...] | None = None

    def pages(self) -> tuple[int, ...]:
        return tuple(range(self.start, self.end)) if self.populated is None else self.populated


@dataclass(frozen=True)
class ThreadSpec:
    """A thread running ``syscall(**args)``; mappings it creates are tagged ``tag``."""

    syscall: str
    args: dict[str, int | OneOf] = field(default_factory=dict)
    tag: str = ""

    def __hash__(self) -> int:
        return hash((self.syscall, tuple(sorted(self.args.items())), self.tag))


def thread(syscall: str, tag: str = "", **args: int | OneOf) -> ThreadSpec:
    return ThreadSpec(syscall, dict(args), tag)


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    vmas: tuple[VmaSpec, ...]
    threads: tuple[ThreadSpec, ...]
    pages: int = 8
    pt_span: int = 2
    max_map_count: int = 8
    doc: str = ""
    # the shipped variants this scenario is meant for (empty: all of them)
    only: tuple[str, ...] = ()
    # False for configurations too large to explore exhaustively: `check` and `compare` run
    # them only when named with --scenario, or with an engine that samples (random).
    exhaustive: bool = True

    def applies_to(self, variant: str) -> bool:
        return not self.only or variant in self.only

    def validate(self) -> None:
        where = f"scenario '{self.name}'"
        if self.pages <= 0 or self.pt_span <= 0 or self.pages % self.pt_span:
            raise VariantError(
                f"{where}: pages ({self.pages}) must be a positive multiple of pt_span ({self.pt_span})"
            )
        if not self.threads:
            raise VariantError(f"{where}: has no threads")
        spans = sorted((v.start, v.end, v.tag) for v in self.vmas)
        for start, end, tag in spans:
            if not 0 <= start < end <= self.pages:
                raise VariantError(f"{where}: vma {tag} [{start},{end}) is not inside 0..{self.pages}")
        for (_, e1, t1), (s2, _, t2) in zip(spans, spans[1:]):
            if s2 < e1:
                raise VariantError(f"{where}: vmas {t1} and {t2} overlap")
        for v in self.vmas:
            for name in v.flags:
                if name not in FLAG_BITS:
                    raise VariantError(f"{where}: vma {v.tag}: unknown flag {name}")
            for p in v.pages():
                if not v.start <= p < v.end:
                    raise VariantError(f"{where}: vma {v.tag}: populated page {p} outside it")
        if len(self.vmas) > self.max_map_count + 1:
            # mmap's check (map_count > max_map_count) lets map_count reach the limit + 1
            raise VariantError(
                f"{where}: {len(self.vmas)} vmas exceed max_map_count {self.max_map_count} + 1"
            )

    def arg_choices(self) -> list[list[dict[str, int]]]:
        """Per thread, every concrete argument dictionary."""
        out = []
        for th in self.threads:
            names = list(th.args)
            pools = [v.values if isinstance(v, OneOf) else (v,) for v in th.args.values()]
            out.append([dict(zip(names, combo)) for combo in itertools.product(*pools)])
        return out

    def thread_tag(self, tid: int) -> str:
        return self.threads[tid].tag or f"T{tid}"
