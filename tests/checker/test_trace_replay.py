"""Replaying traces on the model: every trace an engine writes replays exactly; a trace the
model no longer produces is shown with a warning saying where (the model changed), or is bad
input (the same model never produced it: the file is inconsistent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schemas import assert_valid_trace
from vmacheck.checker.cli import main
from vmacheck.checker.core.trace import build_trace
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import Catalogue, resolve_variant
from vmacheck.checker.report.trace import (
    model_digest,
    replay,
    replay_trace,
    trace_json,
    validate_trace,
)
from vmacheck.checker.report.viewer.verify import DIVERGED, NOT_REPLAYED, REPLAYED, verify
from vmacheck.properties import Violation
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

VARIANT_FILE = Path(__file__).with_name("test_trace_variants.py")
PAIRS = [
    (v, s)
    for v in shipped_variants()
    for s, sc in shipped_scenarios().items()
    if sc.exhaustive and sc.applies_to(v)
]


def _model(variant: str, scenario: str) -> Model:
    return Model(shipped_variants()[variant], shipped_scenarios()[scenario])


def _violations(model: Model) -> dict[str, Any]:
    res = Search(model, list(shipped_properties().values())).run()
    return {p.name: p for p in res.violated}


def race() -> dict[str, Any]:
    model = _model("downgrade-4.20", "stack-below-growsdown")
    return trace_json(_violations(model)["no_pt_use_after_free"].trace)


# --- what engines write replays -------------------------------------------------------------------
@pytest.mark.parametrize(("variant", "scenario"), PAIRS)
def test_every_shipped_counterexample_validates_replays_and_is_judged_again(
    variant: str, scenario: str
) -> None:
    model = _model(variant, scenario)
    for name, pr in _violations(model).items():
        data = json.loads(json.dumps(trace_json(pr.trace)))  # as read back from a file
        assert_valid_trace(data)  # the published schema, by jsonschema itself
        validate_trace(data)
        assert data["model"]["digest"] == model_digest(model)
        init, path, problem = replay(model, data)
        assert problem is None and len(path) == len(data["steps"]), name
        checked = verify(data)
        assert checked.status == REPLAYED and f"{name} still fails" in checked.note


def _walk_strategy(model: Model, max_steps: int) -> st.SearchStrategy[tuple[Any, list[Any]]]:
    """A random run of the model: an initial state and up to ``max_steps`` transitions."""

    @st.composite
    def walk(draw: st.DrawFn) -> tuple[Any, list[Any]]:
        inits = model.initial_states()
        state = inits[draw(st.integers(0, len(inits) - 1))]
        init, path = state, []
        for _ in range(draw(st.integers(0, max_steps))):
            succ = model.successors(state)
            if not succ:
                break
            tr = succ[draw(st.integers(0, len(succ) - 1))]
            path.append(tr)
            state = tr.state
        return init, path

    return walk()


@pytest.mark.parametrize(
    ("variant", "scenario"),
    [
        ("downgrade-4.20", "stack-below-growsdown"),
        ("baseline-4.19", "two-munmaps"),
        ("downgrade-5.8", "map-fixed"),
    ],
)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_run_round_trips_through_json_and_replays(
    variant: str, scenario: str, data: st.DataObject
) -> None:
    """Not only counterexamples: every run of the model, written as a trace and read back,
    passes validation and replays to the same transitions."""
    model = _model(variant, scenario)
    init, path = data.draw(_walk_strategy(model, 30))
    trace = build_trace(model, "vma_consistency", Violation("vma_consistency", "a run"), init, path)
    doc = json.loads(json.dumps(trace_json(trace)))
    assert_valid_trace(doc)
    validate_trace(doc)
    r = replay_trace(model, doc)
    assert r.problem is None
    assert [(t.tid, t.label, t.state) for t in r.path] == [(t.tid, t.label, t.state) for t in path]


# --- a trace the model does not produce ---------------------------------------------------------
def _write(tmp_path: Path, data: dict[str, Any], name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _show(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["show", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_edited_state_is_an_inconsistent_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = race()
    data["steps"][10]["state"]["vmas"][1]["start"] = 4  # the stack grew one page less than it does
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert code == 2
    assert err.strip().endswith(
        "inconsistent trace: step 11 (T1 expand_stack): the model reaches a different state"
        " (vma #1: S[4,8) GROWSDOWN linked in the trace, S[3,8) GROWSDOWN linked in the model)"
    )


def test_an_edited_event_is_an_inconsistent_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = race()
    data["steps"][6]["events"][1]["page"] = 2  # step 7 zapped pages 2 and 3, not 2 twice
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert (
        code == 2 and "step 7 (T0 unmap_region): its primitives record different events in the model" in err
    )
    data = race()
    data["steps"][6]["kernel_function"] = "zap_page_range"
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert code == 2 and "it models unmap_vmas, the trace says zap_page_range" in err


def test_a_step_the_model_cannot_take_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = race()
    data["steps"][0]["choices"] = [1]
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert code == 2 and "step 1 (T0 down_write): the model cannot take this step here" in err


def test_an_edited_violation_is_an_inconsistent_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = race()
    data["violation"]["vma"] = "A"
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert code == 2 and "the model produces its steps but no_pt_use_after_free now reports:" in err
    data = race()
    data["steps"] = data["steps"][:-1]  # stop one step before the page table is freed
    code, _, err = _show(capsys, str(_write(tmp_path, data)))
    assert code == 2 and "no_pt_use_after_free no longer fails at its end" in err


def test_without_a_digest_a_mismatch_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = race()
    del data["model"]["digest"]  # as written before digests existed
    data["steps"][10]["state"]["vmas"][1]["start"] = 4
    code, out, _ = _show(capsys, str(_write(tmp_path, data)))
    assert code == 0
    assert "WARNING: the model no longer produces this trace (the trace records no model digest)" in out


def _user_trace(tmp_path: Path) -> tuple[Path, Path]:
    """A deadlock trace written from a copy of the test variant file."""
    vfile = tmp_path / "my_variant.py"
    shutil.copy(VARIANT_FILE, vfile)
    cat = Catalogue.shipped()
    variant = next(v for v in resolve_variant(str(vfile), cat) if v.name == "viewer-test-upgrade")
    res = Search(Model(variant, cat.scenarios["two-munmaps"]), list(shipped_properties().values())).run()
    trace = {p.name: p for p in res.violated}["deadlock_free"].trace
    data = trace_json(trace)
    assert data["variant_file"] == str(vfile)
    return vfile, _write(tmp_path, data, "deadlock.json")


def test_a_changed_variant_file_is_reported_where_the_trace_departs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vfile, trace = _user_trace(tmp_path)
    code, out, _ = _show(capsys, str(trace))
    assert code == 0 and "replayed: the current model produces this trace" in out
    # The developer edits the variant: the upgrade step no longer waits.
    text = vfile.read_text()
    fixed = text.replace("k.upgrade_read()", "pass")
    assert fixed != text
    vfile.write_text(fixed)
    code, out, _ = _show(capsys, str(trace))
    assert code == 0
    assert "WARNING: the model no longer produces this trace (its digest is not the current model's" in out
    assert "(T0 upgrade_read): the model reaches a different state" in out or "cannot take" in out


def test_a_missing_variant_file_means_not_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vfile, trace = _user_trace(tmp_path)
    vfile.unlink()
    code, out, _ = _show(capsys, str(trace))
    assert code == 0 and "not replayed: variant file" in out and "no such file" in out
    data = json.loads(trace.read_text())
    assert verify(data).status == NOT_REPLAYED


def test_no_replay_option_does_not_import_the_variant_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vfile, trace = _user_trace(tmp_path)
    vfile.write_text("raise SystemExit('imported!')\n")
    code, out, _ = _show(capsys, str(trace), "--no-replay")
    assert code == 0 and "not replayed: --no-replay" in out


def test_verify_reports_divergence_as_a_status(tmp_path: Path) -> None:
    data = race()
    data["model"]["digest"] = "sha256:0"  # written by some other version of the model
    data["steps"][10]["state"]["vmas"][1]["start"] = 4
    checked = verify(data)
    assert checked.status == DIVERGED and not checked.ok
    data = race()
    data["model"]["digest"] = "sha256:0"
    assert verify(data).status == REPLAYED  # the same steps: nothing to warn about


def test_a_trace_of_another_scenario_departs_at_step_0() -> None:
    data = race()
    other = _model("downgrade-4.20", "stack-above-growsup")
    r = replay_trace(other, data)
    assert r.step == 0 and r.problem is not None
    assert "initial state is not one of the model's (vma #0: A[2,4) linked in the trace" in r.problem
    fewer_pages = _model("downgrade-4.20", "stack-below-growsdown")
    data["model"]["max_map_count"] = 9
    r = replay_trace(fewer_pages, data)
    assert (
        r.step == 0
        and r.problem == "the model is not the trace's: the scenario now has max_map_count = 8, the trace 9"
    )
