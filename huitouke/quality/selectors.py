"""Reads of the quality app, always taking the shop. `quality_report` is the one structure the dashboard
page, the API and `huitouke quality report` all show, so their figures cannot drift apart.

Definitions:
- audit score: services.audits (weighted, N/A excluded); a store's average is the mean of its visits' scores.
- CSAT: the share (%) of star ratings given (goods, service, delivery pooled) that are 4 or 5 stars.
- NPS: % of recommend scores 9–10 minus % of 0–6, over the answered surveys.
- quality-OK rate of a product: 1 − units refunded for a quality problem or not as described ÷ units sold,
  both over the orders paid in the period (so a refund is counted in the month of its sale; unit counting
  for partial refunds in services.refunds).
- delivery promise: share of shipped orders paid in the period whose shipment left within the shop's
  promise (hours after payment).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Count, Max, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Role, Shop, Staff, Store
from huitouke.core.timeutil import SHANGHAI, day_start, local_day
from huitouke.engagement.extensions import StaffMeasure
from huitouke.orders.models import Order, OrderLine
from huitouke.quality.models import (
    CHURN_REFERENCE,
    QUALITY_REASONS,
    Audit,
    AuditAnswer,
    AuditItem,
    AuditorStore,
    AuditTemplate,
    ChurnReason,
    ChurnReasonCode,
    CorrectiveAction,
    RefundReason,
    RefundReasonCode,
    Shipment,
    Survey,
)
from huitouke.quality.services.refunds import line_units, order_line_units, order_share
from huitouke.quality.services.settings import settings_of


def _pct(part: float | Decimal, whole: float | Decimal) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Period:
    """[start, end) in Asia/Shanghai days; None on both sides: all time."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    label: str = ""

    def filter(self, field: str) -> Q:
        query = Q()
        if self.start is not None:
            query &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            query &= Q(**{f"{field}__lt": self.end})
        return query


def month_period(month: str | None) -> Period:
    """"YYYY-MM" → that Shanghai month; None → all time."""
    if not month:
        return Period()
    try:
        first = dt.datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise Invalid(gettext_lazy("not a month: %(month)r (use YYYY-MM)"), field="month",
                      params={"month": month}) from exc
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period(start=day_start(first), end=day_start(following), label=month)


# Audits -----------------------------------------------------------------------------------------


def templates(*, shop: Shop) -> QuerySet[AuditTemplate]:
    return AuditTemplate.objects.for_shop(shop).filter(is_active=True).prefetch_related("sections__items")


def audits_with_template(*, shop: Shop, template: AuditTemplate) -> int:
    """How many audits were submitted with this version of a template."""
    return Audit.objects.for_shop(shop).filter(template=template).count()


def audits_visible(*, shop: Shop, staff: Staff) -> QuerySet[Audit]:
    """Every audit of the shop; for an auditor only those of its assigned stores."""
    audits = Audit.objects.for_shop(shop).select_related("store", "template", "auditor", "associate")
    if staff.role == Role.AUDITOR:
        audits = audits.filter(store_id__in=AuditorStore.objects.filter(shop=shop, staff=staff).values("store_id"))
    elif staff.role not in (Role.OWNER, Role.MANAGER, Role.ASSOCIATE):
        return audits.none()
    return audits


def audit_for(*, shop: Shop, staff: Staff, audit_id: int) -> Audit:
    audit = audits_visible(shop=shop, staff=staff).filter(pk=audit_id).first()
    if audit is None:
        raise NotFound(gettext_lazy("no such audit"))
    return audit


def audit_answers(*, shop: Shop, audit: Audit) -> QuerySet[AuditAnswer]:
    return AuditAnswer.objects.filter(shop=shop, audit=audit).select_related("item", "item__section").order_by(
        "item__section__position", "item__position", "item_id")


def store_by_id(*, shop: Shop, store_id: int) -> Store:
    store = Store.objects.for_shop(shop).filter(pk=store_id).first()
    if store is None:
        raise NotFound(gettext_lazy("no such store"), field="store")
    return store


def store_trend(*, shop: Shop, store: Store, period: Period = Period()) -> list[dict[str, Any]]:
    """The store's scored visits in time order: [{"at": ISO time, "score": float}]."""
    rows = (Audit.objects.for_shop(shop).filter(period.filter("visited_at"), store=store, score__isnull=False)
            .order_by("visited_at", "id").values_list("visited_at", "score"))
    return [{"at": at.astimezone(SHANGHAI).isoformat(timespec="minutes"), "score": float(score)} for at, score in rows]


def weakest_items(*, shop: Shop, store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """The scored items with the lowest average share of their weight across the store's visits. An item is
    followed across template versions by its code, and shown as its latest version (text, section, weight)."""
    rows = list(AuditAnswer.objects.filter(shop=shop, audit__store=store, ratio__isnull=False)
                .values("audit__template__key", "item__code")
                .annotate(average=Avg("ratio"), answers=Count("id"), latest=Max("item_id"))
                .order_by("average", "latest")[:limit])
    items = AuditItem.objects.filter(shop=shop, pk__in=[row["latest"] for row in rows]).select_related("section")
    latest = {item.pk: item for item in items}
    return [{
        "item_id": row["latest"], "text": latest[row["latest"]].text, "section": latest[row["latest"]].section.title,
        "weight": latest[row["latest"]].weight, "answers": row["answers"],
        "average": _pct(Decimal(str(row["average"])), 1),
    } for row in rows]


def corrective_actions(*, shop: Shop, store: Store | None = None) -> QuerySet[CorrectiveAction]:
    actions = CorrectiveAction.objects.for_shop(shop).select_related("owner", "store", "item", "verified_by")
    return actions.filter(store=store) if store is not None else actions


def store_scores(*, shop: Shop, period: Period = Period()) -> list[dict[str, Any]]:
    """Per store with visits in the period: audits, last and average score, and the trend of scores."""
    stores = {store.pk: store for store in Store.objects.for_shop(shop)}
    audits = (Audit.objects.for_shop(shop).filter(period.filter("visited_at"))
              .order_by("visited_at", "id").values_list("store_id", "visited_at", "score"))
    by_store: dict[int, list[tuple[dt.datetime, Decimal | None]]] = defaultdict(list)
    for store_id, at, score in audits:
        by_store[store_id].append((at, score))
    rows = []
    for store_id, visits in sorted(by_store.items(), key=lambda kv: stores[kv[0]].slug):
        scores = [score for _, score in visits if score is not None]
        rows.append({
            "store": stores[store_id].slug, "store_id": store_id, "store_name": stores[store_id].name,
            "audits": len(visits),
            "last_score": float(scores[-1]) if scores else None,
            "average_score": float((sum(scores) / len(scores)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
            if scores else None,
            "trend": [float(score) for score in scores],
        })
    return rows


def associate_audits(*, shop: Shop, associate: Staff) -> QuerySet[Audit]:
    return Audit.objects.for_shop(shop).filter(associate=associate).select_related("store")


# Satisfaction -----------------------------------------------------------------------------------


def answered_surveys(*, shop: Shop, period: Period = Period()) -> QuerySet[Survey]:
    return Survey.objects.for_shop(shop).filter(period.filter("answered_at"), answered_at__isnull=False)


def csat_nps(surveys: Iterable[Survey] | Iterable[dict[str, Any]]) -> dict[str, Any]:
    """{"responses", "csat", "nps"} over answered surveys (module doc for the definitions)."""
    responses = stars = satisfied = promoters = detractors = 0
    for survey in surveys:
        get = survey.get if isinstance(survey, dict) else survey.__dict__.get
        responses += 1
        for name in ("goods_stars", "service_stars", "delivery_stars"):
            value = get(name)
            if value is not None:
                stars += 1
                satisfied += value >= 4
        recommend = get("recommend")
        promoters += recommend >= 9
        detractors += recommend <= 6
    nps = None
    if responses:
        nps = float((Decimal(promoters - detractors) * 100 / responses).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return {"responses": responses, "csat": _pct(satisfied, stars), "nps": nps}


_SURVEY_FIELDS = ("id", "store_id", "associate_id", "order_id", "answered_at", "goods_stars", "service_stars",
                  "delivery_stars", "recommend")


def satisfaction_breakdown(*, shop: Shop, period: Period = Period()) -> dict[str, Any]:
    """CSAT/NPS for the shop and per month, store, associate and product (through the survey's order)."""
    rows = list(answered_surveys(shop=shop, period=period).values(*_SURVEY_FIELDS))
    groups: dict[str, dict[Any, list[dict[str, Any]]]] = {k: defaultdict(list) for k in
                                                          ("month", "store", "associate", "product")}
    skus = defaultdict(set)
    order_ids = [row["order_id"] for row in rows if row["order_id"]]
    for order_id, sku, title in OrderLine.objects.filter(shop=shop, order_id__in=order_ids).values_list(
            "order_id", "sku", "title"):
        skus[order_id].add(sku or title)
    for row in rows:
        groups["month"][local_day(row["answered_at"]).strftime("%Y-%m")].append(row)
        if row["store_id"]:
            groups["store"][row["store_id"]].append(row)
        if row["associate_id"]:
            groups["associate"][row["associate_id"]].append(row)
        for sku in skus.get(row["order_id"], ()):
            groups["product"][sku].append(row)
    stores = dict(Store.objects.for_shop(shop).values_list("pk", "name"))
    staff = dict(Staff.objects.for_shop(shop).values_list("pk", "display_name"))
    names = {"store": stores, "associate": staff}
    out: dict[str, Any] = {"shop": csat_nps(rows)}
    for key, grouped in groups.items():
        out[key] = [{"key": k, "name": names.get(key, {}).get(k, k), **csat_nps(v)}
                    for k, v in sorted(grouped.items(), key=lambda kv: str(kv[0]))]
    return out


def follow_ups(*, shop: Shop) -> QuerySet[Survey]:
    """Low ratings not yet followed up, newest first."""
    return (Survey.objects.for_shop(shop).filter(needs_follow_up=True, followed_up_at__isnull=True)
            .select_related("customer", "store", "associate", "order").order_by("-answered_at"))


def associate_satisfaction(*, shop: Shop, associate: Staff) -> dict[str, Any]:
    return csat_nps(answered_surveys(shop=shop).filter(associate=associate).values(*_SURVEY_FIELDS))


def team_measures(*, shop: Shop, staff_ids: list[int]) -> dict[int, list[StaffMeasure]]:
    """For engagement's team page: each associate's average audit score on duty and her customers' CSAT and
    NPS (all time, as on her quality page), with a link to that page. Three queries for the whole team."""
    audits = dict((row["associate_id"], row) for row in Audit.objects.for_shop(shop).filter(
        associate_id__in=staff_ids, score__isnull=False).values("associate_id").annotate(
        average=Avg("score"), visits=Count("id")))
    surveys: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in answered_surveys(shop=shop).filter(associate_id__in=staff_ids).values(*_SURVEY_FIELDS):
        surveys[row["associate_id"]].append(row)
    out = {}
    for pk in staff_ids:
        audit, satisfaction = audits.get(pk), csat_nps(surveys.get(pk, []))
        visits = audit["visits"] if audit else 0
        url = reverse("quality_associate", args=[pk])
        out[pk] = [
            StaffMeasure(_("Audit score on duty"), _fmt(audit and round(float(audit["average"]), 1)),
                         ngettext("%(n)s visit", "%(n)s visits", visits) % {"n": visits}, url),
            StaffMeasure("CSAT", _fmt(satisfaction["csat"], "%"), _("%(n)s answers") % {"n": satisfaction["responses"]},
                         url),
            StaffMeasure("NPS", _fmt(satisfaction["nps"]), "", url),
        ]
    return out


def _fmt(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:g}{suffix}"


# Product quality --------------------------------------------------------------------------------


def product_quality(*, shop: Shop, period: Period = Period()) -> list[dict[str, Any]]:
    """Per product (SKU, else title) sold in the period: units sold, units refunded for quality or not as
    described, the quality-OK rate, the reasons (all codes) and comments; `below` under the threshold."""
    threshold = settings_of(shop=shop).quality_ok_threshold
    orders = Order.objects.for_shop(shop).filter(period.filter("paid_at"), paid_at__isnull=False)
    sold = (OrderLine.objects.filter(shop=shop, order__in=orders).values("sku", "title")
            .annotate(units=Sum("quantity")))
    products: dict[str, dict[str, Any]] = {}
    for row in sold:
        key = row["sku"] or row["title"]
        entry = products.setdefault(key, {"sku": key, "title": row["title"], "sold": 0, "quality_refunds": 0,
                                          "reasons": Counter(), "comments": []})
        entry["sold"] += row["units"] or 0
    reasons = (RefundReason.objects.filter(shop=shop, order__in=orders)
               .select_related("order", "line"))
    order_lines: dict[int, list[OrderLine]] = defaultdict(list)
    whole_orders = [r.order_id for r in reasons if r.line_id is None]
    for line in OrderLine.objects.filter(shop=shop, order_id__in=whole_orders):
        order_lines[line.order_id].append(line)
    for reason in reasons:
        if reason.line is not None:
            counted = [(reason.line, line_units(line=reason.line, units=reason.units, amount=reason.amount))]
        else:
            share = order_share(reason.order)
            counted = [(line, order_line_units(line=line, share=share)) for line in order_lines[reason.order_id]]
        for line, units in counted:
            entry = products.get(line.sku or line.title)
            if entry is None:
                continue
            entry["reasons"][reason.code] += units
            if reason.code in QUALITY_REASONS:
                entry["quality_refunds"] += units
            if reason.comment or reason.platform_text:
                entry["comments"].append(reason.comment or reason.platform_text)
    rows = []
    for entry in products.values():
        if not entry["sold"]:
            continue
        rate = 1 - Decimal(entry["quality_refunds"]) / Decimal(entry["sold"])
        rate = max(Decimal(0), rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        labels = dict(RefundReasonCode.choices)
        rows.append({**entry, "quality_ok_rate": float(rate), "quality_ok_percent": float(rate * 100),
                     "below": rate * 100 < threshold,
                     "reasons": {code: n for code, n in entry["reasons"].most_common()},
                     "reason_labels": [(str(labels[c]), n) for c, n in entry["reasons"].most_common()]})
    rows.sort(key=lambda r: (r["quality_ok_rate"], -r["sold"], r["sku"]))
    return rows


# Why customers left, delivery promise -----------------------------------------------------------


def churn_reasons(*, shop: Shop, period: Period = Period()) -> dict[str, dict[str, Any]]:
    """Per reason: count, share (%) of the shop's answers, and the reference share from the source texts."""
    counts = dict(ChurnReason.objects.for_shop(shop).filter(period.filter("recorded_at"))
                  .values_list("code").annotate(n=Count("id")).values_list("code", "n"))
    total = sum(counts.values())
    return {code: {"label": str(label), "count": counts.get(code, 0), "share": _pct(counts.get(code, 0), total),
                   "reference": CHURN_REFERENCE[code]}
            for code, label in ChurnReasonCode.choices}


def delivery_promise(*, shop: Shop, period: Period = Period()) -> dict[str, Any]:
    """Share of shipped orders (paid in the period) that left within the promise, per month and store."""
    hours = settings_of(shop=shop).delivery_promise_hours
    rows = (Shipment.objects.for_shop(shop).filter(period.filter("order__paid_at"), order__paid_at__isnull=False)
            .values_list("order__store_id", "order__paid_at", "shipped_at"))
    stores = dict(Store.objects.for_shop(shop).values_list("pk", "slug"))
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    for store_id, paid_at, shipped_at in rows:
        within = shipped_at - paid_at <= dt.timedelta(hours=hours)
        for counter in (groups[(local_day(paid_at).strftime("%Y-%m"), stores.get(store_id, ""))], total):
            counter[0] += 1
            counter[1] += within
    return {
        "promise_hours": hours, "shipped": total[0], "within_promise": total[1], "share": _pct(total[1], total[0]),
        "by_month_store": [{"month": m, "store": s, "shipped": n, "within_promise": w, "share": _pct(w, n)}
                           for (m, s), (n, w) in sorted(groups.items())],
    }


# The customer 360 page: panel, timeline, data-subject export -----------------------------------------


def customer_surveys(*, shop: Shop, customer) -> QuerySet[Survey]:
    return Survey.objects.for_shop(shop).filter(customer=customer).select_related("store", "associate", "order")


def customer_churn_reasons(*, shop: Shop, customer) -> QuerySet[ChurnReason]:
    return ChurnReason.objects.for_shop(shop).filter(customer=customer).select_related("recorded_by")


def quality_panel(*, shop: Shop, customer):
    """Her satisfaction answers and why-she-left answers, with the forms to record one or send a survey."""
    from huitouke.customers.extensions import Panel

    return Panel("quality/_panel.html", {
        "customer": customer,
        "surveys": list(customer_surveys(shop=shop, customer=customer).order_by("-created_at")[:10]),
        "churn": list(customer_churn_reasons(shop=shop, customer=customer).order_by("-recorded_at")[:10]),
        "churn_choices": ChurnReasonCode.choices,
    })


def quality_timeline_entries(*, shop: Shop, customer) -> list:
    from huitouke.customers.extensions import TimelineEntry

    entries = [TimelineEntry(
        at=s.answered_at, kind="satisfaction",
        title=f"★ {s.goods_stars}/{s.service_stars}/{s.delivery_stars or '–'} · {s.recommend}/10",
        detail={"comment": s.comment, "needs_follow_up": s.needs_follow_up},
    ) for s in customer_surveys(shop=shop, customer=customer).filter(answered_at__isnull=False)]
    entries += [TimelineEntry(at=r.recorded_at, kind="churn_reason", title=r.get_code_display(),
                              detail={"comment": r.comment})
                for r in customer_churn_reasons(shop=shop, customer=customer)]
    return entries


def quality_export_data(*, shop: Shop, customer) -> dict[str, Any]:
    return {
        "satisfaction": [{
            "sent_at": s.created_at.isoformat(), "answered_at": s.answered_at.isoformat() if s.answered_at else None,
            "goods_stars": s.goods_stars, "service_stars": s.service_stars, "delivery_stars": s.delivery_stars,
            "recommend": s.recommend, "comment": s.comment,
        } for s in customer_surveys(shop=shop, customer=customer).order_by("created_at")],
        "churn_reasons": [{"at": r.recorded_at.isoformat(), "reason": r.code, "comment": r.comment}
                          for r in customer_churn_reasons(shop=shop, customer=customer).order_by("recorded_at")],
    }


# The report -------------------------------------------------------------------------------------


def quality_report(*, shop: Shop, month: str | None = None) -> dict[str, Any]:
    """The structure of issue 9 (`huitouke quality report --json`), shared by the dashboard and the API."""
    period = month_period(month)
    products = product_quality(shop=shop, period=period)
    settings = settings_of(shop=shop)
    return {
        "shop": shop.slug,
        "month": month,
        "stores": [{k: row[k] for k in ("store", "audits", "last_score", "average_score", "trend")}
                   for row in store_scores(shop=shop, period=period)],
        "satisfaction": csat_nps(answered_surveys(shop=shop, period=period).values(*_SURVEY_FIELDS)),
        "quality_ok_threshold": float(settings.quality_ok_threshold) / 100,
        "products_below_threshold": [{k: row[k] for k in ("sku", "sold", "quality_refunds", "quality_ok_rate")}
                                     for row in products if row["below"]],
        "churn_reasons": {code: {k: v for k, v in row.items() if k != "label"}
                          for code, row in churn_reasons(shop=shop, period=period).items()},
        "delivery_promise": {k: v for k, v in delivery_promise(shop=shop, period=period).items()
                             if k != "by_month_store"},
    }
