"""The REST API root: /api/v1/, token auth, one error shape, routers from each app."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from huitouke.core.errors import DomainError, Forbidden
from huitouke.core.models import Role
from huitouke.core.services import authenticate_token

# Roles whose tokens reach only some API paths, and what they are told elsewhere: an external mystery
# shopper its audits; a platform merchant's till its merchant's platform calls, nothing of the operator's.
LIMITED_ROLES = {
    Role.AUDITOR: (("/api/v1/me", "/api/v1/quality/audits", "/api/v1/quality/templates"),
                   "an auditor's token reaches only the audits of its stores"),
    Role.MERCHANT: (("/api/v1/me", "/api/v1/platform/"), "a merchant's token reaches only its merchant's platform calls"),
}


class TokenAuth(HttpBearer):
    """`Authorization: Bearer htk_…`: the token's staff member and shop scope the request."""

    def authenticate(self, request: HttpRequest, token: str):
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        paths, refusal = LIMITED_ROLES.get(api_token.staff.role, (("/",), ""))
        if not request.path.startswith(paths):
            raise Forbidden(refusal, code="forbidden")
        request.api_token = api_token
        request.staff = api_token.staff
        request.shop = api_token.shop
        return api_token


api = NinjaAPI(
    title="huitouke API",
    version="1",
    description="Customer archive, orders and products of one shop. Send `Authorization: Bearer <token>`; "
    "create a token with `huitouke token create --shop SLUG --user USERNAME`.",
    auth=TokenAuth(),
    docs_url="/docs",
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "field": field}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.field)


def _field_path(loc: list | tuple) -> str | None:
    """("body", "payload", "lines", 0, "unit_price") -> "lines[0].unit_price", as the services name fields."""
    path = ""
    for index, part in enumerate(loc):
        if part in ("body", "query", "path", "payload") or (index == 0 and part in ("form", "file")):
            continue  # where the value came from, not its name (multipart: ("file", "file"), ("form", "store"))
        if isinstance(part, str) and not part.isidentifier():
            continue  # a union member's tag such as "str-enum[Channel]", not a field
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    field = _field_path(first.get("loc", []))
    message = first.get("msg", "invalid input")
    if first.get("type") == "missing" and field is None:
        message = "the request needs a JSON object body"
    return _error(request, 422, "invalid", f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", "missing, unknown or revoked API token")


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               429: "throttled"}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        # ninja's message for a body that is not JSON (its DEBUG detail may quote the body: left out)
        return _error(request, 400, "malformed_json", "the request body is not valid JSON")
    return _error(request, exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "not found")


_fallback = Router(auth=None)


@_fallback.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
def unknown_path(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under /api/v1/ answers in the API's error shape, not the web app's HTML page."""
    return _error(request, 404, "not_found", f"no API endpoint /{rest}")


def _register_routers() -> None:
    from huitouke.analytics.api import router as analytics_router
    from huitouke.core.api import router as core_router
    from huitouke.customers.api import router as customers_router
    from huitouke.engagement.api import router as engagement_router
    from huitouke.loyalty.api import router as loyalty_router
    from huitouke.orders.api import imports_router, orders_router, products_router
    from huitouke.platform.api import router as platform_router
    from huitouke.quality.api import router as quality_router

    api.add_router("", core_router)
    api.add_router("/customers", customers_router)
    api.add_router("/orders", orders_router)
    api.add_router("/products", products_router)
    api.add_router("/imports", imports_router)
    api.add_router("/analytics", analytics_router)
    api.add_router("/loyalty", loyalty_router)
    api.add_router("/engagement", engagement_router)
    api.add_router("/quality", quality_router)
    api.add_router("/platform", platform_router)
    api.add_router("", _fallback)  # last: it matches every path


_register_routers()
