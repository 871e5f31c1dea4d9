"""The reference semantics: each syscall atomic under mmap_sem held for write.

What a locking protocol must be indistinguishable from (``linearizable``): munmap as
Linux 4.19's ``do_munmap`` in one write hold, and the default programs of the other syscalls
(mmap, mremap, mprotect, the page fault), run one at a time. A variant whose syscalls end
differently even when they run alone — returning ENOMEM where 4.19 succeeds, reporting
success without the mapping in place — differs from this reference, not only from itself.
"""

from __future__ import annotations

from ..kernel import Kernel
from ..program import Program
from ..variant import Variant
from .common import MUNMAP_ERRNOS, RangeCall, down_write, range_of, up_write_return
from .munmap import do_munmap

munmap = Program(
    "munmap",
    RangeCall,
    errnos=MUNMAP_ERRNOS,
    unmaps=range_of,
    doc="munmap as one atomic do_munmap under the write lock",
)


munmap.step("down_write")(down_write)


@munmap.step("do_munmap")
def _unmap(k: Kernel, t: RangeCall) -> None:
    t.retval = do_munmap(k, t.start, t.len)


munmap.step("up_write")(up_write_return)


REFERENCE = Variant(
    name="reference",
    summary="each syscall atomic under the write lock (4.19 do_munmap, default programs)",
    munmap=munmap,
    source="Linux 4.19",
)


def reference_for(variant: Variant) -> Variant:
    """The reference for ``variant``: a syscall with no default program (one only the
    variant defines) keeps the variant's own program as its reference."""
    from . import DEFAULTS

    extra = {name: prog for name, prog in variant.overrides.items() if name not in DEFAULTS}
    return Variant(REFERENCE.name, REFERENCE.summary, REFERENCE.munmap, REFERENCE.source, extra)
