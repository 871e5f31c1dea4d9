"""The search core seen from the command line: faults in a user's steps are one-line errors
naming the step (exit 2) with what was found before kept, a user variant that keeps vma
pointers across a dropped mmap_sem is checked (no crash) with the verdicts of an unreduced
exact search, and engine options are typed: one the chosen engine lacks is bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmacheck.checker.cli import main

STALE = Path(__file__).resolve().parents[1] / "checker" / "variants" / "stale_fault.py"

STEP_HEAD = """\
from vmacheck import Kernel, Program, Scenario, Variant, VmaSpec, oneof, thread
from vmacheck.protocol.syscalls.access import AccessFrame
from vmacheck.protocol.variants import baseline_4_19

access = Program("access", AccessFrame)
CALLS = [0]

"""
STEP_TAIL = """
@access.step("up_read")
def up_read(k: Kernel, t: AccessFrame) -> None:
    k.up_read()
    k.ret("ok")


VARIANT = Variant("mine", "x", baseline_4_19.VARIANT.munmap, overrides={"access": access})
SCENARIOS = [
    Scenario(
        "faults",
        "munmap and two faults",
        vmas=(VmaSpec("A", 2, 4),),
        threads=(
            thread("munmap", start=2, len=2),
            thread("access", addr=oneof(2, 3)),
            thread("access", addr=oneof(2, 3)),
        ),
    )
]
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _user_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.py"
    path.write_text(STEP_HEAD + body + STEP_TAIL)
    return path


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_nondeterministic_step_is_the_users_fault_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _user_file(
        tmp_path,
        '@access.step("down_read")\n'
        "def down_read(k: Kernel, t: AccessFrame) -> None:\n"
        "    CALLS[0] += 1\n"
        "    if CALLS[0] % 2:\n"
        "        k.bad_area(t.addr)\n"
        "    k.down_read()\n",
    )
    code, _, err = run(capsys, "check", str(path), "-s", "faults", "-q")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    line = _line_of(path, 'access.step("down_read")')
    assert f"step 'down_read' ({path}:{line})" in err and "not deterministic" in err


def test_a_step_that_tells_interchangeable_threads_apart_is_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _user_file(
        tmp_path,
        '@access.step("down_read")\n'
        "def down_read(k: Kernel, t: AccessFrame) -> None:\n"
        "    if k.tid == 1:\n"
        "        k.bad_area(t.addr)\n"
        "    k.down_read()\n",
    )
    out_json = tmp_path / "r.json"
    code, out, err = run(
        capsys, "check", str(path), "-s", "two-munmaps", "-s", "faults", "--json", str(out_json), "-q"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "step 'down_read'" in err and "--no-reduction" in err
    # what was found before the fault is kept: printed and written
    assert "mine / two-munmaps" in out
    assert [r["scenario"] for r in json.loads(out_json.read_text())["results"]] == ["two-munmaps"]
    # without the reductions the same variant is checked
    code, out, _ = run(capsys, "check", str(path), "-s", "faults", "--no-reduction", "-q", "--no-traces")
    assert code == 1 and "no_segv_on_mapped" in out


def test_stale_pointers_across_a_dropped_lock_get_the_unreduced_verdicts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    reduced, plain = tmp_path / "a.json", tmp_path / "b.json"
    code, _, err = run(capsys, "check", str(STALE), "--json", str(reduced), "-q", "--no-traces")
    assert code == 1 and err == ""
    code2, _, _ = run(
        capsys, "check", str(STALE), "--json", str(plain), "-q", "--no-traces", "--no-reduction", "--exact"
    )
    assert code2 == 1

    def verdicts(p: Path) -> list[object]:
        return [
            (r["scenario"], {n: (v["verdict"], v.get("trace_length")) for n, v in r["properties"].items()})
            for r in json.loads(p.read_text())["results"]
        ]

    assert verdicts(reduced) == verdicts(plain)
    assert any(
        v["verdict"] == "violated"
        for r in json.loads(reduced.read_text())["results"]
        for v in r["properties"].values()
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--depth", "5"],
            "--depth: the explicit engine has no such option (an option of the symbolic engine)",
        ),
        (["--seed", "3"], "--seed: the explicit engine has no such option (an option of the random engine)"),
        (
            ["--engine", "random", "--exact"],
            "--exact: the random engine has no such option (an option of the explicit engine)",
        ),
        (["--engine", "symbolic", "--examples", "3"], "--examples: the symbolic engine has no such option"),
    ],
)
def test_an_option_the_engine_does_not_have_is_bad_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "check", "baseline-4.19", "-s", "two-munmaps", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_options_the_engine_has_are_taken(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "baseline-4.19",
        "-s",
        "two-munmaps",
        "--engine",
        "random",
        "--seed",
        "3",
        "--examples",
        "5",
        "-q",
    )
    assert code in (0, 3) and "random" in out


def test_a_property_that_raises_is_the_users_fault_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "prop.py"
    path.write_text(
        "from vmacheck import Property, Variant\n"
        "from vmacheck.protocol.variants import baseline_4_19\n"
        "VARIANT = Variant('mine', 'x', baseline_4_19.VARIANT.munmap)\n"
        "class Boom(Property):\n"
        "    name = 'boom'\n"
        "    def check_state(self, model, state):\n"
        "        return state.vmas[99]\n"
        "P = Boom()\n"
    )
    code, _, err = run(capsys, "check", str(path), "-s", "two-munmaps", "-p", "boom", "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"property 'boom' check_state ({path}:7): IndexError" in err
