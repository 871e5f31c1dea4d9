"""The published JSON Schema documents: well-formed, shipped with the package and identical
to docs/schema/, and in agreement with vmacheck's own validator — what the schema rejects,
vmacheck rejects, in one line that names the JSON path of the problem."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.checker.test_trace_validation import JSON, _doc_and_paths, _get, race_text
from tests.schemas import PUBLISHED, RESULTS, TRACE, assert_valid_trace, errors, published
from vmacheck.checker.report import trace_schema
from vmacheck.checker.report.trace import TraceError, known_part, schema_document, validate_trace
from vmacheck.checker.report.trace_schema import json_path

PACKAGED = Path(trace_schema.__file__).with_name("schema")


@pytest.mark.parametrize("name", [TRACE, RESULTS])
def test_the_schemas_are_draft_2020_12_and_published_as_shipped(name: str) -> None:
    doc = published(name)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # docs/schema/ holds the very files the package ships and the validator loads
    assert (PUBLISHED / name).read_bytes() == (PACKAGED / name).read_bytes(), (
        f"docs/schema/{name} differs from checker/report/schema/{name}: copy the package's file"
    )
    assert schema_document(name) == doc
    assert sorted(p.name for p in PACKAGED.glob("*.json")) == sorted(p.name for p in PUBLISHED.glob("*.json"))


def _objects(node: Any) -> list[dict[str, Any]]:
    out = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            out.append(node)
        for value in node.values():
            out += _objects(value)
    elif isinstance(node, list):
        for value in node:
            out += _objects(value)
    return out


@pytest.mark.parametrize("name", [TRACE, RESULTS])
def test_no_object_forbids_extra_keys(name: str) -> None:
    """Tools may extend the formats: no object of either schema is closed."""
    objects = _objects(published(name))
    assert len(objects) >= 5
    for node in objects:
        assert node.get("additionalProperties", True) is not False
        assert node.get("unevaluatedProperties", True) is not False


CONSTRAINTS = {"type", "enum", "const", "oneOf", "minimum", "minItems", "minLength", "not", "uniqueItems"}


def test_every_constraint_of_the_trace_schema_has_a_title() -> None:
    """vmacheck's messages say what was expected with the title of the failing part
    (``expected an integer (a page), not "3"``)."""
    untitled = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            # controlCharacter is only used under "not": the node holding the "not" is named
            if CONSTRAINTS & set(node) and "title" not in node and path != "controlCharacter":
                untitled.append(path)
            for key, sub in node.items():
                if key in ("properties", "$defs"):
                    for name, x in sub.items():
                        walk(x, f"{path}.{name}" if path else name)
                elif key != "if":  # a condition: never reported
                    walk(sub, f"{path}.{key}")
        elif isinstance(node, list):
            for i, x in enumerate(node):
                walk(x, f"{path}[{i}]")

    walk(published(TRACE), "")
    assert untitled == []


def test_a_real_trace_is_valid_and_the_schema_defines_every_key_in_it() -> None:
    doc = json.loads(race_text())
    assert_valid_trace(doc)  # closed: vmacheck writes no key the schema leaves undocumented
    assert known_part(doc) == doc


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    parent = _get(doc, path[:-1])
    if new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


_DELETE = object()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(["race", "deadlock"]))
def test_what_the_published_schema_rejects_vmacheck_rejects(data: st.DataObject, which: str) -> None:
    original, parts = _doc_and_paths(which)
    part = data.draw(st.sampled_from(sorted(parts, key=str)), label="part")
    path = data.draw(st.sampled_from(parts[part]), label="path")
    new = data.draw(st.one_of(st.just(_DELETE), JSON), label="new value")
    doc = _mutate(original, path, new)
    if errors(TRACE, doc, closed=False):
        with pytest.raises(TraceError) as info:
            validate_trace(doc)
        text = str(info.value)
        assert "\n" not in text
        # it names where: the changed value, or the object or list that holds it
        assert text.startswith(json_path(path[:-1])), (path, text)


# --- each kind of structural corruption: one line, naming the JSON path ------------------------
Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    *parents, last = json.loads(path)
    return lambda d: _get(d, tuple(parents)).__setitem__(last, value)


def _del(path: str) -> Edit:
    *parents, last = json.loads(path)
    return lambda d: _get(d, tuple(parents)).__delitem__(last)


# (what, the edit, the message's start, who finds it: "schema" the published schema,
# "integers" vmacheck's integers (JSON Schema counts 4.0 as one), "code" the checks a
# schema cannot express)
STEPS11_T1 = '["steps", 11, "state", "threads", 1'
CORRUPTIONS: list[tuple[str, Edit, str, str]] = [
    ("missing top-level key", _del('["steps"]'), "steps: missing", "schema"),
    ("missing model key", _del('["model", "pt_span"]'), "model.pt_span: missing", "schema"),
    (
        "string for an integer",
        _set('["steps", 3, "state", "vmas", 0, "start"]', "3"),
        'steps[3].state.vmas[0].start: expected an integer (a page), not "3"',
        "schema",
    ),
    (
        "fraction for an integer",
        _set('["steps", 3, "state", "vmas", 0, "end"]', 4.0),
        "steps[3].state.vmas[0].end: expected an integer (a page), not 4.0",
        "integers",
    ),
    (
        "boolean for an integer",
        _set('["model", "pages"]', True),
        "model.pages: expected a positive integer, not true",
        "schema",
    ),
    (
        "zero pages",
        _set('["model", "pages"]', 0),
        "model.pages: expected a positive integer, not 0",
        "schema",
    ),
    (
        "missing vma key",
        _del('["initial", "vmas", 1, "status"]'),
        "initial.vmas[1].status: missing",
        "schema",
    ),
    (
        "unknown vma status",
        _set('["steps", 0, "state", "vmas", 0, "status"]', "zombie"),
        'steps[0].state.vmas[0].status: expected "linked", "detached" or "freed", not "zombie"',
        "schema",
    ),
    (
        "flag not a name",
        _set('["initial", "vmas", 1, "flags"]', [7]),
        "initial.vmas[1].flags[0]: expected a name (a non-empty string on one line), not 7",
        "schema",
    ),
    (
        "tag with a line break",
        _set('["initial", "vmas", 0, "tag"]', "A\nB"),
        'initial.vmas[0].tag: expected a name (a non-empty string on one line), not "A\\nB"',
        "schema",
    ),
    (
        "state not an object",
        _set('["steps", 2, "state"]', []),
        "steps[2].state: expected an object (a state), not []",
        "schema",
    ),
    (
        "step not an object",
        _set('["steps", 2]', "x"),
        'steps[2]: expected an object (a step), not "x"',
        "schema",
    ),
    ("steps not a list", _set('["steps"]', {}), "steps: expected a list of steps, not {}", "schema"),
    (
        "pte neither tag nor null",
        _set('["initial", "ptes", 2]', 1),
        "initial.ptes[2]: expected null or a mapping tag, not 1",
        "schema",
    ),
    (
        "page-table generation not an integer",
        _set('["initial", "page_tables", 0]', None),
        "initial.page_tables[0]: expected an integer, not null",
        "schema",
    ),
    (
        "negative thread number",
        _set('["initial", "mmap_sem", "writer"]', -1),
        "initial.mmap_sem.writer: expected null or a thread number, not -1",
        "schema",
    ),
    (
        "waiter of three",
        _set('["initial", "mmap_sem", "waiters"]', [[0, "R", 1]]),
        'initial.mmap_sem.waiters[0]: expected a waiter [thread, "R"|"W"|"U"], not [0, "R", 1]',
        "schema",
    ),
    (
        "unknown waiter mode",
        _set('["initial", "mmap_sem", "waiters"]', [[1, "X"]]),
        'initial.mmap_sem.waiters[0][1]: expected "R", "W" or "U", not "X"',
        "schema",
    ),
    (
        "done not a boolean",
        _set('["initial", "threads", 0, "done"]', 0),
        "initial.threads[0].done: expected true or false, not 0",
        "schema",
    ),
    (
        "returned thread with a pc",
        _set('["steps", 0, "state", "threads", 1, "done"]', True),
        'steps[0].state.threads[1].pc: expected null (the thread has returned), not "down_read"',
        "schema",
    ),
    (
        "running thread without a pc",
        _set('["steps", 0, "state", "threads", 1, "pc"]', None),
        "steps[0].state.threads[1].pc: expected a step label (the thread has not returned), not null",
        "schema",
    ),
    (
        "vma pointer to a string",
        _set(STEPS11_T1 + ', "locals", "vma"]', {"vma": "S"}),
        'steps[11].state.threads[1].locals.vma.vma: expected an integer, not "S"',
        "schema",
    ),
    (
        "a local in no encoding",
        _set(STEPS11_T1 + ', "locals", "vma"]', {"ptr": 1}),
        "steps[11].state.threads[1].locals.vma: expected a thread local (a number, a name, true, false,"
        ' null, {"vma": ID}, {"page_table": I, "gen": G} or {"list": [...]}), not {"ptr": 1}',
        "schema",
    ),
    (
        "two encodings in one local",
        _set(STEPS11_T1 + ', "locals", "vma"]', {"vma": 1, "list": []}),
        "steps[11].state.threads[1].locals.vma: expected a thread local",
        "schema",
    ),
    (
        "a bad element of a list local",
        _set(STEPS11_T1 + ', "locals", "vma"]', {"list": [1, [2]]}),
        "steps[11].state.threads[1].locals.vma.list[1]: expected a thread local",
        "schema",
    ),
    (
        "page-table reference without its generation",
        _set(STEPS11_T1 + ', "locals", "pt"]', {"page_table": 1}),
        "steps[11].state.threads[1].locals.pt.gen: missing",
        "schema",
    ),
    (
        "snapshot not a list",
        _set(STEPS11_T1 + ', "snapshot"]', "S"),
        'steps[11].state.threads[1].snapshot: expected null or a list of mapping tags, not "S"',
        "schema",
    ),
    (
        "argument not a scalar",
        _set('["model", "threads", 0, "args", "start"]', [2]),
        "model.threads[0].args.start: expected a number, a name, true, false or null, not [2]",
        "schema",
    ),
    (
        "no threads",
        _set('["model", "threads"]', []),
        "model.threads: expected a non-empty list of threads, not []",
        "schema",
    ),
    (
        "a step label twice",
        _set('["model", "threads", 1, "steps", 1]', "down_read"),
        'model.threads[1].steps: names "down_read" twice',
        "schema",
    ),
    (
        "negative choice",
        _set('["steps", 0, "choices"]', [-1]),
        "steps[0].choices[0]: expected a non-negative integer, not -1",
        "schema",
    ),
    (
        "event without a kind",
        _del('["steps", 11, "events", 0, "kind"]'),
        "steps[11].events[0].kind: missing",
        "schema",
    ),
    (
        "event vma without its end",
        _del('["steps", 11, "events", 0, "vmas", 0, "end"]'),
        "steps[11].events[0].vmas[0].end: missing",
        "schema",
    ),
    (
        "violation details a list",
        _set('["violation", "details"]', []),
        "violation.details: expected an object, not []",
        "schema",
    ),
    (
        "empty violation message",
        _set('["violation", "message"]', ""),
        "violation.message: expected a sentence",
        "schema",
    ),
    (
        "empty variant file",
        _set('["variant_file"]', ""),
        'variant_file: expected null or a path, not ""',
        "schema",
    ),
    (
        "thread number out of range",
        _set('["steps", 4, "thread"]', 2),
        "steps[4].thread: expected a thread number below 2 (the model's threads), not 2",
        "code",
    ),
    (
        "ptes too short",
        _set('["initial", "ptes"]', [None]),
        "initial.ptes: expected 8 entries (one per page), not 1",
        "code",
    ),
    (
        "duplicate vma id",
        _set('["initial", "vmas", 1, "id"]', 0),
        "initial.vmas[1].id: vma id 0 appears twice",
        "code",
    ),
    (
        "thread out of order",
        _set('["steps", 5, "state", "threads", 0, "tid"]', 1),
        "steps[5].state.threads[0].tid: expected 0 (its position), not 1",
        "code",
    ),
    (
        "another thread's syscall",
        _set('["steps", 5, "state", "threads", 0, "syscall"]', "access"),
        'steps[5].state.threads[0].syscall: expected "munmap" as in model.threads[0], not "access"',
        "code",
    ),
]


@pytest.mark.parametrize(
    ("edit", "message", "finder"), [c[1:] for c in CORRUPTIONS], ids=[c[0] for c in CORRUPTIONS]
)
def test_each_corruption_is_named_by_its_path(edit: Edit, message: str, finder: str) -> None:
    doc = json.loads(race_text())
    # what the cases assume of the 4.20 race
    assert doc["model"]["threads"][1]["steps"][:2] == ["down_read", "find_vma"]
    assert set(doc["steps"][11]["state"]["threads"][1]["locals"]) >= {"vma", "pt"}
    edit(doc)
    with pytest.raises(TraceError) as info:
        validate_trace(doc)
    text = str(info.value)
    assert text.startswith(message), (text, message)
    assert "\n" not in text and len(text) < 300
    # the published schema alone finds the structural problems; the rest need vmacheck's code
    assert bool(errors(TRACE, doc, closed=False)) == (finder == "schema")
