"""``vmacheck show``: load a trace file, check it, replay it on the model, display it.

The file is validated on load (:func:`vmacheck.checker.report.trace.load_trace_json`), then replayed on
the current model (:func:`vmacheck.checker.report.viewer.verify`): a trace that does not follow from its
own model is bad input (exit 2); one the model no longer produces because the model
changed is shown with a warning that says where they part. Then the terminal viewer draws
it, or ``--html FILE`` writes the self-contained HTML viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from vmacheck.checker.core.trace import Trace
from vmacheck.checker.errors import UserError
from vmacheck.checker.report.trace import TraceError, load_trace_json, trace_json
from vmacheck.checker.report.viewer import TerminalOptions, build_view, render_html, render_terminal, verify
from vmacheck.checker.report.viewer.terminal import CHANGES, COMPACT, FULL, fit_encoding
from vmacheck.checker.report.viewer.verify import FRESH, NOT_REPLAYED, Verification


def console_for(color: str) -> Console:
    """The console to draw on: colour on a terminal (``auto``), always, or never."""
    if color == "always":
        return Console(highlight=False, soft_wrap=True, force_terminal=True)
    if color == "never":
        return Console(highlight=False, soft_wrap=True, color_system=None)
    return Console(highlight=False, soft_wrap=True)


def write_html(path: str | Path, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class ShowOptions:
    """What ``vmacheck show`` was asked for."""

    trace: str
    html: str | None = None
    compact: bool = False
    only_changes: bool = False
    color: str = "auto"  # auto, always, never
    no_replay: bool = False


def show(opts: ShowOptions) -> int:
    data = load_trace_json(opts.trace)
    if opts.no_replay:
        checked = Verification(NOT_REPLAYED, "not replayed: --no-replay (validated without the model)")
    else:
        try:
            checked = verify(data)
        except TraceError as exc:
            raise TraceError(f"{opts.trace}: {exc}") from None
    view = build_view(data, checked)
    out = console_for(opts.color)
    if opts.html:
        write_html(opts.html, render_html(view, compact=opts.compact))
        assert view.verification is not None
        for text in (
            f"wrote {opts.html}: the {view.property_name} counterexample, {view.nsteps} steps"
            " (open it in a browser; the arrow keys step through it)",
            view.verification.note,
        ):
            out.print(fit_encoding(text, out.encoding), markup=False)
        return 0
    mode = FULL
    if opts.compact:
        mode = COMPACT
    elif opts.only_changes:
        mode = CHANGES
    # NO_COLOR keeps a terminal's colour system but drops colours: mark changes in text then
    markers = True if out.no_color else None
    render_terminal(view, out, TerminalOptions(mode=mode, markers=markers))
    return 0


def write_trace_html(trace: Trace, path: str | Path) -> None:
    """The HTML viewer of a trace an engine has just found (``check --html``): fresh from
    the model, so there is nothing to replay."""
    data = trace_json(trace)
    note = f"found by the {data['engine']} engine on the current model just now"
    write_html(path, render_html(build_view(data, Verification(FRESH, note))))
