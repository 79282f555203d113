"""SMS provider callbacks: delivery reports and customers' replies, per shop and provider, in each provider's own
format (engagement.services.callbacks). No login: Aliyun and Tencent URLs carry the shop's key, Twilio signs.

    POST /hooks/sms/<shop>/<aliyun|tencent|twilio>/receipts[?key=…]
    POST /hooks/sms/<shop>/<aliyun|tencent|twilio>/replies[?key=…]
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from huitouke.core.errors import DomainError, Invalid
from huitouke.engagement.models import ChannelConfig, Provider
from huitouke.engagement.services import callbacks

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _callback_url(request: HttpRequest, config: ChannelConfig) -> str:
    """The URL Twilio called, which its signature covers: behind a proxy, `callback_base_url` in the channel's
    settings (e.g. https://shop.example.com) replaces the scheme and host Django sees."""
    base = str((config.settings or {}).get("callback_base_url") or "").rstrip("/")
    return f"{base}{request.get_full_path()}" if base else request.build_absolute_uri()


def _json_body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(_("the body is not JSON: %(exc)s"), field="body", params={"exc": exc}) from exc


def _payload(request: HttpRequest, provider: str, config: ChannelConfig) -> Any:
    """The callback's content once its sender is proven."""
    if provider == Provider.TWILIO:
        callbacks.check_twilio_signature(config, url=_callback_url(request, config), form=request.POST,
                                         signature=request.headers.get("X-Twilio-Signature", ""))
        return request.POST.dict()
    callbacks.check_key(config, request.GET.get("key", ""))
    return _json_body(request)


def _ack(provider: str) -> HttpResponse:
    """The answer each provider expects; anything else makes it push the batch again."""
    if provider == Provider.ALIYUN:
        return JsonResponse({"code": 0, "msg": "接收成功"}, json_dumps_params={"ensure_ascii": False})
    if provider == Provider.TENCENT:
        return JsonResponse({"result": 0, "errmsg": "OK"})
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def sms_callback(request: HttpRequest, shop_slug: str, provider: str, kind: str) -> HttpResponse:
    try:
        shop, config = callbacks.sms_channel(shop_slug=shop_slug, provider=provider)
        payload = _payload(request, provider, config)
        if kind == "receipts":
            callbacks.apply_receipts(shop=shop, receipts=callbacks.parse_receipts(provider, payload))
        else:
            callbacks.apply_replies(shop=shop, replies=callbacks.parse_replies(provider, payload))
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status, json_dumps_params={"ensure_ascii": False})
    return _ack(provider)
