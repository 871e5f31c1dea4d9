"""Counterexample traces and their exchange format, JSON schema 1 (docs/trace-format.md).

A trace is the initial state and a list of steps; each step names the thread, its syscall,
the step label and the kernel function it models, the events its primitives recorded, and
the full state after it. Every engine produces traces in this form; the CLI writes them, the
viewers read them, and :func:`replay` re-executes one on the model to confirm the model
still produces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from properties.base import Violation
from protocol.events import Event
from protocol.model import Model, Transition
from protocol.state import (
    NO_THREAD,
    STATUS_NAMES,
    PtRef,
    State,
    VmaRef,
    flag_names,
)

SCHEMA = 1
FORMAT = "vmacheck-trace"


class TraceError(Exception):
    """A trace file that is not a valid schema-1 trace; the message says what is wrong."""


@dataclass
class TraceStep:
    thread: int
    syscall: str
    label: str
    kernel: str
    choices: tuple[int, ...]
    events: tuple[Event, ...]
    state: State


@dataclass
class Trace:
    variant: str
    scenario: str
    property: str
    violation: Violation
    initial: State
    steps: list[TraceStep]
    model: Model | None = None
    variant_file: str | None = None
    engine: str = "explicit"
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.steps)


def build_trace(
    model: Model, prop: str, violation: Violation, initial: State, path: list[Transition]
) -> Trace:
    steps = [
        TraceStep(
            tr.tid, model.programs[tr.tid].syscall, tr.label, tr.kernel, tr.choices, tr.events, tr.state
        )
        for tr in path
    ]
    vfile = model.variant.file if model.variant.file and not _is_shipped(model) else None
    return Trace(model.variant.name, model.scenario.name, prop, violation, initial, steps, model, vfile)


def _is_shipped(model: Model) -> bool:
    from protocol.variants import shipped

    v = shipped().get(model.variant.name)
    return v is not None and v.file == model.variant.file


# --- JSON -------------------------------------------------------------------------------
def _local_json(value: object) -> object:
    if isinstance(value, VmaRef):
        return {"vma": int(value)}
    if isinstance(value, PtRef):
        return {"page_table": value.table, "gen": value.gen}
    if isinstance(value, (tuple, frozenset)):
        return {"list": [_local_json(x) for x in value]}
    return value


def state_json(model: Model, state: State) -> dict[str, Any]:
    threads = []
    for tid, th in enumerate(state.threads):
        prog = model.programs[tid]
        threads.append(
            {
                "tid": tid,
                "syscall": prog.syscall,
                "pc": None if th.done else prog.steps[th.pc].label,
                "locals": {n: _local_json(v) for n, v in zip(prog.names, th.locals)},
                "done": th.done,
                "result": th.result,
                "snapshot": None if th.snapshot is None else sorted(th.snapshot),
                "changed": th.changed,
            }
        )
    sem = state.sem
    return {
        "vmas": [
            {
                "id": v.id,
                "start": v.start,
                "end": v.end,
                "flags": flag_names(v.flags),
                "tag": v.tag,
                "status": STATUS_NAMES[v.status],
                "owner": None if v.owner == NO_THREAD else v.owner,
            }
            for v in state.vmas
        ],
        "map_count": state.map_count,
        "ptes": list(state.ptes),
        "page_tables": list(state.pts),
        "mmap_sem": {
            "writer": None if sem.writer == NO_THREAD else sem.writer,
            "readers": list(sem.readers),
            "waiters": [[t, m] for t, m in sem.waiters],
        },
        "threads": threads,
    }


def event_json(e: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": e.kind, "thread": e.tid, "primitive": e.primitive}
    if e.page >= 0:
        out["page"] = e.page
    if e.tag is not None:
        out["tag"] = e.tag
    if e.vma is not None:
        out["vma"] = {
            "tag": e.vma.tag,
            "start": e.vma.start,
            "end": e.vma.end,
            "flags": flag_names(e.vma.flags),
        }
    if e.vmas:
        out["vmas"] = [{"tag": v.tag, "start": v.start, "end": v.end} for v in e.vmas]
    if e.pages:
        out["pages"] = list(e.pages)
    if e.detail:
        out["detail"] = e.detail
    return out


def trace_json(trace: Trace) -> dict[str, Any]:
    model = trace.model
    assert model is not None, "a trace needs its model to be written"
    sc = model.scenario
    return {
        "schema": SCHEMA,
        "format": FORMAT,
        "engine": trace.engine,
        "variant": trace.variant,
        "variant_file": trace.variant_file,
        "scenario": trace.scenario,
        "property": trace.property,
        "violation": trace.violation.to_json(),
        "model": {
            "pages": model.pages,
            "pt_span": model.pt_span,
            "max_map_count": model.max_map_count,
            "threads": [
                {
                    "tid": tid,
                    "syscall": prog.syscall,
                    "args": prog.args(trace.initial.threads[tid]),
                    "tag": model.tags[tid],
                    "steps": [s.label for s in prog.steps],
                }
                for tid, prog in enumerate(model.programs)
            ],
            "scenario_summary": sc.summary,
        },
        "initial": state_json(model, trace.initial),
        "steps": [
            {
                "step": i + 1,
                "thread": st.thread,
                "syscall": st.syscall,
                "label": st.label,
                "kernel_function": st.kernel,
                "choices": list(st.choices),
                "events": [event_json(e) for e in st.events],
                "state": state_json(model, st.state),
            }
            for i, st in enumerate(trace.steps)
        ],
        **trace.extra,
    }


def write_trace(trace: Trace, path: str | Path) -> None:
    Path(path).write_text(json.dumps(trace_json(trace), indent=1) + "\n")


# --- reading ------------------------------------------------------------------------------
def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise TraceError(f"{where}: missing '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise TraceError(f"{where}: '{key}' must be {names}")
    return value


def _check_state(data: Any, where: str, pages: int, nthreads: int) -> None:
    if not isinstance(data, dict):
        raise TraceError(f"{where}: state must be an object")
    for v_i, v in enumerate(_need(data, "vmas", list, where)):
        w = f"{where}.vmas[{v_i}]"
        start = _need(v, "start", int, w)
        end = _need(v, "end", int, w)
        _need(v, "tag", str, w)
        _need(v, "flags", list, w)
        if _need(v, "status", str, w) not in STATUS_NAMES.values():
            raise TraceError(f"{w}: unknown status {v['status']!r}")
        if not 0 <= start <= pages or not 0 <= end <= pages:
            raise TraceError(f"{w}: range [{start},{end}) outside 0..{pages}")
    _need(data, "map_count", int, where)
    ptes = _need(data, "ptes", list, where)
    if len(ptes) != pages or not all(p is None or isinstance(p, str) for p in ptes):
        raise TraceError(f"{where}: 'ptes' must list {pages} tags or nulls")
    _need(data, "page_tables", list, where)
    sem = _need(data, "mmap_sem", dict, where)
    _need(sem, "readers", list, f"{where}.mmap_sem")
    _need(sem, "waiters", list, f"{where}.mmap_sem")
    threads = _need(data, "threads", list, where)
    if len(threads) != nthreads:
        raise TraceError(f"{where}: {len(threads)} threads, the model has {nthreads}")
    for t_i, th in enumerate(threads):
        _need(th, "done", bool, f"{where}.threads[{t_i}]")


def validate_trace(data: Any) -> None:
    """Structural validation of a schema-1 trace; raises :class:`TraceError`."""
    if not isinstance(data, dict):
        raise TraceError("not a vmacheck trace (top level is not a JSON object)")
    if data.get("format") != FORMAT:
        raise TraceError('not a vmacheck trace (no "format": "vmacheck-trace")')
    schema = data.get("schema")
    if schema != SCHEMA:
        raise TraceError(f"unknown trace schema {schema!r} (this vmacheck reads schema {SCHEMA})")
    for key in ("variant", "scenario", "property"):
        _need(data, key, str, "trace")
    _need(data, "violation", dict, "trace")
    model = _need(data, "model", dict, "trace")
    pages = _need(model, "pages", int, "model")
    if pages <= 0:
        raise TraceError("model: 'pages' must be positive")
    _need(model, "pt_span", int, "model")
    threads = _need(model, "threads", list, "model")
    _check_state(_need(data, "initial", dict, "trace"), "initial", pages, len(threads))
    steps = _need(data, "steps", list, "trace")
    for i, st in enumerate(steps):
        w = f"steps[{i}]"
        tid = _need(st, "thread", int, w)
        if not 0 <= tid < len(threads):
            raise TraceError(f"{w}: thread {tid} does not exist")
        _need(st, "label", str, w)
        _need(st, "syscall", str, w)
        _need(st, "kernel_function", str, w)
        choices = _need(st, "choices", list, w)
        if not all(isinstance(c, int) and c >= 0 for c in choices):
            raise TraceError(f"{w}: 'choices' must be non-negative integers")
        _need(st, "events", list, w)
        _check_state(_need(st, "state", dict, w), f"{w}.state", pages, len(threads))


def load_trace_json(path: str | Path) -> dict[str, Any]:
    """Read and validate a trace file; raises :class:`TraceError` naming the problem."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    try:
        validate_trace(data)
    except TraceError as exc:
        raise TraceError(f"{path}: {exc}") from None
    return data


def replay(model: Model, data: dict[str, Any]) -> tuple[State, list[Transition], str | None]:
    """Re-execute a trace on ``model``. Returns the initial state, the transitions taken and
    ``None`` — or, at the first step the model does not produce, a message saying so."""
    want_init = data["initial"]
    init = next((s for s in model.initial_states() if state_json(model, s) == want_init), None)
    if init is None:
        return model.initial_states()[0], [], "the model's initial states do not include the trace's"
    state = init
    path: list[Transition] = []
    for i, st in enumerate(data["steps"]):
        match = None
        for tr in model.successors(state):
            if tr.tid == st["thread"] and tr.label == st["label"] and list(tr.choices) == st["choices"]:
                match = tr
                break
        if match is None:
            return init, path, f"step {i + 1} (T{st['thread']} {st['label']}) cannot run in the model now"
        if state_json(model, match.state) != st["state"]:
            return (
                init,
                path,
                f"step {i + 1} (T{st['thread']} {st['label']}) gives a different state in the model now",
            )
        path.append(match)
        state = match.state
    return init, path, None
