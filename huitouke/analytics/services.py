"""Writes of the analytics app: recompute and store a shop's customer scores."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.analytics import arrays, reports
from huitouke.analytics.autotags import Scores, TagFacts, refresh_auto_tags
from huitouke.analytics.models import bgnbd
from huitouke.analytics.models.bgnbd import BGNBDFit, fit_bgnbd
from huitouke.analytics.models.clv import customer_lifetime_value
from huitouke.analytics.models.errors import ModelDoesNotFit
from huitouke.analytics.models.gammagamma import GammaGammaFit, fit_gamma_gamma
from huitouke.analytics.models.holdout import by_calibration_frequency
from huitouke.analytics.models.paretonbd import ParetoNBDFit, fit_pareto_nbd
from huitouke.analytics.models.scores import CustomerScore, ModelRun, Segment
from huitouke.analytics.models.settings import AnalyticsSettings
from huitouke.analytics.models.summary import customer_summary
from huitouke.analytics.selectors import (
    DEFAULT_COHORT_MONTHS,
    cohort_key,
    compute_cohort_report,
    jsonable,
)
from huitouke.core.bulk import date_adapter, datetime_adapter, insert_rows, read_alongside
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop, Staff
from huitouke.core.services import update_shop_settings
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer

LOST_AFTER_DAYS = 365
NEW_WITHIN_DAYS = 30
HIGH_SCORE = 3
# The purchase models are fitted on at most this many customers, drawn at random with a fixed seed (so a
# refresh of unchanged data gives the same parameters), and then score every customer. The parameters
# describe the shop's population, not single customers: a random sample of 100,000 estimates them with
# standard errors of a few tenths of a percent, far below what moves a score, while a fit on 1,000,000
# customers costs ten times as long. Pareto/NBD's likelihood costs ~50x BG/NBD's (two Gauss hypergeometric
# terms per customer), so it is fitted on the first PARETO_FIT_SAMPLE of the same draw (standard errors of
# a few percent along its flat s-β ridge, where the predictions hardly move); the two models' likelihoods
# are compared on that same subsample.
FIT_SAMPLE = 100_000
PARETO_FIT_SAMPLE = 20_000
FIT_SEED = 20_051_005


class Phases:
    """Wall time per phase of a refresh, summed into `into` (the bench prints them; None: not recorded)."""

    def __init__(self, into: dict[str, float] | None):
        self.into = into

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.into is not None:
                self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - started


def load_purchases(*, shop: Shop, as_of: dt.date) -> arrays.Purchases:
    """The shop's purchases up to `as_of` of customers not merged away, in one query, as arrays."""
    bought = arrays.purchases(shop=shop, as_of=as_of)
    merged = Customer.objects.including_merged(shop).filter(merged_into__isnull=False).values_list("id", flat=True)
    return of_customers(bought, np.fromiter(merged, dtype=np.int64))


def of_customers(bought: arrays.Purchases, merged: np.ndarray) -> arrays.Purchases:
    """The purchases of customers: no guests, nobody merged away."""
    return bought.where((bought.customer >= 0) & ~np.isin(bought.customer, merged))


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
    pareto: ParetoNBDFit | None = None
    spend: GammaGammaFit | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def refresh_scores(
    *, shop: Shop, as_of: dt.date | None = None, monthly_discount: float = 0.01,
    lost_after_days: int | None = None, new_within_days: int | None = None, phases: dict[str, float] | None = None,
) -> ModelRun:
    """Recompute every buying customer's RFM, segment, P(alive), expected purchases and 12-month CLV,
    then the rule-made tags (analytics.autotags).

    A model that cannot describe the shop's data leaves its fields NULL and says why on the ModelRun;
    the scores of the shop are replaced in one transaction. `phases` (if given) receives seconds per phase.
    """
    clock = Phases(phases)
    started = time.perf_counter()
    as_of = as_of or today()
    limits = AnalyticsSettings.objects.filter(shop=shop).first() or AnalyticsSettings(shop=shop)
    lost_after_days = limits.lost_after_days if lost_after_days is None else lost_after_days
    new_within_days = limits.new_within_days if new_within_days is None else new_within_days
    with clock("read orders and customers"):
        generation = reports.current_generation(shop)  # before the read: see _store_reports
        # The order lines (for the auto-tags, at the end) are read meanwhile on another connection.
        lines = read_alongside(lambda: arrays.lines(shop=shop))
        people = arrays.customers(shop=shop)
        bought = arrays.purchases(shop=shop, as_of=as_of)
        purchases = of_customers(bought, people.id[people.merged])
    with clock("summary and RFM"):
        summary = customer_summary(
            customer=purchases.customer, day=purchases.day, amount=purchases.fen, as_of=as_of.toordinal()
        )
        rfm = _rfm(summary, purchases, lost_after_days=lost_after_days, new_within_days=new_within_days,
                   high_score=limits.high_score)
    with clock("model fits"):
        fitted = _fit_models(summary)
    with clock("predictions"):
        predictions = _predictions(summary, fitted, monthly_discount=monthly_discount)
    with clock("write scores"):
        now = timezone.now()
        with transaction.atomic():
            _replace_scores(shop, as_of, now, summary, rfm, predictions)
            run = ModelRun.objects.create(
                shop=shop, as_of=as_of, customers=len(summary), params=fitted.params,
                message="\n".join(fitted.messages), duration_seconds=0.0, created_at=now,
            )
    # After the scores, which the lapsed-VIP rule reads; in its own transaction so that the (long)
    # score replacement does not wait for it.
    with clock("auto-tags"):
        scores = Scores(customer=summary.customer, f_score=rfm.f_score, m_score=rfm.m_score,
                        p_alive=_or_nan(predictions["p_alive"], len(summary)), recency_days=rfm.recency_days)
        facts = TagFacts(as_of=as_of, purchases=purchases, lines=lines(), customers=people, scores=scores)
        refresh_auto_tags(shop=shop, as_of=as_of, facts=facts)
    with clock("cohorts and model check"):
        _store_reports(shop, as_of, bought, purchases, generation=generation)
    run.duration_seconds = round(time.perf_counter() - started, 3)
    run.save(update_fields=["duration_seconds"])
    return run


def _store_reports(
    shop: Shop, as_of: dt.date, bought: arrays.Purchases, purchases: arrays.Purchases, *, generation: int,
) -> None:
    """Replace the shop's stored tables with the default cohort report and model check as of the refresh day,
    from the purchases already in hand (a view with other inputs computes and stores its own).

    `generation` was read before the purchases: if they changed since (an import during the refresh), the
    tables would be stale, so none are stored and the pages compute their own."""
    reports.forget_reports(shop=shop)
    if reports.current_generation(shop) != generation + 1:
        return
    generation += 1
    months = DEFAULT_COHORT_MONTHS
    cohort_table = compute_cohort_report(bought, months=months, as_of=as_of)
    reports.keep(shop=shop, kind="cohorts", key=cohort_key(months, as_of), data=jsonable(cohort_table),
                 generation=generation)
    try:
        check = compute_model_check(purchases, as_of=as_of, holdout_days=None)
    except Invalid:
        return  # too little history for a holdout: the page says so when asked
    reports.keep(shop=shop, kind="model_check", key=model_check_key(as_of, None), data=jsonable(check),
                 generation=generation)


def _or_nan(values: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, np.nan) if values is None else values


def _rfm(
    summary: Any, purchases: arrays.Purchases, *, lost_after_days: int, new_within_days: int, high_score: int = HIGH_SCORE,
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
    """BG/NBD on FIT_SAMPLE customers, Pareto/NBD on PARETO_FIT_SAMPLE of them (see there), Gamma-Gamma on
    everyone (it is cheap); params["purchase_model"] names the model with the better likelihood."""
    fitted = _Models()
    x, t_x, age = _fit_sample(summary, FIT_SAMPLE)
    try:
        fitted.purchase = fit_bgnbd(x, t_x, age)
        fitted.params["bgnbd"] = _params(fitted.purchase, ("r", "alpha", "a", "b"))
    except ModelDoesNotFit as exc:
        fitted.messages.append(f"BG/NBD: {exc.message}")
    pareto_rows = _fit_sample(summary, min(PARETO_FIT_SAMPLE, FIT_SAMPLE))
    try:
        fitted.pareto = fit_pareto_nbd(*pareto_rows)
        fitted.params["pareto_nbd"] = _params(fitted.pareto, ("r", "alpha", "s", "beta"))
    except ModelDoesNotFit as exc:
        fitted.messages.append(f"Pareto/NBD: {exc.message}")
    if pareto_rows[0].size < len(summary):
        fitted.params["fit_sample"] = {"bgnbd": int(x.size), "pareto_nbd": int(pareto_rows[0].size)}
    fitted.params.update(_better_purchase_model(fitted, pareto_rows))
    try:
        fitted.spend = fit_gamma_gamma(summary.frequency, summary.monetary_value / 100.0)
        fitted.params["gamma_gamma"] = _params(fitted.spend, ("p", "q", "v"))
    except ModelDoesNotFit as exc:
        fitted.messages.append(f"Gamma-Gamma: {exc.message}")
    return fitted


def _better_purchase_model(fitted: _Models, rows: tuple[np.ndarray, ...]) -> dict[str, Any]:
    """The purchase model with the higher log-likelihood on the same customers (Pareto/NBD's sample)."""
    loglik = {}
    if fitted.purchase is not None:
        loglik["bgnbd"] = bgnbd.loglik(fitted.purchase.params, *rows)
    if fitted.pareto is not None:
        loglik["pareto_nbd"] = fitted.pareto.loglik
    if not loglik:
        return {}
    return {"purchase_model": max(loglik, key=loglik.__getitem__), "model_choice_loglik": loglik}


def _fit_sample(summary: Any, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of every customer, or of `size` of them: the first of one seeded random order,
    so a smaller sample is part of a larger one."""
    n = len(summary)
    if n <= size:
        return summary.frequency, summary.recency, summary.T
    chosen = np.sort(np.random.default_rng(FIT_SEED).permutation(n)[:size])
    return summary.frequency[chosen], summary.recency[chosen], summary.T[chosen]


def _predictions(summary: Any, fitted: _Models, *, monthly_discount: float) -> dict[str, np.ndarray | None]:
    """P(alive), expected purchases in 90 and 365 days and 12-month CLV in fen (BG/NBD), and the Pareto/NBD
    P(alive) and expected purchases in 365 days; None where no model fits."""
    names = ("p_alive", "expected_90", "expected_365", "clv_fen", "pareto_p_alive", "pareto_expected_365")
    out: dict[str, np.ndarray | None] = dict.fromkeys(names)
    x, t_x, age = summary.frequency, summary.recency, summary.T
    if fitted.pareto is not None:
        out["pareto_p_alive"] = fitted.pareto.p_alive(x, t_x, age)
        out["pareto_expected_365"] = fitted.pareto.conditional_expected_purchases(
            365.0, x, t_x, age, alive=out["pareto_p_alive"]
        )
    model = fitted.purchase
    if model is None:
        return out
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


def _replace_scores(
    shop: Shop, as_of: dt.date, now: dt.datetime, summary: Any, rfm: _Rfm, predicted: dict[str, np.ndarray | None],
) -> None:
    """Delete the shop's score rows and insert the new ones in bulk (inside the caller's transaction)."""
    n = len(summary)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(CustomerScore._meta.db_table)} WHERE {quote('shop_id')} = %s", [shop.pk])
    overdue = np.round(rfm.days_overdue, 1)
    insert_rows(CustomerScore, {
        "shop": [shop.pk] * n, "customer": summary.customer.tolist(), "as_of": [date_adapter()(as_of)] * n,
        "recency_days": rfm.recency_days.tolist(), "frequency": summary.frequency.astype(np.int64).tolist(),
        "monetary": rfm.monetary_fen.tolist(), "r_score": rfm.r_score.tolist(), "f_score": rfm.f_score.tolist(),
        "m_score": rfm.m_score.tolist(), "segment": rfm.segment.tolist(),
        "p_alive": _nullable(predicted["p_alive"], n), "expected_purchases_90": _nullable(predicted["expected_90"], n),
        "expected_purchases_365": _nullable(predicted["expected_365"], n),
        "clv_12m": _nullable(predicted["clv_fen"], n), "days_overdue": _nullable(overdue, n),
        "pareto_p_alive": _nullable(predicted["pareto_p_alive"], n),
        "pareto_expected_purchases_365": _nullable(predicted["pareto_expected_365"], n),
        "computed_at": [datetime_adapter()(now)] * n,
    }, n)


def _nullable(values: np.ndarray | None, n: int) -> list:
    """Database values of a column: None where there is no model or the value is NaN."""
    if values is None:
        return [None] * n
    if values.dtype.kind != "f":
        return values.tolist()
    column = values.astype(object)
    column[np.isnan(values)] = None
    return column.tolist()


def _params(fit: BGNBDFit | ParetoNBDFit | GammaGammaFit, names: tuple[str, ...]) -> dict[str, float]:
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

    Stored (analytics.reports) until the shop's purchases change: it reads every purchase and fits a model.
    """
    as_of = as_of or today()
    return reports.stored(
        shop=shop, kind="model_check", key=model_check_key(as_of, holdout_days),
        compute=lambda: compute_model_check(load_purchases(shop=shop, as_of=as_of), as_of=as_of,
                                            holdout_days=holdout_days),
        encode=jsonable, decode=_model_check_from,
    )


def model_check_key(as_of: dt.date, holdout_days: int | None) -> str:
    return f"{as_of.isoformat()} holdout={holdout_days or 'auto'}"


def _model_check_from(data: dict[str, Any]) -> ModelCheck:
    return ModelCheck(**{
        **data, "as_of": dt.date.fromisoformat(data["as_of"]),
        "calibration_end": dt.date.fromisoformat(data["calibration_end"]),
        "groups": [FrequencyGroup(**group) for group in data["groups"]],
    })


def compute_model_check(purchases: arrays.Purchases, *, as_of: dt.date, holdout_days: int | None) -> ModelCheck:
    """The check on these purchases (of customers, up to `as_of`); the model is fitted on FIT_SAMPLE customers
    at most, its predictions are compared for everyone."""
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
        fit = fit_bgnbd(*_fit_sample(summary, FIT_SAMPLE))
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


def update_thresholds(*, shop: Shop, staff: Staff, **changes: Any) -> AnalyticsSettings:
    """Change the shop's analytics thresholds (owner or manager); they apply from the next refresh
    (segments) or at once (risk and win-back lists)."""
    return update_shop_settings(AnalyticsSettings, shop=shop, staff=staff, allowed=THRESHOLD_FIELDS,
                                action=_("change the analytics thresholds"), changes=changes)
