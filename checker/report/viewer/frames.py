"""What each step of a trace looks like: the pictures both viewers draw.

A :class:`Frame` is one step (frame 0 is the initial state): who ran what, the lock state,
each thread's position and locals, and the address space as rows of cells over the pages:

- ``vma``: the linked vma covering each page, by its tag's letter (``#``: two linked vmas
  overlap there, which only a broken protocol produces);
- ``flags``: ``D`` VM_DEAD, ``v`` VM_GROWSDOWN, ``^`` VM_GROWSUP, ``r`` VM_RDONLY;
- ``Tn held``: the vmas thread ``n`` has taken out of the tree and still holds (lower case);
- ``pte``: whose page each PTE maps;
- ``ptab``: each page-table page, over the pages it maps: ``+`` allocated, ``-`` freed,
  ``.`` never allocated.

Every cell knows whether it changed in this step, whether the step's primitives touched it
(a zapped PTE, a freed page table, a SIGSEGV) and, in the last frame, whether it is the
failing part the property names. The set of rows is the same in every frame of a trace, so
the pictures line up when stepping through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from vmacheck.checker.report.render import (
    call_text,
    changes,
    event_text,
    local_text,
    pt_range,
    sem_text,
    tag_char,
    vma_label,
)
from vmacheck.checker.report.viewer.verify import Verification

FLAG_CHARS = {"VM_DEAD": "D", "VM_GROWSDOWN": "v", "VM_GROWSUP": "^", "VM_RDONLY": "r"}
EMPTY = "."


@dataclass
class Cell:
    char: str
    title: str  # the cell in words (hover text, screen readers)
    kind: str  # what the cell shows: vma, flags, held, pte, pt-on, pt-off, pt-never, none
    key: object = None  # what is compared with the previous frame to decide "changed"
    tag: str | None = None  # the mapping tag shown, for its colour
    edge: bool = False  # the first page of a vma (where a split shows)
    changed: bool = False
    hit: bool = False  # touched by one of this step's primitives
    fail: bool = False  # the failing part (last frame only)


@dataclass
class Row:
    key: str  # stable id: vma, flags, held:T0, pte, ptab
    name: str
    cells: list[Cell]
    span: int = 1  # pages per cell

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.cells)


@dataclass
class ThreadView:
    tid: int
    name: str  # T0
    call: str  # munmap(start=2, len=2)
    status: str  # "next: find_vma", "returned 0", "waits for mmap_sem (W) at down_write"
    lock: str | None  # how it holds mmap_sem: "W", "R" or None
    waiting: bool
    done: bool
    locals: list[tuple[str, str, bool]]  # (name, text, changed)
    changed: bool  # took this step


@dataclass
class Frame:
    index: int  # 0 = the initial state
    thread: int | None
    label: str
    kernel: str
    title: str  # "T1 access(addr=3): expand_stack (expand_downwards)"
    action: str  # "expand_stack (expand_downwards)", "initial state"
    note: str  # what kind of step it was, e.g. "joined the wait queue for mmap_sem"
    sem: str
    sem_mode: str  # W, R or free
    sem_changed: bool
    map_count: int
    map_count_changed: bool
    rows: list[Row]
    legend: list[str]
    changes: list[str]
    events: list[str]
    threads: list[ThreadView]
    last: bool = False


@dataclass
class TraceView:
    data: dict[str, Any]
    variant: str
    scenario: str
    scenario_summary: str
    property_name: str
    property_summary: str
    property_doc: str
    engine: str
    message: str
    where: list[str]
    calls: list[tuple[str, str]]  # (T0, munmap(start=2, len=2))
    pages: int
    pt_span: int
    frames: list[Frame] = field(default_factory=list)
    verification: Verification | None = None

    @property
    def nsteps(self) -> int:
        return len(self.frames) - 1


# --- cells ------------------------------------------------------------------------------------
def _linked_at(state: dict[str, Any], page: int) -> list[dict[str, Any]]:
    return [v for v in state["vmas"] if v["status"] == "linked" and v["start"] <= page < v["end"]]


def _flag_char(flags: list[str]) -> str:
    for name, ch in FLAG_CHARS.items():
        if name in flags:
            return ch
    return "?" if flags else EMPTY


def _vma_row(state: dict[str, Any], pages: int) -> list[Cell]:
    cells = []
    for p in range(pages):
        here = _linked_at(state, p)
        if not here:
            cells.append(Cell(EMPTY, f"page {p}: no vma", "none", None))
        elif len(here) > 1:
            names = ", ".join(vma_label(v) for v in here)
            cells.append(Cell("#", f"page {p}: overlapping vmas {names}", "vma", ("#", names)))
        else:
            v = here[0]
            text = f"page {p}: {vma_label(v)}"
            if v.get("owner") is not None:
                text += f", being unmapped by T{v['owner']}"
            cell = Cell(tag_char(v["tag"]), text, "vma", (v["tag"], tuple(v["flags"])), v["tag"])
            cell.edge = p == v["start"]
            cells.append(cell)
    return cells


def _flags_row(state: dict[str, Any], pages: int) -> list[Cell]:
    cells = []
    for p in range(pages):
        flags = sorted({f for v in _linked_at(state, p) for f in v["flags"]})
        title = f"page {p}: " + (" ".join(flags) if flags else "no flags")
        cells.append(Cell(_flag_char(flags), title, "flags" if flags else "none", tuple(flags)))
    return cells


def _held_row(state: dict[str, Any], pages: int, tid: int) -> list[Cell]:
    cells = []
    for p in range(pages):
        held = [
            v
            for v in state["vmas"]
            if v["status"] == "detached" and v.get("owner") == tid and v["start"] <= p < v["end"]
        ]
        if held:
            v = held[0]
            title = f"page {p}: {vma_label(v)} detached by T{tid}: out of the tree, still being unmapped"
            cell = Cell(tag_char(v["tag"]).lower(), title, "held", v["tag"], v["tag"])
            cell.edge = p == v["start"]
            cells.append(cell)
        else:
            cells.append(Cell(EMPTY, f"page {p}: nothing held by T{tid}", "none", None))
    return cells


def _freed_row(state: dict[str, Any], pages: int) -> list[Cell]:
    """Freed vmas some thread still points to: where a dangling pointer points."""
    cells = []
    for p in range(pages):
        freed = [v for v in state["vmas"] if v["status"] == "freed" and v["start"] <= p < v["end"]]
        if freed:
            v = freed[0]
            title = f"page {p}: {vma_label(v)} was freed (remove_vma); a thread still points to it"
            cell = Cell(tag_char(v["tag"]).lower(), title, "freed", v["tag"], v["tag"])
            cell.edge = p == v["start"]
            cells.append(cell)
        else:
            cells.append(Cell(EMPTY, f"page {p}: no freed vma", "none", None))
    return cells


def _pte_row(state: dict[str, Any]) -> list[Cell]:
    cells = []
    for p, tag in enumerate(state["ptes"]):
        if tag is None:
            cells.append(Cell(EMPTY, f"page {p}: no PTE", "none", None))
        else:
            cells.append(Cell(tag_char(tag), f"page {p}: a PTE maps a page of {tag}", "pte", tag, tag))
    return cells


def _ptab_row(state: dict[str, Any], pt_span: int) -> list[Cell]:
    cells = []
    for i, gen in enumerate(state["page_tables"]):
        name = pt_range(i, pt_span)
        if gen > 0:
            cells.append(Cell("+", f"{name}: allocated (generation {gen})", "pt-on", "on"))
        elif gen < 0:
            cells.append(Cell("-", f"{name}: freed", "pt-off", "off"))
        else:
            cells.append(Cell(EMPTY, f"{name}: never allocated", "pt-never", "never"))
    return cells


def _row_plan(data: dict[str, Any]) -> list[str]:
    """The rows every frame of this trace shows."""
    states = [data["initial"]] + [st["state"] for st in data["steps"]]
    keys = ["vma"]
    if any(v["flags"] for s in states for v in s["vmas"] if v["status"] == "linked"):
        keys.append("flags")
    holders = sorted(
        {
            v["owner"]
            for s in states
            for v in s["vmas"]
            if v["status"] == "detached" and v.get("owner") is not None
        }
    )
    keys += [f"held:{t}" for t in holders]
    if any(v["status"] == "freed" for s in states for v in s["vmas"]):
        keys.append("freed")
    return keys + ["pte", "ptab"]


def _rows(state: dict[str, Any], plan: list[str], pages: int, pt_span: int) -> list[Row]:
    rows = []
    for key in plan:
        if key == "vma":
            rows.append(Row(key, "vma", _vma_row(state, pages)))
        elif key == "flags":
            rows.append(Row(key, "flags", _flags_row(state, pages)))
        elif key.startswith("held:"):
            tid = int(key.split(":", 1)[1])
            rows.append(Row(key, f"T{tid} held", _held_row(state, pages, tid)))
        elif key == "freed":
            rows.append(Row(key, "freed", _freed_row(state, pages)))
        elif key == "pte":
            rows.append(Row(key, "pte", _pte_row(state)))
        else:
            rows.append(Row(key, "ptab", _ptab_row(state, pt_span), span=pt_span))
    return rows


def _mark_changes(rows: list[Row], before: list[Row]) -> None:
    for row, old in zip(rows, before):
        for cell, was in zip(row.cells, old.cells):
            cell.changed = cell.key != was.key


def _mark(rows: list[Row], key: str, index: int, attr: str) -> None:
    for row in rows:
        if row.key == key and 0 <= index < len(row.cells):
            setattr(row.cells[index], attr, True)


def _mark_events(rows: list[Row], events: list[dict[str, Any]], pt_span: int, attr: str) -> None:
    """Cells the step's primitives touched."""
    for e in events:
        page = e.get("page")
        kind = e["kind"]
        if kind in ("zap", "pte_store_freed") and page is not None:
            _mark(rows, "pte", page, attr)
            if kind == "pte_store_freed":
                _mark(rows, "ptab", page // pt_span, attr)
        elif kind == "free_pt" and page is not None:
            _mark(rows, "ptab", page, attr)
            for p in e.get("pages", []):
                _mark(rows, "pte", p, attr)
        elif kind == "segv" and page is not None:
            _mark(rows, "vma", page, attr)


def _event_ranges(events: list[dict[str, Any]], tag: str) -> list[tuple[int, int]]:
    """The ranges of the vmas tagged ``tag`` that events name (a tag may have several vmas)."""
    out = []
    for e in events:
        for v in ([e["vma"]] if "vma" in e else []) + list(e.get("vmas", [])):
            if v["tag"] == tag:
                out.append((v["start"], v["end"]))
    return out


def _mark_failure(rows: list[Row], violation: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """The failing part the property names: its page, and the pages of its vma (the vma of
    that tag the last step's events name, if they name one)."""
    page = violation.get("page")
    if page is not None:
        _mark(rows, "vma", page, "fail")
        _mark(rows, "pte", page, "fail")
    tag = violation.get("vma")
    if tag:
        ranges = _event_ranges(events, tag)
        for row in rows:
            if row.key in ("vma", "freed") or row.key.startswith("held:"):
                for p, cell in enumerate(row.cells):
                    if cell.tag == tag and (not ranges or any(lo <= p < hi for lo, hi in ranges)):
                        cell.fail = True


def merged_space(frame: Frame) -> list[Cell]:
    """The compact views' one strip of vmas: per page, the linked vma, else a vma some thread
    holds detached (its lower-case letter); changed or failing when either row is there."""
    rows = {r.key: r for r in frame.rows}
    held = [r for r in frame.rows if r.key.startswith("held:")]
    out = []
    for p, cell in enumerate(rows["vma"].cells):
        shown = cell
        if cell.char == EMPTY:
            shown = next((r.cells[p] for r in held if r.cells[p].char != EMPTY), cell)
        merged = replace(shown)
        merged.changed = cell.changed or any(r.cells[p].changed for r in held)
        merged.fail = cell.fail or any(r.cells[p].fail for r in held)
        out.append(merged)
    return out


# --- threads --------------------------------------------------------------------------------
def _lock_of(sem: dict[str, Any], tid: int) -> str | None:
    if sem.get("writer") == tid:
        return "W"
    if tid in sem.get("readers", []):
        return "R"
    return None


def _threads(
    data: dict[str, Any], state: dict[str, Any], before: dict[str, Any] | None, mover: int | None
) -> list[ThreadView]:
    vmas = {v["id"]: v for v in state["vmas"]}
    sem = state["mmap_sem"]
    out = []
    for tid, th in enumerate(state["threads"]):
        params = set(data["model"]["threads"][tid]["args"])
        old = before["threads"][tid]["locals"] if before is not None else {}
        waits = [m for t, m in sem["waiters"] if t == tid]
        if th["done"]:
            status = f"returned {th['result']}"
        elif waits:
            status = f"waits for mmap_sem ({waits[0]}) at {th['pc']}"
        else:
            status = f"next: {th['pc']}"
        loc = [
            (name, local_text(value, vmas, generations=True), before is not None and old.get(name) != value)
            for name, value in th["locals"].items()
            if name not in params and value is not None
        ]
        out.append(
            ThreadView(
                tid,
                f"T{tid}",
                call_text(data, tid),
                status,
                _lock_of(sem, tid),
                bool(waits),
                th["done"],
                loc,
                tid == mover,
            )
        )
    return out


def _legend(state: dict[str, Any]) -> list[str]:
    out = []
    for v in sorted(state["vmas"], key=lambda v: (v["start"], v["id"])):
        text = vma_label(v)
        if v["status"] == "detached":
            text += f" detached, held by T{v['owner']}"
        elif v["status"] == "freed":
            text += " freed (a thread still points to it)"
        elif v.get("owner") is not None:
            text += f" being unmapped by T{v['owner']}"
        out.append(text)
    return out


def _sem_mode(sem: dict[str, Any]) -> str:
    if sem.get("writer") is not None:
        return "W"
    return "R" if sem.get("readers") else "free"


# --- the whole trace --------------------------------------------------------------------------
def _where(data: dict[str, Any]) -> list[str]:
    """The failing part, as the header names it: thread, vma, page, and what the last step did."""
    v = data["violation"]
    last = data["steps"][-1]["state"] if data["steps"] else data["initial"]
    span = data["model"]["pt_span"]
    out = []
    if v.get("thread") is not None:
        tid = v["thread"]
        text = f"thread T{tid} {call_text(data, tid)}"
        mine = [st for st in data["steps"] if st["thread"] == tid]
        if mine:
            text += f", last step {mine[-1]['label']} ({mine[-1]['kernel_function']})"
        out.append(text)
    if v.get("vma"):
        found = [x for x in last["vmas"] if x["tag"] == v["vma"]]
        ranges = _event_ranges(data["steps"][-1]["events"] if data["steps"] else [], v["vma"])
        named = [x for x in found if any(x["start"] < hi and lo < x["end"] for lo, hi in ranges)]
        found = named or found
        out.append("vma " + ("; ".join(_legend({"vmas": found})) if found else f"mapping {v['vma']}"))
    if v.get("page") is not None:
        p = v["page"]
        if 0 <= p < len(last["ptes"]):
            here = _linked_at(last, p)
            text = f"page {p}: " + (", ".join(vma_label(x) for x in here) if here else "no vma")
            text += f", PTE {last['ptes'][p] or 'none'}, " + pt_range(p // span, span)
            text += " allocated" if last["page_tables"][p // span] > 0 else " not allocated"
            out.append(text)
        else:
            out.append(f"page {p}")
    if data["steps"]:
        st = data["steps"][-1]
        for e in st["events"]:
            out.append(f"last step, T{st['thread']} {event_text(e, span)}")
    for key, value in v.get("details", {}).items():
        out.append(f"{key}: {value}")
    return out


def property_text(name: str, catalogue: Any = None) -> tuple[str, str]:
    """The property's one-line summary and its explanation (the module docstring)."""
    if catalogue is None:
        from vmacheck.properties import shipped

        props = shipped()
    else:
        props = catalogue
    prop = props.get(name)
    if prop is None:
        return "", ""
    return prop.summary, prop.doc


def build_view(
    data: dict[str, Any],
    verification: Verification | None = None,
    properties: Any = None,
) -> TraceView:
    """The view of a validated schema-1 trace."""
    model = data["model"]
    pages, span = model["pages"], model["pt_span"]
    if verification is not None and verification.prop is not None:
        properties = {verification.prop.name: verification.prop}
    summary, doc = property_text(data["property"], properties)
    view = TraceView(
        data=data,
        variant=data["variant"],
        scenario=data["scenario"],
        scenario_summary=str(model.get("scenario_summary", "")),
        property_name=data["property"],
        property_summary=summary,
        property_doc=doc,
        engine=str(data.get("engine", "")),
        message=data["violation"]["message"],
        where=_where(data),
        calls=[(f"T{t['tid']}", call_text(data, t["tid"])) for t in model["threads"]],
        pages=pages,
        pt_span=span,
        verification=verification,
    )
    plan = _row_plan(data)
    prev: dict[str, Any] | None = None
    prev_rows: list[Row] | None = None
    for i, st in enumerate([None] + list(data["steps"])):
        state = data["initial"] if st is None else st["state"]
        rows = _rows(state, plan, pages, span)
        if prev_rows is not None:
            _mark_changes(rows, prev_rows)
        events = st["events"] if st is not None else []
        _mark_events(rows, events, span, "hit")
        if st is None:
            tid, label, kernel = None, "", ""
            title, action, note = "initial state", "initial state", ""
        else:
            tid, label, kernel = st["thread"], st["label"], st["kernel_function"]
            action = label + (f" ({kernel})" if kernel != label else "")
            title = f"T{tid} {call_text(data, tid)}: {action}"
            note = ""
            assert prev is not None
            if any(t == tid for t, _ in state["mmap_sem"]["waiters"]) and not any(
                t == tid for t, _ in prev["mmap_sem"]["waiters"]
            ):
                note = f"T{tid} joined the wait queue of mmap_sem"
            elif state["threads"][tid]["done"]:
                note = f"T{tid} returned {state['threads'][tid]['result']} to user space"
        sem = state["mmap_sem"]
        view.frames.append(
            Frame(
                index=i,
                thread=tid,
                label=label,
                kernel=kernel,
                title=title,
                action=action,
                note=note,
                sem=sem_text(sem),
                sem_mode=_sem_mode(sem),
                sem_changed=prev is not None and sem != prev["mmap_sem"],
                map_count=state["map_count"],
                map_count_changed=prev is not None and state["map_count"] != prev["map_count"],
                rows=rows,
                legend=_legend(state),
                changes=changes(prev, state, span) if prev is not None else [],
                events=[event_text(e, span) for e in events],
                threads=_threads(data, state, prev, tid),
            )
        )
        prev, prev_rows = state, rows
    last = view.frames[-1]
    last.last = True
    events = data["steps"][-1]["events"] if data["steps"] else []
    _mark_failure(last.rows, data["violation"], events)
    _mark_events(last.rows, events, span, "fail")
    return view
