"""Helpers for API tests: a client carrying a token, and the one error shape every 4xx must have."""

from __future__ import annotations

from django.test import Client

JSON = "application/json"


def client_for(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The response is `status` with JSON {"code", "message", "field"} and a message for a person."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(JSON)
    body = response.json()
    assert set(body) == {"code", "message", "field"}
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]
    return body
