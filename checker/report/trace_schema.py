"""Validation of trace JSON (schema 1) without the model: the published JSON Schema, then
the consistency checks a schema cannot express.

The format is published as a JSON Schema document, ``trace-1.schema.json`` (draft 2020-12),
shipped in this package next to this module and copied in docs/schema/ for other tools.
:func:`validate_trace` validates a parsed trace against it with the ``jsonschema`` library
and reports the first problem in one line that names its JSON path (``steps[3].state.vmas[0]
.start: expected an integer (a page), not "3"``), so that no viewer ever meets a malformed
trace and fails with a traceback. Keys the schema does not define are allowed anywhere (an
engine or another tool may record more) and ignored: :func:`known_part` drops them before
anything compares a trace with what the model writes.

Then it checks what must hold of every trace whatever the model, and that a schema cannot
say because it relates one part of the file to another (the model itself is consulted later,
by :func:`vmacheck.checker.report.trace.replay`): thread numbers are below the number of
threads; the lists of PTEs and page tables are as long as ``model`` says; steps are numbered
1..n; the thread taking a step was at that step's label and had not returned; no other
thread's position or locals changed in that step; every thread starts at its program's first
step with the arguments the header records. It deliberately does *not* check the invariants
properties judge (disjoint vmas, ``start < end``, ``map_count``): a counterexample exists to
show a state that breaks them.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

SCHEMA = 1
FORMAT = "vmacheck-trace"
TRACE_SCHEMA_FILE = f"trace-{SCHEMA}.schema.json"
RESULTS_SCHEMA_FILE = f"results-{SCHEMA}.schema.json"


class TraceError(Exception):
    """A trace file that is not a valid schema-1 trace; the message says what is wrong, on
    one line (control characters from the file are shown escaped)."""

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


@functools.cache
def _document(name: str) -> dict[str, Any]:
    text = resources.files("vmacheck.checker.report").joinpath("schema", name).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def schema_document(name: str = TRACE_SCHEMA_FILE) -> dict[str, Any]:
    """A JSON Schema document shipped with vmacheck (a copy of it): ``trace-1.schema.json``
    (a trace file) or ``results-1.schema.json`` (what ``check --json`` and ``compare --json``
    write)."""
    return copy.deepcopy(_document(name))


def canonical(value: Any) -> str:
    """One text per JSON value: equal iff the values are equal as JSON (``1`` is not
    ``1.0`` nor ``true``; key order does not matter)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def short(value: Any, limit: int = 40) -> str:
    """A JSON value shortened to fit in a one-line message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):  # pragma: no cover - only JSON values reach here
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_path(path: Iterable[str | int]) -> str:
    """``steps[3].state.vmas[0].start``: where a value is in a document, as jq writes it
    (without jq's leading dot)."""
    out = ""
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            out += f".{key}" if out else key
        else:
            out += f"[{json.dumps(key, ensure_ascii=True)}]"
    return out


# --- the schema -------------------------------------------------------------------------------
@functools.cache
def _validator() -> Any:
    """A draft 2020-12 validator of the trace schema. JSON Schema counts ``3.0`` as an
    integer; vmacheck does not (its states are written with integers, and a reader would
    meet ``range(3.0)``), so its validator's integers are Python's."""
    from jsonschema import Draft202012Validator, validators

    def integer(_checker: Any, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    types = Draft202012Validator.TYPE_CHECKER.redefine("integer", integer)
    strict = validators.extend(Draft202012Validator, type_checker=types)
    return strict(_inline(_document(TRACE_SCHEMA_FILE)))


def _inline(node: Any, stack: tuple[str, ...] = ()) -> Any:
    """The schema with each ``$ref`` replaced by the definition it names, except where a
    definition contains itself (a list of locals): the same schema, validated twice as fast
    (``jsonschema`` resolves a reference each time it meets one)."""
    if isinstance(node, list):
        return [_inline(x, stack) for x in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if ref is None:
        return {k: v if k == "$defs" else _inline(v, stack) for k, v in node.items()}
    name = ref.removeprefix("#/$defs/")
    if name in stack:
        return node
    annotations = {k: v for k, v in node.items() if k != "$ref"}
    return {**_inline(_document(TRACE_SCHEMA_FILE)["$defs"][name], (*stack, name)), **annotations}


def _innermost(error: Any) -> Any:
    """For an object that fits none of the ``oneOf`` choices (a thread local), the error
    inside the one choice it has a key of (``{"vma": "x"}``: its ``vma`` is not an
    integer), if there is exactly one such choice."""
    while error.validator == "oneOf" and error.context and isinstance(error.instance, dict):
        keys = set(error.instance)
        shaped = [
            i for i, sub in enumerate(error.validator_value) if keys & set(_deref(sub).get("required", ()))
        ]
        inside = [e for e in error.context if shaped == [e.relative_schema_path[0]]]
        if not inside:
            break
        error = inside[0]
    return error


def describe(error: Any) -> str:
    """A ``jsonschema`` validation error as one line: the JSON path, then what is wrong."""
    error = _innermost(error)
    where = list(error.absolute_path)
    if error.validator == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "?")
        return f"{json_path([*where, missing])}: missing"
    place = json_path(where) or "the trace"
    if error.validator == "uniqueItems":
        items = error.instance
        twice = next(x for i, x in enumerate(items) if canonical(x) in map(canonical, items[:i]))
        return f"{place}: names {short(twice)} twice"
    # every constraint of the schema has a title that says what it wants ("an integer (a page)")
    want = error.schema.get("title") if isinstance(error.schema, dict) else None
    return f"{place}: expected {want or error.message.splitlines()[0]}, not {short(error.instance)}"


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = _document(TRACE_SCHEMA_FILE)["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _prune(value: Any, node: Any) -> Any:
    node = _deref(node)
    if not isinstance(node, dict):
        return value
    if isinstance(value, dict):
        props, more = node.get("properties"), node.get("additionalProperties")
        if props is None and more is None:
            for sub in map(_deref, node.get("oneOf", ())):  # a local: the encoding it uses
                if sub.get("type") == "object" and all(k in value for k in sub.get("required", ())):
                    return _prune(value, sub)
            return value  # an object the format leaves open (violation.details, search)
        out = {}
        for key, sub_value in value.items():
            if props is not None and key in props:
                out[key] = _prune(sub_value, props[key])
            elif isinstance(more, dict):
                out[key] = _prune(sub_value, more)
        return out
    if isinstance(value, list):
        prefix, items = node.get("prefixItems", []), node.get("items")
        return [_prune(x, prefix[i] if i < len(prefix) else items) for i, x in enumerate(value)]
    return value


def known_part(data: Any) -> Any:
    """A valid trace without the keys schema 1 does not define (readers ignore them): what
    is compared with what the model writes."""
    return _prune(data, _document(TRACE_SCHEMA_FILE))


# --- what the schema cannot say ---------------------------------------------------------------
class _Header:
    """What the rest of the trace is checked against: the model section."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.pages: int = model["pages"]
        self.pt_span: int = model["pt_span"]
        if self.pages % self.pt_span:
            raise TraceError(
                f"model.pt_span: pages ({self.pages}) is not a multiple of pt_span ({self.pt_span})"
            )
        for tid, th in enumerate(model["threads"]):
            if th["tid"] != tid:
                raise TraceError(f"model.threads[{tid}].tid: expected {tid} (its position), not {th['tid']}")
        self.syscalls: list[str] = [th["syscall"] for th in model["threads"]]
        self.labels: list[list[str]] = [th["steps"] for th in model["threads"]]
        self.args: list[dict[str, Any]] = [th["args"] for th in model["threads"]]

    @property
    def nthreads(self) -> int:
        return len(self.syscalls)

    def tid(self, value: Any, where: str) -> None:
        """``value`` is null or names one of the model's threads."""
        if value is not None and value >= self.nthreads:
            raise TraceError(
                f"{where}: expected a thread number below {self.nthreads} (the model's threads), not {value}"
            )


def _check_state(state: dict[str, Any], where: str, h: _Header) -> None:
    seen: set[int] = set()
    for i, v in enumerate(state["vmas"]):
        if v["id"] in seen:
            raise TraceError(f"{where}.vmas[{i}].id: vma id {v['id']} appears twice")
        seen.add(v["id"])
        h.tid(v["owner"], f"{where}.vmas[{i}].owner")
    for key, want, what in (
        ("ptes", h.pages, "one per page"),
        ("page_tables", h.pages // h.pt_span, "one per page-table page"),
    ):
        if len(state[key]) != want:
            raise TraceError(f"{where}.{key}: expected {want} entries ({what}), not {len(state[key])}")
    sem = state["mmap_sem"]
    h.tid(sem["writer"], f"{where}.mmap_sem.writer")
    for i, r in enumerate(sem["readers"]):
        h.tid(r, f"{where}.mmap_sem.readers[{i}]")
    for i, (t, _mode) in enumerate(sem["waiters"]):
        h.tid(t, f"{where}.mmap_sem.waiters[{i}][0]")
    threads = state["threads"]
    if len(threads) != h.nthreads:
        raise TraceError(f"{where}.threads: {len(threads)} threads, the model section has {h.nthreads}")
    for tid, th in enumerate(threads):
        w = f"{where}.threads[{tid}]"
        if th["tid"] != tid:
            raise TraceError(f"{w}.tid: expected {tid} (its position), not {th['tid']}")
        if th["syscall"] != h.syscalls[tid]:
            raise TraceError(
                f"{w}.syscall: expected {short(h.syscalls[tid])} as in model.threads[{tid}],"
                f" not {short(th['syscall'])}"
            )
        if not th["done"] and th["pc"] not in h.labels[tid]:
            raise TraceError(f"{w}.pc: expected one of T{tid}'s steps, not {short(th['pc'])}")


def _check_start(state: dict[str, Any], h: _Header) -> None:
    """Every thread begins at its first step, with the arguments the header names."""
    for tid, th in enumerate(state["threads"]):
        first = h.labels[tid][0]
        if th["done"] or th["pc"] != first:
            where = f"initial.threads[{tid}].pc"
            raise TraceError(f"{where}: T{tid} must be at its first step '{first}', not {short(th['pc'])}")
        for name, value in h.args[tid].items():
            if canonical(th["locals"].get(name)) != canonical(value):
                raise TraceError(
                    f"initial.threads[{tid}].locals: T{tid}'s argument {name} is"
                    f" {short(th['locals'].get(name))}, the model section says {short(value)}"
                )


def _check_step(i: int, st: dict[str, Any], before: dict[str, Any], h: _Header) -> None:
    """Step ``i`` (from 0) is numbered, made by one of the model's threads at the step it was
    at, records that thread's events, and moves only that thread."""
    w = f"steps[{i}]"
    if st["step"] != i + 1:
        raise TraceError(f"{w}.step: expected {i + 1} (steps are numbered from 1), not {st['step']}")
    tid = st["thread"]
    h.tid(tid, f"{w}.thread")
    if st["syscall"] != h.syscalls[tid]:
        raise TraceError(f"{w}.syscall: expected {short(h.syscalls[tid])}, T{tid}'s syscall")
    label = st["label"]
    if label not in h.labels[tid]:
        raise TraceError(f"{w}.label: expected one of T{tid}'s steps, not {short(label)}")
    for j, e in enumerate(st["events"]):
        if e["thread"] != tid:
            raise TraceError(
                f"{w}.events[{j}].thread: expected {tid} (the thread taking the step), not {e['thread']}"
            )
    after = st["state"]
    _check_state(after, f"{w}.state", h)
    prev = before["threads"][tid]
    if prev["done"]:
        raise TraceError(f"{w}.thread: T{tid} takes a step after it returned")
    if prev["pc"] != label:
        raise TraceError(f"{w}.label: T{tid} takes step '{label}' but was at '{prev['pc']}'")
    for other, (a, b) in enumerate(zip(before["threads"], after["threads"])):
        if other != tid and canonical(a) != canonical(b):
            raise TraceError(f"{w}.state.threads[{other}]: T{other} changed although only T{tid} took a step")


def validate_trace(data: Any) -> None:
    """Check that ``data`` (parsed JSON) is a schema-1 trace; raises :class:`TraceError`."""
    if not isinstance(data, dict):
        raise TraceError("not a vmacheck trace (the top level is not a JSON object)")
    if data.get("format") != FORMAT:
        raise TraceError('not a vmacheck trace (no "format": "vmacheck-trace")')
    schema = data.get("schema")
    if type(schema) is not int or schema != SCHEMA:
        raise TraceError(f"unknown trace schema {short(schema)} (this vmacheck reads schema {SCHEMA})")
    try:
        error = next(iter(_validator().iter_errors(data)), None)
        if error is not None:
            raise TraceError(describe(error))
        doc = known_part(data)
    except RecursionError:
        raise TraceError("not a trace (JSON nested too deeply)") from None
    h = _Header(doc["model"])
    if doc["violation"]["property"] != doc["property"]:
        raise TraceError(
            f"violation.property: expected {short(doc['property'])} as at the top,"
            f" not {short(doc['violation']['property'])}"
        )
    h.tid(doc["violation"]["thread"], "violation.thread")
    _check_state(doc["initial"], "initial", h)
    _check_start(doc["initial"], h)
    before = doc["initial"]
    for i, st in enumerate(doc["steps"]):
        _check_step(i, st, before, h)
        before = st["state"]
