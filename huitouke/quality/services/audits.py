"""Mystery-shopper audits: templates, auditors' stores, submitting a visit, its score, corrective actions.

Score (0–100, one decimal): every scored item (yes/no, 0–N scale, weight > 0) answered and not N/A
gives a ratio r (yes = 1, no = 0; scale value ÷ N); score = 100 × Σ(weight × r) ÷ Σ(weight) over those
items. N/A items leave both sums, so they neither help nor hurt; text and photo items are evidence and
carry no weight. A visit whose scored items are all N/A has no score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Forbidden, Invalid, NotFound
from huitouke.core.models import Role, Shop, Staff, Store
from huitouke.quality.defaults import DEFAULT_TEMPLATES
from huitouke.quality.models import (
    Audit,
    AuditAnswer,
    AuditItem,
    AuditorStore,
    AuditPhoto,
    AuditSection,
    AuditTemplate,
    CorrectiveAction,
    ItemKind,
)

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PHOTOS = 20
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
AUDIT_ROLES = (Role.OWNER, Role.MANAGER, Role.AUDITOR)


class PhotoTooLarge(Invalid):
    status = 413
    code = "too_large"


@transaction.atomic
def ensure_default_templates(*, shop: Shop) -> None:
    """Create the two built-in templates for the shop once; later calls change nothing (also after the shop
    edited them: version 1 stays on file, so it is found)."""
    for spec in DEFAULT_TEMPLATES:
        template, created = AuditTemplate.objects.get_or_create(
            shop=shop, key=spec["key"], version=1, defaults={"name": spec["name"], "kind": spec["kind"]},
        )
        if not created:
            continue
        for s_pos, (title, items) in enumerate(spec["sections"]):
            section = AuditSection.objects.create(shop=shop, template=template, title=title, position=s_pos)
            AuditItem.objects.bulk_create([
                AuditItem(shop=shop, template=template, section=section, code=code, kind=kind, weight=weight,
                          scale_max=scale_max, allow_na=allow_na, text=text, guidance=guidance, position=i_pos)
                for i_pos, (code, kind, weight, scale_max, allow_na, text, guidance) in enumerate(items)
            ])


@transaction.atomic
def assign_auditor(*, shop: Shop, staff: Staff, stores: Iterable[Store]) -> None:
    """Make `staff` an auditor of exactly these stores of the shop."""
    if staff.shop_id != shop.pk:
        raise NotFound(_("no such staff member"), field="staff")
    store_list = list(stores)
    if any(store.shop_id != shop.pk for store in store_list):
        raise NotFound(_("no such store"), field="stores")
    if staff.role != Role.AUDITOR:
        staff.role = Role.AUDITOR
        staff.save(update_fields=["role"])
    AuditorStore.objects.filter(shop=shop, staff=staff).exclude(store__in=store_list).delete()
    for store in store_list:
        AuditorStore.objects.get_or_create(shop=shop, staff=staff, store=store)


@dataclass(frozen=True)
class AnswerInput:
    item: str  # the item's code
    value: int | None = None
    na: bool = False
    text: str = ""


@dataclass(frozen=True)
class PhotoInput:
    file: UploadedFile
    item: str | None = None


@dataclass
class AuditInput:
    store_id: int
    template_key: str
    visited_at: dt.datetime
    answers: Sequence[AnswerInput]
    associate_id: int | None = None
    associate_name: str = ""
    notes: str = ""
    photos: Sequence[PhotoInput] = field(default_factory=tuple)


def item_ratio(item: AuditItem, answer: AnswerInput) -> Decimal | None:
    """The answer's share of the item's weight (0–1), or None when it does not count (N/A, unscored)."""
    if not item.is_scored or answer.na:
        return None
    top = 1 if item.kind == ItemKind.YES_NO else item.scale_max
    return Decimal(answer.value) / Decimal(top)


def score_of(weighted: Iterable[tuple[int, Decimal | None]]) -> Decimal | None:
    """100 × Σ(weight × ratio) ÷ Σ(weight) over the (weight, ratio) pairs that count; see the module doc."""
    pairs = [(Decimal(weight), ratio) for weight, ratio in weighted if ratio is not None and weight > 0]
    total = sum((weight for weight, _ in pairs), Decimal(0))
    if not total:
        return None
    earned = sum((weight * ratio for weight, ratio in pairs), Decimal(0))
    return (100 * earned / total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _check_answer(index: int, item: AuditItem, answer: AnswerInput) -> None:
    where = f"answers[{index}]"
    if answer.na:
        if not item.allow_na:
            raise Invalid(_("“%(text)s” cannot be marked N/A"), field=f"{where}.na",
                          params={"text": item.text})
        return
    if item.kind == ItemKind.YES_NO and answer.value not in (0, 1):
        raise Invalid(_("“%(text)s” is answered yes (1) or no (0)"), field=f"{where}.value",
                      params={"text": item.text})
    if item.kind == ItemKind.SCALE and (answer.value is None or not 0 <= answer.value <= item.scale_max):
        raise Invalid(_("“%(text)s” is scored from 0 to %(scale_max)s"), field=f"{where}.value",
                      params={"text": item.text, "scale_max": item.scale_max})
    if item.kind in (ItemKind.TEXT, ItemKind.PHOTO) and answer.value is not None:
        raise Invalid(_("“%(text)s” takes text or a photo, not a score"), field=f"{where}.value",
                      params={"text": item.text})


def _checked_photo(index: int, photo: PhotoInput) -> tuple[str, int, int]:
    """(content type, width, height) of a real JPEG/PNG/WebP image within the size limit, else a 4xx."""
    from PIL import Image, UnidentifiedImageError

    where = f"photos[{index}]"
    if photo.file.size > MAX_PHOTO_BYTES:
        raise PhotoTooLarge(
            _("photo %(name)r is %(size)s MB; the limit is %(limit)s MB"), field=where,
            params={"name": photo.file.name, "size": f"{photo.file.size / 1048576:.1f}",
                    "limit": MAX_PHOTO_BYTES // 1048576},
        )
    try:
        photo.file.seek(0)
        with Image.open(photo.file) as image:
            fmt, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Invalid(_("%(photo)r is not a readable image"), field=where, code="not_an_image",
                      params={"photo": photo.file.name}) from exc
    finally:
        photo.file.seek(0)
    if fmt not in PHOTO_FORMATS:
        raise Invalid(_("%(photo)r is %(fmt)s; send a JPEG, PNG or WebP photo"), field=where,
                      code="not_an_image", params={"photo": photo.file.name, "fmt": fmt})
    return PHOTO_FORMATS[fmt], width, height


def audit_stores(*, shop: Shop, staff: Staff) -> list[Store]:
    """The stores this staff member may audit: an auditor's assigned ones; every store for owners/managers."""
    if staff.role == Role.AUDITOR:
        ids = AuditorStore.objects.filter(shop=shop, staff=staff).values("store_id")
        return list(Store.objects.for_shop(shop).filter(pk__in=ids))
    if staff.role in AUDIT_ROLES:
        return list(Store.objects.for_shop(shop))
    return []


def store_for_audit(*, shop: Shop, staff: Staff, store_id: int) -> Store:
    """The store, if this staff member may audit it; another shop's or an unassigned store is a 404."""
    if staff.role not in AUDIT_ROLES:
        raise Forbidden(_("only owners, managers and auditors submit audits"))
    store = next((s for s in audit_stores(shop=shop, staff=staff) if s.pk == store_id), None)
    if store is None:
        raise NotFound(_("no such store"), field="store")
    return store


@transaction.atomic
def submit_audit(*, shop: Shop, auditor: Staff, data: AuditInput) -> Audit:
    """Record one visit with its answers and photos and compute its score (module doc)."""
    store = store_for_audit(shop=shop, staff=auditor, store_id=data.store_id)
    template = AuditTemplate.objects.filter(shop=shop, key=data.template_key, is_active=True).first()
    if template is None:
        raise NotFound(_("no such audit template"), field="template")
    if timezone.is_naive(data.visited_at):
        raise Invalid(_("give the visit time with its time zone"), field="visited_at")
    if data.visited_at > timezone.now() + dt.timedelta(minutes=5):
        raise Invalid(_("the visit cannot be in the future"), field="visited_at")
    associate = None
    if data.associate_id is not None:
        associate = Staff.objects.for_shop(shop).filter(pk=data.associate_id).first()
        if associate is None:
            raise NotFound(_("no such associate"), field="associate")
    items = {item.code: item for item in AuditItem.objects.filter(shop=shop, template=template)}
    given: dict[str, tuple[int, AnswerInput]] = {}
    for index, answer in enumerate(data.answers):
        item = items.get(answer.item)
        if item is None:
            raise Invalid(_("the template has no item %(item)r"), field=f"answers[{index}].item",
                          params={"item": answer.item})
        if answer.item in given:
            raise Invalid(_("item %(item)r is answered twice"), field=f"answers[{index}].item",
                          params={"item": answer.item})
        _check_answer(index, item, answer)
        given[answer.item] = (index, answer)
    missing = [item.text for code, item in items.items() if item.is_scored and code not in given]
    if missing:
        raise Invalid(_("not answered: %(missing)s (mark N/A where allowed)"), field="answers",
                      params={"missing": ", ".join(missing)})
    if len(data.photos) > MAX_PHOTOS:
        raise Invalid(_("at most %(max_photos)s photos per visit"), field="photos",
                      params={"max_photos": MAX_PHOTOS})
    checked = []
    for index, photo in enumerate(data.photos):
        if photo.item is not None and photo.item not in items:
            raise Invalid(_("the template has no item %(item)r"), field=f"photos[{index}].item",
                          params={"item": photo.item})
        checked.append((photo, *_checked_photo(index, photo)))

    ratios = {code: item_ratio(items[code], answer) for code, (_, answer) in given.items()}
    audit = Audit.objects.create(
        shop=shop, store=store, template=template, auditor=auditor, visited_at=data.visited_at,
        associate=associate, associate_name=data.associate_name or (associate.display_name if associate else ""),
        notes=data.notes, score=score_of((items[code].weight, ratio) for code, ratio in ratios.items()),
    )
    AuditAnswer.objects.bulk_create([
        AuditAnswer(shop=shop, audit=audit, item=items[code], not_applicable=answer.na, value=answer.value,
                    text=answer.text, ratio=ratios[code])
        for code, (_, answer) in given.items()
    ])
    for photo, content_type, width, height in checked:
        AuditPhoto.objects.create(
            shop=shop, audit=audit, item=items.get(photo.item) if photo.item else None, file=photo.file,
            content_type=content_type, size=photo.file.size, width=width, height=height,
        )
    return audit


MANAGE_ROLES = (Role.OWNER, Role.MANAGER)


def _require_manager(staff: Staff) -> None:
    if staff.role not in MANAGE_ROLES:
        raise Forbidden(_("only the shop's owner or a manager manages corrective actions"))


@transaction.atomic
def add_corrective_action(
    *, shop: Shop, staff: Staff, store: Store, owner_id: int, description: str, due_date: dt.date,
    audit: Audit | None = None, item_id: int | None = None,
) -> CorrectiveAction:
    _require_manager(staff)
    if store.shop_id != shop.pk or (audit is not None and audit.shop_id != shop.pk):
        raise NotFound(_("no such store"), field="store")
    owner = Staff.objects.for_shop(shop).exclude(role=Role.AUDITOR).filter(pk=owner_id).first()
    if owner is None:
        raise NotFound(_("no such staff member"), field="owner")
    if not description.strip():
        raise Invalid(_("say what is to be done"), field="description")
    item = None
    if item_id is not None:
        item = AuditItem.objects.filter(shop=shop, pk=item_id).first()
        if item is None:
            raise NotFound(_("no such audit item"), field="item")
    return CorrectiveAction.objects.create(
        shop=shop, store=store, audit=audit, item=item, description=description.strip(), owner=owner,
        due_date=due_date,
    )


@transaction.atomic
def set_action_status(*, shop: Shop, staff: Staff, action_id: int, status: str) -> CorrectiveAction:
    """open → done (by anyone on the staff but auditors) → verified (owner or manager, by someone else)."""
    action = CorrectiveAction.objects.select_for_update().filter(shop=shop, pk=action_id).first()
    if action is None or staff.role == Role.AUDITOR:
        raise NotFound(_("no such corrective action"))
    now = timezone.now()
    if status == CorrectiveAction.Status.DONE:
        if action.status == CorrectiveAction.Status.VERIFIED:
            raise Invalid(_("the action is already verified"), field="status")
        action.status, action.done_at = status, now
    elif status == CorrectiveAction.Status.VERIFIED:
        _require_manager(staff)
        if action.status != CorrectiveAction.Status.DONE:
            raise Invalid(_("only a done action can be verified"), field="status")
        action.status, action.verified_at, action.verified_by = status, now, staff
    elif status == CorrectiveAction.Status.OPEN:
        action.status, action.done_at, action.verified_at, action.verified_by = status, None, None, None
    else:
        raise Invalid(_("unknown status %(status)r"), field="status", params={"status": status})
    action.save()
    return action
