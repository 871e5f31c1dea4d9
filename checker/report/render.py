"""Plain-text rendering of states and traces, in kernel vocabulary.

Used by ``vmacheck check`` to print each shortest counterexample, and by the viewers for the
per-step change lists. Everything here works on schema-1 JSON states (dicts), so a trace
read from a file renders the same as one fresh from the engine.

The address space is drawn as rows over the pages: ``vma`` shows the linked vma covering
each page (its tag's letter), ``held`` the vmas a thread has detached (lower case), ``pte``
which mapping's page each PTE maps, and ``ptab`` each page-table page: ``+`` allocated,
``-`` freed, ``.`` never allocated.
"""

from __future__ import annotations

from typing import Any

State = dict[str, Any]


def tag_char(tag: str) -> str:
    return tag if len(tag) == 1 else tag[-1]


def vma_label(v: dict[str, Any]) -> str:
    flags = [f.removeprefix("VM_") for f in v.get("flags", [])]
    text = f"{v['tag']}[{v['start']},{v['end']})"
    return text + (" " + "|".join(flags) if flags else "")


def sem_text(sem: dict[str, Any]) -> str:
    if sem.get("writer") is not None:
        text = f"W by T{sem['writer']}"
    elif sem.get("readers"):
        text = "R by {" + ",".join(f"T{r}" for r in sem["readers"]) + "}"
    else:
        text = "free"
    if sem.get("waiters"):
        text += "; waiting: " + ", ".join(f"T{t}({m})" for t, m in sem["waiters"])
    return text


def rows(state: State, pt_span: int) -> list[tuple[str, str]]:
    """``(name, row)`` pairs drawing the address space, one character per page."""
    pages = len(state["ptes"])
    linked = ["."] * pages
    held = ["."] * pages
    any_held = False
    for v in state["vmas"]:
        for p in range(max(v["start"], 0), min(v["end"], pages)):
            if v["status"] == "linked":
                linked[p] = tag_char(v["tag"])
            elif v["status"] == "detached":
                held[p] = tag_char(v["tag"]).lower()
                any_held = True
    ptes = [tag_char(t) if t is not None else "." for t in state["ptes"]]
    ptab = []
    for gen in state["page_tables"]:
        ch = "+" if gen > 0 else ("-" if gen < 0 else ".")
        ptab.append(ch * pt_span)
    out = [("page", "".join(str(p % 10) for p in range(pages))), ("vma", "".join(linked))]
    if any_held:
        out.append(("held", "".join(held)))
    out += [("pte", "".join(ptes)), ("ptab", "".join(ptab))]
    return out


def vma_legend(state: State) -> str:
    parts = []
    for v in sorted(state["vmas"], key=lambda v: (v["start"], v["id"])):
        text = vma_label(v)
        if v["status"] == "detached":
            text += f" (detached by T{v['owner']})"
        elif v["status"] == "freed":
            text += " (freed)"
        elif v.get("owner") is not None:
            text += f" (being unmapped by T{v['owner']})"
        parts.append(text)
    return "; ".join(parts) or "no vmas"


def changes(before: State, after: State, pt_span: int | None = None) -> list[str]:
    """What a step changed, in kernel terms."""
    out: list[str] = []
    old = {v["id"]: v for v in before["vmas"]}
    new = {v["id"]: v for v in after["vmas"]}
    for vid, v in new.items():
        o = old.get(vid)
        if o is None:
            out.append(f"new vma {vma_label(v)}" + (f" ({v['status']})" if v["status"] != "linked" else ""))
            continue
        if (o["start"], o["end"]) != (v["start"], v["end"]):
            out.append(f"{o['tag']} [{o['start']},{o['end']}) -> [{v['start']},{v['end']})")
        if o["status"] != v["status"]:
            who = f" by T{v['owner']}" if v.get("owner") is not None and v["status"] != "freed" else ""
            out.append(f"{vma_label(v)} {v['status']}{who}")
        if o["flags"] != v["flags"]:
            added = sorted(set(v["flags"]) - set(o["flags"]))
            removed = sorted(set(o["flags"]) - set(v["flags"]))
            if added:
                out.append(f"{v['tag']} +{'|'.join(added)}")
            if removed:
                out.append(f"{v['tag']} -{'|'.join(removed)}")
    for vid, o in old.items():
        if vid not in new:
            out.append(f"{vma_label(o)} forgotten")
    for p, (a, b) in enumerate(zip(before["ptes"], after["ptes"])):
        if a != b:
            out.append(f"pte {p}: {a or '-'} -> {b or '-'}")
    for i, (a, b) in enumerate(zip(before["page_tables"], after["page_tables"])):
        if (a > 0) != (b > 0):
            name = pt_range(i, pt_span) if pt_span else f"page table {i}"
            out.append(f"{name} {'allocated' if b > 0 else 'freed'}")
    if before["map_count"] != after["map_count"]:
        out.append(f"map_count {before['map_count']} -> {after['map_count']}")
    if before["mmap_sem"] != after["mmap_sem"]:
        out.append(f"mmap_sem {sem_text(after['mmap_sem'])}")
    vmas = {v["id"]: v for v in after["vmas"]}
    for tb, ta in zip(before["threads"], after["threads"]):
        for name, value in ta["locals"].items():
            if tb["locals"].get(name) != value and value is not None:
                out.append(f"T{ta['tid']} {name} = {local_text(value, vmas)}")
        if ta["done"] and not tb["done"]:
            out.append(f"T{ta['tid']} returns {ta['result']}")
    return out


def local_text(value: Any, vmas: dict[int, dict[str, Any]], generations: bool = False) -> str:
    """A local as the trace shows it: a vma pointer as the vma it points to; a page-table
    reference with its allocation generation if ``generations``."""
    if isinstance(value, dict) and "vma" in value:
        v = vmas.get(value["vma"])
        return f"&{vma_label(v)}" if v else f"&vma#{value['vma']} (gone)"
    if isinstance(value, dict) and "page_table" in value:
        gen = f" (generation {value['gen']})" if generations else ""
        return f"page table {value['page_table']}{gen}"
    if isinstance(value, dict) and "list" in value:
        return "[" + ", ".join(local_text(x, vmas, generations) for x in value["list"]) + "]"
    return str(value)


def call_text(trace: dict[str, Any], tid: int) -> str:
    th = trace["model"]["threads"][tid]
    args = ", ".join(f"{k}={v}" for k, v in th["args"].items())
    return f"{th['syscall']}({args})"


def render_trace_text(trace: dict[str, Any]) -> str:
    """A whole trace (schema-1 dict) as plain text."""
    span = trace["model"]["pt_span"]
    lines = [
        f"Counterexample for {trace['property']}: {trace['variant']} in scenario {trace['scenario']},"
        f" {len(trace['steps'])} steps",
        f"  {trace['violation']['message']}",
        "  threads: "
        + "; ".join(f"T{t['tid']} {call_text(trace, t['tid'])}" for t in trace["model"]["threads"]),
        "",
    ]

    def draw(state: State, indent: str = "      ") -> None:
        for name, row in rows(state, span):
            lines.append(f"{indent}{name:<5}{row}")
        lines.append(f"{indent}vmas: {vma_legend(state)}")

    lines.append("   0. initial state    mmap_sem " + sem_text(trace["initial"]["mmap_sem"]))
    draw(trace["initial"])
    prev = trace["initial"]
    for st in trace["steps"]:
        tid = st["thread"]
        kernel = st["kernel_function"]
        where = st["label"] + (f" ({kernel})" if kernel != st["label"] else "")
        lines.append(f"  {st['step']:>2}. T{tid} {call_text(trace, tid)}: {where}")
        for e in st["events"]:
            lines.append("      did: " + event_text(e, span))
        what = changes(prev, st["state"], span)
        if what:
            lines.append("      changes: " + "; ".join(what))
        lines.append("      mmap_sem " + sem_text(st["state"]["mmap_sem"]))
        if what:
            draw(st["state"])
        prev = st["state"]
    lines.append(f"  => {trace['violation']['message']}")
    return "\n".join(lines)


def _vma_state_text(v: dict[str, Any]) -> str:
    text = vma_label(v) + f" {v['status']}"
    if v.get("owner") is not None:
        text += f" (T{v['owner']})"
    return text


def state_difference(want: State, got: State) -> str:
    """The first way ``got`` differs from ``want``, as ``"<part>: <want> in the trace, <got>
    in the model"`` (both schema-1 states; used to say where a replay departs)."""
    wv = {v["id"]: v for v in want["vmas"]}
    gv = {v["id"]: v for v in got["vmas"]}
    for vid in sorted(set(wv) | set(gv)):
        a, b = wv.get(vid), gv.get(vid)
        if a != b:
            at = _vma_state_text(a) if a else "no such vma"
            bt = _vma_state_text(b) if b else "no such vma"
            return f"vma #{vid}: {at} in the trace, {bt} in the model"
    for p, (a, b) in enumerate(zip(want["ptes"], got["ptes"])):
        if a != b:
            return f"PTE of page {p}: {a or 'none'} in the trace, {b or 'none'} in the model"
    for i, (a, b) in enumerate(zip(want["page_tables"], got["page_tables"])):
        if a != b:
            return f"page table {i}: generation {a} in the trace, {b} in the model"
    if want["map_count"] != got["map_count"]:
        return f"map_count: {want['map_count']} in the trace, {got['map_count']} in the model"
    if want["mmap_sem"] != got["mmap_sem"]:
        return (
            f"mmap_sem: {sem_text(want['mmap_sem'])} in the trace, {sem_text(got['mmap_sem'])} in the model"
        )
    for ta, tb in zip(want["threads"], got["threads"]):
        for key in ("pc", "done", "result", "changed", "snapshot"):
            if ta.get(key) != tb.get(key):
                return f"T{tb['tid']} {key}: {ta.get(key)} in the trace, {tb.get(key)} in the model"
        for name in sorted(set(ta["locals"]) | set(tb["locals"])):
            a, b = ta["locals"].get(name), tb["locals"].get(name)
            if a != b or type(a) is not type(b):
                return f"T{tb['tid']} local {name}: {a} in the trace, {b} in the model"
    return "the states differ in how they are written"


def pt_range(index: int, pt_span: int) -> str:
    """``page table 1 (pages 2-3)``."""
    lo = index * pt_span
    pages = f"page {lo}" if pt_span == 1 else f"pages {lo}-{lo + pt_span - 1}"
    return f"page table {index} ({pages})"


def _event_vma(v: dict[str, Any]) -> str:
    return vma_label(v)


def event_text(e: dict[str, Any], pt_span: int) -> str:
    """One event of a step (what a primitive did) in kernel terms."""
    kind, prim = e["kind"], e["primitive"]
    page = e.get("page")
    vma = e.get("vma")
    if kind == "zap":
        text = f"{prim}: cleared the PTE of page {page} (mapping {e.get('tag')})"
        if vma:
            text += f", inside linked vma {_event_vma(vma)}"
        return text
    if kind == "detach":
        return f"{prim}: took {_event_vma(vma)} out of the tree" if vma else f"{prim}: detached a vma"
    if kind == "free_vma":
        return f"{prim}: freed {_event_vma(vma)}" if vma else f"{prim}: freed a vma"
    if kind == "free_pt":
        text = f"{prim}: freed {pt_range(page if page is not None else -1, pt_span)}"
        if e.get("pages"):
            text += ", which still held PTEs for pages " + ", ".join(map(str, e["pages"]))
        if e.get("vmas"):
            text += ", under linked " + ", ".join(_event_vma(v) for v in e["vmas"])
        return text
    if kind == "segv":
        text = f"{prim}: SIGSEGV for page {page}"
        return text + (f", although {_event_vma(vma)} maps it" if vma else "")
    if kind == "pte_store_freed":
        return f"{prim}: stored the PTE for page {page} into {e.get('detail', 'a page table')}, freed since"
    if kind == "vma_stale_use":
        text = f"{prim}: used a pointer to {_event_vma(vma) if vma else 'a vma'}"
        text += " that another thread detached or freed"
        return text + (f" ({e['detail']})" if e.get("detail") else "")
    if kind in ("lock_required", "lock_misuse", "return_locked"):
        return f"{prim}: {e.get('detail') or kind.replace('_', ' ')}"
    extra = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("kind", "thread", "primitive"))
    return f"{prim}: {kind}" + (f" ({extra})" if extra else "")
