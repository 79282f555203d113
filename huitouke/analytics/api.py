"""/api/v1/analytics: segments, one customer's score, cohorts, customer lists and the win-back list (masked)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema

from huitouke.analytics import autotags, selectors, services
from huitouke.analytics.models.scores import CustomerScore, Segment
from huitouke.analytics.models.tags import AutoTagRule
from huitouke.core.api import MAX_ID, MoneyOut, PageInfo, PageQuery, caller, paginate
from huitouke.core.errors import NotFound
from huitouke.core.pii import mask_name
from huitouke.customers import selectors as customer_selectors
from huitouke.customers.selectors import customer_by_id

router = Router(tags=["analytics"])
CustomerId = Path(..., ge=1, le=MAX_ID, description="customer id")


class SegmentOut(Schema):
    segment: str
    name_zh: str
    name_en: str
    customers: int
    share: float
    revenue: MoneyOut
    average_clv: MoneyOut | None


class SegmentsOut(Schema):
    as_of: dt.date | None = Field(description="the day of the latest refresh; null when none ran")
    customers: int
    segments: list[SegmentOut]


class ScoreOut(Schema):
    customer_id: int
    as_of: dt.date
    segment: str
    segment_name_zh: str
    segment_name_en: str
    recency_days: int
    frequency: int
    monetary: MoneyOut
    r_score: int
    f_score: int
    m_score: int
    p_alive: float | None
    expected_purchases_90: float | None
    expected_purchases_365: float | None
    clv_12m: MoneyOut | None
    days_overdue: float | None
    pareto_p_alive: float | None  # the Pareto/NBD model's view (ModelRun params name the better-fitting one)
    pareto_expected_purchases_365: float | None
    computed_at: dt.datetime


class ScoredCustomerOut(ScoreOut):
    name: str
    phone: str | None
    net_spend: MoneyOut


class ScoredPage(PageInfo):
    items: list[ScoredCustomerOut]


class CustomersQuery(Schema):
    segment: Segment | None = None
    at_risk: bool = Field(False, description="only customers with P(alive) below the shop's risk threshold (default 0.5)")
    order: Literal["clv", "p_alive", "recency", "overdue"] = "clv"
    tag: str = Field("", max_length=50, description="only customers carrying this tag (by hand or by rule)")


class CohortQuery(Schema):
    months: int = Field(selectors.DEFAULT_COHORT_MONTHS, ge=1, le=selectors.MAX_COHORT_MONTHS)


class CohortRowOut(Schema):
    month: str
    size: int
    revenue: MoneyOut
    active: list[int | None]
    repeat_customers: list[int | None]
    repeat_rate: list[float | None]
    revenue_by_month: list[MoneyOut | None]


class MonthRepeatOut(Schema):
    month: str
    buyers: int
    repeat_buyers: int
    repeat_rate: float | None
    revenue: MoneyOut
    repeat_revenue: MoneyOut
    repeat_revenue_share: float | None


class CohortsOut(Schema):
    as_of: dt.date
    months: list[str]
    cohorts: list[CohortRowOut]
    monthly: list[MonthRepeatOut]


class ModelCheckQuery(Schema):
    holdout_days: int | None = Field(
        None, ge=1, le=36500, description="days kept for the holdout; default: the last quarter of the history"
    )


class FrequencyGroupOut(Schema):
    label: str
    customers: int
    actual: float | None
    predicted: float | None


class ModelCheckOut(Schema):
    as_of: dt.date
    calibration_end: dt.date
    holdout_days: int
    customers: int
    params: dict[str, float]
    message: str = Field(description="why BG/NBD could not be fitted on the calibration period; empty when it was")
    groups: list[FrequencyGroupOut]
    actual_total: int
    predicted_total: float | None


def score_fields(score: CustomerScore) -> dict[str, Any]:
    return {
        "customer_id": score.customer_id, "as_of": score.as_of, "segment": score.segment,
        "segment_name_zh": score.get_segment_display(), "segment_name_en": selectors.segment_name_en(score.segment),
        "recency_days": score.recency_days, "frequency": score.frequency, "monetary": score.monetary,
        "r_score": score.r_score, "f_score": score.f_score, "m_score": score.m_score, "p_alive": score.p_alive,
        "expected_purchases_90": score.expected_purchases_90,
        "expected_purchases_365": score.expected_purchases_365, "clv_12m": score.clv_12m,
        "days_overdue": score.days_overdue, "pareto_p_alive": score.pareto_p_alive,
        "pareto_expected_purchases_365": score.pareto_expected_purchases_365, "computed_at": score.computed_at,
    }


def _scored_item(score: CustomerScore) -> dict[str, Any]:
    customer = score.customer
    phones = list(customer.phones.all())  # prefetched, primary first
    return {
        **score_fields(score), "name": mask_name(customer.name), "phone": phones[0].masked if phones else None,
        "net_spend": customer.net_spend,
    }


@router.get("/segments", response=SegmentsOut, summary="Customers, revenue and mean CLV per RFM segment")
def segments(request: HttpRequest) -> dict[str, Any]:
    rows = selectors.segment_overview(shop=request.shop)
    run = selectors.latest_run(shop=request.shop)
    return {
        "as_of": run.as_of if run else None, "customers": sum(row.customers for row in rows),
        "segments": [row.__dict__ for row in rows],
    }


@router.get("/customers", response=ScoredPage, summary="Scored customers by segment and/or risk (masked)")
def customers(request: HttpRequest, filters: Query[CustomersQuery], page: Query[PageQuery]) -> dict[str, Any]:
    scores = selectors.scored_customers(
        shop=request.shop, segment=filters.segment.value if filters.segment else None, at_risk=filters.at_risk,
        order=filters.order, tag=filters.tag,
    )
    items, info = paginate(scores, page)
    return {**info, "items": [_scored_item(score) for score in items]}


@router.get("/customers/{customer_id}/score", response=ScoreOut, summary="One customer's scores and predictions")
def customer_score(request: HttpRequest, customer_id: int = CustomerId) -> dict[str, Any]:
    customer = customer_by_id(shop=request.shop, customer_id=customer_id)
    score = selectors.score_of(shop=request.shop, customer=customer)
    if score is None:
        raise NotFound(
            f"customer {customer_id} has no score: they have not bought yet, or the analytics refresh has not "
            "run since their first purchase (huitouke analytics refresh --shop SLUG)", field="customer",
        )
    return score_fields(score)


@router.get("/cohorts", response=CohortsOut, summary="Monthly acquisition cohorts and repeat figures per month")
def cohorts(request: HttpRequest, query: Query[CohortQuery]) -> dict[str, Any]:
    report = selectors.cohort_report(shop=request.shop, months=query.months)
    return {
        "as_of": report.as_of, "months": report.months, "cohorts": [row.__dict__ for row in report.cohorts],
        "monthly": [row.__dict__ for row in report.monthly],
    }


@router.get("/win-back", response=ScoredPage, summary="High past value, falling P(alive): whom to win back (masked)")
def win_back(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    items, info = paginate(selectors.win_back(shop=request.shop), page)
    return {**info, "items": [_scored_item(score) for score in items]}


@router.get("/model-check", response=ModelCheckOut, summary="BG/NBD on a calibration period vs the holdout")
def model_check(request: HttpRequest, query: Query[ModelCheckQuery]) -> services.ModelCheck:
    """Computed on demand: about a second per 100,000 customers."""
    return services.model_check(shop=request.shop, holdout_days=query.holdout_days)


# Auto-tag rules ------------------------------------------------------------------------------


class TagRuleOut(Schema):
    kind: str
    name: str = Field(description="the rule's name in the request's language")
    tag_name: str = Field(description="the tag given; {category} is replaced by the category (category_fan)")
    params: dict[str, Any]
    enabled: bool
    updated_at: dt.datetime
    customers: dict[str, int] = Field(description="tag name → customers carrying it by this rule now")


class TagRulePatch(Schema):
    enabled: bool | None = None
    tag_name: str | None = Field(None, max_length=50)
    params: dict[str, Any] | None = Field(None, description="merged into the current parameters")


def _rule_out(rule: AutoTagRule, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "kind": rule.kind, "name": rule.get_kind_display(), "tag_name": rule.tag_name,
        "params": {**autotags.DEFAULTS[rule.kind][1], **rule.params}, "enabled": rule.enabled,
        "updated_at": rule.updated_at, "customers": autotags.carried_by(rule, counts),
    }


class ThresholdsOut(Schema):
    lost_after_days: int
    new_within_days: int
    high_score: int
    risk_p_alive: float
    win_back_min_score: int


class ThresholdsPatch(Schema):
    lost_after_days: int | None = Field(None, ge=30, le=3650)
    new_within_days: int | None = Field(None, ge=1, le=365)
    high_score: int | None = Field(None, ge=2, le=5)
    risk_p_alive: float | None = Field(None, gt=0, le=1)
    win_back_min_score: int | None = Field(None, ge=1, le=5)


def _thresholds_out(limits: Any) -> dict[str, Any]:
    return {name: getattr(limits, name) for name in services.THRESHOLD_FIELDS}


@router.get("/settings", response=ThresholdsOut, summary="The shop's segment, risk and win-back thresholds")
def get_thresholds(request: HttpRequest) -> dict[str, Any]:
    return _thresholds_out(selectors.thresholds_of(shop=request.shop))


@router.patch("/settings", response=ThresholdsOut, summary="Change the thresholds (owner or manager)")
def patch_thresholds(request: HttpRequest, payload: ThresholdsPatch) -> dict[str, Any]:
    """Segments follow at the next refresh; the risk and win-back lists at once."""
    limits = services.update_thresholds(shop=request.shop, staff=caller(request), **payload.model_dump(exclude_none=True))
    return _thresholds_out(limits)


@router.get("/tag-rules", response=list[TagRuleOut], summary="The auto-tag rules and who carries their tags")
def tag_rules(request: HttpRequest) -> list[dict[str, Any]]:
    counts = customer_selectors.auto_tag_counts(shop=request.shop)
    return [_rule_out(rule, counts) for rule in autotags.rules_of(shop=request.shop)]


@router.patch("/tag-rules/{kind}", response=TagRuleOut, summary="Change an auto-tag rule (owner or manager)")
def patch_tag_rule(request: HttpRequest, kind: str, payload: TagRulePatch) -> dict[str, Any]:
    """The tags follow at the next analytics refresh."""
    rule = autotags.update_rule(
        shop=request.shop, staff=caller(request), kind=kind, **payload.model_dump(exclude_none=True)
    )
    return _rule_out(rule, customer_selectors.auto_tag_counts(shop=request.shop))


# Lift -----------------------------------------------------------------------------------------


class LiftQuery(Schema):
    categories: int = Field(50, ge=1, le=500, description="the group's top categories by items")


class LiftSideOut(Schema):
    items: int
    revenue: MoneyOut
    customers: int
    item_share: float | None
    revenue_share: float | None


class LiftRowOut(Schema):
    key: str = Field(description="product role or category; empty: unknown")
    group: LiftSideOut
    others: LiftSideOut
    item_lift: float | None = Field(description="group's item share ÷ others' item share")
    revenue_lift: float | None


class LiftOut(Schema):
    segment: str
    customers: int
    other_customers: int
    roles: list[LiftRowOut]
    categories: list[LiftRowOut]


@router.get("/segments/{segment}/lift", response=LiftOut,
            summary="Product roles and categories a segment buys vs all other customers")
def segment_lift(request: HttpRequest, segment: str, query: Query[LiftQuery]) -> dict[str, Any]:
    """`segment` is a segment value or `win-back-list`. Lift 2.0: twice the share of the others."""
    table = selectors.segment_lift(shop=request.shop, segment=segment, categories=query.categories)
    return {**table.__dict__, "segment": table.group}


# Look-alikes ----------------------------------------------------------------------------------


class LookAlikeQuery(Schema):
    gold: Literal["champions", "top_clv"] = Field("champions", description="the customers to resemble")
    limit: int = Field(selectors.DEFAULT_LOOK_ALIKES, ge=1, le=selectors.MAX_LOOK_ALIKES)


class LookAlikeOut(Schema):
    rank: int
    customer_id: int
    name: str
    phone: str | None
    segment: str
    distance: float = Field(description="mean distance to the 5 nearest gold customers (standard deviations)")
    recency_days: int
    monetary: MoneyOut
    net_spend: MoneyOut
    role_shares: dict[str, float]


class LookAlikesOut(Schema):
    gold: str
    gold_customers: int
    candidates: int
    items: list[LookAlikeOut]


@router.get("/look-alikes", response=LookAlikesOut, summary="One-time buyers most like the gold customers (masked)")
def look_alikes(request: HttpRequest, query: Query[LookAlikeQuery]) -> dict[str, Any]:
    result = selectors.look_alikes(shop=request.shop, gold=query.gold, limit=query.limit)
    return {**result.__dict__, "items": [
        {**_scored_item(item.score), "rank": item.rank, "distance": item.distance, "role_shares": item.role_shares}
        for item in result.items
    ]}
