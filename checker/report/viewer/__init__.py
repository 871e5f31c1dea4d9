"""The counterexample viewers: a terminal one (rich) and a self-contained HTML page.

Both draw the same per-step pictures (:mod:`.frames`) from a schema-1 trace that was
validated on load and, where the model can be rebuilt, replayed on it (:mod:`.verify`).
"""

from __future__ import annotations

from vmacheck.checker.report.viewer.frames import TraceView, build_view
from vmacheck.checker.report.viewer.html import render_html
from vmacheck.checker.report.viewer.terminal import TerminalOptions, render_terminal
from vmacheck.checker.report.viewer.verify import Verification, verify

__all__ = [
    "TerminalOptions",
    "TraceView",
    "Verification",
    "build_view",
    "render_html",
    "render_terminal",
    "verify",
]
