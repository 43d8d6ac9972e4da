"""The secretariat amends its issued plan from the plan's page, in a real headless Chromium: it downloads the plan
file, edits it into an amendment, uploads it; a file with a problem is refused whole, a good one runs the
`amend-plan` flow and the units concerned are emailed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import BrowserContext, expect
from sqlalchemy import select

from models.db import session_scope
from models.outbox import EmailKind, OutboundEmail
from models.plan import Plan, PlanAmendment
from tests.portal.conftest import LivePortal
from tests.portal.test_browser import browser, context, login, shot  # noqa: F401 (the browser fixtures)

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_secretariat_amends_the_plan_on_its_page(live_portal: LivePortal, context: BrowserContext, tmp_path: Path) -> None:  # noqa: F811
    live = live_portal
    live.day.value = date(2024, 6, 3)
    page = context.new_page()
    login(page, live)
    page.goto(f"{live.base_url}/admin/plan/{live.plan}")
    card = page.locator("section#amend")
    expect(card).to_contain_text("Sửa đổi, bổ sung kế hoạch")
    shot(page, "admin-5-amend-card")

    with page.expect_download() as fetched:
        card.get_by_role("link", name="Tải tệp kế hoạch hiện hành").click()
    document = yaml.safe_load(Path(fetched.value.path()).read_text(encoding="utf-8"))
    target = next(t for t in document["plan"]["targets"] if t.get("comparator") in ("ge", "gt") and not t.get("allocations"))
    target["value"] = target["value"] + 1

    # A file whose amendment is dated before the plan: refused whole, nothing changes
    bad = tmp_path / "sai.yaml"
    bad.write_text(yaml.safe_dump({"amendment": {"number": "120", "issued_on": "2024-01-02"}, **document}, allow_unicode=True), encoding="utf-8")
    card.locator("input[type=file]").set_input_files(str(bad))
    card.get_by_role("button", name="Sửa đổi, bổ sung kế hoạch").click()
    expect(page.locator("h1")).to_contain_text("Chưa sửa đổi được kế hoạch theo tệp sai.yaml")
    expect(page.locator("ul.error")).to_contain_text("amendment.issued_on: dated 02/01/2024, before the plan")
    with session_scope() as session:
        assert session.scalars(select(PlanAmendment)).all() == []

    good = tmp_path / "sua-doi.yaml"
    good.write_text(yaml.safe_dump({"amendment": {"number": "120", "issued_on": "2024-06-03"}, **document}, allow_unicode=True), encoding="utf-8")
    page.goto(f"{live.base_url}/admin/plan/{live.plan}")
    card = page.locator("section#amend")
    card.locator("input[type=file]").set_input_files(str(good))
    card.get_by_role("button", name="Sửa đổi, bổ sung kế hoạch").click()
    expect(page).to_have_url(f"{live.base_url}/admin/plan/{live.plan}?ok=amended")
    expect(page.locator("p.ok[role=status]")).to_contain_text("Đã nhận văn bản sửa đổi, bổ sung")
    live.jobs.wait(120)
    page.reload()
    expect(page.locator("section#versions")).to_contain_text("Phiên bản 2: Kế hoạch số 120/")
    shot(page, "admin-6-amended")

    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == live.plan)).one()
        assert plan.version == 2
        assert {t.code: t.value for t in plan.targets}[target["code"]] == target["value"]
        notices = session.scalars(select(OutboundEmail).where(OutboundEmail.kind == EmailKind.AMENDMENT)).all()
    assert notices and all(n.subject.startswith("Sửa đổi, bổ sung Kế hoạch số") for n in notices)
    assert len({tuple(n.email_to) for n in notices}) == len(notices)  # one notice a unit
