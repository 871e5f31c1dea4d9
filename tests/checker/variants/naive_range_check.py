"""naive-range-check: baseline-4.19 with munmap's range check written ``start + len >
TASK_SIZE`` — right over unbounded integers, wrong in 64 bits, where ``start + len`` wraps.
The kernel writes ``len > TASK_SIZE - start`` so that it cannot.

Only the ``find_vma`` step differs from the shipped baseline; the others are its own.
"""

from __future__ import annotations

import dataclasses
import inspect

from vmacheck.protocol import Kernel, Variant
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame
from vmacheck.protocol.variants import baseline_4_19


def find_vma(k: Kernel, t: DoMunmapFrame) -> None:
    if t.len <= 0 or t.start + t.len > k.task_size:  # wraps in 64 bits
        t.retval = "EINVAL"
        return k.goto("up_write")
    t.end = t.start + t.len
    t.vma = k.find_vma(t.start)
    if not t.vma or t.vma.start >= t.end:
        t.retval = 0
        return k.goto("up_write")
    t.prev = k.find_vma_prev(t.start)


munmap = baseline_4_19.VARIANT.program("munmap").adopt("naive-range-check")
munmap.steps = list(munmap.steps)
munmap.file = __file__  # error messages point here, at the step this file replaces
munmap.steps[munmap.index["find_vma"]] = dataclasses.replace(
    munmap.steps[munmap.index["find_vma"]],
    fn=find_vma,
    line=inspect.getsourcelines(find_vma)[1],
    file=__file__,
)

VARIANT = Variant(
    name="naive-range-check",
    summary="baseline-4.19 with a range check that wraps in 64 bits",
    source="tests/checker/test_symbolic_bits.py",
    munmap=munmap,
    doc=__doc__ or "",
)
