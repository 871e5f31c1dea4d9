"""Reproducible performance runs of the explicit engine (not a test).

For each shipped variant and exhaustive scenario: reachable states, transitions, depth,
seconds, states per second and the peak memory of the run, with and without reductions.
Each run happens in a fresh subprocess so peak memory is the run's own.

    python benchmarks/run.py                 # table on stdout
    python benchmarks/run.py --json out.json # also machine-readable
    python benchmarks/run.py --variant downgrade-4.20 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CHILD = """
import json, resource, sys, time
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.properties import shipped as props
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as scenarios
from vmacheck.protocol.variants import shipped as variants
v, s, reduce = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
model = Model(variants()[v], scenarios()[s])
t0 = time.perf_counter()
res = Search(model, list(props().values()), SearchOptions(reduce_ids=reduce, symmetry=reduce)).run()
dt = time.perf_counter() - t0
print(json.dumps({"states": res.stats.states, "transitions": res.stats.transitions,
                  "depth": res.stats.depth, "seconds": dt,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "violated": sorted(p.name for p in res.violated)}))
"""


def run_one(variant: str, scenario: str, reduce: bool) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, variant, scenario, "1" if reduce else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> int:
    from vmacheck.protocol.scenarios import shipped as scenarios
    from vmacheck.protocol.variants import shipped as variants

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", action="append")
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--repeat", type=int, default=1, help="runs per configuration (median seconds)")
    ap.add_argument("--json", metavar="FILE")
    opts = ap.parse_args()
    rows = []
    t_all = time.perf_counter()
    header = (
        f"{'variant':<20} {'scenario':<24} {'red':>3} {'states':>8} {'trans':>8} {'depth':>5}"
        f" {'sec':>7} {'st/s':>8} {'MB':>6}"
    )
    print(header)
    print("-" * len(header))
    for v in opts.variant or list(variants()):
        for s, sc in scenarios().items():
            if opts.scenario and s not in opts.scenario:
                continue
            if not opts.scenario and (not sc.exhaustive or not sc.applies_to(v)):
                continue
            for reduce in (True, False):
                runs = [run_one(v, s, reduce) for _ in range(opts.repeat)]
                r = dict(runs[0])
                r["seconds"] = statistics.median(float(x["seconds"]) for x in runs)  # type: ignore[arg-type]
                r.update(variant=v, scenario=s, reductions=reduce)
                rows.append(r)
                sec = float(r["seconds"])  # type: ignore[arg-type]
                rate = int(r["states"]) / sec if sec > 0 else 0.0  # type: ignore[call-overload]
                print(
                    f"{v:<20} {s:<24} {'on' if reduce else 'off':>3} {r['states']:>8} {r['transitions']:>8} "
                    f"{r['depth']:>5} {sec:>7.3f} {rate:>8.0f} {float(r['peak_mb']):>6.1f}"  # type: ignore[arg-type]
                )
    print(
        f"\n{len(rows)} runs in {time.perf_counter() - t_all:.1f} s wall (incl. interpreter start-up);"
        f" this process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"machine": {"python": sys.version.split()[0]}, "runs": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
