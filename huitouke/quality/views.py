"""HTML pages of the quality app: the dashboard, audits (phone-friendly form), store and associate pages,
refund reasons, and the customer-facing satisfaction page behind a signed link.

Views parse and render; the rules live in services and selectors. Auditors reach only the views marked
`auditors_allowed`, and there only their assigned stores (another store is a 404).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from huitouke.core.errors import DomainError, Invalid, NotFound
from huitouke.core.models import Role, Staff
from huitouke.core.timeutil import SHANGHAI, today
from huitouke.quality import selectors
from huitouke.quality.models import (
    AuditItem,
    AuditPhoto,
    AuditTemplate,
    CorrectiveAction,
    ItemKind,
    QualitySettings,
    RefundReasonCode,
)
from huitouke.quality.services import audits, churn, refunds, satisfaction
from huitouke.quality.services import settings as quality_settings
from huitouke.quality.services import templates as templates_service
from huitouke.web.views import _forbidden_as_403, staff_required


def auditors_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    view.auditors_allowed = True
    return view


def _may_manage(request: HttpRequest) -> bool:
    return request.staff.role in (Role.OWNER, Role.MANAGER)


def _or_404(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except NotFound as exc:
        raise Http404(exc.localized()) from exc


# Dashboard --------------------------------------------------------------------------------------


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    month = request.GET.get("month") or None
    try:
        period = selectors.month_period(month)
    except DomainError:
        month, period = None, selectors.month_period(None)
    report = selectors.quality_report(shop=request.shop, month=month)
    products = selectors.product_quality(shop=request.shop, period=period)
    stores = selectors.store_scores(shop=request.shop, period=period)
    return render(request, "quality/dashboard.html", {
        "month": month or "", "report": report, "stores": stores,
        "below": [row for row in products if row["below"]],
        "satisfaction": selectors.satisfaction_breakdown(shop=request.shop, period=period),
        "churn": selectors.churn_reasons(shop=request.shop, period=period),
        "delivery": selectors.delivery_promise(shop=request.shop, period=period),
        "follow_ups": selectors.follow_ups(shop=request.shop)[:20],
        "threshold": report["quality_ok_threshold"] * 100,
    })


@staff_required
@require_POST
def follow_up_done(request: HttpRequest, survey_id: int) -> HttpResponse:
    _or_404(lambda: satisfaction.mark_followed_up(shop=request.shop, survey_id=survey_id))
    return redirect("quality")


# Audits -----------------------------------------------------------------------------------------


@staff_required
@auditors_allowed
def audit_list(request: HttpRequest) -> HttpResponse:
    audits.ensure_default_templates(shop=request.shop)
    return render(request, "quality/audits.html", {
        "audits": selectors.audits_visible(shop=request.shop, staff=request.staff)[:100],
        "stores": audits.audit_stores(shop=request.shop, staff=request.staff),
        "templates": selectors.templates(shop=request.shop),
        "is_auditor": request.staff.role == Role.AUDITOR,
    })


def _answers_from_post(request: HttpRequest, items: list[AuditItem]) -> tuple[list, list, dict[str, str]]:
    """(answers, photos, per-item errors) from the audit form; the service checks ranges and completeness."""
    answers, photos, errors = [], [], {}
    for item in items:
        na = request.POST.get(f"na-{item.code}") == "on"
        raw = request.POST.get(f"a-{item.code}", "").strip()
        text = request.POST.get(f"t-{item.code}", "").strip()
        value = None
        if item.kind in (ItemKind.YES_NO, ItemKind.SCALE) and not na:
            if raw == "":
                if item.is_scored:
                    errors[item.code] = _("Answer this item, or mark it N/A.")
                continue
            try:
                value = int(raw)
            except ValueError:
                errors[item.code] = _("Choose one of the values.")
                continue
        if na or value is not None or text:
            answers.append(audits.AnswerInput(item=item.code, value=value, na=na, text=text))
        for upload in request.FILES.getlist(f"p-{item.code}"):
            photos.append(audits.PhotoInput(file=upload, item=item.code))
    photos += [audits.PhotoInput(file=upload) for upload in request.FILES.getlist("photos")]
    return answers, photos, errors


def _visited_at(raw: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(raw).replace(tzinfo=SHANGHAI)
    except ValueError:
        return None


@staff_required
@auditors_allowed
@require_http_methods(["GET", "POST"])
def audit_new(request: HttpRequest) -> HttpResponse:
    audits.ensure_default_templates(shop=request.shop)
    stores = audits.audit_stores(shop=request.shop, staff=request.staff)
    templates = list(selectors.templates(shop=request.shop))
    store = next((s for s in stores if str(s.pk) == request.GET.get("store", request.POST.get("store"))), None)
    template = next((t for t in templates if t.key == request.GET.get("template", request.POST.get("template"))),
                    None)
    if store is None and request.GET.get("store"):
        raise Http404("no such store")
    if template is None:
        template = next((t for t in templates if store is None or (t.kind == "offline") == (store.platform == "offline")),
                        templates[0] if templates else None)
    items = list(AuditItem.objects.filter(shop=request.shop, template=template).select_related("section")) \
        if template else []
    errors: dict[str, str] = {}
    error = None
    if request.method == "POST":
        answers, photos, errors = _answers_from_post(request, items)
        visited_at = _visited_at(request.POST.get("visited_at", ""))
        associate_id = request.POST.get("associate") or None
        if store is None:
            error = _("Choose the store you visited.")
        elif visited_at is None:
            error = _("Give the date and time of the visit.")
        elif errors:
            error = _("Some items are not answered yet.")
        else:
            try:
                audit = audits.submit_audit(shop=request.shop, auditor=request.staff, data=audits.AuditInput(
                    store_id=store.pk, template_key=template.key, visited_at=visited_at,
                    associate_id=int(associate_id) if associate_id and associate_id.isdigit() else None,
                    associate_name=request.POST.get("associate_name", "")[:50],
                    notes=request.POST.get("notes", "")[:5000], answers=answers, photos=photos,
                ))
            except DomainError as exc:
                error = exc.localized()
            else:
                messages.success(request, _("Audit saved: score %(score)s.") % {"score": audit.score or "—"})
                if request.staff.role == Role.AUDITOR:
                    return redirect("quality_audit", audit_id=audit.pk)
                return redirect("quality_store", store_id=store.pk)
    sections: dict[str, list[AuditItem]] = {}
    for item in items:
        sections.setdefault(item.section.title, []).append(item)
    associates = Staff.objects.for_shop(request.shop).exclude(role=Role.AUDITOR) \
        if request.staff.role != Role.AUDITOR else []
    return render(request, "quality/audit_form.html", {
        "stores": stores, "store": store, "templates": templates, "template": template, "sections": sections,
        "errors": errors, "error": error, "post": request.POST, "associates": associates,
        "now": dt.datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M"),
    }, status=422 if error else 200)


class ActionForm(forms.Form):
    description = forms.CharField(max_length=300, label=gettext_lazy("What to do"))
    owner = forms.TypedChoiceField(coerce=int, label=gettext_lazy("Responsible person"))
    due_date = forms.DateField(label=gettext_lazy("Due"), widget=forms.DateInput(attrs={"type": "date"}))
    item = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label=gettext_lazy("Item"))

    def __init__(self, *args: Any, owners: list[tuple[int, str]], items: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = owners
        self.fields["item"].choices = [("", "—"), *items]


def _action_form(request: HttpRequest, data=None, items: list[tuple[int, str]] | None = None) -> ActionForm:
    owners = [(s.pk, s.display_name) for s in Staff.objects.for_shop(request.shop).exclude(role=Role.AUDITOR)]
    return ActionForm(data, owners=owners, items=items or [], initial={"due_date": today() + dt.timedelta(days=7)})


def _save_action(request: HttpRequest, form: ActionForm, store, audit=None) -> str | None:
    if not form.is_valid():
        return _("Check the corrective action's fields.")
    try:
        audits.add_corrective_action(
            shop=request.shop, staff=request.staff, store=store, audit=audit, owner_id=form.cleaned_data["owner"],
            description=form.cleaned_data["description"], due_date=form.cleaned_data["due_date"],
            item_id=form.cleaned_data["item"],
        )
    except DomainError as exc:
        return exc.localized()
    messages.success(request, _("Corrective action added."))
    return None


@staff_required
@auditors_allowed
@require_http_methods(["GET", "POST"])
def audit_detail(request: HttpRequest, audit_id: int) -> HttpResponse:
    audit = _or_404(lambda: selectors.audit_for(shop=request.shop, staff=request.staff, audit_id=audit_id))
    answers = list(selectors.audit_answers(shop=request.shop, audit=audit))
    items = [(a.item_id, a.item.text) for a in answers if a.item.is_scored]
    form, error = None, None
    if _may_manage(request):
        form = _action_form(request, request.POST if request.method == "POST" else None, items)
        if request.method == "POST":
            error = _save_action(request, form, audit.store, audit)
            if error is None:
                return redirect("quality_audit", audit_id=audit.pk)
    elif request.method == "POST":
        raise PermissionDenied(_("Only the shop's owner or a manager adds corrective actions."))
    return render(request, "quality/audit_detail.html", {
        "audit": audit, "answers": answers, "photos": audit.photos.all(), "form": form, "error": error,
        "actions": audit.actions.select_related("owner"),
    })


@staff_required
@auditors_allowed
@never_cache
def audit_photo(request: HttpRequest, photo_id: int) -> FileResponse:
    visible = selectors.audits_visible(shop=request.shop, staff=request.staff)
    photo = AuditPhoto.objects.filter(shop=request.shop, pk=photo_id, audit__in=visible).first()
    if photo is None:
        raise Http404("no such photo")
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Store and associate pages ----------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def store_page(request: HttpRequest, store_id: int) -> HttpResponse:
    store = _or_404(lambda: selectors.store_by_id(shop=request.shop, store_id=store_id))
    weakest = selectors.weakest_items(shop=request.shop, store=store)
    form, error = None, None
    if _may_manage(request):
        form = _action_form(request, request.POST if request.method == "POST" else None,
                            [(row["item_id"], row["text"]) for row in weakest])
        if request.method == "POST":
            error = _save_action(request, form, store)
            if error is None:
                return redirect("quality_store", store_id=store.pk)
    elif request.method == "POST":
        raise PermissionDenied(_("Only the shop's owner or a manager adds corrective actions."))
    trend = selectors.store_trend(shop=request.shop, store=store)
    return render(request, "quality/store.html", {
        "store": store, "weakest": weakest, "form": form, "error": error,
        "actions": selectors.corrective_actions(shop=request.shop, store=store),
        "audits": selectors.audits_visible(shop=request.shop, staff=request.staff).filter(store=store)[:50],
        "chart": {"at": [row["at"] for row in trend], "score": [row["score"] for row in trend],
                  "labels": {"score": _("Score"), "title": _("Audit score by visit")}},
        "may_manage": _may_manage(request), "today": today(),
    })


@staff_required
@require_POST
def action_status(request: HttpRequest, action_id: int) -> HttpResponse:
    try:
        action = audits.set_action_status(shop=request.shop, staff=request.staff, action_id=action_id,
                                          status=request.POST.get("status", ""))
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    except DomainError as exc:
        messages.error(request, exc.localized())
        action = CorrectiveAction.objects.filter(shop=request.shop, pk=action_id).first()
    return redirect("quality_store", store_id=action.store_id)


@staff_required
def associate_page(request: HttpRequest, staff_id: int) -> HttpResponse:
    associate = Staff.objects.for_shop(request.shop).filter(pk=staff_id).exclude(role=Role.AUDITOR).first()
    if associate is None:
        raise Http404("no such staff member")
    on_duty = list(selectors.associate_audits(shop=request.shop, associate=associate)[:50])
    scores = [a.score for a in on_duty if a.score is not None]
    return render(request, "quality/associate.html", {
        "associate": associate, "audits": on_duty,
        "average": round(sum(scores) / len(scores), 1) if scores else None,
        "satisfaction": selectors.associate_satisfaction(shop=request.shop, associate=associate),
    })


# Audit templates (owner or manager) -------------------------------------------------------------

_ITEM_FIELD = re.compile(r"^s(\d+)-i(\d+)-text$")
_SECTION_FIELD = re.compile(r"^s(\d+)-title$")
_PLACE = re.compile(r"sections\[(\d+)\](?:\.items\[(\d+)\])?")


def _require_manage(request: HttpRequest) -> None:
    if not _may_manage(request):
        raise PermissionDenied(_("Only the shop's owner or a manager edits audit templates."))


def _number(raw: str, field: str, default: int) -> int:
    raw = raw.strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise Invalid(gettext_lazy("Give a whole number."), field=field) from exc


def _spec_from_post(post: QueryDict) -> templates_service.TemplateSpec:
    """The editor's fields (s<S>-title, s<S>-i<I>-text|kind|weight|scale_max|allow_na|guidance|code, a remove
    box on each) as a spec, in the order of the indexes; removed rows are left out."""
    section_ids = sorted({int(m.group(1)) for m in map(_SECTION_FIELD.match, post) if m})
    items: dict[int, list[int]] = {}
    for match in filter(None, map(_ITEM_FIELD.match, post)):
        items.setdefault(int(match.group(1)), []).append(int(match.group(2)))
    sections = []
    for s_id in section_ids:
        if post.get(f"s{s_id}-remove"):
            continue
        specs = []
        for i_id in sorted(items.get(s_id, [])):
            name = f"s{s_id}-i{i_id}"
            if post.get(f"{name}-remove"):
                continue
            where = f"sections[{len(sections)}].items[{len(specs)}]"
            specs.append(templates_service.ItemSpec(
                text=post.get(f"{name}-text", "").strip(), kind=post.get(f"{name}-kind", ""),
                weight=_number(post.get(f"{name}-weight", ""), f"{where}.weight", 1),
                scale_max=_number(post.get(f"{name}-scale_max", ""), f"{where}.scale_max", 0),
                allow_na=post.get(f"{name}-allow_na") == "on", guidance=post.get(f"{name}-guidance", "").strip(),
                code=post.get(f"{name}-code", "").strip(),
            ))
        sections.append(templates_service.SectionSpec(title=post.get(f"s{s_id}-title", "").strip(),
                                                      items=tuple(specs)))
    return templates_service.TemplateSpec(name=post.get("name", "").strip(), kind=post.get("kind", ""),
                                          sections=tuple(sections))


def _where(field: str | None) -> str:
    """'sections[0].items[1].weight' → 'Section 1, item 2', for the error shown above the editor."""
    match = _PLACE.search(field or "")
    if match is None:
        return ""
    section, item = int(match.group(1)) + 1, match.group(2)
    if item is None:
        return _("Section %(s)d") % {"s": section}
    return _("Section %(s)d, item %(i)d") % {"s": section, "i": int(item) + 1}


def _editor(request: HttpRequest, *, spec, template=None, error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "quality/template_edit.html", {
        "spec": spec, "template": template, "error": error, "kinds": ItemKind.choices,
        "template_kinds": AuditTemplate.Kind.choices,
        "audits": selectors.audits_with_template(shop=request.shop, template=template) if template else 0,
    }, status=status)


def _save(request: HttpRequest, template: AuditTemplate | None) -> HttpResponse:
    try:
        spec = _spec_from_post(request.POST)
    except Invalid as exc:
        spec = templates_service.TemplateSpec(name=request.POST.get("name", ""), kind=request.POST.get("kind", ""))
        return _editor(request, spec=spec, template=template, error=exc.localized(), status=422)
    try:
        if template is None:
            saved = templates_service.create_template(shop=request.shop, staff=request.staff, spec=spec)
        else:
            saved = templates_service.save_template(shop=request.shop, staff=request.staff, key=template.key,
                                                    spec=spec)
    except Invalid as exc:
        where = _where(exc.field)
        return _editor(request, spec=spec, template=template, status=422,
                       error=f"{where}: {exc.localized()}" if where else exc.localized())
    if template is not None and saved.pk != template.pk:
        messages.success(request, _("Saved as version %(v)d; audits already submitted keep their questions and "
                                    "scores.") % {"v": saved.version})
    else:
        messages.success(request, _("Template saved."))
    return redirect("quality_template", key=saved.key)


@staff_required
def template_list(request: HttpRequest) -> HttpResponse:
    _require_manage(request)
    audits.ensure_default_templates(shop=request.shop)
    return render(request, "quality/templates.html", {
        "templates": selectors.templates(shop=request.shop).annotate(item_count=Count("items", distinct=True)),
    })


@staff_required
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    _require_manage(request)
    if request.method == "POST":
        return _save(request, None)
    blank = templates_service.TemplateSpec(name="", kind=AuditTemplate.Kind.OFFLINE, sections=(
        templates_service.SectionSpec(title="", items=(templates_service.ItemSpec(text="", kind=ItemKind.YES_NO),)),))
    return _editor(request, spec=blank)


@staff_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, key: str) -> HttpResponse:
    _require_manage(request)
    template = _or_404(lambda: templates_service.active_template(shop=request.shop, key=key))
    if request.method == "POST":
        return _save(request, template)
    return _editor(request, spec=templates_service.spec_of(template), template=template)


@staff_required
@require_POST
def template_copy(request: HttpRequest, key: str) -> HttpResponse:
    _require_manage(request)
    copied = _or_404(lambda: templates_service.copy_template(shop=request.shop, staff=request.staff, key=key))
    messages.success(request, _("Copied: change the copy as you like."))
    return redirect("quality_template", key=copied.key)


def _fresh_index() -> int:
    """An index for a row added in the browser: milliseconds, so it sorts after the rows already on the page
    (0, 1, …) and after the rows added before it."""
    return time.time_ns() // 1_000_000


@staff_required
def template_row(request: HttpRequest) -> HttpResponse:
    """HTMX: a blank item row for section ?s= (with ?item=1), else a blank section with one item."""
    _require_manage(request)
    item = templates_service.ItemSpec(text="", kind=ItemKind.YES_NO)
    if request.GET.get("item"):
        s_id = request.GET.get("s", "")
        if not s_id.isdigit():
            raise Http404("no such section")
        return render(request, "quality/_template_item.html", {"s": int(s_id), "i": _fresh_index(), "item": item,
                                                                "kinds": ItemKind.choices})
    section = templates_service.SectionSpec(title="", items=(item,))
    return render(request, "quality/_template_section.html", {"s": _fresh_index(), "section": section,
                                                               "kinds": ItemKind.choices})


# Settings ---------------------------------------------------------------------------------------


class QualitySettingsForm(forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = list(quality_settings.SETTING_FIELDS)


@staff_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    """The shop's quality thresholds; everyone on the staff sees them, owners and managers change them."""
    form = QualitySettingsForm(instance=quality_settings.settings_of(shop=request.shop))
    if request.method == "POST":
        form = QualitySettingsForm(request.POST, instance=QualitySettings(shop=request.shop))
        if form.is_valid():
            try:
                with _forbidden_as_403():
                    quality_settings.update_settings(shop=request.shop, staff=request.staff, **{
                        name: form.cleaned_data[name] for name in quality_settings.SETTING_FIELDS})
            except DomainError as exc:
                messages.error(request, exc.localized())
            else:
                messages.success(request, _("Quality settings saved."))
                return redirect("quality_settings")
    return render(request, "quality/settings.html", {"form": form, "can_edit": _may_manage(request)},
                  status=422 if form.errors else 200)


# Refund reasons ---------------------------------------------------------------------------------


class RefundReasonForm(forms.Form):
    order = forms.CharField(max_length=64, label=gettext_lazy("Order number"))
    line = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Line (empty: whole order)"))
    code = forms.ChoiceField(choices=RefundReasonCode.choices, label=gettext_lazy("Reason"))
    units = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Units refunded"))
    comment = forms.CharField(required=False, max_length=300, label=gettext_lazy("Comment"))


@staff_required
@require_http_methods(["GET", "POST"])
def refund_reasons(request: HttpRequest) -> HttpResponse:
    form, error = RefundReasonForm(request.POST or None), None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            order = refunds.order_by_number(shop=request.shop, external_id=data["order"])
            refunds.set_refund_reason(shop=request.shop, order=order, line_id=data["line"], code=data["code"],
                                      units=data["units"], comment=data["comment"], staff=request.staff)
        except DomainError as exc:
            error = exc.localized()
        else:
            messages.success(request, _("Refund reason saved."))
            return redirect("quality_refunds")
    from huitouke.quality.models import RefundReason

    return render(request, "quality/refunds.html", {
        "form": form, "error": error,
        "reasons": RefundReason.objects.for_shop(request.shop).select_related("order", "line")
        .order_by("-recorded_at")[:100],
    }, status=422 if error else 200)


# From the customer 360 page: why she left, a satisfaction link -------------------------------------


def _customer(request: HttpRequest, customer_id: int):
    from huitouke.customers.selectors import customer_by_id

    return _or_404(lambda: customer_by_id(shop=request.shop, customer_id=customer_id))


@staff_required
@require_POST
def customer_churn_reason(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer(request, customer_id)
    try:
        churn.record_churn_reason(shop=request.shop, customer=customer, code=request.POST.get("reason", ""),
                                  comment=request.POST.get("comment", ""), staff=request.staff)
    except DomainError as exc:
        messages.error(request, exc.localized())
    else:
        messages.success(request, _("Recorded why she left."))
    return redirect("customer", customer_id=customer.pk)


@staff_required
@require_POST
def customer_survey(request: HttpRequest, customer_id: int) -> HttpResponse:
    """A satisfaction link for her latest order (after delivery), else for a store visit."""
    customer = _customer(request, customer_id)
    from huitouke.orders.models import Order

    order = Order.objects.for_shop(request.shop).filter(customer=customer).order_by("-ordered_at").first()
    try:
        _survey, token = satisfaction.create_survey(shop=request.shop, order=order, customer=customer)
    except DomainError as exc:
        messages.error(request, exc.localized())
    else:
        url = request.build_absolute_uri(reverse("satisfaction_survey", args=[token]))
        messages.success(request, _("Satisfaction link (send it to her): %(url)s") % {"url": url})
    return redirect("customer", customer_id=customer.pk)


# The customer-facing satisfaction page ----------------------------------------------------------


def _stars(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@never_cache
@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest, token: str) -> HttpResponse:
    """No login: the signed link is the key. Forged/expired → 404; already answered → 409 with thanks."""
    try:
        survey = satisfaction.survey_from_token(token)
    except satisfaction.AlreadyAnswered:
        return render(request, "quality/survey.html", {"state": "answered"}, status=409)
    except satisfaction.LinkRefused as exc:
        raise Http404(exc.localized()) from exc
    error, status = None, 200
    if request.method == "POST":
        answer = satisfaction.Answer(
            goods_stars=_stars(request.POST.get("goods_stars")),
            service_stars=_stars(request.POST.get("service_stars")),
            delivery_stars=_stars(request.POST.get("delivery_stars")) if survey.order_id else None,
            recommend=_stars(request.POST.get("recommend")), comment=request.POST.get("comment", "")[:2000],
        )
        try:
            satisfaction.answer_survey(token=token, answer=answer)
        except satisfaction.AlreadyAnswered:
            return render(request, "quality/survey.html", {"state": "answered"}, status=409)
        except DomainError as exc:
            error, status = exc.localized(), 422
        else:
            return render(request, "quality/survey.html", {"state": "thanks", "shop": survey.shop})
    response = render(request, "quality/survey.html", {
        "state": "open", "shop": survey.shop, "error": error, "with_delivery": survey.order_id is not None,
        "post": request.POST, "action": reverse("satisfaction_survey", args=[token]),
        "stars": range(1, 6), "scale": range(0, 11),
    }, status=status)
    # Not "no-referrer": that makes the browser post with `Origin: null`, which the CSRF check refuses.
    # "same-origin" still keeps the link (the key) from other sites.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response
