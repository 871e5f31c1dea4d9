"""vmacheck's model of the Linux memory manager: state, primitives, programs, variants,
scenarios. Engines live in :mod:`checker`; this package never imports them."""

from __future__ import annotations

from .kernel import PRIMITIVES, Kernel, VariantError, VmaView
from .model import Model, Transition
from .program import Frame, Program, Ptr, param
from .scenario import Scenario, ThreadSpec, VmaSpec, oneof, thread
from .state import (
    VM_DEAD,
    VM_GROWSDOWN,
    VM_GROWSUP,
    VM_RDONLY,
    State,
    ThreadState,
    Vma,
)
from .variant import Variant

__all__ = [
    "PRIMITIVES",
    "Frame",
    "Kernel",
    "Model",
    "Program",
    "Ptr",
    "Scenario",
    "State",
    "ThreadSpec",
    "ThreadState",
    "Transition",
    "VM_DEAD",
    "VM_GROWSDOWN",
    "VM_GROWSUP",
    "VM_RDONLY",
    "VariantError",
    "Variant",
    "Vma",
    "VmaSpec",
    "VmaView",
    "oneof",
    "param",
    "thread",
]
