"""The specification: named properties, one module each (design.md §5).

Every module in this package that defines ``PROPERTY`` is a shipped property; users can pass
their own :class:`Property` objects too (from a variant file).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import Property, Violation, vma_name


def shipped() -> dict[str, Property]:
    """Name → property, in the order of design.md §5."""
    found: dict[str, Property] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        prop = getattr(module, "PROPERTY", None)
        if isinstance(prop, Property):
            found[prop.name] = prop
    order = [
        "no_segv_on_mapped",
        "map_count_limit",
        "no_clobber",
        "no_pt_use_after_free",
        "no_vma_use_after_free",
        "vma_consistency",
        "deadlock_free",
        "lock_discipline",
        "documented_errno",
        "linearizable",
    ]
    return {n: found[n] for n in sorted(found, key=lambda n: (order.index(n) if n in order else 99, n))}


__all__ = ["Property", "Violation", "shipped", "vma_name"]
