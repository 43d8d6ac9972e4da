"""The secretariat closes one duty of its plan from the plan's page, in a real headless Chromium: the duty ends on
the portal's day, its pending milestones are skipped and no reminder goes out for it afterwards."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import select

from models.db import session_scope
from models.milestones import Milestone, MilestoneStatus
from models.plan import ReportDuty
from tasks.followup.reminders import find_unreported
from tests.portal.conftest import LivePortal
from tests.portal.test_browser import browser, context, login, shot  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_secretariat_closes_a_duty_on_the_plan_page(live_portal: LivePortal, context: BrowserContext) -> None:  # noqa: F811
    live = live_portal
    live.day.value = date(2024, 11, 19)
    page = context.new_page()
    login(page, live)
    page.goto(f"{live.base_url}/admin/plan/{live.plan}")
    section = page.locator("section#close-duty")
    expect(section).to_contain_text("từ ngày 19/11/2024")

    # Without the confirmation ticked the browser does not send the form.
    button = section.get_by_role("button", name="Đóng báo cáo: Báo cáo kết quả công tác dân vận chính quyền năm 2024")
    button.click()
    expect(page).to_have_url(f"{live.base_url}/admin/plan/{live.plan}")
    with session_scope() as session:
        assert session.scalar(select(ReportDuty.closed_on)) is None

    section.get_by_label("Đóng “Báo cáo kết quả công tác dân vận chính quyền năm 2024” từ ngày 19/11/2024").check()
    button.click()
    expect(page).to_have_url(f"{live.base_url}/admin/plan/{live.plan}?ok=duty-closed")
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã đóng báo cáo")
    expect(page.locator("#closed-duties")).to_contain_text("năm 2024: đóng ngày 19/11/2024 (Đóng ngày 19/11/2024)")
    expect(page.get_by_role("link", name="Theo dõi: Báo cáo kết quả công tác dân vận chính quyền năm 2024")).to_have_count(1)  # still followed
    expect(page.locator("section#close-duty")).to_have_count(0)  # its only duty is closed
    shot(page, "admin-4-duty-closed")

    with session_scope() as session:
        duty = session.scalars(select(ReportDuty)).one()
        assert (duty.closed_on, duty.closed_note) == (date(2024, 11, 19), "Đóng ngày 19/11/2024")
        pending = session.scalars(select(Milestone).where(Milestone.status == MilestoneStatus.PENDING)).all()
    assert pending == []
    assert find_unreported.fn(date(2024, 11, 20), [duty.id]) == []  # "remind now" on the board has no one to remind

    # A second post (a stale page, or a page on another site without the CSRF pair) changes nothing.
    refused = page.request.post(f"{live.base_url}/admin/plan/{live.plan}/close-duty", form={"duty": "bao_cao_nam"})
    assert refused.status == 403
