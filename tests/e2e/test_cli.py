"""The command line end to end: exit codes, JSON output, bad input, user variant files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.schemas import assert_valid_results, assert_valid_trace
from vmacheck.checker.cli import main
from vmacheck.checker.report.trace import load_trace_json
from vmacheck.protocol.variants import shipped as shipped_variants

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in (
        "baseline-4.19",
        "downgrade-4.20",
        "downgrade-5.8",
        "stack-below-growsdown",
        "no_clobber",
        "explicit",
    ):
        assert name in out
    code, out, _ = run(capsys, "list", "--json")
    data = json.loads(out)
    assert {"variants", "scenarios", "properties", "engines"} <= set(data)


@pytest.mark.parametrize("variant", ["baseline-4.19", "downgrade-5.8"])
def test_fixed_variants_exit_0(capsys: pytest.CaptureFixture[str], variant: str) -> None:
    code, out, _ = run(capsys, "check", variant, "--quiet")
    assert code == 0, out
    assert "VIOLATED" not in out and "all" in out


def test_4_20_exits_1_and_writes_traces_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    code, out, _ = run(
        capsys, "check", "downgrade-4.20", "--trace-dir", str(tmp_path / "t"), "--json", str(out_json), "-q"
    )
    assert code == 1
    assert "Counterexample for no_pt_use_after_free" in out and "expand_stack" in out
    data = json.loads(out_json.read_text())
    assert_valid_results(data)  # the published schema, by jsonschema itself
    assert data["schema"] == 1
    for res in data["results"]:
        assert set(res) >= {"variant", "scenario", "engine", "properties", "stats"}
        assert set(res["stats"]) >= {"states", "transitions", "depth", "seconds", "peak_mb"}
        for name, pr in res["properties"].items():
            assert pr["verdict"] in {"holds", "violated", "unknown"}
            if pr["verdict"] == "violated":
                assert_valid_trace(json.loads(Path(pr["trace_file"]).read_text()))
                trace = load_trace_json(pr["trace_file"])
                assert trace["property"] == name and len(trace["steps"]) == pr["trace_length"]
    violated = {
        (r["scenario"], n)
        for r in data["results"]
        for n, p in r["properties"].items()
        if p["verdict"] == "violated"
    }
    assert ("stack-below-growsdown", "no_clobber") in violated
    assert ("stack-below-growsdown", "no_pt_use_after_free") in violated


def test_bound_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    code, out, _ = run(
        capsys,
        "check",
        "baseline-4.19",
        "-s",
        "two-munmaps",
        "--max-states",
        "5",
        "--json",
        str(out_json),
        "-q",
    )
    assert code == 3 and "unknown" in out
    data = json.loads(out_json.read_text())
    assert_valid_results(data)
    (result,) = data["results"]
    assert result["bound"] is not None
    assert {p["verdict"] for p in result["properties"].values()} == {"unknown"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "no-such-variant"], "unknown variant 'no-such-variant'"),
        (["check", "baseline-4.19", "-s", "nope"], "unknown scenario 'nope'"),
        (["check", "baseline-4.19", "-p", "nope"], "unknown property 'nope'"),
        (["check", "baseline-4.19", "--max-states", "0"], "--max-states: expected a positive whole number"),
        (["check", "baseline-4.19", "--timeout", "soon"], "--timeout: expected a positive number"),
        (["check", "baseline-4.19", "--engine", "quantum"], "invalid choice: 'quantum'"),
        (["check", "missing.py"], "missing.py: no such file"),
        (["show", "missing.json"], "missing.json: no such file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = (\n", ":1: syntax error"),
        ("import vmacheck\n", "defines no variant"),
        ("import protocol\n", ":1: 'protocol' is vmacheck's old package name: write `from vmacheck import"),
        ("import os\nfrom checker.testing import x\n", ":2: 'checker' is vmacheck's old package name"),
        ("raise RuntimeError('boom')\n", ":1: loading failed: RuntimeError: boom"),
        (
            "from vmacheck import Program, Variant\np = Program('munmap')\nVARIANT = Variant('v', 's', p)\n",
            "has no steps",
        ),
        (
            "from vmacheck import Frame, param\nclass F(Frame):\n    start: int = param()\n",
            ":2: frame F: parameter 'start' must be declared Final[...] = param()",
        ),
        (
            "from vmacheck import Frame\nclass F(Frame):\n    end: int\n    x: int = 3\n",
            ":2: frame F: 'x' has a value",
        ),
        (
            "from vmacheck import Program\nProgram('munmap', ('start', 'len'))\n",
            ":2: program munmap: the second argument is the Frame class",
        ),
    ],
)
def test_broken_variant_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, message: str
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(source)
    code, _, err = run(capsys, "check", str(path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_variant_that_crashes_while_checked_names_the_step(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "crash.py"
    path.write_text(
        "from typing import Final\n"
        "from vmacheck import Frame, Kernel, Program, Variant, param\n"
        "class MunmapFrame(Frame):\n"
        "    start: Final[int] = param()\n"
        "    len: Final[int] = param()\n"
        "p = Program('munmap', MunmapFrame)\n"
        "@p.step('down_write')\n"
        "def _(k: Kernel, t: MunmapFrame) -> None:\n"
        "    k.down_write()\n"
        "    t.vma = k.find_vma(t.start)  # mypy says so too\n"
        "VARIANT = Variant('crashy', 'uses an undeclared local', p)\n"
    )
    code, _, err = run(capsys, "check", str(path), "-s", "two-munmaps")
    assert code == 2
    assert "variant 'crashy', munmap step 'down_write'" in err and "no parameter or local 'vma'" in err


def test_user_variant_file_equal_to_a_shipped_one_gets_its_verdicts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = Path(shipped_variants()["downgrade-5.8"].file).read_text()
    path = tmp_path / "my_5_8.py"
    path.write_text(src.replace('name="downgrade-5.8"', 'name="my-5.8"'))
    mine = tmp_path / "mine.json"
    ref = tmp_path / "ref.json"
    assert run(capsys, "check", str(path), "--json", str(mine), "-q")[0] == 0
    assert run(capsys, "check", "downgrade-5.8", "--json", str(ref), "-q")[0] == 0

    def verdicts(p: Path) -> list[object]:
        return [
            (r["scenario"], r["properties"], r["stats"]["states"])
            for r in json.loads(p.read_text())["results"]
        ]

    strip = [(s, {n: v["verdict"] for n, v in props.items()}, n) for s, props, n in verdicts(mine)]
    assert strip == [(s, {n: v["verdict"] for n, v in props.items()}, n) for s, props, n in verdicts(ref)]


def test_user_file_may_define_scenarios_and_properties(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from vmacheck.protocol.variants.baseline_4_19 import munmap\n"
        "from vmacheck import Property, Variant, Scenario, VmaSpec, thread\n"
        "VARIANT = Variant('mine', 'baseline copy', munmap)\n"
        "SCENARIOS = [Scenario('tiny', 'one munmap', vmas=(VmaSpec('A', 0, 2),),"
        " threads=(thread('munmap', start=0, len=1),))]\n"
        "class NoPte0(Property):\n"
        "    name = 'no_pte_0'\n"
        "    summary = 'page 0 never mapped'\n"
        "    def check_state(self, model, state):\n"
        "        return self.violation('page 0 mapped', page=0) if state.ptes[0] else None\n"
        "P = NoPte0()\n"
    )
    code, out, _ = run(capsys, "check", str(path), "-s", "tiny", "-p", "no_pte_0", "-q")
    assert code == 1 and "no_pte_0" in out and "page 0 mapped" in out


def test_compare_markdown_is_deterministic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    md1, md2 = tmp_path / "a.md", tmp_path / "b.md"
    args = ["--variant", "baseline-4.19", "--variant", "downgrade-4.20", "-q"]
    assert run(capsys, "compare", *args, "--markdown", str(md1))[0] == 1
    run(capsys, "compare", *args, "--markdown", str(md2))
    assert md1.read_text() == md2.read_text()
    text = md1.read_text()
    assert "| `downgrade-4.20` |" in text and "**violated**" in text


def test_show_replays_a_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run(capsys, "check", "downgrade-4.20", "-s", "stack-below-growsdown", "--trace-dir", str(tmp_path), "-q")
    (trace,) = [p for p in tmp_path.iterdir() if "no_clobber" in p.name]
    code, out, _ = run(capsys, "show", str(trace))
    assert code == 0 and "replayed" in out and "expand_stack" in out


def test_console_script_and_piped_output() -> None:
    exe = shutil.which("vmacheck", path=str(Path(sys.executable).parent))
    assert exe is not None, "the console script is installed with the package"
    proc = subprocess.run(
        [exe, "check", "downgrade-4.20", "-s", "stack-below-growsdown", "--no-traces"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "\x1b[" not in proc.stdout  # no colour codes when piped
    assert "VIOLATED  no_clobber" in proc.stdout


def test_compare_markdown_to_stdout_is_markdown_alone(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "compare", "--variant", "baseline-4.19", "-s", "two-munmaps", "-q", "--markdown", "-"
    )
    assert code == 0
    assert out.startswith("| variant |") and "vmacheck compare" not in out
    assert "vmacheck compare" in err
