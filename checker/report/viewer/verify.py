"""Is this trace still what the model does? Replay it, and judge its last step again.

:func:`verify` rebuilds the model a trace was written from (a shipped variant, or the user's
variant file the trace names), re-executes every step on it and asks the property again
whether the trace ends in a violation. The outcome is one of

- ``replayed``: the model produces the trace step by step and the property still fails at
  its end with the recorded message;
- ``diverged``: the model's sources changed since the trace was written (its ``digest``
  differs) and the model no longer produces the trace, or the property no longer judges
  it the same way: shown, with a warning saying where;
- ``not-replayed``: the model cannot be rebuilt here (unknown variant, scenario or file);
- and a :class:`TraceError` when the model is the very one that wrote the trace (same
  digest) and still does not produce it: then the file itself is inconsistent (a step
  that does not follow from the previous one), which ``vmacheck show`` reports as bad
  input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vmacheck.checker.errors import UserError
from vmacheck.checker.loader import Catalogue, resolve_variant
from vmacheck.checker.report.trace import TraceError, canonical, model_digest, replay_trace
from vmacheck.properties import Property, Violation
from vmacheck.protocol import Model, VariantError

REPLAYED = "replayed"
DIVERGED = "diverged"
NOT_REPLAYED = "not-replayed"
FRESH = "fresh"  # just found by an engine: nothing to replay


@dataclass
class Verification:
    status: str
    note: str  # one line, for the header of a view
    prop: Property | None = None  # the property as defined where the trace was rebuilt

    @property
    def ok(self) -> bool:
        return self.status in (REPLAYED, FRESH)


@dataclass
class Rebuilt:
    model: Model | None
    prop: Property | None
    why: str = ""


def rebuild(data: dict[str, Any]) -> Rebuilt:
    """The model and property a trace was written from, or why they cannot be rebuilt."""
    cat = Catalogue.shipped()
    spec = data.get("variant_file") or data["variant"]
    try:
        variants = resolve_variant(spec, cat)
    except UserError as exc:
        return Rebuilt(None, None, str(exc))
    variant = next((v for v in variants if v.name == data["variant"]), None)
    if variant is None:
        return Rebuilt(None, None, f"{spec} no longer defines variant '{data['variant']}'")
    scenario = cat.scenarios.get(data["scenario"])
    if scenario is None:
        return Rebuilt(None, None, f"unknown scenario '{data['scenario']}'")
    try:
        model = Model(variant, scenario)
    except VariantError as exc:
        return Rebuilt(None, None, str(exc))
    return Rebuilt(model, cat.properties.get(data["property"]))


def judge_end(model: Model, prop: Property, replayed: Any) -> list[Violation]:
    """Every violation ``prop`` reports at the end of a replayed trace: of its last step,
    of its last state, and of that state as final or stuck if no step can follow it."""
    path = replayed.path
    last = path[-1].state if path else replayed.initial
    found: list[Violation | None] = []
    hooks = prop.hooks()
    if "check_step" in hooks and path:
        before = path[-2].state if len(path) > 1 else replayed.initial
        found.append(prop.check_step(model, before, path[-1]))
    if "check_state" in hooks:
        found.append(prop.check_state(model, last))
    if hooks & {"check_final", "check_stuck"} and not model.successors(last):
        if all(th.done for th in last.threads):
            found.append(prop.check_final(model, last))
        else:
            found.append(prop.check_stuck(model, last))
    return [v for v in found if v is not None]


def verify(data: dict[str, Any]) -> Verification:
    """Replay a validated trace on the current model; see the module docstring."""
    rebuilt = rebuild(data)
    model, prop = rebuilt.model, rebuilt.prop
    if model is None:
        return Verification(NOT_REPLAYED, f"not replayed: {rebuilt.why}")
    digest = data["model"].get("digest")
    same = digest is not None and digest == model_digest(model)
    changed = (
        "its digest is not the current model's: the variant, the scenario or vmacheck"
        " changed since it was written"
        if digest is not None
        else "the trace records no model digest"
    )
    r = replay_trace(model, data)
    if r.problem is not None:
        if same:
            raise TraceError(f"inconsistent trace: {r.problem}")
        note = f"WARNING: the model no longer produces this trace ({changed}): {r.problem}"
        return Verification(DIVERGED, note, prop)
    if prop is None:
        return Verification(
            REPLAYED,
            f"replayed: the current model produces this trace step by step (property"
            f" '{data['property']}' is not known here, so its verdict was not re-checked)",
        )
    recorded = canonical(data["violation"])
    found = judge_end(model, prop, r)
    if any(canonical(v.to_json()) == recorded for v in found):
        return Verification(
            REPLAYED,
            f"replayed: the current model produces this trace step by step,"
            f" and {prop.name} still fails at its end",
            prop,
        )
    now = f"now reports: {found[0].message}" if found else "no longer fails at its end"
    if same:
        raise TraceError(f"inconsistent trace: the model produces its steps but {prop.name} {now}")
    note = f"WARNING: the model still produces this trace, but {prop.name} {now} ({changed})"
    return Verification(DIVERGED, note, prop)
