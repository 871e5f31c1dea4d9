"""The same inputs give the same output — also across processes, whose string hashes differ
(PYTHONHASHSEED): the explicit engine with thread symmetry and the random engine report the
same traces, and their JSON results agree except for time and memory."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import json
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.engines.random import RandomSearch
from vmacheck.checker.report.trace import trace_json
from vmacheck.properties import shipped
from vmacheck.protocol import Model, Scenario, VmaSpec, thread
from vmacheck.protocol.variants import shipped as variants

# two identical faults: thread symmetry applies
sc = Scenario("sym", "munmap below a stack, two identical faults",
              (VmaSpec("A", 2, 4), VmaSpec("S", 5, 8, flags=("VM_GROWSDOWN",))),
              (thread("munmap", start=2, len=2), thread("access", addr=3), thread("access", addr=3)))
m = Model(variants()["downgrade-4.20"], sc)
props = list(shipped().values())
out = []
for res in (Search(m, props).run(), RandomSearch(m, props, seed=1, examples=60).run()):
    data = res.to_json()
    data["stats"] = {k: data["stats"][k] for k in ("states", "transitions", "depth")}
    for p in data["properties"].values():
        p.pop("reason", None)
    out.append([data, {n: trace_json(p.trace) for n, p in res.properties.items() if p.trace}])
print(json.dumps(out, sort_keys=True, default=str))
"""


def run(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_same_output_in_processes_with_different_string_hashes() -> None:
    outputs = {run(seed) for seed in ("1", "2", "3")}
    assert len(outputs) == 1
