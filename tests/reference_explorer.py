"""A deliberately naive reference explorer, for cross-checking the explicit engine.

No fingerprints, no reductions, no early stop, no cleverness: it stores every reachable state
in a set, walks them breadth-first, asks every property about every state and transition,
and records the depth of the first violation of each. The engine must agree with it on
state counts (with reductions off) and on verdicts and shortest-trace lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vmacheck.properties import Property
from vmacheck.protocol import Model, State


@dataclass
class ReferenceResult:
    states: int
    transitions: int
    # property name -> length of the shortest trace to a violation
    violated: dict[str, int] = field(default_factory=dict)


def explore(model: Model, props: list[Property]) -> ReferenceResult:
    depth: dict[State, int] = {}
    level = []
    for s in model.initial_states():
        if s not in depth:
            depth[s] = 0
            level.append(s)
    violated: dict[str, int] = {}
    transitions = 0

    def note(name: str, d: int) -> None:
        if name not in violated or d < violated[name]:
            violated[name] = d

    while level:
        nxt = []
        for s in level:
            d = depth[s]
            for p in props:
                if p.check_state(model, s) is not None:
                    note(p.name, d)
            succ = model.successors(s)
            if not succ:
                done = all(th.done for th in s.threads)
                for p in props:
                    v = p.check_final(model, s) if done else p.check_stuck(model, s)
                    if v is not None:
                        note(p.name, d)
            for tr in succ:
                transitions += 1
                for p in props:
                    if p.check_step(model, s, tr) is not None:
                        note(p.name, d + 1)
                if tr.state not in depth:
                    depth[tr.state] = d + 1
                    nxt.append(tr.state)
        level = nxt
    return ReferenceResult(len(depth), transitions, violated)
