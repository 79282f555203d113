"""Why customers left: a win-back survey answer recorded by an associate or after a miss-you contact."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.customers.models import Customer
from huitouke.quality.models import ChurnReason, ChurnReasonCode


@transaction.atomic
def record_churn_reason(
    *, shop: Shop, customer: Customer, code: str, comment: str = "", staff: Staff | None = None,
) -> ChurnReason:
    if customer.shop_id != shop.pk:
        raise NotFound(_("no such customer"), field="customer")
    if code not in ChurnReasonCode.values:
        raise Invalid(_("unknown reason %(code)r; one of %(choices)s"), field="reason",
                      params={"code": code, "choices": ", ".join(ChurnReasonCode.values)})
    return ChurnReason.objects.create(shop=shop, customer=customer, code=code, comment=comment.strip()[:300],
                                      recorded_by=staff)
