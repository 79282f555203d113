"""Refund reasons (per order line or whole order), mapped from a platform's reason text where given.

Units counted for the quality-OK rate (selectors.product_quality): a line reason counts `units` if given,
else round(amount ÷ unit price) when an amount is given (a partial refund of some pieces), else the line's
whole quantity; always clamped to 1..quantity. An order reason counts every line of the order, each with
round(quantity × refunded share of the order) (half up, at least 1), the refunded share being the order's
refunded amount ÷ paid amount (1 when nothing was paid or recorded).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.orders.extensions import ImportedRefundReason
from huitouke.orders.models import Order, OrderLine
from huitouke.quality.models import RefundReason, RefundReasonCode

# Platform refund-reason texts (Taobao/Tmall/JD/Pinduoduo wording) → our codes; first match wins, so size comes
# before "not as described" (尺码与描述不符 is a size problem) and before "changed mind" (尺码拍错 too).
# Documented for shop owners in docs/import-formats.md; any other text is "other", its wording kept.
PLATFORM_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (RefundReasonCode.SIZE, ("尺码", "尺寸", "大小", "偏大", "偏小", "size")),
    (RefundReasonCode.NOT_AS_DESCRIBED, ("描述不符", "与描述", "色差", "不符", "假货", "not as described")),
    (RefundReasonCode.QUALITY, ("质量", "破洞", "开线", "瑕疵", "做工", "起球", "掉色", "quality", "defect")),
    (RefundReasonCode.LOGISTICS, ("物流", "快递", "未收到", "没收到", "少件", "破损", "发错", "延迟发货",
                                  "shipping", "delivery")),
    (RefundReasonCode.CHANGED_MIND, ("不想要", "不喜欢", "拍错", "多拍", "七天无理由", "7天无理由", "无理由",
                                     "changed mind")),
)


def code_from_platform_text(text: str) -> str:
    lowered = text.lower()
    for code, words in PLATFORM_KEYWORDS:
        if any(word in lowered for word in words):
            return code
    return RefundReasonCode.OTHER


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_units(*, line: OrderLine, units: int | None, amount: Decimal | None) -> int:
    """Units a line reason counts (module doc)."""
    if units is None and amount is not None and line.unit_price:
        units = _half_up(amount / line.unit_price)
    if units is None:
        units = line.quantity
    return max(1, min(line.quantity, units)) if line.quantity else 0


def order_share(order: Order) -> Decimal:
    if order.paid_amount and order.refunded_amount:
        return min(Decimal(1), order.refunded_amount / order.paid_amount)
    return Decimal(1)


def order_line_units(*, line: OrderLine, share: Decimal) -> int:
    return max(1, _half_up(line.quantity * share)) if line.quantity else 0


@transaction.atomic
def set_refund_reason(
    *, shop: Shop, order: Order, line_id: int | None = None, code: str | None = None, platform_text: str = "",
    units: int | None = None, amount: Decimal | None = None, comment: str = "", staff: Staff | None = None,
    source: str = RefundReason.Source.STAFF,
) -> RefundReason:
    """Set (or replace) the reason for a refunded line or order; without a code, map the platform text.
    A line's reason removes the whole-order reason an import recorded (it was a guess for every line)."""
    if order.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such order"), field="order")
    line = None
    if line_id is not None:
        line = OrderLine.objects.filter(shop=shop, order=order, pk=line_id).first()
        if line is None:
            raise NotFound(gettext_lazy("the order has no such line"), field="line")
    if code is None:
        if not platform_text.strip():
            raise Invalid(gettext_lazy("give a reason code or the platform's reason text"), field="code")
        code = code_from_platform_text(platform_text)
    if code not in RefundReasonCode.values:
        raise Invalid(gettext_lazy("unknown reason %(code)r; one of %(choices)s"), field="code",
                      params={"code": code, "choices": ", ".join(RefundReasonCode.values)})
    if units is not None and (units < 1 or (line is not None and units > line.quantity)):
        raise Invalid(gettext_lazy("units refunded must be between 1 and the line's quantity"), field="units")
    if units is not None and line is None:
        raise Invalid(gettext_lazy("units are given per order line"), field="units")
    if amount is not None and amount <= 0:
        raise Invalid(gettext_lazy("the refunded amount must be positive"), field="amount")
    if line is not None:
        # staff's per-line reason replaces the whole-order guess an import made from the platform's text
        RefundReason.objects.filter(shop=shop, order=order, line__isnull=True,
                                    source=RefundReason.Source.IMPORT).delete()
    reason, _ = RefundReason.objects.update_or_create(
        shop=shop, order=order, line=line,
        defaults={"code": code, "units": units, "amount": amount, "platform_text": platform_text[:200],
                  "comment": comment[:300], "source": source, "recorded_by": staff,
                  "recorded_at": timezone.now()},
    )
    return reason


def import_platform_reasons(*, shop: Shop, reasons: Sequence[ImportedRefundReason]) -> None:
    """Record the refund reasons an order import read (orders.extensions listener, in the import's transaction).

    One whole-order reason per order, its code mapped from the platform's text. A re-import changes nothing
    unless the text changed; a reason staff or the API gave (or per-line reasons) is never overwritten.
    """
    by_order = {reason.order_id: reason for reason in reasons}
    on_file = RefundReason.objects.filter(shop=shop, order_id__in=list(by_order))
    imported = {row.order_id: row for row in on_file if row.line_id is None and row.source == RefundReason.Source.IMPORT}
    kept = {row.order_id for row in on_file if row.order_id not in imported}
    now = timezone.now()
    fresh, changed = [], []
    for order_id, reason in by_order.items():
        if order_id in kept:
            continue
        code = code_from_platform_text(reason.text)
        row = imported.get(order_id)
        if row is None:
            fresh.append(RefundReason(shop=shop, order_id=order_id, code=code, platform_text=reason.text[:200],
                                      source=RefundReason.Source.IMPORT, recorded_at=now))
        elif row.platform_text != reason.text[:200] or row.code != code:
            row.code, row.platform_text, row.recorded_at = code, reason.text[:200], now
            changed.append(row)
    RefundReason.objects.bulk_create(fresh)
    RefundReason.objects.bulk_update(changed, ["code", "platform_text", "recorded_at"])


def order_by_number(*, shop: Shop, external_id: str, store_id: int | None = None) -> Order:
    orders = Order.objects.for_shop(shop).filter(external_id=external_id)
    if store_id is not None:
        orders = orders.filter(store_id=store_id)
    found = list(orders[:2])
    if not found:
        raise NotFound(gettext_lazy("no order %(external_id)r"), field="order",
                       params={"external_id": external_id})
    if len(found) > 1:
        raise Invalid(gettext_lazy("that order number exists in several stores: give the store"), field="store")
    return found[0]
