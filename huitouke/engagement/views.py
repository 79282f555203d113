"""Customer-facing page of the engagement app: the complaint form behind a signed link (no login)."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from huitouke.core.errors import DomainError
from huitouke.engagement.models import ComplaintRoute, ComplaintVia
from huitouke.engagement.services import complaints


class ComplaintForm(forms.Form):
    description = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 6}),
                                  label=_("What happened? We are listening."))
    route = forms.ChoiceField(choices=[(ComplaintRoute.REGION, _("A store or region")),
                                       (ComplaintRoute.HEAD_OFFICE, _("The company as a whole"))],
                              initial=ComplaintRoute.HEAD_OFFICE, widget=forms.RadioSelect, label=_("It is about"))
    region = forms.CharField(max_length=50, required=False, label=_("Which store or region?"))


@never_cache
@require_http_methods(["GET", "POST"])
def complaint_form(request: HttpRequest, token: str) -> HttpResponse:
    """Her complaint form: the signed link is the key; a forged or expired link is a plain 404."""
    customer = complaints.customer_from_token(token)
    if customer is None:
        raise Http404("no such complaint form")
    form, filed, error = ComplaintForm(), None, None
    if request.method == "POST":
        form = ComplaintForm(request.POST)
        if form.is_valid():
            try:
                filed = complaints.file_complaint(shop=customer.shop, customer=customer, via=ComplaintVia.LINK,
                                                  **form.cleaned_data)
            except DomainError as exc:
                error = exc.localized()
    response = render(request, "engagement/complaint_form.html", {
        "shop": customer.shop, "form": form, "filed": filed, "error": error,
    })
    # the link is the key: never leak it to other sites ("no-referrer" would make the browser send Origin: null
    # with the form, which the CSRF check refuses)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response
