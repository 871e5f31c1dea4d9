"""The progress display: silent for short runs, periodic plain lines when not a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from vmacheck.checker.core.result import Stats
from vmacheck.checker.report.progress import Reporter


def test_plain_progress_lines_when_not_a_terminal() -> None:
    buf = io.StringIO()
    rep = Reporter(Console(file=buf, force_terminal=False), delay=0.0, plain_every=0.0)
    rep.begin("[1/2] v / s")
    rep.update(Stats(1000, 2000, 7, 2.0, 30.0), 50)
    rep.end()
    text = buf.getvalue()
    assert "[1/2] v / s: 1,000 states, 2,000 transitions, depth 7" in text
    assert "\x1b[" not in text


def test_silent_before_the_delay() -> None:
    buf = io.StringIO()
    rep = Reporter(Console(file=buf, force_terminal=False), delay=60.0, plain_every=0.0)
    rep.begin("x")
    rep.update(Stats(1, 1, 1, 0.1, 1.0), 1)
    assert buf.getvalue() == ""


def test_disabled_reporter_prints_nothing() -> None:
    buf = io.StringIO()
    rep = Reporter(Console(file=buf), enabled=False, delay=0.0, plain_every=0.0)
    rep.begin("x")
    rep.update(Stats(1, 1, 1, 0.1, 1.0), 1)
    assert buf.getvalue() == ""
