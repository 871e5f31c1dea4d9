"""``vmacheck show``: load a trace file, replay it on the model, display it."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from protocol import Model, VariantError

from .errors import UserError
from .loader import Catalogue, resolve_variant
from .render import render_trace_text
from .trace import load_trace_json, replay


def model_for(data: dict) -> tuple[Model | None, str]:
    """The model a trace was written from, or ``None`` and why it cannot be rebuilt."""
    cat = Catalogue.shipped()
    spec = data.get("variant_file") or data["variant"]
    try:
        variants = resolve_variant(spec, cat)
    except UserError as exc:
        return None, str(exc)
    variant = next((v for v in variants if v.name == data["variant"]), None)
    if variant is None:
        return None, f"{spec} no longer defines variant '{data['variant']}'"
    scenario = cat.scenarios.get(data["scenario"])
    if scenario is None:
        return None, f"unknown scenario '{data['scenario']}'"
    try:
        return Model(variant, scenario), ""
    except VariantError as exc:
        return None, str(exc)


def replay_note(data: dict) -> str:
    model, why = model_for(data)
    if model is None:
        return f"not replayed: {why}"
    _, _, problem = replay(model, data)
    if problem:
        return f"WARNING: the model no longer produces this trace: {problem}"
    return "replayed: the current model produces this trace step by step"


def show(opts: argparse.Namespace) -> int:
    data = load_trace_json(opts.trace)
    out = Console(highlight=False, soft_wrap=True)
    out.print(escape(render_trace_text(data)))
    out.print(escape(replay_note(data)))
    if opts.html:
        raise UserError("--html: the HTML viewer is not built yet")
    return 0
