"""Real concurrency for tests: threads, each with its own database connection, released at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections

from huitouke.core.errors import DomainError


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in `count` threads released at once; each returns a value or the error it raised."""
    barrier = threading.Barrier(count)

    def one(index: int) -> Any:
        try:
            barrier.wait()
            return work(index)
        except DomainError as exc:
            return exc
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))
