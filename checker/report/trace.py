"""Counterexample traces and their exchange format, JSON schema 1 (docs/trace-format.md).

A trace is the initial state and a list of steps; each step names the thread, its syscall,
the step label and the kernel function it models, the events its primitives recorded, and
the full state after it. Every engine produces traces in this form; the CLI writes them, the
viewers read them, and :func:`replay` re-executes one on the model to confirm the model
still produces it.

Reading: :func:`load_trace_json` parses a file and validates it without the model against
the published JSON Schema and the consistency checks a schema cannot express
(:mod:`vmacheck.checker.report.trace_schema`); :func:`replay` then checks it against the
model, comparing only the keys the format defines (a tool may add others). The model
section carries a ``digest`` of the sources that define the model's behaviour (the
``protocol`` and ``properties`` packages, this module's serialisation and a user's variant
file), so a reader can tell a trace that the model no longer produces because the model
changed from one that never followed from it (a corrupt or hand-edited file).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmacheck.checker.core.replay import Step, take
from vmacheck.checker.core.trace import Trace, is_shipped
from vmacheck.checker.report.render import state_difference
from vmacheck.checker.report.trace_schema import (
    FORMAT,
    SCHEMA,
    TraceError,
    canonical,
    known_part,
    schema_document,
    validate_trace,
)
from vmacheck.protocol.events import Event
from vmacheck.protocol.model import Model, Transition
from vmacheck.protocol.state import (
    NO_THREAD,
    STATUS_NAMES,
    PtRef,
    State,
    VmaRef,
    flag_names,
)

__all__ = [
    "FORMAT",
    "SCHEMA",
    "Replay",
    "TraceError",
    "canonical",
    "known_part",
    "load_trace_json",
    "model_digest",
    "replay",
    "replay_trace",
    "schema_document",
    "state_json",
    "trace_json",
    "validate_trace",
    "write_trace",
]


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
            "digest": model_digest(model),
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


# --- digest -------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _package_sources_digest() -> str:
    """SHA-256 over the source files of the packages that define a model's behaviour."""
    from vmacheck import properties, protocol

    h = hashlib.sha256()
    roots = [Path(protocol.__file__).parent, Path(properties.__file__).parent]
    files = [(f.relative_to(root.parent), f) for root in roots for f in sorted(root.rglob("*.py"))]
    files.append((Path("checker/report/trace.py"), Path(__file__)))  # how states are written down
    for name, f in files:
        h.update(name.as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def model_digest(model: Model) -> str:
    """Names the model's behaviour: equal digests mean the same sources, the same scenario
    and the same user variant file, so the model produces the same traces."""
    h = hashlib.sha256(_package_sources_digest().encode())
    h.update(repr(model.scenario).encode())
    h.update(model.variant.name.encode())
    vfile = Path(model.variant.file) if model.variant.file else None
    if vfile is not None and vfile.is_file() and not is_shipped(model):
        h.update(vfile.read_bytes())
    return "sha256:" + h.hexdigest()[:32]


# --- reading ------------------------------------------------------------------------------
def load_trace_json(path: str | Path) -> dict[str, Any]:
    """Read and validate a trace file (without the model) and return the part of it that
    schema 1 defines (keys it does not define are dropped: readers ignore them); raises
    :class:`TraceError` with one line naming the file and the problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a trace (not a UTF-8 text file)") from None
    if not text.strip():
        raise TraceError(f"{path}: empty file, not a trace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if _ends_too_soon(text, exc):
            raise TraceError(
                f"{path}: truncated: the JSON ends at line {exc.lineno} before it is complete"
            ) from None
        raise TraceError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise TraceError(f"{path}: not a trace (JSON nested too deeply)") from None
    try:
        validate_trace(data)
        return known_part(data)  # type: ignore[no-any-return]
    except TraceError as exc:
        raise TraceError(f"{path}: {exc}") from None
    except RecursionError:
        raise TraceError(f"{path}: not a trace (JSON nested too deeply)") from None


_LITERAL_PREFIXES = {w[:i] for w in ("true", "false", "null") for i in range(1, len(w))}


def _ends_too_soon(text: str, exc: json.JSONDecodeError) -> bool:
    """Whether the parse failed only because the text stops early (a truncated file): at
    the end, inside a string (raw line breaks cannot occur in one), or inside a literal or
    number."""
    rest = text[exc.pos :].strip()
    return (
        not rest
        or exc.msg.startswith("Unterminated string")
        or rest in _LITERAL_PREFIXES
        or re.fullmatch(r"-|[.eE][+-]?", rest) is not None
    )


@dataclass
class Replay:
    """The outcome of re-executing a trace on a model.

    ``problem`` is ``None`` if the model produces every step with exactly the recorded
    states; otherwise it says where the model departs from the trace: ``step`` is the
    number of the first step it does not produce (0: the header or the initial state).
    """

    initial: State
    path: list[Transition]
    problem: str | None = None
    step: int | None = None


def _model_section_difference(model: Model, data: dict[str, Any]) -> str | None:
    sec = data["model"]
    for key, have in (
        ("pages", model.pages),
        ("pt_span", model.pt_span),
        ("max_map_count", model.max_map_count),
    ):
        if sec[key] != have:
            return f"the scenario now has {key} = {have}, the trace {sec[key]}"
    if len(sec["threads"]) != model.nthreads:
        return f"the scenario now has {model.nthreads} threads, the trace {len(sec['threads'])}"
    for tid, (th, prog) in enumerate(zip(sec["threads"], model.programs)):
        if th["syscall"] != prog.syscall:
            return f"T{tid} now runs {prog.syscall}, in the trace {th['syscall']}"
        labels = [s.label for s in prog.steps]
        if th["steps"] != labels:
            return f"T{tid}'s {prog.syscall} now has the steps {', '.join(labels)}"
        choices = {canonical(prog.args(init.threads[tid])) for init in model.initial_states()}
        if canonical(th["args"]) not in choices:
            return f"T{tid}'s arguments {th['args']} are not among the scenario's choices"
        if th["tag"] != model.tags[tid]:
            return f"T{tid}'s mappings are now tagged {model.tags[tid]}, in the trace {th['tag']}"
    return None


def replay_trace(model: Model, data: dict[str, Any]) -> Replay:
    """Re-execute a validated trace on ``model``: the model must take each recorded step
    (same thread, label and nondeterministic choices) and reach exactly the recorded state
    (keys the format does not define are ignored)."""
    data = known_part(data)
    inits = model.initial_states()
    problem = _model_section_difference(model, data)
    if problem is not None:
        return Replay(inits[0], [], f"the model is not the trace's: {problem}", 0)
    want = canonical(data["initial"])
    init = next((s for s in inits if canonical(state_json(model, s)) == want), None)
    if init is None:
        closest = state_difference(data["initial"], state_json(model, inits[0]))
        return Replay(inits[0], [], f"the trace's initial state is not one of the model's ({closest})", 0)
    state = init
    path: list[Transition] = []
    for i, st in enumerate(data["steps"]):
        tid, label = st["thread"], st["label"]
        name = f"step {i + 1} (T{tid} {label})"
        match = take(model, state, Step(tid, label, tuple(st["choices"])))
        if isinstance(match, str):
            return Replay(init, path, f"{name}: {match}", i + 1)
        if match.kernel != st["kernel_function"]:
            what = f"it models {match.kernel}, the trace says {st['kernel_function']}"
            return Replay(init, path, f"{name}: {what}", i + 1)
        events = [event_json(e) for e in match.events]
        if canonical(events) != canonical(st["events"]):
            what = "; ".join(e["kind"] for e in events) or "none"
            return Replay(
                init, path, f"{name}: its primitives record different events in the model ({what})", i + 1
            )
        got = state_json(model, match.state)
        if canonical(got) != canonical(st["state"]):
            diff = state_difference(st["state"], got)
            return Replay(init, path, f"{name}: the model reaches a different state ({diff})", i + 1)
        path.append(match)
        state = match.state
    return Replay(init, path)


def replay(model: Model, data: dict[str, Any]) -> tuple[State, list[Transition], str | None]:
    """Re-execute a trace on ``model``. Returns the initial state, the transitions taken and
    ``None`` — or, at the first step the model does not produce, a message saying so."""
    r = replay_trace(model, data)
    return r.initial, r.path, r.problem
