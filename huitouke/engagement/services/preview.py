"""Filling a library text for a real customer: 称呼 from her name and gender, 导购 her own associate."""

from __future__ import annotations

from collections.abc import Iterable

from huitouke.core.models import Shop, Staff
from huitouke.customers.models import Customer
from huitouke.engagement import library

NO_ASSOCIATE = "您的导购"


def associate_of(customer: Customer) -> Staff | None:
    """Her own associate: the one who registered her (follow-up ownership arrives with the tasks)."""
    return customer.registered_by


def library_template(*, kind: str, customer: Customer) -> str:
    """A library text for the kind; which one is fixed per customer, so neighbours do not get identical texts."""
    texts = library.LIBRARY[kind]
    return texts[customer.pk % len(texts)]


def preview_text(
    *, shop: Shop, customer: Customer, kind: str, template: str | None = None, occasion: str = "",
) -> str:
    """The text as she would read it (before the SMS signature); `occasion` fills {节日} and {节气}."""
    associate = associate_of(customer)
    values = {
        "称呼": library.salutation(customer.name, customer.gender),
        "店名": shop.name,
        "导购": associate.display_name if associate else NO_ASSOCIATE,
        "节日": occasion,
        "节气": occasion,
    }
    return library.render(template or library_template(kind=kind, customer=customer), values)


def campaign_texts(
    *, shop: Shop, template: str, people: Iterable[tuple[int, str, str, str | None]],
) -> dict[int, str]:
    """`preview_text` of one template for many customers, given as (id, name, gender, associate's name):
    filled once per distinct 称呼 and associate, not once per customer (a campaign reaches a million)."""
    filled: dict[tuple[str, str | None], str] = {}
    texts = {}
    for pk, name, gender, associate in people:
        key = (library.salutation(name, gender), associate)
        if key not in filled:
            filled[key] = library.render(template, {
                "称呼": key[0], "店名": shop.name, "导购": associate or NO_ASSOCIATE, "节日": "", "节气": ""})
        texts[pk] = filled[key]
    return texts
