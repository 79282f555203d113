"""Editing audit templates (owner or manager): create, copy, change sections and items.

A template is saved whole from a `TemplateSpec`, checked first (a name, at least one section, every section
titled with at least one item, at least one scored item, weights above 0 for yes/no and scale items, a scale
of 1–10): bad input changes nothing. When audits were already submitted with the current version, saving
makes a new version and retires the old one (audits point at the version and items they were answered with,
and their scores are stored), so editing never changes a submitted audit. Without audits the version is
changed in place. Item codes stay the same across versions (answers over the API name items by code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.services import require_manager
from huitouke.quality.models import SCORED_KINDS, Audit, AuditItem, AuditSection, AuditTemplate, ItemKind

MAX_WEIGHT = 100
MAX_SCALE = 10
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


@dataclass(frozen=True)
class ItemSpec:
    text: str
    kind: str
    weight: int = 1
    scale_max: int = 0
    allow_na: bool = True
    guidance: str = ""
    code: str = ""  # empty: a new item, given a code on save


@dataclass(frozen=True)
class SectionSpec:
    title: str
    items: tuple[ItemSpec, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    kind: str
    sections: tuple[SectionSpec, ...] = field(default_factory=tuple)


def spec_of(template: AuditTemplate) -> TemplateSpec:
    """The template as a spec, to fill the edit form or to copy it."""
    return TemplateSpec(name=template.name, kind=template.kind, sections=tuple(
        SectionSpec(title=section.title, items=tuple(
            ItemSpec(text=i.text, kind=i.kind, weight=i.weight, scale_max=i.scale_max, allow_na=i.allow_na,
                     guidance=i.guidance, code=i.code)
            for i in section.items.order_by("position", "id")))
        for section in template.sections.order_by("position", "id")))


def _check_item(where: str, item: ItemSpec) -> None:
    if not item.text.strip():
        raise Invalid(_("write the question"), field=f"{where}.text")
    if len(item.text) > 300 or len(item.guidance) > 300:
        raise Invalid(_("a question and its guidance are at most 300 characters"), field=f"{where}.text")
    if item.kind not in ItemKind.values:
        raise Invalid(_("the type is one of %(choices)s"), field=f"{where}.kind",
                      params={"choices": ", ".join(ItemKind.values)})
    if item.kind in SCORED_KINDS and not 1 <= item.weight <= MAX_WEIGHT:
        raise Invalid(_("a scored item weighs 1 to %(max_weight)s"), field=f"{where}.weight",
                      params={"max_weight": MAX_WEIGHT})
    if item.kind == ItemKind.SCALE and not 1 <= item.scale_max <= MAX_SCALE:
        raise Invalid(_("a scale goes from 0 to 1–%(max_scale)s"), field=f"{where}.scale_max",
                      params={"max_scale": MAX_SCALE})
    if item.code and not _CODE.match(item.code):
        raise Invalid(_("an item code is lower-case letters, digits, - and _"), field=f"{where}.code")


def check_spec(spec: TemplateSpec) -> None:
    """Refuse a template that cannot be audited with (module doc); the field names the place."""
    if not spec.name.strip() or len(spec.name) > 100:
        raise Invalid(_("give the template a name (at most 100 characters)"), field="name")
    if spec.kind not in AuditTemplate.Kind.values:
        raise Invalid(_("the kind is one of %(choices)s"), field="kind",
                      params={"choices": ", ".join(AuditTemplate.Kind.values)})
    if not spec.sections:
        raise Invalid(_("add at least one section with one item"), field="sections")
    codes: set[str] = set()
    for s_index, section in enumerate(spec.sections):
        where = f"sections[{s_index}]"
        if not section.title.strip() or len(section.title) > 100:
            raise Invalid(_("give the section a title (at most 100 characters)"), field=f"{where}.title")
        if not section.items:
            raise Invalid(_("a section needs at least one item"), field=f"{where}.items")
        for i_index, item in enumerate(section.items):
            _check_item(f"{where}.items[{i_index}]", item)
            if item.code and item.code in codes:
                raise Invalid(_("item code %(item)r is used twice"), field=f"{where}.items[{i_index}].code",
                              params={"item": item.code})
            codes.add(item.code)
    if not any(item.kind in SCORED_KINDS for section in spec.sections for item in section.items):
        raise Invalid(_("add at least one yes/no or scale item: the score is made of them"), field="sections")


def _write_items(shop: Shop, template: AuditTemplate, spec: TemplateSpec) -> None:
    used = {item.code for section in spec.sections for item in section.items if item.code}
    number = 0
    for s_position, section_spec in enumerate(spec.sections):
        section = AuditSection.objects.create(shop=shop, template=template, title=section_spec.title.strip(),
                                              position=s_position)
        rows = []
        for i_position, item in enumerate(section_spec.items):
            code = item.code
            while not code:
                number += 1
                code = f"item-{number}" if f"item-{number}" not in used else ""
            scored = item.kind in SCORED_KINDS
            rows.append(AuditItem(
                shop=shop, template=template, section=section, code=code, text=item.text.strip(),
                guidance=item.guidance.strip(), kind=item.kind, weight=item.weight if scored else 0,
                scale_max=item.scale_max if item.kind == ItemKind.SCALE else 0, allow_na=item.allow_na,
                position=i_position,
            ))
        AuditItem.objects.bulk_create(rows)


def active_template(*, shop: Shop, key: str) -> AuditTemplate:
    template = AuditTemplate.objects.for_shop(shop).filter(key=key, is_active=True).first()
    if template is None:
        raise NotFound(_("no such audit template"), field="template")
    return template


@transaction.atomic
def save_template(*, shop: Shop, staff: Staff, key: str, spec: TemplateSpec) -> AuditTemplate:
    """Save the template's new content (module doc): a new version when audits use the current one."""
    require_manager(shop=shop, staff=staff, action="edit audit templates")
    check_spec(spec)
    # Two editors save one after the other: lock every version of the key (rows that stay matched, unlike
    # "the active one", which the first editor retires), then read the active version afresh.
    list(AuditTemplate.objects.for_shop(shop).filter(key=key).select_for_update().values_list("pk", flat=True))
    current = active_template(shop=shop, key=key)
    if Audit.objects.filter(shop=shop, template=current).exists():
        current.is_active = False
        current.save(update_fields=["is_active"])
        template = AuditTemplate.objects.create(shop=shop, key=key, version=current.version + 1,
                                                name=spec.name.strip(), kind=spec.kind)
    else:
        AuditItem.objects.filter(shop=shop, template=current).delete()
        AuditSection.objects.filter(shop=shop, template=current).delete()
        current.name, current.kind = spec.name.strip(), spec.kind
        current.save(update_fields=["name", "kind"])
        template = current
    _write_items(shop, template, spec)
    return template


def _free_key(shop: Shop, base: str) -> str:
    taken = set(AuditTemplate.objects.for_shop(shop).values_list("key", flat=True))
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


@transaction.atomic
def create_template(*, shop: Shop, staff: Staff, spec: TemplateSpec, key: str = "") -> AuditTemplate:
    """A new template (version 1); without a key it gets custom-N."""
    require_manager(shop=shop, staff=staff, action="edit audit templates")
    check_spec(spec)
    if key and not _CODE.match(key):
        raise Invalid(_("a template key is lower-case letters, digits, - and _"), field="key")
    if key and AuditTemplate.objects.for_shop(shop).filter(key=key).exists():
        raise Invalid(_("the key %(key)r is taken"), field="key", params={"key": key})
    template = AuditTemplate.objects.create(shop=shop, key=key or _free_key(shop, "custom"), name=spec.name.strip(),
                                            kind=spec.kind)
    _write_items(shop, template, spec)
    return template


@transaction.atomic
def copy_template(*, shop: Shop, staff: Staff, key: str, name: str = "") -> AuditTemplate:
    """A new template with the same sections and items as the active version of `key` (codes kept)."""
    source = active_template(shop=shop, key=key)
    spec = spec_of(source)
    copied = TemplateSpec(name=(name.strip() or f"{source.name}（副本）")[:100], kind=spec.kind,
                          sections=spec.sections)
    return create_template(shop=shop, staff=staff, spec=copied, key=_free_key(shop, key[:40]))


def template_versions(*, shop: Shop, key: str) -> int:
    """How many versions the template has had."""
    return AuditTemplate.objects.for_shop(shop).filter(key=key).aggregate(n=Max("version"))["n"] or 0
