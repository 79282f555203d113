"""Analytics pages: segments, scored customer lists (and CSV), cohorts, win-back, CLV distribution.

The rules (segments, risk, win-back, cohorts, buckets) live in analytics.selectors; these views parse
the query string, call them and render. Personal data is masked everywhere here, CSV included.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huitouke.analytics import selectors, services
from huitouke.analytics.models.scores import SEGMENT_NAMES_EN, CustomerScore, Segment
from huitouke.core.errors import Invalid, NotFound
from huitouke.core.money import fmt
from huitouke.core.pii import mask_name
from huitouke.orders.models import ProductRole
from huitouke.web.views import PAGE_SIZE, staff_required

CSV_CHUNK = 2000


class ScoreListForm(forms.Form):
    SORTS = (
        ("clv", gettext_lazy("12-month value (high first)")),
        ("p_alive", gettext_lazy("P(alive) (low first)")),
        ("recency", gettext_lazy("Last purchase (recent first)")),
        ("overdue", gettext_lazy("Days overdue (most first)")),
    )
    segment = forms.ChoiceField(required=False, label=gettext_lazy("Segment"))
    risk = forms.BooleanField(required=False, label=gettext_lazy("At risk only"))
    sort = forms.ChoiceField(required=False, choices=SORTS, label=gettext_lazy("Sort by"))
    tag = forms.CharField(required=False, max_length=50, label=gettext_lazy("Tag"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("All segments"))] + [
            (s.value, f"{s.label} · {SEGMENT_NAMES_EN[s]}") for s in Segment
        ]

    def filters(self) -> dict[str, Any]:
        """The selector's arguments; an invalid query string falls back to the unfiltered list."""
        if not self.is_valid():
            return {"segment": None, "at_risk": False, "order": "clv", "tag": ""}
        data = self.cleaned_data
        return {
            "segment": data["segment"] or None, "at_risk": data["risk"], "order": data["sort"] or "clv",
            "tag": data["tag"].strip(),
        }


def _segment_names(segment: str) -> dict[str, str]:
    return {"zh": Segment(segment).label, "en": SEGMENT_NAMES_EN[segment]}


def _rows(scores: Iterable[CustomerScore]) -> Iterator[dict[str, Any]]:
    """Display rows: masked name and phone (the list's only personal data) beside the score."""
    for score in scores:
        phones = list(score.customer.phones.all())  # prefetched, primary first
        yield {
            "score": score, "customer": score.customer, "name": mask_name(score.customer.name),
            "phone": phones[0].masked if phones else "", "segment": _segment_names(score.segment),
        }


def _page(request: HttpRequest, scores: QuerySet[CustomerScore]) -> tuple[Any, list[dict[str, Any]]]:
    page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
    return page, list(_rows(page.object_list))


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    segments = selectors.segment_overview(shop=request.shop)
    buckets = selectors.clv_histogram(shop=request.shop)
    chart = {
        "labels": [f"¥{b.low:,.0f}–{b.high:,.0f}" if b.high is not None else f"≥ ¥{b.low:,.0f}" for b in buckets],
        "counts": [b.customers for b in buckets],
        "series": _("Customers"), "axis": _("12-month customer value (¥)"),
    }
    return render(request, "web/analytics/overview.html", {
        "segments": segments, "total": sum(s.customers for s in segments), "chart": chart,
        "run": selectors.latest_run(shop=request.shop), "risk_threshold": selectors.thresholds_of(shop=request.shop).risk_p_alive,
    })


@staff_required
def customers(request: HttpRequest) -> HttpResponse:
    form = ScoreListForm(request.GET or None)
    filters = form.filters()
    page, rows = _page(request, selectors.scored_customers(shop=request.shop, **filters))
    return render(request, "web/analytics/customers.html", {
        "form": form, "page": page, "rows": rows, "filters": filters, "query": request.GET.urlencode(),
        "query_without_page": _without_page(request), "risk_threshold": selectors.thresholds_of(shop=request.shop).risk_p_alive,
        "segment_names": _segment_names(filters["segment"]) if filters["segment"] else None,
    })


@staff_required
def customers_csv(request: HttpRequest) -> StreamingHttpResponse:
    filters = ScoreListForm(request.GET or None).filters()
    scores = selectors.scored_customers(shop=request.shop, **filters)
    # The tag stays out of the file name: it may hold characters a Content-Disposition header cannot.
    return _csv_response(scores, "customers-" + (filters["segment"] or "all") + ("-at-risk" if filters["at_risk"] else ""))


@staff_required
def win_back(request: HttpRequest) -> HttpResponse:
    page, rows = _page(request, selectors.win_back(shop=request.shop))
    return render(request, "web/analytics/win_back.html", {
        "page": page, "rows": rows, "min_score": selectors.thresholds_of(shop=request.shop).win_back_min_score,
        "max_p_alive": selectors.thresholds_of(shop=request.shop).risk_p_alive, "run": selectors.latest_run(shop=request.shop),
    })


@staff_required
def win_back_csv(request: HttpRequest) -> StreamingHttpResponse:
    return _csv_response(selectors.win_back(shop=request.shop), "win-back")


@staff_required
def cohorts(request: HttpRequest) -> HttpResponse:
    months = request.GET.get("months", "")
    months = int(months) if months.isdigit() and 1 <= int(months) <= selectors.MAX_COHORT_MONTHS else 12
    report = selectors.cohort_report(shop=request.shop, months=months)
    chart = {
        "months": report.months,
        "offsets": [str(k) for k in range(months)],
        "cells": [
            [k, c, round(rate * 100, 1)]
            for c, row in enumerate(report.cohorts) for k, rate in enumerate(row.repeat_rate)
            if rate is not None and row.size
        ],
        "labels": {"x": _("Months since first purchase"), "y": _("First purchase month"),
                   "value": _("Bought again (share of the cohort)")},
    }
    trend = {
        "months": [m.month for m in report.monthly],
        "repeat_rate": [None if m.repeat_rate is None else round(m.repeat_rate * 100, 1) for m in report.monthly],
        "repeat_revenue_share": [
            None if m.repeat_revenue_share is None else round(m.repeat_revenue_share * 100, 1) for m in report.monthly
        ],
        "labels": {"repeat_rate": _("Repeat rate"), "repeat_revenue_share": _("Repeat revenue share"),
                   "percent": _("Share (%)")},
    }
    return render(request, "web/analytics/cohorts.html", {
        "report": report, "chart": chart, "trend": trend, "months": months, "choices": (3, 6, 12, 24, 36),
        "offsets": range(months),
    })


@staff_required
def model_check(request: HttpRequest) -> HttpResponse:
    """Predicted vs actual holdout purchases; a holdout the history cannot hold falls back to the default."""
    text = request.GET.get("holdout_days", "")
    check, error = _model_check(request, int(text) if text.isdigit() else None)
    if check is None:
        return render(request, "web/analytics/model_check.html", {"check": None, "error": error})
    chart = {
        "groups": [g.label for g in check.groups], "actual": [g.actual for g in check.groups],
        "predicted": [g.predicted for g in check.groups],
        "labels": {"actual": _("Actual"), "predicted": _("Predicted (BG/NBD)"),
                   "x": _("Repeat purchase days in the calibration period"),
                   "y": _("Mean purchase days in the holdout")},
    }
    return render(request, "web/analytics/model_check.html", {"check": check, "chart": chart, "error": error})


def _model_check(request: HttpRequest, holdout_days: int | None) -> tuple[services.ModelCheck | None, str]:
    """The check with the asked holdout, else with the default one; the refusal's message, if any."""
    try:
        return services.model_check(shop=request.shop, holdout_days=holdout_days), ""
    except Invalid as exc:
        if holdout_days is None:
            return None, exc.localized()
        error = exc.localized()
    try:
        return services.model_check(shop=request.shop), error
    except Invalid:
        return None, error


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_header() -> list[str]:
    return [
        _("Customer ID"), _("Name (masked)"), _("Phone (masked)"), _("Segment"), _("Segment (English)"),
        _("R score"), _("F score"), _("M score"), _("Days since last purchase"), _("Repeat purchase days"),
        _("Net spend"), _("P(alive)"), _("Expected purchases (90 days)"), _("12-month customer value"),
        _("Days overdue"),
    ]


def _csv_lines(scores: QuerySet[CustomerScore], header: list[str]) -> Iterator[str]:
    """The rows are read in chunks as the response streams, so a list of 1M customers never sits in memory."""
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM: Excel opens UTF-8 Chinese text correctly only with it
    yield writer.writerow(header)
    for row in _rows(scores.iterator(chunk_size=CSV_CHUNK)):
        score = row["score"]
        yield writer.writerow([
            score.customer_id, row["name"], row["phone"], row["segment"]["zh"], row["segment"]["en"],
            score.r_score, score.f_score, score.m_score, score.recency_days, score.frequency,
            fmt(row["customer"].net_spend), _number(score.p_alive, 4), _number(score.expected_purchases_90, 2),
            fmt(score.clv_12m) if score.clv_12m is not None else "", _number(score.days_overdue, 1),
        ])


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _csv_response(scores: QuerySet[CustomerScore], name: str) -> StreamingHttpResponse:
    # The header is translated now, in the request's language; the rows follow lazily.
    response = StreamingHttpResponse(_csv_lines(scores, _csv_header()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


LIFT_CATEGORIES = 30  # the page shows the group's top categories; the API can ask for more


@staff_required
def segment_lift(request: HttpRequest, segment: str) -> HttpResponse:
    """What the segment's (or the win-back list's) customers buy, compared with every other customer."""
    try:
        table = selectors.segment_lift(shop=request.shop, segment=segment, categories=LIFT_CATEGORIES)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    roles = dict(ProductRole.choices)
    if segment == selectors.WIN_BACK_GROUP:
        names = {"zh": _("Win-back list"), "en": ""}
    else:
        names = _segment_names(segment)
    return render(request, "web/analytics/lift.html", {
        "table": table, "names": names, "is_win_back": segment == selectors.WIN_BACK_GROUP,
        "roles": [(roles.get(row.key, _("Unknown")), row) for row in table.roles],
        "categories": [(row.key or _("Uncategorised"), row) for row in table.categories],
        "run": selectors.latest_run(shop=request.shop),
    })


def _look_alike_args(request: HttpRequest) -> dict[str, Any]:
    """gold and limit from the query string; anything else falls back to the defaults."""
    gold = request.GET.get("gold", "")
    limit = request.GET.get("limit", "")
    return {
        "gold": gold if gold in selectors.GOLD_GROUPS else "champions",
        "limit": int(limit) if limit.isdigit() and 1 <= int(limit) <= selectors.MAX_LOOK_ALIKES
        else selectors.DEFAULT_LOOK_ALIKES,
    }


def _look_alike_rows(result: selectors.LookAlikes) -> list[dict[str, Any]]:
    rows = list(_rows(item.score for item in result.items))
    roles = dict(ProductRole.choices)
    for row, item in zip(rows, result.items, strict=True):
        main = max(item.role_shares, key=item.role_shares.get) if any(item.role_shares.values()) else None
        row.update(rank=item.rank, distance=item.distance, main_role=roles[main] if main else "")
    return rows


@staff_required
def look_alikes(request: HttpRequest) -> HttpResponse:
    args = _look_alike_args(request)
    result = selectors.look_alikes(shop=request.shop, **args)
    return render(request, "web/analytics/look_alikes.html", {
        "result": result, "rows": _look_alike_rows(result), "args": args, "query": request.GET.urlencode(),
        "limits": (20, 50, 100, 500), "run": selectors.latest_run(shop=request.shop),
    })


@staff_required
def look_alikes_csv(request: HttpRequest) -> HttpResponse:
    """At most MAX_LOOK_ALIKES rows, so the file is built at once; masked like every analytics list."""
    args = _look_alike_args(request)
    rows = _look_alike_rows(selectors.look_alikes(shop=request.shop, **args))
    writer = csv.writer(_Echo())
    lines = ["\ufeff", writer.writerow([
        _("Rank"), _("Customer ID"), _("Name (masked)"), _("Phone (masked)"), _("Segment"), _("Distance"),
        _("Days since last purchase"), _("Net spend"), _("Mostly buys"),
    ])]
    for row in rows:
        lines.append(writer.writerow([
            row["rank"], row["customer"].pk, row["name"], row["phone"], row["segment"]["zh"], f"{row['distance']:.4f}",
            row["score"].recency_days, fmt(row["customer"].net_spend), row["main_role"],
        ]))
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="look-alikes-{args["gold"]}.csv"'
    return response
