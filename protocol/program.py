"""Syscall programs: sequences of labelled atomic steps, as PlusCal labels.

A :class:`Program` is what one thread runs: its parameters and locals, and its steps in
order. Each step is a Python function ``(k, t)`` run atomically: ``k`` is the kernel (the
primitives), ``t`` the thread's parameters and locals. A step falls through to the next one
unless it calls ``k.goto(label)`` or ``k.ret(value)``. A step whose lock acquisition cannot
be granted is not enabled; everything else it does happens at once.

Writing a step reads like the kernel function it models::

    munmap = Program("munmap", params=("start", "len"), locals=("end", "vma"),
                     errnos=("EINVAL", "ENOMEM"), unmaps=lambda t: (t.start, t.start + t.len))

    @munmap.step("down_write")
    def _(k, t):
        k.down_write()

    @munmap.step("find_vma")
    def _(k, t):
        t.end = t.start + t.len
        t.vma = k.find_vma(t.start)
        if not t.vma or t.vma.start >= t.end:
            t.ret = 0
            k.goto("up_write")
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .kernel import Kernel, VariantError, VmaView
from .state import PtRef, ThreadState, VmaRef

StepFn = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Step:
    label: str
    kernel: str  # the kernel function this step models
    fn: StepFn
    doc: str
    line: int  # where it is defined, for error messages


class Program:
    """One syscall's program (see the module docstring)."""

    def __init__(
        self,
        syscall: str,
        params: tuple[str, ...] = (),
        locals: tuple[str, ...] = (),
        errnos: tuple[str, ...] = (),
        unmaps: Callable[[Any], tuple[int, int] | None] | None = None,
        doc: str = "",
    ) -> None:
        dup = {n for n in params + locals if (params + locals).count(n) > 1}
        if dup:
            raise VariantError(f"program {syscall}: names declared twice: {', '.join(sorted(dup))}")
        self.syscall = syscall
        self.params = tuple(params)
        self.local_names = tuple(locals)
        self.names = self.params + self.local_names
        self.slot = {name: i for i, name in enumerate(self.names)}
        self.errnos = frozenset(errnos)
        self.unmaps = unmaps
        self.doc = doc
        self.steps: list[Step] = []
        self.index: dict[str, int] = {}
        self.variant = "?"  # set when a Variant adopts the program
        frame = inspect.stack()[1]
        self.file = frame.filename

    def step(self, label: str, kernel: str | None = None) -> Callable[[StepFn], StepFn]:
        """Decorator: append a step named ``label`` modelling kernel function ``kernel``
        (by default the label itself)."""

        def add(fn: StepFn) -> StepFn:
            if label in self.index:
                raise VariantError(f"program {self.syscall}: step '{label}' defined twice")
            try:
                line = inspect.getsourcelines(fn)[1]
            except (OSError, TypeError):
                line = 0
            self.index[label] = len(self.steps)
            self.steps.append(Step(label, kernel or label, fn, (fn.__doc__ or "").strip(), line))
            return fn

        return add

    def where(self, pc: int | None = None) -> str:
        text = f"variant '{self.variant}', {self.syscall}"
        if pc is not None and 0 <= pc < len(self.steps):
            st = self.steps[pc]
            text += f" step '{st.label}'"
            if st.line:
                text += f" ({self.file}:{st.line})"
        return text

    def initial_locals(self, args: Mapping[str, object]) -> tuple[object, ...]:
        unknown = set(args) - set(self.params)
        missing = set(self.params) - set(args)
        if unknown or missing:
            parts = []
            if unknown:
                parts.append("unknown argument(s) " + ", ".join(sorted(unknown)))
            if missing:
                parts.append("missing argument(s) " + ", ".join(sorted(missing)))
            raise VariantError(f"{self.syscall}({', '.join(self.params)}): " + "; ".join(parts))
        return tuple(args.get(n) for n in self.names)

    def view(self, th: ThreadState) -> Locals:
        """Read-only view of a thread's locals (vma pointers stay :class:`VmaRef`)."""
        return Locals(None, self, list(th.locals), -1)

    def unmap_range(self, th: ThreadState) -> tuple[int, int] | None:
        """The range this syscall unmaps, if it unmaps one (for properties)."""
        return None if self.unmaps is None else self.unmaps(self.view(th))

    def args(self, th: ThreadState) -> dict[str, object]:
        return {n: th.locals[i] for i, n in enumerate(self.params)}

    def validate(self) -> None:
        if not self.steps:
            raise VariantError(f"{self.where()}: has no steps")
        for st in self.steps:
            params = inspect.signature(st.fn).parameters
            if len(params) != 2:
                raise VariantError(f"{self.where(self.index[st.label])}: a step takes (k, t)")

    def adopt(self, variant: str) -> Program:
        """A copy of this program belonging to ``variant`` (programs are shared between
        variants; error messages name the variant being checked)."""
        copy = Program.__new__(Program)
        copy.__dict__.update(self.__dict__)
        copy.variant = variant
        return copy


ALLOWED = (type(None), int, bool, str, PtRef, VmaRef, tuple, frozenset)


def _store(value: object) -> object:
    """What a local keeps of ``value``: vma pointers as :class:`VmaRef`, at any depth (a
    tuple of vmas is a list of pointers, renamed with the vmas by the reductions); ``None``
    where the value cannot be kept (a type a state cannot hold)."""
    if isinstance(value, VmaView):
        return VmaRef(value.id)
    if type(value) in (tuple, frozenset):
        assert isinstance(value, (tuple, frozenset))
        items = [_store(x) for x in value]
        if any(x is None and y is not None for x, y in zip(items, value)):
            return None
        return type(value)(items)
    return value if isinstance(value, ALLOWED) else None


def _load(k: Kernel, value: object) -> object:
    """The inverse of :func:`_store` inside a step: pointers read back as vma views."""
    if isinstance(value, VmaRef):
        return VmaView(k, value)
    if type(value) in (tuple, frozenset):
        assert isinstance(value, (tuple, frozenset))
        if any(isinstance(x, (VmaRef, tuple, frozenset)) for x in value):
            return type(value)(_load(k, x) for x in value)
    return value


class Locals:
    """A thread's parameters and locals inside one step: attribute access by name."""

    __slots__ = ("_k", "_prog", "_vals", "_pc")

    def __init__(self, k: Kernel | None, prog: Program, vals: list[object], pc: int) -> None:
        object.__setattr__(self, "_k", k)
        object.__setattr__(self, "_prog", prog)
        object.__setattr__(self, "_vals", vals)
        object.__setattr__(self, "_pc", pc)

    def _slot(self, name: str) -> int:
        prog = self._prog
        try:
            return prog.slot[name]
        except KeyError:
            declared = ", ".join(prog.names) or "none"
            raise VariantError(
                f"{prog.where(self._pc)}: no parameter or local '{name}' (declared: {declared})"
            ) from None

    def __getattr__(self, name: str) -> Any:
        value = self._vals[self._slot(name)]
        if self._k is not None and isinstance(value, (VmaRef, tuple, frozenset)):
            return _load(self._k, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        i = self._slot(name)
        if name in self._prog.params:
            raise VariantError(f"{self._prog.where(self._pc)}: parameter '{name}' is read-only")
        kept = _store(value)
        if kept is None and value is not None:
            raise VariantError(
                f"{self._prog.where(self._pc)}: local '{name}' cannot hold a {type(value).__name__}"
                + (" (inside it)" if isinstance(value, (tuple, frozenset)) else "")
            )
        self._vals[i] = kept

    def frozen(self) -> tuple[object, ...]:
        return tuple(self._vals)
