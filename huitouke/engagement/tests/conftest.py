from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import CustomerEmail
from huitouke.customers.services import record_consent
from huitouke.engagement.tests.fakes import FakeSmsServer, SmtpSink
from huitouke.testing.factories import CustomerFactory, CustomerPhoneFactory, ShopFactory

NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def shop(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the console sink and secret files go to a fresh folder per test
    return ShopFactory(slug="jiangnan", name="江南小店")


def contactable(shop, *, channels=("sms",), name="王芳", gender="female", phone=None, email=None, **fields):
    """A customer who may be contacted on the channels (consent granted), with a phone and an e-mail."""
    customer = CustomerFactory(shop=shop, name=name, gender=gender, **fields)
    CustomerPhoneFactory(customer=customer, **({"e164": phone} if phone else {}))
    CustomerEmail.objects.create(shop=shop, customer=customer, email=email or f"c{customer.pk}@example.com")
    for channel in channels:
        record_consent(shop=shop, customer=customer, channel=channel, granted=True, source="in-store form",
                       at=NOON - dt.timedelta(days=60))
    return customer


@pytest.fixture
def fake_sms():
    with FakeSmsServer() as server:
        yield server


@pytest.fixture
def smtp_server():
    with SmtpSink() as server:
        yield server
