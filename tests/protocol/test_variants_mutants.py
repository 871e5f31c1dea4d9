"""Mutants of the shipped variants: each scenario really gives the race a chance, and each
verdict comes from the flaw the sources name, not from something incidental.

A mutant is a shipped program with one step replaced or the steps reordered. A scenario in
which the correct variant holds must catch the mutant that drops the detail making it
correct (6.5's second ``find_vma``, splitting before VM_DEAD); a variant whose named flaw is
removed must stop violating what that flaw caused (v2's ``>``, v1's carried pointers).
"""

from __future__ import annotations

from tests.builders import rebuild
from vmacheck.checker.core.result import HOLDS, VIOLATED
from vmacheck.checker.engines.explicit import Search
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Kernel, Model, Variant
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.syscalls.access import AccessFrame
from vmacheck.protocol.syscalls.munmap import DoMunmapFrame
from vmacheck.protocol.syscalls.vm_dead import mark_vmas_dead
from vmacheck.protocol.variants import shipped as shipped_variants
from vmacheck.protocol.variants.rfc_v1_sections import SectionFrame

PROPS = shipped_properties()


def verdicts(variant: Variant, scenario: str, *props: str) -> dict[str, str]:
    model = Model(variant, shipped_scenarios()[scenario])
    res = Search(model, [PROPS[p] for p in props]).run()
    return {n: p.verdict for n, p in res.properties.items()}


def shipped(name: str) -> Variant:
    return shipped_variants()[name]


# --- 6.5: the second find_vma is what makes dropping the read lock safe -------------------
def test_6_5_without_the_relookup_grows_a_freed_stack() -> None:
    v = shipped("stack-write-6.5")
    access = v.overrides["access"]

    def keep_the_old_vma(k: Kernel, t: AccessFrame) -> None:
        pass  # "continue to use the vma we already looked up" — without mmap_upgrade_trylock

    mutant = Variant(
        "6.5-no-relookup",
        "mutant",
        v.munmap,
        overrides={"access": rebuild(access, replace={"find_vma_again": keep_the_old_vma})},
    )
    props = ("no_vma_use_after_free", "vma_consistency")
    assert verdicts(v, "stack-relookup", *props) == dict.fromkeys(props, HOLDS)
    assert verdicts(mutant, "stack-relookup", *props)["no_vma_use_after_free"] == VIOLATED


def test_6_5_relookup_success_branch_is_reached() -> None:
    """In stack-relookup-map-fixed, MAP_FIXED can map the faulting address while 6.5's fault
    has dropped the lock: the second find_vma then finds N and the fault maps N's page."""
    v = shipped("stack-write-6.5")
    model = Model(v, shipped_scenarios()["stack-relookup-map-fixed"])
    access_tid = 2
    seen = {(s, False) for s in model.initial_states()}
    todo = list(seen)
    reached = False
    while todo and not reached:
        state, relooked = todo.pop()
        for tr in model.successors(state):
            flag = relooked or (tr.tid == access_tid and tr.label == "find_vma_again")
            th = tr.state.threads[access_tid]
            if flag and th.done and th.result == "ok" and tr.state.ptes[4] == "N":
                reached = True
            if (tr.state, flag) not in seen:
                seen.add((tr.state, flag))
                todo.append((tr.state, flag))
    assert reached
    access = v.overrides["access"]

    def keep_the_old_vma(k: Kernel, t: AccessFrame) -> None:
        pass

    mutant = Variant(
        "6.5-no-relookup",
        "mutant",
        v.munmap,
        overrides={"access": rebuild(access, replace={"find_vma_again": keep_the_old_vma})},
    )
    props = ("no_vma_use_after_free",)
    assert verdicts(v, "stack-relookup-map-fixed", *props) == {"no_vma_use_after_free": HOLDS}
    assert verdicts(mutant, "stack-relookup-map-fixed", *props) == {"no_vma_use_after_free": VIOLATED}


# --- VM_DEAD must come after the splits (the seed thread) -------------------------------
def test_vm_dead_before_splitting_segfaults_still_mapped_pages() -> None:
    v = shipped("rfc-v3-three-phase")

    def mark_unsplit(k: Kernel, t: DoMunmapFrame) -> None:
        mark_vmas_dead(k, t.vma, t.end)  # t.vma is still the whole, unsplit vma

    labels = [st.label for st in v.munmap.steps]
    order = labels[:2] + ["mark_vm_dead"] + [lab for lab in labels[2:] if lab != "mark_vm_dead"]
    mutant = Variant(
        "v3-dead-first",
        "mutant",
        rebuild(v.munmap, order=order, replace={"mark_vm_dead": mark_unsplit}),
        overrides=v.overrides,
    )
    assert verdicts(v, "access-split-vma", "no_segv_on_mapped") == {"no_segv_on_mapped": HOLDS}
    assert verdicts(mutant, "access-split-vma", "no_segv_on_mapped") == {"no_segv_on_mapped": VIOLATED}


# --- v2: the '>' is what lets map_count past the limit -------------------------------------
def test_v2_with_do_munmaps_comparison_stays_within_the_limit() -> None:
    v = shipped("rfc-v2-read-split")

    def split_first_ge(k: Kernel, t: DoMunmapFrame) -> None:
        if t.start > t.vma.start:
            if t.end < t.vma.end and k.map_count >= k.max_map_count:  # do_munmap's '>='
                t.retval = "ENOMEM"
                return k.goto("out")
            k.split_vma(t.vma, t.start, new_below=False)
            t.prev = t.vma

    mutant = Variant("v2-ge", "mutant", rebuild(v.munmap, replace={"split_first": split_first_ge}))
    # munmap-at-limit is left out: there v2 also unmaps A's tail (one split, no check), and
    # its splits under the read lock show the transient count whatever the comparison.
    for scenario in ("mprotect-at-limit", "munmap-over-limit"):
        assert verdicts(mutant, scenario, "map_count_limit") == {"map_count_limit": HOLDS}
    assert verdicts(v, "mprotect-at-limit", "map_count_limit") == {"map_count_limit": VIOLATED}


# --- v1: carrying the pointers is one flaw; dropping the lock at all is another ----------
def test_v1_with_a_fresh_lookup_per_section_frees_nothing_it_holds_but_still_clobbers() -> None:
    v = shipped("rfc-v1-sections")
    original = v.munmap.steps[v.munmap.index["split_first"]].fn

    def split_first_fresh(k: Kernel, t: SectionFrame) -> None:
        # do_munmap(mm, addr, ...) afresh for each section: nothing carried across the gap
        t.vma = k.find_vma(t.addr)
        t.prev = k.find_vma_prev(t.addr)
        original(k, t)

    mutant = Variant("v1-fresh", "mutant", rebuild(v.munmap, replace={"split_first": split_first_fresh}))
    props = ("no_vma_use_after_free", "no_clobber")
    for scenario in ("map-fixed", "mremap-into-range", "two-munmaps"):
        assert verdicts(mutant, scenario, *props)["no_vma_use_after_free"] == HOLDS, scenario
    # the lock dropped between sections still lets MAP_FIXED in: section 2 unmaps its mapping
    assert verdicts(mutant, "map-fixed", *props)["no_clobber"] == VIOLATED


# --- upgrade-read: the deadlock needs a writer; readers alone only delay the upgrade ------
def test_upgrade_read_waits_for_readers_without_deadlock() -> None:
    v = shipped("upgrade-read")
    for scenario in ("access-split-vma", "stack-below-growsdown", "stack-relookup"):
        assert verdicts(v, scenario, "deadlock_free") == {"deadlock_free": HOLDS}, scenario
    assert verdicts(v, "two-munmaps", "deadlock_free") == {"deadlock_free": VIOLATED}


# --- ebusy-on-dead is v4 plus the EBUSY checks: the checks are what close the window ------
def test_ebusy_checks_are_what_close_v4s_window() -> None:
    v4, ebusy = shipped("rfc-v4-redo"), shipped("ebusy-on-dead")
    assert ebusy.munmap is v4.munmap and ebusy.overrides["access"] is v4.overrides["access"]
    for scenario in ("map-fixed", "mremap-into-range"):
        assert verdicts(v4, scenario, "no_clobber", "documented_errno") == {
            "no_clobber": VIOLATED,
            "documented_errno": HOLDS,
        }
        assert verdicts(ebusy, scenario, "no_clobber", "documented_errno") == {
            "no_clobber": HOLDS,
            "documented_errno": VIOLATED,
        }
