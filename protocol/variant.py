"""A variant: one locking protocol, i.e. the syscall programs that differ from the defaults.

Every variant supplies its own ``munmap``; the other syscalls (``mmap`` with MAP_FIXED,
``mremap``, ``mprotect``, ``access``) default to the kernel's pre-6.5 behaviour in
:mod:`vmacheck.protocol.syscalls` and may be overridden too (a variant that changes the page-fault
path, or lets MAP_FIXED fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .kernel import VariantError
from .program import Program


@dataclass
class Variant:
    name: str
    summary: str
    munmap: Program[Any]
    source: str = ""  # message id or commit the protocol comes from
    overrides: dict[str, Program[Any]] = field(default_factory=dict)
    doc: str = ""
    file: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise VariantError("a Variant needs a name")
        if not isinstance(self.munmap, Program):
            raise VariantError(f"variant '{self.name}': munmap must be a Program")
        for key, prog in self.overrides.items():
            if not isinstance(prog, Program):
                raise VariantError(f"variant '{self.name}': override '{key}' is not a Program")

    def program(self, syscall: str) -> Program[Any]:
        """The program this variant runs for ``syscall``."""
        from .syscalls import DEFAULTS

        if syscall == "munmap":
            prog = self.munmap
        elif syscall in self.overrides:
            prog = self.overrides[syscall]
        elif syscall in DEFAULTS:
            prog = DEFAULTS[syscall]
        else:
            known = ", ".join(sorted({"munmap", *DEFAULTS, *self.overrides}))
            raise VariantError(f"variant '{self.name}': no syscall '{syscall}' (known: {known})")
        return prog.adopt(self.name)

    def syscalls(self) -> list[str]:
        from .syscalls import DEFAULTS

        return sorted({"munmap", *DEFAULTS, *self.overrides})

    def validate(self) -> None:
        for name in self.syscalls():
            self.program(name).validate()
