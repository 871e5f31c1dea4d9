"""The search in several processes (and on Ray) finds what one process finds: the same
states, transitions, verdicts and shortest lengths; a level larger than its memory bound goes
to disk and comes back in order."""

from __future__ import annotations

import os
import tempfile

import pytest

import vmacheck.checker.core.frontier as frontier_module
from vmacheck.checker.cli import main
from vmacheck.checker.core.parallel import ParallelSearch
from vmacheck.checker.core.search import Search, SearchOptions
from vmacheck.checker.engines import explicit
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())
PAIRS = [
    (v, s)
    for v, variant in shipped_variants().items()
    for s, sc in shipped_scenarios().items()
    if sc.exhaustive and sc.applies_to(v)
]


def _outcome(res: object) -> tuple[object, ...]:
    props = {n: (p.verdict, p.trace_length) for n, p in res.properties.items()}  # type: ignore[attr-defined]
    return (res.stats.states, res.stats.transitions, props)  # type: ignore[attr-defined]


def test_two_processes_find_what_one_finds_on_every_shipped_pair() -> None:
    differ = []
    for v, s in PAIRS:
        model = Model(shipped_variants()[v], shipped_scenarios()[s])
        one = Search(model, PROPS).run()
        if len(one.violated) == len(PROPS):
            continue  # one process stops mid-level, partitions at the level's end
        two = ParallelSearch(model, PROPS, SearchOptions(), 2).run()
        if _outcome(one) != _outcome(two):
            differ.append((v, s, _outcome(one), _outcome(two)))
    assert not differ


@pytest.mark.parametrize("workers", [3, 4])
def test_more_partitions_than_cores_still_agree(workers: int) -> None:
    model = Model(shipped_variants()["rfc-v2-read-split"], shipped_scenarios()["map-fixed-fault"])
    assert _outcome(ParallelSearch(model, PROPS, SearchOptions(), workers).run()) == _outcome(
        Search(model, PROPS).run()
    )


def test_traces_from_partitions_replay_and_are_shortest() -> None:
    from vmacheck.checker.report.trace import replay, trace_json

    model = Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["stack-below-growsdown"])
    res = ParallelSearch(model, PROPS, SearchOptions(), 2).run()
    assert res.violated
    for pr in res.violated:
        assert replay(model, trace_json(pr.trace))[2] is None


def test_a_level_spilled_to_disk_comes_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    model = Model(shipped_variants()["rfc-v2-read-split"], shipped_scenarios()["map-fixed-fault"])
    ref = _outcome(Search(model, PROPS).run())
    monkeypatch.setattr(frontier_module, "SPILL_BYTES", 2000)  # a few dozen states per file
    spilled = []
    real = frontier_module.Frontier._spill

    def counting(self: frontier_module.Frontier) -> None:
        spilled.append(len(self._numbers))
        real(self)

    monkeypatch.setattr(frontier_module.Frontier, "_spill", counting)
    assert _outcome(Search(model, PROPS, SearchOptions()).run()) == ref
    assert spilled
    assert not [f for f in os.listdir(tempfile.gettempdir()) if f.startswith("vmacheck-frontier-")]


def test_a_search_that_outgrows_one_process_moves_to_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    model = Model(shipped_variants()["rfc-v2-read-split"], shipped_scenarios()["map-fixed-fault"])
    ref = _outcome(Search(model, PROPS).run())
    monkeypatch.setattr(explicit, "HANDOVER", 100)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    started = []
    real_run = ParallelSearch.run

    def run(self: ParallelSearch) -> object:
        started.append(self.workers)
        return real_run(self)

    monkeypatch.setattr(ParallelSearch, "run", run)
    assert _outcome(explicit.check(model, PROPS)) == ref
    assert started == [2]


def test_cli_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "downgrade-4.20", "-s", "stack-below-growsdown", "--workers", "2", "-q"]) == 1
    out = capsys.readouterr().out
    assert "209 states" in out and "(10 steps)" in out
    assert main(["check", "downgrade-4.20", "-s", "two-munmaps", "--workers", "2", "--exact"]) == 2
    assert "cannot be combined" in capsys.readouterr().err


@pytest.mark.slow
def test_a_local_ray_cluster_finds_what_one_process_finds() -> None:
    ray = pytest.importorskip("ray")
    try:
        for v, s in [("downgrade-4.20", "stack-below-growsdown"), ("rfc-v2-read-split", "map-fixed-fault")]:
            model = Model(shipped_variants()[v], shipped_scenarios()[s])
            got = ParallelSearch(model, PROPS, SearchOptions(), 2, ray="local").run()
            assert _outcome(got) == _outcome(Search(model, PROPS).run())
    finally:
        ray.shutdown()


def test_a_step_runs_in_one_partition_only() -> None:
    """States are owned by their shared component's fingerprint, and a cached step is keyed
    by (thread, shared component, thread block): so each step runs in exactly one partition,
    and the partitions together run as many steps as one process does."""
    from vmacheck.checker.core.partition import Partition

    model = Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["map-fixed-fault"])
    for prop in PROPS:
        prop.prepare(model)
    one = Search(model, PROPS)
    one.run()
    n = 3
    parts = [Partition(model, PROPS, me, n) for me in range(n)]
    first = parts[0].initial()
    reports = [parts[d].start([first[d]]) for d in range(n)]
    while any(r.frontier for r in reports):
        outs = [p.expand() for p in parts]
        reports = [parts[d].receive([outs[src][0][d] for src in range(n)]) for d in range(n)]
    assert sum(r.states for r in reports) == one.stats.states
    assert sum(p.stepper.runs for p in parts) == one.stepper.runs
