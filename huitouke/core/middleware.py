"""Attach the logged-in user's shop and staff record to each request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


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


class ShopLanguageMiddleware(LocaleMiddleware):
    """Chinese unless the user picked another language with the switch (the language cookie).

    Django's own middleware would follow the browser's Accept-Language; a shop's staff get the
    shop's language (zh-hans) until they choose otherwise.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
