"""Writes of the analytics app: recompute and store a shop's customer scores."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from huitouke.analytics.autotags import refresh_auto_tags
from huitouke.analytics.models.bgnbd import BGNBDFit, fit_bgnbd
from huitouke.analytics.models.clv import customer_lifetime_value
from huitouke.analytics.models.errors import ModelDoesNotFit
from huitouke.analytics.models.gammagamma import GammaGammaFit, fit_gamma_gamma
from huitouke.analytics.models.holdout import by_calibration_frequency
from huitouke.analytics.models.scores import CustomerScore, ModelRun, Segment
from huitouke.analytics.models.settings import AnalyticsSettings
from huitouke.analytics.models.summary import customer_summary
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop, Staff
from huitouke.core.money import from_fen
from huitouke.core.services import require_manager
from huitouke.core.timeutil import today
from huitouke.orders.models import Order

BATCH_SIZE = 5000
LOST_AFTER_DAYS = 365
NEW_WITHIN_DAYS = 30
HIGH_SCORE = 3


@dataclass(frozen=True)
class Purchases:
    """One row per purchase order: customer id, purchase day (proleptic ordinal) and net amount in fen."""

    customer: np.ndarray
    day: np.ndarray
    fen: np.ndarray


def load_purchases(*, shop: Shop, as_of: dt.date) -> Purchases:
    """The shop's purchases up to `as_of` of customers not merged away, in one query, as arrays."""
    rows = (
        Order.objects.filter(
            shop=shop, is_purchase=True, purchase_day__lte=as_of,
            customer__isnull=False, customer__merged_into__isnull=True,
        )
        .annotate(fen=models.ExpressionWrapper(models.F("net_amount"), output_field=models.BigIntegerField()))
        .values_list("customer_id", "purchase_day", "fen")
    )
    ids, days, fen = [], [], []
    for customer_id, day, amount in rows.iterator(chunk_size=20000):
        ids.append(customer_id)
        days.append(day)
        fen.append(amount)
    return Purchases(
        customer=np.array(ids, dtype=np.int64),
        day=np.array(days, dtype="datetime64[D]").astype(np.int64) + dt.date(1970, 1, 1).toordinal(),
        fen=np.array(fen, dtype=np.int64),
    )


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1–5 per value, higher is better: 1 + ⌊5 · (values strictly lower) / n⌋, so ties share a score."""
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    below = np.searchsorted(np.sort(values), values, side="left")
    return 1 + (5 * below) // values.size


def segments(
    *, r_score: np.ndarray, f_score: np.ndarray, m_score: np.ndarray, recency_days: np.ndarray,
    frequency: np.ndarray, age_days: np.ndarray, lost_after_days: int = LOST_AFTER_DAYS,
    new_within_days: int = NEW_WITHIN_DAYS, high_score: int = HIGH_SCORE,
) -> np.ndarray:
    """Segment value per customer by the rules in CustomerScore's docstring."""
    r, f, m = r_score >= high_score, f_score >= high_score, m_score >= high_score
    by_rfm = np.empty(r.size, dtype=object)
    table = {
        (True, True, True): Segment.CHAMPIONS, (False, True, True): Segment.AT_RISK,
        (True, False, True): Segment.PROMISING, (False, False, True): Segment.WIN_BACK,
        (True, True, False): Segment.LOYAL_LOW_SPEND, (True, False, False): Segment.DEVELOPING,
        (False, True, False): Segment.KEEP, (False, False, False): Segment.LOW_VALUE,
    }
    for (rh, fh, mh), segment in table.items():
        by_rfm[(r == rh) & (f == fh) & (m == mh)] = segment.value
    new = (frequency == 0) & (age_days <= new_within_days)
    lost = recency_days > lost_after_days
    return np.where(lost, Segment.LOST.value, np.where(new, Segment.NEW.value, by_rfm))


def days_overdue(*, recency_days: np.ndarray, first_to_last_days: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """Days since the last purchase minus the customer's mean gap between purchase days; NaN for one-time buyers."""
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where(frequency > 0, first_to_last_days / np.maximum(frequency, 1), np.nan)
    return recency_days - gap


@dataclass(frozen=True)
class _Rfm:
    recency_days: np.ndarray
    monetary_fen: np.ndarray
    r_score: np.ndarray
    f_score: np.ndarray
    m_score: np.ndarray
    segment: np.ndarray
    days_overdue: np.ndarray


@dataclass
class _Models:
    """The fitted models (None when the data does not fit) with their parameters and the reasons why not."""

    purchase: BGNBDFit | None = None
    spend: GammaGammaFit | None = None
    params: dict[str, dict[str, float]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def refresh_scores(
    *, shop: Shop, as_of: dt.date | None = None, monthly_discount: float = 0.01,
    lost_after_days: int | None = None, new_within_days: int | None = None,
) -> ModelRun:
    """Recompute every buying customer's RFM, segment, P(alive), expected purchases and 12-month CLV,
    then the rule-made tags (analytics.autotags).

    A model that cannot describe the shop's data leaves its fields NULL and says why on the ModelRun;
    the scores of the shop are replaced in one transaction.
    """
    started = time.perf_counter()
    as_of = as_of or today()
    limits = AnalyticsSettings.objects.filter(shop=shop).first() or AnalyticsSettings(shop=shop)
    lost_after_days = limits.lost_after_days if lost_after_days is None else lost_after_days
    new_within_days = limits.new_within_days if new_within_days is None else new_within_days
    purchases = load_purchases(shop=shop, as_of=as_of)
    summary = customer_summary(
        customer=purchases.customer, day=purchases.day, amount=purchases.fen, as_of=as_of.toordinal()
    )
    rfm = _rfm(summary, purchases, lost_after_days=lost_after_days, new_within_days=new_within_days,
               high_score=limits.high_score)
    fitted = _fit_models(summary)
    predictions = _predictions(summary, fitted, monthly_discount=monthly_discount)
    now = timezone.now()
    rows = _score_rows(shop, as_of, now, summary, rfm, predictions)
    with transaction.atomic():
        CustomerScore.objects.filter(shop=shop).delete()
        CustomerScore.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        run = ModelRun.objects.create(
            shop=shop, as_of=as_of, customers=len(summary), params=fitted.params,
            message="\n".join(fitted.messages), duration_seconds=round(time.perf_counter() - started, 3),
            created_at=now,
        )
    # After the scores, which the lapsed-VIP rule reads; in its own transaction so that the (long)
    # score replacement does not wait for it.
    refresh_auto_tags(shop=shop, as_of=as_of)
    return run


def _rfm(
    summary: Any, purchases: Purchases, *, lost_after_days: int, new_within_days: int, high_score: int = HIGH_SCORE,
) -> _Rfm:
    """Quintile scores and segments. Summary rows are the sorted customer ids; totals follow them."""
    n = len(summary)
    position = np.searchsorted(summary.customer, purchases.customer)
    total_fen = np.bincount(position, weights=purchases.fen, minlength=n) if n else np.zeros(0)
    monetary_fen = np.rint(total_fen / np.maximum(summary.frequency + 1, 1)).astype(np.int64)
    age_days = summary.T.astype(np.int64)
    recency_days = (summary.T - summary.recency).astype(np.int64)
    r_score = quintile_scores(-recency_days)
    f_score = quintile_scores(summary.frequency)
    m_score = quintile_scores(monetary_fen)
    segment = segments(
        r_score=r_score, f_score=f_score, m_score=m_score, recency_days=recency_days,
        frequency=summary.frequency, age_days=age_days, lost_after_days=lost_after_days,
        new_within_days=new_within_days, high_score=high_score,
    )
    overdue = days_overdue(
        recency_days=recency_days, first_to_last_days=summary.recency, frequency=summary.frequency
    )
    return _Rfm(recency_days, monetary_fen, r_score, f_score, m_score, segment, overdue)


def _fit_models(summary: Any) -> _Models:
    fitted = _Models()
    try:
        fitted.purchase = fit_bgnbd(summary.frequency, summary.recency, summary.T)
        fitted.params["bgnbd"] = _params(fitted.purchase, ("r", "alpha", "a", "b"))
    except ModelDoesNotFit as exc:
        fitted.messages.append(f"BG/NBD: {exc.message}")
    try:
        fitted.spend = fit_gamma_gamma(summary.frequency, summary.monetary_value / 100.0)
        fitted.params["gamma_gamma"] = _params(fitted.spend, ("p", "q", "v"))
    except ModelDoesNotFit as exc:
        fitted.messages.append(f"Gamma-Gamma: {exc.message}")
    return fitted


def _predictions(summary: Any, fitted: _Models, *, monthly_discount: float) -> dict[str, np.ndarray | None]:
    """P(alive), expected purchases in 90 and 365 days and 12-month CLV in fen; None where no model fits."""
    out: dict[str, np.ndarray | None] = {"p_alive": None, "expected_90": None, "expected_365": None, "clv_fen": None}
    model = fitted.purchase
    if model is None:
        return out
    x, t_x, age = summary.frequency, summary.recency, summary.T
    out["p_alive"] = model.p_alive(x, t_x, age)
    out["expected_90"] = model.conditional_expected_purchases(90.0, x, t_x, age)
    out["expected_365"] = model.conditional_expected_purchases(365.0, x, t_x, age)
    if fitted.spend is not None:
        spend = fitted.spend.conditional_expected_spend(x, summary.monetary_value / 100.0)
        clv = customer_lifetime_value(
            model, x, t_x, age, spend, months=12, monthly_discount=monthly_discount, unit="days"
        )
        out["clv_fen"] = np.rint(clv * 100.0).astype(np.int64)
    return out


def _score_rows(
    shop: Shop, as_of: dt.date, now: dt.datetime, summary: Any, rfm: _Rfm, predicted: dict[str, np.ndarray | None],
) -> list[CustomerScore]:
    def value(name: str, i: int) -> float | None:
        array = predicted[name]
        return None if array is None else float(array[i])

    clv = predicted["clv_fen"]
    overdue = [None if np.isnan(v) else round(float(v), 1) for v in rfm.days_overdue]
    return [
        CustomerScore(
            shop=shop, customer_id=int(summary.customer[i]), as_of=as_of, recency_days=int(rfm.recency_days[i]),
            frequency=int(summary.frequency[i]), monetary=from_fen(int(rfm.monetary_fen[i])),
            r_score=int(rfm.r_score[i]), f_score=int(rfm.f_score[i]), m_score=int(rfm.m_score[i]),
            segment=rfm.segment[i], p_alive=value("p_alive", i),
            expected_purchases_90=value("expected_90", i), expected_purchases_365=value("expected_365", i),
            clv_12m=None if clv is None else from_fen(int(clv[i])), days_overdue=overdue[i], computed_at=now,
        )
        for i in range(len(summary))
    ]


def _params(fit: BGNBDFit | GammaGammaFit, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(getattr(fit, name)) for name in names} | {"loglik": float(fit.loglik)}


# Model check ----------------------------------------------------------------------------------

HOLDOUT_SHARE = 0.25  # default holdout: the last quarter of the days between the first purchase and as-of
MAX_CHECK_FREQUENCY = 7


@dataclass(frozen=True)
class FrequencyGroup:
    label: str  # "0" … "6", "7+"
    customers: int
    actual: float | None  # mean repeat purchase days in the holdout; None for an empty group
    predicted: float | None


@dataclass(frozen=True)
class ModelCheck:
    as_of: dt.date
    calibration_end: dt.date
    holdout_days: int
    customers: int  # who bought in the calibration period
    params: dict[str, float]
    message: str  # why the model could not be fitted; empty when it was
    groups: list[FrequencyGroup]
    actual_total: int
    predicted_total: float | None


def model_check(*, shop: Shop, as_of: dt.date | None = None, holdout_days: int | None = None) -> ModelCheck:
    """Fit BG/NBD on the purchases up to `as_of − holdout_days` and compare its holdout predictions with reality.

    Computed on demand (a fit takes seconds on a large shop) and stored nowhere: it changes no data.
    """
    as_of = as_of or today()
    purchases = load_purchases(shop=shop, as_of=as_of)
    if purchases.day.size == 0:
        raise Invalid(f"the shop has no purchases up to {as_of}: there is nothing to check the model on")
    span = as_of.toordinal() - int(purchases.day.min())  # days from the first purchase to as-of
    if holdout_days is None:
        holdout_days = max(1, round(span * HOLDOUT_SHARE))
    if not 1 <= holdout_days < span:
        raise Invalid(
            f"the holdout must be between 1 and {span - 1} days: the shop's purchases span {span} days"
            if span > 1 else f"the shop's purchases span {span} days: too short to keep any days for a holdout",
            field="holdout_days",
        )
    calibration_end = as_of - dt.timedelta(days=holdout_days)
    summary = customer_summary(
        customer=purchases.customer, day=purchases.day, as_of=as_of.toordinal(),
        calibration_end=calibration_end.toordinal(),
    )
    actual = summary.frequency_holdout
    check = {"as_of": as_of, "calibration_end": calibration_end, "holdout_days": holdout_days,
             "customers": len(summary), "actual_total": int(actual.sum())}
    try:
        fit = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    except ModelDoesNotFit as exc:
        return ModelCheck(**check, params={}, message=exc.message, groups=[], predicted_total=None)
    predicted = fit.conditional_expected_purchases(float(holdout_days), summary.frequency, summary.recency, summary.T)
    groups = by_calibration_frequency(
        frequency=summary.frequency, actual=actual, predicted=predicted, max_frequency=MAX_CHECK_FREQUENCY
    )
    return ModelCheck(
        **check, params=_params(fit, ("r", "alpha", "a", "b")), message="",
        groups=[
            FrequencyGroup(
                label=f"{i}+" if i == MAX_CHECK_FREQUENCY else str(i), customers=int(groups.customers[i]),
                actual=None if groups.customers[i] == 0 else round(float(groups.actual_mean[i]), 4),
                predicted=None if groups.customers[i] == 0 else round(float(groups.predicted_mean[i]), 4),
            )
            for i in range(MAX_CHECK_FREQUENCY + 1)
        ],
        predicted_total=round(float(predicted.sum()), 2),
    )


THRESHOLD_FIELDS = ("lost_after_days", "new_within_days", "high_score", "risk_p_alive", "win_back_min_score")


@transaction.atomic
def update_thresholds(*, shop: Shop, staff: Staff, **changes: Any) -> AnalyticsSettings:
    """Change the shop's analytics thresholds (owner or manager); they apply from the next refresh
    (segments) or at once (risk and win-back lists)."""
    require_manager(shop=shop, staff=staff, action="change the analytics thresholds")
    if unknown := set(changes) - set(THRESHOLD_FIELDS):
        raise Invalid(f"unknown setting(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    limits = AnalyticsSettings.objects.select_for_update().filter(shop=shop).first() or AnalyticsSettings(shop=shop)
    for name, value in changes.items():
        setattr(limits, name, value)
    try:
        limits.full_clean(exclude=["shop"])
    except ValidationError as exc:
        name, problems = next(iter(exc.message_dict.items()))
        raise Invalid(f"{name}: {' '.join(problems)}", field=name) from exc
    limits.save()
    return limits
