"""deadlock_free: every state with an unfinished thread has a step that can run.

The rwsem hazards the thread discussed: a blocking ``upgrade_read`` waits for every other
reader, and a writer queued before it waits for the upgrader's read hold — forever; a
recursive ``down_read`` queues behind a waiting writer that waits for the first read hold.
"""

from __future__ import annotations

from vmacheck.protocol.model import Model
from vmacheck.protocol.rwsem import describe
from vmacheck.protocol.state import State

from .base import Property, Violation


class DeadlockFree(Property):
    name = "deadlock_free"
    summary = "no reachable state where unfinished threads all wait"
    symbolic_hooks = True

    def check_stuck(self, model: Model, state: State) -> Violation | None:
        waiting = [
            f"T{tid} at {model.programs[tid].steps[th.pc].label}"
            for tid, th in enumerate(state.threads)
            if not th.done
        ]
        return self.violation(
            "deadlock: " + ", ".join(waiting) + f" wait forever (mmap_sem {describe(state.sem)})",
            thread=next(t for t, th in enumerate(state.threads) if not th.done),
        )


PROPERTY = DeadlockFree()
