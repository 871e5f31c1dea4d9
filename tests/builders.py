"""Hand-built states and a scratch model for unit tests of primitives and properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vmacheck.protocol import Model, Program, Ptr, Scenario, State, ThreadState, Variant, Vma, VmaSpec, thread
from vmacheck.protocol.kernel import Kernel, VmaView
from vmacheck.protocol.state import LINKED, NO_THREAD, RwSem, flags_from_names
from vmacheck.protocol.syscalls.common import RangeArgs, range_of


class ScratchFrame(RangeArgs):
    vma: Ptr[VmaView]
    x: int
    retval: int | str


scratch = Program("munmap", ScratchFrame, unmaps=range_of)


@scratch.step("first")
def _first(k: Kernel, t: ScratchFrame) -> None:
    pass


@scratch.step("second")
def _second(k: Kernel, t: ScratchFrame) -> None:
    k.ret(0)


SCRATCH = Variant("scratch", "a two-step program for unit tests", scratch)


def scratch_model(pages: int = 8, span: int = 2, max_map_count: int = 8, nthreads: int = 2) -> Model:
    sc = Scenario(
        "scratch",
        "unit tests",
        vmas=(VmaSpec("A", 0, 1),),
        threads=tuple(thread("munmap", start=0, len=1) for _ in range(nthreads)),
        pages=pages,
        pt_span=span,
        max_map_count=max_map_count,
    )
    return Model(SCRATCH, sc)


def vma(
    vid: int, tag: str, start: int, end: int, *flags: str, status: int = LINKED, owner: int = NO_THREAD
) -> Vma:
    return Vma(vid, start, end, flags_from_names(flags), tag, status, owner)


def make_state(
    vmas: list[Vma],
    ptes: str = "",
    pages: int = 8,
    span: int = 2,
    sem: RwSem | None = None,
    threads: tuple[ThreadState, ...] | None = None,
    pts: tuple[int, ...] | None = None,
    map_count: int | None = None,
) -> State:
    """``ptes`` draws the PTEs one character per page: ``.`` none, else the tag."""
    pte_tuple = tuple(None if c == "." else c for c in (ptes or "." * pages))
    assert len(pte_tuple) == pages
    if pts is None:
        pts = tuple(
            1 if any(pte_tuple[p] for p in range(i * span, (i + 1) * span)) else 0
            for i in range(pages // span)
        )
    if threads is None:
        threads = (ThreadState(0, (0, 1, None, None, None)), ThreadState(0, (0, 1, None, None, None)))
    linked = sum(1 for v in vmas if v.status == LINKED)
    return State(
        tuple(sorted(vmas)),
        linked if map_count is None else map_count,
        pte_tuple,
        pts,
        sem or RwSem(),
        threads,
    )


def kernel(state: State, tid: int = 0, model: Model | None = None, **model_kw: Any) -> Kernel:
    return Kernel(model or scratch_model(pages=len(state.ptes), **model_kw), state, tid)


def held(mode: str, tid: int = 0) -> RwSem:
    return RwSem(writer=tid) if mode == "W" else RwSem(readers=(tid,))


def rebuild(
    prog: Program[Any],
    order: list[str] | None = None,
    replace: dict[str, Callable[[Kernel, Any], None]] | None = None,
) -> Program[Any]:
    """A copy of ``prog`` with its steps in ``order`` (labels), some replaced."""
    replace = replace or {}
    new = Program(prog.syscall, prog.frame, errnos=tuple(prog.errnos), unmaps=prog.unmaps, doc=prog.doc)
    by_label = {st.label: st for st in prog.steps}
    for label in order or list(by_label):
        st = by_label[label]
        new.step(label, st.kernel)(replace.get(label, st.fn))
    return new
