"""The explicit engine: verdicts, shortest traces, bounds, deadlocks, progress."""

from __future__ import annotations

from vmacheck.checker.core.result import HOLDS, UNKNOWN, VIOLATED
from vmacheck.checker.engines.explicit import Search, SearchOptions
from vmacheck.checker.report.trace import replay, trace_json
from vmacheck.properties import Property, Violation
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Kernel, Model, Program, Scenario, State, Variant, VmaSpec, thread
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.syscalls.common import RangeArgs
from vmacheck.protocol.variants import shipped as shipped_variants

PROPS = list(shipped_properties().values())


def model(variant: str, scenario: str) -> Model:
    return Model(shipped_variants()[variant], shipped_scenarios()[scenario])


def test_4_20_stack_race_is_found_with_both_failure_modes() -> None:
    res = Search(model("downgrade-4.20", "stack-below-growsdown"), PROPS).run()
    clobber = res.properties["no_clobber"]
    ptuaf = res.properties["no_pt_use_after_free"]
    assert clobber.verdict == VIOLATED and ptuaf.verdict == VIOLATED
    steps = [(s.thread, s.label) for s in ptuaf.trace.steps]
    munmap = [label for tid, label in steps if tid == 0]
    fault = [label for tid, label in steps if tid == 1]
    # munmap detaches and downgrades before the fault expands the stack into the range
    assert munmap.index("downgrade_write") > munmap.index("detach_vmas_to_be_unmapped")
    assert steps.index((0, "downgrade_write")) < steps.index((1, "expand_stack"))
    assert "expand_stack" in fault
    last = ptuaf.trace.steps[-1]
    assert (last.thread, last.label) in {(0, "free_pgtables"), (1, "do_anonymous_page")}
    assert clobber.trace.steps[-1].label == "unmap_region"
    assert "S[" in clobber.violation.message and "still linked" in clobber.violation.message


def test_fixed_variants_hold_in_the_stack_scenarios() -> None:
    for variant in ("baseline-4.19", "downgrade-5.8"):
        for scenario in ("stack-below-growsdown", "stack-above-growsup"):
            res = Search(model(variant, scenario), PROPS).run()
            assert {p.verdict for p in res.properties.values()} == {HOLDS}, (variant, scenario)


def test_traces_are_shortest_and_replay() -> None:
    m = model("downgrade-4.20", "stack-above-growsup")
    res = Search(m, PROPS).run()
    for pr in res.violated:
        data = trace_json(pr.trace)
        _, path, problem = replay(m, data)
        assert problem is None and len(path) == len(pr.trace.steps)
    # no shorter path reaches a violation: a depth-limited search with one step less finds none
    for pr in res.violated:
        shorter = _bounded(m, pr.name, len(pr.trace.steps) - 1)
        assert not shorter, pr.name


def _bounded(m: Model, prop_name: str, depth: int) -> bool:
    prop = shipped_properties()[prop_name]
    level = list(m.initial_states())
    seen = set(level)
    for d in range(depth + 1):
        nxt = []
        for s in level:
            if prop.check_state(m, s):
                return True
            succ = m.successors(s)
            if not succ:
                done = all(th.done for th in s.threads)
                if (prop.check_final(m, s) if done else prop.check_stuck(m, s)) is not None:
                    return True
            for tr in succ:
                if d < depth and prop.check_step(m, s, tr):
                    return True
                if tr.state not in seen:
                    seen.add(tr.state)
                    nxt.append(tr.state)
        level = nxt
    return False


def test_bounds_give_unknown() -> None:
    m = model("baseline-4.19", "two-munmaps")
    res = Search(m, PROPS, SearchOptions(max_states=10)).run()
    assert res.bound == "max_states=10"
    assert {p.verdict for p in res.properties.values()} == {UNKNOWN}
    assert res.stats.states >= 10
    res = Search(m, PROPS, SearchOptions(timeout=1e-9)).run()
    assert res.bound is not None and res.bound.startswith("timeout")


def test_a_violation_found_before_the_bound_stays_violated() -> None:
    m = model("downgrade-4.20", "stack-below-growsdown")
    res = Search(m, PROPS, SearchOptions(max_states=150)).run()
    assert res.properties["no_clobber"].verdict == VIOLATED
    assert res.properties["vma_consistency"].verdict == UNKNOWN


def test_progress_is_reported() -> None:
    calls: list[int] = []
    Search(
        model("baseline-4.19", "two-munmaps"),
        PROPS,
        SearchOptions(progress_every=0),
        progress=lambda st, f: calls.append(st.states),
    ).run()
    assert calls and calls[-1] > 0


def test_search_stops_once_every_property_is_violated() -> None:
    m = model("downgrade-4.20", "stack-below-growsdown")
    full = Search(m, [shipped_properties()["no_clobber"], shipped_properties()["vma_consistency"]]).run()
    early = Search(m, [shipped_properties()["no_clobber"]]).run()
    assert early.stats.states < full.stats.states


def _deadlocking_variant() -> Variant:
    prog = Program("munmap", RangeArgs)

    @prog.step("down_read")
    def _a(k: Kernel, t: RangeArgs) -> None:
        k.down_read()

    @prog.step("down_read_again")
    def _b(k: Kernel, t: RangeArgs) -> None:
        k.down_read()  # recursive read: queues behind a waiting writer

    @prog.step("up_read")
    def _c(k: Kernel, t: RangeArgs) -> None:
        k.up_read()
        k.up_read()
        k.ret(0)

    return Variant("recursive-read", "down_read twice", prog)


def test_deadlock_is_detected_with_a_trace() -> None:
    sc = Scenario(
        "reader-and-writer",
        "a recursive reader and a MAP_FIXED",
        vmas=(VmaSpec("A", 0, 4),),
        threads=(thread("munmap", start=0, len=1), thread("mmap", start=2, len=1)),
    )
    res = Search(Model(_deadlocking_variant(), sc), PROPS).run()
    dl = res.properties["deadlock_free"]
    assert dl.verdict == VIOLATED
    assert [(s.thread, s.label) for s in dl.trace.steps] == [
        (0, "down_read"),
        (1, "down_write"),
        (0, "down_read_again"),
    ]


class NoPageThree(Property):
    name = "no_pte_on_page_3"
    summary = "a user property: page 3 never has a PTE"

    def check_state(self, model: Model, state: State) -> Violation | None:
        return self.violation("page 3 has a PTE", page=3) if state.ptes[3] else None


def test_user_properties_are_checked_like_shipped_ones() -> None:
    res = Search(model("baseline-4.19", "stack-below-growsdown"), [NoPageThree()]).run()
    assert res.properties["no_pte_on_page_3"].verdict == VIOLATED
    assert res.properties["no_pte_on_page_3"].trace_length == 0  # the initial state already
