"""Syscall programs, the model's transition relation and commit semantics."""

from __future__ import annotations

from typing import Any, Final

import pytest

from tests.builders import scratch_model
from vmacheck.protocol import (
    Frame,
    Kernel,
    Model,
    Program,
    Ptr,
    Scenario,
    Variant,
    VariantError,
    VmaSpec,
    VmaView,
    oneof,
    param,
    thread,
)
from vmacheck.protocol.state import LINKED
from vmacheck.protocol.syscalls.common import RangeArgs


class XFrame(RangeArgs):
    x: int


class VmaXFrame(RangeArgs):
    vma: Ptr[VmaView]
    x: int
    retval: int | str


def _variant(prog: Program[Any]) -> Variant:
    return Variant("t", "test", prog)


def _model(prog: Program[Any], **args: Any) -> Model:
    sc = Scenario("t", "test", vmas=(VmaSpec("A", 0, 4),), threads=(thread("munmap", **args),))
    return Model(_variant(prog), sc)


def test_oneof_arguments_make_one_initial_state_each() -> None:
    sc = Scenario(
        "t",
        "t",
        vmas=(VmaSpec("A", 0, 4),),
        threads=(thread("munmap", start=oneof(0, 1), len=oneof(1, 2, 3)), thread("munmap", start=0, len=1)),
    )
    model = Model(scratch_model().variant, sc)
    inits = model.initial_states()
    assert len(inits) == 6
    assert {th.locals[:2] for s in inits for th in s.threads[:1]} == {
        (a, b) for a in (0, 1) for b in (1, 2, 3)
    }


def test_errors_name_the_step() -> None:
    prog = Program("munmap", XFrame)

    @prog.step("first")
    def _first(k: Kernel, t: XFrame) -> None:
        t.y = 1  # type: ignore[attr-defined]  # the model says so too

    with pytest.raises(VariantError, match=r"munmap step 'first'.*no parameter or local 'y'"):
        _model(prog, start=0, len=1).successors(_model(prog, start=0, len=1).initial_states()[0])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (lambda k, t: setattr(t, "start", 3), "parameter 'start' is read-only"),
        (lambda k, t: k.goto("nowhere"), "goto to unknown step 'nowhere'"),
        (lambda k, t: None, "falls off the end"),
        (lambda k, t: 1 / 0, "ZeroDivisionError"),
        (lambda k, t: setattr(t, "x", object()), "cannot hold a object"),
    ],
)
def test_malformed_steps(body: Any, message: str) -> None:
    prog = Program("munmap", XFrame)
    prog.step("only")(body)
    model = _model(prog, start=0, len=1)
    with pytest.raises(VariantError, match=message):
        model.successors(model.initial_states()[0])


def test_duplicate_labels_and_names_are_rejected() -> None:
    with pytest.raises(VariantError, match="declared twice"):
        Program("munmap", params=("a",), locals=("a",))
    with pytest.raises(VariantError, match="frame Twice: parameter 'start' is declared twice"):

        class Twice(RangeArgs):
            start: int  # type: ignore[misc]

    prog = Program("munmap")
    prog.step("x")(lambda k, t: None)
    with pytest.raises(VariantError, match="defined twice"):
        prog.step("x")(lambda k, t: None)


def test_wrong_arguments_are_rejected() -> None:
    prog = Program("munmap", RangeArgs)
    prog.step("x")(lambda k, t: k.ret(0))
    with pytest.raises(VariantError, match="unknown argument.*missing argument"):
        _model(prog, start=0, length=1).initial_states()


def test_choose_explores_every_option_and_blocked_steps_are_disabled() -> None:
    prog = Program("munmap", XFrame)

    @prog.step("pick")
    def _pick(k: Kernel, t: XFrame) -> None:
        t.x = k.choose([10, 20, 30])
        if t.x == 20:
            k.choose([])  # no option: this branch cannot run
        k.ret(t.x)

    model = _model(prog, start=0, len=1)
    succ = model.successors(model.initial_states()[0])
    assert sorted(tr.state.threads[0].result for tr in succ) == [10, 30]
    assert sorted(tr.choices for tr in succ) == [(0,), (2,)]


def test_queued_lock_step_commits_only_the_queue() -> None:
    model = scratch_model()
    prog = Program("munmap", VmaXFrame)

    @prog.step("lock")
    def _lock(k: Kernel, t: VmaXFrame) -> None:
        k.down_write()
        t.x = 1

    @prog.step("unlock")
    def _unlock(k: Kernel, t: VmaXFrame) -> None:
        k.up_write()
        k.ret(0)

    model = Model(_variant(prog), model.scenario)
    s0 = model.initial_states()[0]
    (a, b) = model.successors(s0)
    assert a.state.sem.writer == 0 and a.state.threads[0].pc == 1 and a.state.threads[0].locals[3] == 1
    (queued,) = [tr for tr in model.successors(a.state) if tr.tid == 1]
    assert queued.state.sem.waiters == ((1, "W"),) and queued.state.threads[1] == a.state.threads[1]
    assert [tr.tid for tr in model.successors(queued.state)] == [0]  # T1 is blocked


def test_commit_takes_the_snapshot_when_the_lock_is_first_held() -> None:
    prog = Program("munmap", RangeArgs)

    @prog.step("lock")
    def _lock(k: Kernel, t: RangeArgs) -> None:
        k.down_read()

    @prog.step("unlock")
    def _unlock(k: Kernel, t: RangeArgs) -> None:
        k.up_read()
        k.ret(0)

    model = _model(prog, start=0, len=1)
    s0 = model.initial_states()[0]
    assert s0.threads[0].snapshot is None
    (tr,) = model.successors(s0)
    assert tr.state.threads[0].snapshot == frozenset({"A"})
    assert all(v.status == LINKED for v in tr.state.vmas)


def test_serial_successors_run_one_syscall_at_a_time() -> None:
    model = scratch_model()
    s0 = model.initial_states()[0]
    assert {tr.tid for tr in model.serial_successors(s0)} == {0, 1}
    (tr,) = [tr for tr in model.serial_successors(s0) if tr.tid == 0]
    assert {t.tid for t in model.serial_successors(tr.state)} == {0}


def test_scenario_validation() -> None:
    bad = [
        Scenario(
            "s",
            "",
            vmas=(VmaSpec("A", 0, 4), VmaSpec("B", 3, 5)),
            threads=(thread("munmap", start=0, len=1),),
        ),
        Scenario("s", "", vmas=(VmaSpec("A", 0, 9),), threads=(thread("munmap", start=0, len=1),)),
        Scenario(
            "s",
            "",
            vmas=(VmaSpec("A", 0, 4, flags=("VM_BOGUS",)),),
            threads=(thread("munmap", start=0, len=1),),
        ),
        Scenario("s", "", vmas=(), threads=()),
        Scenario("s", "", vmas=(), threads=(thread("munmap", start=0, len=1),), pages=7, pt_span=2),
    ]
    for sc in bad:
        with pytest.raises(VariantError, match="scenario 's'"):
            sc.validate()


def test_snapshot_is_what_was_mapped_before_the_first_locked_step() -> None:
    prog = Program("munmap", VmaXFrame)

    @prog.step("lock_and_detach")
    def _go(k: Kernel, t: VmaXFrame) -> None:
        k.down_write()
        t.vma = k.find_vma(t.start)
        k.detach_vmas_to_be_unmapped(t.vma, t.start + t.len)

    @prog.step("unlock")
    def _unlock(k: Kernel, t: VmaXFrame) -> None:
        k.up_write()
        k.ret(0)

    model = _model(prog, start=0, len=4)
    (tr,) = model.successors(model.initial_states()[0])
    assert tr.state.threads[0].snapshot == frozenset({"A"})


# --- frames: the typed declaration of a program's parameters and locals ----------------------
class Base(Frame):
    start: Final[int] = param()
    end: int


class Derived(Base):
    count: Final[int] = param()
    vma: Ptr[VmaView]


def test_a_frame_declares_parameters_first_then_locals_in_order() -> None:
    prog = Program("munmap", Derived)
    assert (prog.params, prog.local_names) == (("start", "count"), ("end", "vma"))
    assert prog.frame is Derived
    # the old form declares the same program
    old = Program("munmap", params=("start", "count"), locals=("end", "vma"))
    assert (old.params, old.local_names, old.frame) == (prog.params, prog.local_names, None)


def test_a_frame_takes_names_from_every_base() -> None:
    class Retval(Frame):
        retval: int | str

    class Both(RangeArgs, Retval):
        vma: Ptr[VmaView]

    assert (Both.__params__, Both.__locals__) == (("start", "len"), ("retval", "vma"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"__annotations__": {"start": "int"}, "start": param()}, "parameter 'start' must be declared Final"),
        ({"__annotations__": {"end": "Final[int]"}}, "local 'end' is Final"),
        ({"__annotations__": {"end": "int"}, "end": 0}, "'end' has a value"),
        ({"helper": lambda self: 0}, "'helper' is neither a parameter nor a local"),
        ({"__annotations__": {"frozen": "int"}}, "'frozen' cannot be a parameter or local"),
    ],
)
def test_malformed_frames_are_rejected(body: dict[str, Any], message: str) -> None:
    with pytest.raises(VariantError, match=f"frame Bad: {message}"):
        type("Bad", (Frame,), dict(body))


def test_a_program_needs_a_frame_class() -> None:
    with pytest.raises(VariantError, match="the second argument is the Frame class"):
        Program("munmap", ("start", "len"))  # type: ignore[call-overload]
    with pytest.raises(VariantError, match="not both"):
        Program("munmap", RangeArgs, params=("x",))  # type: ignore[call-overload]


def test_steps_run_with_the_frame_names_and_reject_writes_to_parameters() -> None:
    prog = Program("munmap", VmaXFrame)

    @prog.step("only")
    def _only(k: Kernel, t: VmaXFrame) -> None:
        t.x = t.start + t.len
        t.start = 9  # type: ignore[misc]  # Final: mypy says so too

    model = _model(prog, start=1, len=2)
    with pytest.raises(VariantError, match="step 'only'.*parameter 'start' is read-only"):
        model.successors(model.initial_states()[0])
