from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from huitouke.core.money import MoneyError, fmt, money
from huitouke.core.pii import MaskPIIFilter, mask_email, mask_name, mask_phone, scrub
from huitouke.orders.models import Order
from huitouke.testing.factories import OrderFactory


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("¥1,299.00", "1299.00"), ("１２３．５", "123.50"), ("￥ 88 元", "88.00"), (5, "5.00"),
     (Decimal("0.005"), "0.01"), ("-12.3", "-12.30")],
)
def test_money_reads_amounts_as_shops_write_them(raw, expected):
    assert money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "abc", "1.2.3", "NaN", None, "Infinity"])
def test_money_refuses_what_is_not_an_amount(raw):
    with pytest.raises(MoneyError):
        money(raw)


@pytest.mark.django_db
def test_money_sums_are_exact_in_the_database(tenant_a):
    # 0.1 + 0.2 style sums drift in floats; fen integers do not.
    for _ in range(10):
        OrderFactory(shop=tenant_a.shop, store=tenant_a.store, paid_amount=Decimal("0.10"))
    total = Order.objects.for_shop(tenant_a.shop).aggregate(total=Sum("paid_amount"))["total"]
    assert total == Decimal("1.00") and fmt(total) == "1.00"
    with connection.cursor() as cursor:
        cursor.execute("SELECT paid_amount FROM orders_order LIMIT 1")
        assert cursor.fetchone()[0] == 10  # stored as fen


def test_personal_data_masks():
    assert mask_name("王小芳") == "王*芳"
    assert mask_name("李雷") == "李*"
    assert mask_name("Alice Smith") == "A**** S****"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_email("alice@example.com") == "a***@example.com"


def test_log_lines_never_carry_a_full_phone_or_email():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sms to %s / %s", ("13812345678", "bo@x.cn"), None)
    MaskPIIFilter().filter(record)
    assert record.getMessage() == "sms to 138****5678 / b***@x.cn"
    assert scrub("+8613912345678") == "139****5678"
