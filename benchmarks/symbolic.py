"""Reproducible runs of the symbolic (z3) engine (not a test): solver times per scenario.

For each chosen variant and exhaustive scenario, in a fresh subprocess (so peak memory is
the run's own): symbolic states, transitions, depth, z3 seconds and peak memory, and how many
properties were proved, held, violated or left unknown.

    python benchmarks/symbolic.py        # baseline-4.19 and downgrade-4.20, every layout
    python benchmarks/symbolic.py --variant downgrade-5.8 --layout scenario
    python benchmarks/symbolic.py --bits 64 --scenario access-split-vma --timeout 120
    python benchmarks/symbolic.py --proof invariant --scenario access-split-vma   # Houdini first
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, sys, time
from vmacheck.checker.engines.symbolic.engine import SymbolicCheck
from vmacheck.properties import shipped as props
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as scenarios
from vmacheck.protocol.variants import shipped as variants
v, s, layout, bits, timeout, proof = sys.argv[1:6] + [sys.argv[6]]
timeout = float(timeout)
model = Model(variants()[v], scenarios()[s])
t0 = time.perf_counter()
res = SymbolicCheck(model, list(props().values()), layout=layout, bits=int(bits) or None,
                    timeout=timeout, proof=proof).run()
dt = time.perf_counter() - t0
counts = {}
for p in res.properties.values():
    counts[p.verdict] = counts.get(p.verdict, 0) + 1
print(json.dumps({"states": res.stats.states, "transitions": res.stats.transitions,
                  "depth": res.stats.depth, "seconds": dt,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "verdicts": counts, "bound": res.bound,
                  "violated": sorted(p.name for p in res.violated)}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--variant", action="append", help="variant (repeatable; default baseline-4.19, downgrade-4.20)"
    )
    ap.add_argument(
        "--scenario", action="append", help="scenario (repeatable; default: every exhaustive one)"
    )
    ap.add_argument("--layout", choices=("any", "scenario"), default="any")
    ap.add_argument("--bits", type=int, choices=(64,), default=0)
    ap.add_argument("--proof", choices=("auto", "paths", "invariant"), default="auto")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per run (default 600)")
    ap.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    opts = ap.parse_args()

    from vmacheck.protocol.scenarios import shipped as scenarios

    variants = opts.variant or ["baseline-4.19", "downgrade-4.20"]
    names = opts.scenario or [n for n, sc in scenarios().items() if sc.exhaustive]
    rows = []
    head = (
        f"{'variant':<16} {'scenario':<26} {'states':>7} {'trans':>7} {'depth':>5}"
        f" {'seconds':>8} {'MB':>6}  verdicts"
    )
    print(head)
    for v in variants:
        for s in names:
            if not scenarios()[s].applies_to(v):
                continue
            args = [v, s, opts.layout, str(opts.bits), str(opts.timeout), opts.proof]
            out = subprocess.run(
                [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=True
            )
            row = json.loads(out.stdout.strip().splitlines()[-1]) | {"variant": v, "scenario": s}
            rows.append(row)
            verdicts = ", ".join(f"{n} {k}" for k, n in sorted(row["verdicts"].items()))
            if row["bound"]:
                verdicts += f" (stopped: {row['bound']})"
            print(
                f"{v:<16} {s:<26} {row['states']:>7} {row['transitions']:>7} {row['depth']:>5}"
                f" {row['seconds']:>8.1f} {row['peak_mb']:>6.0f}  {verdicts}",
                flush=True,
            )
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
