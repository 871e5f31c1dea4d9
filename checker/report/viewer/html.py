"""The HTML viewer: one self-contained page per counterexample.

Everything is in the one file: the style sheet and the script (:mod:`.html_assets`), every
step's picture rendered here in Python, and the trace itself as JSON in
``<script type="application/json" id="vmacheck-trace">``, so the page is also the
machine-readable trace. No network, no CDN, no fonts to fetch: it opens offline, from a
mail attachment, and prints (every step, one after another).

Layout: the verdict and why; the failing part; the property's explanation; then, side by
side, the thread timeline (one swim lane per thread, one row per step, the lock state at
each step) and the state at the selected step: the address space as a grid over the pages,
what changed highlighted, what the step's primitives did, and each thread's position.

Big traces (up to 8 threads, 64 pages, 80 steps and more) stay readable at 1280 px:

- lanes whose step names would not fit in about half of such a window become *narrow*: one
  slim column per thread with its name where it ran, and the step named once, after the
  lanes. The lanes never share space with the picture: the timeline is a column of its own,
  sticky beside the picture, and scrolls inside itself (never under the picture) when it is
  longer or wider than the window;
- the page grid is cut into bands of 16 pages (whole page tables), each under its own page
  numbers, that sit side by side when the window is wide enough and wrap below each other
  when it is not, so no page is cut off;
- ``compact`` (``show --html FILE --compact``) is the terminal's ``--compact`` for the
  browser: narrow lanes, and in each row of the timeline the whole address space of that
  step drawn small (vmas, PTEs, page tables, a character per page) and what the step
  changed, so the whole race is on one screen; the selected step's full picture follows
  under the timeline.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from vmacheck.checker.report.viewer.frames import Cell, Frame, TraceView, merged_space
from vmacheck.checker.report.viewer.html_assets import CSS, JS

MAX_TAG_COLOURS = 8
LANE_CLASSES = 8  # a colour per thread up to eight threads
# Full lanes while their step names take at most this many characters together (about half
# of a 1280 px window in the timeline's font): every shipped two- and three-thread trace.
FULL_LANES_CH = 72
BAND_PAGES = 16  # pages per band of the grid, rounded up to whole page tables


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def embedded_json(data: dict[str, Any]) -> str:
    """The trace as JSON that is safe inside a ``<script>`` element: ``<`` only occurs in
    strings, where ``\\u003c`` means the same."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


class _Page:
    def __init__(self, view: TraceView, compact: bool = False) -> None:
        self.view = view
        self.compact = compact
        self.tags = self._tag_colours()
        self.narrow = compact or self._lanes_ch() > FULL_LANES_CH
        span = view.pt_span
        self.band = span * max(1, -(-BAND_PAGES // span))

    def _lanes_ch(self) -> int:
        """The characters the full lanes need: per lane its widest step name or header."""
        widths = [len(name) + 1 + len(call.split("(")[0]) for name, call in self.view.calls]
        for f in self.view.frames[1:]:
            if f.thread is not None:
                widths[f.thread] = max(widths[f.thread], len(f.label))
        return sum(w + 2 for w in widths)

    def _tag_colours(self) -> dict[str, int]:
        order: list[str] = []
        for f in self.view.frames:
            for row in f.rows:
                for cell in row.cells:
                    if cell.tag is not None and cell.tag not in order:
                        order.append(cell.tag)
        return {tag: i % MAX_TAG_COLOURS for i, tag in enumerate(order)}

    # --- header ---------------------------------------------------------------------------------
    def header(self) -> str:
        v = self.view
        n = v.nsteps
        out = [
            '<header id="summary">',
            f'<h1><span class="verdict">{_e(v.property_name)} violated</span></h1>',
            f'<p class="sub">variant <b>{_e(v.variant)}</b> &middot; scenario <b>{_e(v.scenario)}</b>'
            f" &middot; {n} step{'s' if n != 1 else ''}"
            + (f" &middot; {_e(v.engine)} engine" if v.engine else "")
            + "</p>",
            f'<p class="why" id="why">{_e(v.message)}</p>',
            '<dl class="facts">',
        ]
        if v.where:
            items = "".join(f"<li>{_e(w)}</li>" for w in v.where)
            out.append(f'<dt>where</dt><dd id="where"><ul>{items}</ul></dd>')
        chips = " ".join(
            f'<span class="chip l{i % LANE_CLASSES}">{_e(name)}</span><code>{_e(call)}</code>'
            for i, (name, call) in enumerate(v.calls)
        )
        out.append(f"<dt>threads</dt><dd>{chips}</dd>")
        if v.scenario_summary:
            out.append(f"<dt>scenario</dt><dd>{_e(v.scenario_summary)}</dd>")
        if v.verification is not None:
            cls = "replay-ok" if v.verification.ok else "replay-warn"
            out.append(f'<dt>replay</dt><dd id="replay" class="{cls}">{_e(v.verification.note)}</dd>')
        out.append("</dl>")
        if v.property_doc or v.property_summary:
            paragraphs = [p for p in v.property_doc.replace("``", "").split("\n\n") if p.strip()]
            title = paragraphs[0] if paragraphs else f"{v.property_name}: {v.property_summary}"
            body = "".join(f"<p>{_e(' '.join(p.split()))}</p>" for p in paragraphs[1:])
            out.append(
                f'<details class="property" id="property" open><summary>The property &mdash;'
                f" {_e(' '.join(title.split()))}</summary>{body}</details>"
            )
        out.append("</header>")
        return "\n".join(out)

    def controls(self) -> str:
        return (
            '<nav id="controls" aria-label="steps">'
            '<button id="prev" type="button" title="previous step (left arrow)">&larr; previous</button>'
            '<span id="position" aria-live="polite">Step 0</span>'
            '<button id="next" type="button" title="next step (right arrow)">next &rarr;</button>'
            '<span class="hint">keys: &larr; &rarr; (or &uarr; &darr;) step, Home / End first / last;'
            " click a row of the timeline</span>"
            '<span class="nojs-only">every step is shown below, one after another</span>'
            "</nav>"
        )

    # --- timeline -------------------------------------------------------------------------------
    def timeline(self) -> str:
        v = self.view
        if self.narrow:
            head = "".join(
                f'<th class="lane-head l{i % LANE_CLASSES}" data-lane="{i}" title="{_e(name)} {_e(call)}">'
                f'<span class="chip l{i % LANE_CLASSES}">{_e(name)}</span></th>'
                for i, (name, call) in enumerate(v.calls)
            )
            head += "<th>thread, step" + ("<br>changes" if self.compact else "") + "</th>"
        else:
            head = "".join(
                f'<th class="l{i % LANE_CLASSES}" data-lane="{i}"><span class="chip l{i % LANE_CLASSES}">'
                f"{_e(name)}</span> {_e(call.split('(')[0])}</th>"
                for i, (name, call) in enumerate(v.calls)
            )
        head += "<th>mmap_sem</th>"
        if self.compact:
            head += f'<th class="strips">{self.strips_head()}</th>'
        rows = []
        for f in v.frames:
            cells = []
            for tid, th in enumerate(f.threads):
                lane = f"lane l{tid % LANE_CLASSES}"
                if f.thread == tid:
                    text = f"T{tid}" if self.narrow else _e(f.label)
                    cells.append(
                        f'<td class="{lane} ran" data-lane="{tid}" title="{_e(f.title)}">{text}</td>'
                    )
                elif th.done and f.index > 0:
                    cells.append(f'<td class="{lane}" data-lane="{tid}"></td>')
                else:
                    text = "initial state" if f.index == 0 and tid == 0 and not self.narrow else ""
                    cells.append(f'<td class="{lane} alive" data-lane="{tid}">{text}</td>')
            if self.narrow:
                what = ""
                if self.compact:
                    # what the step changed, under its name: the row's one column of prose
                    done = "; ".join(f.events if f.last and f.events else f.changes)
                    what = f'<div class="changes">{_e(done)}</div>' if done else ""
                if f.thread is None:
                    cells.append(f'<td class="what">initial state{what}</td>')
                else:
                    kernel = f' <span class="kernel">({_e(f.kernel)})</span>' if f.kernel != f.label else ""
                    lane = f"l{f.thread % LANE_CLASSES}"
                    cells.append(
                        f'<td class="what {lane}"><b>T{f.thread}</b> {_e(f.label)}{kernel}{what}</td>'
                    )
            mark = "&#9888;" if f.last else ("&bull;" if f.events else "")
            cls = "last" if f.last else ""
            extra = f'<td class="strips">{self.strips(f)}</td>' if self.compact else ""
            rows.append(
                f'<tr data-step="{f.index}" class="{cls}" aria-selected="false">'
                f'<td class="step"><a href="#step-{f.index}">{f.index}</a></td>'
                + "".join(cells)
                + f'<td><span class="sem sem-{f.sem_mode}" title="mmap_sem {_e(f.sem)}">'
                + f"{_e(_sem_short(f))}</span></td>"
                + extra
                + f'<td class="mark" title="{_e("; ".join(f.events))}">{mark}</td></tr>'
            )
        table = "timeline narrow" if self.narrow else "timeline"
        return (
            '<section id="timeline-panel" aria-label="thread timeline">'
            f'<table class="{table}" id="timeline">'
            f"<thead><tr><th>step</th>{head}<th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )

    # --- compact: the address space of each step, small --------------------------------------
    def strips(self, f: Frame) -> str:
        """The step's vmas (held ones in lower case), PTEs and page tables, a character per
        page, as the terminal's ``--compact`` draws them; runs of equal cells share a span."""
        rows = {r.key: r for r in f.rows}
        ptab = [c for c in rows["ptab"].cells for _ in range(rows["ptab"].span)]
        out = []
        for name, cells in (("vma", merged_space(f)), ("pte", rows["pte"].cells), ("ptab", ptab)):
            runs: list[tuple[str, str]] = []  # (classes, text)
            for cell in cells:
                classes = self.mini_classes(cell, f.last)
                if runs and runs[-1][0] == classes:
                    runs[-1] = (classes, runs[-1][1] + cell.char)
                else:
                    runs.append((classes, cell.char))
            body = "".join(
                f'<span class="{cls}">{_e(text)}</span>' if cls else _e(text) for cls, text in runs
            )
            out.append(f'<span class="strip" data-strip="{name}" title="{name}">{body}</span>')
        return f'<div class="strip-set">{"".join(out)}</div>'

    def mini_classes(self, cell: Cell, last: bool) -> str:
        classes = []
        if cell.tag is not None and cell.kind in ("vma", "held", "freed", "pte"):
            classes.append(f"m{self.tags[cell.tag]}")
        if cell.kind in ("held", "freed", "pt-on", "pt-off", "none", "pt-never"):
            classes.append(cell.kind)
        if cell.fail and last:
            classes.append("fail")
        elif cell.changed:
            classes.append("chg")
        return " ".join(classes)

    def strips_head(self) -> str:
        """The compact strips' names over their page numbers (tens, then units)."""
        pages = self.view.pages
        tens = "".join(str(p // 10) if p % 10 == 0 else " " for p in range(pages))
        units = "".join(str(p % 10) for p in range(pages))
        lines = ([tens] if pages > 10 else []) + [units]
        out = []
        for name in ("vma", "pte", "ptab"):
            body = "\n".join([name] + lines)
            out.append(f'<span class="strip ruler" data-strip="{name}">{_e(body)}</span>')
        return f'<div class="strip-set">{"".join(out)}</div>'

    # --- one frame ------------------------------------------------------------------------------
    def cell(self, cell: Cell, span: int, last: bool) -> str:
        classes = [cell.kind]
        if cell.tag is not None and cell.kind in ("vma", "held", "freed", "pte"):
            classes.append(f"m{self.tags[cell.tag]}")
        if cell.edge:
            classes.append("edge")
        if cell.changed:
            classes.append("chg")
        if cell.hit:
            classes.append("hit")
        if cell.fail and last:
            classes.append("fail")
        title = cell.title + (" (changed by this step)" if cell.changed else "")
        colspan = f' colspan="{span}"' if span > 1 else ""
        return f'<td class="{" ".join(classes)}"{colspan} title="{_e(title)}">{_e(cell.char)}</td>'

    def space(self, f: Frame) -> str:
        """The grid, in bands of whole page tables that wrap below each other when the
        window is narrow (one band for a small trace)."""
        pages = self.view.pages
        tables = []
        for start in range(0, pages, self.band):
            stop = min(start + self.band, pages)
            head = "".join(f'<th data-page="{p}">{p}</th>' for p in range(start, stop))
            body = []
            for row in f.rows:
                cells = row.cells[start // row.span : stop // row.span]
                body.append(
                    f'<tr data-row="{_e(row.key)}"{" class=changed" if row.changed else ""}>'
                    f"<th>{_e(row.name)}</th>"
                    + "".join(self.cell(c, row.span, f.last) for c in cells)
                    + "</tr>"
                )
            label = "address space" if stop - start == pages else f"address space, pages {start}-{stop - 1}"
            tables.append(
                f'<table class="space" aria-label="{label}">'
                f"<thead><tr><th>page</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            )
        return f'<div class="space-bands">{"".join(tables)}</div>'

    def threads(self, f: Frame) -> str:
        rows = []
        for th in f.threads:
            lock = {"W": "holds mmap_sem for write", "R": "holds mmap_sem for read"}.get(th.lock or "", "")
            chip = f'<span class="chip l{th.tid % LANE_CLASSES}">{_e(th.name)}</span>'
            locs = "; ".join(
                f'<span class="{"chg" if changed else ""}">{_e(name)}={_e(value)}</span>'
                for name, value, changed in th.locals
            )
            rows.append(
                f'<tr data-thread="{th.tid}"><th>{chip}</th>'
                f'<td class="status{" changed" if th.changed else ""}">{_e(th.status)}</td>'
                f'<td class="lock">{lock}</td><td class="locals">{locs}</td></tr>'
            )
        return f'<table class="threads">{"".join(rows)}</table>'

    def frame(self, f: Frame) -> str:
        v = self.view
        if f.index == 0:
            title = "Step 0 &middot; the initial state"
        else:
            lane = f"l{(f.thread or 0) % LANE_CLASSES}"
            call = dict(v.calls)[f"T{f.thread}"]
            kernel = f' <span class="kernel">({_e(f.kernel)})</span>' if f.kernel != f.label else ""
            title = (
                f'Step {f.index} of {v.nsteps} &middot; <span class="chip {lane}">T{f.thread}</span>'
                f"<code>{_e(call)}</code>: <code>{_e(f.label)}</code>{kernel}"
            )
        parts = [
            f'<section class="frame{" last" if f.last else ""}" id="step-{f.index}" data-step="{f.index}">',
            f'<h2 class="frame-title">{title}</h2>',
        ]
        if f.note:
            parts.append(f'<p class="note">{_e(f.note)}</p>')
        parts.append(
            f'<p>mmap_sem: <span class="sem sem-{f.sem_mode}{" chg" if f.sem_changed else ""}"'
            f' id="sem-{f.index}">{_e(f.sem)}</span>'
            f' &nbsp; map_count: <b class="{"chg" if f.map_count_changed else ""}">{f.map_count}</b></p>'
        )
        if f.events:
            items = "".join(f"<li>{_e(e)}</li>" for e in f.events)
            parts.append(f'<h3>what the step did</h3><ul class="did">{items}</ul>')
        if f.index > 0:
            items = (
                "".join(f"<li>{_e(c)}</li>" for c in f.changes)
                or "<li>nothing visible (only its position)</li>"
            )
            parts.append(f'<h3>changes</h3><ul class="changes">{items}</ul>')
        parts.append("<h3>address space</h3>" + self.space(f))
        legend = "; ".join(f.legend) or "no vmas"
        parts.append(f'<p class="vmas">vmas: <code>{_e(legend)}</code></p>')
        parts.append("<h3>threads</h3>" + self.threads(f))
        if f.last:
            parts.append(f'<p class="final">&rArr; {_e(v.message)}</p>')
        parts.append("</section>")
        return "\n".join(parts)

    def legend(self) -> str:
        return (
            '<footer class="legend"><p><b>Reading the grid.</b> One column per page. '
            "<code>vma</code>: the linked vma on the page (its tag); <code>flags</code>: <code>D</code>"
            " VM_DEAD, <code>v</code> VM_GROWSDOWN, <code>^</code> VM_GROWSUP, <code>r</code> VM_RDONLY;"
            " <code>Tn held</code>: vmas thread n took out of the tree and still holds (lower case,"
            " hatched); <code>pte</code>: whose page the PTE maps; <code>ptab</code>: the page-table page"
            " over those pages, <code>+</code> allocated, <code>-</code> freed, <code>.</code> never"
            " allocated. A thick yellow frame: changed by this step; dashed red: touched by the step's"
            " primitives; solid red: the failing part; a dark bar: where a vma begins. Hover a cell for"
            " its meaning. In the timeline, <code>W T0</code> / <code>R T0,T1</code> say who holds"
            " mmap_sem and how, <code>+2q</code> that two threads wait in its queue.</p>"
            "<p>Written by vmacheck. The trace itself (JSON, schema 1, docs/trace-format.md) is embedded"
            ' in this page as <code>&lt;script id="vmacheck-trace"&gt;</code>; <code>vmacheck show</code>'
            " reads the JSON file it came from.</p></footer>"
        )

    def render(self) -> str:
        v = self.view
        title = f"{v.property_name} violated: {v.variant} / {v.scenario}"
        frames = "\n".join(self.frame(f) for f in v.frames)
        classes = (["compact"] if self.compact else []) + (["narrow-lanes"] if self.narrow else [])
        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                '<meta name="generator" content="vmacheck">',
                f"<title>{_e(title)}</title>",
                f"<style>{CSS}</style>",
                "</head>",
                f'<body class="{" ".join(classes)}">' if classes else "<body>",
                self.header(),
                self.controls(),
                f'<div class="layout{" stacked" if self.compact else ""}">',
                self.timeline(),
                f'<main id="frames">{frames}</main>',
                "</div>",
                self.legend(),
                f'<script type="application/json" id="vmacheck-trace">{embedded_json(v.data)}</script>',
                f"<script>{JS}</script>",
                "</body>",
                "</html>",
                "",
            ]
        )


def _sem_short(f: Frame) -> str:
    """The lock state in a few characters for the timeline: ``W T0``, ``R T0,T1``, ``-``,
    and ``+2q`` when two threads wait in its queue."""
    text = f.sem.split(";")[0]
    if text.startswith("W by "):
        short = "W " + text[5:]
    elif text.startswith("R by "):
        short = "R " + text[5:].strip("{}")
    else:
        short = "-"
    waiting = sum(1 for th in f.threads if th.waiting)
    return short + (f" +{waiting}q" if waiting else "")


def render_html(view: TraceView, compact: bool = False) -> str:
    """The whole self-contained page for ``view``; ``compact``: the layout of
    ``show --html FILE --compact`` (see the module docstring)."""
    return _Page(view, compact).render()
