"""Quality test set-up: photos go to a temporary folder; a shop with two stores, an auditor of one."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from huitouke.core.models import Platform, Role, Staff, Store
from huitouke.core.services import create_token
from huitouke.quality.models import AuditTemplate, photo_storage
from huitouke.quality.services import audits
from huitouke.testing.factories import StaffFactory, StoreFactory
from huitouke.testing.fixtures import Tenant


@pytest.fixture(autouse=True)
def photos_in_tmp(tmp_path):
    saved = dict(photo_storage.__dict__)
    for name in ("base_location", "location"):
        photo_storage.__dict__.pop(name, None)
    photo_storage._location = str(tmp_path / "photos")
    yield
    photo_storage.__dict__.clear()
    photo_storage.__dict__.update(saved)


@dataclass
class AuditSetup:
    tenant: Tenant
    online: Store
    boutique: Store
    auditor: Staff
    auditor_token: str
    associate: Staff


@pytest.fixture
def setup(tenant_a) -> AuditSetup:
    shop = tenant_a.shop
    boutique = StoreFactory(shop=shop, slug="shop-a-boutique", name="静安店", platform=Platform.OFFLINE)
    auditor = StaffFactory(shop=shop, user__username="shop-a-auditor", role=Role.AUDITOR, display_name="暗访员")
    audits.assign_auditor(shop=shop, staff=auditor, stores=[boutique])
    _, token = create_token(staff=auditor)
    associate = StaffFactory(shop=shop, user__username="shop-a-associate", role=Role.ASSOCIATE, display_name="小李")
    audits.ensure_default_templates(shop=shop)
    return AuditSetup(tenant=tenant_a, online=tenant_a.store, boutique=boutique, auditor=auditor,
                      auditor_token=token, associate=associate)


def full_answers(shop, key: str, value: str = "max") -> list[dict]:
    """An answer for every scored item of a template: its maximum (or 0 with value="min")."""
    template = AuditTemplate.objects.get(shop=shop, key=key, is_active=True)
    answers = []
    for item in template.items.all():
        if not item.is_scored:
            continue
        top = 1 if item.kind == "yes_no" else item.scale_max
        answers.append({"item": item.code, "value": top if value == "max" else 0})
    return answers


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
