"""Writers take turns on SQLite through an OS file lock.

SQLite lets one writer in at a time; the others wait in its busy handler, which polls with sleeps that
grow to 100 ms. Under eight concurrent tills that polling, not the work, set the pace (p99 over a second).
A `flock` on a file next to the database queues the writers in the kernel instead: each wakes the moment
the previous one is done. PostgreSQL has row locks, and in-memory SQLite one process: nothing to do there.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def write_turn(using: str = "default") -> Iterator[None]:
    """Hold the database's writer turn around one outermost write transaction (a no-op inside another one,
    which already holds SQLite's own write lock, and on other databases)."""
    connection = connections[using]
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or connection.in_atomic_block or not name or "memory" in name:
        yield
        return
    with open(f"{name}.writelock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
