"""/api/v1/imports (upload, list, one run) and /api/v1/customers/{id}/merges/{merge_id}/undo."""

from __future__ import annotations

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huitouke.core.models import Role
from huitouke.core.services import create_token
from huitouke.customers.models import Customer, CustomerMerge
from huitouke.orders.importing.services import progress_path
from huitouke.orders.models import ImportRun, Order
from huitouke.testing.api import assert_error, client_for
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db

HEADER = "订单号,下单时间,付款时间,状态,实付金额,退款金额,会员名,姓名,手机,地址,商品名称,数量,单价"
ROWS = (
    "M20250301001,2025-03-01 10:12:00,2025-03-01 10:13:05,已完成,299.00,0,小鱼儿2019,李小雨,13812345678,"
    "浙江省杭州市西湖区文三路100号,真丝连衣裙,1,299.00",
    "M20250402003,2025-04-02 09:30:00,2025-04-02 09:31:00,已关闭,0,0,tb_8890,张伟,139****0001,"
    "上海市浦东新区世纪大道1号,纯棉T恤,1,89.90",
    "M20250520002,2025-05-20 21:40:00,2025-05-20 21:41:10,已完成,158.00,0,yu_li_88,李小雨,+86 138 1234 5678,"
    "浙江省杭州市西湖区文三路100号,桑蚕丝围巾,2,79.00",
)
BAD = ("M20250601009,2025-06-31 10:00:00,,已完成,120.00,0,tb_0601,赵敏,13700001111,北京市朝阳区建国路88号,"
       "亚麻衬衫,1,120.00")


def export(*rows: str, name: str = "till-export.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "\r\n".join((HEADER, *rows)).encode("utf-8"), content_type="text/csv")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.fixture
def post_import(django_capture_on_commit_callbacks):
    def post(token: str, **data):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(token).post("/api/v1/imports", data)

    return post


def _associate_token(tenant) -> str:
    associate = StaffFactory(shop=tenant.shop, role=Role.ASSOCIATE)
    return create_token(staff=associate)[1]


def _finished(response, token: str) -> dict:
    """The run after its background job: the 202 answers before the job starts (here: right after)."""
    assert response.status_code == 202, response.content
    accepted = response.json()
    assert accepted["status"] == "queued" and accepted["finished_at"] is None
    detail = client_for(token).get(f"/api/v1/imports/{accepted['id']}")
    assert detail.status_code == 200
    return detail.json()


def test_upload_is_accepted_imported_and_readable(post_import, tenant_a):
    response = post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="generic")
    body = _finished(response, tenant_a.token)
    assert body["status"] == "done" and body["finished_at"]
    assert body["store"] == tenant_a.store.slug and body["format"] == "generic"
    assert body["file_name"] == "till-export.csv" and len(body["file_sha256"]) == 64
    # three buyer accounts, two of them sharing a full phone: two new people, one merge
    assert body["counts"]["new_customers"] == 2 and body["counts"]["new_orders"] == 3
    assert body["counts"]["merges"] == 1 and Customer.objects.for_shop(tenant_a.shop).count() == 2
    assert body["problems_count"] == 0 and body["problems"] == [] and body["progress"] is None
    assert body["created_by"] == tenant_a.owner.display_name
    assert Order.objects.filter(shop=tenant_a.shop).count() == 3

    listing = client_for(tenant_a.token).get("/api/v1/imports")
    assert listing.status_code == 200
    page = listing.json()
    assert page["count"] == 1 and [item["id"] for item in page["items"]] == [body["id"]]
    assert "problems" not in page["items"][0]


def test_a_rejected_file_reports_its_problems_and_writes_nothing(post_import, tenant_a):
    response = post_import(tenant_a.token, file=export(*ROWS, BAD), store=tenant_a.store.slug, format="generic")
    body = _finished(response, tenant_a.token)
    assert body["status"] == "rejected" and body["problems_count"] == 1
    (problem,) = body["problems"]
    assert (problem["line"], problem["column"], problem["value"]) == (5, "下单时间", "2025-06-31 10:00:00")
    assert problem["reason"]
    assert Order.objects.count() == 0


def test_dry_run_and_skip_invalid_are_form_flags(post_import, tenant_a):
    checked = _finished(post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="generic",
                                    dry_run="true"), tenant_a.token)
    assert checked["status"] == "checked" and checked["dry_run"] is True and checked["counts"]["new_orders"] == 3
    assert Order.objects.count() == 0
    partial = _finished(post_import(tenant_a.token, file=export(*ROWS, BAD), store=tenant_a.store.slug,
                                    format="generic", skip_invalid="true"), tenant_a.token)
    assert partial["status"] == "done" and partial["skip_invalid"] is True
    assert partial["counts"]["new_orders"] == 3 and partial["problems_count"] == 1
    assert Order.objects.count() == 3


def test_bad_uploads_get_a_4xx_with_a_message(post_import, tenant_a, tenant_b):
    assert_error(post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="youzan"),
                 422, "invalid", "format")
    assert_error(post_import(tenant_a.token, file=export(*ROWS), store=tenant_b.store.slug, format="generic"),
                 404, "not_found", "store")
    assert_error(post_import(tenant_a.token, file=export(*ROWS, name="订单.pdf"), store=tenant_a.store.slug,
                             format="generic"), 422, "invalid", "file")
    missing = post_import(tenant_a.token, store=tenant_a.store.slug, format="generic")
    assert_error(missing, 422, "invalid", "file")
    assert_error(post_import(tenant_a.token, file=export(*ROWS), format="generic"), 422, "invalid", "store")
    assert ImportRun.objects.count() == 0


def test_a_second_import_while_one_runs_is_a_conflict(post_import, tenant_a):
    ImportRun.objects.create(shop=tenant_a.shop, store=tenant_a.store, format="taobao", file_name="big.csv",
                             file_sha256="1" * 64, status=ImportRun.Status.RUNNING, pid=os.getpid())
    response = post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="generic")
    assert_error(response, 409, "conflict", "file")
    assert Order.objects.count() == 0


def test_a_running_import_shows_its_progress(tenant_a):
    run = ImportRun.objects.create(shop=tenant_a.shop, store=tenant_a.store, format="taobao", file_name="big.csv",
                                   file_sha256="1" * 64, file_size=2000, status=ImportRun.Status.RUNNING,
                                   pid=os.getpid())
    path = progress_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"rows": 12000, "bytes": 500, "size": 2000}')
    body = client_for(tenant_a.token).get(f"/api/v1/imports/{run.pk}").json()
    assert body["status"] == "running"
    assert body["progress"] == {"rows": 12000, "bytes": 500, "size": 2000, "percent": 25}


def test_another_shops_run_is_not_found_and_not_listed(post_import, tenant_a, tenant_b):
    run_id = post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="generic").json()["id"]
    assert_error(client_for(tenant_b.token).get(f"/api/v1/imports/{run_id}"), 404, "not_found", "import")
    assert client_for(tenant_b.token).get("/api/v1/imports").json()["count"] == 0


def test_associates_cannot_import_or_read_imports(post_import, tenant_a):
    token = _associate_token(tenant_a)
    assert_error(post_import(token, file=export(*ROWS), store=tenant_a.store.slug, format="generic"),
                 403, "forbidden", "file")
    assert_error(client_for(token).get("/api/v1/imports"), 403, "forbidden", "file")
    assert ImportRun.objects.count() == 0


def test_a_merge_is_undone_through_the_api(post_import, tenant_a, tenant_b):
    post_import(tenant_a.token, file=export(*ROWS), store=tenant_a.store.slug, format="generic")
    merge = CustomerMerge.objects.get(shop=tenant_a.shop)
    url = f"/api/v1/customers/{merge.kept_id}/merges/{merge.pk}/undo"

    assert_error(client_for(_associate_token(tenant_a)).post(url), 403, "forbidden", "merge")
    assert_error(client_for(tenant_b.token).post(url), 404, "not_found", "customer")

    response = client_for(tenant_a.token).post(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["kept_id"], body["absorbed_id"]) == (merge.pk, merge.kept_id, merge.absorbed_id)
    assert body["reason"] == "same_phone" and body["evidence"] == "138****5678" and body["undone_at"]
    assert Customer.objects.get(pk=merge.absorbed_id).merged_into is None

    assert_error(client_for(tenant_a.token).post(url), 409, "conflict", "merge")
