"""Extension points of the engagement app that upper apps register into from their AppConfig.ready().

- delivery sources: the post-delivery feedback rule asks about an order once its delivery is known. A
  completed order (the buyer confirmed receipt) is known here; an upper app that records delivery times
  (quality's shipments) adds the orders delivered in a time window.
- feedback links: the feedback message carries the link an upper app makes for the order (quality's signed
  satisfaction link); without one the message goes without a link.
- team measures: the team page (/care/team/) shows each associate's measures from upper apps beside her
  follow-up figures (quality's audit score on duty and satisfaction), as the texts want for staff reviews.
Engagement never imports the apps above it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

DeliverySource = Callable[..., Iterable[int]]
FeedbackLink = Callable[..., str | None]
_DELIVERY_SOURCES: dict[str, DeliverySource] = {}
_FEEDBACK_LINKS: dict[str, FeedbackLink] = {}


@dataclass(frozen=True)
class StaffMeasure:
    """One figure about an associate, ready to show: a source gives the same labels, in the same order, for
    every associate asked about."""

    label: str
    value: str  # formatted; "—" when there is nothing to measure yet
    note: str = ""  # e.g. how many answers it rests on
    url: str = ""  # the page with the detail


TeamMeasureSource = Callable[..., dict[int, list[StaffMeasure]]]
_TEAM_MEASURES: dict[str, TeamMeasureSource] = {}


def register_delivery_source(name: str, source: DeliverySource) -> None:
    """`source(shop=..., since=..., until=...)` returns ids of the shop's orders delivered in [since, until):
    better a `values_list("order_id", flat=True)` queryset, which the rule uses as a subquery."""
    _DELIVERY_SOURCES[name] = source


def register_feedback_link(name: str, link: FeedbackLink) -> None:
    """`link(shop=..., order=...)` returns the absolute URL of the order's feedback page, or None."""
    _FEEDBACK_LINKS[name] = link


def unregister_feedback_link(name: str) -> None:
    _FEEDBACK_LINKS.pop(name, None)


def delivered_order_ids(*, shop, since: dt.datetime, until: dt.datetime) -> list[Iterable[int]]:
    """Each delivery source's orders delivered in [since, until)."""
    return [source(shop=shop, since=since, until=until) for source in list(_DELIVERY_SOURCES.values())]


def feedback_link(*, shop, order) -> str:
    """The first link a registered provider gives for the order, or ""."""
    for link in list(_FEEDBACK_LINKS.values()):
        found = link(shop=shop, order=order)
        if found:
            return found
    return ""


def register_team_measures(name: str, source: TeamMeasureSource) -> None:
    """`source(shop=..., staff_ids=[...])` returns {staff id: [StaffMeasure, ...]} for those associates."""
    _TEAM_MEASURES[name] = source


def team_measures(*, shop, staff_ids: Sequence[int]) -> dict[int, list[StaffMeasure]]:
    """Every registered source's measures per associate, sources in registration order."""
    found: dict[int, list[StaffMeasure]] = {pk: [] for pk in staff_ids}
    for source in list(_TEAM_MEASURES.values()):
        for pk, measures in source(shop=shop, staff_ids=list(staff_ids)).items():
            found.setdefault(pk, []).extend(measures)
    return found
