"""Shopify's orders export: one row per line item, the order's own fields only on its first row.

Consecutive rows with the same Name form one order (Shopify writes them together), read as a stream.
"""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_noop

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
    required_amount,
    required_datetime,
)
from huitouke.orders.importing.records import BuyerRecord, LineRecord, OrderRecord

COLUMNS = (
    Column("name", ("Name",), required=True),
    Column("email", ("Email",)),
    Column("financial", ("Financial Status",), required=True),
    Column("fulfillment", ("Fulfillment Status",)),
    Column("paid_at", ("Paid at",)),
    Column("created", ("Created at",), required=True),
    Column("subtotal", ("Subtotal",)),
    Column("shipping", ("Shipping",)),
    Column("total", ("Total",), required=True),
    Column("discount", ("Discount Amount",)),
    Column("refunded", ("Refunded Amount",)),
    Column("cancelled", ("Cancelled at",)),
    Column("notes", ("Notes",)),
    Column("quantity", ("Lineitem quantity",), required=True),
    Column("item", ("Lineitem name",), required=True),
    Column("price", ("Lineitem price",), required=True),
    Column("sku", ("Lineitem sku",)),
    Column("billing_name", ("Billing Name",)),
    Column("billing_phone", ("Billing Phone",)),
    Column("billing_address1", ("Billing Address1", "Billing Street")),
    Column("billing_address2", ("Billing Address2",)),
    Column("billing_city", ("Billing City",)),
    Column("billing_province", ("Billing Province Name", "Billing Province")),
    Column("shipping_name", ("Shipping Name",)),
    Column("shipping_phone", ("Shipping Phone",)),
    Column("shipping_address1", ("Shipping Address1", "Shipping Street")),
    Column("shipping_address2", ("Shipping Address2",)),
    Column("shipping_city", ("Shipping City",)),
    Column("shipping_province", ("Shipping Province Name", "Shipping Province")),
    Column("phone", ("Phone",)),
)
_AT = {column.key: index for index, column in enumerate(COLUMNS)}

_FINANCIAL = {
    "paid": "paid",
    "partially_paid": "paid",
    "partially_refunded": "paid",
    "refunded": "refunded",
    "pending": "pending",
    "authorized": "pending",
    "voided": "closed",
    "expired": "closed",
}


def financial_status(text: str) -> str:
    """Financial Status → the order status before fulfilment and cancellation are looked at."""
    key = clean(text).lower().replace(" ", "_")
    found = _FINANCIAL.get(key)
    if found is None:
        if not key:
            raise CellError(gettext_noop("the financial status is missing"))
        raise CellError(gettext_noop("unknown financial status (expected e.g. paid, pending, refunded, partially_refunded, voided)"))
    return found


def order_status(financial: str, fulfillment: str, cancelled: bool) -> str:
    if cancelled:
        return "closed"
    if financial == "paid":
        fulfilled = clean(fulfillment).lower()
        if fulfilled == "fulfilled":
            return "completed"
        if fulfilled in ("partial", "partially_fulfilled"):
            return "shipped"
    return financial


ORDER_CHECKS = tuple(
    (_AT[key], parse)
    for key, parse in (
        ("name", order_number),
        ("financial", financial_status),
        ("created", required_datetime),
        ("paid_at", optional_datetime),
        ("cancelled", optional_datetime),
        ("total", required_amount),
        ("subtotal", amount),
        ("shipping", amount),
        ("discount", amount),
        ("refunded", amount),
    )
)
LINE_CHECKS = ((_AT["quantity"], quantity), (_AT["price"], required_amount))


def _joined(*parts: str) -> str:
    return " ".join(text for text in map(clean, parts) if text)


class ShopifyReader(GroupedReader):
    order_column = _AT["name"]
    order_checks = ORDER_CHECKS
    line_checks = LINE_CHECKS

    def __init__(self, path: Path, *, platform: str) -> None:
        super().__init__(open_table(path, COLUMNS, fmt="Shopify orders"))
        self._platform = buyer_platform(platform)

    def _order(self, group: list[Row]) -> OrderRecord:
        line, v, _ = group[0]
        external_id = order_number(v[_AT["name"]])
        financial = financial_status(v[_AT["financial"]])
        cancelled = optional_datetime(v[_AT["cancelled"]])
        billing = _joined(v[_AT["billing_address1"]], v[_AT["billing_address2"]])
        if billing:
            region = _joined(v[_AT["billing_province"]], v[_AT["billing_city"]])
        else:
            billing = _joined(v[_AT["shipping_address1"]], v[_AT["shipping_address2"]])
            region = _joined(v[_AT["shipping_province"]], v[_AT["shipping_city"]])
        recipient = clean(v[_AT["shipping_name"]])
        name = clean(v[_AT["billing_name"]]) or recipient
        mail = email(v[_AT["email"]])
        buyer_phone = (
            phone(v[_AT["billing_phone"]]) or phone(v[_AT["phone"]]) or phone(v[_AT["shipping_phone"]])
        )
        buyer = None
        if mail or name or buyer_phone:
            buyer = BuyerRecord(
                platform=self._platform,
                handle=mail,
                name=name,
                phone=buyer_phone,
                email=mail,
                recipient=recipient or name,
                region=region,
                address=billing,
            )
        return OrderRecord(
            line=line,
            external_id=external_id,
            status=order_status(financial, v[_AT["fulfillment"]], cancelled is not None),
            ordered_at=required_datetime(v[_AT["created"]]),
            paid_at=optional_datetime(v[_AT["paid_at"]]),
            paid_amount=required_amount(v[_AT["total"]]),
            refunded_amount=amount(v[_AT["refunded"]]),
            goods_amount=optional_amount(v[_AT["subtotal"]]),
            shipping_amount=amount(v[_AT["shipping"]]),
            discount_amount=amount(v[_AT["discount"]]),
            buyer=buyer,
            lines=tuple(self._line(values) for _, values, _ in group),
            note=clean(v[_AT["notes"]]),
        )

    @staticmethod
    def _line(v: tuple[str, ...]) -> LineRecord:
        count = quantity(v[_AT["quantity"]])
        each = required_amount(v[_AT["price"]])
        return LineRecord(
            title=clean(v[_AT["item"]]),
            sku=clean(v[_AT["sku"]]),
            quantity=count,
            unit_price=each,
            line_amount=each * count,
        )
