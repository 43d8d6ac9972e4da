"""The portal in a real headless Chromium (Debian's package, driven by Playwright) against the app served
by uvicorn on a local port, with the emails going through the SMTP sink: a unit follows the link in its
email, saves a draft, uploads evidence, is told what is wrong next to the field and submits; the
secretariat logs in, follows the board, returns a report and sees the unit's resubmission; the form
works on a phone and without JavaScript. Each step leaves a screenshot in test-artifacts/screenshots/."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import select

from models.assignment import Assignment
from models.db import session_scope
from models.submission import Channel, Submission
from tests.flows.helpers import by_subject, text_part
from tests.portal.conftest import PASSWORD, LivePortal, link_in_notice
from tests.portal.test_unit_pages import good_fields

pytestmark = pytest.mark.usefixtures("prefect_harness")

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
BOARD = "/admin/plans/74-kh-sxd-2024/bao_cao_nam"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module: Debian's package, never a browser Playwright downloads."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package (`make test` installs it).", pytrace=False)
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, in Vietnamese, with a desktop window."""
    ctx = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot of the step, checked to be a real picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.is_file() and path.stat().st_size > 10 * 1024, f"screenshot {path} is missing or blank"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def fill_report(page: Page, unit: str, **overrides: str) -> None:
    """Type a complete, valid report into the unit's form (overrides replace single fields by id)."""
    fields = {**good_fields(unit), **overrides}
    page.select_option("#v-dan_van_kheo", label=fields.pop("v-dan_van_kheo"))
    for name, value in fields.items():
        page.fill(f"#{name}", value)


def banner(page: Page) -> str:
    return page.locator("p.ok[role=status]").inner_text()


def versions(unit: str) -> list[Submission]:
    with session_scope() as session:
        found = session.scalars(select(Submission).join(Assignment).where(Assignment.unit.has(code=unit)).order_by(Submission.version))
        return [session.get_one(Submission, s.id) for s in found]


def portal_link(message) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r"(http://\S+/u/\S+)", text_part(message))
    assert found, f"the email {message['Subject']!r} carries no portal link"
    return found.group(1)


def to(messages, address: str):  # type: ignore[no-untyped-def]
    return [m for m in messages if m["To"].addresses[0].addr_spec == address]


def login(page: Page, live: LivePortal) -> None:
    page.goto(f"{live.base_url}/admin")
    expect(page).to_have_url(f"{live.base_url}/admin/login")
    page.fill("#user", "vanphong")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(f"{live.base_url}/admin")
    expect(page.locator("header")).to_contain_text("vanphong")


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}


def send_report(page: Page, link: str, unit: str) -> None:
    """The unit's office opens the link from its email, fills in its report and sends it (its first version)."""
    page.goto(link)
    fill_report(page, unit)
    page.get_by_role("button", name="Gửi báo cáo", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?ok=sent-1$"))


def test_a_unit_reports_from_the_link_in_its_email(live_portal: LivePortal, context: BrowserContext) -> None:
    live = live_portal
    link = link_in_notice(live.smtp.messages(), "u1@sxd.example.gov.vn")
    assert link.startswith(f"{live.base_url}/u/"), f"the email's link {link} does not point at the live portal"

    page = context.new_page()
    response = page.goto(link)
    assert response is not None and response.status == 200
    expect(page.locator("h1").first).to_have_text("Báo cáo kết quả công tác dân vận chính quyền năm 2024")
    expect(page.locator("main")).to_contain_text("(còn 10 ngày)")
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).backgroundColor") == "rgb(139, 26, 26)"  # the CSS loaded
    shot(page, "unit-1-opened")

    # A partial draft is kept: what was typed is there when the link is opened again.
    page.fill("#v-nha_o_xa_hoi", "12")
    page.fill("#s-tinh_hinh", "Đang tổng hợp.")
    page.select_option("#v-dan_van_kheo", label="Không đạt")
    page.get_by_role("button", name="Lưu nháp", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?ok=saved$"))
    assert "Đã lưu nháp" in banner(page)
    page.goto(link)
    expect(page.locator("#v-nha_o_xa_hoi")).to_have_value("12")
    expect(page.locator("#s-tinh_hinh")).to_have_value("Đang tổng hợp.")
    expect(page.locator("#v-dan_van_kheo option:checked")).to_have_text("Không đạt")
    expect(page.locator("main")).to_contain_text("Bản nháp lưu lúc")

    # Evidence goes up with the draft and is listed by name.
    page.set_input_files("#evidence", files=[{"name": "Biên bản họp.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.locator("button[name=action][value=save]").click()
    expect(page).to_have_url(re.compile(r"\?ok=saved$"))
    expect(page.locator("ul.files li")).to_have_count(1)
    expect(page.locator("ul.files li")).to_contain_text("Biên bản họp.pdf")
    expect(page.locator("#v-nha_o_xa_hoi")).to_have_value("12")  # saving with a file kept the figures too
    shot(page, "unit-2-draft-saved")

    # A figure that is not a number: the error is written under the field, nothing is sent.
    fill_report(page, "U1", **{"v-nha_o_xa_hoi": "khoảng 30"})
    page.locator("button[name=action][value=submit]").click()
    error = page.locator("#err-v-nha_o_xa_hoi")
    expect(error).to_be_visible()
    expect(error).to_contain_text("khoảng 30")
    field = page.locator("#v-nha_o_xa_hoi")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "err-v-nha_o_xa_hoi")
    expect(field).to_have_value("khoảng 30")  # what was typed is shown back, not lost
    expect(page.locator("#s-ket_qua")).to_have_value("Hoàn thành 788 hồ sơ đúng hạn.")
    expect(page.locator("#n-nuoc_sach")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("p.error[role=alert]").first).to_contain_text("1 mục cần sửa")
    expect(page.locator("ul.files li")).to_contain_text("Biên bản họp.pdf")
    assert versions("U1") == []

    # Corrected and sent.
    field.fill("1.234")
    page.get_by_role("button", name="Gửi báo cáo", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?ok=sent-1$"))
    assert "Đã gửi báo cáo (lần gửi thứ 1)" in banner(page)
    version_block = page.locator("details.version").first
    expect(version_block.locator("summary")).to_contain_text("Lần gửi 1")
    expect(version_block).to_contain_text("Biên bản họp.pdf")
    shot(page, "unit-3-submitted")

    # The unit downloads its evidence back from its page.
    with page.expect_download() as downloaded:
        version_block.get_by_role("link", name="Biên bản họp.pdf").click()
    download = downloaded.value
    assert download.suggested_filename == "Biên bản họp.pdf"
    assert Path(download.path()).read_bytes() == PDF

    live.jobs.wait(60)
    receipts = to(by_subject(live.smtp.messages(), "Đã nhận báo cáo"), "u1@sxd.example.gov.vn")
    assert len(receipts) == 1
    assert "Nhà ở xã hội hoàn thành: 1.234 căn" in text_part(receipts[0])
    assert portal_link(receipts[0]) == link

    (version,) = versions("U1")
    assert version.version == 1 and version.channel == Channel.WEB
    with session_scope() as session:
        stored = session.get_one(Submission, version.id)
        (attachment,) = stored.attachments
        assert attachment.filename == "Biên bản họp.pdf" and attachment.content_type == "application/pdf"
        assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
        figures = {v.indicator_code: v.value for v in stored.values}
        assert figures["nha_o_xa_hoi"] == Decimal(1234) and figures["dan_van_kheo"] == Decimal(1)


def test_the_secretariat_returns_a_report_and_sees_the_resubmission(live_portal: LivePortal, browser: Browser, context: BrowserContext) -> None:
    live = live_portal
    link = link_in_notice(live.smtp.messages(), "u2@sxd.example.gov.vn")
    unit = context.new_page()
    send_report(unit, link, "U2")
    assert "Đã gửi báo cáo (lần gửi thứ 1)" in banner(unit)

    # The secretariat, in its own browser profile.
    office_context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    office_context.set_default_timeout(TIMEOUT_MS)
    try:
        office = office_context.new_page()
        login(office, live)
        office.goto(f"{live.base_url}{BOARD}")
        units = office.locator("table#units")
        expect(units.locator("tr[data-unit=U2]")).to_have_attribute("data-state", "submitted")
        expect(units.locator("tr[data-unit=U3]")).to_have_attribute("data-state", "not_opened")
        expect(units.locator("tr[data-unit=U2] td.num")).to_have_text("1")
        expect(units.locator("tr[data-unit=U2]")).to_contain_text("Đã nộp")
        shot(office, "admin-1-board")

        comment = "Đề nghị bổ sung số hộ được cấp nước sạch của quý III."
        units.locator("tr[data-unit=U2] a").click()
        expect(office).to_have_url(re.compile(r"/admin/assignments/\d+$"))
        expect(office.locator("section.review h2").first).to_have_text("Xem xét lần gửi 1")
        office.fill("#return-comment", comment)
        office.get_by_role("button", name="Trả lại để bổ sung").click()
        expect(office).to_have_url(re.compile(r"\?ok=return$"))
        expect(office.locator("p.ok[role=status]")).to_contain_text("Đã trả lại báo cáo")
        expect(office.locator("details.version").first).to_contain_text(comment)
        expect(office.locator("button[name=action][value=return]")).to_have_count(0)  # decided: no second return
        shot(office, "admin-2-returned")
        office.goto(f"{live.base_url}{BOARD}")
        expect(units.locator("tr[data-unit=U2]")).to_have_attribute("data-state", "returned")

        # The unit is told by email, with the comment and its link.
        live.jobs.wait(60)
        returned = to(by_subject(live.smtp.messages(), "Trả lại để bổ sung"), "u2@sxd.example.gov.vn")
        assert len(returned) == 1
        assert comment in text_part(returned[0])
        again = portal_link(returned[0])
        assert again == link

        # It opens the link in the email, sees the comment and corrects the figures of version 1.
        unit.goto(again)
        expect(unit.locator("div.warn[role=alert]")).to_contain_text(comment)
        expect(unit.locator("div.warn[role=alert]")).to_contain_text("Báo cáo lần 1 đã được trả lại")
        expect(unit.locator("#n-nuoc_sach")).to_have_value("694")
        expect(unit.locator("#d-nuoc_sach")).to_have_value("788")
        expect(unit.locator("#s-tinh_hinh")).to_have_value("Tình hình chung của U2.")
        expect(unit.locator("#v-dan_van_kheo option:checked")).to_have_text("Đạt")
        unit.fill("#n-nuoc_sach", "720")
        unit.get_by_role("button", name="Gửi báo cáo", exact=True).click()
        expect(unit).to_have_url(re.compile(r"\?ok=sent-2$"))
        assert "Đã gửi báo cáo (lần gửi thứ 2)" in banner(unit)
        expect(unit.locator("div.warn[role=alert]")).to_have_count(0)
        expect(unit.locator("details.version summary")).to_have_count(2)
        shot(unit, "unit-4-resubmitted")

        # The board shows the resubmission.
        office.reload()
        expect(units.locator("tr[data-unit=U2]")).to_have_attribute("data-state", "submitted")
        expect(units.locator("tr[data-unit=U2] td.num")).to_have_text("2")
        units.locator("tr[data-unit=U2] a").click()
        latest = office.locator("details.version").first
        expect(latest.locator("summary")).to_contain_text("Lần gửi 2")
        expect(latest.locator("summary")).to_contain_text("Chờ xem xét")
        expect(latest).to_contain_text("720/788")
        expect(office.locator("details.version").nth(1).locator("summary")).to_contain_text("Lần gửi 1")
        expect(office.locator("section.review h2").first).to_have_text("Xem xét lần gửi 2")
        shot(office, "admin-3-resubmission")
    finally:
        office_context.close()

    assert [v.version for v in versions("U2")] == [1, 2]
    with session_scope() as session:
        second = session.get_one(Submission, versions("U2")[1].id)
        nuoc_sach = next(v for v in second.values if v.indicator_code == "nuoc_sach")
        assert (int(nuoc_sach.numerator), int(nuoc_sach.denominator)) == (720, 788)
    live.jobs.wait(60)
    assert len(to(by_subject(live.smtp.messages(), "Đã nhận báo cáo"), "u2@sxd.example.gov.vn")) == 2


def test_the_form_works_on_a_phone_and_without_javascript(live_portal: LivePortal, browser: Browser) -> None:
    live = live_portal
    link = link_in_notice(live.smtp.messages(), "u3@sxd.example.gov.vn")
    no_js = browser.new_context(**PHONE, java_script_enabled=False)
    no_js.set_default_timeout(TIMEOUT_MS)
    try:
        page = no_js.new_page()
        send_report(page, link, "U3")
        assert "Đã gửi báo cáo (lần gửi thứ 1)" in banner(page)
    finally:
        no_js.close()
    (version,) = versions("U3")
    assert version.channel == Channel.WEB and version.self_score == Decimal("92.5")

    with_js = browser.new_context(**PHONE)
    with_js.set_default_timeout(TIMEOUT_MS)
    try:
        page = with_js.new_page()
        page.goto(link)
        expect(page.locator("details.version summary")).to_contain_text("Lần gửi 1")
        assert page.evaluate("window.innerWidth") == 390
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the unit's page scrolls sideways on a phone: {widths[0]}px wide in a {widths[1]}px window"
        # The two figures of a rate stack on a narrow screen instead of squeezing side by side.
        numerator, denominator = page.locator("#n-nuoc_sach").bounding_box(), page.locator("#d-nuoc_sach").bounding_box()
        assert numerator is not None and denominator is not None and denominator["y"] > numerator["y"]
        shot(page, "phone-unit-page")
    finally:
        with_js.close()


def no_sideways_scrolling(page: Page, what: str) -> None:
    """Neither the page nor any table on it is wider than the phone's screen."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways on a phone: {widths[0]}px wide in a {widths[1]}px window"
    wide = page.evaluate("[...document.querySelectorAll('table, .scroll')].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.id || e.className)")
    assert wide == [], f"{what}: these scroll sideways inside the page: {wide}"


def test_the_secretariat_reviews_on_a_phone(live_portal: LivePortal, browser: Browser) -> None:
    """The board (levels and units) and a unit's review page at 390 px: each unit a card of labelled
    rows, nothing scrolling sideways, and the review buttons reachable."""
    live = live_portal
    link = link_in_notice(live.smtp.messages(), "u2@sxd.example.gov.vn")
    phone = browser.new_context(**PHONE)
    phone.set_default_timeout(TIMEOUT_MS)
    try:
        send_report(phone.new_page(), link, "U2")

        office = phone.new_page()
        login(office, live)
        office.goto(f"{live.base_url}{BOARD}")
        row = office.locator("table#units tr[data-unit=U2]")
        expect(row).to_have_attribute("data-state", "submitted")
        no_sideways_scrolling(office, "the board")
        # A unit is a card: its cells stacked, each after its column's name.
        cells = [row.locator("td").nth(i).bounding_box() for i in range(3)]
        assert all(c is not None for c in cells) and cells[0]["y"] < cells[1]["y"] < cells[2]["y"]  # type: ignore[index]
        label = row.locator("td[data-label='Trạng thái']").evaluate("e => getComputedStyle(e, '::before').content")
        assert label == '"Trạng thái"'
        shot(office, "phone-admin-board")

        row.locator("a").click()
        expect(office).to_have_url(re.compile(r"/admin/assignments/\d+$"))
        expect(office.get_by_role("button", name="Trả lại để bổ sung")).to_be_visible()
        no_sideways_scrolling(office, "the review page")
        shot(office, "phone-admin-review")
    finally:
        phone.close()


def test_a_page_on_another_site_cannot_submit_for_the_unit(live_portal: LivePortal, context: BrowserContext) -> None:
    """A unit's office that opened its page, then a page on another site that knows the link (it leaked)
    and posts a report to it: the browser keeps the unit's cookie to itself and the post has no token."""
    live = live_portal
    link = link_in_notice(live.smtp.messages(), "u4@sxd.example.gov.vn")
    page = context.new_page()
    page.goto(link)  # the unit's own visit: its CSRF cookie is set
    fields = "".join(f'<input name="{name}" value="{value}">' for name, value in
                     (("action", "submit"), ("v-nha_o_xa_hoi", "9999"), ("s-tinh_hinh", "x"), ("s-ket_qua", "x")))  # fmt: skip
    attack = f'<html><body><form id="f" method="post" action="{link}">{fields}</form><script>document.getElementById("f").submit()</script></body></html>'
    context.route("http://evil.example/**", lambda route: route.fulfill(status=200, content_type="text/html", body=attack))
    with page.expect_response(lambda response: response.url == link and response.request.method == "POST") as answer:
        page.goto("http://evil.example/bao-cao.html")
    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("Yêu cầu không hợp lệ")
    shot(page, "attack-cross-site-post-refused")
    assert versions("U4") == []
