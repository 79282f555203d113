"""Loyalty pages for staff: programme settings and tier ladder, members by tier, coupons, gifts.

The rules (what a valid ladder is, the margin guard, coupon limits, stock) live in loyalty.services;
these views parse forms, call them and show the outcome. Everyone on the staff can look; owners and
managers change things.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from huitouke.analytics.models.scores import Segment
from huitouke.core.errors import DomainError
from huitouke.core.models import Role
from huitouke.loyalty import selectors
from huitouke.loyalty.models import CouponBatch, DiscountKind, Programme, Trigger
from huitouke.loyalty.services import coupons, gifts, programme
from huitouke.loyalty.services.audiences import audience_ids
from huitouke.orders.models import ProductRole
from huitouke.web.views import PAGE_SIZE, staff_required


def _may_change(request: HttpRequest) -> bool:
    return request.staff.role in (Role.OWNER, Role.MANAGER)


def _require_change(request: HttpRequest) -> None:
    if not _may_change(request):
        raise PermissionDenied(_("Only the shop's owner or a manager can change the loyalty programme."))


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = list(programme.SETTINGS_FIELDS)


class TierForm(forms.Form):
    name = forms.CharField(max_length=40, label=gettext_lazy("Tier"))
    min_spend = forms.DecimalField(min_value=0, decimal_places=2, label=gettext_lazy("Qualifying spend (¥)"))
    min_purchases = forms.IntegerField(min_value=0, label=gettext_lazy("Qualifying purchases"))
    discount_percent = forms.DecimalField(min_value=0, max_value=Decimal("99.99"), decimal_places=2,
                                          label=gettext_lazy("Member discount (%)"))
    free_shipping = forms.BooleanField(required=False, label=gettext_lazy("Free shipping"))
    birthday_extra_percent = forms.DecimalField(min_value=0, max_value=Decimal("99.99"), decimal_places=2,
                                                label=gettext_lazy("Birthday month extra (%)"))
    points_multiplier = forms.DecimalField(min_value=Decimal("0.01"), max_value=10, decimal_places=2,
                                           label=gettext_lazy("Points ×"))


TierFormSet = forms.formset_factory(TierForm, extra=1, can_delete=True, max_num=10)


def _tier_initial(request: HttpRequest) -> list[dict[str, Any]]:
    return [{name: getattr(tier, name) for name in TierForm.base_fields} for tier in programme.ladder(shop=request.shop)]


@staff_required
@require_http_methods(["GET", "POST"])
def overview(request: HttpRequest) -> HttpResponse:
    """Programme settings, the ladder with member counts, and links to members, coupons and gifts."""
    current = programme.programme_of(shop=request.shop)
    settings_form = ProgrammeForm(instance=current, prefix="programme")
    ladder_forms = TierFormSet(initial=_tier_initial(request), prefix="tiers")
    error = None
    if request.method == "POST":
        _require_change(request)
        settings_form = ProgrammeForm(request.POST, instance=current, prefix="programme")
        ladder_forms = TierFormSet(request.POST, initial=_tier_initial(request), prefix="tiers")
        if settings_form.is_valid() and ladder_forms.is_valid():
            error = _save_programme(request, settings_form, ladder_forms)
            if error is None:
                messages.success(request, _("The loyalty programme was saved."))
                return redirect("loyalty")
    return render(request, "web/loyalty/overview.html", {
        "settings_form": settings_form, "ladder_forms": ladder_forms, "error": error,
        "tier_counts": selectors.tier_counts(shop=request.shop), "may_change": _may_change(request),
        "templates": selectors.redemption_rates(shop=request.shop)[:5],
    })


def _save_programme(request: HttpRequest, settings_form: ProgrammeForm, ladder_forms) -> str | None:
    """Settings and ladder in one transaction: a refused ladder leaves the settings as they were too."""
    rungs = [
        programme.TierInput(**{name: form.cleaned_data[name] for name in TierForm.base_fields})
        for form in ladder_forms.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]
    changes = {name: settings_form.cleaned_data[name] for name in programme.SETTINGS_FIELDS}
    try:
        with transaction.atomic():
            programme.update_programme(shop=request.shop, **changes)
            programme.set_ladder(shop=request.shop, tiers=rungs)
    except DomainError as exc:
        return exc.localized()
    return None


@staff_required
def members(request: HttpRequest) -> HttpResponse:
    tiers = programme.ladder(shop=request.shop)
    chosen = next((t for t in tiers if str(t.pk) == request.GET.get("tier")), None)
    page = Paginator(selectors.members(shop=request.shop, tier_id=chosen.pk if chosen else None), PAGE_SIZE)
    return render(request, "web/loyalty/members.html", {
        "tiers": tiers, "chosen": chosen, "page": page.get_page(request.GET.get("page")),
    })


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=80, label=gettext_lazy("Coupon name"))
    kind = forms.ChoiceField(choices=DiscountKind.choices, label=gettext_lazy("Kind"))
    value = forms.DecimalField(min_value=Decimal("0.01"), decimal_places=2, label=gettext_lazy("Yuan or percent off"))
    min_spend = forms.DecimalField(min_value=0, decimal_places=2, initial=0, label=gettext_lazy("Minimum spend (¥)"))
    valid_days = forms.IntegerField(min_value=1, required=False, label=gettext_lazy("Valid for days after issue"))
    eligible_roles = forms.MultipleChoiceField(
        choices=ProductRole.choices, initial=["traffic", "edge", "potential"], widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Product roles it applies to"),
    )
    allow_profit_products = forms.BooleanField(required=False, label=gettext_lazy(
        "Owner override: also discount profit products"))
    per_customer_limit = forms.IntegerField(min_value=1, initial=1, label=gettext_lazy("Coupons per customer"))
    stackable = forms.BooleanField(required=False, label=gettext_lazy("Stacks with the member discount"))
    trigger = forms.ChoiceField(choices=Trigger.choices, label=gettext_lazy("Issued on"))


class BatchForm(forms.Form):
    template = forms.TypedChoiceField(coerce=int, label=gettext_lazy("Coupon"))
    segment = forms.ChoiceField(choices=Segment.choices, label=gettext_lazy("Segment"))
    announcement = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                                   label=gettext_lazy("Announcement (for the messaging part)"))

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = choices


@staff_required
@require_http_methods(["GET", "POST"])
def coupon_templates(request: HttpRequest) -> HttpResponse:
    rates = selectors.redemption_rates(shop=request.shop)
    choices = [(row["template"].pk, row["template"].name) for row in rates if row["template"].is_active]
    template_form, batch_form = TemplateForm(prefix="t"), BatchForm(prefix="b", choices=choices)
    error = None
    if request.method == "POST":
        _require_change(request)
        if "t-name" in request.POST:
            template_form = TemplateForm(request.POST, prefix="t")
            error = _create_template(request, template_form)
        else:
            batch_form = BatchForm(request.POST, prefix="b", choices=choices)
            error = _issue_batch(request, batch_form)
        if error is None and (template_form.is_bound or batch_form.is_bound):
            return redirect("loyalty_coupons")
    return render(request, "web/loyalty/coupons.html", {
        "rates": rates, "template_form": template_form, "batch_form": batch_form, "error": error,
        "batches": CouponBatch.objects.filter(shop=request.shop).select_related("template")[:20],
        "may_change": _may_change(request),
    })


def _create_template(request: HttpRequest, form: TemplateForm) -> str | None:
    if not form.is_valid():
        return _("Check the coupon fields below.")
    data = {**form.cleaned_data, "eligible_roles": tuple(form.cleaned_data["eligible_roles"])}
    try:
        created = coupons.create_template(shop=request.shop, data=coupons.TemplateInput(**data))
    except DomainError as exc:
        return exc.localized()
    messages.success(request, _("Coupon “%(name)s” created.") % {"name": created.name})
    return None


def _issue_batch(request: HttpRequest, form: BatchForm) -> str | None:
    if not form.is_valid():
        return _("Choose a coupon and a segment.")
    try:
        template = coupons.template_by_id(shop=request.shop, template_id=form.cleaned_data["template"])
        ids, audience = audience_ids(shop=request.shop, customer_ids=None, segment=form.cleaned_data["segment"])
        batch = coupons.issue_batch(shop=request.shop, template=template, customer_ids=ids, audience=audience,
                                    staff=request.staff, announcement=form.cleaned_data["announcement"])
    except DomainError as exc:
        return exc.localized()
    messages.success(request, _("%(issued)s coupons issued, %(skipped)s customers skipped (limit reached).")
                     % {"issued": batch.issued, "skipped": batch.skipped})
    return None


class GiftForm(forms.Form):
    name = forms.CharField(max_length=80, label=gettext_lazy("Gift"))
    stock = forms.IntegerField(min_value=0, label=gettext_lazy("In stock"))
    points_cost = forms.IntegerField(min_value=0, initial=0, label=gettext_lazy("Points to exchange (0: not exchangeable)"))
    for_parcels = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Surprise gift for parcels"))


@staff_required
@require_http_methods(["GET", "POST"])
def gift_catalogue(request: HttpRequest) -> HttpResponse:
    form, error = GiftForm(), None
    if request.method == "POST":
        _require_change(request)
        form = GiftForm(request.POST)
        if form.is_valid():
            try:
                gifts.create_gift(shop=request.shop, **form.cleaned_data)
            except DomainError as exc:
                error = exc.localized()
            else:
                return redirect("loyalty_gifts")
    return render(request, "web/loyalty/gifts.html", {
        "gifts": selectors.gifts(shop=request.shop), "form": form, "error": error, "may_change": _may_change(request),
    })
