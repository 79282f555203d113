"""Engagement data: the outbox of messages, each shop's channel set-up, care settings and rule switches."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped, Staff
from huitouke.engagement.library import MESSAGE_KINDS, Kind


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT_TASK = "wechat_task", _("WeChat / Wangwang (associate copies the text)")


# The customers app keeps consent per contact channel; a WeChat task needs the customer's WeChat consent.
CONSENT_CHANNEL = {MessageChannel.SMS: "sms", MessageChannel.EMAIL: "email", MessageChannel.WECHAT_TASK: "wechat"}


class Provider(models.TextChoices):
    CONSOLE = "console", _("Console / file sink (nothing is sent)")
    SMTP = "smtp", _("E-mail over SMTP")
    ALIYUN = "aliyun", _("Aliyun SMS")
    TENCENT = "tencent", _("Tencent Cloud SMS")
    TWILIO = "twilio", _("Twilio")
    TASK = "task", _("Task for the associate")


class ChannelConfig(ShopScoped):
    """How a shop sends on one channel. Secrets are not here: `secret_name` names an env-var prefix or a
    file under var/secrets/ (see engagement.channels.load_secrets), so a database dump holds no keys."""

    channel = models.CharField(_("channel"), max_length=20, choices=MessageChannel.choices)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices, default=Provider.CONSOLE)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    secret_name = models.CharField(_("secret name"), max_length=50, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("channel configuration")
        verbose_name_plural = _("channel configurations")
        constraints = [models.UniqueConstraint(fields=["shop", "channel"], name="channel_config_unique")]

    def __str__(self) -> str:
        return f"{self.channel}: {self.provider}"


class CareSettings(ShopScoped):
    """The shop's contact policy; a shop without a row gets these defaults."""

    daily_cap = models.PositiveSmallIntegerField(_("messages per customer per day"), default=1)
    care_cap_30d = models.PositiveSmallIntegerField(_("care messages per customer per 30 days"), default=3)
    commercial_cap_30d = models.PositiveSmallIntegerField(
        _("commercial messages per customer per 30 days"), default=2
    )
    quiet_start_hour = models.PositiveSmallIntegerField(_("quiet hours start (Shanghai)"), default=21)
    quiet_end_hour = models.PositiveSmallIntegerField(_("quiet hours end (Shanghai)"), default=9)

    class Meta:
        verbose_name = _("care settings")
        verbose_name_plural = _("care settings")
        constraints = [models.UniqueConstraint(fields=["shop"], name="care_settings_unique")]

    def __str__(self) -> str:
        return f"caps {self.daily_cap}/day, {self.care_cap_30d} care, {self.commercial_cap_30d} commercial"


class RuleSetting(ShopScoped):
    """A care rule switched on or off for the shop, with its parameters (see engagement.rules.RULES)."""

    rule = models.CharField(_("rule"), max_length=30)
    enabled = models.BooleanField(_("enabled"), default=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("rule setting")
        verbose_name_plural = _("rule settings")
        constraints = [models.UniqueConstraint(fields=["shop", "rule"], name="rule_setting_unique")]

    def __str__(self) -> str:
        return f"{self.rule}: {'on' if self.enabled else 'off'}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")


class Message(ShopScoped):
    """One message in the outbox. The idempotency key (customer + rule + day) makes a rule run twice
    enqueue once; `claim_token` marks the one worker that is handing it to the provider."""

    Status = MessageStatus

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="messages", verbose_name=_("customer")
    )
    rule = models.CharField(_("rule"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=MESSAGE_KINDS)
    channel = models.CharField(_("channel"), max_length=20, choices=MessageChannel.choices)
    day = models.DateField(_("day"), help_text=_("the Shanghai day the message is for; caps count by it"))
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    text = models.TextField(_("text"))
    associate = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("sent in the name of")
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=120)
    status = models.CharField(_("status"), max_length=20, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices, blank=True)
    provider_message_id = models.CharField(_("provider message ID"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "idempotency_key"], name="message_unique_key"),
        ]
        indexes = [
            # the worker's claim query, across shops
            models.Index(fields=["status", "next_attempt_at"], name="message_due",
                         condition=Q(status__in=["queued", "sending"])),
            # caps: a customer's messages by day
            models.Index(fields=["shop", "customer", "day"], name="message_customer_day"),
            # delivery reports find their message by the provider's ID
            models.Index(fields=["shop", "provider_message_id"], name="message_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} → {self.customer_id} ({self.status})"


class EarlyReceipt(ShopScoped):
    """A provider's delivery report that came before its message was marked sent (the worker marks sends in
    groups, and a fast provider reports within that moment), or for a message we never sent. Applied when the
    worker marks the message sent; dropped after `engagement.services.inbound.EARLY_RECEIPT_DAYS`."""

    provider_message_id = models.CharField(_("provider message ID"), max_length=100)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, blank=True)
    delivered = models.BooleanField(_("delivered"))
    at = models.DateTimeField(_("reported at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("early delivery report")
        verbose_name_plural = _("early delivery reports")
        constraints = [
            models.UniqueConstraint(fields=["shop", "provider_message_id"], name="early_receipt_unique"),
        ]
        indexes = [
            models.Index(fields=["shop", "idempotency_key"], name="early_receipt_key"),
            models.Index(fields=["shop", "received_at"], name="early_receipt_age"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_message_id}: {'delivered' if self.delivered else 'failed'}"


class InboundSms(ShopScoped):
    """A reply received from a customer's phone, and what it did (an opt-out records a refused consent)."""

    phone = models.CharField(_("phone"), max_length=20)
    text = models.CharField(_("text"), max_length=500)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opted_out = models.BooleanField(_("opt-out"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.phone}: {self.text[:20]}"


class TaskKind(models.TextChoices):
    CALL = "call", _("Phone call")
    VISIT = "visit", _("Personal visit")
    WECHAT = "wechat", _("WeChat / Wangwang")
    FEEDBACK = "feedback", _("Ask for feedback")
    OTHER = "other", _("Other")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class TaskSource(models.TextChoices):
    RULE = "rule", _("Care rule")
    MANUAL = "manual", _("Added by staff")
    COMPLAINT = "complaint", _("Complaint follow-up")


class FollowUpTask(ShopScoped):
    """A follow-up (回访) for an associate: call, visit … by a due day, with the outcome noted when done.
    `source_key` (rule + order or year) makes a rule that runs twice create one task."""

    Kind = TaskKind
    Status = TaskStatus

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TaskKind.choices)
    title = models.CharField(_("what to do"), max_length=200)
    due_on = models.DateField(_("due on"))
    owner = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("owner")
    )
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    outcome = models.TextField(_("outcome"), blank=True)
    source = models.CharField(_("source"), max_length=10, choices=TaskSource.choices, default=TaskSource.MANUAL)
    rule = models.CharField(_("rule"), max_length=50, blank=True)
    source_key = models.CharField(_("source key"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("closed by")
    )

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "source_key"], condition=~Q(source_key=""),
                                    name="task_unique_source"),
        ]
        indexes = [
            models.Index(fields=["shop", "status", "due_on"], name="task_status_due"),
            models.Index(fields=["shop", "customer"], name="task_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id} by {self.due_on} ({self.status})"


class SpotCheck(ShopScoped):
    """A manager's check of one sampled profile (the quarterly archive contest's validity round)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    associate = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("registered by"),
    )
    checked_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("checked by")
    )
    valid = models.BooleanField(_("valid"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    checked_on = models.DateField(_("checked on"))

    class Meta:
        verbose_name = _("profile spot check")
        verbose_name_plural = _("profile spot checks")
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer", "checked_on"], name="spot_check_once_a_day"),
        ]
        indexes = [models.Index(fields=["shop", "checked_on"], name="spot_check_day")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {'valid' if self.valid else 'invalid'}"


class ComplaintStep(models.TextChoices):
    """The nine steps of handling a complaint (DOMAIN.md §5), in order."""

    LISTEN = "listen", _("Listen")
    TALK = "talk", _("Talk it through")
    APOLOGISE = "apologise", _("Apologise")
    ANALYSE = "analyse", _("Analyse the cause")
    EXPLAIN = "explain", _("Explain")
    HANDLE = "handle", _("Handle")
    COMPENSATE = "compensate", _("Compensate")
    CONFIRM = "confirm", _("Confirm the result")
    FOLLOW_UP = "follow_up", _("Follow up")


class ComplaintRoute(models.TextChoices):
    REGION = "region", _("Region")
    HEAD_OFFICE = "head_office", _("Head office")


class ComplaintVia(models.TextChoices):
    STAFF = "staff", _("Staff")
    API = "api", _("API")
    LINK = "link", _("Customer's own link")


class Complaint(ShopScoped):
    """A complaint and its handling: acknowledged the same (Shanghai) day, resolved within 3 days; feedback about a
    region goes to the region, about the company to head office. Compensation is a loyalty coupon or a gift."""

    Route = ComplaintRoute

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    description = models.TextField(_("what happened"))
    route = models.CharField(_("routed to"), max_length=12, choices=ComplaintRoute.choices,
                             default=ComplaintRoute.HEAD_OFFICE)
    region = models.CharField(_("region"), max_length=50, blank=True)
    via = models.CharField(_("filed through"), max_length=8, choices=ComplaintVia.choices, default=ComplaintVia.STAFF)
    filed_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("filed by")
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    coupon = models.ForeignKey("loyalty.Coupon", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("compensation coupon"))
    gift = models.ForeignKey("loyalty.Gift", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("compensation gift"))

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "resolved_at", "received_at"], name="complaint_open"),
            models.Index(fields=["shop", "customer"], name="complaint_customer"),
        ]

    def __str__(self) -> str:
        return f"complaint {self.pk} ({self.customer_id})"


class ComplaintStepRecord(ShopScoped):
    """Who did one of the nine steps, when, and a note; a step is recorded once (recording it again corrects it)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=12, choices=ComplaintStep.choices)
    by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                           verbose_name=_("by"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")
        constraints = [models.UniqueConstraint(fields=["shop", "complaint", "step"], name="complaint_step_once")]

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.step}"


class AudienceKind(models.TextChoices):
    SEGMENT = "segment", _("Analytics segment")
    TIER = "tier", _("Loyalty tier")
    TAG = "tag", _("Tag")
    LIST = "list", _("Customer list")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(ShopScoped):
    """One message to an audience, with a random hold-out group kept out of the send so the uplift is honest."""

    Status = CampaignStatus

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMMERCIAL)
    channel = models.CharField(_("channel"), max_length=20, choices=MessageChannel.choices,
                               default=MessageChannel.SMS)
    template = models.TextField(_("text"), help_text=_("placeholders: {称呼} {店名} {导购}"))
    audience_kind = models.CharField(_("audience"), max_length=10, choices=AudienceKind.choices)
    audience_value = models.JSONField(_("audience value"), default=dict, blank=True)
    holdout_percent = models.PositiveSmallIntegerField(_("hold-out group (%)"), default=10)
    price_per_segment = models.DecimalField(_("price per SMS segment (¥)"), max_digits=6, decimal_places=3,
                                            default=0.045)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    scheduled_for = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    seed = models.PositiveIntegerField(_("random seed"), default=0)
    audience_count = models.PositiveIntegerField(default=0)
    holdout_count = models.PositiveIntegerField(default=0)
    queued_count = models.PositiveIntegerField(default=0)
    suppressed_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_for"], name="campaign_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def rule(self) -> str:
        """The outbox rule of its messages."""
        return f"campaign:{self.pk}"


class CampaignMember(ShopScoped):
    """Who was in the audience when it was sent, and in which group (results compare the two)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    holdout = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "campaign", "customer"], name="campaign_member_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id}{' (hold-out)' if self.holdout else ''}"


class VipEvent(ShopScoped):
    """A members' event (a private viewing, a styling afternoon …); at least four a year are suggested."""

    title = models.CharField(_("title"), max_length=100)
    starts_on = models.DateField(_("date"))
    place = models.CharField(_("place"), max_length=200)
    tier_ids = models.JSONField(_("tiers invited"), default=list)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("VIP event")
        verbose_name_plural = _("VIP events")
        ordering = ["starts_on", "id"]
        indexes = [models.Index(fields=["shop", "starts_on"], name="vip_event_day")]

    def __str__(self) -> str:
        return f"{self.starts_on} {self.title}"


class Rsvp(models.TextChoices):
    PENDING = "pending", _("No answer yet")
    YES = "yes", _("Coming")
    NO = "no", _("Not coming")


class Invitation(ShopScoped):
    event = models.ForeignKey(VipEvent, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    tier_name = models.CharField(_("tier when invited"), max_length=40, blank=True)
    invited_at = models.DateTimeField(_("invited at"), default=timezone.now)
    rsvp = models.CharField(_("RSVP"), max_length=8, choices=Rsvp.choices, default=Rsvp.PENDING)
    rsvp_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    attended = models.BooleanField(_("attended"), default=False)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["shop", "event", "customer"], name="invitation_once")]
        indexes = [models.Index(fields=["shop", "customer"], name="invitation_customer")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.customer_id} ({self.rsvp})"
