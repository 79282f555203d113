"""A worker killed with SIGKILL right after the provider accepted a message, before marking it: the next run
does not send it again. Real processes on their own SQLite file; the fake provider counts the requests."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from huitouke.engagement.tests.fakes import FakeSmsServer

REPO = Path(__file__).resolve().parents[3]

SETUP = """
import datetime as dt
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.services import record_consent
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import configure_channel
from huitouke.testing.factories import CustomerFactory, CustomerPhoneFactory, ShopFactory
shop = ShopFactory(slug="jiangnan", name="江南小店")
customer = CustomerFactory(shop=shop, name="王芳", gender="female")
CustomerPhoneFactory(customer=customer, e164="+8613812345678")
record_consent(shop=shop, customer=customer, channel="sms", granted=True, source="form")
configure_channel(shop=shop, channel="sms", provider="aliyun", secret_name="sms", settings={
    "endpoint": "127.0.0.1:%(port)d", "protocol": "http", "sign_name": "江南小店", "template_code": "SMS_1"})
noon = dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)
enqueue_message(shop=shop, customer=customer, rule="birthday", kind="birthday", channel="sms",
                text="王女士，生日快乐！", day=noon.date(), now=noon)
"""
KILLED_RUN = """
import datetime as dt, os, signal
from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.services import delivery
delivery.mark_sent = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
delivery.deliver_due(now=dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI))
"""
LATER_RUN = """
import datetime as dt
from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.services.delivery import deliver_due
report = deliver_due(now=dt.datetime(2026, 11, 23, 12, %(minute)d, tzinfo=SHANGHAI))
print(report.recovered, report.sent)
"""


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    script = "import django; django.setup()\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True)


def _status(db: Path) -> tuple:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT status, reason, attempts FROM engagement_message").fetchone()


def test_sigkill_between_send_and_mark_sends_once(tmp_path):
    db = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "HUITOUKE_VAR_DIR": str(tmp_path / "var"),
           "DJANGO_SETTINGS_MODULE": "huitouke.settings", "PYTHONPATH": str(REPO),
           "HUITOUKE_SECRET_SMS_ACCESS_KEY_ID": "ak", "HUITOUKE_SECRET_SMS_ACCESS_KEY_SECRET": "sk"}
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, cwd=REPO, check=True)
    with FakeSmsServer() as fake:
        setup = _python(env, SETUP % {"port": fake.port})
        assert setup.returncode == 0, setup.stderr
        killed = _python(env, KILLED_RUN)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(fake.requests) == 1
        assert _status(db) == ("sending", "", 1)

        soon = _python(env, LATER_RUN % {"minute": 5})  # the claim is still held
        assert (soon.returncode, soon.stdout.split()) == (0, ["0", "0"]), soon.stderr
        later = _python(env, LATER_RUN % {"minute": 11})  # after the lease: settled, not resent
        assert (later.returncode, later.stdout.split()) == (0, ["1", "0"]), later.stderr
        assert len(fake.requests) == 1
        assert _status(db) == ("failed", "interrupted", 1)
