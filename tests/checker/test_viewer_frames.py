"""The per-step pictures both viewers draw are the state, and the highlights are the changes.

Hypothesis runs the model at random and checks, for every frame of the resulting trace,
that each cell of the address-space strip says what the state says about that page, and
that a cell is marked changed exactly when what it shows differs from the previous frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmacheck.checker.cli import main
from vmacheck.checker.core.trace import build_trace
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.report.render import tag_char
from vmacheck.checker.report.trace import trace_json
from vmacheck.checker.report.viewer import build_view
from vmacheck.checker.report.viewer.frames import TraceView
from vmacheck.properties import Violation
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants


def _model(variant: str, scenario: str) -> Model:
    return Model(shipped_variants()[variant], shipped_scenarios()[scenario])


def race_view() -> TraceView:
    model = _model("downgrade-4.20", "stack-below-growsdown")
    res = Search(model, [shipped_properties()["no_pt_use_after_free"]]).run()
    return build_view(trace_json(res.properties["no_pt_use_after_free"].trace))


@st.composite
def runs(draw: st.DrawFn) -> dict[str, Any]:
    variant, scenario = draw(
        st.sampled_from(
            [
                ("downgrade-4.20", "stack-below-growsdown"),
                ("downgrade-4.20", "stack-above-growsup"),
                ("baseline-4.19", "mremap-into-range"),
                ("downgrade-5.8", "mprotect-at-limit"),
                ("downgrade-4.20", "two-munmaps"),
            ]
        )
    )
    model = _model(variant, scenario)
    inits = model.initial_states()
    state = inits[draw(st.integers(0, len(inits) - 1))]
    init, path = state, []
    for _ in range(draw(st.integers(0, 25))):
        succ = model.successors(state)
        if not succ:
            break
        tr = succ[draw(st.integers(0, len(succ) - 1))]
        path.append(tr)
        state = tr.state
    trace = build_trace(model, "vma_consistency", Violation("vma_consistency", "a run", thread=0), init, path)
    return json.loads(json.dumps(trace_json(trace)))


def _expected_vma_char(state: dict[str, Any], page: int) -> str:
    here = [v for v in state["vmas"] if v["status"] == "linked" and v["start"] <= page < v["end"]]
    if not here:
        return "."
    return "#" if len(here) > 1 else tag_char(here[0]["tag"])


@settings(max_examples=60, deadline=None)
@given(data=runs())
def test_the_strip_is_the_state_and_changed_means_changed(data: dict[str, Any]) -> None:
    view = build_view(data)
    states = [data["initial"]] + [st["state"] for st in data["steps"]]
    assert len(view.frames) == len(states)
    plans = {tuple(r.key for r in f.rows) for f in view.frames}
    assert len(plans) == 1, "every frame shows the same rows"
    span = data["model"]["pt_span"]
    for f, state in zip(view.frames, states):
        rows = {r.key: r for r in f.rows}
        assert [c.char for c in rows["vma"].cells] == [
            _expected_vma_char(state, p) for p in range(view.pages)
        ]
        assert [c.char for c in rows["pte"].cells] == [tag_char(t) if t else "." for t in state["ptes"]]
        assert [c.char for c in rows["ptab"].cells] == [
            "+" if g > 0 else "-" if g < 0 else "." for g in state["page_tables"]
        ]
        assert rows["ptab"].span == span and len(rows["ptab"].cells) * span == view.pages
        for key, row in rows.items():
            if key.startswith("held:"):
                tid = int(key[5:])
                for p, cell in enumerate(row.cells):
                    held = [
                        v
                        for v in state["vmas"]
                        if v["status"] == "detached" and v["owner"] == tid and v["start"] <= p < v["end"]
                    ]
                    assert (cell.char != ".") == bool(held)
        assert f.sem_mode == (
            "W"
            if state["mmap_sem"]["writer"] is not None
            else "R"
            if state["mmap_sem"]["readers"]
            else "free"
        )
    for before, after in zip(view.frames, view.frames[1:]):
        for rb, ra in zip(before.rows, after.rows):
            for cb, ca in zip(rb.cells, ra.cells):
                assert ca.changed == (cb.key != ca.key)
        assert after.sem_changed == (before.sem != after.sem)
        # a step that changed what a cell shows says so in its change list
        if any(r.changed for r in after.rows):
            assert after.changes


def test_the_race_frames_show_the_stack_growing_into_the_detached_range() -> None:
    view = race_view()
    assert view.nsteps == 12
    grow = view.frames[11]
    assert grow.thread == 1 and grow.label == "expand_stack"
    vma = next(r for r in grow.rows if r.key == "vma")
    assert "".join(c.char for c in vma.cells) == "...SSSSS"
    assert [p for p, c in enumerate(vma.cells) if c.changed] == [3, 4]
    held = next(r for r in grow.rows if r.key == "held:0")
    assert "".join(c.char for c in held.cells) == "..aa...."
    assert grow.changes == ["S [5,8) -> [3,8)"]
    assert grow.sem == "R by {T0,T1}"
    last = view.frames[-1]
    assert last.last and last.events == ["free_pgtables: freed page table 1 (pages 2-3), under linked S[3,8)"]
    ptab = next(r for r in last.rows if r.key == "ptab")
    assert [i for i, c in enumerate(ptab.cells) if c.fail] == [1]
    vma = next(r for r in last.rows if r.key == "vma")
    assert [p for p, c in enumerate(vma.cells) if c.fail] == [3, 4, 5, 6, 7]
    assert view.where[0] == "thread T0 munmap(start=2, len=2), last step free_pgtables (free_pgtables)"
    assert "vma S[3,8) GROWSDOWN" in view.where


@pytest.mark.parametrize("tid", [0, 1])
def test_thread_views_follow_the_lock(tid: int) -> None:
    view = race_view()
    for f in view.frames:
        th = f.threads[tid]
        sem = f.sem
        if th.lock == "W":
            assert sem == f"W by T{tid}"
        elif th.lock == "R":
            assert f"T{tid}" in sem and sem.startswith("R by")
        else:
            assert f"T{tid}" not in sem.split(";")[0]


USER_FILE = '''"""A user's variant file with a property of its own.

The property's explanation comes from this docstring: page 3 must never be mapped.
"""
from vmacheck.properties import Property
from vmacheck.protocol import Variant
from vmacheck.protocol.variants.downgrade_4_20 import VARIANT as BASE

VARIANT = Variant("mine", "4.20 under another name", munmap=BASE.munmap)


class NoPte3(Property):
    name = "no_pte_on_page_3"
    summary = "page 3 never has a PTE"

    def check_state(self, model, state):
        if state.ptes[3] is not None:
            return self.violation(f"page 3 has a PTE for {state.ptes[3]}", page=3, vma=state.ptes[3])
        return None


PROPERTY = NoPte3()
'''


def test_a_trace_of_no_steps_with_a_users_property(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A violation in the initial state: one frame, and the user's property explained."""
    vfile = tmp_path / "mine.py"
    vfile.write_text(USER_FILE)
    argv = ["check", str(vfile), "-s", "stack-below-growsdown", "-p", "no_pte_on_page_3", "-q", "--no-traces"]
    assert main([*argv, "--trace-dir", str(tmp_path)]) == 1
    trace = tmp_path / "mine--stack-below-growsdown--no_pte_on_page_3.json"
    capsys.readouterr()
    for form in ([], ["--compact"], ["--only-changes"], ["--html", str(tmp_path / "t.html")]):
        assert main(["show", str(trace), *form]) == 0
        out = capsys.readouterr().out
        assert "replayed" in out
        if not form:
            assert "0 steps" in out and "page 3 never has a PTE" in out
            assert "The property's explanation comes from this docstring" in out
            assert "page 3: A[2,4), PTE A, page table 1 (pages 2-3) allocated" in out
    html = (tmp_path / "t.html").read_text()
    assert html.count('<section class="frame') == 1 and "page 3 must never be mapped" in html
