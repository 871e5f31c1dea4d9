"""Syscall programs: sequences of labelled atomic steps, as PlusCal labels.

A :class:`Program` is what one thread runs: its parameters and locals, declared once as a
:class:`Frame`, and its steps in order. Each step is a Python function ``(k, t)`` run
atomically: ``k`` is the kernel (the primitives), ``t`` the thread's parameters and locals.
A step falls through to the next one unless it calls ``k.goto(label)`` or ``k.ret(value)``.
A step whose lock acquisition cannot be granted is not enabled; everything else it does
happens at once.

Writing a step reads like the kernel function it models, and an editor or mypy knows the
types of both arguments (``t.stat`` for ``t.start`` is caught before anything runs)::

    class MunmapFrame(Frame):
        start: Final[int] = param()  # parameters: read-only
        len: Final[int] = param()
        end: int  # locals: None until a step stores into them
        vma: Ptr[VmaView]
        retval: int | str

    munmap = Program("munmap", MunmapFrame, errnos=("EINVAL",), unmaps=lambda t: (t.start, t.start + t.len))

    @munmap.step("down_write")
    def down_write(k: Kernel, t: MunmapFrame) -> None:
        k.down_write()

    @munmap.step("find_vma")
    def find_vma(k: Kernel, t: MunmapFrame) -> None:
        t.end = t.start + t.len
        t.vma = k.find_vma(t.start)
        if not t.vma or t.vma.start >= t.end:
            t.retval = 0
            k.goto("up_write")

A frame class is a declaration, never instantiated: inside a step ``t`` is a :class:`Locals`
that keeps the values as one tuple in the frame's order (parameters first, then locals, a
subclass's names after its base's), which is the order traces list them in. The older form
``Program("munmap", params=("start", "len"), locals=("end", "vma"))`` declares the same
names without types and is still accepted.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, overload

from .kernel import Kernel, VariantError, VmaView
from .state import PtRef, ThreadState, VmaRef


class _Param:
    """The marker :func:`param` puts on a frame attribute."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "param()"


_PARAM = _Param()


def param() -> Any:
    """Declare a frame attribute a parameter of the syscall, as ``start: Final[int] =
    param()``: a scenario gives its value, and no step may change it (``Final`` says so to
    the type checker, the model says so when a step tries)."""
    return _PARAM


P = TypeVar("P")


class Ptr(Generic[P]):
    """The type of a local that holds a kernel pointer: ``vma: Ptr[VmaView]`` is a
    ``struct vm_area_struct *``. It may be assigned ``None`` (NULL) and reads as the
    pointee's type, because C does not track NULL either: test it (``if t.vma``) where the
    kernel does. A NULL dereferenced anyway is reported when the checker runs the step.

    Only type checkers use this class (a frame is never instantiated)."""

    @overload
    def __get__(self, obj: None, owner: object) -> Ptr[P]: ...
    @overload
    def __get__(self, obj: object, owner: object) -> P: ...
    def __get__(self, obj: object, owner: object) -> Any:
        raise TypeError("a Frame is a declaration: its attributes are read in a step's t")

    def __set__(self, obj: object, value: P | None) -> None:
        raise TypeError("a Frame is a declaration: its attributes are set in a step's t")


def _is_final(annotation: object) -> bool:
    if isinstance(annotation, str):  # from __future__ import annotations
        return re.match(r"\s*(?:[\w.]*\.)?Final\b", annotation) is not None
    return annotation is typing.Final or typing.get_origin(annotation) is typing.Final


def _check_name(where: str, name: str) -> None:
    if name in _RESERVED:
        raise VariantError(f"{where}: '{name}' cannot be a parameter or local (the name is the model's own)")


class Frame:
    """A syscall's parameters and locals, declared for the type checker and the model::

        class MmapFrame(Frame):
            start: Final[int] = param()
            len: Final[int] = param()
            retval: int | str

    ``name: Final[T] = param()`` declares a parameter, ``name: T`` a local (``None`` until
    a step stores into it; a kernel pointer is ``Ptr[VmaView]``). A subclass adds names to
    its base's; parameters come first, then locals in the order declared, which is the order
    traces list them in (a subclass that declares a base's local again moves it to its own
    place). A frame holds declarations only: no values, no methods.
    """

    __params__: ClassVar[tuple[str, ...]] = ()  # every parameter, bases' first
    __locals__: ClassVar[tuple[str, ...]] = ()  # every local, bases' first
    _declared: ClassVar[tuple[str, ...]] = ()  # the names this class itself declares

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        where = f"frame {cls.__name__}"
        params: list[str] = []
        locals_: list[str] = []
        for base in reversed(cls.__mro__[1:]):  # what the bases declare, in their order
            if issubclass(base, Frame):
                for name in base.__dict__.get("_declared", ()):
                    if name in params:
                        raise VariantError(f"{where}: parameter '{name}' is declared by two of its bases")
                    if name in locals_:
                        locals_.remove(name)  # declared again further down: it moves there
                    (params if name in base.__params__ else locals_).append(name)
        own = inspect.get_annotations(cls)
        for name, annotation in own.items():
            _check_name(where, name)
            if name in params:
                raise VariantError(f"{where}: parameter '{name}' is declared twice")
            if name in locals_:
                # declared again: the local moves here (the order traces list locals in)
                locals_.remove(name)
            value = cls.__dict__.get(name, _MISSING)
            if value is _PARAM:
                if not _is_final(annotation):
                    raise VariantError(
                        f"{where}: parameter '{name}' must be declared Final[...] = param() "
                        "(parameters are read-only)"
                    )
                params.append(name)
            elif value is not _MISSING:
                raise VariantError(
                    f"{where}: '{name}' has a value: a local starts as None, a parameter is "
                    f"declared '{name}: Final[...] = param()'"
                )
            elif _is_final(annotation):
                raise VariantError(f"{where}: local '{name}' is Final: only parameters are (= param())")
            else:
                locals_.append(name)
        for name in cls.__dict__:
            if not (name.startswith("__") and name.endswith("__")) and name not in own:
                raise VariantError(
                    f"{where}: '{name}' is neither a parameter nor a local (a frame only declares them)"
                )
        cls._declared = tuple(own)
        cls.__params__ = tuple(params)
        cls.__locals__ = tuple(locals_)


_MISSING = object()

F = TypeVar("F", bound=Frame)

#: A step: the kernel and the thread's frame, run atomically.
StepFn = Callable[[Kernel, F], None]


@dataclass(frozen=True)
class Step:
    label: str
    kernel: str  # the kernel function this step models
    fn: StepFn[Any]
    doc: str
    line: int  # where it is defined, for error messages
    file: str = ""


class Program(Generic[F]):
    """One syscall's program (see the module docstring)."""

    @overload
    def __init__(
        self,
        syscall: str,
        frame: type[F],
        *,
        errnos: Iterable[str] = (),
        unmaps: Callable[[F], tuple[int, int] | None] | None = None,
        doc: str = "",
    ) -> None: ...
    @overload
    def __init__(
        self: Program[Any],
        syscall: str,
        frame: None = None,
        *,
        params: tuple[str, ...] = (),
        locals: tuple[str, ...] = (),
        errnos: Iterable[str] = (),
        unmaps: Callable[[Any], tuple[int, int] | None] | None = None,
        doc: str = "",
    ) -> None: ...
    def __init__(
        self,
        syscall: str,
        frame: type[F] | None = None,
        *,
        params: tuple[str, ...] = (),
        locals: tuple[str, ...] = (),
        errnos: Iterable[str] = (),
        unmaps: Callable[[Any], tuple[int, int] | None] | None = None,
        doc: str = "",
    ) -> None:
        if frame is not None:
            if not (isinstance(frame, type) and issubclass(frame, Frame)):
                raise VariantError(
                    f"program {syscall}: the second argument is the Frame class that declares its "
                    f"parameters and locals (or pass params=... and locals=...), not {frame!r}"
                )
            if params or locals:
                raise VariantError(f"program {syscall}: give a Frame class or params=/locals=, not both")
            params, locals = frame.__params__, frame.__locals__
        dup = {n for n in params + locals if (params + locals).count(n) > 1}
        if dup:
            raise VariantError(f"program {syscall}: names declared twice: {', '.join(sorted(dup))}")
        for name in params + locals:
            _check_name(f"program {syscall}", name)
        self.syscall = syscall
        self.frame = frame
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
        caller = inspect.stack()[1]
        self.file = caller.filename

    def step(self, label: str, kernel: str | None = None) -> Callable[[StepFn[F]], StepFn[F]]:
        """Decorator: append a step named ``label`` modelling kernel function ``kernel``
        (by default the label itself)."""

        def add(fn: StepFn[F]) -> StepFn[F]:
            if label in self.index:
                raise VariantError(f"program {self.syscall}: step '{label}' defined twice")
            try:
                line = inspect.getsourcelines(fn)[1]
            except (OSError, TypeError):
                line = 0
            code = getattr(fn, "__code__", None)
            file = code.co_filename if code is not None else self.file
            self.index[label] = len(self.steps)
            self.steps.append(Step(label, kernel or label, fn, (fn.__doc__ or "").strip(), line, file))
            return fn

        return add

    def where(self, pc: int | None = None) -> str:
        text = f"variant '{self.variant}', {self.syscall}"
        if pc is not None and 0 <= pc < len(self.steps):
            st = self.steps[pc]
            text += f" step '{st.label}'"
            if st.line:
                text += f" ({st.file or self.file}:{st.line})"
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

    def adopt(self, variant: str) -> Program[F]:
        """A copy of this program belonging to ``variant`` (programs are shared between
        variants; error messages name the variant being checked)."""
        copy: Program[F] = Program.__new__(Program)
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

    def __init__(self, k: Kernel | None, prog: Program[Any], vals: list[object], pc: int) -> None:
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


# Attributes of Locals that a parameter or local of the same name would hide.
_RESERVED = frozenset({"_k", "_prog", "_vals", "_pc", "_slot", "frozen"})
