"""Merges on the customer 360 page: the history, undo by owners and managers, and merged-away URLs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from huitouke.core.models import Role
from huitouke.customers.models import Customer, CustomerMerge
from huitouke.customers.selectors import merged_into_of
from huitouke.orders.models import ImportRun, Order
from huitouke.testing.factories import StaffFactory
from huitouke.web.tests.test_imports import HEADER, csv_file

pytestmark = pytest.mark.django_db

# One person with two Taobao accounts: the same full phone on both joins them into one customer.
TWO_ACCOUNTS = (
    "M20250301001,2025-03-01 10:12:00,2025-03-01 10:13:05,已完成,299.00,0,小鱼儿2019,李小雨,13812345678,"
    "浙江省杭州市西湖区文三路100号,真丝连衣裙,1,299.00",
    "M20250520002,2025-05-20 21:40:00,2025-05-20 21:41:10,已完成,158.00,0,yu_li_88,李小雨,+86 138 1234 5678,"
    "浙江省杭州市西湖区文三路100号,桑蚕丝围巾,2,79.00",
)


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def merged(tenant_a, owner_client, django_capture_on_commit_callbacks) -> CustomerMerge:
    """Import the two accounts through the upload page: one customer, one recorded merge."""
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("imports"), {
            "store": tenant_a.store.pk, "format": "generic", "file": csv_file(*TWO_ACCOUNTS, header=HEADER),
        })
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.DONE and run.counts["merges"] == 1
    return CustomerMerge.objects.select_related("kept", "absorbed").get(shop=tenant_a.shop)


def _text(response) -> str:
    return response.content.decode()


def _merges_section(text: str) -> str:
    return text.split('data-testid="merges"', 1)[1].split("</section>", 1)[0]


def test_the_360_page_lists_the_merge_with_reason_masked_evidence_and_source(owner_client, merged):
    text = _text(owner_client.get(reverse("customer", args=[merged.kept_id])))
    section = _merges_section(text)
    assert "合并记录" in text
    row = section.split(f'data-merge="{merged.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "已并入本顾客" in row and f"#{merged.absorbed_id}" in row
    assert "手机号相同" in row and "138****5678" in row and "13812345678" not in row
    run_id = ImportRun.objects.get().pk
    assert f'<a href="{reverse("import", args=[run_id])}">导入 #{run_id}</a>' in row  # the import it came from
    assert "生效中" in row
    assert f'action="{reverse("customer_merge_undo", args=[merged.kept_id, merged.pk])}"' in row


def test_a_customer_without_merges_says_so(owner_client, tenant_a):
    from huitouke.customers.services import register_customer

    alone = register_customer(shop=tenant_a.shop, name="周杰", phone="13600000000")
    section = _merges_section(_text(owner_client.get(reverse("customer", args=[alone.pk]))))
    assert "没有与其他记录合并过" in section and "data-merge=" not in section


def test_the_merged_away_customer_url_redirects_to_the_kept_one_with_a_message(owner_client, merged):
    assert merged_into_of(shop=merged.shop, customer_id=merged.absorbed_id) == merged.kept_id
    assert merged_into_of(shop=merged.shop, customer_id=merged.kept_id) is None
    response = owner_client.get(reverse("customer", args=[merged.absorbed_id]))
    assert response.status_code == 302 and response["Location"] == reverse("customer", args=[merged.kept_id])
    page = owner_client.get(response["Location"])
    assert f"顾客 #{merged.absorbed_id} 已合并到这位顾客" in _text(page)


def test_a_merged_away_customer_of_another_shop_is_not_found(merged, tenant_b):
    other = Client()
    other.force_login(tenant_b.owner.user)
    assert other.get(reverse("customer", args=[merged.absorbed_id])).status_code == 404
    assert other.get(reverse("customer", args=[merged.kept_id])).status_code == 404


def test_the_owner_undoes_the_merge_and_both_customers_are_separate_again(owner_client, merged, tenant_a):
    assert Customer.objects.for_shop(tenant_a.shop).count() == 1
    response = owner_client.post(reverse("customer_merge_undo", args=[merged.kept_id, merged.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("customer", args=[merged.kept_id])

    merged.refresh_from_db()
    assert merged.undone_at is not None and merged.undone_by == tenant_a.owner
    assert Customer.objects.for_shop(tenant_a.shop).count() == 2
    absorbed = Customer.objects.get(pk=merged.absorbed_id)
    assert absorbed.merged_into is None and absorbed.orders_count == 1
    assert Order.objects.filter(customer_id=merged.kept_id).count() == 1

    text = _text(owner_client.get(response["Location"]))
    assert "已撤销合并" in text and "重新成为单独的顾客" in text
    assert f'<a href="{reverse("customer", args=[absorbed.pk])}">李*雨</a>' in text  # masked name, linked
    row = _merges_section(text).split(f'data-merge="{merged.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "已撤销" in row and "曾并入本顾客" in row and 'data-testid="undo-merge"' not in row
    assert owner_client.get(reverse("customer", args=[absorbed.pk])).status_code == 200  # no redirect any more


def test_undoing_twice_says_it_was_undone_already(owner_client, merged):
    url = reverse("customer_merge_undo", args=[merged.kept_id, merged.pk])
    owner_client.post(url)
    response = owner_client.post(url, follow=True)
    assert response.status_code == 200
    assert "这次合并已经撤销过了" in _text(response)


def test_a_merge_of_another_customer_cannot_be_undone_from_this_page(owner_client, merged, tenant_a):
    from huitouke.customers.services import register_customer

    stranger = register_customer(shop=tenant_a.shop, name="周杰", phone="13600000000")
    response = owner_client.post(reverse("customer_merge_undo", args=[stranger.pk, merged.pk]))
    assert response.status_code == 404
    merged.refresh_from_db()
    assert merged.undone_at is None


def test_undo_is_a_post(owner_client, merged):
    response = owner_client.get(reverse("customer_merge_undo", args=[merged.kept_id, merged.pk]))
    assert response.status_code == 405


def test_associates_see_the_merges_but_cannot_undo_them(client, merged, tenant_a):
    associate = StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE)
    client.force_login(associate.user)
    text = _text(client.get(reverse("customer", args=[merged.kept_id])))
    section = _merges_section(text)
    assert f'data-merge="{merged.pk}"' in section and "手机号相同" in section
    assert 'data-testid="undo-merge"' not in section and "customer_merge_undo" not in section
    assert "导入 #" in section and "/imports/" not in section  # associates cannot open import pages
    assert "/undo/" not in section

    response = client.post(reverse("customer_merge_undo", args=[merged.kept_id, merged.pk]))
    assert response.status_code == 403
    merged.refresh_from_db()
    assert merged.undone_at is None
    assert Customer.objects.for_shop(tenant_a.shop).count() == 1


def test_a_manager_may_undo(client, merged, tenant_a):
    manager = StaffFactory(shop=tenant_a.shop, role=Role.MANAGER)
    client.force_login(manager.user)
    assert 'data-testid="undo-merge"' in _text(client.get(reverse("customer", args=[merged.kept_id])))
    response = client.post(reverse("customer_merge_undo", args=[merged.kept_id, merged.pk]))
    assert response.status_code == 302
    merged.refresh_from_db()
    assert merged.undone_by == manager
