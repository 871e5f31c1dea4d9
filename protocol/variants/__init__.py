"""The shipped variants: every module in this package that defines ``VARIANT``.

Adding a variant is adding one file here.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..variant import Variant


def shipped() -> dict[str, Variant]:
    """Name → variant, in a stable order (the order of the modules' names)."""
    found: dict[str, Variant] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        variant = getattr(module, "VARIANT", None)
        if isinstance(variant, Variant):
            variant.file = getattr(module, "__file__", "") or ""
            found[variant.name] = variant
    return found
