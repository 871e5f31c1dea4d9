"""The terminal viewer: a trace drawn with rich, one block (or one line) per step.

Each thread is a lane: a column of its own, in its own colour, so who ran which step reads
top to bottom. Under each step: what its primitives did, what changed, the address space
as rows of one character per page (see :mod:`.frames`), the vmas, and each thread's
position and locals. What changed is highlighted; the failing part is red.

Output is plain ASCII and lines are never wrapped by us, so it survives pipes, ``less``
and mail. Without colour (a pipe, ``NO_COLOR``, ``--color never``) the highlights become
marker lines under each row: ``^`` changed in this step, ``!`` the failing part.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from vmacheck.checker.report.viewer.frames import Cell, Frame, Row, ThreadView, TraceView

FULL = "full"
CHANGES = "changes"
COMPACT = "compact"

LANE_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")
STYLE_CHANGED = "bold black on yellow"
STYLE_FAIL = "bold white on red"
STYLE_HIT = "bold red"
STYLE_DIM = "dim"
LANE_MAX = 46
INDENT = "      "
NAME_WIDTH = 10


@dataclass
class TerminalOptions:
    mode: str = FULL  # FULL, CHANGES (only what each step changed) or COMPACT (one line per step)
    markers: bool | None = None  # marker lines under rows; default: when there is no colour


def fit_encoding(text: str, encoding: str) -> str:
    """``text`` with each character the output cannot encode (an em dash in a docstring, on
    an ASCII-only pipe) replaced by ``?``, one for one, so highlights stay in place."""
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        return "".join(c if c.encode(encoding, "ignore") else "?" for c in text)


def lane_colour(tid: int) -> str:
    return LANE_COLOURS[tid % len(LANE_COLOURS)]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


class _Writer:
    def __init__(self, view: TraceView, console: Console, options: TerminalOptions) -> None:
        self.view = view
        self.console = console
        self.opts = options
        self.markers = options.markers if options.markers is not None else console.color_system is None
        self.lanes = self._lane_widths()

    # --- output helpers -----------------------------------------------------------------------
    def line(self, *parts: str | tuple[str, str] | Text) -> None:
        text = Text(no_wrap=True, overflow="ignore")
        for part in parts:
            if isinstance(part, Text):
                text.append_text(part)
            elif isinstance(part, tuple):
                text.append(part[0], style=part[1])
            else:
                text.append(part)
        text.rstrip()
        text.plain = fit_encoding(text.plain, self.console.encoding)
        self.console.print(text, soft_wrap=True, highlight=False)

    def _lane_widths(self) -> list[int]:
        widths = [len(f"{name} {call}") for name, call in self.view.calls]
        for f in self.view.frames[1:]:
            if f.thread is not None:
                widths[f.thread] = max(widths[f.thread], len(f.action))
        return [min(w, LANE_MAX) for w in widths]

    def lanes_text(self, frame: Frame | None) -> Text:
        """The lane columns: the step's text in its thread's column, ``:`` for the others
        still running, nothing for those that returned."""
        text = Text(no_wrap=True, overflow="ignore")
        for tid, width in enumerate(self.lanes):
            if tid:
                text.append(" | ", style=STYLE_DIM)
            if frame is None:
                name, call = self.view.calls[tid]
                text.append(_fit(f"{name} {call}", width).ljust(width), style=f"bold {lane_colour(tid)}")
            elif frame.thread == tid:
                text.append(_fit(frame.action, width).ljust(width), style=f"bold {lane_colour(tid)}")
            elif frame.index == 0:
                text.append(("initial state" if tid == 0 else "").ljust(width))
            elif frame.threads[tid].done:
                text.append(" " * width)
            else:
                text.append(":".ljust(width), style=STYLE_DIM)
        return text

    def cells_text(self, row: Row, last: bool) -> Text:
        text = Text(no_wrap=True, overflow="ignore")
        for cell in row.cells:
            text.append(cell.char * row.span, style=self._cell_style(cell, last))
        return text

    def _cell_style(self, cell: Cell, last: bool) -> str:
        if cell.fail and last:
            return STYLE_FAIL
        if cell.changed:
            return STYLE_CHANGED
        if cell.hit:
            return STYLE_HIT
        return STYLE_DIM if cell.char == "." else ""

    def marker_row(self, row: Row, last: bool) -> str | None:
        if not self.markers:
            return None
        marks = []
        for cell in row.cells:
            ch = "!" if cell.fail and last else "^" if cell.changed else " "
            marks.append(ch * row.span)
        text = "".join(marks).rstrip()
        return text or None

    # --- header ---------------------------------------------------------------------------------
    def header(self) -> None:
        v = self.view
        n = v.nsteps
        self.line(
            (f"{v.property_name} VIOLATED", "bold red"),
            f"  {v.variant}, scenario {v.scenario}, {n} step{'s' if n != 1 else ''}",
            f" ({v.engine} engine)" if v.engine else "",
        )
        self.field("why", [v.message], "bold")
        self.field("where", v.where)
        if v.property_summary:
            self.field("property", [f"{v.property_name}: {v.property_summary}"])
            body = _doc_body(v.property_doc)
            if body:
                self.field("", textwrap.wrap(body, 96), STYLE_DIM)
        if v.scenario_summary:
            self.field("scenario", [v.scenario_summary])
        self.field("threads", ["   ".join(f"{name} {call}" for name, call in v.calls)])
        if v.verification is not None:
            style = "green" if v.verification.ok else "bold yellow"
            self.field("replay", [v.verification.note], style)
        self.field(
            "legend",
            [
                "vma: the linked vma on each page (its letter)   flags: D VM_DEAD, v GROWSDOWN, ^ GROWSUP,"
                " r RDONLY",
                "Tn held: vmas thread n took out of the tree and still holds   pte: whose page each PTE maps",
                "ptab: page-table pages, + allocated, - freed, . never allocated" + self._highlight_legend(),
            ],
            STYLE_DIM,
        )
        self.line("")

    def _highlight_legend(self) -> str:
        if self.opts.mode == COMPACT:
            text = "   (vma column: held vmas in lower case)"
            return text if self.markers else text + "   highlighted: changed by the step"
        if self.markers:
            return "   ^ under a row: changed by this step, ! the failing part"
        return "   highlighted: changed by this step; red: the failing part"

    def field(self, name: str, lines: list[str], style: str = "") -> None:
        for i, text in enumerate(lines):
            label = name if i == 0 else ""
            self.line("  ", (f"{label:<9}", "bold"), " ", (text, style))

    # --- one step -------------------------------------------------------------------------------
    def lane_header(self) -> None:
        self.line(("step  ", "bold"), self.lanes_text(None), ("   mmap_sem", "bold"))

    def step_line(self, f: Frame) -> None:
        sem_style = STYLE_CHANGED if f.sem_changed else ""
        self.line(f"{f.index:>4}  ", self.lanes_text(f), "   ", (f.sem, sem_style))

    def block(self, f: Frame, only_changes: bool) -> None:
        self.step_line(f)
        if f.note:
            self.detail("note", [f.note])
        self.detail("did", f.events, STYLE_HIT)
        if f.changes:
            self.detail("changes", ["; ".join(f.changes)])
        elif f.index > 0:
            self.detail("changes", ["none visible (the thread only moved on)"], STYLE_DIM)
        rows = [
            r for r in f.rows if r.changed or not only_changes or (f.last and any(c.fail for c in r.cells))
        ]
        if only_changes and f.index == 0:
            rows = f.rows
        if rows:
            self.line(INDENT, (f"{'page':<{NAME_WIDTH}}", STYLE_DIM), (self._ruler(), STYLE_DIM))
            for row in rows:
                self.line(INDENT, f"{row.name:<{NAME_WIDTH}}", self.cells_text(row, f.last))
                marks = self.marker_row(row, f.last)
                if marks:
                    self.line(INDENT, " " * NAME_WIDTH, marks)
        if not only_changes or f.index == 0:
            count_style = STYLE_CHANGED if f.map_count_changed else ""
            self.line(
                INDENT,
                f"{'vmas':<{NAME_WIDTH}}",
                "; ".join(f.legend) or "none",
                "   map_count ",
                (str(f.map_count), count_style),
            )
            for th in f.threads:
                self.thread_line(th)
        self.line("")

    def thread_line(self, th: ThreadView) -> None:
        text = Text(no_wrap=True, overflow="ignore")
        text.append(f"{th.name:<{NAME_WIDTH}}", style=lane_colour(th.tid))
        text.append(th.status, style="bold" if th.changed else "")
        if th.lock:
            text.append(f", holds mmap_sem {'for write' if th.lock == 'W' else 'for read'}")
        for i, (name, value, changed) in enumerate(th.locals):
            text.append("; " if i else "   ")
            text.append(f"{name}={value}", style=STYLE_CHANGED if changed else "")
        self.line(INDENT, text)

    def detail(self, name: str, lines: list[str], style: str = "") -> None:
        for i, text in enumerate(lines):
            self.line(INDENT, f"{name if i == 0 else '':<{NAME_WIDTH}}", (text, style))

    def _ruler(self) -> str:
        return "".join(str(p % 10) for p in range(self.view.pages))

    # --- compact --------------------------------------------------------------------------------
    def compact(self) -> None:
        pages = self.view.pages
        sem_w = max(len(f.sem) for f in self.view.frames)
        self.line(
            ("step  ", "bold"),
            self.lanes_text(None),
            ("   " + "mmap_sem".ljust(sem_w), "bold"),
            ("   " + "vma".ljust(pages) + "  " + "pte".ljust(pages) + "  " + "ptab".ljust(pages), "bold"),
            ("  changes", "bold"),
        )
        self.line(
            "      ",
            " " * (sum(self.lanes) + 3 * (len(self.lanes) - 1)),
            "   ",
            " " * sem_w,
            "   ",
            (self._ruler(), STYLE_DIM),
            "  ",
            (self._ruler(), STYLE_DIM),
            "  ",
            (self._ruler(), STYLE_DIM),
        )
        for f in self.view.frames:
            rows = {r.key: r for r in f.rows}
            space = _merged_space(f)
            sem_style = STYLE_CHANGED if f.sem_changed else ""
            what = "; ".join(f.changes)
            if f.events and f.last:
                what = "; ".join(f.events)
            self.line(
                f"{f.index:>4}  ",
                self.lanes_text(f),
                "   ",
                (f.sem.ljust(sem_w), sem_style),
                "   ",
                space,
                "  ",
                self.cells_text(rows["pte"], f.last),
                "  ",
                self.cells_text(rows["ptab"], f.last),
                "  ",
                (what, STYLE_HIT if f.last and f.events else ""),
            )

    def run(self) -> None:
        self.header()
        if self.opts.mode == COMPACT:
            self.compact()
        else:
            self.lane_header()
            self.line("")
            for f in self.view.frames:
                self.block(f, only_changes=self.opts.mode == CHANGES)
        self.line(("=> ", "bold red"), (self.view.message, "bold red"))
        v = self.view.verification
        if v is not None and not v.ok:
            self.line(("   " + v.note, "bold yellow"))


def _merged_space(f: Frame) -> Text:
    """vma and held rows in one strip: linked vmas upper case, held (detached) lower case."""
    rows = {r.key: r for r in f.rows}
    vma = rows["vma"]
    held = [r for r in f.rows if r.key.startswith("held:")]
    text = Text(no_wrap=True, overflow="ignore")
    for p, cell in enumerate(vma.cells):
        shown = cell
        if cell.char == ".":
            for r in held:
                if r.cells[p].char != ".":
                    shown = r.cells[p]
                    break
        changed = cell.changed or any(r.cells[p].changed for r in held)
        fail = f.last and (cell.fail or any(r.cells[p].fail for r in held))
        style = STYLE_FAIL if fail else STYLE_CHANGED if changed else STYLE_DIM if shown.char == "." else ""
        text.append(shown.char, style=style)
    return text


def _doc_body(doc: str) -> str:
    """The explanation in a property's docstring: all but its first (title) paragraph."""
    paragraphs = doc.replace("``", "").strip().split("\n\n")
    return " ".join(" ".join(paragraphs[1:]).split())


def render_terminal(view: TraceView, console: Console, options: TerminalOptions | None = None) -> None:
    """Print ``view`` on ``console``."""
    _Writer(view, console, options or TerminalOptions()).run()
