"""Refund reasons read from platform exports on import: mapped to reason codes, idempotent, staff's kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitouke.orders.importing.services import ImportRequest, import_file
from huitouke.orders.models import ImportRun, Order
from huitouke.quality.models import RefundReason
from huitouke.quality.services.refunds import code_from_platform_text, set_refund_reason

pytestmark = pytest.mark.django_db

TAOBAO_HEADER = ("订单编号,买家会员名,买家应付货款,买家应付邮费,买家实际支付金额,订单状态,收货人姓名,收货地址,联系手机,"
                 "订单创建时间,订单付款时间,宝贝标题,宝贝总数量,退款金额,退款原因,退款状态")
_ADDRESS = "浙江省 杭州市 西湖区 文三路 100号(310000)"
# Seven orders of one buyer: five refunded with a reason, one whose refund request was closed (no refund,
# its reason says nothing), one without a refund.
TAOBAO_ROWS = [
    f'="3100000000000001",小鱼儿,¥199.00,0.00,¥199.00,交易关闭,李小雨,{_ADDRESS},13812345678,2025-03-01 10:00:00,'
    '2025-03-01 10:01:00,真丝连衣裙,1,199.00,质量问题,退款成功',
    f'="3100000000000002",小鱼儿,¥299.00,0.00,¥299.00,交易成功,李小雨,{_ADDRESS},13812345678,2025-03-02 10:00:00,'
    '2025-03-02 10:01:00,羊毛开衫,2,149.50,与商品描述不符,退款成功',
    f'="3100000000000003",小鱼儿,¥89.00,0.00,¥89.00,交易关闭,李小雨,{_ADDRESS},13812345678,2025-03-03 10:00:00,'
    '2025-03-03 10:01:00,针织衫,1,89.00,尺码拍错/不喜欢/效果不好,退款成功',
    f'="3100000000000004",小鱼儿,¥59.00,0.00,¥59.00,交易关闭,李小雨,{_ADDRESS},13812345678,2025-03-04 10:00:00,'
    '2025-03-04 10:01:00,丝巾,1,59.00,七天无理由退换货,退款成功',
    f'="3100000000000005",小鱼儿,¥120.00,0.00,¥120.00,交易关闭,李小雨,{_ADDRESS},13812345678,2025-03-05 10:00:00,'
    '2025-03-05 10:01:00,半身裙,1,120.00,卖家缺货,退款成功',
    f'="3100000000000006",小鱼儿,¥150.00,0.00,¥150.00,交易成功,李小雨,{_ADDRESS},13812345678,2025-03-06 10:00:00,'
    '2025-03-06 10:01:00,衬衫,1,0.00,质量问题,退款关闭',
    f'="3100000000000007",小鱼儿,¥80.00,0.00,¥80.00,交易成功,李小雨,{_ADDRESS},13812345678,2025-03-07 10:00:00,'
    '2025-03-07 10:01:00,发夹,1,0.00,,没有申请退款',
]


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="gb18030")
    return path


def run_import(tenant, path: Path, fmt: str = "taobao", **options) -> ImportRun:
    run = import_file(ImportRequest(shop=tenant.shop, store=tenant.store, path=path, fmt=fmt, **options))
    assert run.status == ImportRun.Status.DONE, run.message
    return run


def reasons(shop) -> dict[str, tuple[str, str, str]]:
    return {r.order.external_id: (r.code, r.platform_text, r.source)
            for r in RefundReason.objects.filter(shop=shop).select_related("order")}


@pytest.mark.parametrize(("text", "code"), [
    ("质量问题", "quality"), ("商品质量问题/做工粗糙", "quality"), ("与商品描述不符", "not_as_described"),
    ("描述不符", "not_as_described"), ("尺码不合适", "size"), ("尺码拍错", "size"), ("不想要了", "changed_mind"),
    ("七天无理由", "changed_mind"), ("拍错了", "changed_mind"), ("快递一直未送达", "logistics"),
    ("物流问题", "logistics"), ("未收到货", "logistics"), ("其他", "other"), ("卖家缺货", "other"),
])
def test_platform_wording_maps_to_a_reason_code(text, code):
    assert code_from_platform_text(text) == code


def test_a_taobao_order_report_with_refund_reasons_records_one_reason_per_refunded_order(tenant_a, tmp_path):
    run_import(tenant_a, write(tmp_path, "订单报表.csv", TAOBAO_HEADER, TAOBAO_ROWS))
    assert reasons(tenant_a.shop) == {
        "3100000000000001": ("quality", "质量问题", "import"),
        "3100000000000002": ("not_as_described", "与商品描述不符", "import"),
        "3100000000000003": ("size", "尺码拍错/不喜欢/效果不好", "import"),
        "3100000000000004": ("changed_mind", "七天无理由退换货", "import"),
        "3100000000000005": ("other", "卖家缺货", "import"),  # unknown wording: "other", the text kept
    }
    assert RefundReason.objects.filter(shop=tenant_a.shop, line__isnull=False).count() == 0


def test_importing_the_same_export_again_leaves_the_reasons_as_they_were(tenant_a, tmp_path):
    path = write(tmp_path, "订单报表.csv", TAOBAO_HEADER, TAOBAO_ROWS)
    run_import(tenant_a, path)
    before = list(RefundReason.objects.filter(shop=tenant_a.shop).order_by("id").values_list(
        "id", "order_id", "code", "platform_text", "recorded_at"))
    run_import(tenant_a, path)
    after = list(RefundReason.objects.filter(shop=tenant_a.shop).order_by("id").values_list(
        "id", "order_id", "code", "platform_text", "recorded_at"))
    assert after == before and len(after) == 5


def test_a_later_export_with_another_reason_updates_the_imported_one(tenant_a, tmp_path):
    run_import(tenant_a, write(tmp_path, "old.csv", TAOBAO_HEADER, TAOBAO_ROWS))
    newer = [row.replace("卖家缺货", "收到商品破损") for row in TAOBAO_ROWS]
    run_import(tenant_a, write(tmp_path, "new.csv", TAOBAO_HEADER, newer))
    assert reasons(tenant_a.shop)["3100000000000005"] == ("logistics", "收到商品破损", "import")
    assert RefundReason.objects.filter(shop=tenant_a.shop).count() == 5


def test_a_reason_staff_set_is_never_overwritten_by_an_import(tenant_a, tmp_path):
    path = write(tmp_path, "订单报表.csv", TAOBAO_HEADER, TAOBAO_ROWS)
    run_import(tenant_a, path)
    order = Order.objects.get(shop=tenant_a.shop, external_id="3100000000000005")
    set_refund_reason(shop=tenant_a.shop, order=order, code="quality", comment="客服确认：开线",
                      staff=tenant_a.owner)
    line = Order.objects.get(shop=tenant_a.shop, external_id="3100000000000004").lines.get()
    set_refund_reason(shop=tenant_a.shop, order=line.order, line_id=line.pk, code="size", staff=tenant_a.owner)
    run_import(tenant_a, write(tmp_path, "again.csv", TAOBAO_HEADER, [r.replace("¥", "") for r in TAOBAO_ROWS]))
    found = reasons(tenant_a.shop)
    assert found["3100000000000005"] == ("quality", "", "staff")
    assert found["3100000000000004"] == ("size", "", "staff")  # the per-line reason; no whole-order one added
    assert RefundReason.objects.filter(shop=tenant_a.shop, order=line.order).count() == 1


REFUND_REPORT_HEADER = "退款编号,订单编号,宝贝标题,买家退款金额,退款原因,退款说明,退款状态,申请时间"
ORDERS_WITHOUT_REASONS = ("订单编号,买家会员名,买家实际支付金额,订单状态,联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,"
                          "退款金额")


def test_a_separate_refund_report_gives_each_order_the_reason_of_its_largest_refund(tenant_a, tmp_path):
    orders = write(tmp_path, "订单报表.csv", ORDERS_WITHOUT_REASONS, [
        '="3200000000000001",阿花,300.00,交易成功,13900001111,2025-04-01 09:00:00,2025-04-01 09:01:00,连衣裙,2,'
        '180.00',
        '="3200000000000002",阿花,100.00,交易成功,13900001111,2025-04-02 09:00:00,2025-04-02 09:01:00,丝巾,1,'
        '100.00',
        '="3200000000000003",阿花,50.00,交易成功,13900001111,2025-04-03 09:00:00,2025-04-03 09:01:00,发夹,1,0.00',
    ])
    refunds = write(tmp_path, "退款报表.csv", REFUND_REPORT_HEADER, [
        '="R1",="3200000000000001",连衣裙,30.00,快递/物流问题,盒子压坏,退款成功,2025-04-05 10:00:00',
        '="R2",="3200000000000001",连衣裙,150.00,质量问题,裙摆开线,退款成功,2025-04-06 10:00:00',
        '="R3",="3200000000000002",丝巾,100.00,质量问题,,退款关闭,2025-04-06 10:00:00',
        '="R4",="3200000000000002",丝巾,100.00,不想要了,,退款成功,2025-04-07 10:00:00',
        '="R5",="3200000000000003",发夹,50.00,质量问题,,卖家拒绝退款,2025-04-07 10:00:00',
        '="R6",="3299999999999999",别人的单,10.00,质量问题,,退款成功,2025-04-07 10:00:00',
    ])
    run_import(tenant_a, orders, refunds_path=refunds)
    assert reasons(tenant_a.shop) == {
        "3200000000000001": ("quality", "质量问题", "import"),
        "3200000000000002": ("changed_mind", "不想要了", "import"),
    }


def test_an_unreadable_refund_report_row_is_reported_and_nothing_is_written(tenant_a, tmp_path):
    orders = write(tmp_path, "订单报表.csv", ORDERS_WITHOUT_REASONS, [
        '="3300000000000001",阿花,300.00,交易成功,13900001111,2025-04-01 09:00:00,2025-04-01 09:01:00,连衣裙,1,'
        '300.00',
    ])
    refunds = write(tmp_path, "退款报表.csv", REFUND_REPORT_HEADER, [
        '="R1",="3300000000000001",连衣裙,三百元,质量问题,,退款成功,2025-04-05 10:00:00',
    ])
    run = import_file(ImportRequest(shop=tenant_a.shop, store=tenant_a.store, path=orders, fmt="taobao",
                                    refunds_path=refunds))
    assert run.status == ImportRun.Status.REJECTED
    assert run.problems[0]["file"] == "退款报表.csv" and run.problems[0]["column"] == "买家退款金额"
    assert run.problems[0]["line"] == 2
    assert not Order.objects.filter(shop=tenant_a.shop).exists() and not RefundReason.objects.exists()


GENERIC_HEADER = "order_id,ordered_at,paid_at,status,paid_amount,refunded_amount,buyer_id,phone,sku,item_title,quantity," \
                 "unit_price,refund_reason"


def test_the_generic_format_takes_an_optional_refund_reason_column(tenant_a, tmp_path):
    path = tmp_path / "till.csv"
    path.write_text("\n".join([
        GENERIC_HEADER,
        "T-1,2025-05-01 12:00,2025-05-01 12:00,refunded,120.00,120.00,vip-1,13812345678,SK-1,T恤,1,120.00,起球严重",
        "T-2,2025-05-02 12:00,2025-05-02 12:00,completed,80.00,40.00,vip-1,13812345678,SK-2,袜子,2,40.00,Size too small",
        "T-3,2025-05-03 12:00,2025-05-03 12:00,completed,80.00,0.00,vip-1,13812345678,SK-2,袜子,2,40.00,",
    ]) + "\n", encoding="utf-8")
    run_import(tenant_a, path, fmt="generic")
    assert reasons(tenant_a.shop) == {"T-1": ("quality", "起球严重", "import"),
                                      "T-2": ("size", "Size too small", "import")}


def test_a_shopify_export_carries_no_refund_reason_and_records_none(tenant_a, tmp_path):
    fixture = Path(__file__).parents[2] / "orders/importing/tests/fixtures/shopify_orders.csv"
    run_import(tenant_a, fixture, fmt="shopify")
    assert Order.objects.filter(shop=tenant_a.shop, refunded_amount__gt=0).exists()
    assert not RefundReason.objects.filter(shop=tenant_a.shop).exists()


def test_every_keyword_of_the_mapping_is_documented_for_shop_owners():
    from huitouke.quality.services.refunds import PLATFORM_KEYWORDS

    docs = (Path(__file__).parents[3] / "docs" / "import-formats.md").read_text(encoding="utf-8")
    table = docs[docs.index("## Refund reasons"):]
    assert [word for _, words in PLATFORM_KEYWORDS for word in words if word not in table] == []


def test_reasons_reach_the_right_orders_when_new_orders_are_written_in_another_order(tenant_a, tmp_path):
    # The engine writes a batch's new orders sorted by customer: a buyer already on file (a lower id) goes
    # before a new buyer listed first in the file. Each reason must still land on its own order.
    run_import(tenant_a, write(tmp_path, "一月.csv", TAOBAO_HEADER, [TAOBAO_ROWS[6]]))  # 小鱼儿 is on file now
    newcomer = (f'="3200000000000001",新顾客阿美,¥99.00,0.00,¥99.00,交易关闭,王阿美,{_ADDRESS},13900001111,'
                '2025-04-01 10:00:00,2025-04-01 10:01:00,T恤,1,99.00,尺码不合适,退款成功')
    regular = (f'="3200000000000002",小鱼儿,¥199.00,0.00,¥199.00,交易关闭,李小雨,{_ADDRESS},13812345678,'
               '2025-04-02 10:00:00,2025-04-02 10:01:00,真丝连衣裙,1,199.00,质量问题,退款成功')
    run_import(tenant_a, write(tmp_path, "四月.csv", TAOBAO_HEADER, [newcomer, regular]))
    found = reasons(tenant_a.shop)
    assert found["3200000000000001"][0] == "size" and found["3200000000000002"][0] == "quality"
