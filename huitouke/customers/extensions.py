"""Extension points of the customer archive that upper apps register into.

- timeline sources: the 360 page merges their entries by time;
- export sections: a data-subject export includes each app's data about the customer.
A lower app never imports an upper one: orders (and later loyalty, engagement …) register
in their AppConfig.ready().
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "order", "message", "points", …: picks the icon and the partial template
    title: str
    amount: Decimal | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    template: str = "customers/timeline/_generic.html"


TimelineSource = Callable[..., Iterable[TimelineEntry]]
_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(name: str, source: TimelineSource) -> None:
    """`source(shop=..., customer=...)` returns that app's entries for one customer."""
    _SOURCES[name] = source


def timeline_for(*, shop, customer, limit: int | None = None) -> list[TimelineEntry]:
    entries = [entry for source in _SOURCES.values() for entry in source(shop=shop, customer=customer)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit] if limit else entries


ExportSection = Callable[..., Any]
_EXPORT_SECTIONS: dict[str, ExportSection] = {}


def register_export_section(name: str, section: ExportSection) -> None:
    """`section(shop=..., customer=...)` returns JSON-ready data put under `name` in the export."""
    _EXPORT_SECTIONS[name] = section


def export_sections_for(*, shop, customer) -> dict[str, Any]:
    return {name: section(shop=shop, customer=customer) for name, section in _EXPORT_SECTIONS.items()}
