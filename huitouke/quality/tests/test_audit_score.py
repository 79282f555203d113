"""The audit score: 100 × Σ(weight × ratio) ÷ Σ(weight), N/A items left out of both sums."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.errors import Invalid
from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.models import AuditAnswer, AuditItem, AuditSection, AuditTemplate
from huitouke.quality.services import audits
from huitouke.quality.services.audits import AnswerInput, AuditInput, score_of

pytestmark = pytest.mark.django_db

VISIT = dt.datetime(2025, 3, 8, 15, 30, tzinfo=SHANGHAI)


def make_template(shop) -> AuditTemplate:
    template = AuditTemplate.objects.create(shop=shop, key="t", name="测试", kind="offline")
    section = AuditSection.objects.create(shop=shop, template=template, title="全部")
    for pos, (code, kind, weight, top, na) in enumerate([
        ("greet", "yes_no", 3, 0, False),
        ("knowledge", "scale", 2, 4, False),
        ("fitting", "yes_no", 1, 0, True),
        ("checkout", "scale", 4, 4, True),
        ("notes", "text", 0, 0, True),
    ]):
        AuditItem.objects.create(shop=shop, template=template, section=section, code=code, kind=kind, weight=weight,
                                 scale_max=top, allow_na=na, text=code, position=pos)
    return template


def test_score_weighs_items_and_leaves_na_out(setup):
    shop = setup.tenant.shop
    make_template(shop)
    audit = audits.submit_audit(shop=shop, auditor=setup.tenant.owner, data=AuditInput(
        store_id=setup.boutique.pk, template_key="t", visited_at=VISIT, answers=[
            AnswerInput(item="greet", value=1),       # 3 × 1
            AnswerInput(item="knowledge", value=2),   # 2 × 0.5
            AnswerInput(item="fitting", na=True),     # left out
            AnswerInput(item="checkout", value=0),    # 4 × 0
            AnswerInput(item="notes", text="店员很热情"),
        ]))
    # 100 × (3 + 1 + 0) ÷ (3 + 2 + 4) = 44.44… → 44.4 (the N/A item's weight 1 is not in the divisor)
    assert audit.score == Decimal("44.4")
    ratios = dict(AuditAnswer.objects.filter(audit=audit).values_list("item__code", "ratio"))
    assert ratios == {"greet": Decimal("1"), "knowledge": Decimal("0.5"), "fitting": None, "checkout": Decimal("0"),
                      "notes": None}


def test_marking_the_heavy_item_na_raises_the_score(setup):
    shop = setup.tenant.shop
    make_template(shop)
    audit = audits.submit_audit(shop=shop, auditor=setup.tenant.owner, data=AuditInput(
        store_id=setup.boutique.pk, template_key="t", visited_at=VISIT, answers=[
            AnswerInput(item="greet", value=1), AnswerInput(item="knowledge", value=2),
            AnswerInput(item="fitting", value=0), AnswerInput(item="checkout", na=True),
        ]))
    assert audit.score == Decimal("66.7")  # 100 × (3 + 1 + 0) ÷ (3 + 2 + 1)


def test_all_na_has_no_score_and_pure_formula_matches():
    assert score_of([(3, None), (2, None)]) is None
    assert score_of([(1, Decimal(1)), (1, Decimal(0))]) == Decimal("50.0")
    # the restaurant of the source text: three visits scored 83, 85 and 88
    assert score_of([(100, Decimal("0.83"))]) == Decimal("83.0")


@pytest.mark.parametrize(("answer", "field"), [
    (AnswerInput(item="knowledge", value=5), "answers[1].value"),       # scale is 0–4
    (AnswerInput(item="knowledge", value=None), "answers[1].value"),
    (AnswerInput(item="greet", value=2), "answers[1].value"),           # yes/no is 0 or 1
    (AnswerInput(item="greet", na=True), "answers[1].na"),              # N/A not allowed here
    (AnswerInput(item="nope", value=1), "answers[1].item"),
])
def test_bad_answers_are_refused_with_their_field(setup, answer, field):
    shop = setup.tenant.shop
    make_template(shop)
    first = AnswerInput(item="checkout", value=3)
    with pytest.raises(Invalid) as caught:
        audits.submit_audit(shop=shop, auditor=setup.tenant.owner, data=AuditInput(
            store_id=setup.boutique.pk, template_key="t", visited_at=VISIT, answers=[first, answer]))
    assert caught.value.field == field


def test_a_scored_item_left_unanswered_is_refused(setup):
    shop = setup.tenant.shop
    make_template(shop)
    with pytest.raises(Invalid) as caught:
        audits.submit_audit(shop=shop, auditor=setup.tenant.owner, data=AuditInput(
            store_id=setup.boutique.pk, template_key="t", visited_at=VISIT,
            answers=[AnswerInput(item="greet", value=1)]))
    assert caught.value.field == "answers"


def test_default_templates_are_made_once_and_cover_the_issue(setup):
    shop = setup.tenant.shop
    audits.ensure_default_templates(shop=shop)
    online = AuditTemplate.objects.get(shop=shop, key="online-shop")
    offline = AuditTemplate.objects.get(shop=shop, key="offline-boutique")
    assert set(online.items.values_list("code", flat=True)) >= {
        "reply_time", "reply_tone", "description_accurate", "packaging", "delivery_speed", "after_sales",
        "tricky_question"}
    assert set(offline.items.values_list("code", flat=True)) >= {
        "greeting", "product_knowledge", "fitting_room", "checkout", "farewell", "follow_up"}
    assert AuditTemplate.objects.filter(shop=shop).count() == 2
    assert not online.items.filter(kind__in=["text", "photo"], weight__gt=0).exists()
