"""HTML views of the loyalty app: the customer-facing member card and the staff's programme pages."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from huitouke.loyalty import card, selectors


@never_cache
def member_card(request: HttpRequest, token: str) -> HttpResponse:
    """The member card behind a signed link: no login; a bad or old link is a plain 404."""
    customer = card.customer_from_token(token)
    if customer is None:
        raise Http404("no such member card")
    shop = customer.shop
    data = selectors.member_card(shop=shop, customer=customer)
    url = request.build_absolute_uri(reverse("member_card", args=[token]))
    response = render(request, "loyalty/card.html", {
        "shop": shop, "card": data, "qr": card.qr_svg(url), "url": url,
        "first_name": customer.name[:1] + "**" if customer.name else "",
    })
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never leak it to other sites
    response["X-Robots-Tag"] = "noindex"
    return response
