"""The default syscall programs every variant runs unless it overrides them."""

from __future__ import annotations

from ..program import Program
from .access import access
from .common import bad_range, do_munmap
from .mmap import mmap
from .mprotect import mprotect
from .mremap import mremap

DEFAULTS: dict[str, Program] = {p.syscall: p for p in (mmap, mremap, mprotect, access)}

__all__ = ["DEFAULTS", "access", "mmap", "mprotect", "mremap", "do_munmap", "bad_range"]
