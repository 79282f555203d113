"""Platform pages: the operator console (merchants, balances, suspensions, statements) and the merchant
portal (its agreement and pending changes, balance and history, consumption records, statements). A merchant
login sees its own portal only; another merchant's is a 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from huitouke.core.errors import DomainError, Forbidden, Invalid, NotFound
from huitouke.core.money import MoneyError, money
from huitouke.core.pii import mask_phone
from huitouke.platform import qr, selectors
from huitouke.platform.exports import csv_response, pdf_response
from huitouke.platform.models import Dispute, Merchant, Method, Statement
from huitouke.platform.services import consumption, disputes, verification
from huitouke.platform.services.common import moment


def _staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request, "staff", None) is None:
            raise PermissionDenied(_("Your account is not linked to any shop."))
        return view(request, *args, **kwargs)

    return wrapper


def _merchant(request: HttpRequest, merchant_id: int | None) -> Merchant:
    own = selectors.merchant_of(shop=request.shop, staff=request.staff)
    if own is not None and merchant_id is None:
        return own
    if merchant_id is None:
        raise Http404("no merchant")
    try:
        return selectors.merchant_for(shop=request.shop, staff=request.staff, merchant_id=merchant_id)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc


@_staff_only
def console(request: HttpRequest) -> HttpResponse:
    """The operator's console; a merchant login goes to its portal."""
    if selectors.merchant_of(shop=request.shop, staff=request.staff) is not None:
        return redirect("platform_portal")
    figures = selectors.console(shop=request.shop, at=moment(None))
    return render(request, "platform/console.html", {
        "figures": figures, "disputes": selectors.disputes(shop=request.shop, status=Dispute.Status.OPEN)})


@_staff_only
def portal(request: HttpRequest, merchant_id: int | None = None) -> HttpResponse:
    now = moment(None)
    merchant = _merchant(request, merchant_id)
    shop = request.shop
    merchant_disputes = list(selectors.disputes(shop=shop, merchant=merchant))
    disputed = {d.line_id for d in merchant_disputes}
    records = []
    for record in selectors.consumptions_of(shop=shop, merchant=merchant):
        line = getattr(record, "statement_line", None)  # None until the record is on a statement
        records.append({"record": record, "member": mask_phone(record.member.phone_e164), "line": line,
                        "disputable": line is not None and line.amount > 0 and line.pk not in disputed})
    return render(request, "platform/portal.html", {
        "disputes": merchant_disputes,
        "merchant": merchant, "agreement": selectors.agreement_in_force(shop=shop, merchant=merchant, at=now),
        "pending": selectors.pending_changes(shop=shop, merchant=merchant, at=now),
        "entries": selectors.balance_history(shop=shop, merchant=merchant).order_by("-at", "-id")[:50],
        "records": records, "statements": selectors.statements_of(shop=shop, merchant=merchant),
        "is_operator": selectors.merchant_of(shop=shop, staff=request.staff) is None,
    })


def _visible_statement(request: HttpRequest, statement_id: int) -> Statement:
    own = selectors.merchant_of(shop=request.shop, staff=request.staff)
    found = selectors.statement_for(shop=request.shop, statement_id=statement_id, merchant=own)
    if found is None:
        raise Http404("no such statement")
    return found


@_staff_only
def statement_csv(request: HttpRequest, statement_id: int) -> HttpResponse:
    return csv_response(_visible_statement(request, statement_id))


@_staff_only
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    statement = _visible_statement(request, statement_id)
    try:
        return pdf_response(statement)
    except DomainError as exc:  # no CJK font on the server: say so instead of a broken file
        return HttpResponse(exc.localized(), status=409, content_type="text/plain; charset=utf-8")


@_staff_only
@require_http_methods(["POST"])
def dispute_raise(request: HttpRequest) -> HttpResponse:
    """A merchant login disputes a line of its own statement (with a reason); back to its portal."""
    merchant = selectors.merchant_of(shop=request.shop, staff=request.staff)
    if merchant is None:
        raise PermissionDenied(_("Only a merchant login can dispute its statement."))
    try:
        disputes.raise_dispute(shop=request.shop, merchant=merchant, line=_posted_id(request, "line"),
                               reason=request.POST.get("reason", ""), staff=request.staff)
        messages.success(request, _("Dispute sent to the platform."))
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    except DomainError as exc:
        messages.error(request, exc.localized())
    return redirect("platform_portal")


@_staff_only
@require_http_methods(["POST"])
def dispute_resolve(request: HttpRequest, dispute_id: int) -> HttpResponse:
    """The operator rejects a dispute or settles it with an adjustment; back to the console."""
    note = request.POST.get("note", "")
    try:
        if request.POST.get("action") == "settle":
            try:
                spend = money(request.POST.get("spend") or "")
            except MoneyError as exc:
                raise Invalid(gettext_lazy("Type the spend to take off, e.g. 128.50."), field="spend") from exc
            disputes.settle_dispute(shop=request.shop, dispute=dispute_id, spend=spend, note=note,
                                    staff=request.staff)
        else:
            disputes.reject_dispute(shop=request.shop, dispute=dispute_id, note=note, staff=request.staff)
        messages.success(request, _("Dispute resolved."))
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    except Forbidden as exc:
        raise PermissionDenied(exc.localized()) from exc
    except DomainError as exc:
        messages.error(request, exc.localized())
    return redirect("platform_console")


def _posted_id(request: HttpRequest, name: str) -> int:
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Invalid(gettext_lazy("%(name)s must be a number"), field=name, params={"name": name})
    return int(value)


def _member_or_404(token: str):
    member = qr.member_from_page_token(token)
    if member is None:
        raise Http404("no such member page")
    return member


@never_cache
def member_page(request: HttpRequest, token: str) -> HttpResponse:
    """The member's page behind a signed link (no login): masked phone, points, prizes, the till QR code."""
    member = _member_or_404(token)
    response = render(request, "platform/member.html", {
        "member": member, "masked": mask_phone(member.phone_e164), "token": token,
        "prizes": selectors.prizes(shop=member.shop_id), "qr": _fresh_qr(member),
        "refresh_seconds": int(qr.LIFETIME.total_seconds() * 3 // 4),
    })
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
def member_qr(request: HttpRequest, token: str) -> HttpResponse:
    """A fresh short-lived QR code (the page swaps it in with HTMX before the last one expires)."""
    return HttpResponse(_fresh_qr(_member_or_404(token)))


def _fresh_qr(member) -> str:
    return qr.qr_svg(qr.member_token(member, now=moment(None)))


@_staff_only
@require_http_methods(["GET", "POST"])
def till(request: HttpRequest) -> HttpResponse:
    """The till page of a merchant login: verify by phone or a scanned QR code (a scanner gun types the token
    into the field), then record the amount paid. Each record's key is its verification, so a double submit
    records once."""
    merchant = selectors.merchant_of(shop=request.shop, staff=request.staff)
    if merchant is None:
        raise PermissionDenied(_("The till is for merchant logins."))
    context: dict[str, Any] = {"merchant": merchant, "stores": merchant.stores.order_by("name")}
    if request.method == "POST":
        try:
            context.update(_till_action(request, merchant))
        except DomainError as exc:
            context["error"] = exc.localized()
    template = "platform/_till_result.html" if request.headers.get("HX-Request") == "true" else "platform/till.html"
    return render(request, template, context)


def _amount(request: HttpRequest):
    try:
        return money(request.POST.get("amount") or "")
    except MoneyError as exc:
        raise Invalid(gettext_lazy("Type the amount paid, e.g. 128.50."), field="amount") from exc


def _till_action(request: HttpRequest, merchant: Merchant) -> dict[str, Any]:
    store = request.POST.get("store") or None
    if request.POST.get("action") == "record":
        checked = selectors.verification_of(shop=request.shop, merchant=merchant,
                                            verification_id=int(request.POST.get("verification") or 0))
        record = consumption.record_consumption(
            shop=request.shop, merchant=merchant, phone=checked.member.phone_e164, amount=_amount(request),
            idempotency_key=f"till-{checked.pk}", store=checked.store_id, verification=checked, staff=request.staff,
        )
        return {"recorded": record, "member": mask_phone(checked.member.phone_e164)}
    text = (request.POST.get("code") or "").strip()
    by_qr = bool(text) and not any(ch.isdigit() for ch in text[:1]) and not text.startswith("+")
    result = verification.verify(
        shop=request.shop, merchant=merchant, method=Method.QR if by_qr else Method.PHONE,
        phone=None if by_qr else text, token=text if by_qr else None, store=int(store) if store else None,
        staff=request.staff,
    )
    return {"result": result, "discount": verification.discount_of(result)}
