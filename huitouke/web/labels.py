"""Human labels for the completeness facts (the names come from customers.completeness)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer

_EXTRA: dict[str, Promise] = {
    "birthday": _("birthday"),
    "age": _("age"),
    "phone": _("phone"),
    "email": _("e-mail"),
    "address": _("address"),
    "promotion_consent": _("promotion consent"),
}


def fact_label(name: str) -> str | Promise:
    """The label of a completeness fact: the model field's verbose name where there is one."""
    if name in _EXTRA:
        return _EXTRA[name]
    try:
        return Customer._meta.get_field(name).verbose_name
    except Exception:  # noqa: BLE001 - an unknown fact still shows, under its own name
        return name
