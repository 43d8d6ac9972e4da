"""A ward's office runs its part of the cycle in a real headless Chromium, signed in with its own account:
it adjusts the implementing plan drafted for it (a tightened target kept, a loosened one refused with the
reason), previews it as PDF, issues it with a number from its register; its units get their notices (read
from the SMTP server); it returns one unit's report with a comment, accepts the corrected version,
consolidates and downloads the Word report; the town's office then sees the ward's report on its own board.
Screenshots at 1280 and 390 px go to test-artifacts/screenshots/."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from cascade import clock
from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from models.account import AccountRole
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import Plan, PlanStatus, ReportDuty
from models.report import Report
from models.submission import Submission
from models.unit import Unit
from portal.app import create_app
from portal.jobs import Jobs
from portal.live import free_port, serving
from sandbox.portal_visitors import UnitOffice, link_in
from tasks.accounts.registry import add_account
from tasks.documents.forms import form_spec
from tasks.intake.submission_files import submission_input
from tasks.plans.imports import import_plan, import_units
from tests.fixtures.smtp import SmtpServer
from tests.portal.conftest import Day
from tests.portal.test_browser import PHONE, browser, shot  # noqa: F401  (browser: the module's Chromium fixture)

pytestmark = pytest.mark.usefixtures("prefect_harness")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "town-2024"
TOWN, WARD = "104-kh-ubnd-2024", "104-kh-ubnd-2024--tb.giabinh"
WARD_OFFICE, TOWN_OFFICE = "vanphong@giabinh.example.gov.vn", "vanphong@trangbang.example.gov.vn"
PASSWORDS = {WARD_OFFICE: "mat-khau-gia-binh", TOWN_OFFICE: "mat-khau-trang-bang"}
UNITS = ("tb.giabinh.ca", "tb.giabinh.qs", "tb.giabinh.yt")


@dataclass
class Town:
    base_url: str
    day: Day
    jobs: Jobs
    smtp: SmtpServer


@pytest.fixture()
def town(workspace: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Town]:
    """The town's plan 104/KH-UBND cascaded on 31/01/2024 (each ward has a draft to adjust and issue), an
    account for the town's office and one for Gia Bình's, and the portal served by uvicorn."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("CASCADE_PORTAL_BASE_URL", base_url)
    get_settings.cache_clear()
    import_units(EXAMPLE / "units.yaml")
    import_plan(EXAMPLE / "plan.yaml")
    cascade_plan(TOWN, date(2024, 1, 31))
    with session_scope() as session:
        for email, unit in ((WARD_OFFICE, "tb.giabinh"), (TOWN_OFFICE, "tb")):
            add_account(session, unit, email, AccountRole.SECRETARIAT, actor="test", now=clock.utc_now(), password=PASSWORDS[email])
    day, jobs = Day(date(2024, 2, 15)), Jobs()
    with serving(create_app(lambda: day.value, jobs=jobs), "127.0.0.1", port):
        yield Town(base_url, day, jobs, smtp_server)
        jobs.wait(120)
    jobs.shutdown()


def sign_in(page: Page, town: Town, email: str) -> None:
    page.goto(f"{town.base_url}/admin")
    page.fill("#user", email)
    page.fill("#password", PASSWORDS[email])
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(f"{town.base_url}/admin")


def target_input(page: Page, words: str):  # type: ignore[no-untyped-def]
    """The value box of the target whose row holds `words`."""
    return page.locator("#targets tbody tr", has_text=words).locator("input")


def stored_value(code: str) -> Decimal | None:
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == WARD)).one()
        return next(t.value for t in plan.targets if t.code == code)


def latest(unit: str) -> tuple[int, int]:
    """The unit's assignment in the ward's plan and its latest submission."""
    with session_scope() as session:
        assignment = _assignment(session, unit)
        submission = session.scalars(select(Submission).where(Submission.assignment_id == assignment.id).order_by(Submission.version.desc())).first()
        assert submission is not None
        return assignment.id, submission.id


def unit_reports(town: Town, unit: str, when: date, *, addition: str = "") -> int:
    """The unit's office sends its example report through the link in its latest email (HTTP, as a browser posts)."""
    data = submission_input(EXAMPLE / "submissions" / f"{unit}.yaml")
    if addition:
        data = replace(data, sections={**data.sections, "ket_qua": data.sections["ket_qua"] + " " + addition})
    address = {"ca": "congan", "qs": "quansu", "yt": "tramyte"}[unit.rsplit(".", 1)[1]] + "@giabinh.trangbang.example.gov.vn"
    link = link_in(town.smtp.messages(), address)
    with session_scope() as session:
        spec = form_spec(session, _assignment(session, unit), as_of=when)
    town.day.value = when
    with UnitOffice(town.base_url) as office:
        return office.report(link, spec, data)


def _assignment(session, unit: str) -> Assignment:  # type: ignore[no-untyped-def]
    """The unit's annual report duty in the ward's plan."""
    query = (
        select(Assignment)
        .join(Unit, Unit.id == Assignment.unit_id)
        .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
        .join(Plan, Plan.id == ReportDuty.plan_id)
        .where(Unit.code == unit, ReportDuty.code == "bao_cao_nam", Plan.key == WARD)
    )
    return session.scalars(query).one()


def test_a_ward_office_runs_its_part_of_the_cycle_in_the_browser(town: Town, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    desk = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    phone = browser.new_context(**PHONE)
    page, small = desk.new_page(), phone.new_page()
    for ctx in (desk, phone):
        ctx.set_default_timeout(20_000)
    sign_in(page, town, WARD_OFFICE)
    sign_in(small, town, WARD_OFFICE)
    home = page.locator("main")
    expect(home).to_contain_text("Dự thảo kế hoạch")
    expect(home).not_to_contain_text("tb.gialoc")
    shot(page, "ward-1-plans")

    # The draft: a loosened target is refused with the reason, nothing is saved; a tightened one is kept
    page.get_by_role("link", name="Dự thảo kế hoạch").click()
    expect(page).to_have_url(f"{town.base_url}/admin/plan/{WARD}")
    satisfaction = target_input(page, "hài lòng")
    expect(satisfaction).to_have_value("90")
    satisfaction.fill("85")
    page.get_by_role("button", name="Lưu dự thảo").click()
    expect(page.locator("div.error[role=alert]")).to_contain_text("Chưa lưu được")
    expect(page.locator("#targets")).to_contain_text("Chỉ tiêu ≥ 85 thấp hơn mức cấp trên giao (≥ 90, Kế hoạch 104/KH-UBND)")
    expect(page.locator("#targets")).to_contain_text("85")  # what was typed is kept on the page, with the reason beside it
    assert target_input(page, "hài lòng").get_attribute("aria-invalid") == "true"
    assert stored_value("hai_long") == Decimal(90)
    shot(page, "ward-2-loosened-refused")
    target_input(page, "hài lòng").fill("95")
    page.fill("#tasks\\.new\\.title", "Tổ chức đối thoại với Nhân dân về cải cách hành chính")
    page.fill("#report-recipients", "Ủy ban nhân dân thị xã Trảng Bàng (qua Phòng Nội vụ)\nThường trực Đảng ủy phường\nLưu: VT")  # its report's Nơi nhận
    page.get_by_role("button", name="Lưu dự thảo").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã lưu dự thảo")
    assert stored_value("hai_long") == Decimal(95)
    small.goto(f"{town.base_url}/admin/plan/{WARD}")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390, "the plan's page scrolls sideways on a phone"
    shot(small, "ward-3-draft-phone")

    # A report deadline after the ward's own deadline is refused
    due = page.locator("#duties tbody tr", has_text="Báo cáo").locator("input")
    due.fill("2024-11-30")
    page.get_by_role("button", name="Lưu dự thảo").click()
    expect(page.locator("#duties")).to_contain_text("Hạn 30/11/2024 muộn hơn hạn cấp trên giao cho đơn vị (30/10/2024, Kế hoạch 104/KH-UBND)")

    # The preview is the Word plan converted to PDF
    preview = page.request.get(f"{town.base_url}/admin/plan/{WARD}/preview.pdf", timeout=120_000)
    assert preview.status == 200 and preview.headers["content-type"] == "application/pdf" and preview.body()[:5] == b"%PDF-"

    # Issued with the number from its register: its three units are emailed their notices
    page.goto(f"{town.base_url}/admin/plan/{WARD}")
    page.fill("#number", "12")
    page.get_by_role("button", name="Ban hành kế hoạch").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã ban hành")
    town.jobs.wait(120)
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == WARD)).one()
        assert plan.status == PlanStatus.ISSUED and plan.number == "12" and plan.issued_on == date(2024, 2, 15)
    notices = [m for m in town.smtp.messages() if "@giabinh.trangbang" in str(m["To"]) and str(m["Subject"]).startswith("Giao nhiệm vụ")]
    assert {m["To"].addresses[0].addr_spec.split("@")[0] for m in notices} >= {"congan", "quansu", "tramyte"}
    page.reload()
    expect(page.locator("h1")).to_have_text("Kế hoạch số 12/KH-UBND")
    changes = page.locator("#changes")  # what the ward changed from the draft it received
    expect(changes).to_contain_text("90 → 95")
    expect(changes).to_contain_text("Thêm nhiệm vụ: Tổ chức đối thoại với Nhân dân về cải cách hành chính")
    shot(page, "ward-4-issued")

    # The units report; the office returns one with a comment, then accepts its corrected version
    for unit in UNITS:
        assert unit_reports(town, unit, date(2024, 10, 14)) == 1
    town.jobs.wait(60)
    assignment_id, _ = latest("tb.giabinh.qs")
    page.goto(f"{town.base_url}/admin/plans/{WARD}/bao_cao_nam")
    expect(page.locator("#units")).to_contain_text("Ban Chỉ huy Quân sự")
    shot(page, "ward-5-board")
    small.goto(f"{town.base_url}/admin/plans/{WARD}/bao_cao_nam")
    shot(small, "ward-5-board-phone")
    page.goto(f"{town.base_url}/admin/assignments/{assignment_id}")
    page.fill("#return-comment", "Đề nghị bổ sung số buổi tuyên truyền đã tổ chức.")
    page.get_by_role("button", name="Trả lại để bổ sung").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã trả lại báo cáo")
    town.jobs.wait(60)
    returned = [m for m in town.smtp.messages() if str(m["To"]).find("quansu@giabinh") >= 0 and "Trả lại" in str(m["Subject"])]
    assert returned, "the unit was not told its report was returned"
    assert unit_reports(town, "tb.giabinh.qs", date(2024, 10, 16), addition="Đã tổ chức 4 buổi tuyên truyền.") == 2
    page.goto(f"{town.base_url}/admin/assignments/{assignment_id}")
    expect(page.locator("main")).to_contain_text("Đã tổ chức 4 buổi tuyên truyền")
    page.get_by_role("button", name="Chấp nhận").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã chấp nhận")
    with session_scope() as session:
        assert session.get_one(Assignment, assignment_id).status == AssignmentStatus.ACCEPTED
    shot(page, "ward-6-accepted")

    # It consolidates and downloads its Word report, which went up to the town as its submission
    town.day.value = date(2024, 10, 24)
    page.goto(f"{town.base_url}/admin/plans/{WARD}/bao_cao_nam")
    page.get_by_role("button", name="Tổng hợp báo cáo").click()
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã bắt đầu tổng hợp")
    town.jobs.wait(300)
    page.reload()
    with page.expect_download() as download:
        page.locator("a", has_text=re.compile(r"\.docx|Word")).first.click()
    word = Path(download.value.path())
    with zipfile.ZipFile(io.BytesIO(word.read_bytes())) as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    assert "Gia Bình" in body and "BÁO CÁO" in body
    assert "- Ủy ban nhân dân thị xã Trảng Bàng (qua Phòng Nội vụ);" in body and "- Thường trực Đảng ủy phường;" in body  # the Nơi nhận it set
    shot(page, "ward-7-consolidated")

    # The town's office sees the ward's report on its own board
    town_page = desk.new_page()
    desk.clear_cookies()
    sign_in(town_page, town, TOWN_OFFICE)
    town_page.goto(f"{town.base_url}/admin/plans/{TOWN}/bao_cao_nam")
    ward_row = town_page.locator('#units tbody tr[data-unit="tb.giabinh"]')
    expect(ward_row).to_have_attribute("data-state", "submitted")
    expect(ward_row).to_contain_text("Đã nộp")
    with session_scope() as session:
        ward_reports = session.scalars(select(Report).join(Unit, Unit.id == Report.unit_id).where(Unit.code == "tb.giabinh")).all()
    assert ward_reports
    shot(town_page, "town-8-board")
    desk.close()
    phone.close()
