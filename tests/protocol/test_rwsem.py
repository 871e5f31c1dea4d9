"""mmap_sem's Linux rwsem semantics (protocol/rwsem.py), including the modelled upgrade."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vmacheck.protocol import rwsem
from vmacheck.protocol.state import NO_THREAD, READ, UPGRADE, WRITE, RwSem


def test_readers_share_writer_excludes() -> None:
    out, s = rwsem.down_read(RwSem(), 0)
    assert out == rwsem.ACQUIRED
    out, s = rwsem.down_read(s, 1)
    assert out == rwsem.ACQUIRED and s.readers == (0, 1)
    out, s = rwsem.down_write(s, 2)
    assert out == rwsem.QUEUED and s.waiters == ((2, WRITE),)
    # a queued writer blocks new readers
    out, s = rwsem.down_read(s, 3)
    assert out == rwsem.QUEUED
    assert rwsem.down_write(s, 2)[0] == rwsem.BLOCKED
    s = rwsem.up_read(s, 0)
    s = rwsem.up_read(s, 1)
    assert s is not None
    assert rwsem.down_read(s, 3)[0] == rwsem.BLOCKED  # the writer is ahead
    out, s = rwsem.down_write(s, 2)
    assert out == rwsem.ACQUIRED and s.writer == 2 and s.waiters == ((3, READ),)


def test_recursive_read_deadlocks_behind_waiting_writer() -> None:
    s = RwSem(readers=(0,), waiters=((1, WRITE),))
    out, s = rwsem.down_read(s, 0)
    assert out == rwsem.QUEUED
    assert rwsem.down_read(s, 0)[0] == rwsem.BLOCKED
    assert rwsem.down_write(s, 1)[0] == rwsem.BLOCKED  # thread 0 still holds its first read


def test_downgrade_has_no_window() -> None:
    s = rwsem.downgrade_write(RwSem(writer=0), 0)
    assert s == RwSem(readers=(0,))
    assert rwsem.downgrade_write(RwSem(readers=(0,)), 0) is None
    assert rwsem.up_write(RwSem(readers=(0,)), 0) is None
    assert rwsem.up_read(RwSem(writer=0), 0) is None


def test_upgrade_waits_for_other_readers_and_queued_writers() -> None:
    out, s = rwsem.upgrade_read(RwSem(readers=(0,)), 0)
    assert out == rwsem.ACQUIRED and s.writer == 0 and s.readers == ()
    out, s = rwsem.upgrade_read(RwSem(readers=(0, 1)), 0)
    assert out == rwsem.QUEUED and s.waiters == ((0, UPGRADE),)
    # a writer queued before the upgrader waits for its read hold: neither can proceed
    s = RwSem(readers=(0,), waiters=((1, WRITE),))
    out, s = rwsem.upgrade_read(s, 0)
    assert out == rwsem.QUEUED
    assert rwsem.upgrade_read(s, 0)[0] == rwsem.BLOCKED
    assert rwsem.down_write(s, 1)[0] == rwsem.BLOCKED


OPS = st.lists(st.tuples(st.sampled_from(["r", "w", "ur", "uw", "dg", "up"]), st.integers(0, 2)), max_size=30)


@settings(max_examples=300)
@given(OPS)
def test_never_a_writer_with_readers(ops: list[tuple[str, int]]) -> None:
    s = RwSem()
    for op, tid in ops:
        if op == "r":
            _, s = rwsem.down_read(s, tid)
        elif op == "w":
            _, s = rwsem.down_write(s, tid)
        elif op == "up" and s.holds(tid) == READ:
            _, s = rwsem.upgrade_read(s, tid)
        else:
            fn = {"ur": rwsem.up_read, "uw": rwsem.up_write, "dg": rwsem.downgrade_write}.get(op)
            if fn is not None:
                s = fn(s, tid) or s
        assert not (s.writer != NO_THREAD and s.readers)
        assert len({w for w, _ in s.waiters}) == len(s.waiters)
