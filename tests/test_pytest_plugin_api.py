"""vmacheck.checker.testing, used directly: verdict assertions, names resolved or refused, the
strategy of schedules and the state machine of a model."""

from __future__ import annotations

import unittest

import pytest
from hypothesis import given, settings

from vmacheck.checker.testing import (
    Checker,
    VerdictError,
    assert_holds,
    assert_violates,
    check,
    explain,
    machine_for,
    model,
    schedules,
)
from vmacheck.protocol import VariantError


def test_assert_violates_returns_the_shortest_trace() -> None:
    trace = assert_violates("downgrade-4.20", "stack-below-growsdown", "no_clobber")
    assert len(trace) == 10 and trace.steps[-1].label == "unmap_region"
    with pytest.raises(VerdictError, match="at most 9 steps, got 10"):
        assert_violates("downgrade-4.20", "stack-below-growsdown", "no_clobber", max_length=9)
    with pytest.raises(VerdictError, match="expected to violate no_clobber .* holds"):
        assert_violates("downgrade-5.8", "stack-below-growsdown", "no_clobber")


def test_assert_holds_message_is_the_trace_and_a_bound_is_no_pass() -> None:
    with pytest.raises(VerdictError) as exc:
        assert_holds("downgrade-4.20", "stack-above-growsup", ["no_clobber"])
    text = str(exc.value)
    assert "Counterexample for no_clobber: downgrade-4.20 in scenario stack-above-growsup, 10 steps" in text
    assert exc.value.results and exc.value.results[0].violated
    with pytest.raises(VerdictError, match="unknown: stopped at max_states=5"):
        assert_holds("baseline-4.19", "stack-below-growsdown", max_states=5)
    results = assert_holds("baseline-4.19")  # every scenario that applies
    assert len(results) >= 7


def test_names_are_checked() -> None:
    with pytest.raises(VariantError, match="unknown variant 'nope'"):
        check("nope", "map-fixed")
    with pytest.raises(VariantError, match="unknown scenario 'nope'"):
        check("baseline-4.19", "nope")
    with pytest.raises(VariantError, match="unknown property 'nope'"):
        check("baseline-4.19", "map-fixed", ["nope"])
    with pytest.raises(VariantError, match="unknown engine 'nope'"):
        Checker(engine="nope").check("baseline-4.19", "map-fixed")


def test_random_engine_through_the_api() -> None:
    trace = assert_violates("downgrade-4.20", "stack-below-growsdown", "no_clobber", engine="random", seed=1)
    assert trace.engine == "random" and len(trace) == 10


M = model("downgrade-4.20", "stack-above-growsup")


@settings(max_examples=300, deadline=None, database=None)
@given(schedules(M, properties=["no_clobber"]))
def _find_clobber(schedule) -> None:  # type: ignore[no-untyped-def]
    if "no_clobber" in schedule.found:
        raise AssertionError(explain(M, schedule, "no_clobber"))


def test_schedules_strategy_fails_with_the_readable_trace() -> None:
    with pytest.raises(AssertionError, match="Counterexample for no_clobber"):
        _find_clobber()


@pytest.mark.slow
def test_state_machine_finds_the_race_and_tells_it() -> None:
    case = machine_for("downgrade-4.20", "stack-below-growsdown", ["no_pt_use_after_free"]).TestCase(
        "runTest"
    )
    result = unittest.TestResult()
    case.run(result)
    assert len(result.failures) == 1
    text = result.failures[0][1]
    assert "Counterexample for no_pt_use_after_free: downgrade-4.20 in scenario stack-below-growsdown" in text
    assert "state.T0_munmap__free_pgtables(" in text  # Hypothesis' rule listing: rules are steps
