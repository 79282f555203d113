"""Attach the logged-in user's shop and staff record to each request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ShopMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.staff = None
        request.shop = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            staff = getattr(user, "staff", None)
            if staff is not None:
                request.staff = staff
                request.shop = staff.shop
        return self.get_response(request)
