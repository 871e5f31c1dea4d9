"""The engine registry: ``--engine NAME`` picks one of these, with its typed options.

An engine is a function from a model, the properties to check and *its options object* to a
:class:`CheckResult`. The options object is a frozen dataclass whose fields are the
engine's options; a field made with :func:`option` also says its command-line flag, so the
command line, the pytest plugin and Python code build options the same way
(:func:`make_options`), and an option the chosen engine does not have is an error naming
the option and the engine instead of a value silently dropped. Engines register themselves
from their own modules (:data:`ENGINE_MODULES`), so adding one touches neither the command
line nor the other engines.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vmacheck.checker.core.result import CheckResult
from vmacheck.checker.core.search import ProgressFn
from vmacheck.checker.errors import UserError
from vmacheck.properties import Property
from vmacheck.protocol import Model


def option(
    flag: str,
    help: str,
    default: Any = None,
    parse: Callable[[str], Any] | None = None,
    choices: Sequence[object] | None = None,
    switch: Any = dataclasses.MISSING,
    metavar: str | None = None,
) -> Any:
    """A field of an engine's options: its default, and how the command line sets it.

    ``switch``: the flag takes no value and sets the field to this (``--no-reduction`` sets
    ``reduction`` to ``False``)."""
    meta = {
        "flag": flag,
        "help": help,
        "parse": parse,
        "choices": choices,
        "switch": switch,
        "metavar": metavar,
    }
    return dataclasses.field(default=default, metadata=meta)


def whole(minimum: int) -> Callable[[str], int]:
    """A parser of whole numbers ``>= minimum`` for an option's flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            what = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def seconds(text: str) -> float:
    """A parser of a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def max_states_option() -> Any:
    return option("--max-states", "stop after N states (verdicts unknown)", parse=whole(1))


def timeout_option(default: float | None = None) -> Any:
    return option(
        "--timeout", "stop after S seconds per scenario", default=default, parse=seconds, metavar="S"
    )


RunFn = Callable[[Model, Sequence[Property], Any, "ProgressFn | None"], CheckResult]


@dataclass
class Engine:
    name: str
    summary: str
    run: RunFn
    options: type  # a frozen dataclass of option() fields
    # True: by default run only scenarios small enough to explore exhaustively
    exhaustive: bool = True

    def fields(self) -> dict[str, dataclasses.Field[Any]]:
        """The engine's options by attribute name."""
        return {f.name: f for f in dataclasses.fields(self.options)}


ENGINES: dict[str, Engine] = {}

# Engine modules: each calls register() when imported.
ENGINE_MODULES = (
    "vmacheck.checker.engines.explicit",
    "vmacheck.checker.engines.symbolic.engine",
    "vmacheck.checker.engines.random",
)


def register(engine: Engine) -> None:
    ENGINES[engine.name] = engine


def load_engines() -> dict[str, Engine]:
    for name in ENGINE_MODULES:
        importlib.import_module(name)
    return ENGINES


def _owners(name: str) -> list[str]:
    return [e.name for e in ENGINES.values() if name in e.fields()]


def make_options(engine: Engine, values: Mapping[str, Any]) -> Any:
    """``engine``'s options object with ``values`` (attribute name → value; ``None`` means
    not given). An option the engine does not have is a :class:`UserError` that names it
    and the engines that have it."""
    fields = engine.fields()
    given = {k: v for k, v in values.items() if v is not None}
    for name in given:
        if name not in fields:
            flag = next(
                (
                    f.metadata["flag"]
                    for e in ENGINES.values()
                    for f in dataclasses.fields(e.options)
                    if f.name == name
                ),
                name,
            )
            owners = _owners(name)
            has = (
                f" (an option of the {' and '.join(owners)} engine{'s' if len(owners) > 1 else ''})"
                if owners
                else ""
            )
            raise UserError(f"{flag}: the {engine.name} engine has no such option{has}")
    return engine.options(**given)


# --- the command line ----------------------------------------------------------------------------
def add_arguments(group: argparse._ArgumentGroup, engines: Mapping[str, Engine]) -> None:
    """Every engine's flags, each once (``--timeout`` serves every engine that has it).
    Values default to "not given", so that :func:`options_from` can tell what was set."""
    seen: dict[str, list[str]] = {}
    fields: dict[str, dataclasses.Field[Any]] = {}
    for engine in engines.values():
        for f in dataclasses.fields(engine.options):
            flag = f.metadata.get("flag")
            if flag is None:
                continue
            seen.setdefault(flag, []).append(engine.name)
            fields.setdefault(flag, f)
    for flag, f in fields.items():
        meta = f.metadata
        owners = seen[flag]
        who = "" if len(owners) == len(engines) else f"{', '.join(owners)}: "
        default = (
            ""
            if f.default in (None, dataclasses.MISSING) or meta["switch"] is not dataclasses.MISSING
            else f" (default {f.default})"
        )
        kwargs: dict[str, Any] = {
            "dest": f"opt_{f.name}",
            "default": argparse.SUPPRESS,
            "help": who + meta["help"] + default,
        }
        if meta["switch"] is not dataclasses.MISSING:
            kwargs.update(action="store_const", const=meta["switch"])
        else:
            if meta["parse"] is not None:
                kwargs["type"] = meta["parse"]
            if meta["choices"] is not None:
                kwargs["choices"] = meta["choices"]
            kwargs["metavar"] = meta["metavar"] or (
                "{" + ",".join(map(str, meta["choices"])) + "}" if meta["choices"] else "N"
            )
        group.add_argument(flag, **kwargs)


def options_from(engine: Engine, namespace: argparse.Namespace) -> Any:
    """``engine``'s options from parsed command-line flags (see :func:`add_arguments`)."""
    values = {k[4:]: v for k, v in vars(namespace).items() if k.startswith("opt_")}
    return make_options(engine, values)


__all__ = [
    "ENGINES",
    "Engine",
    "add_arguments",
    "load_engines",
    "make_options",
    "max_states_option",
    "option",
    "options_from",
    "register",
    "seconds",
    "timeout_option",
    "whole",
]
