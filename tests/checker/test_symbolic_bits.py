"""``--bits 64``: addresses as the kernel's unsigned long, so ``start + len`` wraps.

A munmap whose range check is written ``start + len > TASK_SIZE`` (instead of the kernel's
``len > TASK_SIZE - start``) is correct over unbounded integers and broken in 64 bits: a
length that wraps the end below the start frees a vma that stays in the tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vmacheck.checker.core.result import PROVED, VIOLATED
from vmacheck.checker.engines.symbolic.engine import SymbolicCheck
from vmacheck.checker.loader import load_file
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model

from .symbolic_support import SCENARIOS, VARIANTS

NAIVE = Path(__file__).parent / "variants" / "naive_range_check.py"
PROPS = [shipped_properties()["vma_consistency"]]


def _naive_model() -> Model:
    (variant,) = load_file(str(NAIVE)).variants.values()
    return Model(variant, SCENARIOS["access-split-vma"])


def test_wrapping_range_check_is_caught_only_in_64_bits() -> None:
    m = _naive_model()
    unbounded = SymbolicCheck(m, PROPS).run().properties["vma_consistency"]
    assert unbounded.verdict == PROVED, unbounded.reason
    wrapped = SymbolicCheck(m, PROPS, bits=64).run().properties["vma_consistency"]
    assert wrapped.verdict == VIOLATED
    assert wrapped.violation is not None
    values = wrapped.violation.details["values"]
    # the counterexample really wraps: start + len overflows 64 bits
    assert values["T0.start"] + values["T0.len"] >= 2**64
    assert values["T0.start"] < values["TASK_SIZE"]


@pytest.mark.slow
def test_kernel_range_check_is_proved_in_64_bits() -> None:
    m = Model(VARIANTS["baseline-4.19"], SCENARIOS["access-split-vma"])
    res = SymbolicCheck(m, PROPS, bits=64).run().properties["vma_consistency"]
    assert res.verdict == PROVED, res.reason
