"""Editing audit templates: owners and managers create, copy and change them; bad templates are refused whole;
a template in use gets a new version, so submitted audits keep their questions and scores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from huitouke.core.errors import Forbidden, Invalid
from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.models import Audit, AuditAnswer, AuditItem, AuditTemplate
from huitouke.quality.services import audits
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.quality.services.templates import (
    ItemSpec,
    SectionSpec,
    TemplateSpec,
    copy_template,
    create_template,
    save_template,
    spec_of,
)
from huitouke.testing.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

SMALL = TemplateSpec(name="快闪店暗访", kind="offline", sections=(
    SectionSpec(title="接待", items=(
        ItemSpec(text="三秒内打招呼", kind="yes_no", weight=2, allow_na=False),
        ItemSpec(text="介绍面料", kind="scale", weight=1, scale_max=4),
        ItemSpec(text="店员的原话", kind="text", weight=5),
    )),
))


def logged_in(username: str) -> Client:
    browser = Client()
    assert browser.login(username=username, password=TEST_PASSWORD)
    return browser


def submit(setup, key: str, answers: dict[str, int]) -> Audit:
    return audits.submit_audit(shop=setup.tenant.shop, auditor=setup.tenant.owner, data=AuditInput(
        store_id=setup.boutique.pk, template_key=key, visited_at=dt.datetime(2025, 3, 8, 15, tzinfo=SHANGHAI),
        answers=[AnswerInput(item=code, value=value) for code, value in answers.items()]))


def test_a_new_template_gets_codes_and_text_items_carry_no_weight(setup):
    template = create_template(shop=setup.tenant.shop, staff=setup.tenant.owner, spec=SMALL)
    items = list(AuditItem.objects.filter(template=template).order_by("position"))
    assert [(i.code, i.kind, i.weight, i.scale_max) for i in items] == [
        ("item-1", "yes_no", 2, 0), ("item-2", "scale", 1, 4), ("item-3", "text", 0, 0)]
    assert template.key == "custom-1" and template.version == 1
    audit = submit(setup, template.key, {"item-1": 1, "item-2": 2})
    assert audit.score == Decimal("83.3")  # (2 × 1 + 1 × 0.5) ÷ 3


@pytest.mark.parametrize(("spec", "field"), [
    (TemplateSpec(name="", kind="offline", sections=SMALL.sections), "name"),
    (TemplateSpec(name="x", kind="kiosk", sections=SMALL.sections), "kind"),
    (TemplateSpec(name="x", kind="offline"), "sections"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="空", items=()),)), "sections[0].items"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="", items=SMALL.sections[0].items),)),
     "sections[0].title"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="a", items=(
        ItemSpec(text="问", kind="yes_no", weight=0),)),)), "sections[0].items[0].weight"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="a", items=(
        ItemSpec(text="问", kind="scale", weight=1, scale_max=0),)),)), "sections[0].items[0].scale_max"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="a", items=(
        ItemSpec(text="", kind="yes_no"),)),)), "sections[0].items[0].text"),
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="a", items=(
        ItemSpec(text="拍照", kind="photo"),)),)), "sections"),  # nothing to score
    (TemplateSpec(name="x", kind="offline", sections=(SectionSpec(title="a", items=(
        ItemSpec(text="一", kind="yes_no", code="same"), ItemSpec(text="二", kind="yes_no", code="same"))),)),
     "sections[0].items[1].code"),
])
def test_a_template_that_cannot_be_audited_with_is_refused_and_nothing_is_written(setup, spec, field):
    before = AuditTemplate.objects.count(), AuditItem.objects.count()
    with pytest.raises(Invalid) as caught:
        create_template(shop=setup.tenant.shop, staff=setup.tenant.owner, spec=spec)
    assert caught.value.field == field
    assert (AuditTemplate.objects.count(), AuditItem.objects.count()) == before


def test_editing_a_template_in_use_makes_a_new_version_and_old_audits_keep_their_score(setup):
    shop, owner = setup.tenant.shop, setup.tenant.owner
    template = create_template(shop=shop, staff=owner, spec=SMALL)
    audit = submit(setup, template.key, {"item-1": 0, "item-2": 4})  # (0 + 1 × 1) ÷ 3 = 33.3
    heavier = TemplateSpec(name=SMALL.name, kind="offline", sections=(SectionSpec(title="接待", items=(
        ItemSpec(text="三秒内打招呼", kind="yes_no", weight=10, allow_na=False, code="item-1"),
        ItemSpec(text="介绍面料", kind="scale", weight=1, scale_max=10, code="item-2"),)),))
    new = save_template(shop=shop, staff=owner, key=template.key, spec=heavier)
    assert (new.version, new.is_active, new.pk != template.pk) == (2, True, True)
    template.refresh_from_db()
    assert not template.is_active
    audit.refresh_from_db()
    assert audit.score == Decimal("33.3") and audit.template_id == template.pk
    old_answers = AuditAnswer.objects.filter(audit=audit).select_related("item")
    assert {(a.item.code, a.item.weight, a.item.scale_max) for a in old_answers} == {("item-1", 2, 0), ("item-2", 1, 4)}
    again = submit(setup, template.key, {"item-1": 0, "item-2": 10})  # the new version: (0 + 1) ÷ 11
    assert again.template_id == new.pk and again.score == Decimal("9.1")


def test_editing_a_template_nobody_used_changes_it_in_place(setup):
    template = create_template(shop=setup.tenant.shop, staff=setup.tenant.owner, spec=SMALL)
    spec = spec_of(template)
    renamed = TemplateSpec(name="改名了", kind="online", sections=spec.sections[:1])
    saved = save_template(shop=setup.tenant.shop, staff=setup.tenant.owner, key=template.key, spec=renamed)
    assert (saved.pk, saved.version, saved.name, saved.kind) == (template.pk, 1, "改名了", "online")
    assert AuditItem.objects.filter(template=template).count() == 3


def test_a_copy_of_a_built_in_template_is_the_shops_own(setup):
    copy = copy_template(shop=setup.tenant.shop, staff=setup.tenant.owner, key="offline-boutique")
    original = AuditTemplate.objects.get(shop=setup.tenant.shop, key="offline-boutique")
    assert copy.key == "offline-boutique-1" and copy.name.endswith("（副本）")
    assert sorted(copy.items.values_list("code", "weight")) == sorted(original.items.values_list("code", "weight"))
    audits.ensure_default_templates(shop=setup.tenant.shop)
    assert AuditTemplate.objects.filter(shop=setup.tenant.shop).count() == 3


def test_only_owners_and_managers_edit_templates(setup):
    with pytest.raises(Forbidden):
        create_template(shop=setup.tenant.shop, staff=setup.associate, spec=SMALL)
    associate = logged_in("shop-a-associate")
    assert associate.get("/quality/templates/").status_code == 403
    assert associate.post("/quality/templates/offline-boutique/copy/").status_code == 403
    assert logged_in("shop-a-auditor").get("/quality/templates/").status_code in (302, 403)
    assert AuditTemplate.objects.filter(shop=setup.tenant.shop).count() == 2


def test_another_shops_template_is_a_404(setup, tenant_b):
    owner_b = Client()
    assert owner_b.login(username="shop-b-owner", password=TEST_PASSWORD)
    assert owner_b.get("/quality/templates/offline-boutique/").status_code == 404  # shop b has made none
    assert owner_b.get("/quality/templates/no-such/").status_code == 404


def form_of(spec: TemplateSpec, **extra: str) -> dict[str, str]:
    data = {"name": spec.name, "kind": spec.kind}
    for s, section in enumerate(spec.sections):
        data[f"s{s}-title"] = section.title
        for i, item in enumerate(section.items):
            data.update({f"s{s}-i{i}-text": item.text, f"s{s}-i{i}-kind": item.kind,
                         f"s{s}-i{i}-weight": str(item.weight), f"s{s}-i{i}-scale_max": str(item.scale_max),
                         f"s{s}-i{i}-guidance": item.guidance, f"s{s}-i{i}-code": item.code})
            if item.allow_na:
                data[f"s{s}-i{i}-allow_na"] = "on"
    return {**data, **extra}


def test_the_editor_page_creates_and_saves_and_shows_where_the_problem_is(setup):
    owner = logged_in("shop-a-owner")
    assert owner.get("/quality/templates/new/").status_code == 200
    created = owner.post("/quality/templates/new/", form_of(SMALL))
    assert created.status_code == 302 and created["Location"] == "/quality/templates/custom-1/"
    page = owner.get("/quality/templates/custom-1/").content.decode()
    assert 'value="三秒内打招呼"' in page and 'name="s0-i2-kind"' in page and 'value="item-3"' in page
    saved = spec_of(AuditTemplate.objects.get(shop=setup.tenant.shop, key="custom-1"))  # as the form carries it
    bad = owner.post("/quality/templates/custom-1/", form_of(saved, **{"s0-i1-weight": "heavy"}))
    assert bad.status_code == 422 and 'data-testid="template-error"' in bad.content.decode()
    zero = owner.post("/quality/templates/custom-1/", form_of(saved, **{"s0-i0-weight": "0"}))
    assert zero.status_code == 422 and 'data-testid="template-error"' in zero.content.decode()
    assert AuditItem.objects.get(template__key="custom-1", code="item-1").weight == 2
    removed = owner.post("/quality/templates/custom-1/", form_of(saved, **{"s0-i1-remove": "on"}))
    assert removed.status_code == 302
    assert list(AuditItem.objects.filter(template__key="custom-1").order_by("position").values_list(
        "code", flat=True)) == ["item-1", "item-3"]


def test_the_row_partials_give_blank_rows_for_htmx(setup):
    owner = logged_in("shop-a-owner")
    item = owner.get("/quality/templates/row/?s=0&item=1").content.decode()
    assert 'name="s0-i' in item and "-text" in item
    section = owner.get("/quality/templates/row/").content.decode()
    assert 'data-section="' in section and "-i0-text" in section
    assert owner.get("/quality/templates/row/?s=x&item=1").status_code == 404


def test_the_weakest_items_follow_an_item_across_versions(setup):
    from huitouke.quality import selectors

    shop, owner = setup.tenant.shop, setup.tenant.owner
    template = create_template(shop=shop, staff=owner, spec=SMALL)
    submit(setup, template.key, {"item-1": 0, "item-2": 4})
    reworded = TemplateSpec(name=SMALL.name, kind="offline", sections=(SectionSpec(title="迎宾", items=(
        ItemSpec(text="进门三秒内问好", kind="yes_no", weight=3, code="item-1"),
        ItemSpec(text="介绍面料", kind="scale", weight=1, scale_max=4, code="item-2"))),))
    save_template(shop=shop, staff=owner, key=template.key, spec=reworded)
    submit(setup, template.key, {"item-1": 1, "item-2": 4})
    weakest = selectors.weakest_items(shop=shop, store=setup.boutique)
    assert [(row["text"], row["section"], row["weight"], row["answers"], row["average"]) for row in weakest] == [
        ("进门三秒内问好", "迎宾", 3, 2, 50.0), ("介绍面料", "迎宾", 1, 2, 100.0)]
