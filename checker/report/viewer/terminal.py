"""The terminal viewer: a trace drawn with rich, one block (or one line) per step.

Each thread is a lane: a column of its own, in its own colour, so who ran which step reads
top to bottom. Under each step: what its primitives did, what changed, the address space
as rows of one character per page (see :mod:`.frames`), the vmas, and each thread's
position and locals. What changed is highlighted; the failing part is red.

Output is plain ASCII. Without colour (a pipe, ``NO_COLOR``, ``--color never``) the
highlights become marker lines under each row: ``^`` changed in this step, ``!`` the
failing part.

Width. On a pipe lines are never wrapped, so the output survives ``less -S`` and mail as
it is. On a terminal (or with :attr:`TerminalOptions.width`) the viewer fits its lines to
the width, because the terminal would otherwise fold them and a 64-page strip under eight
lanes folds into a mess: the page strip is cut into bands of whole tens of pages, each
under its own ruler; long text lines break at ``;`` or spaces, continuing indented under
their field; ``--compact`` moves the strips into tables of their own. Lanes that do not fit
(more than about 100 columns on a pipe) narrow to one column per thread holding its name
where it ran, with the step written once after the lanes. A two-thread trace of eight pages
fits 80 columns as it is.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from vmacheck.checker.report.viewer.frames import Cell, Frame, Row, ThreadView, TraceView, merged_space

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
STEP_WIDTH = 6  # "  12  ": the step number before the lanes
FIELD_HANG = 12  # where a header field's text starts: "  why       "
DETAIL_HANG = len(INDENT) + NAME_WIDTH  # where a step's detail text and page strips start
# Full lanes while they fit: on a pipe (no width) up to this many columns, which keeps every
# lane of the shipped two- and three-thread scenarios (at most 97 columns) full.
PIPE_LANES = 100
SEM_ROOM = len("R by {T0,T1}")  # the lock state reserved beside full lanes on a terminal
BAND = 10  # page bands are whole tens of pages, so that the ruler's tens line stays clean
COMPACT_CHANGES = 40  # the least room for the compact changes column; else it goes under the step


Part = str | tuple[str, str] | Text  # a piece of a line: plain, (text, style), or styled text


@dataclass
class TerminalOptions:
    mode: str = FULL  # FULL, CHANGES (only what each step changed) or COMPACT (one line per step)
    markers: bool | None = None  # marker lines under rows; default: when there is no colour
    width: int | None = None  # fit lines to this many columns; default: a terminal's width, none on a pipe


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
        self.width = options.width
        if self.width is None and console.is_terminal:
            self.width = console.width
        self.lanes = self._lane_widths()
        full = sum(self.lanes) + 3 * (len(self.lanes) - 1)
        room = PIPE_LANES if self.width is None else self.width - STEP_WIDTH - 3 - SEM_ROOM
        self.narrow = full > room
        self.step_w = self._step_width() if self.narrow else 0
        # the page strips of a step block: bands that fit beside the row names
        self.bands = _bands(self.view.pages, None if self.width is None else self.width - DETAIL_HANG)

    # --- output helpers -----------------------------------------------------------------------
    def line(self, *parts: Part, hang: int = DETAIL_HANG) -> None:
        """Print one line; on a terminal, a line wider than it continues on lines indented
        by ``hang`` columns (under the field it belongs to)."""
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
        for piece in _wrap(text, self.width, hang):
            self.console.print(piece, soft_wrap=True, highlight=False)

    def _lane_widths(self) -> list[int]:
        widths = [len(f"{name} {call}") for name, call in self.view.calls]
        for f in self.view.frames[1:]:
            if f.thread is not None:
                widths[f.thread] = max(widths[f.thread], len(f.action))
        return [min(w, LANE_MAX) for w in widths]

    def _step_width(self) -> int:
        """Narrow lanes: the width of the column after them that says which step ran."""
        width = max(len(self._step_words(f)) for f in self.view.frames)
        width = min(width, LANE_MAX + 4)
        if self.width is not None:
            room = self.width - STEP_WIDTH - self.lanes_width(narrow_only=True) - 3 - 3 - SEM_ROOM
            width = min(width, max(room, len("T0 ") + 16))
        return width

    @staticmethod
    def _step_words(f: Frame) -> str:
        return "initial state" if f.thread is None else f"T{f.thread} {f.action}"

    def lanes_width(self, narrow_only: bool = False) -> int:
        """Columns the lanes take (with the step column after narrow lanes)."""
        if self.narrow or narrow_only:
            names = sum(len(f"T{tid}") for tid in range(len(self.lanes))) + len(self.lanes) - 1
            return names if narrow_only else names + 3 + self.step_w
        return sum(self.lanes) + 3 * (len(self.lanes) - 1)

    def lanes_text(self, frame: Frame | None) -> Text:
        """The lane columns: the step's text in its thread's column, ``:`` for the others
        still running, nothing for those that returned."""
        if self.narrow:
            return self._narrow_lanes(frame)
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

    def _narrow_lanes(self, frame: Frame | None) -> Text:
        """Narrow lanes: one column per thread, its name where it ran, ``:`` while it is
        inside its syscall; then the step that ran, once."""
        text = Text(no_wrap=True, overflow="ignore")
        for tid in range(len(self.lanes)):
            name = f"T{tid}"
            if tid:
                text.append(" ")
            if frame is None or frame.thread == tid:
                text.append(name, style=f"bold {lane_colour(tid)}")
            elif frame.index == 0 or frame.threads[tid].done:
                text.append(" " * len(name))
            else:
                text.append(":".ljust(len(name)), style=STYLE_DIM)
        text.append("   ")
        if frame is None:
            text.append("thread, step".ljust(self.step_w), style="bold")
        else:
            style = f"bold {lane_colour(frame.thread)}" if frame.thread is not None else ""
            text.append(_fit(self._step_words(frame), self.step_w).ljust(self.step_w), style=style)
        return text

    def cells_text(self, row: Row, last: bool, band: range | None = None) -> Text:
        return self._strip(self._page_cells(row), last, band)

    @staticmethod
    def _page_cells(row: Row) -> list[Cell]:
        """One cell per page (a page-table cell repeated over the pages it maps)."""
        return [cell for cell in row.cells for _ in range(row.span)]

    def _strip(self, cells: list[Cell], last: bool, band: range | None = None) -> Text:
        text = Text(no_wrap=True, overflow="ignore")
        for cell in cells if band is None else cells[band.start : band.stop]:
            text.append(cell.char, style=self._cell_style(cell, last))
        return text

    def _cell_style(self, cell: Cell, last: bool) -> str:
        if cell.fail and last:
            return STYLE_FAIL
        if cell.changed:
            return STYLE_CHANGED
        if cell.hit:
            return STYLE_HIT
        return STYLE_DIM if cell.char == "." else ""

    def marker_row(self, row: Row, last: bool, band: range | None = None) -> str | None:
        if not self.markers:
            return None
        cells = self._page_cells(row)
        if band is not None:
            cells = cells[band.start : band.stop]
        text = "".join("!" if c.fail and last else "^" if c.changed else " " for c in cells).rstrip()
        return text or None

    # --- header ---------------------------------------------------------------------------------
    def header(self) -> None:
        v = self.view
        n = v.nsteps
        self.line(
            (f"{v.property_name} VIOLATED", "bold red"),
            f"  {v.variant}, scenario {v.scenario}, {n} step{'s' if n != 1 else ''}",
            f" ({v.engine} engine)" if v.engine else "",
            hang=2,
        )
        self.field("why", [v.message], "bold")
        self.field("where", v.where)
        if v.property_summary:
            self.field("property", [f"{v.property_name}: {v.property_summary}"])
            body = _doc_body(v.property_doc)
            if body:
                wrap = 96 if self.width is None else max(40, min(96, self.width - FIELD_HANG))
                self.field("", textwrap.wrap(body, wrap), STYLE_DIM)
        if v.scenario_summary:
            self.field("scenario", [v.scenario_summary])
        calls = [f"{name} {call}" for name, call in v.calls]
        # narrow lanes show only the threads' names: say here, one a line, what each runs
        self.field("threads", calls if self.narrow else ["   ".join(calls)])
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
            self.line("  ", (f"{label:<9}", "bold"), " ", (text, style), hang=FIELD_HANG)

    # --- one step -------------------------------------------------------------------------------
    def lane_header(self) -> None:
        self.line(("step  ", "bold"), self.lanes_text(None), ("   mmap_sem", "bold"), hang=STEP_WIDTH)

    def step_line(self, f: Frame) -> None:
        sem_style = STYLE_CHANGED if f.sem_changed else ""
        hang = STEP_WIDTH + self.lanes_width() + 3
        self.line(f"{f.index:>4}  ", self.lanes_text(f), "   ", (f.sem, sem_style), hang=hang)

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
            for band in self.bands:
                self.ruler(band, INDENT, NAME_WIDTH)
                for row in rows:
                    self.line(INDENT, f"{row.name:<{NAME_WIDTH}}", self.cells_text(row, f.last, band))
                    marks = self.marker_row(row, f.last, band)
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

    def ruler(self, band: range, indent: str, name_width: int) -> None:
        """The page numbers over a band of pages: their last digit, and above it, when the
        trace has more than ten pages, the tens at every tenth page."""
        tens, units = _ruler(band, self.view.pages)
        if tens is not None:
            self.line(indent, (f"{'page':<{name_width}}", STYLE_DIM), (tens, STYLE_DIM))
            self.line(indent, " " * name_width, (units, STYLE_DIM))
        else:
            self.line(indent, (f"{'page':<{name_width}}", STYLE_DIM), (units, STYLE_DIM))

    # --- compact --------------------------------------------------------------------------------
    def compact(self) -> None:
        """One line per step. When the three strips do not fit beside the lanes on the
        terminal, the lines keep the lanes, the lock and the changes, and the strips follow
        in tables of their own, a band of pages each, one line per step."""
        pages = self.view.pages
        sem_w = max(len(f.sem) for f in self.view.frames)
        lead = STEP_WIDTH + self.lanes_width() + 3 + sem_w + 3  # where the strips start
        strips_w = 3 * pages + 4
        together = self.width is None or lead + strips_w + 2 + COMPACT_CHANGES <= self.width
        head: list[Part] = [
            ("step  ", "bold"),
            self.lanes_text(None),
            ("   " + "mmap_sem".ljust(sem_w), "bold"),
        ]
        changes_at = lead + strips_w + 2 if together else lead
        under = self.width is not None and self.width - changes_at < COMPACT_CHANGES
        if under:
            # too little room right of the lock state: the changes go under the step
            changes_at = STEP_WIDTH + (self.lanes_width(narrow_only=True) + 3 if self.narrow else 0)
        if together:
            names = "vma".ljust(pages) + "  " + "pte".ljust(pages) + "  " + "ptab".ljust(pages)
            head.append(("   " + names, "bold"))
        self.line(*head, ("" if under else "  changes" if together else "   changes", "bold"), hang=lead)
        if under:
            self.line(" " * changes_at, ("changes", "bold"))
        if together:
            self.strip_ruler(range(pages), " " * lead)
        for f in self.view.frames:
            sem_style = STYLE_CHANGED if f.sem_changed else ""
            what = "; ".join(f.changes)
            if f.events and f.last:
                what = "; ".join(f.events)
            what_part = (what, STYLE_HIT if f.last and f.events else "")
            strips: list[Part] = []
            if together:
                strips = [*self.strips(f, range(pages)), "  "]
            step: list[Part] = [
                f"{f.index:>4}  ",
                self.lanes_text(f),
                "   ",
                (f.sem.ljust(sem_w), sem_style),
                "   ",
            ]
            if under:
                self.line(*step, *strips)
                if what:
                    self.line(" " * changes_at, what_part, hang=changes_at)
            else:
                self.line(*step, *strips, what_part, hang=changes_at)
        if together:
            return
        assert self.width is not None
        for band in _bands(pages, self.width - STEP_WIDTH, strips=3):
            self.line("")
            n = len(band)
            names = "vma".ljust(n) + "  " + "pte".ljust(n) + "  " + "ptab"
            self.line(("step  ", "bold"), (names, "bold"), f"   pages {band.start}-{band.stop - 1}")
            self.strip_ruler(band, " " * STEP_WIDTH)
            for f in self.view.frames:
                self.line(f"{f.index:>4}  ", *self.strips(f, band))

    def strips(self, f: Frame, band: range) -> list[Part]:
        """The compact strips of a step over a band of pages: vmas (held ones in lower
        case), PTEs and page tables."""
        rows = {r.key: r for r in f.rows}
        space = self._strip(merged_space(f), f.last, band)
        pte = self.cells_text(rows["pte"], f.last, band)
        ptab = self.cells_text(rows["ptab"], f.last, band)
        return [space, "  ", pte, "  ", ptab]

    def strip_ruler(self, band: range, lead: str) -> None:
        tens, units = _ruler(band, self.view.pages)
        for text in ([tens.ljust(len(band))] if tens is not None else []) + [units]:
            self.line(lead, (text, STYLE_DIM), "  ", (text, STYLE_DIM), "  ", (text, STYLE_DIM))

    def run(self) -> None:
        self.header()
        if self.opts.mode == COMPACT:
            self.compact()
        else:
            self.lane_header()
            self.line("")
            for f in self.view.frames:
                self.block(f, only_changes=self.opts.mode == CHANGES)
        self.line(("=> ", "bold red"), (self.view.message, "bold red"), hang=3)
        v = self.view.verification
        if v is not None and not v.ok:
            self.line(("   " + v.note, "bold yellow"), hang=3)


def _bands(pages: int, room: int | None, strips: int = 1) -> list[range]:
    """The pages cut into bands of whole tens that fit ``room`` columns, ``strips`` strips
    side by side two columns apart; all the pages at once when they fit or nothing is to
    be fitted (a pipe)."""
    gaps = 2 * (strips - 1)
    if room is None or pages * strips + gaps <= room:
        return [range(pages)]
    widest = max(BAND, (room - gaps) // strips // BAND * BAND)
    count = -(-pages // widest)
    # as many bands as needed, but of about equal size: no band of two pages at the end
    per = -(-pages // count)
    size = min(widest, -(-per // BAND) * BAND)
    return [range(start, min(start + size, pages)) for start in range(0, pages, size)]


def _ruler(band: range, pages: int) -> tuple[str | None, str]:
    """The ruler over a band: the tens at every tenth page (``None`` for a trace of ten pages
    or fewer, whose single digits say it all) and the last digit of every page."""
    units = "".join(str(p % 10) for p in band)
    if pages <= 10:
        return None, units
    tens = [" "] * len(band)
    for i, p in enumerate(band):
        label = str(p // 10)
        if (p % 10 == 0 or i == 0) and i + len(label) <= len(band):
            tens[i : i + len(label)] = label
    return "".join(tens).rstrip(), units


def _wrap(text: Text, width: int | None, hang: int) -> list[Text]:
    """``text`` as lines of at most ``width`` columns (one line when ``width`` is None): broken
    where a field ends (three spaces, ``;``, ``,``) or else at a space, in the second half of
    the line if possible, else cut; continuation lines are indented by ``hang``."""
    out: list[Text] = []
    floor = 0
    while width is not None and len(text.plain) > width:
        plain = text.plain
        low = floor + max(1, (width - floor) // 2)
        cut = -1
        for sep in ("   ", "; ", ", ", " "):
            # the separator's own trailing spaces may pass the width: the break drops them
            at = plain.rfind(sep, low, width + len(sep) - len(sep.rstrip()))
            if at > 0:
                cut = at + len(sep.rstrip())
                break
        if cut <= floor:
            at = plain.rfind(" ", floor + 1, width + 1)
            cut = at if at > floor else width
        head = text[:cut]
        head.rstrip()
        out.append(head)
        rest = text[cut:]
        skip = len(rest.plain) - len(rest.plain.lstrip(" "))
        hang = min(hang, max(0, width - 20))
        text = Text(" " * hang, no_wrap=True, overflow="ignore") + rest[skip:]
        floor = hang
        if not rest.plain.strip():
            return out
    out.append(text)
    return out


def _doc_body(doc: str) -> str:
    """The explanation in a property's docstring: all but its first (title) paragraph."""
    paragraphs = doc.replace("``", "").strip().split("\n\n")
    return " ".join(" ".join(paragraphs[1:]).split())


def render_terminal(view: TraceView, console: Console, options: TerminalOptions | None = None) -> None:
    """Print ``view`` on ``console``."""
    _Writer(view, console, options or TerminalOptions()).run()
