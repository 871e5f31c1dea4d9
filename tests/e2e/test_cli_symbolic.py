"""``--engine symbolic`` from the command line: verdicts, exit codes, traces that ``show``
replays, the proved verdict in JSON and in the compare matrix, bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.schemas import assert_valid_results, assert_valid_trace
from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.properties import shipped as shipped_properties
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_race_found_and_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "downgrade-4.20",
        "--engine",
        "symbolic",
        "--layout",
        "scenario",
        "-s",
        "stack-below-growsdown",
        "-p",
        "no_clobber",
        "-p",
        "no_pt_use_after_free",
        "--trace-dir",
        str(tmp_path),
        "--no-traces",
        "-q",
    )
    assert code == 1
    # the same shortest counterexamples as the explicit engine finds
    explicit = Search(
        Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["stack-below-growsdown"]),
        [shipped_properties()[n] for n in ("no_clobber", "no_pt_use_after_free")],
    ).run()
    for name in ("no_clobber", "no_pt_use_after_free"):
        length = explicit.properties[name].trace_length
        assert length is not None
        assert any(f"VIOLATED  {name}" in line and f"({length} steps)" in line for line in out.splitlines())
    trace = tmp_path / "downgrade-4.20--stack-below-growsdown--no_pt_use_after_free.json"
    data = json.loads(trace.read_text())
    assert_valid_trace(data)  # the published schema, by jsonschema itself
    assert data["engine"] == "symbolic"
    code, out, _ = run(capsys, "show", str(trace), "--compact")
    assert code == 0
    assert "symbolic engine" in out
    assert "replayed" in out
    assert "expand_stack" in out and "free_pgtables" in out


def test_proved_in_json_and_matrix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "r.json"
    code, out, _ = run(
        capsys,
        "check",
        "baseline-4.19",
        "--engine",
        "symbolic",
        "-s",
        "access-split-vma",
        "-p",
        "vma_consistency",
        "-p",
        "map_count_limit",
        "--json",
        str(out_json),
        "-q",
    )
    assert code == 0
    assert "proved" in out
    data = json.loads(out_json.read_text())
    assert_valid_results(data)
    (run_,) = data["results"]
    assert run_["engine"] == "symbolic"
    assert run_["properties"]["vma_consistency"]["verdict"] == "proved"
    code, out, _ = run(
        capsys,
        "compare",
        "--engine",
        "symbolic",
        "--variant",
        "baseline-4.19",
        "-s",
        "access-split-vma",
        "-p",
        "vma_consistency",
        "--markdown",
        "-",
        "-q",
    )
    assert code == 0
    assert "| `baseline-4.19` | proved |" in out


def test_depth_bound_gives_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "check",
        "baseline-4.19",
        "--engine",
        "symbolic",
        "-s",
        "access-split-vma",
        "--depth",
        "3",
        "--proof",
        "paths",
        "-q",
    )
    assert code == 3
    assert "raise --depth" in out
    assert "inductive invariant" not in out  # --proof paths: no invariant was tried


@pytest.mark.parametrize(
    "option,value",
    [
        ("--depth", "0"),
        ("--depth", "x"),
        ("--bits", "32"),
        ("--layout", "some"),
        ("--solver-timeout", "-1"),
        ("--proof", "magic"),
    ],
)
def test_bad_symbolic_options(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "baseline-4.19", "--engine", "symbolic", option, value])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert option in err
    assert "Traceback" not in err


def test_step_not_executable_symbolically(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "checker" / "variants" / "page_loop.py"
    code, out, _ = run(capsys, "check", str(path), "-s", "access-split-vma", "-q", "--no-traces")
    assert code == 0  # concretely the loop is harmless
    code, out, err = run(
        capsys, "check", str(path), "--engine", "symbolic", "-s", "access-split-vma", "-q", "--no-traces"
    )
    assert code == 3
    assert "not symbolically executable" in out
    assert "step 'find_vma'" in out and "page_loop.py" in out
    assert "Traceback" not in out + err
