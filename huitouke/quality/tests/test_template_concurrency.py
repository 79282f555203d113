"""Two managers saving one template in use at the same moment: one new version each, one after the other,
and exactly one version in use (locking every version of the key orders them, also on PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.models import AuditTemplate
from huitouke.quality.services import audits
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.quality.services.templates import (
    ItemSpec,
    SectionSpec,
    TemplateSpec,
    create_template,
    save_template,
)
from huitouke.testing.concurrency import run_together
from huitouke.testing.factories import StaffFactory, StoreFactory
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


def spec(weight: int) -> TemplateSpec:
    return TemplateSpec(name="快闪店", kind="offline", sections=(SectionSpec(title="接待", items=(
        ItemSpec(text="打招呼", kind="yes_no", weight=weight, code="greet"),)),))


def test_two_managers_saving_at_once_make_two_versions_and_one_in_use():
    tenant = make_tenant("shop-a")
    manager = StaffFactory(shop=tenant.shop, user__username="shop-a-manager", role="manager")
    store = StoreFactory(shop=tenant.shop, slug="jingan", platform="offline")
    template = create_template(shop=tenant.shop, staff=tenant.owner, spec=spec(1))
    audits.submit_audit(shop=tenant.shop, auditor=tenant.owner, data=AuditInput(
        store_id=store.pk, template_key=template.key, visited_at=dt.datetime(2025, 3, 1, 15, tzinfo=SHANGHAI),
        answers=[AnswerInput(item="greet", value=1)]))
    editors = [tenant.owner, manager]

    results = run_together(2, lambda index: save_template(shop=tenant.shop, staff=editors[index],
                                                          key=template.key, spec=spec(index + 2)))
    assert not [r for r in results if isinstance(r, Exception)], results
    versions = list(AuditTemplate.objects.filter(shop=tenant.shop, key=template.key).order_by("version")
                    .values_list("version", "is_active"))
    # the first save versions the audited v1; the second finds v2 unused and changes it in place
    assert versions == [(1, False), (2, True)]
    assert AuditTemplate.objects.get(key=template.key, is_active=True).items.get().weight in (2, 3)
