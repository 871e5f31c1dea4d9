"""Reproducible performance runs of the explicit engine (not a test).

Each run happens in a fresh subprocess, so that its peak memory is its own; it reports
reachable states, transitions, depth, seconds (the search, without start-up), states per
second, the process's peak resident memory, what the seen-set holds per stored state, and
the peak memory above an idle process's, per state.

    python benchmarks/run.py                       # the benchmark scenarios (bench-*)
    python benchmarks/run.py --shipped             # every shipped variant x exhaustive scenario
    python benchmarks/run.py --variant downgrade-5.8 --scenario bench-munmap-low --repeat 3
    python benchmarks/run.py --no-reduction --exact
    python benchmarks/run.py --workers 1 --workers 2   # speed-up over one process
    python benchmarks/run.py --large --workers 2        # large-* scenarios, 120 s each
    python benchmarks/run.py --savings             # states saved by each reduction
    python benchmarks/run.py --json out.json       # also machine-readable

The benchmark scenarios (``protocol/scenarios/bench.py``) are the layout an independent C
model checker (SPIN) was measured on: 12 pages, page tables of 2 pages, max_map_count 5,
munmap of [2,4) or [4,7) racing two faults on any page and a MAP_FIXED. docs/performance.md
has the figures measured, before and after the search core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
from vmacheck.checker.core.parallel import ParallelSearch
from vmacheck.checker.core.search import Search, SearchOptions
from vmacheck.properties import shipped as props
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as scenarios
from vmacheck.protocol.variants import shipped as variants
v, s, reduce, exact, workers, budget = sys.argv[1:7]
ids, sym = "i" in reduce, "s" in reduce
exact, workers = exact == "1", int(workers)
model = Model(variants()[v], scenarios()[s])
idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
limit = float(budget) if budget else None
opts = SearchOptions(reduce_ids=ids, symmetry=sym, exact=exact, timeout=limit)
search = (ParallelSearch(model, list(props().values()), opts, workers) if workers > 1
          else Search(model, list(props().values()), opts))
def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
t0, c0 = time.perf_counter(), cpu()
res = search.run()
dt = time.perf_counter() - t0
cpu_s = cpu() - c0  # the forked partitions are reaped by now: their time is the children's
peak = res.stats.peak_mb
print(json.dumps({"states": res.stats.states, "transitions": res.stats.transitions,
                  "depth": res.stats.depth, "seconds": dt, "cpu_seconds": cpu_s,
                  "peak_mb": peak, "idle_mb": idle,
                  "store_bytes_per_state": res.stats.bytes_per_state, "bound": res.bound,
                  "violated": sorted(p.name for p in res.violated)}))
"""


def run_one(
    variant: str, scenario: str, reduce: str, exact: bool, workers: int, budget: float | None
) -> dict[str, object]:
    """``reduce``: "is" both reductions (vma-id renaming, thread symmetry), "i" ids only, "" none."""
    args = [variant, scenario, reduce or "-", "1" if exact else "0", str(workers), str(budget or "")]
    out = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"run.py: {variant} / {scenario} failed: {last}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def savings(pairs: list[tuple[str, str]], budget: float | None) -> int:
    """The states each reduction saves (there is no partial-order reduction: docs/scale.md)."""
    print(f"{'variant':<18} {'scenario':<22} {'none':>10} {'vma ids':>10} {'+ symmetry':>10} {'saved':>6}")
    for v, s in pairs:
        counts = [int(run_one(v, s, r, False, 1, budget)["states"]) for r in ("", "i", "is")]  # type: ignore[call-overload]
        saved = 1 - counts[2] / counts[0] if counts[0] else 0.0
        print(f"{v:<18} {s:<22} {counts[0]:>10,} {counts[1]:>10,} {counts[2]:>10,} {saved:>6.0%}", flush=True)
    if budget:
        print("(with a time budget the counts are of the states reached in it, not comparable)")
    return 0


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
    ap.add_argument(
        "--workers", type=int, action="append", help="processes (repeatable: a speed-up curve; default 1)"
    )
    ap.add_argument("--budget", type=float, help="seconds per run (for scenarios too large to finish)")
    ap.add_argument(
        "--large", action="store_true", help="the large scenarios, 120 s each unless --budget says"
    )
    ap.add_argument(
        "--savings",
        action="store_true",
        help="states saved by each reduction: runs without, with vma-id renaming, with both",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (median seconds)")
    ap.add_argument("--json", metavar="FILE")
    opts = ap.parse_args()
    scs = scenarios()
    if opts.large:
        opts.budget = opts.budget or 120.0
        opts.scenario = opts.scenario or ["large-stack-race", "large-growsup-mremap"]
        opts.variant = opts.variant or ["downgrade-4.20"]
    if opts.shipped:
        pairs = [(v, s) for v in variants() for s, sc in scs.items() if sc.exhaustive and sc.applies_to(v)]
    else:
        names = opts.scenario or [s for s in scs if s.startswith("bench-")]
        chosen = opts.variant or ["downgrade-5.8", "downgrade-4.20", "baseline-4.19"]
        for name, known in [(v, variants()) for v in chosen] + [(s, scs) for s in names]:
            if name not in known:
                ap.error(f"unknown variant or scenario {name!r} (known: {', '.join(known)})")
        pairs = [(v, s) for v in chosen for s in names]
    if opts.savings:
        return savings(pairs, opts.budget)
    header = (
        f"{'variant':<18} {'scenario':<22} {'w':>2} {'states':>9} {'trans':>9} {'depth':>5} {'sec':>7}"
        f" {'st/s':>8} {'/worker':>7} {'speedup':>7} {'cpu s':>7} {'cpu x':>5} {'peak MB':>7}"
        f" {'store B/st':>10} {'B/st':>6}"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f} (speed-ups mean little above 0.5)")
    print(header)
    print("-" * len(header))
    rows = []
    t_all = time.perf_counter()
    for v, s in pairs:
        one_rate = one_cpu = 0.0
        for workers in opts.workers or [1]:
            runs = [
                run_one(v, s, "" if opts.no_reduction else "is", opts.exact, workers, opts.budget)
                for _ in range(opts.repeat)
            ]
            r = dict(runs[0])
            r["seconds"] = statistics.median(float(x["seconds"]) for x in runs)  # type: ignore[arg-type]
            r.update(
                variant=v, scenario=s, reductions=not opts.no_reduction, exact=opts.exact, workers=workers
            )
            states = int(r["states"])  # type: ignore[call-overload]
            sec = float(r["seconds"])  # type: ignore[arg-type]
            per_state = max(0.0, float(r["peak_mb"]) - float(r["idle_mb"])) * 2**20 / states  # type: ignore[arg-type]
            rate = states / sec if sec > 0 else 0.0
            one_rate = one_rate or rate
            cpu_s = float(r["cpu_seconds"])  # type: ignore[arg-type]
            one_cpu = one_cpu or cpu_s
            r.update(
                states_per_second=rate,
                process_bytes_per_state=per_state,
                speedup=rate / one_rate,
                cpu_ratio=cpu_s / one_cpu,
            )
            rows.append(r)
            bound = f"  (stopped: {r['bound']})" if r.get("bound") else ""
            print(
                f"{v:<18} {s:<22} {workers:>2} {states:>9,} {int(r['transitions']):>9,}"  # type: ignore[call-overload]
                f" {r['depth']:>5} {sec:>7.2f} {rate:>8,.0f} {rate / workers:>7,.0f} {rate / one_rate:>7.2f}"
                f" {cpu_s:>7.1f} {cpu_s / one_cpu:>5.2f}"
                f" {float(r['peak_mb']):>7.0f} {float(r['store_bytes_per_state']):>10.1f}"  # type: ignore[arg-type]
                f" {per_state:>6.0f}{bound}",
                flush=True,
            )
    print(f"\n{len(rows)} runs in {time.perf_counter() - t_all:.1f} s wall (with interpreter start-up)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("store B/st: the seen-set per stored state; B/st: peak memory above an idle process, per state")
    print("cpu s: processor time of the run, its worker processes included; cpu x: that over the first")
    print("configuration's (the partitioned search's extra work; a busy machine distorts it less than")
    print("wall time, but does)")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"machine": {"python": sys.version.split()[0]}, "runs": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
