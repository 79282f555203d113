"""Care pages for staff: the outbox, care rules, message preview with the tone check, follow-up tasks, the
associates' figures and archive contest, complaints, campaigns and VIP events.

The rules live in engagement.services and engagement.selectors; these views parse forms, call them and show the
outcome. Everyone on the staff handles tasks and complaints; owners and managers change rules and send campaigns.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from huitouke.analytics.models.scores import Segment
from huitouke.core.errors import DomainError, NotFound
from huitouke.core.models import Role
from huitouke.core.timeutil import today
from huitouke.customers.selectors import customer_by_id
from huitouke.engagement import library, selectors
from huitouke.engagement.extensions import team_measures
from huitouke.engagement.models import (
    AudienceKind,
    CareSettings,
    ComplaintRoute,
    ComplaintStep,
    MessageChannel,
    MessageStatus,
    TaskKind,
    TaskStatus,
)
from huitouke.engagement.policy import care_settings
from huitouke.engagement.rules import RULES, rule_settings
from huitouke.engagement.services import campaigns, complaints, events, followups, setup
from huitouke.engagement.services.outbox import outgoing_text
from huitouke.engagement.services.preview import preview_text
from huitouke.loyalty import selectors as loyalty_selectors
from huitouke.loyalty.services import programme
from huitouke.web.views import PAGE_SIZE, staff_required


def _may_change(request: HttpRequest) -> bool:
    return request.staff.role in (Role.OWNER, Role.MANAGER)


def _require_change(request: HttpRequest) -> None:
    if not _may_change(request):
        raise PermissionDenied(_("Only the shop's owner or a manager can change this."))


def _or_404(call, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc


def _int(value: Any) -> int:
    """A posted id; garbage becomes 0, which no row has (so the service answers "not found")."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _run(request: HttpRequest, call, success: str, **kwargs: Any) -> tuple[Any, str | None]:
    """Call a service; (result, None), or (None, the refusal for the page)."""
    try:
        result = call(**kwargs)
    except DomainError as exc:
        return None, exc.localized()
    messages.success(request, success)
    return result, None


# Outbox -----------------------------------------------------------------------------------------

@staff_required
def outbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in (None, *MessageStatus.values):
        status = None
    rows = selectors.messages(shop=request.shop, status=status).select_related("customer", "associate")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for message in page:
        message.reason_text = selectors.reason_label(message.reason) if message.reason else ""
    counts = selectors.status_counts(shop=request.shop)
    return render(request, "web/engagement/outbox.html", {
        "page": page, "status": status,
        "statuses": [(key, label, counts.get(key, 0)) for key, label in MessageStatus.choices],
    })


# Rules and settings -----------------------------------------------------------------------------

class CareSettingsForm(forms.ModelForm):
    class Meta:
        model = CareSettings
        fields = ["daily_cap", "care_cap_30d", "commercial_cap_30d", "quiet_start_hour", "quiet_end_hour"]


@staff_required
@require_http_methods(["GET", "POST"])
def care_rules(request: HttpRequest) -> HttpResponse:
    """Each rule on/off with its parameters (JSON), and the contact policy's caps and quiet hours."""
    current = care_settings(shop=request.shop)
    settings_form, error = CareSettingsForm(instance=current, prefix="caps"), None
    if request.method == "POST":
        _require_change(request)
        if "rule" in request.POST:
            error = _save_rule(request)
        else:
            settings_form = CareSettingsForm(request.POST, instance=current, prefix="caps")
            if settings_form.is_valid():
                _done, error = _run(request, setup.update_care_settings, _("Contact policy saved."), shop=request.shop,
                                **settings_form.cleaned_data)
            else:
                error = _("Check the contact policy fields.")
        if error is None:
            return redirect("care_rules")
    rules = [{"key": key, "enabled": enabled, "params": json.dumps(params, ensure_ascii=False),
              "tasks": not RULES[key].kind}
             for key, (enabled, params) in rule_settings(shop=request.shop).items()]
    return render(request, "web/engagement/rules.html", {
        "rules": rules, "settings_form": settings_form, "error": error, "may_change": _may_change(request),
    })


def _save_rule(request: HttpRequest) -> str | None:
    try:
        params = json.loads(request.POST.get("params") or "{}")
    except json.JSONDecodeError as exc:
        return _("The parameters are not valid JSON: %(error)s") % {"error": exc}
    if not isinstance(params, dict):
        return _("The parameters are a JSON object.")
    _done, error = _run(request, setup.set_rule, _("Rule saved."), shop=request.shop, rule=request.POST["rule"],
                    enabled=request.POST.get("enabled") == "on", params=params)
    return error


# Message preview with the tone check ------------------------------------------------------------

class PreviewForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1, label=gettext_lazy("Customer ID"))
    kind = forms.ChoiceField(choices=library.Kind.choices, label=gettext_lazy("Kind"))
    template = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               label=gettext_lazy("Text (empty: from the library)"),
                               help_text=gettext_lazy("placeholders: {称呼} {店名} {导购} {节日} {节气}"))


def highlighted(text: str, spans: list[library.Span]) -> list[tuple[str, str]]:
    """The text cut into (piece, reason) parts; reason is "" outside a flagged span."""
    parts, at = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < at:
            continue
        parts += [(text[at:span.start], ""), (text[span.start:span.end], span.reason)]
        at = span.end
    parts.append((text[at:], ""))
    return [part for part in parts if part[0]]


@staff_required
def message_preview(request: HttpRequest) -> HttpResponse:
    form, result, error = PreviewForm(request.GET or None), None, None
    if form.is_bound and form.is_valid():
        try:
            customer = customer_by_id(shop=request.shop, customer_id=form.cleaned_data["customer_id"])
            kind = form.cleaned_data["kind"]
            text = preview_text(shop=request.shop, customer=customer, kind=kind,
                                template=form.cleaned_data["template"] or None)
        except DomainError as exc:
            error = exc.localized()
        else:
            problems = library.tone_problems(text, kind=kind)
            sms = outgoing_text(shop=request.shop, kind=kind, channel=MessageChannel.SMS, text=text)
            result = {"parts": highlighted(text, problems), "problems": problems, "sms": sms,
                      "length": library.sms_length(sms), "segments": library.sms_segments(sms)}
    return render(request, "web/engagement/preview.html", {"form": form, "result": result, "error": error})


# Follow-up tasks and associates -----------------------------------------------------------------

class TaskForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1, label=gettext_lazy("Customer ID"))
    kind = forms.ChoiceField(choices=TaskKind.choices, label=gettext_lazy("Kind"))
    title = forms.CharField(max_length=200, label=gettext_lazy("What to do"))
    due_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("Due on"))


@staff_required
@require_http_methods(["GET", "POST"])
def tasks(request: HttpRequest) -> HttpResponse:
    """My tasks (default for an associate), everyone's, or the overdue ones; close one with the outcome."""
    view = request.GET.get("view") or ("mine" if request.staff.role == Role.ASSOCIATE else "open")
    form, error = TaskForm(prefix="task"), None
    if request.method == "POST":
        if "task_id" in request.POST:
            _done, error = _run(request, followups.close_task, _("Task closed."), shop=request.shop,
                            task_id=_int(request.POST["task_id"]), by=request.staff,
                            outcome=request.POST.get("outcome", ""), done=request.POST.get("action") != "cancel")
        else:
            form = TaskForm(request.POST, prefix="task")
            error = _add_task(request, form)
        if error is None:
            return redirect(f"{reverse('care_tasks')}?view={view}")
    filters: dict[str, Any] = {"status": TaskStatus.OPEN}
    if view == "mine":
        filters["owner_id"] = request.staff.pk
    elif view == "overdue":
        filters = {"overdue_on": today()}
    elif view == "closed":
        filters = {}
    rows = selectors.tasks(shop=request.shop, **filters)
    if view == "closed":
        rows = rows.exclude(status=TaskStatus.OPEN).order_by("-closed_at", "-id")
    return render(request, "web/engagement/tasks.html", {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")), "view": view, "form": form,
        "error": error, "today": today(),
    })


def _add_task(request: HttpRequest, form: TaskForm) -> str | None:
    if not form.is_valid():
        return _("Check the task fields.")
    try:
        customer = customer_by_id(shop=request.shop, customer_id=form.cleaned_data.pop("customer_id"))
    except DomainError as exc:
        return exc.localized()
    _done, error = _run(request, followups.create_task, _("Task added."), shop=request.shop, customer=customer,
                    **form.cleaned_data)
    return error


class SpotCheckForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1, label=gettext_lazy("Customer ID"))
    valid = forms.TypedChoiceField(choices=[("1", gettext_lazy("Valid")), ("0", gettext_lazy("Invalid"))],
                                   coerce=lambda v: v == "1", label=gettext_lazy("Profile"))
    note = forms.CharField(max_length=300, required=False, label=gettext_lazy("Note"))


@staff_required
@require_http_methods(["GET", "POST"])
def team(request: HttpRequest) -> HttpResponse:
    """The associate's own figures; for owners and managers every associate's, the archive contest and the
    spot-check form (with a random sample to check)."""
    month = today()
    form, error = SpotCheckForm(prefix="check"), None
    if request.method == "POST":
        _require_change(request)
        form = SpotCheckForm(request.POST, prefix="check")
        if form.is_valid():
            try:
                customer = customer_by_id(shop=request.shop, customer_id=form.cleaned_data["customer_id"])
            except DomainError as exc:
                error = exc.localized()
            else:
                _done, error = _run(request, followups.record_spot_check, _("Spot check recorded."), shop=request.shop,
                                customer=customer, checked_by=request.staff, valid=form.cleaned_data["valid"],
                                note=form.cleaned_data["note"], on=today())
            if error is None:
                return redirect("care_team")
        else:
            error = _("Check the spot-check fields.")
    manager = _may_change(request)
    figures = selectors.associate_figures(shop=request.shop, month=month, today=today(),
                                          staff_id=None if manager else request.staff.pk)
    sample = []
    if manager and request.GET.get("sample"):
        associate = _or_404(selectors.staff_member, shop=request.shop, staff_id=_int(request.GET["sample"]))
        sample = followups.spot_check_sample(shop=request.shop, associate=associate, size=5)
    measures = team_measures(shop=request.shop, staff_ids=[f.staff.pk for f in figures])
    rows = [(f, measures.get(f.staff.pk, [])) for f in figures]
    return render(request, "web/engagement/team.html", {
        "rows": rows, "measure_labels": [m.label for m in rows[0][1]] if rows else [],
        "mine": next((row for row in rows if row[0].staff.pk == request.staff.pk), None),
        "manager": manager, "contest": selectors.archive_contest(shop=request.shop, year=month.year) if manager else None,
        "form": form, "error": error, "sample": sample, "month": month,
    })


# Complaints -------------------------------------------------------------------------------------

class StaffComplaintForm(forms.Form):
    customer_id = forms.IntegerField(min_value=1, label=gettext_lazy("Customer ID"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("What happened"))
    route = forms.ChoiceField(choices=ComplaintRoute.choices, initial=ComplaintRoute.HEAD_OFFICE,
                              label=gettext_lazy("Routed to"))
    region = forms.CharField(max_length=50, required=False, label=gettext_lazy("Region"))


@staff_required
@require_http_methods(["GET", "POST"])
def complaint_list(request: HttpRequest) -> HttpResponse:
    form, error = StaffComplaintForm(), None
    if request.method == "POST":
        form = StaffComplaintForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                customer = customer_by_id(shop=request.shop, customer_id=data.pop("customer_id"))
            except DomainError as exc:
                error = exc.localized()
            else:
                filed, error = _run(request, complaints.file_complaint, _("Complaint filed."), shop=request.shop,
                                    customer=customer, filed_by=request.staff, **data)
                if filed:
                    return redirect("care_complaint", complaint_id=filed.pk)
        else:
            error = _("Check the complaint fields.")
    open_only = request.GET.get("all") != "1"
    now = timezone.now()
    rows = Paginator(selectors.complaints(shop=request.shop, open_only=open_only), PAGE_SIZE).get_page(
        request.GET.get("page"))
    for complaint in rows:
        complaint.flags = complaints.overdue_flags(complaint, now=now)
    return render(request, "web/engagement/complaints.html", {
        "page": rows, "form": form,
        "error": error, "open_only": open_only,
    })


class StepForm(forms.Form):
    step = forms.ChoiceField(choices=ComplaintStep.choices, label=gettext_lazy("Step"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Note"))


@staff_required
@require_http_methods(["GET", "POST"])
def complaint_detail(request: HttpRequest, complaint_id: int) -> HttpResponse:
    complaint = _or_404(complaints.complaint_by_id, shop=request.shop, complaint_id=complaint_id)
    error = None
    if request.method == "POST":
        if request.POST.get("compensation"):
            kind, _sep, value = request.POST["compensation"].partition(":")
            ids = {"coupon_template_id": _int(value)} if kind == "coupon" else {"gift_id": _int(value)}
            _done, error = _run(request, complaints.compensate, _("Compensation recorded."), shop=request.shop,
                            complaint_id=complaint.pk, by=request.staff, note=request.POST.get("note", ""), **ids)
        else:
            form = StepForm(request.POST)
            if form.is_valid():
                _done, error = _run(request, complaints.record_step, _("Step recorded."), shop=request.shop,
                                complaint_id=complaint.pk, by=request.staff, **form.cleaned_data)
            else:
                error = _("Choose a step.")
        if error is None:
            return redirect("care_complaint", complaint_id=complaint.pk)
    complaint = selectors.complaints(shop=request.shop).get(pk=complaint.pk)
    return render(request, "web/engagement/complaint.html", {
        "complaint": complaint, "steps": selectors.steps_in_order(complaint), "form": StepForm(), "error": error,
        "flags": complaints.overdue_flags(complaint, now=timezone.now()),
        "acknowledge_by": complaints.acknowledge_by(complaint), "resolve_by": complaints.resolve_by(complaint),
        "coupon_templates": [r["template"] for r in loyalty_selectors.redemption_rates(shop=request.shop)
                             if r["template"].is_active],
        "gifts": loyalty_selectors.gifts(shop=request.shop),
    })


# Campaigns --------------------------------------------------------------------------------------

class CampaignForm(forms.Form):
    name = forms.CharField(max_length=100, label=gettext_lazy("Name"))
    kind = forms.ChoiceField(choices=library.Kind.choices, initial=library.Kind.COMMERCIAL, label=gettext_lazy("Kind"))
    channel = forms.ChoiceField(choices=MessageChannel.choices, label=gettext_lazy("Channel"))
    template = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label=gettext_lazy("Text"),
                               help_text=gettext_lazy("placeholders: {称呼} {店名} {导购}"))
    audience_kind = forms.ChoiceField(choices=AudienceKind.choices, label=gettext_lazy("Audience"))
    audience_value = forms.CharField(max_length=5000, label=gettext_lazy("Segment, tier, tag or customer IDs"),
                                     help_text=gettext_lazy("segment key (e.g. at_risk), tier name, tag, or IDs "
                                                            "separated by commas"))
    holdout_percent = forms.IntegerField(min_value=0, max_value=50, initial=10,
                                         label=gettext_lazy("Hold-out group (%)"))
    price_per_segment = forms.DecimalField(min_value=0, decimal_places=3, initial="0.045",
                                           label=gettext_lazy("Price per SMS segment (¥)"))


def _audience_value(request: HttpRequest, kind: str, raw: str) -> Any:
    raw = raw.strip()
    if kind == AudienceKind.LIST:
        try:
            return [int(part) for part in raw.replace("，", ",").split(",") if part.strip()]
        except ValueError as exc:
            raise DomainError(_("Customer IDs are numbers separated by commas."), field="audience_value") from exc
    if kind == AudienceKind.TIER:
        tier = next((t for t in programme.ladder(shop=request.shop) if t.name == raw or str(t.pk) == raw), None)
        if tier is None:
            raise DomainError(_("No tier named %(name)s.") % {"name": raw}, field="audience_value")
        return tier.pk
    return raw


@staff_required
@require_http_methods(["GET", "POST"])
def campaign_list(request: HttpRequest) -> HttpResponse:
    form, error = CampaignForm(), None
    if request.method == "POST":
        _require_change(request)
        form = CampaignForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                data["audience_value"] = _audience_value(request, data["audience_kind"], data["audience_value"])
            except DomainError as exc:
                error = exc.localized()
            else:
                created, error = _run(request, campaigns.create_campaign, _("Campaign saved as a draft."),
                                      shop=request.shop, created_by=request.staff, **data)
                if created:
                    return redirect("care_campaign", campaign_id=created.pk)
        else:
            error = _("Check the campaign fields.")
    return render(request, "web/engagement/campaigns.html", {
        "campaigns": selectors.campaigns(shop=request.shop)[:100], "form": form, "error": error,
        "may_change": _may_change(request), "segments": Segment.choices,
    })


@staff_required
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _or_404(selectors.campaign_by_id, shop=request.shop, campaign_id=campaign_id)
    error = None
    if request.method == "POST":
        _require_change(request)
        action = request.POST.get("action")
        if action == "send":
            _done, error = _run(request, campaigns.send_campaign, _("Sent into the outbox."), shop=request.shop,
                            campaign_id=campaign.pk)
        elif action == "cancel":
            _done, error = _run(request, campaigns.cancel_campaign, _("Campaign cancelled."), shop=request.shop,
                            campaign_id=campaign.pk)
        else:
            try:
                at = forms.DateTimeField().clean(request.POST.get("at") or None)
            except forms.ValidationError:
                at = None
            if at is None:
                error = _("Choose when to send it.")
            else:
                _done, error = _run(request, campaigns.schedule_campaign, _("Campaign scheduled."), shop=request.shop,
                                campaign_id=campaign.pk, at=timezone.make_aware(at) if timezone.is_naive(at) else at)
        if error is None:
            return redirect("care_campaign", campaign_id=campaign.pk)
    preview = None
    if campaign.status in ("draft", "scheduled"):
        try:
            preview = campaigns.preview_campaign(shop=request.shop, campaign=campaign)
        except DomainError as exc:
            error = exc.localized()
    return render(request, "web/engagement/campaign.html", {
        "campaign": campaign, "preview": preview, "error": error, "may_change": _may_change(request),
        "results": selectors.campaign_results(shop=request.shop, campaign=campaign) if campaign.sent_at else None,
        "suppressed": [(selectors.reason_label(key), n) for key, n in (preview or {}).get("suppressed", {}).items()],
    })


# VIP events -------------------------------------------------------------------------------------

class EventForm(forms.Form):
    title = forms.CharField(max_length=100, label=gettext_lazy("Title"))
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("Date"))
    place = forms.CharField(max_length=200, label=gettext_lazy("Place"))
    tier_ids = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple,
                                              label=gettext_lazy("Tiers invited"))

    def __init__(self, *args: Any, tiers: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier_ids"].choices = [(t.pk, t.name) for t in tiers]


@staff_required
@require_http_methods(["GET", "POST"])
def event_list(request: HttpRequest) -> HttpResponse:
    tiers = programme.ladder(shop=request.shop)
    form, error = EventForm(tiers=tiers), None
    if request.method == "POST":
        _require_change(request)
        form = EventForm(request.POST, tiers=tiers)
        if form.is_valid():
            created, error = _run(request, events.create_event, _("Event planned."), shop=request.shop,
                                  **form.cleaned_data)
            if created:
                return redirect("care_event", event_id=created.pk)
        else:
            error = _("Check the event fields.")
    try:
        year = int(request.GET.get("year") or today().year)
    except ValueError:
        year = today().year
    return render(request, "web/engagement/events.html", {
        "year": selectors.events_of_year(shop=request.shop, year=year), "form": form, "error": error,
        "may_change": _may_change(request), "tiers": {t.pk: t.name for t in tiers},
    })


@staff_required
@require_http_methods(["GET", "POST"])
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _or_404(events.event_by_id, shop=request.shop, event_id=event_id)
    error = None
    if request.method == "POST":
        action, customer_id = request.POST.get("action", ""), _int(request.POST.get("customer_id"))
        if action == "invite":
            invited, error = _run(request, events.invite_tiers, _("Invitations added."), shop=request.shop,
                                  event_id=event.pk)
        elif action == "attended":
            _done, error = _run(request, events.record_attendance, _("Attendance recorded."), shop=request.shop,
                            event_id=event.pk, customer_id=customer_id)
        else:
            _done, error = _run(request, events.record_rsvp, _("Answer recorded."), shop=request.shop,
                            event_id=event.pk, customer_id=customer_id, answer=action)
        if error is None:
            return redirect("care_event", event_id=event.pk)
    return render(request, "web/engagement/event.html", {
        "event": event, "error": error,
        "page": Paginator(selectors.invitations(shop=request.shop, event_id=event.pk), PAGE_SIZE).get_page(
            request.GET.get("page")),
        "tiers": [t.name for t in programme.ladder(shop=request.shop) if t.pk in event.tier_ids],
    })
