"""The REST API root: /api/v1/, token auth, one error shape, routers from each app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from huitouke.core.errors import DomainError
from huitouke.core.services import authenticate_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer htk_…`: the token's staff member and shop scope the request."""

    def authenticate(self, request: HttpRequest, token: str):
        api_token = authenticate_token(token)
        if api_token is None:
            return None
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


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", []) if part not in ("body", "query", "path", "payload")]
    field = ".".join(location) or None
    message = first.get("msg", "invalid input")
    return _error(request, 422, "invalid", f"{field}: {message}" if field else message, field)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", "missing, unknown or revoked API token")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "error", str(exc))


def _register_routers() -> None:
    from huitouke.customers.api import router as customers_router
    from huitouke.orders.api import orders_router, products_router

    api.add_router("/customers", customers_router)
    api.add_router("/orders", orders_router)
    api.add_router("/products", products_router)


_register_routers()
