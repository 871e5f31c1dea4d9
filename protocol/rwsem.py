"""Linux rwsem semantics for ``mmap_sem`` as pure functions over :class:`RwSem`.

One writer or many readers; a FIFO wait queue; a queued writer blocks new readers
(``rwsem_down_read_slowpath`` queues a reader whenever the queue is not empty);
``downgrade_write`` turns the write hold into a read hold with no window. ``upgrade_read``
does not exist in Linux: the modelled one is a fair, blocking upgrade — the upgrader keeps its
read hold and queues like a writer, behind writers that were already waiting, and is granted
the lock when it is first in the queue and the only reader left. Two upgraders, or an upgrader
and a writer queued before it, therefore wait for each other forever, as the 2018 thread
feared.

Each acquisition function returns ``(outcome, new_sem)`` with outcome one of
``ACQUIRED`` (the caller holds the lock now), ``QUEUED`` (the caller joined the wait queue and
stays at its step) or ``BLOCKED`` (the caller is queued and still cannot have the lock: the
step is not enabled).
"""

from __future__ import annotations

from .state import NO_THREAD, READ, UPGRADE, WRITE, RwSem

ACQUIRED = "acquired"
QUEUED = "queued"
BLOCKED = "blocked"


def _dequeue(sem: RwSem, tid: int) -> tuple[tuple[int, str], ...]:
    return tuple(w for w in sem.waiters if w[0] != tid)


def _add_reader(readers: tuple[int, ...], tid: int) -> tuple[int, ...]:
    return tuple(sorted(readers + (tid,)))


def down_read(sem: RwSem, tid: int) -> tuple[str, RwSem]:
    if sem.queued(tid):
        # Granted once no writer holds the lock and only readers are queued ahead of us.
        if sem.writer != NO_THREAD:
            return BLOCKED, sem
        for waiter, mode in sem.waiters:
            if waiter == tid:
                break
            if mode != READ:
                return BLOCKED, sem
        return ACQUIRED, RwSem(NO_THREAD, _add_reader(sem.readers, tid), _dequeue(sem, tid))
    if sem.writer == NO_THREAD and not sem.waiters:
        return ACQUIRED, sem._replace(readers=_add_reader(sem.readers, tid))
    return QUEUED, sem._replace(waiters=sem.waiters + ((tid, READ),))


def down_write(sem: RwSem, tid: int) -> tuple[str, RwSem]:
    free = sem.writer == NO_THREAD and not sem.readers
    if sem.queued(tid):
        if free and sem.waiters[0][0] == tid:
            return ACQUIRED, RwSem(tid, (), sem.waiters[1:])
        return BLOCKED, sem
    if free and not sem.waiters:
        return ACQUIRED, sem._replace(writer=tid)
    return QUEUED, sem._replace(waiters=sem.waiters + ((tid, WRITE),))


def upgrade_read(sem: RwSem, tid: int) -> tuple[str, RwSem]:
    """The modelled blocking upgrade; the caller must hold the lock for read."""
    sole_reader = sem.readers == (tid,)
    if sem.queued(tid):
        if sole_reader and sem.waiters[0][0] == tid:
            return ACQUIRED, RwSem(tid, (), sem.waiters[1:])
        return BLOCKED, sem
    if sole_reader and not sem.waiters:
        return ACQUIRED, RwSem(tid, (), sem.waiters)
    return QUEUED, sem._replace(waiters=sem.waiters + ((tid, UPGRADE),))


def up_read(sem: RwSem, tid: int) -> RwSem | None:
    """Release one read hold; ``None`` if ``tid`` holds none (a lock misuse)."""
    if tid not in sem.readers:
        return None
    readers = list(sem.readers)
    readers.remove(tid)
    return sem._replace(readers=tuple(readers))


def up_write(sem: RwSem, tid: int) -> RwSem | None:
    if sem.writer != tid:
        return None
    return sem._replace(writer=NO_THREAD)


def downgrade_write(sem: RwSem, tid: int) -> RwSem | None:
    if sem.writer != tid:
        return None
    return sem._replace(writer=NO_THREAD, readers=_add_reader(sem.readers, tid))


def describe(sem: RwSem) -> str:
    """``free`` / ``W by T0`` / ``R by {T1,T2}``, plus waiters — for traces and errors."""
    if sem.writer != NO_THREAD:
        text = f"W by T{sem.writer}"
    elif sem.readers:
        text = "R by {" + ",".join(f"T{r}" for r in sem.readers) + "}"
    else:
        text = "free"
    if sem.waiters:
        text += "; waiting " + ", ".join(f"T{t}({m})" for t, m in sem.waiters)
    return text
