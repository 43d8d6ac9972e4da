"""Reports going up keep their own day, and the upper level's review is honoured.

The tree (builders.make_unit_tree): ROOT → U1, U2 → U1.1, U1.2, U2.1, U2.2. The root's 2025 plan
(report due Thu 30/10/2025) is cascaded on 07/04/2025; U1 and U2 issue their implementing plans at
once, so their units report to them by Thu 23/10/2025, and U1 and U2 consolidate on their own
milestone day, Fri 24/10/2025 (the first working day after their deadline).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select

from cascade import clock
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.record_submission import submit_report
from flows.send_reminders import send_reminders
from models.assignment import Assignment
from models.db import session_scope
from models.plan import Plan, ReportDuty
from models.report import Report
from models.submission import Channel, ReviewAction, Submission
from models.unit import Unit
from portal.app import create_app
from portal.jobs import Jobs
from tasks.intake.review import review_submission
from tasks.plans.contexts import portal_link
from tasks.plans.lookup import find_assignment, find_plan
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.flows.helpers import submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEY = "12-kh-sxd-2025"
CASCADED_ON = date(2025, 4, 7)
LEAF_DUE = date(2025, 10, 23)
WARD_DAY = date(2025, 10, 24)  # U1's and U2's own consolidation milestone
ROOT_DUE = date(2025, 10, 30)
TOP_DAY = date(2025, 11, 5)  # the root consolidates four working days after its deadline


@pytest.fixture()
def tree(workspace, smtp_server):  # type: ignore[no-untyped-def]
    make_unit_tree(depth=3, width=2)
    make_plan(key=KEY, due_on=ROOT_DUE, reminder_days=[7, 1], overdue_days=[1, 7])
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == KEY)).one()
        plan.number, plan.issued_on, plan.year = "12", date(2025, 4, 2), 2025
        plan.duties[0].cutoff_on = date(2025, 10, 15)
        plan.cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}]}
    cascade_plan(KEY, CASCADED_ON)
    return smtp_server


def report(unit: str, day: date, houses: int = 100):  # type: ignore[no-untyped-def]
    figures = {"dan_van_kheo": 1, "nha_o_xa_hoi": houses, "nuoc_sach": (900, 1000), "hai_long": 96}
    return submit_report(submission(KEY, unit, key=f"{unit}-{day}-{houses}", **figures), day)


def upward_versions(unit: str) -> list[tuple[int, date]]:
    """(version, Vietnam date received) of the unit's consolidated reports to the root's duty."""
    with session_scope() as session:
        rows = session.execute(
            select(Submission.version, Submission.received_at)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Plan.key == KEY, Unit.code == unit, Submission.channel == Channel.CONSOLIDATION)
            .order_by(Submission.version)
        ).all()
    return [(version, clock.local_date(received_at)) for version, received_at in rows]


def test_intermediate_reports_count_on_their_own_day_when_the_top_consolidates_later(tree) -> None:
    for unit, day in [("U1.1", date(2025, 10, 20)), ("U1.2", date(2025, 10, 21)), ("U2.1", date(2025, 10, 22))]:
        report(unit, day)
    report("U2.2", date(2025, 10, 27))  # late for U2 (23/10), but before U2's own deadline upward (30/10)

    outcome = consolidate(KEY, "bao_cao_nam", TOP_DAY)
    r = outcome.result
    assert [u.code for u in r.submitted] == ["U1", "U2"]
    assert r.late == () and [u.code for u in r.on_time] == ["U1", "U2"]
    assert {u.code: u.submitted_on for u in r.submitted} == {"U1": WARD_DAY, "U2": WARD_DAY}
    assert r.timeliness == Decimal(100)
    # U1 had everything on its day: one version. U2's came without U2.2 on its day, then with it.
    assert upward_versions("U1") == [(1, WARD_DAY)]
    assert upward_versions("U2") == [(1, WARD_DAY), (2, TOP_DAY)]
    houses = next(t for t in r.results if t.rule.code == "nha_o_xa_hoi")
    assert houses.figure == Decimal(400)  # the latest versions: U2.2 included
    with session_scope() as session:
        stored = session.get_one(Report, outcome.report_id).summary
        assert stored["late"] == [] and stored["levels"][0]["on_time"] == 2
    markdown = Path(outcome.files[0]).read_text(encoding="utf-8")
    assert "Đơn vị báo cáo chậm: không có." in markdown

    # Again on the same day, or a day later: nothing new upward, nothing late.
    consolidate(KEY, "bao_cao_nam", TOP_DAY)
    again = consolidate(KEY, "bao_cao_nam", date(2025, 11, 6)).result
    assert again.late == ()
    assert upward_versions("U1") == [(1, WARD_DAY)] and upward_versions("U2") == [(1, WARD_DAY), (2, TOP_DAY)]


def test_a_unit_that_already_consolidated_keeps_that_day(tree) -> None:
    for unit in ["U1.1", "U1.2", "U2.1", "U2.2"]:
        report(unit, date(2025, 10, 20))
    consolidate(f"{KEY}--U1", "bao_cao_nam", date(2025, 10, 22), all_levels=False)  # U1 reports early, by hand
    consolidate(f"{KEY}--U2", "bao_cao_nam", date(2025, 10, 28), all_levels=False)  # U2 after its own day, before its deadline
    r = consolidate(KEY, "bao_cao_nam", TOP_DAY).result
    assert r.late == ()
    assert upward_versions("U1") == [(1, date(2025, 10, 22))]
    assert upward_versions("U2") == [(1, date(2025, 10, 28))]  # not back-dated to 24/10
    with session_scope() as session:
        days = sorted(session.scalars(select(Report.as_of).join(Plan, Plan.issuer_id == Report.unit_id).where(Plan.key == f"{KEY}--U2")))
    assert days == [date(2025, 10, 28), TOP_DAY]


def test_a_unit_with_nothing_on_its_day_is_late_as_its_units_were(tree) -> None:
    report("U1.1", date(2025, 10, 20))
    report("U2.1", date(2025, 11, 3))  # U2's only report came after U2's own deadline upward
    r = consolidate(KEY, "bao_cao_nam", TOP_DAY).result
    assert [u.code for u in r.on_time] == ["U1"] and [u.code for u in r.late] == ["U2"]
    assert upward_versions("U2") == [(1, TOP_DAY)]


# ---------------------------------------------------------------------------------------------
# Review: a returned version waits for the unit's corrected one


def latest_submission_id(unit: str) -> int:
    with session_scope() as session:
        return session.scalars(
            select(Submission.id).join(Assignment).join(Unit, Unit.id == Assignment.unit_id).where(Unit.code == unit).order_by(Submission.version.desc())
        ).first()  # type: ignore[return-value]


def reminders_to(smtp, unit: str, since: int) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [m for m in smtp.messages()[since:] if f"{unit.lower()}@" in str(m["To"]) and str(m["Subject"]).startswith(("Nhắc", "Quá hạn"))]


def test_a_returned_report_waits_for_its_correction_and_keeps_its_first_day(tree) -> None:
    ward_plan = f"{KEY}--U1"
    report("U1.1", date(2025, 10, 20), houses=100)
    report("U1.2", date(2025, 10, 21), houses=50)
    review_submission(latest_submission_id("U1.1"), ReviewAction.RETURN, reviewer="U1", as_of=date(2025, 10, 21), comment="Thiếu số liệu nhà ở quý IV.")

    # Left out of the figures and listed as returned: neither submitted nor missing.
    outcome = consolidate(ward_plan, "bao_cao_nam", date(2025, 10, 22), all_levels=False)
    r = outcome.result
    assert [u.code for u in r.submitted] == ["U1.2"] and r.missing == () and [u.code for u in r.returned] == ["U1.1"]
    assert next(t for t in r.results if t.rule.code == "nha_o_xa_hoi").figure == Decimal(50)
    markdown = Path(outcome.files[0]).read_text(encoding="utf-8")
    assert "Đơn vị bị trả lại, chờ bổ sung: Tổ công tác số 1 - Văn phòng Sở (lần gửi 1)." in markdown
    word = next(f for f in outcome.files if f.endswith(".docx"))
    assert "Đơn vị bị trả lại, chờ bổ sung: Tổ công tác số 1 - Văn phòng Sở (lần gửi 1)." in [p.text for p in Document(word).paragraphs]
    with session_scope() as session:
        assert session.get_one(Report, outcome.report_id).summary["returned"] == ["U1.1"]

    # Reminded, as returned, until it resubmits; the unit that was not returned is not.
    before = len(tree.messages())
    send_reminders(date(2025, 10, 22))  # before-1
    send_reminders(date(2025, 10, 24))  # overdue-1
    sent = reminders_to(tree, "U1.1", before)
    assert len(sent) == 2 and not reminders_to(tree, "U1.2", before)
    assert all(str(m["Subject"]).startswith("Nhắc gửi lại báo cáo bị trả lại") for m in sent)
    body = text_part(sent[1])
    assert "đã bị trả lại ngày 21/10/2025" in body and "Thiếu số liệu nhà ở quý IV." in body and "quá hạn" not in body

    report("U1.1", date(2025, 10, 27), houses=120)
    before = len(tree.messages())
    send_reminders(date(2025, 10, 30))  # overdue-7: nothing for U1.1 now
    assert not reminders_to(tree, "U1.1", before)

    # The new version counts, and on time: timeliness counts from the first version (20/10).
    r = consolidate(ward_plan, "bao_cao_nam", date(2025, 10, 28), all_levels=False).result
    assert [u.code for u in r.submitted] == ["U1.1", "U1.2"] and r.returned == () and r.late == ()
    assert {u.code: u.submitted_on for u in r.submitted}["U1.1"] == date(2025, 10, 20)
    assert next(t for t in r.results if t.rule.code == "nha_o_xa_hoi").figure == Decimal(170)
    # A replay of the day it was returned still leaves it out.
    r = consolidate(ward_plan, "bao_cao_nam", date(2025, 10, 22), all_levels=False).result
    assert [u.code for u in r.returned] == ["U1.1"]


def test_a_ward_whose_report_is_its_consolidation_sees_that_report_first_not_an_empty_form(tree) -> None:
    for unit in ("U2.1", "U2.2"):
        report(unit, date(2025, 10, 20), houses=150)
    consolidate(KEY, "bao_cao_nam", TOP_DAY)
    with session_scope() as session:
        link = portal_link(find_assignment(session, find_plan(session, KEY), "bao_cao_nam", "U2"))
    jobs = Jobs()
    with TestClient(create_app(lambda: TOP_DAY, jobs=jobs), base_url="http://127.0.0.1:8765") as client:
        html = unescape(client.get("/u/" + link.rsplit("/u/", 1)[1]).text)
    jobs.shutdown()
    standing = html[html.index("Tình trạng báo cáo") : html.index("</section>", html.index("Tình trạng báo cáo"))]
    assert "được <b>tổng hợp từ báo cáo của các đơn vị trực thuộc</b> ngày 24/10/2025 (lần 1), trong hạn" in standing
    assert '<td>Nhà ở xã hội hoàn thành</td><td class="num">300 căn</td>' in standing  # the report itself: two units' 150 houses
    # The form is there to send another report instead, folded away below the consolidated one.
    folded = html.index('<details class="replace">')
    assert html.index("Tình trạng báo cáo") < folded < html.index("Nhập báo cáo") < html.index("</details>", html.index("Tải lên và gửi báo cáo"))
