"""Masking of personal data for lists, logs and exports (full view needs a role and is logged)."""

from __future__ import annotations

import logging
import re

_PHONE_DIGITS = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_name(name: str) -> str:
    """王小芳 → 王*芳, 李雷 → 李*, Alice Smith → A**** S****."""
    name = (name or "").strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """+8613812345678 → 138****5678; anything else keeps its last 4 digits only."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_email(email: str) -> str:
    local, _, domain = (email or "").partition("@")
    if not domain:
        return mask_phone(email) if email else ""
    return f"{local[:1]}***@{domain}"


def mask_address(address: str) -> str:
    """Keep the region (first 6 characters), hide the street and number."""
    address = (address or "").strip()
    return address[:6] + "****" if len(address) > 6 else address


def scrub(text: str) -> str:
    """Mask phone numbers and e-mails found anywhere in free text (for logs)."""
    text = _PHONE_DIGITS.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)


class MaskPIIFilter(logging.Filter):
    """Logging filter: no full phone number or e-mail ever reaches a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
