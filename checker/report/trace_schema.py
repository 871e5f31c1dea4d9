"""Validation of schema-1 trace JSON without the model: its structure, then its consistency.

A trace file is read by people's tools as well as ours, and may be truncated, hand-edited or
written by an older or newer vmacheck. :func:`validate_trace` accepts exactly what
docs/trace-format.md describes and rejects anything else with one line that says where
(``step 7: state.vmas[1]: 'start' must be an integer``), so that no viewer ever meets a
malformed trace and fails with a traceback.

Beyond types it checks what must hold of every trace whatever the model (the model itself
is consulted later, by :func:`vmacheck.checker.report.trace.replay`): steps are numbered 1..n; the thread
taking a step was at that step's label and had not returned; no other thread's position or
locals changed in that step; every thread starts at its program's first step with the
arguments the header records. It deliberately does *not* check the invariants properties
judge (disjoint vmas, ``start < end``, ``map_count``): a counterexample exists to show a
state that breaks them. Unknown extra keys are allowed, so engines may extend the format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SCHEMA = 1
FORMAT = "vmacheck-trace"

VMA_STATUSES = ("linked", "detached", "freed")
SEM_MODES = ("R", "W", "U")  # rwsem waiter modes: reader, writer, modelled upgrade_read


class TraceError(Exception):
    """A trace file that is not a valid schema-1 trace; the message says what is wrong, on
    one line (control characters from the file are shown escaped)."""

    def __init__(self, message: str) -> None:
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


Check = Callable[[Any], bool]


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _nat(x: Any) -> bool:
    return is_int(x) and x >= 0


def _str(x: Any) -> bool:
    return isinstance(x, str)


def _name(x: Any) -> bool:
    """A name: a tag, a label, a flag, a syscall (printable, one line)."""
    return isinstance(x, str) and x != "" and x.isprintable()


def _is(want: Any) -> Check:
    """Exactly ``want`` (an integer is not a boolean)."""
    return lambda x: type(x) is type(want) and x == want


def _in(options: list[str]) -> Check:
    return lambda x: isinstance(x, str) and x in options


def _opt(check: Check) -> Check:
    return lambda x: x is None or check(x)


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, bool)) or is_int(x)


def short(value: Any, limit: int = 40) -> str:
    """A JSON value shortened to fit in a one-line message."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):  # pragma: no cover - only JSON values reach here
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TraceError(f"{where}: must be a JSON object, not {short(value)}")
    return value


def _field(obj: dict[str, Any], key: str, check: Check, what: str, where: str) -> Any:
    if key not in obj:
        raise TraceError(f"{where}: missing '{key}'")
    value = obj[key]
    if not check(value):
        raise TraceError(f"{where}: '{key}' must be {what}, not {short(value)}")
    return value


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    return _field(obj, key, lambda x: isinstance(x, list), "a list", where)  # type: ignore[no-any-return]


def canonical(value: Any) -> str:
    """One text per JSON value: equal iff the values are equal as JSON (``1`` is not
    ``1.0`` nor ``true``; key order does not matter)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


class _Header:
    """What the rest of the trace is checked against: the model section."""

    def __init__(self, model: dict[str, Any]) -> None:
        where = "model"
        self.pages: int = _field(model, "pages", lambda x: is_int(x) and x > 0, "a positive integer", where)
        self.pt_span: int = _field(
            model, "pt_span", lambda x: is_int(x) and x > 0, "a positive integer", where
        )
        if self.pages % self.pt_span:
            raise TraceError(f"model: pages ({self.pages}) is not a multiple of pt_span ({self.pt_span})")
        _field(model, "max_map_count", is_int, "an integer", where)
        if "digest" in model:
            _field(model, "digest", _str, "a string", where)
        threads = _list(model, "threads", where)
        if not threads:
            raise TraceError("model: 'threads' is empty")
        self.syscalls: list[str] = []
        self.labels: list[list[str]] = []
        self.args: list[dict[str, Any]] = []
        for tid, th in enumerate(threads):
            w = f"model.threads[{tid}]"
            th = _obj(th, w)
            _field(th, "tid", _is(tid), f"{tid} (its position)", w)
            self.syscalls.append(_field(th, "syscall", _name, "a syscall name", w))
            args = _field(th, "args", lambda x: isinstance(x, dict), "an object", w)
            for name, value in args.items():
                if not _scalar(value):
                    raise TraceError(f"{w}: argument '{name}' must be a number or a name, not {short(value)}")
            self.args.append(args)
            _field(th, "tag", _name, "a mapping tag", w)
            steps = _list(th, "steps", w)
            if not steps or not all(_name(s) for s in steps):
                raise TraceError(f"{w}: 'steps' must list the program's step labels")
            if len(set(steps)) != len(steps):
                raise TraceError(f"{w}: 'steps' names a step twice")
            self.labels.append(steps)

    @property
    def nthreads(self) -> int:
        return len(self.syscalls)

    def tid(self, x: Any) -> bool:
        return is_int(x) and 0 <= x < self.nthreads


def _check_local(value: Any, where: str, depth: int = 0) -> None:
    """A thread local: a number, a name, ``null``, a vma pointer, a page-table reference or a
    list of locals (see :func:`vmacheck.checker.report.trace._local_json`)."""
    if _scalar(value):
        return
    if depth < 8 and isinstance(value, dict):
        keys = set(value)
        if keys == {"vma"} and is_int(value["vma"]):
            return
        if keys == {"page_table", "gen"} and is_int(value["page_table"]) and is_int(value["gen"]):
            return
        if keys == {"list"} and isinstance(value["list"], list):
            for x in value["list"]:
                _check_local(x, where, depth + 1)
            return
    raise TraceError(f"{where}: not a thread local: {short(value)}")


def _check_state(data: Any, where: str, h: _Header) -> None:
    state = _obj(data, where)
    seen: set[int] = set()
    for i, v in enumerate(_list(state, "vmas", where)):
        w = f"{where}.vmas[{i}]"
        v = _obj(v, w)
        vid = _field(v, "id", is_int, "an integer", w)
        if vid in seen:
            raise TraceError(f"{w}: vma id {vid} appears twice")
        seen.add(vid)
        _field(v, "start", is_int, "an integer (a page)", w)
        _field(v, "end", is_int, "an integer (a page)", w)
        flags = _list(v, "flags", w)
        if not all(_name(f) for f in flags):
            raise TraceError(f"{w}: 'flags' must list flag names such as VM_GROWSDOWN")
        _field(v, "tag", _name, "a mapping tag", w)
        _field(v, "status", lambda x: x in VMA_STATUSES, "one of " + "/".join(VMA_STATUSES), w)
        _field(v, "owner", _opt(h.tid), "null or a thread number", w)
    _field(state, "map_count", is_int, "an integer", where)
    ptes = _list(state, "ptes", where)
    if len(ptes) != h.pages or not all(p is None or _name(p) for p in ptes):
        raise TraceError(f"{where}: 'ptes' must list {h.pages} mapping tags or nulls, one per page")
    tables = _list(state, "page_tables", where)
    if len(tables) != h.pages // h.pt_span or not all(is_int(g) for g in tables):
        raise TraceError(
            f"{where}: 'page_tables' must list {h.pages // h.pt_span} integers, one per page-table page"
        )
    sem = _obj(_field(state, "mmap_sem", lambda x: True, "", where), f"{where}.mmap_sem")
    w = f"{where}.mmap_sem"
    _field(sem, "writer", _opt(h.tid), "null or a thread number", w)
    if not all(h.tid(r) for r in _list(sem, "readers", w)):
        raise TraceError(f"{w}: 'readers' must list thread numbers")
    for waiter in _list(sem, "waiters", w):
        if not (
            isinstance(waiter, list) and len(waiter) == 2 and h.tid(waiter[0]) and waiter[1] in SEM_MODES
        ):
            raise TraceError(f'{w}: a waiter must be [thread, "R"|"W"|"U"], not {short(waiter)}')
    threads = _list(state, "threads", where)
    if len(threads) != h.nthreads:
        raise TraceError(f"{where}: {len(threads)} threads, the model section has {h.nthreads}")
    for tid, th in enumerate(threads):
        w = f"{where}.threads[{tid}]"
        th = _obj(th, w)
        _field(th, "tid", _is(tid), f"{tid} (its position)", w)
        _field(th, "syscall", _is(h.syscalls[tid]), f"'{h.syscalls[tid]}' as in 'model'", w)
        done = _field(th, "done", lambda x: isinstance(x, bool), "true or false", w)
        labels = h.labels[tid]
        if done:
            _field(th, "pc", lambda x: x is None, "null once the thread has returned", w)
        else:
            _field(th, "pc", _in(labels), "one of its program's steps", w)
        local_vars = _field(th, "locals", lambda x: isinstance(x, dict), "an object", w)
        for name, value in local_vars.items():
            _check_local(value, f"{w}.locals.{name}")
        _field(th, "result", _scalar, "a number, a name or null", w)
        snap = _field(th, "snapshot", lambda x: x is None or isinstance(x, list), "null or a list of tags", w)
        if snap is not None and not all(_name(t) for t in snap):
            raise TraceError(f"{w}: 'snapshot' must list mapping tags")
        _field(th, "changed", lambda x: isinstance(x, bool), "true or false", w)


def _check_event(e: Any, where: str, tid: int) -> None:
    e = _obj(e, where)
    _field(e, "kind", _name, "an event kind", where)
    _field(e, "thread", lambda x: x == tid and is_int(x), f"{tid}, the thread taking the step", where)
    _field(e, "primitive", _name, "a primitive's name", where)
    for key, check, what in (
        ("page", is_int, "an integer"),
        ("tag", _name, "a mapping tag"),
        ("detail", _str, "a string"),
    ):
        if key in e:
            _field(e, key, check, what, where)
    vmas = ([e["vma"]] if "vma" in e else []) + (_list(e, "vmas", where) if "vmas" in e else [])
    for v in vmas:
        w = f"{where}: vma {short(v)}"
        v = _obj(v, w)
        _field(v, "tag", _name, "a mapping tag", w)
        _field(v, "start", is_int, "an integer", w)
        _field(v, "end", is_int, "an integer", w)
    if "pages" in e and not all(is_int(p) for p in _list(e, "pages", where)):
        raise TraceError(f"{where}: 'pages' must list pages")


def _check_violation(data: dict[str, Any], h: _Header) -> None:
    v = _obj(_field(data, "violation", lambda x: True, "", "trace"), "violation")
    _field(v, "property", lambda x: x == data["property"], f"'{data['property']}' as at the top", "violation")
    _field(v, "message", _name, "a sentence", "violation")
    _field(v, "thread", _opt(h.tid), "null or a thread number", "violation")
    _field(v, "page", _opt(is_int), "null or a page", "violation")
    _field(v, "vma", _opt(_str), "null or a mapping tag", "violation")
    _field(v, "details", lambda x: isinstance(x, dict), "an object", "violation")


def _check_start(state: dict[str, Any], h: _Header) -> None:
    """Every thread begins at its first step, with the arguments the header names."""
    for tid, th in enumerate(state["threads"]):
        first = h.labels[tid][0]
        if th["done"] or th["pc"] != first:
            raise TraceError(f"initial: T{tid} must be at its first step '{first}', not {short(th['pc'])}")
        for name, value in h.args[tid].items():
            if canonical(th["locals"].get(name)) != canonical(value):
                raise TraceError(
                    f"initial: T{tid}'s argument {name} is {short(th['locals'].get(name))},"
                    f" the model section says {short(value)}"
                )


def _check_step_follows(i: int, tid: int, label: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    """A step moves only its own thread, which was at ``label`` and had not returned."""
    where = f"step {i + 1}"
    prev = before["threads"][tid]
    if prev["done"]:
        raise TraceError(f"{where}: T{tid} takes a step after it returned")
    if prev["pc"] != label:
        raise TraceError(f"{where}: T{tid} takes step '{label}' but was at '{prev['pc']}'")
    for other, (a, b) in enumerate(zip(before["threads"], after["threads"])):
        if other != tid and canonical(a) != canonical(b):
            raise TraceError(f"{where}: T{other} changed although only T{tid} took a step")


def validate_trace(data: Any) -> None:
    """Check that ``data`` (parsed JSON) is a schema-1 trace; raises :class:`TraceError`."""
    if not isinstance(data, dict):
        raise TraceError("not a vmacheck trace (the top level is not a JSON object)")
    if data.get("format") != FORMAT:
        raise TraceError('not a vmacheck trace (no "format": "vmacheck-trace")')
    schema = data.get("schema")
    if schema != SCHEMA or not is_int(schema):
        raise TraceError(f"unknown trace schema {short(schema)} (this vmacheck reads schema {SCHEMA})")
    for key in ("variant", "scenario", "property"):
        _field(data, key, _name, "a name", "trace")
    if "engine" in data:
        _field(data, "engine", _name, "an engine name", "trace")
    if "variant_file" in data:
        _field(data, "variant_file", _opt(_name), "null or a path", "trace")
    h = _Header(_obj(_field(data, "model", lambda x: True, "", "trace"), "model"))
    _check_violation(data, h)
    initial = _field(data, "initial", lambda x: True, "", "trace")
    _check_state(initial, "initial", h)
    _check_start(initial, h)
    before = initial
    for i, st in enumerate(_list(data, "steps", "trace")):
        w = f"step {i + 1}"
        st = _obj(st, w)
        _field(st, "step", _is(i + 1), f"{i + 1} (steps are numbered from 1)", w)
        tid = _field(st, "thread", h.tid, f"a thread number below {h.nthreads}", w)
        _field(
            st,
            "syscall",
            _is(h.syscalls[tid]),
            f"'{h.syscalls[tid]}', T{tid}'s syscall",
            w,
        )
        label = _field(st, "label", _in(h.labels[tid]), f"one of T{tid}'s steps", w)
        _field(st, "kernel_function", _name, "a kernel function name", w)
        if not all(_nat(c) for c in _list(st, "choices", w)):
            raise TraceError(f"{w}: 'choices' must list non-negative integers")
        for j, e in enumerate(_list(st, "events", w)):
            _check_event(e, f"{w}: events[{j}]", tid)
        after = _field(st, "state", lambda x: True, "", w)
        _check_state(after, f"{w}: state", h)
        _check_step_follows(i, tid, label, before, after)
        before = after
