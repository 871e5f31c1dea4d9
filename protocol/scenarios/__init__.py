"""The shipped scenarios: every module in this package that defines ``SCENARIOS``.

Adding a scenario is adding it to a module here (or a new module).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..scenario import Scenario


def shipped() -> dict[str, Scenario]:
    """Name → scenario, in a stable order."""
    found: dict[str, Scenario] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for sc in getattr(module, "SCENARIOS", ()):
            if isinstance(sc, Scenario):
                found[sc.name] = sc
    return found
