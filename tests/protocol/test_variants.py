"""Every shipped variant's verdict, per scenario and property, pinned against what the sources
say is wrong with it.

The expectation is written by hand from ``shared/kernel-notes.md`` and the seed thread (the
reason next to each violation); the verdicts are computed by the explicit engine exploring
every interleaving. A mismatch either way fails: a variant that stops violating what the
thread found wrong with it means a scenario lost its race or the model changed; a new
violation must be understood and written down here.

Every counterexample is also written as a schema-1 trace, read back, and replayed step by
step on the model (:func:`vmacheck.checker.report.trace.replay`) to the state where the property fails —
and to no earlier one, since the engine promises shortest traces.
"""

from __future__ import annotations

import functools

import pytest

from vmacheck.checker.core.result import VIOLATED, CheckResult
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.report.trace import replay, trace_json, validate_trace
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

# --- the expectation, from the sources ------------------------------------------------------
# variant -> scenario -> {violated property: why}. A scenario not listed: every property holds.

# 4.20: a fault below the GROWSDOWN stack (or above the GROWSUP vma) expands it under the read
# lock into the range munmap has detached and is zapping and freeing (CVE-2020-29369).
STACK_RACE_4_20 = {
    "no_clobber": "the zap removes the PTE of a page the grown stack now covers",
    "no_pt_use_after_free": "free_pgtables frees the page table under the grown stack",
    "linearizable": "the stack keeps a page no serial order leaves it",
}
# VM_DEAD variants: a fault in the range while munmap is between phases gets SIGSEGV; in
# either serial order it gets a page (the old mapping's, or the stack grown into the hole).
VM_DEAD_SEGV = {"linearizable": "a fault on the VM_DEAD range gets SIGSEGV; serially it succeeds"}
# RFC v2 does its find/split/zap/free_pgtables under the read lock.
V2_READ_PHASE = {
    "no_clobber": "it zaps PTEs of vmas that are still linked, under the read lock",
    "no_pt_use_after_free": "it frees page tables under vmas that are still linked and faultable",
}
V2_SPLITS = {
    "lock_discipline": "__split_vma under the read lock ('splitting can't be done with read mmap_sem held')"
}
V2_REFAULT = {
    "vma_consistency": "a fault re-populates a zapped page of the still-linked vma; the PTE outlives it",
    "linearizable": "the re-populated page survives the munmap",
}
V2_CARRIED = {
    "no_vma_use_after_free": "vma/prev carried from the read hold into the write hold, freed in the gap",
    "linearizable": "the write phase detaches what the racing syscall installed",
}
V2_AT_LIMIT = {
    "map_count_limit": "'>' instead of '>=': both splits go ahead at the limit, map_count reaches limit + 2 "
    "while only the read lock is held",
}
# upgrade-read: a writer that queues while munmap holds the read lock is ahead of the fair
# blocking upgrade; it waits for munmap's read hold, the upgrade waits for it.
UPGRADE_DEADLOCK = {"deadlock_free": "a writer queued behind munmap's read hold, ahead of its upgrade_read"}

EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    "baseline-4.19": {},  # everything under the write lock: the reference
    "downgrade-4.20": {
        "stack-below-growsdown": STACK_RACE_4_20,
        "stack-above-growsup": STACK_RACE_4_20,
    },
    "downgrade-5.8": {},  # keeps the write lock next to a GROWSDOWN/GROWSUP neighbour
    "stack-write-6.5": {},  # stacks grow only under the write lock, and the fault looks up again
    "rfc-v1-sections": {
        "map-fixed": {
            "no_vma_use_after_free": "the carried vma was freed by MAP_FIXED in the gap between sections",
            "no_clobber": "prev->vm_next is now the MAP_FIXED mapping, and section 2 detaches it",
        },
        "mremap-into-range": {
            "no_vma_use_after_free": "the carried prev was freed by mremap (the moved source)",
            "no_clobber": "prev->vm_next through the stale prev is the moved mapping, and it is detached",
            "no_pt_use_after_free": "floor read via the stale prev: the moved mapping's page table is freed",
            "linearizable": "the moved mapping loses pages no serial order removes",
        },
        "two-munmaps": {
            "no_vma_use_after_free": "the other munmap freed the vma carried across the gap",
        },
        "stack-relookup": {
            "linearizable": "between sections the stack grows back over the part already unmapped",
        },
        "map-fixed-fault": {
            "no_vma_use_after_free": "the carried vma was freed by MAP_FIXED in the gap between sections",
            "no_clobber": "prev->vm_next is now the MAP_FIXED mapping, and section 2 detaches it",
        },
        "stack-relookup-map-fixed": {
            "no_vma_use_after_free": "the carried prev (the grown stack's part below the range) was freed by "
            "MAP_FIXED in the gap",
            "no_clobber": "prev->vm_next via the carried prev is the mapping MAP_FIXED put below the range",
            "no_pt_use_after_free": "floor from the carried prev: the page table under that mapping is freed",
            "linearizable": "the mapping installed below the range is removed by the munmap",
        },
    },
    "rfc-v2-read-split": {
        "stack-below-growsdown": {**V2_READ_PHASE, **V2_REFAULT},
        "stack-above-growsup": {**V2_READ_PHASE, **V2_REFAULT},
        "access-split-vma": {"no_clobber": V2_READ_PHASE["no_clobber"], **V2_SPLITS, **V2_REFAULT},
        "map-fixed": {**V2_READ_PHASE, **V2_SPLITS, **V2_CARRIED},
        "mremap-into-range": {**V2_READ_PHASE, **V2_SPLITS, **V2_CARRIED},
        "mprotect-at-limit": {"no_clobber": V2_READ_PHASE["no_clobber"], **V2_SPLITS, **V2_AT_LIMIT},
        "munmap-at-limit": {"no_clobber": V2_READ_PHASE["no_clobber"], **V2_SPLITS, **V2_AT_LIMIT},
        "two-munmaps": {
            **V2_READ_PHASE,
            **V2_SPLITS,
            "no_vma_use_after_free": "two munmaps split the same vma at once under the read lock",
        },
        "stack-relookup": {**V2_READ_PHASE, **V2_SPLITS, **V2_REFAULT},
        "map-fixed-fault": {**V2_READ_PHASE, **V2_SPLITS, **V2_REFAULT, **V2_CARRIED},
        "stack-relookup-map-fixed": {**V2_READ_PHASE, **V2_SPLITS, **V2_REFAULT},
    },
    "rfc-v3-three-phase": {
        "stack-below-growsdown": VM_DEAD_SEGV,
        "stack-above-growsup": VM_DEAD_SEGV,
        "map-fixed": {
            "no_vma_use_after_free": "MAP_FIXED freed the VM_DEAD vma carried into the read phase",
            "no_clobber": "the final detach, from the stale vma's old start, takes the MAP_FIXED mapping",
            "linearizable": "the MAP_FIXED mapping vanishes though mmap returned success",
        },
        "mremap-into-range": {
            "no_vma_use_after_free": "mremap freed the VM_DEAD vma carried into the read phase",
            "no_clobber": "the zap through the stale vma removes the moved mapping's PTEs",
            "no_pt_use_after_free": "floor read via the stale prev: the moved mapping's page table is freed",
            "linearizable": "the moved mapping loses its pages",
        },
        "two-munmaps": {
            "no_vma_use_after_free": "the other munmap freed a vma carried across the gap",
            "no_pt_use_after_free": "the other munmap split the carried vma: the page-table free "
            "covers a page the shrunken pointer did not zap",
        },
        "map-fixed-fault": {
            "no_vma_use_after_free": "MAP_FIXED freed the VM_DEAD vma carried into the read phase",
            "no_clobber": "the final detach, from the stale vma's old start, takes the MAP_FIXED mapping",
            "no_pt_use_after_free": "free_pgtables through the stale vma frees the page table the fault "
            "just filled for the MAP_FIXED mapping",
            "vma_consistency": "the last phase detaches and frees the MAP_FIXED mapping without zapping "
            "the page the fault put in it",
            "linearizable": "the MAP_FIXED mapping vanishes though mmap returned success",
        },
        "stack-relookup-map-fixed": {
            "no_vma_use_after_free": "the carried prev (the grown stack's part below the range) was freed by "
            "MAP_FIXED in the gap",
            "no_pt_use_after_free": "floor from the carried prev: the page table under the mapping MAP_FIXED "
            "put below the range is freed",
        },
    },
    "upgrade-read": {
        "stack-below-growsdown": VM_DEAD_SEGV,
        "stack-above-growsup": VM_DEAD_SEGV,
        "map-fixed": UPGRADE_DEADLOCK,
        "mremap-into-range": UPGRADE_DEADLOCK,
        "mprotect-at-limit": UPGRADE_DEADLOCK,
        "two-munmaps": UPGRADE_DEADLOCK,
        "map-fixed-fault": UPGRADE_DEADLOCK,
        "stack-relookup-map-fixed": UPGRADE_DEADLOCK,
    },
    "rfc-v4-redo": {
        "stack-below-growsdown": VM_DEAD_SEGV,
        "stack-above-growsup": VM_DEAD_SEGV,
        "map-fixed": {
            "no_clobber": "the fresh do_munmap removes what MAP_FIXED mapped between up_read and down_write"
        },
        "mremap-into-range": {"no_clobber": "the fresh do_munmap removes what mremap moved into the window"},
        "map-fixed-fault": {
            "no_clobber": "the fresh do_munmap removes what MAP_FIXED mapped (and the fault "
            "populated) between up_read and down_write"
        },
    },
    "ebusy-on-dead": {
        "stack-below-growsdown": VM_DEAD_SEGV,
        "stack-above-growsup": VM_DEAD_SEGV,
        "map-fixed": {
            "documented_errno": "mmap(2) does not document EBUSY",
            "linearizable": "EBUSY: no serial order gives it",
        },
        "mremap-into-range": {
            "documented_errno": "mremap(2) does not document EBUSY",
            "linearizable": "EBUSY: no serial order gives it",
        },
        "map-fixed-fault": {
            "documented_errno": "mmap(2) does not document EBUSY",
            "linearizable": "EBUSY: no serial order gives it",
        },
    },
}

PROPERTIES = shipped_properties()
PAIRS = [
    (v, s)
    for v in shipped_variants()
    for s, sc in shipped_scenarios().items()
    if sc.exhaustive and sc.applies_to(v)
]


@functools.cache
def result(variant: str, scenario: str) -> CheckResult:
    model = Model(shipped_variants()[variant], shipped_scenarios()[scenario])
    return Search(model, list(PROPERTIES.values())).run()


def violated(res: CheckResult) -> set[str]:
    return {n for n, p in res.properties.items() if p.verdict == VIOLATED}


# --- the table is about things that exist ---------------------------------------------------
def test_expectation_names_only_shipped_things() -> None:
    assert set(EXPECTED) == set(shipped_variants())
    for variant, per_scenario in EXPECTED.items():
        for scenario, props in per_scenario.items():
            assert (variant, scenario) in PAIRS, f"{variant}/{scenario} is not checked"
            assert set(props) <= set(PROPERTIES), f"{variant}/{scenario}: unknown property"
            assert all(props.values()), f"{variant}/{scenario}: a violation without its reason"


# Unmapping the tail of A at the limit (munmap-at-limit, len=3) needs one split and no check:
# 4.19 splits and detaches in one write hold. The RFCs that split, release, and detach in a
# later hold let the split show: after an mmap used the kernel's one-vma slack, map_count is
# two above the limit while only the read lock is held, and an mmap racing with the window
# sees the transient count and fails where no serial order fails it.
TAIL_AT_LIMIT = {
    "map_count_limit": "the split of A's tail shows (limit + 2) once the first write hold ends",
    "linearizable": "mmap fails with ENOMEM on munmap's transient split, which no serial order shows",
}
# A vma an unmap took out of the tree must be freed before the unmap returns: carried pointers
# make v2 and v3 free the wrong list and leak what they detached.
LEAKED = {"vma_consistency": "a detached vma is never freed: remove_vma_list walked a stale list"}
for _variant in ("rfc-v3-three-phase", "rfc-v4-redo", "ebusy-on-dead"):
    EXPECTED[_variant].setdefault("munmap-at-limit", {}).update(TAIL_AT_LIMIT)
EXPECTED["upgrade-read"].setdefault("munmap-at-limit", {}).update(
    {"map_count_limit": TAIL_AT_LIMIT["map_count_limit"], **UPGRADE_DEADLOCK}
)
EXPECTED["rfc-v1-sections"].setdefault("munmap-at-limit", {})["linearizable"] = (
    "the limit check per section refuses A's tail, which 4.19 unmaps with one split"
)
for _variant in ("rfc-v2-read-split", "rfc-v3-three-phase"):
    for _scenario in ("map-fixed", "mremap-into-range", "two-munmaps"):
        EXPECTED[_variant].setdefault(_scenario, {}).update(LEAKED)
EXPECTED["rfc-v2-read-split"]["mprotect-at-limit"]["linearizable"] = (
    "mprotect fails at the limit first; then v2's '>' unmaps the middle of A where 4.19 says ENOMEM"
)
EXPECTED["rfc-v2-read-split"]["munmap-at-limit"].update(
    {
        "linearizable": TAIL_AT_LIMIT["linearizable"],
        "no_pt_use_after_free": "free_pgtables under the read lock frees page table 1 under A's linked tail",
    }
)


# --- the verdicts ---------------------------------------------------------------------------
@pytest.mark.parametrize(("variant", "scenario"), PAIRS)
def test_verdicts(variant: str, scenario: str) -> None:
    res = result(variant, scenario)
    assert res.bound is None, "an exhaustive scenario hit a bound"
    expected = set(EXPECTED[variant].get(scenario, {}))
    got = violated(res)
    messages = {n: p.violation.message for n, p in res.properties.items() if p.violation}
    assert got == expected, (
        f"unexpected: {sorted(got - expected)}, missing: {sorted(expected - got)}; {messages}"
    )


def test_acceptance_summary() -> None:
    """The issue's acceptance: three variants hold everywhere, each of the other seven
    violates something, and the thread's named flaws are among the violations."""
    broken: dict[str, set[str]] = {}
    for variant, scenario in PAIRS:
        broken.setdefault(variant, set()).update(violated(result(variant, scenario)))
    assert {v for v, props in broken.items() if not props} == {
        "baseline-4.19",
        "downgrade-5.8",
        "stack-write-6.5",
    }
    assert "deadlock_free" in broken["upgrade-read"]
    assert "no_clobber" in broken["rfc-v4-redo"]
    assert "documented_errno" in broken["ebusy-on-dead"]
    assert "no_clobber" not in broken["ebusy-on-dead"]  # EBUSY does close v4's window
    assert "lock_discipline" in broken["rfc-v2-read-split"]
    assert "map_count_limit" in broken["rfc-v2-read-split"]
    assert "no_vma_use_after_free" in broken["rfc-v1-sections"]
    assert "no_vma_use_after_free" in broken["rfc-v3-three-phase"]
    assert {"no_clobber", "no_pt_use_after_free"} <= broken["downgrade-4.20"]


# --- every counterexample replays to its violation ------------------------------------------
VIOLATIONS = [
    (v, s, p)
    for v, per_scenario in EXPECTED.items()
    for s, props in per_scenario.items()
    for p in sorted(props)
]


def _fires(prop_name: str, model: Model, before: object, tr: object, state: object) -> bool:
    """Whether ``prop_name`` fails at this point of a path: on the step into ``state`` (if
    any), on ``state`` itself, or — when nothing can run from it — as stuck or final."""
    prop = PROPERTIES[prop_name]
    if tr is not None and prop.check_step(model, before, tr) is not None:  # type: ignore[arg-type]
        return True
    if prop.check_state(model, state) is not None:  # type: ignore[arg-type]
        return True
    if not model.successors(state):  # type: ignore[arg-type]
        done = all(th.done for th in state.threads)  # type: ignore[attr-defined]
        hook = prop.check_final if done else prop.check_stuck
        return hook(model, state) is not None  # type: ignore[arg-type]
    return False


@pytest.mark.parametrize(("variant", "scenario", "prop"), VIOLATIONS)
def test_counterexample_replays_to_the_violation(variant: str, scenario: str, prop: str) -> None:
    pr = result(variant, scenario).properties[prop]
    assert pr.verdict == VIOLATED and pr.trace is not None
    data = trace_json(pr.trace)
    validate_trace(data)
    model = Model(shipped_variants()[variant], shipped_scenarios()[scenario])
    init, path, error = replay(model, data)
    assert error is None, error
    assert len(path) == len(data["steps"]) == pr.trace_length
    # no earlier point of the path fails the property (the trace is a shortest one) ...
    state, before = init, None
    assert not _fires(prop, model, None, None, init) or not path
    for tr in path[:-1]:
        before, state = state, tr.state
        assert not _fires(prop, model, before, tr, state), "the property fails before the trace ends"
    # ... and its end does
    last = path[-1] if path else None
    end = last.state if last else init
    assert _fires(prop, model, state if last else None, last, end), (
        "the replayed trace does not end in the violation"
    )
