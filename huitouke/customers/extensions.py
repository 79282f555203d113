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


MergeListener = Callable[..., None]
_MERGE_LISTENERS: dict[str, MergeListener] = {}


def register_merge_listener(name: str, listener: MergeListener) -> None:
    """`listener(shop=..., customer_ids=[...])` runs after rows moved between these customers (merge or undo),
    so an app can recompute what it derives per customer (e.g. the orders app's purchase figures)."""
    _MERGE_LISTENERS[name] = listener


def customers_changed_by_merge(*, shop, customer_ids: Iterable[int]) -> None:
    ids = sorted(set(customer_ids))
    for listener in _MERGE_LISTENERS.values():
        listener(shop=shop, customer_ids=ids)


@dataclass(frozen=True)
class Panel:
    """A section an upper app adds to the customer 360 page: its template and that template's context."""

    template: str
    context: dict[str, Any]


PanelSource = Callable[..., Panel | None]
_PANELS: dict[str, PanelSource] = {}


def register_panel(name: str, source: PanelSource) -> None:
    """`source(shop=..., customer=...)` returns a Panel for the 360 page, or None to show nothing."""
    _PANELS[name] = source


def panels_for(*, shop, customer) -> list[Panel]:
    return [panel for source in _PANELS.values() if (panel := source(shop=shop, customer=customer)) is not None]
