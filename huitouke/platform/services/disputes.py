"""Disputes: a merchant contests one line of its statement; the operator decides.

In a dispute the platform's record stands: the statement and the consumption record are never edited. The
operator either rejects the dispute, or settles it by taking some of the line's spend off: the commission
on that spend (at the statement's rate) is credited back as an adjustment entry in the prepaid balance
ledger, where the merchant sees it beside the commission it corrects.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.money import ZERO, money
from huitouke.platform.models import BalanceEntry, Dispute, Merchant, StatementLine
from huitouke.platform.services.balance import append, require_operator
from huitouke.platform.services.common import locked_merchant, moment, own_merchant
from huitouke.platform.services.statements import commission_for

MAX_TEXT = 500


def _text(value: str, field: str, what: str | Promise) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(_("%(what)s is required"), field=field, params={"what": what})
    if len(value) > MAX_TEXT:
        raise Invalid(_("%(what)s is at most %(max_text)s characters"), field=field,
                      params={"what": what, "max_text": MAX_TEXT})
    return value


def raise_dispute(
    *, shop: Shop, merchant: Merchant | int, line: StatementLine | int, reason: str, staff: Staff | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """The merchant disputes a line of one of its own statements (once per line; a retry returns it)."""
    now, reason = moment(now), _text(reason, "reason", _("the reason"))
    merchant = own_merchant(shop, merchant)
    line_id = line.pk if isinstance(line, StatementLine) else line
    found = StatementLine.objects.filter(shop=shop, statement__merchant=merchant, pk=line_id).first()
    if found is None:
        raise NotFound(_("no such line on this merchant's statements"), field="line")
    if found.amount <= ZERO:
        raise Invalid(_("a reversal line cannot be disputed: dispute the record it reverses"), field="line")
    with write_turn(), transaction.atomic():
        existing = Dispute.objects.filter(shop=shop, line=found).first()
        if existing is not None:
            if existing.reason != reason:
                raise Conflict(_("this line is already disputed"), field="line", code="already_disputed")
            return existing
        return Dispute.objects.create(shop=shop, merchant=merchant, line=found, reason=reason, raised_by=staff,
                                      raised_at=now)


def _open_dispute(shop: Shop, dispute: Dispute | int) -> Dispute:
    dispute_id = dispute.pk if isinstance(dispute, Dispute) else dispute
    found = Dispute.objects.select_for_update().filter(shop=shop, pk=dispute_id).first()
    if found is None:
        raise NotFound(_("no such dispute"), field="dispute")
    return found


def reject_dispute(
    *, shop: Shop, dispute: Dispute | int, note: str, staff: Staff | None = None, now: dt.datetime | None = None,
) -> Dispute:
    """The operator rejects the dispute: the platform's record stands (a retry returns it unchanged)."""
    require_operator(shop, staff)
    now, note = moment(now), _text(note, "note", _("a note for the merchant"))
    with write_turn(), transaction.atomic():
        found = _open_dispute(shop, dispute)
        if found.status == Dispute.Status.REJECTED:
            return found
        if found.status != Dispute.Status.OPEN:
            raise Conflict(_("this dispute was already settled"), field="dispute", code="already_resolved")
        found.status, found.note, found.resolved_by, found.resolved_at = Dispute.Status.REJECTED, note, staff, now
        found.save(update_fields=["status", "note", "resolved_by", "resolved_at"])
    return found


def settle_dispute(
    *, shop: Shop, dispute: Dispute | int, spend: Decimal, note: str, staff: Staff | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """The operator takes `spend` (at most the line's amount) off: the commission on it, at the statement's
    rate, is credited to the merchant's balance as an adjustment entry. Settled once; a retry returns it."""
    require_operator(shop, staff)
    now, note = moment(now), _text(note, "note", _("a note for the merchant"))
    spend = money(spend)
    with write_turn(), transaction.atomic():
        found = _open_dispute(shop, dispute)
        if found.status == Dispute.Status.ADJUSTED and found.disputed_spend == spend:
            return found
        if found.status != Dispute.Status.OPEN:
            raise Conflict(_("this dispute was already settled"), field="dispute", code="already_resolved")
        line = StatementLine.objects.select_related("statement").get(pk=found.line_id)
        if not ZERO < spend <= line.amount:
            raise Invalid(_("the spend taken off is above 0 and at most the line's %(amount)s"), field="spend",
                          params={"amount": line.amount})
        credit = commission_for(spend, line.statement.rate)
        if credit == ZERO:
            raise Invalid(_("the commission on this spend rounds to 0.00: reject the dispute instead"),
                          field="spend")
        merchant = locked_merchant(shop, found.merchant_id)
        found.adjustment = append(
            merchant, kind=BalanceEntry.Kind.ADJUSTMENT, amount=credit, key=f"dispute:{found.pk}", at=now,
            staff=staff, statement=line.statement,
            reason=f"dispute #{found.pk}, statement {line.statement.month:%Y-%m} line {line.pk}: {note}"[:300],
        )
        found.status, found.disputed_spend, found.note = Dispute.Status.ADJUSTED, spend, note
        found.resolved_by, found.resolved_at = staff, now
        found.save(update_fields=["status", "disputed_spend", "adjustment", "note", "resolved_by", "resolved_at"])
    return found
