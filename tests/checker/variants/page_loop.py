"""page-loop: baseline-4.19 whose find_vma step also walks the range page by page with
``range()``: fine concretely, not executable over symbolic addresses (the symbolic engine
must say so and where, not crash or claim a verdict)."""

from __future__ import annotations

import dataclasses
import inspect

from vmacheck.protocol import Kernel, Variant
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame
from vmacheck.protocol.variants import baseline_4_19

base = baseline_4_19.VARIANT.program("munmap")
step = base.steps[base.index["find_vma"]]


def find_vma(k: Kernel, t: DoMunmapFrame) -> None:
    for _page in range(t.start, t.start + t.len):
        pass
    step.fn(k, t)


munmap = base.adopt("page-loop")
munmap.steps = list(munmap.steps)
munmap.file = __file__  # error messages point here, at the step this file replaces
munmap.steps[munmap.index["find_vma"]] = dataclasses.replace(
    step, fn=find_vma, line=inspect.getsourcelines(find_vma)[1], file=__file__
)

VARIANT = Variant(
    name="page-loop",
    summary="baseline-4.19 with a page loop in a step",
    source="tests/checker/test_symbolic_bits.py",
    munmap=munmap,
    doc=__doc__ or "",
)
