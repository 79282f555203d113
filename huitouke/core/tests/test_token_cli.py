"""`huitouke token create|list|revoke`: clear errors for wrong shop or user, the secret shown once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huitouke.core.models import ApiToken
from huitouke.core.services import authenticate_token

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_a_working_token_once_and_stores_only_its_hash(tenant_a):
    out, err = run("create", "--shop", "shop-a", "--user", "shop-a-owner", "--name", "erp sync")
    plain = out.strip()
    token = authenticate_token(plain)
    assert token is not None and token.staff == tenant_a.owner and token.name == "erp sync"
    assert "not be shown again" in err
    assert not ApiToken.objects.filter(token_hash=plain).exists()
    assert plain not in run("list", "--shop", "shop-a")[0]


def test_create_for_a_user_of_another_shop_fails(tenant_a, tenant_b):
    with pytest.raises(CommandError, match="shop-b-owner"):
        run("create", "--shop", "shop-a", "--user", "shop-b-owner")
    assert not ApiToken.objects.filter(shop=tenant_a.shop, staff=tenant_b.owner).exists()
    assert ApiToken.objects.count() == 2  # the fixtures' own tokens only


def test_create_for_unknown_shop_or_user_fails(tenant_a):
    with pytest.raises(CommandError, match="no shop 'nope'"):
        run("create", "--shop", "nope", "--user", "shop-a-owner")
    with pytest.raises(CommandError, match="ghost"):
        run("create", "--shop", "shop-a", "--user", "ghost")


def test_list_shows_prefix_name_user_and_revoked_for_own_shop_only(tenant_a, tenant_b):
    run("create", "--shop", "shop-a", "--user", "shop-a-owner", "--name", "till")
    revoked = ApiToken.objects.get(shop=tenant_a.shop, name="api")
    run("revoke", "--shop", "shop-a", "--id", str(revoked.pk))
    out, _ = run("list", "--shop", "shop-a")
    lines = out.strip().splitlines()
    assert lines[0].split()[:4] == ["ID", "PREFIX", "NAME", "USER"]
    assert len(lines) == 3
    till = ApiToken.objects.get(shop=tenant_a.shop, name="till")
    assert any(line.startswith(f"{till.pk} ") and till.prefix in line and line.rstrip().endswith("-")
               for line in lines)
    assert any(line.startswith(f"{revoked.pk} ") and not line.rstrip().endswith("-") for line in lines)
    assert "shop-b-owner" not in out


def test_revoke_makes_the_token_unusable(tenant_a):
    token = ApiToken.objects.get(shop=tenant_a.shop)
    out, _ = run("revoke", "--shop", "shop-a", "--id", str(token.pk))
    assert f"#{token.pk}" in out
    assert authenticate_token(tenant_a.token) is None


def test_revoke_of_another_shops_token_fails_and_keeps_it(tenant_a, tenant_b):
    b_token = ApiToken.objects.get(shop=tenant_b.shop)
    with pytest.raises(CommandError, match=f"no token {b_token.pk}"):
        run("revoke", "--shop", "shop-a", "--id", str(b_token.pk))
    assert authenticate_token(tenant_b.token) is not None


def test_bad_arguments_are_command_errors_not_tracebacks(tenant_a):
    with pytest.raises(CommandError):
        run("revoke", "--shop", "shop-a", "--id", "abc")
    with pytest.raises(CommandError):
        run("create", "--shop", "shop-a")
    with pytest.raises(CommandError):
        run("explode")
    with pytest.raises(CommandError, match="--name"):
        run("create", "--shop", "shop-a", "--user", "shop-a-owner", "--name", " ")
