"""docs/variants.md says what the tool says.

The doc has generated blocks between markers, each the output of a command named in the doc:

- ``<!-- vmacheck:matrix begin/end -->``: the file ``vmacheck compare --quiet --markdown FILE``
  writes, verbatim;
- ``<!-- vmacheck:trace VARIANT SCENARIO PROPERTY begin/end -->``: the counterexample
  ``vmacheck check VARIANT -s SCENARIO -p PROPERTY --trace-dir DIR`` writes, one line per step
  (the step and what it changed, as ``checker.render.changes`` words it).

The tests run those commands in-process, rebuild every block and compare. They also require a
trace block for every (variant, violated property) of the matrix — the shortest one, from the
scenario the matrix names — and check that each written trace replays on the model.

To regenerate after a change to the model:
``VMACHECK_UPDATE_DOCS=1 .venv/bin/python -m pytest tests/e2e/test_variants_doc.py`` rewrites
the generated blocks in place (the prose around them is left alone: reread it against the new
steps), then run the tests again without the variable.

The last test is the issue's user story: a copy of ``downgrade-4.20``'s file with the edit the
doc shows (5.8's check) gives exactly the verdicts of the shipped ``downgrade-5.8``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.schemas import assert_valid_results
from vmacheck.checker.cli import main as vmacheck
from vmacheck.checker.report.render import changes, sem_text, vma_legend
from vmacheck.checker.report.trace import load_trace_json, replay
from vmacheck.protocol import Model
from vmacheck.protocol.scenarios import shipped as shipped_scenarios
from vmacheck.protocol.variants import shipped as shipped_variants

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "variants.md"
UPDATE = os.environ.get("VMACHECK_UPDATE_DOCS") == "1"

MATRIX_RE = re.compile(r"(<!-- vmacheck:matrix begin -->\n)(.*?)(<!-- vmacheck:matrix end -->)", re.S)
TRACE_RE = re.compile(
    r"(<!-- vmacheck:trace (\S+) (\S+) (\S+) begin -->\n)(.*?)(<!-- vmacheck:trace end -->)", re.S
)


# --- the commands ---------------------------------------------------------------------------
@functools.cache
def compare_json(tmp: str) -> tuple[str, list[dict[str, Any]]]:
    """``vmacheck compare --quiet --markdown FILE --json FILE``: the Markdown and the results."""
    md, js = Path(tmp) / "matrix.md", Path(tmp) / "results.json"
    code = vmacheck(["compare", "--quiet", "--markdown", str(md), "--json", str(js)])
    assert code in (0, 1)
    results = json.loads(js.read_text())
    assert_valid_results(results)  # the published schema, by jsonschema itself
    return md.read_text(), results["results"]


def check_trace(tmp: Path, variant: str, scenario: str, prop: str) -> dict[str, Any]:
    """``vmacheck check VARIANT -s SCENARIO -p PROPERTY --trace-dir DIR``: the trace written."""
    out = tmp / f"{variant}-{scenario}-{prop}"
    code = vmacheck(
        ["check", variant, "-s", scenario, "-p", prop, "--trace-dir", str(out), "-q", "--no-traces"]
    )
    assert code == 1, f"{variant} {scenario} {prop}: expected a violation, exit {code}"
    (path,) = out.glob("*.json")
    return load_trace_json(path)


def trace_block(variant: str, scenario: str, prop: str, trace: dict[str, Any]) -> str:
    """The doc's rendering of one counterexample: one line per step."""
    threads = "; ".join(
        f"T{t['tid']} {t['syscall']}(" + ", ".join(f"{k}={v}" for k, v in t["args"].items()) + ")"
        for t in trace["model"]["threads"]
    )
    lines = [
        f"$ vmacheck check {variant} -s {scenario} -p {prop}",
        f"VIOLATED {prop} ({len(trace['steps'])} steps): {trace['violation']['message']}",
        f"threads: {threads}",
        f" 0. initial: {vma_legend(trace['initial'])}; mmap_sem {sem_text(trace['initial']['mmap_sem'])}",
    ]
    before = trace["initial"]
    for st in trace["steps"]:
        where = st["label"] + (f" ({st['kernel_function']})" if st["kernel_function"] != st["label"] else "")
        what = "; ".join(changes(before, st["state"])) or "no change"
        lines.append(f"{st['step']:>2}. T{st['thread']} {st['syscall']} {where}: {what}")
        before = st["state"]
    return "```\n" + "\n".join(lines) + "\n```\n"


def shortest_violations(results: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(variant, property) -> the scenario of its shortest counterexample (ties: by name),
    as the matrix reports it."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for res in results:
        for prop, pr in res["properties"].items():
            if pr["verdict"] == "violated":
                key = (res["variant"], prop)
                cand = (pr["trace_length"], res["scenario"])
                if key not in best or cand < best[key]:
                    best[key] = cand
    return {k: s for k, (_, s) in best.items()}


# --- the tests ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("variants-doc")


def test_matrix_is_the_tools_output(tmp: Path) -> None:
    text = DOC.read_text()
    m = MATRIX_RE.search(text)
    assert m, "docs/variants.md has no <!-- vmacheck:matrix begin --> ... end block"
    md, _ = compare_json(str(tmp))
    if UPDATE and m.group(2) != md:
        DOC.write_text(text[: m.start(2)] + md + text[m.end(2) :])
        text = DOC.read_text()
        m = MATRIX_RE.search(text)
        assert m
    assert m.group(2) == md, (
        "the matrix in docs/variants.md differs from `vmacheck compare --markdown`; "
        "regenerate with VMACHECK_UPDATE_DOCS=1 (see this test's docstring)"
    )


def test_every_violation_has_its_counterexample_in_the_doc(tmp: Path) -> None:
    _, results = compare_json(str(tmp))
    want = {(v, s, p) for (v, p), s in shortest_violations(results).items()}
    have = {(m.group(2), m.group(3), m.group(4)) for m in TRACE_RE.finditer(DOC.read_text())}
    assert want - have == set(), f"counterexamples missing from docs/variants.md: {sorted(want - have)}"
    assert have - want == set(), (
        f"docs/variants.md shows counterexamples that are not the shortest: {sorted(have - want)}"
    )


def test_counterexamples_are_the_tools_output(tmp: Path) -> None:
    text = DOC.read_text()
    stale = []
    pieces = []
    pos = 0
    for m in TRACE_RE.finditer(text):
        variant, scenario, prop = m.group(2), m.group(3), m.group(4)
        trace = check_trace(tmp, variant, scenario, prop)
        # the written trace replays on the model, step for step
        model = Model(shipped_variants()[variant], shipped_scenarios()[scenario])
        _, path, error = replay(model, trace)
        assert error is None and len(path) == len(trace["steps"]), f"{variant} {scenario} {prop}: {error}"
        block = trace_block(variant, scenario, prop, trace)
        if m.group(5) != block:
            stale.append(f"{variant} {scenario} {prop}")
        pieces.append(text[pos : m.start(5)] + block)
        pos = m.end(5)
    pieces.append(text[pos:])
    if UPDATE and stale:
        DOC.write_text("".join(pieces))
        stale = []
    assert not stale, (
        f"counterexamples in docs/variants.md differ from the tool's: {stale}; "
        "regenerate with VMACHECK_UPDATE_DOCS=1 (see this test's docstring)"
    )


def test_every_scenario_and_variant_is_described() -> None:
    text = DOC.read_text()
    for name in shipped_scenarios():
        assert f"| `{name}` |" in text, f"scenario {name} is missing from the doc's scenario table"
    for name in shipped_variants():
        assert f"\n## {name}\n" in text, f"variant {name} has no section in docs/variants.md"


def test_commands_in_the_doc_name_real_things() -> None:
    variants, scenarios = set(shipped_variants()), set(shipped_scenarios())
    for m in re.finditer(r"vmacheck check (\S+) -s (\S+)", DOC.read_text()):
        assert m.group(1) in variants, m.group(0)
        assert m.group(2) in scenarios, m.group(0)


# --- a user's file: 4.20 plus the 5.8 check equals 5.8 ----------------------------------------
def _apply_diff(source: str, diff: str) -> str:
    """Apply the doc's unified-diff hunks by exact text replacement."""
    for hunk in re.split(r"^@@.*@@$\n", diff, flags=re.M)[1:]:
        old, new = [], []
        for line in hunk.splitlines():
            tag, body = (line[:1], line[1:]) if line else (" ", "")  # a blank context line
            if tag in (" ", "-"):
                old.append(body)
            if tag in (" ", "+"):
                new.append(body)
        before, after = "\n".join(old) + "\n", "\n".join(new) + "\n"
        assert source.count(before) == 1, f"hunk does not apply:\n{before}"
        source = source.replace(before, after)
    return source


def test_user_copy_of_4_20_with_the_5_8_check_equals_5_8(tmp: Path) -> None:
    m = re.search(r"```diff\n(.*?)```", DOC.read_text(), re.S)
    assert m, "docs/variants.md shows no ```diff block for the user-file example"
    mine = tmp / "my_variant.py"
    shutil.copy(ROOT / "protocol" / "variants" / "downgrade_4_20.py", mine)
    mine.write_text(_apply_diff(mine.read_text(), m.group(1)))
    out = tmp / "mine.json"
    code = vmacheck(
        ["compare", "--quiet", "--variant", str(mine), "--variant", "downgrade-5.8", "--json", str(out)]
    )
    assert code == 0
    results = json.loads(out.read_text())["results"]
    by_variant: dict[str, dict[str, Any]] = {}
    for res in results:
        by_variant.setdefault(res["variant"], {})[res["scenario"]] = {
            p: (r["verdict"], r.get("trace_length")) for p, r in res["properties"].items()
        }
    assert set(by_variant) == {"my-downgrade-5.8", "downgrade-5.8"}
    assert by_variant["my-downgrade-5.8"] == by_variant["downgrade-5.8"]
