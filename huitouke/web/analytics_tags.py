"""The auto-tag rules page: every rule with its tag, parameters and how many customers carry it now.

Owners and managers edit (the service checks the role); everybody else reads. Parsing the form's text
into typed parameters happens here; their limits are checked by analytics.autotags.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from huitouke.analytics import autotags, selectors, services
from huitouke.analytics.models.settings import AnalyticsSettings
from huitouke.analytics.models.tags import RuleKind
from huitouke.core.errors import Invalid, NotFound
from huitouke.customers import selectors as customer_selectors
from huitouke.web.views import _forbidden_as_403, staff_required

PARAM_LABELS = {
    "min_items": gettext_lazy("Items of one category, at least"),
    "category": gettext_lazy("Only this category (empty: every category)"),
    "lunar": gettext_lazy("Lunar birthdays too"),
    "top_percent": gettext_lazy("Top share of buyers by net spend (%)"),
    "min_purchases": gettext_lazy("Purchases, at least"),
    "min_m_score": gettext_lazy("M score at least (1–5)"),
    "max_p_alive": gettext_lazy("P(alive) below"),
    "min_recency_days": gettext_lazy("or no purchase for more than (days)"),
}
RULE_HELP = {
    RuleKind.CATEGORY_FAN: gettext_lazy(
        "Bought at least this many items of one category, over all purchases. {category} in the tag name "
        "becomes the category, so each category gets its own tag."
    ),
    RuleKind.BIRTHDAY_MONTH: gettext_lazy(
        "Birthday (month and day known) in the month of the refresh; a lunar birthday counts in the solar "
        "month its day falls on this year."
    ),
    RuleKind.BIG_SPENDER: gettext_lazy("Lifetime net spend among the top share of buying customers."),
    RuleKind.DISCOUNT_ONLY: gettext_lazy("Every purchase had a discount."),
    RuleKind.LAPSED_VIP: gettext_lazy(
        "Was a valuable regular (F score 3 or more, M score at least the threshold) and is slipping away: "
        "P(alive) below the bound or no purchase for longer than the days."
    ),
}


def _rows(request: HttpRequest) -> list[dict[str, Any]]:
    counts = customer_selectors.auto_tag_counts(shop=request.shop)
    rows = []
    for rule in autotags.rules_of(shop=request.shop):
        params = {**autotags.DEFAULTS[rule.kind][1], **rule.params}
        rows.append({
            "rule": rule, "help": RULE_HELP[rule.kind],
            "params": [
                {"name": name, "label": PARAM_LABELS[name], "value": params[name], "kind": limit.kind.__name__,
                 "low": limit.low, "high": limit.high}
                for name, limit in autotags.LIMITS[rule.kind].items()
            ],
            "carried": autotags.carried_by(rule, counts),
        })
    return rows


@staff_required
def tag_rules(request: HttpRequest) -> HttpResponse:
    return render(request, "web/analytics/tag_rules.html", {
        "rows": _rows(request), "can_edit": request.staff.can_view_pii,  # owners and managers
    })


@staff_required
@require_POST
def tag_rule_update(request: HttpRequest, kind: str) -> HttpResponse:
    try:
        autotags.rule_of(shop=request.shop, kind=kind)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    try:
        with _forbidden_as_403():
            rule = autotags.update_rule(
                shop=request.shop, staff=request.staff, kind=kind, enabled=request.POST.get("enabled") == "on",
                tag_name=request.POST.get("tag_name", ""), params=_params_from(request, kind),
            )
    except Invalid as exc:
        messages.error(request, exc.localized())
    else:
        messages.success(request, _("Rule “%(name)s” saved; the tags follow at the next analytics refresh.")
                         % {"name": rule.get_kind_display()})
    return redirect("analytics_tag_rules")


@staff_required
@require_POST
def tag_rules_apply(request: HttpRequest) -> HttpResponse:
    """Apply the rules now instead of waiting for the nightly refresh (owners and managers)."""
    with _forbidden_as_403():
        result = autotags.apply_now(shop=request.shop, staff=request.staff)
    messages.success(request, _("Tags applied: %(added)s added, %(removed)s removed.")
                     % {"added": result.added, "removed": result.removed})
    return redirect("analytics_tag_rules")


def _params_from(request: HttpRequest, kind: str) -> dict[str, Any]:
    """The form's text as typed values; text that is no number is passed on for the service to refuse."""
    params: dict[str, Any] = {}
    for name, limit in autotags.LIMITS[kind].items():
        text = request.POST.get(f"param_{name}", "").strip()
        if limit.kind is bool:
            params[name] = text == "on"
        elif limit.kind is str:
            params[name] = text
        else:
            params[name] = _number(text, limit.kind)
    return params


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text) if kind is float else int(text)
    except ValueError:
        return text



class ThresholdsForm(forms.ModelForm):
    class Meta:
        model = AnalyticsSettings
        fields = list(services.THRESHOLD_FIELDS)


@staff_required
@require_http_methods(["GET", "POST"])
def thresholds(request: HttpRequest) -> HttpResponse:
    """The shop's segment, risk and win-back thresholds (owners and managers change them)."""
    current = selectors.thresholds_of(shop=request.shop)
    form = ThresholdsForm(instance=current)
    if request.method == "POST":
        form = ThresholdsForm(request.POST, instance=AnalyticsSettings(shop=request.shop))
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in services.THRESHOLD_FIELDS}
            try:
                with _forbidden_as_403():
                    services.update_thresholds(shop=request.shop, staff=request.staff, **changes)
            except Invalid as exc:
                messages.error(request, exc.localized())
            else:
                messages.success(request, _("Thresholds saved: segments follow at the next analytics refresh, "
                                            "the risk and win-back lists at once."))
                return redirect("analytics_thresholds")
    return render(request, "web/analytics/thresholds.html", {"form": form, "can_edit": request.staff.can_view_pii})
