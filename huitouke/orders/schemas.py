"""Request and response shapes of the orders and products API. Money goes out as "123.45" strings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from huitouke.core.api import Id, MoneyIn, MoneyOut, PageInfo, SearchText, StrictSchema
from huitouke.orders.models import OrderStatus, ProductRole


class LineIn(StrictSchema):
    sku: str = ""
    title: str = Field("", description="may be left out when the SKU is a known product")
    quantity: int = Field(1, ge=1, le=100_000)
    unit_price: MoneyIn = 0


class OrderCreate(StrictSchema):
    """One order from a store. Sending the same store + external_id again returns the first order."""

    store: str = Field(description="store slug")
    external_id: str = Field(min_length=1, max_length=64, description="the platform's order number")
    status: OrderStatus
    ordered_at: dt.datetime = Field(description="ISO 8601 with a time zone")
    paid_at: dt.datetime | None = None
    goods_amount: MoneyIn | None = Field(None, description="defaults to the sum of the lines")
    shipping_amount: MoneyIn = 0
    discount_amount: MoneyIn = 0
    paid_amount: MoneyIn = 0
    refunded_amount: MoneyIn = 0
    note: str = Field("", max_length=300)
    lines: list[LineIn] = Field([], max_length=1000)
    customer_id: Id | None = Field(None, description="the buyer, or give `phone` instead")
    phone: str | None = Field(None, description="the buyer's full phone; an unknown one needs customer_name")
    customer_name: str | None = Field(None, description="registers the buyer when the phone is unknown")


class OrderListQuery(Schema):
    customer_id: Id | None = None
    store: SearchText | None = Field(None, description="store slug")
    status: OrderStatus | None = None


class LineOut(Schema):
    id: int
    product_id: int | None
    sku: str
    title: str
    quantity: int
    unit_price: MoneyOut
    line_amount: MoneyOut


class OrderOut(Schema):
    id: int
    store: str
    external_id: str
    customer_id: int | None
    status: str
    ordered_at: dt.datetime
    paid_at: dt.datetime | None
    goods_amount: MoneyOut
    shipping_amount: MoneyOut
    discount_amount: MoneyOut
    paid_amount: MoneyOut
    refunded_amount: MoneyOut
    net_amount: MoneyOut
    is_purchase: bool
    purchase_day: dt.date | None
    items_count: int
    note: str


class OrderDetail(OrderOut):
    lines: list[LineOut]


class OrderCreated(OrderDetail):
    created: bool = Field(description="false when this store + external_id was already recorded")


class OrderPacked(OrderDetail):
    proposals: dict[str, Any] = Field(
        description="what other parts propose for the parcel, by name (e.g. parcel_gift: a gift for a repeat "
                    "customer); empty when the order was packed before")


class OrderPage(PageInfo):
    items: list[OrderOut]


class ProductIn(StrictSchema):
    sku: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    price: MoneyIn
    cost: MoneyIn | None = None
    role: ProductRole = ProductRole.EDGE
    category: str = Field("", max_length=50)


class ProductListQuery(Schema):
    q: SearchText = Field("", description="part of the title or SKU")
    role: ProductRole | None = None


class ProductOut(Schema):
    id: int
    sku: str
    title: str
    category: str
    price: MoneyOut
    cost: MoneyOut | None
    role: str
    is_active: bool


class ProductPage(PageInfo):
    items: list[ProductOut]


class ImportProblemOut(Schema):
    file: str
    line: int = Field(description="1-based line in the file (the header is line 1); 0 = the whole file")
    column: str
    value: str
    reason: str


class ImportProgressOut(Schema):
    rows: int = Field(description="rows read so far")
    bytes: int
    size: int = Field(description="file size in bytes")
    percent: int


class ImportCountsOut(Schema):
    rows: int = 0
    orders_in_file: int = 0
    invalid_rows: int = 0
    duplicate_orders: int = 0
    older_states: int = 0
    new_customers: int = 0
    new_orders: int = 0
    updated_orders: int = 0
    unchanged_orders: int = 0
    merges: int = 0


class ImportOut(Schema):
    id: int
    status: str = Field(description="queued, running, done, checked, rejected, failed or interrupted")
    store: str = Field(description="store slug")
    format: str
    file_name: str
    file_sha256: str
    file_size: int
    dry_run: bool
    skip_invalid: bool
    counts: ImportCountsOut
    problems_count: int
    message: str
    created_by: str | None = Field(description="display name of the staff member who started it")
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ImportDetail(ImportOut):
    problems: list[ImportProblemOut] = Field(description="the first problems (up to 200); all are in the CSV")
    progress: ImportProgressOut | None = Field(description="live progress while queued or running, else null")


class ImportPage(PageInfo):
    items: list[ImportOut]

