from __future__ import annotations

import hashlib

import pytest
from django.conf import settings
from django.test import Client

from huitouke.core.models import ApiToken, Role
from huitouke.core.services import authenticate_token, create_staff, create_token, revoke_token
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_tokens_are_stored_hashed_and_shown_once(tenant_a):
    row, plain = create_token(staff=tenant_a.owner, name="till")
    stored = ApiToken.objects.get(pk=row.pk)
    assert plain not in (stored.token_hash, stored.prefix + stored.token_hash)
    assert stored.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert authenticate_token(plain).shop == tenant_a.shop


def test_revoked_or_unknown_tokens_do_not_authenticate(tenant_a):
    row, plain = create_token(staff=tenant_a.owner)
    revoke_token(shop=tenant_a.shop, token_id=row.pk)
    assert authenticate_token(plain) is None
    assert authenticate_token("htk_not-a-real-token") is None
    assert authenticate_token("") is None


def test_a_shop_cannot_revoke_another_shops_token(tenant_a, tenant_b):
    from huitouke.core.errors import NotFound

    row, _ = create_token(staff=tenant_b.owner)
    with pytest.raises(NotFound):
        revoke_token(shop=tenant_a.shop, token_id=row.pk)
    assert ApiToken.objects.get(pk=row.pk).revoked_at is None


def test_staff_usernames_are_unique_across_shops(tenant_a, tenant_b):
    from huitouke.core.errors import Conflict

    with pytest.raises(Conflict):
        create_staff(shop=tenant_b.shop, username="shop-a-owner", password=TEST_PASSWORD)


def test_admin_shows_a_shops_staff_only_their_shops_rows(tenant_a, tenant_b):
    mine = CustomerFactory(shop=tenant_a.shop, name="本店顾客")
    theirs = CustomerFactory(shop=tenant_b.shop, name="别家顾客")
    manager = StaffFactory(shop=tenant_a.shop, role=Role.MANAGER, user__is_staff=True, user__is_superuser=True)
    manager.user.is_superuser = False
    manager.user.save()
    from django.contrib.auth.models import Permission

    manager.user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client = Client()
    client.login(username=manager.user.username, password=TEST_PASSWORD)
    listing = client.get("/admin/customers/customer/")
    assert listing.status_code == 200
    assert mine.name in listing.content.decode() and theirs.name not in listing.content.decode()
    assert client.get(f"/admin/customers/customer/{theirs.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/customers/customer/{mine.pk}/change/").status_code == 200


def test_the_default_sqlite_database_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    """Checked on a file database built from our settings (the test database itself may be in memory)."""
    import copy

    from django.db.backends.sqlite3.base import DatabaseWrapper

    from huitouke import settings as project_settings

    config = copy.deepcopy(project_settings.DATABASES["default"])
    if config["ENGINE"] != "django.db.backends.sqlite3":  # running with DATABASE_URL=postgresql://…
        config = {**config, "ENGINE": "django.db.backends.sqlite3"}
        config["OPTIONS"] = project_settings.SQLITE_OPTIONS
    config.update(NAME=str(tmp_path / "wal.sqlite3"), TIME_ZONE=None, CONN_HEALTH_CHECKS=False,
                  AUTOCOMMIT=True, ATOMIC_REQUESTS=False, CONN_MAX_AGE=0)
    wrapper = DatabaseWrapper(config, alias="wal-check")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20000
    finally:
        wrapper.close()


def test_secret_key_is_generated_into_var_and_not_in_the_repo():
    key_file = settings.VAR_DIR / "secret_key"
    assert key_file.exists() and key_file.read_text().strip() == settings.SECRET_KEY
    assert len(settings.SECRET_KEY) >= 50


def test_every_model_has_an_admin_and_ledgers_are_read_only_there(tenant_a, tenant_b):
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth.models import Permission

    from huitouke.loyalty.services.points import adjust_points

    unregistered = [m._meta.label for m in apps.get_models() if m.__module__.startswith("huitouke")
                    and not admin.site.is_registered(m)]
    assert unregistered == []

    ours = adjust_points(shop=tenant_a.shop, customer=CustomerFactory(shop=tenant_a.shop), delta=50,
                         reason="本店补偿", staff=tenant_a.owner, idempotency_key="adm-a")
    theirs = adjust_points(shop=tenant_b.shop, customer=CustomerFactory(shop=tenant_b.shop), delta=70,
                           reason="别家补偿", staff=tenant_b.owner, idempotency_key="adm-b")
    manager = StaffFactory(shop=tenant_a.shop, role=Role.MANAGER, user__is_staff=True)
    manager.user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_pointsentry", "add_pointsentry", "change_pointsentry", "delete_pointsentry"]))
    client = Client()
    client.login(username=manager.user.username, password=TEST_PASSWORD)
    listing = client.get("/admin/loyalty/pointsentry/")
    assert [entry.pk for entry in listing.context["cl"].result_list] == [ours.pk]
    assert client.get(f"/admin/loyalty/pointsentry/{theirs.pk}/change/").status_code in (302, 404)
    page = client.get(f"/admin/loyalty/pointsentry/{ours.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    # Even with every permission granted, the ledger cannot be added to or edited from the admin.
    assert client.get("/admin/loyalty/pointsentry/add/").status_code == 403
    assert client.post(f"/admin/loyalty/pointsentry/{ours.pk}/delete/", {"post": "yes"}).status_code == 403
    assert type(ours).objects.filter(pk=ours.pk).exists()


def test_purging_a_shop_deletes_all_its_rows_and_logins_and_nothing_of_another_shop(tenant_a, tenant_b):
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from huitouke.core.models import ShopScoped
    from huitouke.core.services import purge_shop
    from huitouke.platform.models import BalanceEntry
    from huitouke.platform.tests.helpers import signed

    for tenant in (tenant_a, tenant_b):  # ledger rows that the ORM's cascade refuses to delete (protected)
        signed(tenant.shop)
    shop_tables = [m for m in apps.get_models() if issubclass(m, ShopScoped)]
    before_b = {m: m.objects.filter(shop=tenant_b.shop).count() for m in shop_tables}
    owner_a = tenant_a.owner.user.username
    steps = []
    purge_shop(shop=tenant_a.shop, progress=lambda done, total: steps.append((done, total)))
    assert not any(m.objects.filter(shop_id=tenant_a.shop.pk).exists() for m in shop_tables)
    assert {m: m.objects.filter(shop=tenant_b.shop).count() for m in shop_tables} == before_b
    assert BalanceEntry.objects.filter(shop=tenant_b.shop).exists()
    assert not get_user_model().objects.filter(username=owner_a).exists()
    assert steps[-1][0] == steps[-1][1] == len(steps) - 1
