"""Progress display for long runs, on stderr.

Nothing is shown before ``delay`` seconds have passed since the command started. On a
terminal, a one-line rich status is updated in place and removed at the end; when stderr is a
file or pipe, a plain line is printed every ``plain_every`` seconds instead.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

from vmacheck.checker.core.result import Stats


class Reporter:
    def __init__(self, console: Console, enabled: bool = True, delay: float = 2.0, plain_every: float = 10.0):
        self.console = console
        self.enabled = enabled
        self.delay = delay
        self.plain_every = plain_every
        self.label = ""
        self.started = time.monotonic()  # the command's start: many short runs add up
        self.t0 = self.started
        self.last_plain = self.started
        self.live: Live | None = None

    def begin(self, label: str) -> None:
        self.label = label
        self.t0 = time.monotonic()

    def update(self, stats: Stats, frontier: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < self.delay:
            return
        text = (
            f"{self.label}: {stats.states:,} states, {stats.transitions:,} transitions, "
            f"depth {stats.depth}, frontier {frontier:,}, {stats.states_per_second:,.0f} states/s, "
            f"{stats.peak_mb:.0f} MB, {now - self.t0:.0f} s"
        )
        if self.console.is_terminal:
            if self.live is None:
                self.live = Live(Text(text), console=self.console, transient=True, auto_refresh=False)
                self.live.start()
            self.live.update(Text(text), refresh=True)
        elif now - self.last_plain >= self.plain_every:
            self.last_plain = now
            self.console.print(text)

    def end(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
