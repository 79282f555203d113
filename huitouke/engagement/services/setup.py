"""A shop's engagement set-up: channel providers (settings only, secrets stay outside), caps, rule switches."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.engagement.models import CareSettings, ChannelConfig, MessageChannel, Provider, RuleSetting

_PROVIDERS = {
    MessageChannel.SMS: {Provider.CONSOLE, Provider.ALIYUN, Provider.TENCENT, Provider.TWILIO},
    MessageChannel.EMAIL: {Provider.CONSOLE, Provider.SMTP},
    MessageChannel.WECHAT_TASK: {Provider.TASK, Provider.CONSOLE},
}
_SECRET_WORDS = ("secret", "password", "token", "access_key")


@transaction.atomic
def configure_channel(
    *, shop: Shop, channel: str, provider: str, settings: dict[str, Any] | None = None, secret_name: str = "",
) -> ChannelConfig:
    """Set how the shop sends on a channel; a secret-looking key in `settings` is refused (use secret_name)."""
    if channel not in _PROVIDERS:
        raise Invalid(gettext_lazy("unknown channel '%(channel)s'"), field="channel",
                      params={"channel": channel})
    if provider not in _PROVIDERS[channel]:
        raise Invalid(gettext_lazy("%(provider)s cannot send %(channel)s"), field="provider",
                      params={"provider": provider, "channel": channel})
    settings = settings or {}
    leaked = [key for key in settings if any(word in key.lower() for word in _SECRET_WORDS)]
    if leaked:
        raise Invalid(gettext_lazy("keep %(leaked)s out of the database: put it in the secret "
                                   "store named by secret_name"),
                      field="settings", params={"leaked": leaked[0]})
    config, _ = ChannelConfig.objects.update_or_create(
        shop=shop, channel=channel,
        defaults={"provider": provider, "settings": settings, "secret_name": secret_name, "updated_at": timezone.now()},
    )
    return config


@transaction.atomic
def update_care_settings(*, shop: Shop, **values: int) -> CareSettings:
    allowed = {"daily_cap", "care_cap_30d", "commercial_cap_30d", "quiet_start_hour", "quiet_end_hour"}
    unknown = set(values) - allowed
    if unknown:
        raise Invalid(gettext_lazy("unknown setting %(unknown)s"), field=sorted(unknown)[0],
                      params={"unknown": sorted(unknown)[0]})
    for name in ("quiet_start_hour", "quiet_end_hour"):
        if name in values and not 0 <= values[name] <= 23:
            raise Invalid(gettext_lazy("an hour is 0–23"), field=name)
    row, _ = CareSettings.objects.update_or_create(shop=shop, defaults=values)
    return row


@transaction.atomic
def set_rule(*, shop: Shop, rule: str, enabled: bool, params: dict[str, Any] | None = None) -> RuleSetting:
    from huitouke.engagement.rules import RULES

    if rule not in RULES:
        raise Invalid(gettext_lazy("unknown rule '%(rule)s'; rules: %(choices)s"), field="rule",
                      params={"rule": rule, "choices": ", ".join(RULES)})
    defaults: dict[str, Any] = {"enabled": enabled}
    if params is not None:
        unknown = set(params) - set(RULES[rule].defaults)
        if unknown:
            raise Invalid(gettext_lazy("rule %(rule)s has no parameter %(unknown)s"), field="params",
                          params={"rule": rule, "unknown": sorted(unknown)[0]})
        defaults["params"] = params
    row, _ = RuleSetting.objects.update_or_create(shop=shop, rule=rule, defaults=defaults)
    return row
