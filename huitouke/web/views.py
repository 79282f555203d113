"""HTML views: parse the request, call a selector or service, render. No business rule lives here."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from huitouke.analytics import selectors as analytics_selectors
from huitouke.core.errors import Conflict, DomainError, Forbidden, NotFound
from huitouke.core.models import Role
from huitouke.core.money import ZERO
from huitouke.core.timeutil import today
from huitouke.customers import extensions, merges, selectors, services
from huitouke.customers.models import Channel, Customer, CustomerTag
from huitouke.customers.phones import display_phone
from huitouke.orders import selectors as order_selectors
from huitouke.web.forms import ProfileForm, SearchForm
from huitouke.web.labels import fact_label
from huitouke.web.templatetags.web_format import masked_name

PAGE_SIZE = 50
_IMPORT_SOURCE = re.compile(r"import #(\d+)")
CHART_MONTHS = 24


def is_htmx(request: HttpRequest) -> bool:
    """An HTMX partial request (a history restore wants the full page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in staff only; a login without a staff record gets a 403 explaining why.

    An auditor (mystery shopper) reaches only the views marked `auditors_allowed`; elsewhere it is sent to
    its audits. A platform merchant's login reaches none of the operator's pages: it is sent to its portal."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = f"{reverse('login')}?next={request.path}"
                return response
            return redirect_to_login(request.get_full_path())
        if request.staff is None:
            raise PermissionDenied(_("Your account is not linked to any shop. Ask the shop owner to add you as staff."))
        if request.staff.role == Role.AUDITOR and not getattr(view, "auditors_allowed", False):
            if request.method == "GET" and not is_htmx(request):
                return redirect("quality_audits")
            raise PermissionDenied(_("Auditors see only the audits of their stores."))
        if request.staff.role == Role.MERCHANT:
            if request.method == "GET" and not is_htmx(request):
                return redirect("platform_portal")
            raise PermissionDenied(_("A merchant login sees only its merchant's portal and till."))
        return view(request, *args, **kwargs)

    return wrapper


def _customer_or_404(request: HttpRequest, customer_id: int) -> Customer:
    try:
        return selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


# Dashboard ------------------------------------------------------------------------------------


def _month_start(day: dt.date, months_back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def _chart_data(request: HttpRequest) -> dict[str, Any]:
    """Revenue by month for the last 24 months (empty months as zero), ready for ECharts."""
    now = today()
    since = _month_start(now, CHART_MONTHS - 1)
    rows = {row.month: row for row in order_selectors.revenue_by_month(shop=request.shop, since=since)}
    months, new, returning, share = [], [], [], []
    for back in range(CHART_MONTHS - 1, -1, -1):
        key = _month_start(now, back).strftime("%Y-%m")
        row = rows.get(key)
        new_amount = row.new_revenue if row else ZERO
        returning_amount = row.returning_revenue if row else ZERO
        total = new_amount + returning_amount
        months.append(key)
        new.append(float(new_amount))
        returning.append(float(returning_amount))
        share.append(round(float(returning_amount / total) * 100, 1) if total > ZERO else None)
    return {
        "months": months, "new": new, "returning": returning, "share": share,
        "labels": {
            "new": _("New customers"), "returning": _("Returning customers"),
            "share": _("Returning share"), "revenue": _("Net revenue (¥)"), "percent": _("Share (%)"),
        },
    }


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    figures = order_selectors.headline(shop=request.shop)
    return render(request, "web/dashboard.html", {"figures": figures, "chart": _chart_data(request)})


# Customer list --------------------------------------------------------------------------------


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query, sort, tag = "", "recent", ""
    if form.is_valid():
        query, sort, tag = form.cleaned_data["q"], form.cleaned_data["sort"] or "recent", form.cleaned_data["tag"]
    customers = selectors.search_customers(shop=request.shop, query=query, order=sort, tag=tag)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"customer": c, "phone": next(iter(c.phones.all()), None)} for c in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "query": query, "sort": sort, "tag": tag}
    template = "web/customers/_results.html" if is_htmx(request) else "web/customers/list.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


# Customer 360 ---------------------------------------------------------------------------------


def _profile_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    return {
        "customer": customer,
        "tags": selectors.tag_names(shop=request.shop, customer=customer),
        "rule_tags": selectors.tag_names(shop=request.shop, customer=customer, source=CustomerTag.Source.AUTO),
        "completeness": _completeness_context(customer),
    }


def _completeness_context(customer: Customer) -> dict[str, Any]:
    result = selectors.completeness_of(customer)
    return {
        "score": result.score,
        "hard_missing": [fact_label(name) for name in result.hard_missing],
        "soft_missing": [fact_label(name) for name in result.soft_missing],
    }


def _detail_context(request: HttpRequest, customer: Customer, *, revealed: bool) -> dict[str, Any]:
    consents = selectors.current_consents(shop=request.shop, customer=customer)
    phones = [
        {"row": p, "full": display_phone(p.e164) if p.e164 else p.masked}
        for p in customer.phones.order_by("-is_primary", "id")
    ]
    return {
        **_profile_context(request, customer),
        "revealed": revealed,
        "phones": phones,
        "emails": list(customer.emails.order_by("id")),
        "addresses": list(customer.addresses.order_by("-is_default", "id")),
        "identities": list(customer.identities.order_by("platform", "handle")),
        "consents": [(Channel(channel).label, consents.get(channel)) for channel in Channel.values],
        "timeline": extensions.timeline_for(shop=request.shop, customer=customer),
        "panels": extensions.panels_for(shop=request.shop, customer=customer),
        "can_view_pii": request.staff.can_view_pii,
        "can_erase": request.staff.role == Role.OWNER,
        "merges": _merges_context(request, customer),
        "can_undo_merge": request.staff.can_view_pii,
        "analytics": _analytics_context(request, customer),
    }


def _analytics_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer's stored score and, when there is none, the latest refresh (to say why not)."""
    score = analytics_selectors.score_of(shop=request.shop, customer=customer)
    return {
        "score": score,
        "segment_en": analytics_selectors.segment_name_en(score.segment) if score else "",
        "run": None if score else analytics_selectors.latest_run(shop=request.shop),
    }


def _import_number(source: str) -> int | None:
    """The import run a merge came from ("import #12" → 12), to link to it; None for other sources."""
    match = _IMPORT_SOURCE.fullmatch(source)
    return int(match.group(1)) if match else None


def _merges_context(request: HttpRequest, customer: Customer) -> list[dict[str, Any]]:
    """The merge history of this customer, each with the other record and which side this one was on."""
    rows = []
    for merge in merges.merges_of(shop=request.shop, customer_ids=[customer.pk]):
        kept_here = merge.kept_id == customer.pk
        rows.append({
            "merge": merge, "kept_here": kept_here, "other": merge.absorbed if kept_here else merge.kept,
            "reason": merge.get_reason_display(), "source_run": _import_number(merge.source),
        })
    return rows


@contextmanager
def _forbidden_as_403() -> Iterator[None]:
    """The services decide who may do what; the web shows their refusal as a 403 page."""
    try:
        yield
    except Forbidden as exc:
        raise PermissionDenied(exc.localized()) from exc


@staff_required
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    merged_into = selectors.merged_into_of(shop=request.shop, customer_id=customer_id)
    if merged_into is not None:
        messages.info(request, _("Customer #%(old)s was merged into this customer; you are seeing the merged record.")
                      % {"old": customer_id})
        return redirect("customer", customer_id=merged_into)
    customer = _customer_or_404(request, customer_id)
    return render(request, "web/customers/detail.html", _detail_context(request, customer, revealed=False))


@staff_required
@require_POST
def customer_reveal(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Show the full personal data once, for staff allowed to see it; every reveal is logged."""
    customer = _customer_or_404(request, customer_id)
    with _forbidden_as_403():
        services.record_reveal(shop=request.shop, staff=request.staff, actor=_actor(request), customer=customer)
    return render(request, "web/customers/detail.html", _detail_context(request, customer, revealed=True))


@staff_required
@require_POST
def customer_export(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Everything held about the customer as a JSON download (a data-subject request); logged."""
    customer = _customer_or_404(request, customer_id)
    with _forbidden_as_403():
        data = services.export_customer(
            shop=request.shop, customer=customer, staff=request.staff, actor=_actor(request)
        )
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@staff_required
@require_POST
def customer_erase(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the confirmation box to erase this customer's personal data."))
        return redirect("customer", customer_id=customer.pk)
    with _forbidden_as_403():
        services.erase_customer(shop=request.shop, customer=customer, staff=request.staff, actor=_actor(request))
    messages.success(request, _("The customer's personal data was erased. Order figures are kept."))
    return redirect("customer", customer_id=customer.pk)


@staff_required
@require_POST
def customer_merge_undo(request: HttpRequest, customer_id: int, merge_id: int) -> HttpResponse:
    """Split a merge shown on this customer's page: the merged-away record becomes a customer again."""
    customer = _customer_or_404(request, customer_id)
    if merge_id not in {m.pk for m in merges.merges_of(shop=request.shop, customer_ids=[customer.pk])}:
        raise Http404("no such merge for this customer")
    try:
        with _forbidden_as_403():
            merge = merges.undo_merge(shop=request.shop, merge_id=merge_id, staff=request.staff)
    except Conflict:
        messages.error(request, _("This merge was undone already."))
        return redirect("customer", customer_id=customer.pk)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    separate = merge.absorbed if merge.kept_id == customer.pk else merge.kept
    messages.success(request, format_html(
        _("Merge undone: {link} is a separate customer again."),
        link=format_html('<a href="{}">{}</a>', reverse("customer", args=[separate.pk]), masked_name(separate.name)),
    ))
    return redirect("customer", customer_id=customer.pk)


@staff_required
@require_http_methods(["GET", "POST"])
def customer_profile(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Edit hard and soft profile and tags. HTMX swaps the section in place; a plain POST redirects."""
    customer = _customer_or_404(request, customer_id)
    # Only hand-made tags are edited here; rule-made ones follow their rules (analytics auto-tags).
    tags = selectors.tag_names(shop=request.shop, customer=customer, source=CustomerTag.Source.MANUAL)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid() and _save_profile(request, customer, form):
            customer.refresh_from_db()
            if is_htmx(request):
                context = {**_profile_context(request, customer), "saved": True, "oob": True}
                return render(request, "web/customers/_profile.html", context)
            messages.success(request, _("Profile saved."))
            return redirect("customer", customer_id=customer.pk)
        customer.refresh_from_db()
        status = 200 if is_htmx(request) else 422
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(customer, tags))
        status = 200
    context = {"customer": customer, "form": form}
    template = "web/customers/_profile_form.html" if is_htmx(request) else "web/customers/profile_edit.html"
    return render(request, template, context, status=status)


def _save_profile(request: HttpRequest, customer: Customer, form: ProfileForm) -> bool:
    """Profile and tags are saved together or not at all; a refused change is shown on its field."""
    try:
        with transaction.atomic():
            services.update_profile(shop=request.shop, customer=customer, changes=form.profile_changes())
            services.set_tags(shop=request.shop, customer=customer, names=form.tag_names())
            services.set_referrer(shop=request.shop, customer=customer, referrer_id=form.referrer_id())
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.localized())
        return False
    return True
