"""SMS providers calling back in their own formats: delivery reports (sent → delivered or failed) and customers'
replies (T, TD, 退订 … opt out). Each shop has its own endpoint per provider; see engagement.hooks.

Formats, from the providers' documentation:
- Aliyun SMS, HTTP batch push: a JSON array of SmsReport {phone_number, send_time, report_time, success,
  err_code, err_msg, sms_size, biz_id, out_id} or of SmsUp {phone_number, send_time, content, sign_name,
  dest_code, sequence_id}; answered {"code": 0, "msg": "接收成功"}. Unsigned: the URL carries the shop's key.
- Tencent Cloud SMS: status callback, a JSON array of {user_receive_time, nationcode, mobile, report_status
  (SUCCESS/FAIL), errmsg, description, sid}; reply callback {extend, mobile, nationcode, sign, text, time}
  (one object, or an array of them); answered {"result": 0, "errmsg": "OK"}. Unsigned: the URL carries the key.
- Twilio: form-encoded StatusCallback (MessageSid, MessageStatus, ErrorCode …) and incoming-message webhook
  (From, Body …), signed in X-Twilio-Signature with the account's auth token (twilio's RequestValidator).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid, NotFound, Unauthorized
from huitouke.core.models import Shop
from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.channels import load_secrets
from huitouke.engagement.models import ChannelConfig, MessageChannel, MessageStatus, Provider
from huitouke.engagement.services.inbound import (
    drop_stale_early_receipts,
    keep_early_receipt,
    receive_sms,
    record_receipt,
)

CALLBACK_PROVIDERS = (Provider.ALIYUN, Provider.TENCENT, Provider.TWILIO)
# Twilio's MessageStatus values that settle a message; the others (queued, sending, sent …) are on the way.
TWILIO_FINAL = {"delivered": True, "read": True, "undelivered": False, "failed": False}


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    delivered: bool | None  # None: an interim status that changes nothing
    at: dt.datetime | None = None
    error: str = ""
    idempotency_key: str = ""  # when the provider echoes ours back (Aliyun out_id)


@dataclass(frozen=True)
class Reply:
    phone: str
    text: str
    at: dt.datetime | None = None


@dataclass
class CallbackResult:
    received: int = 0
    applied: int = 0
    early: int = 0  # reports for messages not marked sent yet (or not ours): kept until the worker marks them
    opted_out: int = 0


def sms_channel(*, shop_slug: str, provider: str) -> tuple[Shop, ChannelConfig]:
    """The shop and its SMS configuration, when the shop sends SMS through `provider`; else NotFound."""
    if provider not in CALLBACK_PROVIDERS:
        raise NotFound(_("no callbacks for provider %(provider)r"), field="provider",
                       params={"provider": provider})
    config = (ChannelConfig.objects.select_related("shop")
              .filter(shop__slug=shop_slug, channel=MessageChannel.SMS, provider=provider).first())
    if config is None:
        raise NotFound(_("this shop does not send SMS through this provider"), field="provider")
    return config.shop, config


def check_key(config: ChannelConfig, key: str) -> None:
    """Aliyun and Tencent do not sign their callbacks: the URL carries the shop's `inbound_key` secret."""
    expected = load_secrets(config.secret_name).get("inbound_key", "")
    if not expected or not hmac.compare_digest(expected.encode(), (key or "").encode()):
        raise Unauthorized(_("wrong or missing key"), field="key")


def check_twilio_signature(config: ChannelConfig, *, url: str, form: Mapping[str, Any], signature: str) -> None:
    """X-Twilio-Signature: HMAC of the full URL Twilio called and the posted fields, with the auth token."""
    from twilio.request_validator import RequestValidator

    token = load_secrets(config.secret_name).get("auth_token", "")
    if not token or not signature or not RequestValidator(token).validate(url, form, signature):
        raise Unauthorized(_("the X-Twilio-Signature does not match"), field="X-Twilio-Signature")


def _shanghai(text: Any, field: str) -> dt.datetime | None:
    """"2017-01-01 00:00:00" as Aliyun and Tencent write it: Beijing time."""
    if not text:
        return None
    try:
        return dt.datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError as exc:
        raise Invalid(_("%(field)s: expected YYYY-MM-DD HH:MM:SS, got %(text)r"), field=field,
                      params={"field": field, "text": text}) from exc


def _items(payload: Any, *, required: tuple[str, ...], allow_object: bool = False) -> list[dict[str, Any]]:
    items = [payload] if allow_object and isinstance(payload, dict) else payload
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise Invalid(_("expected a JSON array of objects"), field="body")
    for index, item in enumerate(items):
        missing = [name for name in required if item.get(name) in (None, "")]
        if missing:
            raise Invalid(_("[%(index)s] has no %(missing)s"), field=f"[{index}].{missing[0]}",
                          params={"index": index, "missing": missing[0]})
    return items


def parse_receipts(provider: str, payload: Any) -> list[Receipt]:
    """Delivery reports in the provider's format (parsed JSON, or Twilio's form fields)."""
    if provider == Provider.ALIYUN:
        return [Receipt(str(r["biz_id"]), r["success"] is True or str(r["success"]).lower() == "true",
                        _shanghai(r.get("report_time"), "report_time"),
                        f"{r.get('err_code', '')} {r.get('err_msg', '')}".strip(), str(r.get("out_id") or ""))
                for r in _items(payload, required=("biz_id", "success"))]
    if provider == Provider.TENCENT:
        return [Receipt(str(r["sid"]), str(r["report_status"]).upper() == "SUCCESS",
                        _shanghai(r.get("user_receive_time"), "user_receive_time"),
                        f"{r.get('errmsg', '')} {r.get('description', '')}".strip())
                for r in _items(payload, required=("sid", "report_status"))]
    [fields] = _items(payload, required=("MessageSid", "MessageStatus"), allow_object=True)
    status = str(fields["MessageStatus"]).lower()
    error = f"{status} {fields.get('ErrorCode', '')}".strip()
    return [Receipt(str(fields["MessageSid"]), TWILIO_FINAL.get(status), None, error)]


def parse_replies(provider: str, payload: Any) -> list[Reply]:
    """Customers' replies in the provider's format."""
    if provider == Provider.ALIYUN:
        return [Reply(str(r["phone_number"]), str(r["content"]), _shanghai(r.get("send_time"), "send_time"))
                for r in _items(payload, required=("phone_number", "content"))]
    if provider == Provider.TENCENT:
        return [Reply(f"+{r.get('nationcode') or '86'}{r['mobile']}", str(r["text"]), _unix(r.get("time")))
                for r in _items(payload, required=("mobile", "text"), allow_object=True)]
    [fields] = _items(payload, required=("From",), allow_object=True)
    return [Reply(str(fields["From"]), str(fields.get("Body") or ""))]


def _unix(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise Invalid(_("time: expected UNIX seconds, got %(value)r"), field="time",
                      params={"value": value}) from exc


@transaction.atomic
def apply_receipts(*, shop: Shop, receipts: list[Receipt]) -> CallbackResult:
    """Mark the reported messages delivered or failed. A report for a message not marked sent yet is kept until
    the worker marks it (it can come within the moment between the provider's answer and the worker's mark),
    never refused: the provider would push the whole batch again."""
    result = CallbackResult(received=len(receipts))
    drop_stale_early_receipts(shop=shop)
    for receipt in receipts:
        if receipt.delivered is None:
            continue
        try:
            message = record_receipt(
                shop=shop, provider_message_id=receipt.provider_message_id, delivered=receipt.delivered,
                at=receipt.at, error=receipt.error, idempotency_key=receipt.idempotency_key)
        except NotFound:
            message = None
        if message is None or message.status in (MessageStatus.QUEUED, MessageStatus.SENDING):
            keep_early_receipt(shop=shop, provider_message_id=receipt.provider_message_id,
                               delivered=receipt.delivered, at=receipt.at, error=receipt.error,
                               idempotency_key=receipt.idempotency_key)
            result.early += 1
            continue
        result.applied += 1
    return result


@transaction.atomic
def apply_replies(*, shop: Shop, replies: list[Reply]) -> CallbackResult:
    """Record each reply; T, TD, 退订 … from a known customer refuse the shop's SMS from now on."""
    result = CallbackResult(received=len(replies))
    for reply in replies:
        inbound = receive_sms(shop=shop, phone=reply.phone, text=reply.text, now=reply.at)
        result.applied += 1
        result.opted_out += inbound.opted_out
    return result
