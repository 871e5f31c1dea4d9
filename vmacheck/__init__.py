"""vmacheck: a model checker for the locking protocols of the Linux memory manager.

The public API a variant file imports::

    from vmacheck import Frame, Kernel, Program, Ptr, VmaView, param, Variant
    from vmacheck import Scenario, VmaSpec, thread, oneof

The model lives in :mod:`vmacheck.protocol`, the specification in :mod:`vmacheck.properties`
and the machinery (engines, traces, viewers, the command line) in :mod:`vmacheck.checker`.
In the source tree those are the top-level folders ``protocol/``, ``properties/`` and
``checker/``; this package reaches them through symbolic links, and an installed wheel holds
them as real sub-packages.
"""

from __future__ import annotations

__version__ = "0.2.0"

from .properties import Property, Violation  # noqa: E402
from .protocol import (  # noqa: E402
    VM_DEAD,
    VM_GROWSDOWN,
    VM_GROWSUP,
    VM_RDONLY,
    Frame,
    Kernel,
    Program,
    Ptr,
    Scenario,
    ThreadSpec,
    Variant,
    VariantError,
    VmaSpec,
    VmaView,
    oneof,
    param,
    thread,
)

__all__ = [
    "VM_DEAD",
    "VM_GROWSDOWN",
    "VM_GROWSUP",
    "VM_RDONLY",
    "Frame",
    "Kernel",
    "Program",
    "Property",
    "Ptr",
    "Scenario",
    "ThreadSpec",
    "Variant",
    "VariantError",
    "Violation",
    "VmaSpec",
    "VmaView",
    "__version__",
    "oneof",
    "param",
    "thread",
]
