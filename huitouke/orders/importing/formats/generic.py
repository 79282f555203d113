"""Our own documented CSV (docs/import-formats.md) for tills and platforms without a reader of their own.

One row per order line; consecutive rows with the same order_id form one order, whose order-level cells
(dates, status, amounts, buyer) are read from its first row. An order_id that comes back later in the file
is read as a second, later state of that order.
"""

from __future__ import annotations

from pathlib import Path

from huitouke.core.money import ZERO
from huitouke.orders.importing.formats.common import (
    CellError,
    Column,
    GroupedReader,
    Row,
    amount,
    buyer_platform,
    clean,
    email,
    open_table,
    optional_amount,
    optional_datetime,
    order_number,
    phone,
    quantity,
    refund_reason,
    required_amount,
    required_datetime,
    unit_price,
)
from huitouke.orders.importing.records import BuyerRecord, LineRecord, OrderRecord

COLUMNS = (
    Column("order_id", ("order_id", "订单号", "订单编号"), required=True),
    Column("ordered_at", ("ordered_at", "下单时间"), required=True),
    Column("paid_at", ("paid_at", "付款时间")),
    Column("status", ("status", "状态", "订单状态"), required=True),
    Column("paid_amount", ("paid_amount", "实付金额"), required=True),
    Column("refunded_amount", ("refunded_amount", "退款金额")),
    Column("shipping_amount", ("shipping_amount", "运费")),
    Column("discount_amount", ("discount_amount", "优惠金额")),
    Column("buyer_id", ("buyer_id", "买家ID", "会员名")),
    Column("customer_name", ("customer_name", "姓名", "收货人")),
    Column("phone", ("phone", "手机", "手机号", "电话")),
    Column("email", ("email", "邮箱")),
    Column("address", ("address", "地址")),
    Column("sku", ("sku", "商家编码", "货号")),
    Column("item_title", ("item_title", "商品名称", "商品")),
    Column("quantity", ("quantity", "数量")),
    Column("unit_price", ("unit_price", "单价")),
    Column("line_amount", ("line_amount", "小计", "金额")),
    Column("note", ("note", "备注")),
    Column("refund_reason", ("refund_reason", "退款原因")),
)
_AT = {column.key: index for index, column in enumerate(COLUMNS)}

STATUSES = {
    "pending": "pending",
    "paid": "paid",
    "shipped": "shipped",
    "completed": "completed",
    "closed": "closed",
    "refunded": "refunded",
    "待付款": "pending",
    "已付款": "paid",
    "待发货": "paid",
    "已发货": "shipped",
    "已完成": "completed",
    "交易成功": "completed",
    "已关闭": "closed",
    "已取消": "closed",
    "交易关闭": "closed",
    "已退款": "refunded",
}


def status(text: str) -> str:
    key = clean(text).lower()
    found = STATUSES.get(key)
    if found is None:
        if not key:
            raise CellError("the status is missing")
        raise CellError("unknown status (expected pending, paid, shipped, completed, closed or refunded)")
    return found


ORDER_CHECKS = tuple(
    (_AT[key], parse)
    for key, parse in (
        ("order_id", order_number),
        ("ordered_at", required_datetime),
        ("paid_at", optional_datetime),
        ("status", status),
        ("paid_amount", required_amount),
        ("refunded_amount", amount),
        ("shipping_amount", amount),
        ("discount_amount", amount),
    )
)
LINE_CHECKS = tuple(
    (_AT[key], parse)
    for key, parse in (("quantity", quantity), ("unit_price", amount), ("line_amount", amount))
)


class GenericReader(GroupedReader):
    order_column = _AT["order_id"]
    order_checks = ORDER_CHECKS
    line_checks = LINE_CHECKS

    def __init__(self, path: Path, *, platform: str) -> None:
        super().__init__(open_table(path, COLUMNS, fmt="generic (huitouke CSV)"))
        self._platform = buyer_platform(platform)

    def _order(self, group: list[Row]) -> OrderRecord:
        line, v, _ = group[0]
        handle = clean(v[_AT["buyer_id"]])
        name = clean(v[_AT["customer_name"]])
        mail = email(v[_AT["email"]])
        buyer_phone = phone(v[_AT["phone"]])
        buyer = None
        if handle or name or mail or buyer_phone:
            buyer = BuyerRecord(
                platform=self._platform,
                handle=handle,
                name=name,
                phone=buyer_phone,
                email=mail,
                recipient=name,
                address=clean(v[_AT["address"]]),
            )
        lines = tuple(filter(None, (self._line(values) for _, values, _ in group)))
        return OrderRecord(
            line=line,
            external_id=order_number(v[_AT["order_id"]]),
            status=status(v[_AT["status"]]),
            ordered_at=required_datetime(v[_AT["ordered_at"]]),
            paid_at=optional_datetime(v[_AT["paid_at"]]),
            paid_amount=required_amount(v[_AT["paid_amount"]]),
            refunded_amount=amount(v[_AT["refunded_amount"]]),
            shipping_amount=amount(v[_AT["shipping_amount"]]),
            discount_amount=amount(v[_AT["discount_amount"]]),
            buyer=buyer,
            lines=lines,
            note=clean(v[_AT["note"]]),
            refund_reason=refund_reason(v[_AT["refund_reason"]]),
        )

    @staticmethod
    def _line(v: tuple[str, ...]) -> LineRecord | None:
        """The row's order line; None when the row names no product (an order without lines)."""
        title = clean(v[_AT["item_title"]])
        sku = clean(v[_AT["sku"]])
        count = quantity(v[_AT["quantity"]])
        each = optional_amount(v[_AT["unit_price"]])
        total = optional_amount(v[_AT["line_amount"]])
        if not title and not sku:
            return None
        if total is None:
            total = ZERO if each is None else each * count
        if each is None:
            each = unit_price(total, count)
        return LineRecord(title=title, sku=sku, quantity=count, unit_price=each, line_amount=total)
