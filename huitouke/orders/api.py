"""/api/v1/orders, /api/v1/products and /api/v1/imports. Recording an order is idempotent by store + external_id;
an uploaded export is queued and imported in the background (poll its run for progress and the outcome)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import File, Form, Path, Query, Router, Status, UploadedFile

from huitouke.core.api import MAX_ID, PageQuery, caller, paginate
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop, Staff, Store
from huitouke.core.selectors import store_by_slug
from huitouke.customers import selectors as customer_selectors
from huitouke.customers import services as customer_services
from huitouke.customers.models import Customer
from huitouke.orders import selectors, services
from huitouke.orders.importing import selectors as import_selectors
from huitouke.orders.importing.services import queue_upload
from huitouke.orders.models import ImportRun, Order, Product
from huitouke.orders.schemas import (
    ImportDetail,
    ImportPage,
    OrderCreate,
    OrderCreated,
    OrderDetail,
    OrderListQuery,
    OrderPacked,
    OrderPage,
    ProductIn,
    ProductListQuery,
    ProductOut,
    ProductPage,
)

orders_router = Router(tags=["orders"])
products_router = Router(tags=["products"])
imports_router = Router(tags=["imports"])

OrderId = Path(..., ge=1, le=MAX_ID, description="order id")
ProductId = Path(..., ge=1, le=MAX_ID, description="product id")
ImportId = Path(..., ge=1, le=MAX_ID, description="import run id")
_MONEY = ("goods_amount", "shipping_amount", "discount_amount", "paid_amount", "refunded_amount", "net_amount")


def _order_out(order: Order) -> dict[str, Any]:
    data = {
        "id": order.pk, "store": order.store.slug, "external_id": order.external_id,
        "customer_id": order.customer_id, "status": order.status, "ordered_at": order.ordered_at,
        "paid_at": order.paid_at, "is_purchase": order.is_purchase, "purchase_day": order.purchase_day,
        "items_count": order.items_count, "note": order.note,
    }
    return {**data, **{name: getattr(order, name) for name in _MONEY}}


def _order_detail(order: Order) -> dict[str, Any]:
    lines = sorted(order.lines.all(), key=lambda line: line.pk)  # prefetched by the selector
    return {
        **_order_out(order),
        "lines": [
            {
                "id": line.pk, "product_id": line.product_id, "sku": line.sku, "title": line.title,
                "quantity": line.quantity, "unit_price": line.unit_price, "line_amount": line.line_amount,
            }
            for line in lines
        ],
    }


def _buyer(*, shop: Shop, staff: Staff, store: Store, payload: OrderCreate) -> tuple[Customer | None, bool]:
    """The order's customer by id or by phone, registering an unknown phone when a name is given.

    Returns (customer, registered_now).
    """
    if payload.customer_id is not None:
        return customer_selectors.customer_by_id(shop=shop, customer_id=payload.customer_id), False
    if not payload.phone:
        return None, False
    customer = customer_selectors.customer_by_phone(shop=shop, phone=payload.phone)
    if customer is not None:
        return customer, False
    name = (payload.customer_name or "").strip()
    if not name:
        raise Invalid(_("no customer has this phone; send customer_name to register one"), field="customer_name")
    customer = customer_services.register_customer(
        shop=shop, name=name, phone=payload.phone, registered_by=staff, store=store,
    )
    return customer, True


@orders_router.get("", response=OrderPage, summary="List orders, newest first")
def list_orders(request: HttpRequest, filters: Query[OrderListQuery], page: Query[PageQuery]) -> dict[str, Any]:
    store = store_by_slug(shop=request.shop, slug=filters.store) if filters.store else None
    orders = selectors.list_orders(
        shop=request.shop, customer_id=filters.customer_id, store_id=store.pk if store else None,
        status=filters.status.value if filters.status else None,
    )
    items, info = paginate(orders, page)
    return {**info, "items": [_order_out(order) for order in items]}


@orders_router.get("/{order_id}", response=OrderDetail, summary="One order with its lines")
def get_order(request: HttpRequest, order_id: int = OrderId) -> dict[str, Any]:
    return _order_detail(selectors.order_by_id(shop=request.shop, order_id=order_id))


@orders_router.post(
    "", response={200: OrderCreated, 201: OrderCreated},
    summary="Record an order (201); the same store + external_id again returns the first one (200)",
)
def create_order(request: HttpRequest, payload: OrderCreate) -> Status:
    if payload.customer_id is not None and payload.phone:
        raise Invalid(_("give customer_id or phone, not both"), field="phone")
    shop, staff = request.shop, caller(request)
    data = services.OrderInput(
        external_id=payload.external_id, status=payload.status.value, ordered_at=payload.ordered_at,
        paid_at=payload.paid_at, goods_amount=payload.goods_amount, shipping_amount=payload.shipping_amount,
        discount_amount=payload.discount_amount, paid_amount=payload.paid_amount,
        refunded_amount=payload.refunded_amount, note=payload.note,
        lines=[
            services.LineInput(title=line.title, sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
            for line in payload.lines
        ],
    )
    with transaction.atomic():  # a customer registered for this order goes if the order fails
        store = store_by_slug(shop=shop, slug=payload.store)
        customer, registered = _buyer(shop=shop, staff=staff, store=store, payload=payload)
        order, created = services.record_order(shop=shop, store=store, customer=customer, data=data)
        if registered and not created:
            transaction.set_rollback(True)  # a retry of a recorded order must not leave a new customer
    order = selectors.order_by_id(shop=shop, order_id=order.pk)
    return Status(201 if created else 200, {**_order_detail(order), "created": created})


@orders_router.post("/{order_id}/packed", response=OrderPacked,
                    summary="Mark a paid order packed (shipped); returns proposals for the parcel, once")
def mark_packed(request: HttpRequest, order_id: int = OrderId) -> dict[str, Any]:
    order, proposals = services.mark_packed(shop=request.shop, order_id=order_id)
    return {**_order_detail(selectors.order_by_id(shop=request.shop, order_id=order.pk)), "proposals": proposals}


def _product_out(product: Product) -> dict[str, Any]:
    return {
        "id": product.pk, "sku": product.sku, "title": product.title, "category": product.category,
        "price": product.price, "cost": product.cost, "role": product.role, "is_active": product.is_active,
    }


@products_router.get("", response=ProductPage, summary="List products by SKU")
def list_products(request: HttpRequest, filters: Query[ProductListQuery], page: Query[PageQuery]) -> dict[str, Any]:
    products = selectors.list_products(
        shop=request.shop, query=filters.q.strip(), role=filters.role.value if filters.role else None,
    )
    items, info = paginate(products, page)
    return {**info, "items": [_product_out(product) for product in items]}


@products_router.get("/{product_id}", response=ProductOut, summary="One product")
def get_product(request: HttpRequest, product_id: int = ProductId) -> dict[str, Any]:
    return _product_out(selectors.product_by_id(shop=request.shop, product_id=product_id))


@products_router.post("", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, payload: ProductIn) -> Status:
    product = services.create_product(
        shop=request.shop, sku=payload.sku, title=payload.title, price=payload.price, cost=payload.cost,
        role=payload.role.value, category=payload.category,
    )
    return Status(201, _product_out(product))


def _import_out(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.pk, "status": import_selectors.display_status(run), "store": run.store.slug, "format": run.format,
        "file_name": run.file_name, "file_sha256": run.file_sha256, "file_size": run.file_size,
        "dry_run": run.dry_run, "skip_invalid": run.skip_invalid, "counts": run.counts or {},
        "problems_count": run.problems_count, "message": run.message,
        "created_by": run.created_by.display_name if run.created_by else None,
        "created_at": run.created_at, "finished_at": run.finished_at,
    }


def _import_detail(run: ImportRun) -> dict[str, Any]:
    return {**_import_out(run), "problems": run.problems or [], "progress": import_selectors.progress_of(run)}


@imports_router.get("", response=ImportPage, summary="List import runs, newest first (owners and managers)")
def list_imports(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    import_selectors.require_importer(caller(request))
    runs = import_selectors.import_runs(shop=request.shop)
    items, info = paginate(runs, page)
    return {**info, "items": [_import_out(run) for run in items]}


@imports_router.get("/{run_id}", response=ImportDetail, summary="One import run: status, counts, problems, progress")
def get_import(request: HttpRequest, run_id: int = ImportId) -> dict[str, Any]:
    import_selectors.require_importer(caller(request))
    return _import_detail(import_selectors.import_by_id(shop=request.shop, run_id=run_id))


@imports_router.post(
    "", response={202: ImportDetail},
    summary="Upload an export file (multipart) and queue its import (202); poll GET /imports/{id} for the outcome",
)
def create_import(
    request: HttpRequest, file: File[UploadedFile], store: Form[str], format: Form[str],  # noqa: A002 - the field's name
    dry_run: Form[bool] = False, skip_invalid: Form[bool] = False,
) -> Status:
    staff = caller(request)
    import_selectors.require_importer(staff)
    run = queue_upload(
        shop=request.shop, store=store_by_slug(shop=request.shop, slug=store), fmt=format, upload=file,
        file_name=file.name or "", staff=staff, dry_run=dry_run, skip_invalid=skip_invalid,
    )
    return Status(202, _import_detail(import_selectors.import_by_id(shop=request.shop, run_id=run.pk)))
