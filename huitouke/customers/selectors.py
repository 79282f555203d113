"""Reads on the customer archive; every function takes the shop."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.core.prepared import Prepared
from huitouke.customers import completeness
from huitouke.customers.extensions import export_sections_for
from huitouke.customers.models import Channel, Consent, Customer, CustomerPhone, CustomerTag, PlatformIdentity
from huitouke.customers.phones import parse_phone

_DIGITS = re.compile(r"^\d{3,11}$")
_FEW_MATCHES = 500


def customer_by_id(*, shop: Shop, customer_id: int) -> Customer:
    """The shop's customer, or NotFound (also for another shop's id: existence must not leak)."""
    customer = (
        Customer.objects.for_shop(shop).select_related("registered_by", "registered_store", "referred_by")
        .filter(pk=customer_id).first()
    )
    if customer is None:
        raise NotFound(_("no customer %(id)s"), field="customer", params={"id": customer_id})
    return customer


def merged_into_of(*, shop: Shop, customer_id: int) -> int | None:
    """The live customer a merged-away record now lives in (following later merges), or None when the
    id is a live customer or not the shop's."""
    current, seen = customer_id, {customer_id}
    while True:
        target = (
            Customer.objects.including_merged(shop).filter(pk=current).values_list("merged_into_id", flat=True).first()
        )
        if target is None or target in seen:
            return None if current == customer_id else current
        current = target
        seen.add(current)


def customer_by_phone(*, shop: Shop, phone: str) -> Customer | None:
    """The shop's customer with this full phone (matched in E.164), or None; a masked phone is Invalid."""
    parsed = parse_phone(phone)
    if parsed.e164 is None:
        raise Invalid(_("a masked phone cannot identify a customer; send the full number"), field="phone")
    row = CustomerPhone.objects.for_shop(shop).select_related("customer").filter(e164=parsed.e164).first()
    return row.customer if row else None


def customers_with_tag(*, shop: Shop, tag_name: str) -> QuerySet[Customer]:
    """The shop's customers carrying the tag, by hand or by rule: an audience (erased customers left out)."""
    return Customer.objects.for_shop(shop).filter(
        erased_at__isnull=True, customer_tags__shop=shop, customer_tags__tag__name=tag_name
    )


def auto_tag_counts(*, shop: Shop) -> dict[str, int]:
    """Customers carrying each rule-made tag now, by tag name (one aggregate query)."""
    rows = (
        CustomerTag.objects.for_shop(shop).filter(source=CustomerTag.Source.AUTO)
        .values("tag__name").order_by("tag__name").annotate(n=Count("id"))
    )
    return {row["tag__name"]: row["n"] for row in rows}


def search_customers(*, shop: Shop, query: str = "", order: str = "recent", tag: str = "") -> QuerySet[Customer]:
    """Search by name, phone tail (3–11 digits) or platform nickname, optionally within a tag; newest buyers first."""
    qs = customers_with_tag(shop=shop, tag_name=tag) if tag else Customer.objects.for_shop(shop).filter(
        erased_at__isnull=True
    )
    query = (query or "").strip()
    if query:
        qs = qs.filter(_search_match(shop, query))
    ordering = {
        "recent": ["-last_purchase_at", "-id"],
        "spend": ["-net_spend", "-id"],
        "registered": ["-registered_at", "-id"],
        "completeness": ["-completeness", "-id"],
    }.get(order, ["-last_purchase_at", "-id"])
    primary_phone = Prefetch("phones", queryset=CustomerPhone.objects.order_by("-is_primary", "id"))
    return qs.order_by(*ordering).prefetch_related(primary_phone)


def _search_match(shop: Shop, query: str) -> Q:
    """Customers whose name, platform nickname or phone tail matches: one id set (UNION) from narrow scans.

    Why an id set and not ``name LIKE … OR id IN (…)``: the OR forces a scan of the wide customer rows,
    while each arm alone is a scan of a narrow covering index (``customer_name`` for names, the unique
    ``(shop, platform, handle)`` key for nicknames), about a fifth of the pages.
    """
    matching = _matching_ids(shop, query)
    few = list(matching[: _FEW_MATCHES + 1])
    if len(few) <= _FEW_MATCHES:
        # A short list of ids lets the database fetch those rows by key and sort them; given the subquery
        # instead, SQLite walks the whole shop in recency order looking for them.
        return Q(pk__in=few)
    # Many matches: walking in recency order finds a page of them quickly.
    return Q(pk__in=matching)


def _matching_ids(shop: Shop, query: str) -> QuerySet:
    by_nickname = PlatformIdentity.objects.for_shop(shop).filter(
        # The inner id scan reads only the covering unique index; customer_id is fetched for the hits.
        pk__in=PlatformIdentity.objects.for_shop(shop).filter(handle__icontains=query).values("pk")
    ).values_list("customer_id", flat=True)
    if not _DIGITS.match(query):
        # A name has no digits, so digits skip the name scan.
        by_name = Customer.objects.including_merged(shop).filter(name__icontains=query).values_list("pk", flat=True)
        return by_nickname.union(by_name, all=True)
    phones = CustomerPhone.objects.for_shop(shop)
    if len(query) == 4:
        phones = phones.filter(tail4=query)  # exact: uses the (shop, tail4) index
    elif len(query) < 4:
        phones = phones.filter(tail4__endswith=query)
    else:
        phones = phones.filter(Q(e164__endswith=query) | Q(masked__endswith=query))
    return by_nickname.union(phones.values_list("customer_id", flat=True), all=True)


# Read before every message queued (a till's purchase notice among them): compiled once (core.prepared).
_CONSENTS = Prepared(lambda shop_id, customer_id: Consent.objects.filter(
    shop_id=shop_id, customer_id=customer_id).order_by("-at", "-id"))


def current_consents(*, shop: Shop, customer: Customer) -> dict[str, Consent | None]:
    """The consent in force per channel (newest entry), None where never asked."""
    latest: dict[str, Consent | None] = {channel: None for channel in Channel.values}
    for consent in _CONSENTS.all(shop_id=shop.pk, customer_id=customer.pk):
        if latest.get(consent.channel) is None:
            latest[consent.channel] = consent
    return latest


def may_contact(*, shop: Shop, customer: Customer, channel: str) -> bool:
    if customer.do_not_contact or customer.is_erased:
        return False
    consent = current_consents(shop=shop, customer=customer).get(channel)
    return bool(consent and consent.granted)


def completeness_of(customer: Customer) -> completeness.Completeness:
    facts = completeness.known_facts(
        customer,
        has_phone=customer.phones.exists(),
        has_email=customer.emails.exists(),
        has_address=customer.addresses.exists(),
        has_consent=customer.consents.exists(),
    )
    return completeness.score(facts)


def tag_names(*, shop: Shop, customer: Customer, source: str | None = None) -> list[str]:
    """The customer's tags, sorted; `source` keeps only hand-made ("manual") or rule-made ("auto") ones."""
    tags = customer.customer_tags.filter(shop=shop)
    if source is not None:
        tags = tags.filter(source=source)
    return sorted(tags.values_list("tag__name", flat=True))


def customer_export_data(*, shop: Shop, customer: Customer) -> dict[str, Any]:
    from huitouke.customers.services import PROFILE_FIELDS

    profile = {name: getattr(customer, name) for name in PROFILE_FIELDS}
    return {
        "id": customer.pk,
        "shop": shop.slug,
        "profile": profile,
        "registered_at": customer.registered_at.isoformat(),
        "registered_by": customer.registered_by.display_name if customer.registered_by else None,
        "do_not_contact": customer.do_not_contact,
        "phones": [p.e164 or p.masked for p in customer.phones.all()],
        "emails": [e.email for e in customer.emails.all()],
        "addresses": [
            {"recipient": a.recipient, "region": a.region, "detail": a.detail, "postcode": a.postcode}
            for a in customer.addresses.all()
        ],
        "identities": [{"platform": i.platform, "handle": i.handle} for i in customer.identities.all()],
        "consents": [
            {"channel": c.channel, "granted": c.granted, "at": c.at.isoformat(), "source": c.source}
            for c in customer.consents.all()
        ],
        "tags": tag_names(shop=shop, customer=customer),
        **export_sections_for(shop=shop, customer=customer),
    }
