"""The points ledger's arithmetic, free of the database: lots, FIFO consumption, expiry dates.

Every positive entry opens a lot. A negative entry takes first from the lot it names (an expiry takes
its own lot, a refund reversal the order's lot) and then from the oldest lots first (FIFO). Replaying a
customer's entries in id order gives what is left of each lot; the services append entries, never
change them, so this replay is the single truth behind "what expires when".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


class LedgerError(ValueError):
    """Entries that take more points than the lots hold: a bug or a hand-edited table."""


@dataclass(frozen=True)
class Entry:
    id: int
    delta: int
    expires_on: dt.date | None = None
    lot_id: int | None = None


def remaining_by_lot(entries: Iterable[Entry]) -> dict[int, int]:
    """Points left in each lot (keyed by the positive entry's id), after replaying every debit."""
    remaining: dict[int, int] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.delta > 0:
            remaining[entry.id] = entry.delta
        else:
            _consume(remaining, -entry.delta, entry.lot_id, entry.id)
    return remaining


def _consume(remaining: dict[int, int], points: int, first_lot: int | None, entry_id: int) -> None:
    order = ([first_lot] if first_lot in remaining else []) + [lot for lot in remaining if lot != first_lot]
    for lot in order:  # dicts keep insertion order, which is id order: oldest lot first
        taken = min(points, remaining[lot])
        remaining[lot] -= taken
        points -= taken
        if points == 0:
            return
    raise LedgerError(f"entry {entry_id} takes {points} points more than the customer's lots hold")


def due_for_expiry(entries: Iterable[Entry], *, today: dt.date) -> list[tuple[int, int]]:
    """(lot id, points) of lots whose last valid day is before `today` and that still hold points."""
    entries = list(entries)
    expiry = {e.id: e.expires_on for e in entries if e.delta > 0}
    return [
        (lot, points)
        for lot, points in remaining_by_lot(entries).items()
        if points > 0 and expiry[lot] is not None and expiry[lot] < today
    ]


def expiry_date(policy: str, *, earned_on: dt.date, days: int) -> dt.date | None:
    """Last day a lot earned on `earned_on` can be spent, for the programme's policy."""
    if policy == "end_of_next_year":
        return dt.date(earned_on.year + 1, 12, 31)
    if policy == "after_days":
        return earned_on + dt.timedelta(days=days)
    return None
