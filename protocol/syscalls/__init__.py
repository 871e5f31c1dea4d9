"""The default syscall programs every variant runs unless it overrides them, and the parts
the variants build their own programs from (:mod:`.common`, :mod:`.munmap`, :mod:`.vm_dead`)."""

from __future__ import annotations

from typing import Any

from ..program import Program
from .access import access
from .common import bad_range
from .mmap import mmap
from .mprotect import mprotect
from .mremap import mremap
from .munmap import do_munmap

DEFAULTS: dict[str, Program[Any]] = {p.syscall: p for p in (mmap, mremap, mprotect, access)}

__all__ = ["DEFAULTS", "access", "mmap", "mprotect", "mremap", "do_munmap", "bad_range"]
