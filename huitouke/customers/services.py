"""Writes on the customer archive. Each function is one business action in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import datetime_adapter, insert_pairs, read_columns, update_rows
from huitouke.core.errors import Conflict, Forbidden, Invalid, NotFound
from huitouke.core.idsets import distinct, member
from huitouke.core.models import AccessLog, Platform, Role, Shop, Staff, Store, log_access
from huitouke.customers import completeness
from huitouke.customers.models import (
    Address,
    Calendar,
    Channel,
    Consent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Gender,
    PlatformIdentity,
    Tag,
)
from huitouke.customers.phones import parse_phone

HARD_PROFILE_FIELDS = (
    "name", "gender", "birthday_calendar", "birth_year", "birth_month", "birth_day", "birth_leap_month",
    "approx_age", "ethnicity", "clothing_size",
)
SOFT_PROFILE_FIELDS = (
    "occupation", "family", "personality", "shopping_habits", "style_preferences", "hobbies",
    "lifestyle", "preferred_channel", "values", "notes",
)
PROFILE_FIELDS = HARD_PROFILE_FIELDS + SOFT_PROFILE_FIELDS
_CHOICES = {
    "gender": Gender.values, "birthday_calendar": Calendar.values,
    "preferred_channel": ["", *Channel.values],  # blank: no preference (the field is optional)
}


def _validated_profile(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise Invalid(_("unknown profile field(s): %(fields)s"), params={"fields": ", ".join(sorted(unknown))},
                      field=sorted(unknown)[0])
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if name in _CHOICES and value not in _CHOICES[name]:
            raise Invalid(_("%(field)s must be one of: %(choices)s"), field=name, params={
                "field": name, "choices": ", ".join(v or "(empty)" for v in _CHOICES[name])})
        if name == "name" and not value:
            raise Invalid(_("name is required"), field="name")
        max_length = Customer._meta.get_field(name).max_length
        if max_length and isinstance(value, str) and len(value) > max_length:
            raise Invalid(_("%(field)s is longer than %(max)s characters"), field=name,
                          params={"field": name, "max": max_length})
        clean[name] = value
    return clean


def _check_birthday(customer: Customer) -> None:
    month, day = customer.birth_month, customer.birth_day
    if (month is None) != (day is None):
        raise Invalid(_("give both birth month and day, or neither"), field="birth_month")
    if month is None:
        return
    if not 1 <= month <= 12:
        raise Invalid(_("birth month must be 1–12"), field="birth_month")
    last_day = 30 if customer.birthday_calendar == Calendar.LUNAR else 31
    if not 1 <= day <= last_day:
        raise Invalid(_("birth day must be 1–%(last)s"), field="birth_day", params={"last": last_day})
    if customer.birthday_calendar == Calendar.SOLAR:
        try:
            dt.date(customer.birth_year or 2000, month, day)  # 2000 is a leap year: 29 Feb allowed
        except ValueError as exc:
            raise Invalid(_("%(month)s/%(day)s is not a date"), field="birth_day", params={"month": month, "day": day}) from exc
    if customer.birth_year is not None and not 1900 <= customer.birth_year <= timezone.now().year:
        raise Invalid(_("birth year is out of range"), field="birth_year")


def refresh_completeness(customer: Customer) -> int:
    from huitouke.customers.selectors import completeness_of

    customer.completeness = completeness_of(customer).score
    Customer.objects.filter(pk=customer.pk).update(completeness=customer.completeness)
    return customer.completeness


def refresh_completeness_of(customers: Sequence[Customer]) -> None:
    """`refresh_completeness` for many customers at once (a batch of merges): five queries in all instead of
    five per customer."""
    if not customers:
        return
    ids = [customer.pk for customer in customers]
    (shop_id,) = {customer.shop_id for customer in customers}  # one shop's customers (every query is shop-scoped)
    has = {
        name: set(model.objects.filter(shop_id=shop_id, customer_id__in=ids).values_list("customer_id", flat=True)
                  .distinct())
        for name, model in (("phone", CustomerPhone), ("email", CustomerEmail), ("address", Address),
                            ("consent", Consent))
    }
    for customer in customers:
        customer.completeness = completeness.score(completeness.known_facts(
            customer, **{f"has_{name}": customer.pk in owners for name, owners in has.items()})).score
    # by primary key, one statement run per customer: bulk_update's CASE over 500 ids is a statement compiled
    # anew for every batch
    update_rows(Customer, ["completeness"], [(customer.completeness, customer.pk) for customer in customers])


@transaction.atomic
def register_customer(
    *, shop: Shop, name: str, phone: str, registered_by: Staff | None = None, store: Store | None = None,
    profile: Mapping[str, Any] | None = None, registered_at: dt.datetime | None = None,
) -> Customer:
    """Registration needs only a name and a full phone number; everything else is learned later."""
    parsed = parse_phone(phone)
    if parsed.e164 is None:
        raise Invalid(_("a masked phone cannot register a customer; ask for the full number"), field="phone")
    if CustomerPhone.objects.for_shop(shop).filter(e164=parsed.e164).exists():
        raise Conflict(_("a customer with phone %(phone)s already exists"), field="phone", params={"phone": parsed.masked})
    fields = _validated_profile({"name": name, **(profile or {})})
    customer = Customer(shop=shop, registered_by=registered_by, registered_store=store, **fields)
    if registered_at:
        customer.registered_at = registered_at
    _check_birthday(customer)
    customer.save()
    CustomerPhone.objects.create(
        shop=shop, customer=customer, e164=parsed.e164, masked=parsed.masked, tail4=parsed.tail4, is_primary=True
    )
    refresh_completeness(customer)
    return customer


@transaction.atomic
def update_profile(*, shop: Shop, customer: Customer, changes: Mapping[str, Any]) -> Customer:
    """Change hard and/or soft profile fields; other fields are refused by name."""
    _ensure_same_shop(shop, customer)
    _ensure_not_erased(customer)
    clean = _validated_profile(changes)
    for name, value in clean.items():
        setattr(customer, name, value)
    _check_birthday(customer)
    customer.save(update_fields=[*clean.keys()] or None)
    refresh_completeness(customer)
    return customer


@transaction.atomic
def add_phone(*, shop: Shop, customer: Customer, phone: str) -> CustomerPhone:
    _ensure_same_shop(shop, customer)
    parsed = parse_phone(phone)
    if parsed.e164:
        owner = CustomerPhone.objects.for_shop(shop).filter(e164=parsed.e164).first()
        if owner is not None:
            if owner.customer_id == customer.pk:
                return owner
            raise Conflict(_("phone %(phone)s belongs to another customer"), field="phone",
                           params={"phone": parsed.masked})
    elif customer.phones.filter(masked=parsed.masked).exists():
        return customer.phones.get(masked=parsed.masked)
    row = CustomerPhone.objects.create(
        shop=shop, customer=customer, e164=parsed.e164, masked=parsed.masked, tail4=parsed.tail4,
        is_primary=not customer.phones.exists(),
    )
    refresh_completeness(customer)
    return row


@transaction.atomic
def add_email(*, shop: Shop, customer: Customer, email: str) -> CustomerEmail:
    _ensure_same_shop(shop, customer)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise Invalid(_("'%(email)s' is not an e-mail address"), field="email", params={"email": email}) from exc
    owner = CustomerEmail.objects.for_shop(shop).filter(email=email).first()
    if owner is not None:
        if owner.customer_id == customer.pk:
            return owner
        raise Conflict(_("this e-mail belongs to another customer"), field="email")
    row = CustomerEmail.objects.create(shop=shop, customer=customer, email=email)
    refresh_completeness(customer)
    return row


@transaction.atomic
def add_address(
    *, shop: Shop, customer: Customer, detail: str, region: str = "", recipient: str = "", postcode: str = ""
) -> Address:
    _ensure_same_shop(shop, customer)
    detail = (detail or "").strip()
    if not detail:
        raise Invalid(_("address is empty"), field="address")
    existing = customer.addresses.filter(region=region.strip(), detail=detail).first()
    if existing:
        return existing
    row = Address.objects.create(
        shop=shop, customer=customer, detail=detail[:300], region=region.strip()[:100],
        recipient=recipient.strip()[:100], postcode=postcode.strip()[:10], is_default=not customer.addresses.exists(),
    )
    refresh_completeness(customer)
    return row


@transaction.atomic
def add_identity(*, shop: Shop, customer: Customer, platform: str, handle: str) -> PlatformIdentity:
    _ensure_same_shop(shop, customer)
    handle = (handle or "").strip()
    if platform not in Platform.values:
        raise Invalid(_("unknown platform '%(platform)s'"), field="platform", params={"platform": platform})
    if not handle:
        raise Invalid(_("buyer nickname is empty"), field="handle")
    owner = PlatformIdentity.objects.for_shop(shop).filter(platform=platform, handle=handle).first()
    if owner is not None:
        if owner.customer_id == customer.pk:
            return owner
        raise Conflict(_("%(platform)s:%(handle)s belongs to another customer"), field="handle",
                       params={"platform": platform, "handle": handle})
    return PlatformIdentity.objects.create(shop=shop, customer=customer, platform=platform, handle=handle)


@transaction.atomic
def record_consent(
    *, shop: Shop, customer: Customer, channel: str, granted: bool, source: str,
    recorded_by: Staff | None = None, at: dt.datetime | None = None,
) -> Consent:
    """Append a consent decision; the newest one per channel is in force."""
    _ensure_same_shop(shop, customer)
    _ensure_not_erased(customer)
    if channel not in Channel.values:
        raise Invalid(_("unknown channel '%(channel)s'; use one of %(choices)s"), field="channel",
                      params={"channel": channel, "choices": ", ".join(Channel.values)})
    if not (source or "").strip():
        raise Invalid(_("say where the consent came from (source)"), field="source")
    row = Consent.objects.create(
        shop=shop, customer=customer, channel=channel, granted=granted, source=source.strip()[:100],
        recorded_by=recorded_by, at=at or timezone.now(),
    )
    refresh_completeness(customer)
    return row


@transaction.atomic
def set_referrer(
    *, shop: Shop, customer: Customer, referrer_id: int | None, now: dt.datetime | None = None,
) -> Customer:
    """Record who referred her (a customer of the same shop), or clear it with None. Setting a new referrer
    stamps `referred_at`, which the referral rule reads; setting the same one again changes nothing."""
    _ensure_same_shop(shop, customer)
    _ensure_not_erased(customer)
    if referrer_id == customer.referred_by_id:
        return customer
    if referrer_id is None:
        customer.referred_by, customer.referred_at = None, None
    else:
        referrer = Customer.objects.for_shop(shop).filter(pk=referrer_id).first()
        if referrer is None:
            raise NotFound(_("no such customer in this shop"), field="referred_by")
        if referrer.pk == customer.pk:
            raise Invalid(_("a customer cannot refer herself"), field="referred_by")
        if referrer.referred_by_id == customer.pk:
            raise Invalid(_("%(id)s was referred by this customer: a referral cannot go both ways"),
                          field="referred_by", params={"id": referrer.pk})
        if referrer.is_erased:
            raise Conflict(_("the referrer's personal data was erased"), field="referred_by")
        customer.referred_by, customer.referred_at = referrer, now or timezone.now()
    customer.save(update_fields=["referred_by", "referred_at"])
    return customer


@transaction.atomic
def set_do_not_contact(*, shop: Shop, customer: Customer, value: bool) -> Customer:
    _ensure_same_shop(shop, customer)
    customer.do_not_contact = value
    customer.save(update_fields=["do_not_contact"])
    return customer


@transaction.atomic
def set_tags(*, shop: Shop, customer: Customer, names: Iterable[str]) -> list[str]:
    """Replace the customer's manual tags (rule-made tags are left to their rules)."""
    _ensure_same_shop(shop, customer)
    _ensure_not_erased(customer)
    wanted = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if len(name) > 50:
            raise Invalid(_("tag '%(tag)s…' is longer than 50 characters"), field="tags", params={"tag": name[:20]})
        if name not in wanted:
            wanted.append(name)
    manual = CustomerTag.objects.for_shop(shop).filter(customer=customer, source=CustomerTag.Source.MANUAL)
    manual.exclude(tag__name__in=wanted).delete()
    have = set(CustomerTag.objects.for_shop(shop).filter(customer=customer).values_list("tag__name", flat=True))
    for name in wanted:
        if name in have:
            continue
        tag, _created = Tag.objects.get_or_create(shop=shop, name=name)
        CustomerTag.objects.create(shop=shop, customer=customer, tag=tag, source=CustomerTag.Source.MANUAL)
    return sorted(CustomerTag.objects.for_shop(shop).filter(customer=customer).values_list("tag__name", flat=True))


TAG_DELETE_CHUNK = 10_000  # ids per DELETE: SQLite allows 32,766 parameters per statement


@transaction.atomic
def replace_auto_tags(*, shop: Shop, wanted: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """Make the shop's rule-made tags (source "auto") exactly `wanted` (tag name → customer ids); (removed, added).

    Set-based for whole shops: one read of the shop's tag rows, the differences in numpy, deletes and
    inserts in bulk. Hand-made tags are never touched, and a customer who carries a tag by hand does not
    get it again by rule.
    """
    tag_ids = _tag_ids(shop, sorted(wanted))
    empty = [np.zeros(0, dtype=np.int64)]
    customer = np.concatenate([np.asarray(ids, dtype=np.int64) for ids in wanted.values()] + empty)
    tag = np.concatenate([np.full(len(ids), tag_ids[name], dtype=np.int64) for name, ids in wanted.items()] + empty)
    quote = connection.ops.quote_name
    ids, have_customer, have_tag, is_auto = read_columns(
        f"SELECT {quote('id')}, {quote('customer_id')}, {quote('tag_id')}, "
        f"CASE WHEN {quote('source')} = %s THEN 1 ELSE 0 END "
        f"FROM {quote(CustomerTag._meta.db_table)} WHERE {quote('shop_id')} = %s",
        [CustomerTag.Source.AUTO.value, shop.pk], 4,
    )
    width = max(int(tag.max(initial=0)), int(have_tag.max(initial=0))) + 1  # key = customer · width + tag
    want_key = distinct(customer * width + tag)
    have_key = have_customer * width + have_tag
    stale = ids[is_auto.astype(bool) & ~member(have_key, want_key)]
    for start in range(0, stale.size, TAG_DELETE_CHUNK):
        CustomerTag.objects.filter(shop=shop, pk__in=stale[start:start + TAG_DELETE_CHUNK].tolist()).delete()
    new = want_key[~member(want_key, np.sort(have_key))]
    insert_pairs(CustomerTag, fields=("customer", "tag"), keys=new, width=width, constant={
        "shop": shop.pk, "source": CustomerTag.Source.AUTO.value, "created_at": datetime_adapter()(timezone.now()),
    })
    return int(stale.size), int(new.size)


def _tag_ids(shop: Shop, names: list[str]) -> dict[str, int]:
    """Tag id per name, creating the missing tags."""
    Tag.objects.bulk_create([Tag(shop=shop, name=name) for name in names], ignore_conflicts=True)
    return dict(Tag.objects.for_shop(shop).filter(name__in=names).values_list("name", "id"))


PURCHASE_STAT_FIELDS = (
    "orders_count", "items_count", "purchase_days", "net_spend", "first_purchase_at", "last_purchase_at",
)
STATS_CHUNK = 10_000  # ids per UPDATE: SQLite allows 32,766 parameters per statement


def update_purchase_stats(
    *, shop: Shop, customer_ids: Iterable[int] | None, figures: tuple[str, Sequence[Any]],
) -> int:
    """Store purchase figures computed by the orders app, in the database, for these customers (all the
    shop's when None; merged records too: they drop to zero with their orders gone).

    `figures` is an SQL row subquery (and its parameters) giving PURCHASE_STAT_FIELDS in that order for
    the customer row it is correlated to: `SET (…) = (SELECT …)` computes them in one pass per customer.
    """
    select, params = figures
    quote = connection.ops.quote_name
    meta = Customer._meta
    columns = ", ".join(quote(meta.get_field(name).column) for name in PURCHASE_STAT_FIELDS)
    head = (f"UPDATE {quote(meta.db_table)} SET ({columns}) = ({select}) "
            f"WHERE {quote(meta.get_field('shop').column)} = %s")
    with connection.cursor() as cursor:
        if customer_ids is None:
            cursor.execute(head, [*params, shop.pk])
            return cursor.rowcount
        ids, changed = sorted(set(customer_ids)), 0
        for start in range(0, len(ids), STATS_CHUNK):
            part = ids[start:start + STATS_CHUNK]
            cursor.execute(f"{head} AND {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(part))})",
                           [*params, shop.pk, *part])
            changed += cursor.rowcount
        return changed


def _require_pii_role(staff: Staff | None, what: str, field: str | None = None) -> None:
    """Full personal data is for owners and managers; `staff=None` is the shell operator (CLI)."""
    if staff is not None and not staff.can_view_pii:
        raise Forbidden(_("only owners and managers may %(what)s"), field=field, params={"what": what})


def record_reveal(*, shop: Shop, staff: Staff | None, actor: str, customer: Customer) -> None:
    _ensure_same_shop(shop, customer)
    _require_pii_role(staff, _("reveal full personal data"), field="reveal")
    log_access(shop=shop, staff=staff, actor=actor, action=AccessLog.Action.REVEAL, obj=customer)


def export_customer(*, shop: Shop, customer: Customer, staff: Staff | None, actor: str) -> dict[str, Any]:
    """Everything we hold about the customer, as JSON-ready data (a data-subject request). Logged."""
    from huitouke.customers.selectors import customer_export_data

    _ensure_same_shop(shop, customer)
    _require_pii_role(staff, _("export a customer's personal data"))
    data = customer_export_data(shop=shop, customer=customer)
    log_access(shop=shop, staff=staff, actor=actor, action=AccessLog.Action.EXPORT, obj=customer)
    return data


@transaction.atomic
def erase_customer(*, shop: Shop, customer: Customer, staff: Staff | None, actor: str) -> Customer:
    """Anonymise on request: personal data goes, order figures stay (so shop totals do not change)."""
    _ensure_same_shop(shop, customer)
    if staff is not None and staff.role != Role.OWNER:
        raise Forbidden(_("only the shop owner may erase a customer's personal data"))
    if customer.is_erased:
        return customer
    for model in (CustomerPhone, CustomerEmail, PlatformIdentity, Address, CustomerTag):
        model.objects.for_shop(shop).filter(customer=customer).delete()
    Consent.objects.for_shop(shop).filter(customer=customer).delete()
    blank = {name: Customer._meta.get_field(name).get_default() for name in PROFILE_FIELDS if name != "name"}
    for name, value in blank.items():
        setattr(customer, name, value)
    customer.name = f"已删除#{customer.pk}"
    customer.do_not_contact = True
    customer.erased_at = timezone.now()
    customer.completeness = 0
    # Only personal fields: the purchase figures may be newer in the database than in memory.
    customer.save(update_fields=[*PROFILE_FIELDS, "do_not_contact", "erased_at", "completeness"])
    log_access(shop=shop, staff=staff, actor=actor, action=AccessLog.Action.ERASE, obj=customer)
    return customer


def _ensure_same_shop(shop: Shop, customer: Customer) -> None:
    if customer.shop_id != shop.pk:  # defence in depth: selectors already scope by shop
        from huitouke.core.errors import NotFound

        raise NotFound(_("no such customer"))


def _ensure_not_erased(customer: Customer) -> None:
    if customer.is_erased:
        raise Conflict(_("this customer's personal data was erased on request"), field="customer")

