"""Channel adapters: one per provider, each turning an outbox Message into one provider call.

Nothing is sent unless a shop configured a provider: without a ChannelConfig every channel goes to the
console/file sink (var/outbox/<shop>.log). SMS goes through the providers' official SDKs (Aliyun
alibabacloud-dysmsapi20170525, Tencent tencentcloud-sdk-python-sms, Twilio twilio), whose endpoint options
the tests point at a local fake server; e-mail through Django's SMTP backend.

Secrets never live in the database: ChannelConfig.secret_name names them, read by `load_secrets` from
var/secrets/<name>.json, else from environment variables HUITOUKE_SECRET_<NAME>_<KEY>.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings as django_settings
from django.core.mail import EmailMessage, get_connection

from huitouke.engagement.models import ChannelConfig, Message, MessageChannel, Provider


class SendError(Exception):
    """The provider did not take the message; `retryable` when trying again later may work."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class Adapter(Protocol):
    provider: str

    def send(self, message: Message) -> SendResult: ...

    def was_sent(self, message: Message) -> bool | None:
        """After a worker died mid-send: True/False when the provider can tell, None when it cannot."""
        ...


def load_secrets(name: str) -> dict[str, str]:
    """var/secrets/<name>.json if present, else HUITOUKE_SECRET_<NAME>_<KEY> environment variables."""
    if not name:
        return {}
    path = Path(django_settings.VAR_DIR) / "secrets" / f"{name}.json"
    if path.exists():
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    prefix = "HUITOUKE_SECRET_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_"
    return {key[len(prefix):].lower(): value for key, value in os.environ.items() if key.startswith(prefix)}


def _require(values: dict[str, Any], *keys: str, where: str) -> list[Any]:
    missing = [key for key in keys if not values.get(key)]
    if missing:
        raise SendError(f"{where}: missing {', '.join(missing)}", retryable=False)
    return [values[key] for key in keys]


def _flag(value: Any) -> bool:
    """A setting's on/off, whether stored as a JSON boolean or as text from the command line."""
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


def _strip_signature(text: str) -> str:
    """Aliyun and Tencent add the approved signature themselves; the body goes without 【…】."""
    return re.sub(r"^【[^】]*】", "", text)


class ConsoleSink:
    """The default: one JSON line per message in var/outbox/<shop slug>.log; nothing leaves the machine."""

    provider = Provider.CONSOLE
    _append = threading.Lock()  # the worker's pool threads write to one file

    def __init__(self, shop_slug: str) -> None:
        self.path = Path(django_settings.VAR_DIR) / "outbox" / f"{shop_slug}.log"

    def send(self, message: Message) -> SendResult:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({
            "key": message.idempotency_key, "customer": message.customer_id, "channel": message.channel,
            "recipient": message.recipient, "text": message.text,
        }, ensure_ascii=False)
        with self._append, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        return SendResult(provider_message_id=message.idempotency_key)

    def was_sent(self, message: Message) -> bool | None:
        if not self.path.exists():
            return False
        with self.path.open(encoding="utf-8") as lines:
            return any(json.loads(line).get("key") == message.idempotency_key for line in lines if line.strip())


class AssociateTask:
    """WeChat/Wangwang: no API; the text waits in the outbox for the associate to copy and send."""

    provider = Provider.TASK

    def send(self, message: Message) -> SendResult:
        return SendResult(provider_message_id=f"task:{message.pk}")

    def was_sent(self, message: Message) -> bool | None:
        return False  # nothing left the machine: handing it over again is harmless


class SmtpEmail:
    """E-mail through Django's SMTP backend; per-shop settings, else the global EMAIL_* settings.

    The Message-ID is derived from the idempotency key, so a receiving system can recognise a duplicate."""

    provider = Provider.SMTP

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str], shop_name: str) -> None:
        self.settings, self.secrets, self.shop_name = settings, secrets, shop_name

    def send(self, message: Message) -> SendResult:
        s = self.settings
        connection = get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host=s.get("host", django_settings.EMAIL_HOST), port=int(s.get("port", django_settings.EMAIL_PORT)),
            username=self.secrets.get("username", ""), password=self.secrets.get("password", ""),
            use_tls=_flag(s.get("use_tls")), use_ssl=_flag(s.get("use_ssl")),
            timeout=float(s.get("timeout", 10)), fail_silently=False,
        )
        message_id = f"<{message.idempotency_key.replace(':', '.')}@huitouke>"
        email = EmailMessage(
            subject=s.get("subject") or self.shop_name, body=message.text,
            from_email=s.get("from_email") or django_settings.DEFAULT_FROM_EMAIL, to=[message.recipient],
            headers={"Message-ID": message_id}, connection=connection,
        )
        try:
            email.send()
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", retryable=400 <= exc.smtp_code < 500) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"SMTP refused the recipient: {exc.recipients}", retryable=False) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {exc}", retryable=True) from exc
        return SendResult(provider_message_id=message_id)

    def was_sent(self, message: Message) -> bool | None:
        return None  # SMTP has no way to ask


class _SdkAdapter:
    """An SMS provider reached through its SDK. The SDK client (and with it the HTTP session and its
    keep-alive connections) is built once per thread and reused for every message of the run: building one
    per message opened a new connection each time. One per thread because the SDKs do not promise to be
    thread-safe and the worker sends from a small pool of threads."""

    def __init__(self, settings: dict[str, Any], secrets: dict[str, str]) -> None:
        self.settings, self.secrets = settings, secrets
        self._local = threading.local()

    def client(self) -> Any:
        if getattr(self._local, "client", None) is None:
            self._local.client = self.build_client()
        return self._local.client

    def build_client(self) -> Any:
        raise NotImplementedError

    def was_sent(self, message: Message) -> bool | None:
        return None  # none of the providers can be asked by our key


def _national(e164: str) -> str:
    """Aliyun wants mainland numbers without +86 and others as country code + number."""
    return e164[3:] if e164.startswith("+86") else e164.lstrip("+")


class AliyunSms(_SdkAdapter):
    """Aliyun SMS (dysmsapi 2017-05-25) via its SDK; OutId carries the idempotency key to the receipts.

    settings: sign_name, template_code, template_param (default "content"), endpoint, protocol.
    secrets: access_key_id, access_key_secret."""

    provider = Provider.ALIYUN
    RETRYABLE_CODES = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable", "InternalError")

    def build_client(self) -> Any:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as api_models

        key_id, key_secret = _require(self.secrets, "access_key_id", "access_key_secret", where="aliyun secrets")
        return Client(api_models.Config(
            access_key_id=key_id, access_key_secret=key_secret,
            endpoint=self.settings.get("endpoint", "dysmsapi.aliyuncs.com"),
            protocol=self.settings.get("protocol", "https"),
        ))

    def send(self, message: Message) -> SendResult:
        from alibabacloud_dysmsapi20170525 import models as sms_models
        from alibabacloud_tea_util import models as util_models

        sign_name, template = _require(self.settings, "sign_name", "template_code", where="aliyun settings")
        client = self.client()
        request = sms_models.SendSmsRequest(
            phone_numbers=_national(message.recipient), sign_name=sign_name, template_code=template,
            template_param=json.dumps({self.settings.get("template_param", "content"): _strip_signature(message.text)},
                                      ensure_ascii=False),
            out_id=message.idempotency_key[:64],
        )
        runtime = util_models.RuntimeOptions(autoretry=False, connect_timeout=5000, read_timeout=10000)
        try:
            body = client.send_sms_with_options(request, runtime).body
        except Exception as exc:  # the Tea SDK raises its own and network exceptions
            status = getattr(exc, "statusCode", None) or (getattr(exc, "data", None) or {}).get("statusCode")
            code = getattr(exc, "code", "") or ""
            retryable = status is None or int(status) >= 500 or int(status) == 429 or code in self.RETRYABLE_CODES
            raise SendError(f"aliyun: {code or type(exc).__name__} {status or ''}".strip(), retryable=retryable) from exc
        if body.code != "OK":
            raise SendError(f"aliyun: {body.code} {body.message}", retryable=body.code in self.RETRYABLE_CODES)
        return SendResult(provider_message_id=body.biz_id or "")


class TencentSms(_SdkAdapter):
    """Tencent Cloud SMS (2021-01-11) via its SDK; SessionContext carries the idempotency key.

    settings: sdk_app_id, sign_name, template_id, region (ap-guangzhou), endpoint, scheme.
    secrets: secret_id, secret_key."""

    provider = Provider.TENCENT

    def build_client(self) -> Any:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        secret_id, secret_key = _require(self.secrets, "secret_id", "secret_key", where="tencent secrets")
        http = HttpProfile(endpoint=self.settings.get("endpoint", "sms.tencentcloudapi.com"), reqTimeout=10)
        http.scheme = self.settings.get("scheme", "https")
        return sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), self.settings.get("region", "ap-guangzhou"),
            ClientProfile(httpProfile=http),
        )

    def send(self, message: Message) -> SendResult:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        app_id, sign_name, template = _require(
            self.settings, "sdk_app_id", "sign_name", "template_id", where="tencent settings"
        )
        client = self.client()
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [message.recipient]
        request.SmsSdkAppId, request.SignName, request.TemplateId = str(app_id), sign_name, str(template)
        request.TemplateParamSet = [_strip_signature(message.text)]
        request.SessionContext = message.idempotency_key
        try:
            response = client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = exc.get_code() or ""
            retryable = code.startswith(("InternalError", "LimitExceeded", "RequestLimitExceeded")) or "Network" in code
            raise SendError(f"tencent: {code} {exc.get_message()}", retryable=retryable or not code) from exc
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            retryable = status.Code.startswith(("InternalError", "LimitExceeded"))
            raise SendError(f"tencent: {status.Code} {status.Message}", retryable=retryable)
        return SendResult(provider_message_id=status.SerialNo or "")


class TwilioSms(_SdkAdapter):
    """Twilio Programmable Messaging via its SDK. Twilio's Messages API takes no idempotency key, so a
    message in doubt after a crash is never resent automatically.

    settings: from_number or messaging_service_sid, base_url (for tests). secrets: account_sid, auth_token."""

    provider = Provider.TWILIO

    def build_client(self) -> Any:
        from twilio.rest import Client

        sid, token = _require(self.secrets, "account_sid", "auth_token", where="twilio secrets")
        client = Client(sid, token)
        if self.settings.get("base_url"):
            client.api.base_url = self.settings["base_url"]
        return client

    def send(self, message: Message) -> SendResult:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        client = self.client()
        sender = {"messaging_service_sid": self.settings["messaging_service_sid"]} if self.settings.get(
            "messaging_service_sid") else {"from_": _require(self.settings, "from_number", where="twilio settings")[0]}
        try:
            created = client.messages.create(to=message.recipient, body=message.text, **sender)
        except TwilioRestException as exc:
            retryable = exc.status >= 500 or exc.status == 429
            raise SendError(f"twilio: {exc.status} {exc.code} {exc.msg}", retryable=retryable) from exc
        except (TwilioException, OSError) as exc:
            raise SendError(f"twilio: {exc}", retryable=True) from exc
        except Exception as exc:  # requests' connection errors
            raise SendError(f"twilio: {type(exc).__name__}: {exc}", retryable=True) from exc
        return SendResult(provider_message_id=created.sid or "")


def adapter_for(*, shop, channel: str, config: ChannelConfig | None) -> Adapter:
    """The adapter for a shop's channel; without a configuration: the console sink (a task for WeChat)."""
    if config is None:
        return AssociateTask() if channel == MessageChannel.WECHAT_TASK else ConsoleSink(shop.slug)
    secrets = load_secrets(config.secret_name)
    settings = config.settings or {}
    match config.provider:
        case Provider.CONSOLE:
            return ConsoleSink(shop.slug)
        case Provider.TASK:
            return AssociateTask()
        case Provider.SMTP:
            return SmtpEmail(settings, secrets, shop.name)
        case Provider.ALIYUN:
            return AliyunSms(settings, secrets)
        case Provider.TENCENT:
            return TencentSms(settings, secrets)
        case Provider.TWILIO:
            return TwilioSms(settings, secrets)
    raise SendError(f"unknown provider {config.provider!r}", retryable=False)
