"""Attach the logged-in user's shop and staff record to each request."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
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


class ApiMethodNotAllowedMiddleware:
    """A wrong HTTP method on an API path answers in the API's error shape, like every other API error.

    django-ninja answers it itself with a plain-text 405 before any of our exception handlers run.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or not request.path.startswith("/api/"):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        message = f"{request.method} is not allowed here" + (f"; use {allowed}" if allowed else "")
        json_response = JsonResponse({"code": "method_not_allowed", "message": message, "field": None}, status=405)
        if allowed:
            json_response["Allow"] = allowed
        return json_response
