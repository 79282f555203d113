"""Phone numbers: E.164 through `phonenumbers`; masked export phones are recognised and kept apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid
from huitouke.core.pii import mask_phone

_MASKED = re.compile(r"^\+?[\d\s-]*\*+[\d\s-]*$")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋－＊", "0123456789+-*")


@dataclass(frozen=True)
class ParsedPhone:
    e164: str | None  # None when the source was masked (cannot identify anyone)
    masked: str
    tail4: str


def parse_phone(raw: str, *, region: str = "CN") -> ParsedPhone:
    """Normalise a phone as written in a form or export; raise Invalid with the reason if it is not one."""
    text = (raw or "").translate(_FULLWIDTH).strip()
    if not text:
        raise Invalid(_("phone is empty"), field="phone")
    if _MASKED.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < 4:
            raise Invalid(_("masked phone '%(phone)s' keeps fewer than 4 digits"), field="phone", params={"phone": raw})
        return ParsedPhone(e164=None, masked=text.replace(" ", ""), tail4=digits[-4:])
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(_("'%(phone)s' is not a phone number"), field="phone", params={"phone": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise Invalid(_("'%(phone)s' is not a valid phone number"), field="phone", params={"phone": raw})
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ParsedPhone(e164=e164, masked=mask_phone(e164), tail4=e164[-4:])


def display_phone(e164: str) -> str:
    """Full national format for people allowed to see it (e.g. 138 1234 5678)."""
    number = phonenumbers.parse(e164)
    if number.country_code == 86:
        national = str(number.national_number)
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
