"""Merchants (with their stores and logins), members, group-buys and agreement versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Conflict, Invalid
from huitouke.core.models import MANAGER_ROLES, Role, Shop, Staff
from huitouke.core.pii import mask_phone
from huitouke.customers.models import Customer
from huitouke.customers.phones import parse_phone
from huitouke.customers.selectors import customer_by_phone
from huitouke.customers.services import register_customer
from huitouke.platform.models import (
    Agreement,
    GroupBuy,
    Member,
    Merchant,
    MerchantStaff,
    MerchantStore,
    Method,
)
from huitouke.platform.services.common import moment, own_merchant

NOTICE = dt.timedelta(hours=24)


def _rate(value: Decimal | str, field_name: str, *, low: Decimal = Decimal(0), high: Decimal = Decimal(1)) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(gettext_lazy("%(field_name)s is not a number"), field=field_name,
                      params={"field_name": field_name}) from exc
    if not rate.is_finite() or not low <= rate <= high or rate.as_tuple().exponent < -4:
        raise Invalid(gettext_lazy("%(field_name)s must be between %(low)s and %(high)s with at most 4 decimals"),
                      field=field_name,
                      params={"field_name": field_name, "low": low, "high": high})
    return rate


@dataclass(frozen=True)
class Terms:
    """What an agreement version says; checked before anything is written."""

    discount_rate: Decimal
    methods: tuple[str, ...] = (Method.PHONE, Method.BACKOFFICE, Method.QR)
    excluded_items: tuple[str, ...] = ()
    validity: str = Agreement.Validity.FIXED
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    valid_days: int | None = None
    store_names: tuple[str, ...] = ()  # empty: every store of the merchant
    commission: str = Agreement.Commission.FLAT
    commission_rate: Decimal = Decimal("0.05")
    commission_tiers: tuple[tuple[Decimal, Decimal], ...] = field(default=())
    most_favoured: bool = True

    def checked(self) -> Terms:
        _rate(self.discount_rate, "discount_rate", low=Decimal("0.01"))
        if not self.methods or set(self.methods) - set(Method.values):
            raise Invalid(gettext_lazy("methods must be some of %(choices)s"), field="methods",
                          params={"choices": ", ".join(Method.values)})
        if self.validity == Agreement.Validity.FIXED:
            if not (self.valid_from and self.valid_until) or self.valid_from > self.valid_until:
                raise Invalid(gettext_lazy("fixed validity needs valid_from ≤ valid_until"),
                              field="valid_until")
        elif self.validity == Agreement.Validity.AFTER_GROUP_BUY:
            if not self.valid_days or self.valid_days < 1:
                raise Invalid(gettext_lazy("validity after the group-buy needs valid_days ≥ 1"),
                              field="valid_days")
        else:
            raise Invalid(gettext_lazy("validity must be fixed or after_group_buy"), field="validity")
        if self.commission == Agreement.Commission.FLAT:
            _rate(self.commission_rate, "commission_rate")
        elif self.commission == Agreement.Commission.TIERED:
            thresholds = [Decimal(str(t)) for t, _ in self.commission_tiers]
            if not thresholds or thresholds[0] != 0 or thresholds != sorted(set(thresholds)):
                raise Invalid(gettext_lazy("tiers need ascending, distinct thresholds starting at 0"),
                              field="commission_tiers")
            for _, rate in self.commission_tiers:
                _rate(rate, "commission_tiers")
        else:
            raise Invalid(gettext_lazy("commission must be flat or tiered"), field="commission")
        return self


@transaction.atomic
def create_merchant(*, shop: Shop, name: str, stores: list[str] | tuple[str, ...] = ()) -> Merchant:
    """A merchant with its stores; its deposit and first agreement follow (`balance.sign_merchant`)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(gettext_lazy("a merchant needs a name of 1 to 100 characters"), field="name")
    if Merchant.objects.for_shop(shop).filter(name=name).exists():
        raise Conflict(gettext_lazy("a merchant named %(name)r already exists"), field="name",
                       params={"name": name})
    merchant = Merchant.objects.create(shop=shop, name=name)
    for store in stores:
        add_store(shop=shop, merchant=merchant, name=store)
    return merchant


@transaction.atomic
def add_store(*, shop: Shop, merchant: Merchant, name: str, address: str = "") -> MerchantStore:
    merchant = own_merchant(shop, merchant)
    name = (name or "").strip()
    if not name:
        raise Invalid(gettext_lazy("a store needs a name"), field="name")
    store, _ = MerchantStore.objects.get_or_create(
        shop=shop, merchant=merchant, name=name[:100], defaults={"address": address[:200]}
    )
    return store


@transaction.atomic
def link_login(*, shop: Shop, merchant: Merchant, staff: Staff) -> MerchantStaff:
    """Make a staff account of the operator's shop a login of this merchant (and of no other)."""
    merchant = own_merchant(shop, merchant)
    if staff.shop_id != shop.pk:
        raise Invalid(gettext_lazy("the login belongs to another operator"), field="staff")
    if staff.role in MANAGER_ROLES:
        raise Conflict(gettext_lazy("an owner's or manager's login cannot act for a merchant; create a new login"),
                       field="staff")
    link, created = MerchantStaff.objects.get_or_create(shop=shop, staff=staff, defaults={"merchant": merchant})
    if not created and link.merchant_id != merchant.pk:
        raise Conflict(gettext_lazy("this login already acts for another merchant"), field="staff")
    if staff.role != Role.MERCHANT:  # from now on it reaches its merchant's portal and till only
        staff.role = Role.MERCHANT
        staff.save(update_fields=["role"])
    return link


def customer_of(shop: Shop, member: Member) -> Customer:
    """Her customer record in the operator's archive: linked once, found by phone or registered then.

    Call with the member's row locked, so two first purchases do not both register her."""
    if member.customer_id is not None:
        # The caller's lock query joins her customer; on PostgreSQL a lock that waited for the transaction that
        # linked her re-reads the member row but not the join, so the customer comes back empty: read it.
        return member.customer or Customer.objects.get(pk=member.customer_id)
    customer = customer_by_phone(shop=shop, phone=member.phone_e164) or register_customer(
        shop=shop, name=mask_phone(member.phone_e164), phone=member.phone_e164)
    Member.objects.filter(pk=member.pk).update(customer=customer)
    member.customer = customer
    return customer


@transaction.atomic
def enrol_member(*, shop: Shop, phone: str) -> Member:
    """The platform member with this phone, made at her first group-buy together with her record in the
    operator's customer archive (so the till, which texts her at every purchase, never has to)."""
    parsed = parse_phone(phone)
    if parsed.e164 is None:
        raise Invalid(gettext_lazy("a masked phone cannot identify a member"), field="phone")
    member, _ = Member.objects.get_or_create(shop=shop, phone_e164=parsed.e164)
    if member.customer_id is None:
        member = Member.objects.select_for_update().get(pk=member.pk)
        customer_of(shop, member)
    return member


@transaction.atomic
def record_group_buy(*, shop: Shop, merchant: Merchant, phone: str, day: dt.date, reference: str = "") -> GroupBuy:
    """The member joined a group-buy at the merchant: she is now eligible for its repeat-customer discount."""
    merchant = own_merchant(shop, merchant)
    member = enrol_member(shop=shop, phone=phone)
    group_buy, _ = GroupBuy.objects.get_or_create(
        shop=shop, merchant=merchant, member=member, day=day, defaults={"reference": reference[:100]}
    )
    return group_buy


@transaction.atomic
def submit_agreement(
    *, shop: Shop, merchant: Merchant, terms: Terms, effective_from: dt.datetime | None = None,
    staff: Staff | None = None, now: dt.datetime | None = None,
) -> Agreement:
    """A new version of the terms. The first (signing) may take effect at once; a change takes effect no
    earlier than 24 hours after it was submitted (the notice the agreement promises), by default exactly then."""
    now = moment(now)
    merchant = own_merchant(shop, merchant)
    terms.checked()
    last = Agreement.objects.filter(shop=shop, merchant=merchant).aggregate(v=Max("version"))["v"] or 0
    earliest = now if last == 0 else now + NOTICE
    effective_from = effective_from or earliest
    if effective_from < earliest:
        raise Invalid(
            gettext_lazy("a change takes effect no earlier than 24 hours after it is submitted (%(earliest)s UTC)"),
            field="effective_from", code="notice_period",
            params={"earliest": format(earliest, "%Y-%m-%d %H:%M")},
        )
    stores = []
    for name in terms.store_names:
        store = MerchantStore.objects.filter(shop=shop, merchant=merchant, name=name).first()
        if store is None:
            raise Invalid(gettext_lazy("the merchant has no store %(name)r"), field="stores",
                          params={"name": name})
        stores.append(store)
    agreement = Agreement.objects.create(
        shop=shop, merchant=merchant, version=last + 1, discount_rate=Decimal(str(terms.discount_rate)),
        excluded_items=list(terms.excluded_items), validity=terms.validity, valid_from=terms.valid_from,
        valid_until=terms.valid_until, valid_days=terms.valid_days, methods=list(terms.methods),
        commission=terms.commission, commission_rate=Decimal(str(terms.commission_rate)),
        commission_tiers=[[str(t), str(r)] for t, r in terms.commission_tiers], most_favoured=terms.most_favoured,
        effective_from=effective_from, submitted_at=now, submitted_by=staff,
    )
    agreement.stores.set(stores, through_defaults={"shop": shop})
    return agreement
