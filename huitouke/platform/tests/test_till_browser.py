"""In a real chromium: the till reads the member's QR code through the camera (a fake camera showing her
code), verifies her and records; the scanner-gun way (type, Enter) keeps working on the same page."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import segno
from PIL import Image

from huitouke.core.models import Role
from huitouke.platform import qr
from huitouke.platform.models import Consumption, Member, Method, Verification
from huitouke.platform.services import actors
from huitouke.platform.services.common import moment
from huitouke.platform.tests.helpers import signed
from huitouke.testing.factories import TEST_PASSWORD, StaffFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import CHROMIUM, LAUNCH_ARGS, _shot

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser
PHONE = "13812345678"
WIDTH, HEIGHT = 640, 480


def camera_showing(text: str, path: Path) -> Path:
    """A Y4M video (what chromium's fake camera plays) of a white frame with the QR code of `text`."""
    code = segno.make(text, error="m")
    scale = min(WIDTH, HEIGHT) // (code.symbol_size(border=4)[0])
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    symbol = Image.open(_png(code, scale, path.with_suffix(".png"))).convert("L")
    frame.paste(symbol, ((WIDTH - symbol.width) // 2, (HEIGHT - symbol.height) // 2))
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(2):
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return path


def _png(code, scale: int, path: Path) -> Path:
    code.save(str(path), kind="png", scale=scale, border=4)
    return path


@pytest.fixture
def till_world(transactional_db):
    tenant = make_tenant("shop-a")
    merchant = signed(tenant.shop, "老王火锅", stores=(), valid_from=dt.date(2026, 1, 1),
                      valid_until=dt.date(2099, 12, 31))
    actors.record_group_buy(shop=tenant.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    cashier = StaffFactory(shop=tenant.shop, user__username="till-cashier", role=Role.ASSOCIATE)
    actors.link_login(shop=tenant.shop, merchant=merchant, staff=cashier)
    return tenant, merchant


def test_the_till_reads_the_members_qr_code_with_the_camera_and_the_scanner_still_works(
        live_server, till_world, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    tenant, merchant = till_world
    member = Member.objects.get(shop=tenant.shop)
    video = camera_showing(qr.member_token(member, now=moment(None)), tmp_path / "camera.y4m")
    args = [*LAUNCH_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera"], origin=live_server.url)
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "till-cashier")
        page.fill("#id_password", TEST_PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.goto(f"{live_server.url}/platform/till/")
        page.click('[data-testid="scan-camera"]')
        result = page.locator('[data-testid="till-result"]')
        expect(result).to_contain_text("138****5678", timeout=20_000)
        expect(result).to_contain_text("符合")  # eligible
        _shot(page, "60-till-camera-verified")
        result.locator("input[name=amount]").fill("88.00")
        result.locator("button[type=submit]").click()
        expect(page.locator('[data-testid="till-recorded"]')).to_contain_text("880")
        page.fill("input[name=code]", PHONE)  # the scanner gun: types, then Enter
        page.press("input[name=code]", "Enter")
        expect(page.locator('[data-testid="till-result"]')).to_contain_text("138****5678")
        context.close()
        browser.close()
    methods = list(Verification.objects.filter(merchant=merchant).order_by("id").values_list("method", flat=True))
    assert methods == [Method.QR, Method.PHONE]
    assert Consumption.objects.get(merchant=merchant).amount == 88
