"""Long traces of big scenarios, for the viewer tests (terminal and browser).

The viewers are meant to stay readable up to 8 threads, 64 pages and 80 steps. The traces
here come from the random engine, seeded, in a second or two each: under ``rfc-v1-sections``
(whose munmap drops and retakes the write lock between sections, so its schedules are long)
``linearizable`` fails in every big scenario, and the first schedule that breaks it, left
unshrunk, is some 40 to 100 steps long with every thread taking part. The tests check the
layout of whatever trace comes out, never its contents.
"""

from __future__ import annotations

import json
from typing import Any

from vmacheck.checker.engines.random import RandomSearch
from vmacheck.checker.report.trace import trace_json
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model, Scenario, VmaSpec, oneof, thread
from vmacheck.protocol.scenarios.large import SCENARIOS as LARGE
from vmacheck.protocol.variants import shipped as shipped_variants

VARIANT = "rfc-v1-sections"
PROPERTY = "linearizable"

# The largest trace the viewers are meant for: large-stack-race's layout spread over 64 pages.
WIDE = Scenario(
    name="wide-stack-race",
    summary="64 pages, 8 threads: large-stack-race spread over twice the pages",
    pages=64,
    pt_span=4,
    max_map_count=16,
    vmas=(
        VmaSpec("A", 2, 12),
        VmaSpec("B", 16, 24),
        VmaSpec("C", 24, 32),
        VmaSpec("D", 34, 44),
        VmaSpec("E", 48, 56),
        VmaSpec("S", 58, 64, flags=("VM_GROWSDOWN",)),
    ),
    threads=(
        thread("munmap", start=48, len=8),
        thread("access", addr=oneof(52, 57)),
        thread("mmap", tag="N", start=6, len=4),
        thread("mprotect", start=18, len=4),
        thread("munmap", start=36, len=4),
        thread("access", addr=oneof(26, 38)),
        thread("access", addr=oneof(4, 8)),
        thread("mremap", tag="M", old=28, old_len=4, new_len=4, new=44),
    ),
    exhaustive=False,
)

BIG = [*LARGE, WIDE]  # every scenario of protocol/scenarios/large.py, and WIDE


def long_trace(scenario: Scenario) -> dict[str, Any]:
    """A long counterexample in ``scenario``, as the JSON a trace file holds."""
    model = Model(shipped_variants()[VARIANT], scenario)
    res = RandomSearch(model, [shipped_properties()[PROPERTY]], seed=0, shrink=False).run()
    found = res.properties[PROPERTY]
    assert found.trace is not None, f"{VARIANT} / {scenario.name}: no {PROPERTY} trace ({found.reason})"
    data: dict[str, Any] = json.loads(json.dumps(trace_json(found.trace)))
    return data
