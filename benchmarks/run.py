"""Reproducible performance runs of the explicit engine (not a test).

Each run happens in a fresh subprocess, so that its peak memory is its own; it reports
reachable states, transitions, depth, seconds (the search, without start-up), states per
second, the process's peak resident memory, what the seen-set holds per stored state, and
the peak memory above an idle process's, per state.

    python benchmarks/run.py                       # the benchmark scenarios (bench-*)
    python benchmarks/run.py --shipped             # every shipped variant x exhaustive scenario
    python benchmarks/run.py --variant downgrade-5.8 --scenario bench-munmap-low --repeat 3
    python benchmarks/run.py --no-reduction --exact
    python benchmarks/run.py --json out.json       # also machine-readable

The benchmark scenarios (``protocol/scenarios/bench.py``) are the layout an independent C
model checker (SPIN) was measured on: 12 pages, page tables of 2 pages, max_map_count 5,
munmap of [2,4) or [4,7) racing two faults on any page and a MAP_FIXED. docs/performance.md
has the figures measured, before and after the search core.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
from vmacheck.checker.core.search import Search, SearchOptions
from vmacheck.properties import shipped as props
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as scenarios
from vmacheck.protocol.variants import shipped as variants
v, s, reduce, exact = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
model = Model(variants()[v], scenarios()[s])
idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
search = Search(model, list(props().values()), SearchOptions(reduce_ids=reduce, symmetry=reduce, exact=exact))
t0 = time.perf_counter()
res = search.run()
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"states": res.stats.states, "transitions": res.stats.transitions,
                  "depth": res.stats.depth, "seconds": dt, "peak_mb": peak, "idle_mb": idle,
                  "store_bytes_per_state": res.stats.bytes_per_state,
                  "steps_run": search.stepper.runs,
                  "violated": sorted(p.name for p in res.violated)}))
"""


def run_one(variant: str, scenario: str, reduce: bool, exact: bool) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, variant, scenario, "1" if reduce else "0", "1" if exact else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> int:
    from vmacheck.protocol.scenarios import shipped as scenarios
    from vmacheck.protocol.variants import shipped as variants

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--variant", action="append", help="variant (repeatable; default: downgrade-5.8, 4.20, 4.19)"
    )
    ap.add_argument("--scenario", action="append", help="scenario (repeatable; default: the bench-* ones)")
    ap.add_argument("--shipped", action="store_true", help="every shipped variant x exhaustive scenario")
    ap.add_argument("--no-reduction", action="store_true", help="without vma-id renaming and thread symmetry")
    ap.add_argument("--exact", action="store_true", help="store canonical states, not fingerprints")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (median seconds)")
    ap.add_argument("--json", metavar="FILE")
    opts = ap.parse_args()
    scs = scenarios()
    if opts.shipped:
        pairs = [(v, s) for v in variants() for s, sc in scs.items() if sc.exhaustive and sc.applies_to(v)]
    else:
        names = opts.scenario or [s for s in scs if s.startswith("bench-")]
        chosen = opts.variant or ["downgrade-5.8", "downgrade-4.20", "baseline-4.19"]
        pairs = [(v, s) for v in chosen for s in names]
    header = (
        f"{'variant':<18} {'scenario':<24} {'states':>9} {'trans':>9} {'depth':>5} {'sec':>7}"
        f" {'st/s':>8} {'peak MB':>7} {'store B/st':>10} {'B/st':>6}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    t_all = time.perf_counter()
    for v, s in pairs:
        runs = [run_one(v, s, not opts.no_reduction, opts.exact) for _ in range(opts.repeat)]
        r = dict(runs[0])
        r["seconds"] = statistics.median(float(x["seconds"]) for x in runs)  # type: ignore[arg-type]
        r.update(variant=v, scenario=s, reductions=not opts.no_reduction, exact=opts.exact)
        states = int(r["states"])  # type: ignore[call-overload]
        sec = float(r["seconds"])  # type: ignore[arg-type]
        per_state = (float(r["peak_mb"]) - float(r["idle_mb"])) * 2**20 / states  # type: ignore[arg-type]
        r["states_per_second"] = states / sec if sec > 0 else 0.0
        r["process_bytes_per_state"] = per_state
        rows.append(r)
        print(
            f"{v:<18} {s:<24} {states:>9,} {int(r['transitions']):>9,} {r['depth']:>5}"  # type: ignore[call-overload]
            f" {sec:>7.2f} {r['states_per_second']:>8,.0f} {float(r['peak_mb']):>7.0f}"  # type: ignore[arg-type]
            f" {float(r['store_bytes_per_state']):>10.1f} {per_state:>6.0f}",  # type: ignore[arg-type]
            flush=True,
        )
    print(f"\n{len(rows)} runs in {time.perf_counter() - t_all:.1f} s wall (with interpreter start-up)")
    print("store B/st: the seen-set per stored state; B/st: peak memory above an idle process, per state")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"machine": {"python": sys.version.split()[0]}, "runs": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
