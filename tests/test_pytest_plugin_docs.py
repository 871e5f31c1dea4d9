"""docs/pytest.md's examples are run as they are documented: each example is a test file in a
fresh directory outside this project, run by pytest with only vmacheck installed (its plugin
is loaded by the ``pytest11`` entry point). Examples marked ``passes`` pass; the one marked
``fails`` fails on downgrade-4.20 with the readable trace the page shows."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from vmacheck.checker.report.trace import load_trace_json, replay
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "pytest.md"


def examples() -> list[tuple[str, str]]:
    return re.findall(r"<!-- example: (passes|fails) -->\n```python\n(.*?)```", DOC.read_text(), re.S)


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def doc_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = tmp_path_factory.mktemp("fresh-project")
    for i, (_kind, code) in enumerate(examples()):
        (project / f"test_example_{i}.py").write_text(code)
    return project, run_pytest(project, "--vmacheck-trace-dir", "traces")


def test_the_page_has_examples_of_both_kinds() -> None:
    kinds = [k for k, _ in examples()]
    assert kinds.count("fails") == 1 and kinds.count("passes") >= 5


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    eps = importlib.metadata.entry_points(group="pytest11")
    assert any(ep.value == "vmacheck.checker.pytest_plugin" for ep in eps)


def test_examples_behave_as_documented(doc_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _project, run = doc_run
    for i, (kind, _code) in enumerate(examples()):
        outcomes = re.findall(rf"^(PASSED|FAILED|ERROR) test_example_{i}\.py", run.stdout, re.M)
        assert outcomes, f"example {i} did not run:\n{run.stdout[-3000:]}"
        want = "FAILED" if kind == "fails" else "PASSED"
        assert set(outcomes) == {want}, f"example {i} ({kind}): {outcomes}\n{run.stdout[-3000:]}"
    assert run.returncode == 1


def test_failing_example_shows_the_readable_trace(
    doc_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _project, run = doc_run
    out = run.stdout
    for line in (
        "downgrade-4.20 violates no_pt_use_after_free in scenario stack-below-growsdown",
        "Counterexample for no_pt_use_after_free: downgrade-4.20 in scenario stack-below-growsdown, 12 steps",
        "T0 freed page table 1 (pages 2-3) with linked S[3,8) over it",
        "11. T1 access(addr=3): expand_stack",
        "changes: S [5,8) -> [3,8)",
        "12. T0 munmap(start=2, len=2): free_pgtables",
    ):
        assert line in out
        assert line in DOC.read_text()  # the page shows what the tool prints
    # pytest shows the test's own line, not vmacheck's internals
    assert "checker/testing.py" not in out.split("short test summary")[0]


def test_trace_dir_traces_replay_and_show(doc_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _run = doc_run
    path = project / "traces" / "downgrade-4.20--stack-below-growsdown--no_pt_use_after_free.json"
    data = load_trace_json(path)
    model = Model(shipped_variants()["downgrade-4.20"], shipped_scenarios()["stack-below-growsdown"])
    assert replay(model, data)[2] is None
    shown = subprocess.run(
        [sys.executable, "-m", "vmacheck", "show", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0 and "replayed" in shown.stdout


def test_plugin_options_set_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "test_opts.py").write_text(
        "from vmacheck.checker import testing\n\n"
        "def test_defaults(vmacheck):\n"
        "    assert vmacheck is testing.DEFAULT\n"
        "    assert (vmacheck.engine, vmacheck.seed, vmacheck.examples) == ('random', 7, 30)\n"
    )
    run = run_pytest(
        tmp_path, "--vmacheck-engine", "random", "--vmacheck-seed", "7", "--vmacheck-examples", "30"
    )
    assert run.returncode == 0, run.stdout
    assert "vmacheck: engine=random, seed=7, examples=30" in run.stdout
