"""REST API of the quality app: audits (submitted from a phone, photos included), corrective actions,
satisfaction links and answers, refund reasons, churn reasons, shipments and the quality report.

An auditor's token reaches only /quality/templates and /quality/audits (huitouke.api.TokenAuth), and there
only its assigned stores; another store's audit is a 404."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.errors import ValidationError
from pydantic import ValidationError as PydanticError

from huitouke.core.api import PageQuery, caller, paginate
from huitouke.core.errors import Forbidden, Invalid, NotFound
from huitouke.core.models import Role
from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.quality import schemas, selectors
from huitouke.quality.models import Audit, RefundReason
from huitouke.quality.services import audits, churn, refunds, satisfaction, shipments
from huitouke.quality.services import settings as quality_settings

router = Router(tags=["quality"])


def _not_auditor(request: HttpRequest) -> None:
    if caller(request).role == Role.AUDITOR:
        raise Forbidden(_("auditors see only the audits of their stores"))


def audit_out(audit: Audit) -> dict[str, Any]:
    return {
        "id": audit.pk, "store": audit.store.slug, "store_id": audit.store_id, "template": audit.template.key,
        "visited_at": audit.visited_at, "associate_id": audit.associate_id, "associate_name": audit.associate_name,
        "notes": audit.notes, "score": float(audit.score) if audit.score is not None else None,
        "auditor": audit.auditor.display_name if audit.auditor else None,
    }


def _audit_detail(request: HttpRequest, audit: Audit) -> dict[str, Any]:
    answers = [{
        "item": a.item.code, "text": a.item.text, "not_applicable": a.not_applicable, "value": a.value,
        "answer_text": a.text, "ratio": float(a.ratio) if a.ratio is not None else None,
    } for a in selectors.audit_answers(shop=request.shop, audit=audit)]
    photos = [{"id": p.pk, "item": p.item.code if p.item else None, "content_type": p.content_type,
               "size": p.size, "width": p.width, "height": p.height}
              for p in audit.photos.select_related("item").order_by("id")]
    return {**audit_out(audit), "answers": answers, "photos": photos}


@router.get("/templates", response=list[schemas.TemplateOut], summary="Audit templates with their items")
def list_templates(request: HttpRequest) -> list[dict[str, Any]]:
    audits.ensure_default_templates(shop=request.shop)
    return [{
        "key": t.key, "name": t.name, "kind": t.kind,
        "sections": [{"title": s.title, "items": list(s.items.all())} for s in t.sections.all()],
    } for t in selectors.templates(shop=request.shop)]


@router.get("/audits", response=schemas.AuditPage, summary="Audits (an auditor: its stores only)")
def list_audits(request: HttpRequest, page: Query[PageQuery], store: int | None = None) -> dict[str, Any]:
    found = selectors.audits_visible(shop=request.shop, staff=caller(request))
    if store is not None:
        found = found.filter(store_id=store)
    items, info = paginate(found.order_by("-visited_at", "-id"), page)
    return {"page": info, "items": [audit_out(a) for a in items]}


def _parse_audit(request: HttpRequest) -> schemas.AuditIn:
    if request.content_type == "multipart/form-data":
        raw = request.POST.get("payload")
        if raw is None:
            raise Invalid(_("send the audit as JSON in the form field 'payload'"), field="payload")
    else:
        raw = request.body
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(_("the audit is not valid JSON"), field="payload", code="malformed_json") from exc
    try:
        return schemas.AuditIn.model_validate(data)
    except PydanticError as exc:
        raise ValidationError(exc.errors(include_url=False, include_context=False)) from exc


@router.post("/audits", response={201: schemas.AuditDetailOut}, summary="Submit an audit (multipart: payload + photos)",
             openapi_extra={"description": "multipart/form-data with a JSON `payload` (AuditIn) and `photos` files "
                                           "(JPEG/PNG/WebP, at most 8 MB each), or a JSON body without photos."})
def submit_audit(request: HttpRequest) -> Status:
    data = _parse_audit(request)
    files = request.FILES.getlist("photos")
    if len(data.photo_items) > len(files):
        raise Invalid(_("more photo_items than photos"), field="photo_items")
    items = list(data.photo_items) + [None] * (len(files) - len(data.photo_items))
    audits.ensure_default_templates(shop=request.shop)
    audit = audits.submit_audit(shop=request.shop, auditor=caller(request), data=audits.AuditInput(
        store_id=data.store, template_key=data.template, visited_at=data.visited_at, associate_id=data.associate,
        associate_name=data.associate_name, notes=data.notes,
        answers=[audits.AnswerInput(item=a.item, value=a.value, na=a.na, text=a.text) for a in data.answers],
        photos=[audits.PhotoInput(file=f, item=code) for f, code in zip(files, items, strict=True)],
    ))
    return Status(201, _audit_detail(request, audit))


@router.get("/audits/{audit_id}", response=schemas.AuditDetailOut, summary="One audit with answers and photos")
def get_audit(request: HttpRequest, audit_id: int) -> dict[str, Any]:
    return _audit_detail(request, selectors.audit_for(shop=request.shop, staff=caller(request), audit_id=audit_id))


@router.post("/audits/{audit_id}/actions", response={201: schemas.ActionOut}, summary="Add a corrective action")
def add_action(request: HttpRequest, audit_id: int, payload: schemas.ActionIn) -> Status:
    audit = selectors.audit_for(shop=request.shop, staff=caller(request), audit_id=audit_id)
    action = audits.add_corrective_action(
        shop=request.shop, staff=caller(request), store=audit.store, audit=audit, owner_id=payload.owner,
        description=payload.description, due_date=payload.due_date, item_id=payload.item,
    )
    return Status(201, action)


@router.post("/actions/{action_id}/status", response=schemas.ActionOut, summary="Mark done / verified / reopen")
def action_status(request: HttpRequest, action_id: int, payload: schemas.ActionStatusIn) -> Any:
    _not_auditor(request)
    return audits.set_action_status(shop=request.shop, staff=caller(request), action_id=action_id,
                                    status=payload.status)


def _get(model, request: HttpRequest, pk: int | None, field: str):
    if pk is None:
        return None
    found = model.objects.filter(shop=request.shop, pk=pk).first()
    if found is None:
        raise NotFound(_("no such %(field)s"), field=field, params={"field": field})
    return found


@router.post("/satisfaction/surveys", response={201: schemas.SurveyLinkOut}, summary="Make a satisfaction link")
def create_survey(request: HttpRequest, payload: schemas.SurveyIn) -> Status:
    from huitouke.core.models import Staff, Store

    survey, token = satisfaction.create_survey(
        shop=request.shop, order=_get(Order, request, payload.order, "order"),
        customer=_get(Customer, request, payload.customer, "customer"),
        store=_get(Store, request, payload.store, "store"),
        associate=_get(Staff, request, payload.associate, "associate"),
    )
    url = request.build_absolute_uri(reverse("satisfaction_survey", args=[token]))
    return Status(201, {"id": survey.pk, "token": token, "url": url, "expires_at": survey.expires_at})


@router.get("/satisfaction/responses", response=schemas.SurveyPage, summary="Answers, with CSAT and NPS")
def list_responses(request: HttpRequest, page: Query[PageQuery], month: str | None = None) -> dict[str, Any]:
    period = selectors.month_period(month)
    found = selectors.answered_surveys(shop=request.shop, period=period)
    items, info = paginate(found.order_by("-answered_at", "-id"), page)
    return {"page": info, "summary": selectors.satisfaction_breakdown(shop=request.shop, period=period),
            "items": items}


@router.post("/satisfaction/respond/{token}", auth=None, response={201: schemas.SurveyOut},
             summary="The customer's answer (no token: the signed link is the key)")
def respond(request: HttpRequest, token: str, payload: schemas.SurveyAnswerIn) -> Status:
    return Status(201, satisfaction.answer_survey(token=token, answer=satisfaction.Answer(**payload.dict())))


@router.put("/refund-reasons", response=schemas.RefundReasonOut, summary="Set why a line or order was refunded")
def set_refund_reason(request: HttpRequest, payload: schemas.RefundReasonIn) -> RefundReason:
    order = _get(Order, request, payload.order, "order")
    return refunds.set_refund_reason(
        shop=request.shop, order=order, line_id=payload.line, code=payload.code,
        platform_text=payload.platform_reason, units=payload.units, amount=payload.amount, comment=payload.comment,
        staff=caller(request), source=RefundReason.Source.API,
    )


@router.get("/refund-reasons", response=list[schemas.RefundReasonOut], summary="Refund reasons of an order")
def list_refund_reasons(request: HttpRequest, order: int) -> Any:
    return RefundReason.objects.filter(shop=request.shop, order_id=order).order_by("id")


@router.post("/churn-reasons", response={201: schemas.ChurnReasonOut}, summary="Record why a customer left")
def add_churn_reason(request: HttpRequest, payload: schemas.ChurnReasonIn) -> Status:
    customer = _get(Customer, request, payload.customer, "customer")
    reason = churn.record_churn_reason(shop=request.shop, customer=customer, code=payload.reason,
                                       comment=payload.comment, staff=caller(request))
    return Status(201, reason)


@router.put("/shipments", response={200: dict}, summary="Record when an order shipped (and arrived)")
def put_shipment(request: HttpRequest, payload: schemas.ShipmentIn) -> dict[str, Any]:
    order = _get(Order, request, payload.order, "order")
    shipment = shipments.record_shipment(shop=request.shop, order=order, shipped_at=payload.shipped_at,
                                         delivered_at=payload.delivered_at)
    return {"order": order.pk, "shipped_at": shipment.shipped_at, "delivered_at": shipment.delivered_at}


@router.get("/report", response=dict, summary="The quality report (same figures as the dashboard page)")
def report(request: HttpRequest, month: str | None = None) -> dict[str, Any]:
    return selectors.quality_report(shop=request.shop, month=month)


def _settings_out(current) -> dict[str, Any]:
    return {**{name: getattr(current, name) for name in quality_settings.SETTING_FIELDS},
            "quality_ok_threshold": float(current.quality_ok_threshold)}


@router.get("/settings", response=schemas.SettingsOut,
            summary="The shop's quality threshold, delivery promise, link days, low-rating cut-offs")
def get_settings(request: HttpRequest) -> dict[str, Any]:
    return _settings_out(quality_settings.settings_of(shop=request.shop))


@router.patch("/settings", response=schemas.SettingsOut, summary="Change them (owner or manager)")
def patch_settings(request: HttpRequest, payload: schemas.SettingsIn) -> dict[str, Any]:
    changes = payload.model_dump(exclude_none=True)
    if "quality_ok_threshold" in changes:
        changes["quality_ok_threshold"] = Decimal(str(changes["quality_ok_threshold"]))
    return _settings_out(quality_settings.update_settings(shop=request.shop, staff=caller(request), **changes))
