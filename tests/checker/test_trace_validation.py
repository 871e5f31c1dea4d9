"""Reading trace files: whatever the file holds, ``vmacheck show`` either shows a trace or
says in one line what is wrong with it (exit 2), never a traceback.

Hypothesis generates the bad inputs: every truncation of a real trace, arbitrary JSON
documents, and single mutations (a value replaced, a key or a list element removed) anywhere
in a real trace. A mutation of anything the model determines (a state, a step, the thread
arguments, the violation) must be caught: by the schema, by the model-free consistency
checks, or by replaying the trace on the model that wrote it.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vmacheck.checker.cli import main
from vmacheck.checker.engines.explicit import Search
from vmacheck.checker.loader import Catalogue, resolve_variant
from vmacheck.checker.report.trace import TraceError, canonical, load_trace_json, trace_json, validate_trace
from vmacheck.protocol import Model

VARIANT_FILE = str(Path(__file__).with_name("test_trace_variants.py"))


@functools.cache
def _trace_text(spec: str, name: str, scenario: str, prop: str) -> str:
    cat = Catalogue.shipped()
    variant = next(v for v in resolve_variant(spec, cat) if v.name == name)
    res = Search(Model(variant, cat.scenarios[scenario]), [cat.properties[prop]]).run()
    return json.dumps(trace_json(res.properties[prop].trace), indent=1) + "\n"


def race_text() -> str:
    """The 4.20 stack race: munmap frees a page table the stack grew over (12 steps)."""
    return _trace_text("downgrade-4.20", "downgrade-4.20", "stack-below-growsdown", "no_pt_use_after_free")


def deadlock_text() -> str:
    """Three threads, two queued on mmap_sem and an upgrader: a deadlock (user variant file)."""
    return _trace_text(VARIANT_FILE, "viewer-test-upgrade", "viewer-three-threads", "deadlock_free")


def show(path: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    code = main(["show", str(path), *(options or ("--compact",))])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vmacheck: error: "), err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


# --- files that are not traces ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a UTF-8 text file"),
        (b"hello world\n", "not JSON (Expecting value at line 1, column 1)"),
        (b"[1, 2, 3]\n", "the top level is not a JSON object"),
        (b'{"name": "left-pad", "version": "1.3.0"}\n', 'no "format": "vmacheck-trace"'),
        (
            b'{"format": "vmacheck-trace", "schema": 2}\n',
            "unknown trace schema 2 (this vmacheck reads schema 1)",
        ),
        (b'{"format": "vmacheck-trace", "schema": "1"}\n', 'unknown trace schema "1"'),
        (b'{"format": "vmacheck-trace", "schema": true}\n', "unknown trace schema true"),
        (b'{"format": "vmacheck-trace", "schema": 1}\n', ": variant: missing"),
        (b"[[[[", "truncated"),
        (b"[" * 100000, "nested too deeply"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    ],
)
def test_files_that_are_not_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fragment: str
) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    code, _, err = show(path, capsys)
    assert_one_line_error(code, err, str(path), fragment)


def test_missing_file_and_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = show(tmp_path / "nope.json", capsys)
    assert_one_line_error(code, err, "nope.json: no such file")
    code, _, err = show(tmp_path, capsys)
    assert_one_line_error(code, err, "is a directory")


def test_a_real_trace_loads_and_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "race.json"
    path.write_text(race_text())
    code, out, err = show(path, capsys)
    assert code == 0 and not err, err
    assert "replayed" in out


def _extended(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with keys of a tool's own added at every level of the format."""
    data = copy.deepcopy(data)
    data["solver_seconds"] = 0.25
    data["violation"]["hint"] = "look at T0"
    data["model"]["comment"] = "extended"
    data["model"]["threads"][0]["comment"] = "extended"
    data["initial"]["annotation"] = {"by": "my-tool"}
    step = data["steps"][-1]
    step["z3_model"] = {"k": 3}
    step["events"][0]["cycles"] = 12
    state = step["state"]
    state["annotation"] = [1, 2]
    state["vmas"][0]["color"] = "red"
    state["mmap_sem"]["owner_cpu"] = 1
    state["threads"][0]["cpu"] = 2
    (pointer,) = [v for v in state["threads"][1]["locals"].values() if isinstance(v, dict)]
    pointer["label"] = "the stack"
    return data


@pytest.mark.parametrize("form", ["--compact", "--only-changes", "--html"])
def test_extra_keys_are_allowed_and_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    """Tools may extend schema 1 with keys of their own, anywhere (docs/trace-format.md):
    the trace validates, replays on the model that wrote it, and shows as without them."""
    data = json.loads(race_text())
    extended = _extended(data)
    assert canonical(extended) != canonical(data)
    validate_trace(extended)
    path = tmp_path / "x.json"
    path.write_text(json.dumps(extended))
    plain = tmp_path / "plain.json"
    plain.write_text(race_text())
    options = [form, str(tmp_path / "out.html")] if form == "--html" else [form]
    code, out, err = show(path, capsys, *options)
    assert code == 0 and not err, err
    assert "replayed: the current model produces this trace step by step" in out
    if form == "--html":
        html = (tmp_path / "out.html").read_text()
        assert show(plain, capsys, *options)[0] == 0
        assert (tmp_path / "out.html").read_text() == html
    else:
        assert show(plain, capsys, *options) == (0, out, "")


def test_load_drops_the_keys_schema_1_does_not_define(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps(_extended(json.loads(race_text()))))
    assert load_trace_json(path) == json.loads(race_text())


# --- truncation -------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10**9))
def test_every_truncation_is_reported_as_truncated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int
) -> None:
    text = race_text()
    body = text.rstrip()
    cut = cut % len(body)  # every proper prefix of the document
    path = tmp_path / "cut.json"
    path.write_text(text[:cut])
    code, _, err = show(path, capsys)
    assert_one_line_error(code, err, "cut.json")
    if text[:cut].strip():
        assert "truncated" in err


# --- arbitrary JSON ------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
TRACEISH_KEYS = [
    "format",
    "schema",
    "variant",
    "scenario",
    "property",
    "violation",
    "model",
    "initial",
    "steps",
]


@settings(max_examples=200, deadline=None)
@given(
    doc=st.one_of(
        JSON,
        st.fixed_dictionaries({"format": st.just("vmacheck-trace"), "schema": st.just(1)}).flatmap(
            lambda base: st.dictionaries(st.sampled_from(TRACEISH_KEYS), JSON).map(lambda d: {**d, **base})
        ),
    )
)
def test_arbitrary_json_is_rejected_with_a_trace_error(doc: Any) -> None:
    with pytest.raises(TraceError) as info:
        validate_trace(doc)
    assert "\n" not in str(info.value)


# --- mutations of real traces -------------------------------------------------------------------
Path_ = tuple[Any, ...]


def _paths(value: Any, prefix: Path_ = ()) -> list[Path_]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, prefix + (i,))
    return out


def _part(path: Path_) -> tuple[Any, ...]:
    """Which part of a trace a path is in: a top-level key, or a step's key (its state, its
    events, its label...), so that rare but important parts are mutated as often as states."""
    if path[0] == "steps" and len(path) > 2:
        return ("steps", path[2])
    return path[:1]


@functools.cache
def _doc_and_paths(which: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], list[Path_]]]:
    doc = json.loads(race_text() if which == "race" else deadlock_text())
    parts: dict[tuple[Any, ...], list[Path_]] = {}
    for p in _paths(doc):
        if p:
            parts.setdefault(_part(p), []).append(p)
    return doc, parts


def _get(doc: Any, path: Path_) -> Any:
    for key in path:
        doc = doc[key]
    return doc


# What the model determines: a change there must never pass unnoticed.
DETERMINED = ("initial", "steps", "violation")
DETERMINED_MODEL = ("threads", "pages", "pt_span", "max_map_count")


def _determined(path: Path_) -> bool:
    if path[0] in DETERMINED:
        return True
    return path[0] == "model" and len(path) > 1 and path[1] in DETERMINED_MODEL


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    which=st.sampled_from(["race", "deadlock"]),
    op=st.sampled_from(["replace", "delete"]),
    form=st.sampled_from(["--compact", "--only-changes", "--color=always", "--html"]),
)
def test_a_mutated_trace_is_shown_or_rejected_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject, which: str, op: str, form: str
) -> None:
    original, parts = _doc_and_paths(which)
    part = data.draw(st.sampled_from(sorted(parts, key=str)), label="part")
    path = data.draw(st.sampled_from(parts[part]), label="path")
    doc = copy.deepcopy(original)
    parent = _get(doc, path[:-1])
    old = parent[path[-1]]
    if op == "delete":
        del parent[path[-1]]
    else:
        # Often a value of the same JSON type, so that the schema alone cannot catch it.
        same_type = {
            bool: st.booleans(),
            int: st.integers(-3, 12),
            str: st.sampled_from(["A", "S", "T0", "VM_DEAD", "down_read", "free_pgtables", "x"]),
        }.get(type(old), JSON)
        new = data.draw(st.one_of(same_type, JSON), label="new value")
        assume(canonical(new) != canonical(old))
        parent[path[-1]] = new
    file = tmp_path / "mutated.json"
    file.write_text(json.dumps(doc))
    options = [form, str(tmp_path / "out.html")] if form == "--html" else [form]
    code, out, err = show(file, capsys, *options)
    if code != 0:
        assert_one_line_error(code, err, "mutated.json")
    elif _determined(path):
        pytest.fail(f"{op} at {path} went unnoticed:\n{out[-600:]}")


def test_inconsistent_steps_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The model-free checks name the JSON path of the step and what does not follow."""
    base = json.loads(race_text())
    cases: list[tuple[Any, str]] = []

    def case(fragment: str) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        cases.append((doc, fragment))
        return doc

    case("steps[2].step: expected 3 (steps are numbered from 1), not 4")["steps"][2]["step"] = 4
    doc = case("steps[1].label: T0 takes step 'split_first' but was at 'find_vma'")
    doc["steps"][1]["label"] = "split_first"
    doc = case("steps[8].state.threads[0]: T0 changed although only T1 took a step")
    doc["steps"][8]["state"]["threads"][0]["locals"]["floor"] = 1
    doc = case('steps[0].state.threads[1].pc: expected one of T1\'s steps, not "expand_downwards"')
    doc["steps"][0]["state"]["threads"][1]["pc"] = "expand_downwards"
    doc = case("initial.threads[1].locals: T1's argument addr is 3, the model section says 4")
    doc["model"]["threads"][1]["args"]["addr"] = 4
    doc = case('steps[11].state.mmap_sem.waiters[0][1]: expected "R", "W" or "U", not "X"')
    doc["steps"][11]["state"]["mmap_sem"]["waiters"] = [[1, "X"]]
    doc = case("steps[4].events[0].thread: expected 0 (the thread taking the step), not 1")
    doc["steps"][4]["events"][0]["thread"] = 1
    doc = case('violation.property: expected "no_pt_use_after_free" as at the top, not "no_clobber"')
    doc["violation"]["property"] = "no_clobber"
    case("model.pt_span: pages (8) is not a multiple of pt_span (3)")["model"]["pt_span"] = 3
    for doc, fragment in cases:
        file = tmp_path / "bad.json"
        file.write_text(json.dumps(doc))
        code, _, err = show(file, capsys)
        assert_one_line_error(code, err, fragment)


def test_load_returns_the_document(tmp_path: Path) -> None:
    file = tmp_path / "t.json"
    file.write_text(race_text())
    assert load_trace_json(file) == json.loads(race_text())
