"""The secretariat's dashboard over HTTP: login, units × state with rates per level, review, and the
buttons that start the reminder and consolidation flows."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.audit import AuditAction, AuditEvent
from models.db import session_scope
from models.report import Report
from models.submission import Review, ReviewAction, ReviewStatus, Submission
from portal.app import create_app
from portal.jobs import Jobs
from tests.flows.helpers import by_subject, text_part
from tests.portal.conftest import PASSWORD, Portal
from tests.portal.test_unit_pages import good_fields, post, versions

pytestmark = pytest.mark.usefixtures("prefect_harness")
BOARD = "/admin/plans/74-kh-sxd-2024/bao_cao_nam"


def states(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-unit="([^"]+)" data-state="([^"]+)">', html))


def assignment_id(unit: str) -> int:
    with session_scope() as session:
        return session.scalar(select(Assignment.id).where(Assignment.unit.has(code=unit)))  # type: ignore[return-value]


def test_the_dashboard_needs_the_configured_login(portal: Portal) -> None:
    assert portal.client.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"
    assert portal.client.get(BOARD, follow_redirects=False).status_code == 303
    page = portal.client.get("/admin/login")
    assert 'name="user" value=""' in page.text  # nothing pre-filled
    wrong = portal.client.post("/admin/login", data={"csrf": portal.csrf(page.text), "user": "vanphong", "password": "sai"})
    assert wrong.status_code == 401 and "không đúng" in unescape(wrong.text) and 'name="user" value="vanphong"' in wrong.text
    portal.client.cookies.set("cascade_session", "dmFucGhvbmd8OTk5OTk5OTk5OXxmb3JnZWQ=", path="/admin")  # 'vanphong|9999999999|forged'
    assert portal.client.get("/admin", follow_redirects=False).status_code == 303
    portal.client.cookies.clear()
    portal.login()
    home = portal.client.get("/admin")
    assert home.status_code == 200 and "74/KH-SXD" in home.text and BOARD in home.text


def level_cells(html: str) -> list[str]:
    """The cells of the board's table of rates per level, in order."""
    levels = re.search(r'<table class="grid stack" id="levels">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)  # type: ignore[union-attr]
    return re.findall(r"<td[^>]*>([^<]*)</td>", levels)


def test_the_board_shows_each_units_state_and_the_rates_per_level(portal: Portal) -> None:
    post(portal, portal.path("U1"), good_fields(), "submit")  # on time
    post(portal, portal.path("U2"), {"s-tinh_hinh": "Đang soạn"}, "save")  # a draft
    portal.client.get(portal.path("U3"))  # opened only
    portal.login()
    board = portal.client.get(BOARD)
    assert board.status_code == 200
    assert states(board.text) == {"U1": "submitted", "U2": "draft", "U3": "opened", "U4": "not_opened"}
    cells = level_cells(board.text)
    assert cells[:6] == ["1", "4", "1", "1", "25%", "25%"]
    only_drafts = portal.client.get(BOARD + "?state=draft")
    assert set(states(only_drafts.text)) == {"U2"}
    # The reports coming in, drawn on the server (one line for the one level), and the duty's calendar.
    page = unescape(board.text)
    chart = page[page.index("<svg") : page.index("</figure>")]
    assert chart.count("<polyline") == 1 and "Cấp 1: 1/4 đơn vị đã nộp, 1 đúng hạn (hạn 30/10/2024" in chart
    calendar = page[page.index('id="calendar"') : page.index("</table>", page.index('id="calendar"'))]
    assert "Nhắc trước hạn 7 ngày" in calendar and "30/10/2024" in calendar and 'data-status="pending"' in calendar

    portal.day.value = date(2024, 11, 2)  # past the due date 30/10: nothing submitted is overdue
    assert states(portal.client.get(BOARD).text) == {"U1": "submitted", "U2": "overdue", "U3": "overdue", "U4": "overdue"}
    post(portal, portal.path("U4"), good_fields("U4"), "submit")
    assert states(portal.client.get(BOARD).text)["U4"] == "late"


def test_returning_a_report_emails_the_comment_and_the_resubmission_is_the_next_version(portal: Portal, smtp_server) -> None:
    post(portal, portal.path("U2"), good_fields("U2"), "submit")
    portal.login()
    page = portal.client.get(f"/admin/assignments/{assignment_id('U2')}")
    assert page.status_code == 200 and "Xem xét lần gửi 1" in page.text
    (version,) = versions("U2")
    review_url = f"/admin/submissions/{version.id}/review"
    token = portal.csrf(page.text)
    empty = portal.client.post(review_url, data={"csrf": token, "action": "return", "comment": "  "})
    assert empty.status_code == 409 and "Cần ghi rõ lý do trả lại" in unescape(empty.text)
    comment = "Bổ sung số liệu nhà ở xã hội quý IV; phần kết quả cần nêu rõ số hồ sơ trễ hạn."
    done = portal.client.post(review_url, data={"csrf": token, "action": "return", "comment": comment}, follow_redirects=False)
    assert done.status_code == 303
    portal.jobs.wait(60)
    with session_scope() as session:
        assert session.get_one(Assignment, version.assignment_id).status == AssignmentStatus.RETURNED
        assert session.get_one(Submission, version.id).review_status == ReviewStatus.RETURNED
    (returned,) = by_subject(smtp_server.messages(), "Trả lại để bổ sung")
    assert comment in text_part(returned) and portal.link("U2") in text_part(returned)
    board = portal.client.get(BOARD).text
    assert states(board)["U2"] == "returned"
    assert level_cells(board)[:3] == ["1", "4", "0"]  # a returned report is not counted as reported until corrected

    unit_page = portal.client.get(portal.path("U2"))
    assert comment in unescape(unit_page.text) and 'value="1.234"' in unit_page.text  # corrected from what was sent
    corrected = {**good_fields("U2"), "v-nha_o_xa_hoi": "1.300", "s-ket_qua": "Hoàn thành 812 hồ sơ đúng hạn."}
    assert post(portal, portal.path("U2"), corrected, "submit").status_code == 303
    assert [v.version for v in versions("U2")] == [1, 2]
    # The reviewer sees what the correction changed; the unit's receipt lists it too.
    review_page = unescape(portal.client.get(f"/admin/assignments/{assignment_id('U2')}").text)
    changes = review_page[review_page.index("Thay đổi so với lần gửi 1") : review_page.index("</div>", review_page.index("Thay đổi so với lần gửi 1"))]
    assert '<td>Nhà ở xã hội hoàn thành</td><td class="num"><del>1.234 căn</del></td><td class="num"><ins>1.300 căn</ins></td>' in changes
    assert "Hoàn thành <del>788 </del><ins>812 </ins>hồ sơ đúng hạn." in changes
    assert "Tình hình chung" not in changes  # unchanged sections are not listed
    portal.jobs.wait(60)
    receipt = text_part(by_subject(smtp_server.messages(), "Đã nhận")[-1])
    assert "So với lần gửi thứ 1:" in receipt and "- Nhà ở xã hội hoàn thành: 1.234 căn → 1.300 căn" in receipt
    assert "- Nội dung đã sửa: Kết quả thực hiện." in receipt
    board = portal.client.get(BOARD).text
    assert states(board)["U2"] == "submitted" and level_cells(board)[:4] == ["1", "4", "1", "1"]  # on time: from the first version
    second = versions("U2")[1]
    stale = portal.client.post(review_url, data={"csrf": token, "action": "accept"})
    assert stale.status_code == 409 and "lần gửi mới hơn" in unescape(stale.text)
    accepted = portal.client.post(f"/admin/submissions/{second.id}/review", data={"csrf": token, "action": "accept"}, follow_redirects=False)
    assert accepted.status_code == 303
    assert states(portal.client.get(BOARD).text)["U2"] == "accepted"


def test_a_score_is_adjusted_with_its_reason_and_both_are_recorded(portal: Portal) -> None:
    post(portal, portal.path("U1"), good_fields(), "submit")
    portal.login()
    (version,) = versions("U1")
    token = portal.csrf(portal.client.get("/admin").text)
    url = f"/admin/submissions/{version.id}/review"
    no_reason = portal.client.post(url, data={"csrf": token, "action": "adjust_score", "score": "80"})
    assert no_reason.status_code == 409 and "lý do điều chỉnh" in unescape(no_reason.text)
    out_of_range = portal.client.post(url, data={"csrf": token, "action": "adjust_score", "score": "180", "comment": "x"})
    assert out_of_range.status_code == 409
    ok = portal.client.post(
        url, data={"csrf": token, "action": "adjust_score", "score": "85,5", "comment": "Chưa có minh chứng tiêu chí 3."}, follow_redirects=False
    )
    assert ok.status_code == 303
    with session_scope() as session:
        stored = session.get_one(Submission, version.id)
        assert (stored.self_score, stored.reviewed_score) == (Decimal("92.5"), Decimal("85.5"))
        (review,) = session.scalars(select(Review)).all()
        assert (review.action, review.score_before, review.score_after, review.reviewer) == (
            ReviewAction.ADJUST_SCORE,
            Decimal("92.5"),
            Decimal("85.5"),
            "vanphong",
        )
        assert review.comment == "Chưa có minh chứng tiêu chí 3."
    page = unescape(re.sub(r"<[^>]+>", "", portal.client.get(f"/admin/assignments/{assignment_id('U1')}").text))
    assert "cấp trên điều chỉnh: 85,5 điểm" in page and "từ 92,5 thành 85,5 điểm" in page


def test_remind_now_reaches_every_unit_that_has_not_reported_once_a_day(portal: Portal, smtp_server) -> None:
    post(portal, portal.path("U1"), good_fields(), "submit")
    portal.login()
    token = portal.csrf(portal.client.get(BOARD).text)
    for _ in range(2):
        started = portal.client.post(BOARD + "/remind", data={"csrf": token}, follow_redirects=False)
        assert started.status_code == 303
        portal.jobs.wait(120)
    assert [job.state for job in portal.jobs.recent][:2] == ["completed", "completed"]
    assert all(job.flow_run_id for job in portal.jobs.recent)  # each is a flow run the Prefect UI shows
    reminders = by_subject(smtp_server.messages(), "Nhắc")
    assert sorted(m["To"].addresses[0].username for m in reminders) == ["u2", "u3", "u4"]
    runs = len(portal.jobs.recent)
    assert portal.client.post("/admin/plans/74-kh-sxd-2024/khong_co/remind", data={"csrf": token}).status_code == 404
    assert portal.client.post(BOARD + "/xoa-het", data={"csrf": token}).status_code == 404
    assert len(portal.jobs.recent) == runs  # nothing was started


def test_consolidate_starts_the_flow_and_the_report_is_downloaded(portal: Portal) -> None:
    for unit in ("U1", "U2"):
        post(portal, portal.path(unit), good_fields(unit), "submit")
    portal.login()
    token = portal.csrf(portal.client.get(BOARD).text)
    assert portal.client.post(BOARD + "/consolidate", data={"csrf": token}, follow_redirects=False).status_code == 303
    portal.jobs.wait(180)
    assert portal.jobs.recent[0].state == "completed", portal.jobs.recent[0].error
    with session_scope() as session:
        report = session.scalars(select(Report)).one()
        files = list(report.files)
    board = portal.client.get(BOARD)
    assert "Tổng hợp ngày 20/10/2024" in board.text and "đầy đủ 50%" in unescape(board.text)
    word = next(i for i, f in enumerate(files) if f.endswith(".docx"))
    download = portal.client.get(f"/admin/reports/{report.id}/{word}")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    assert portal.client.get(f"/admin/reports/{report.id}/{len(files)}").status_code == 404
    assert portal.client.get(f"/admin/reports/{report.id}/-1").status_code == 404
    portal.client.cookies.clear()
    assert portal.client.get(f"/admin/reports/{report.id}/{word}", follow_redirects=False).status_code == 303


def test_a_burst_of_deliveries_waiting_to_start_is_one_flow_run() -> None:
    import threading

    from prefect import flow

    from portal.jobs import Jobs

    gate, calls = threading.Event(), []

    @flow(name="blocking")
    def blocking() -> None:
        gate.wait(30)

    @flow(name="counted")
    def counted(day: date) -> None:
        calls.append(day)

    jobs = Jobs()
    try:
        first = jobs.start("blocking", blocking)  # holds the worker
        queued = [jobs.start("deliver-outbox", counted, date(2024, 10, 20)) for _ in range(5)]
        other_day = jobs.start("deliver-outbox", counted, date(2024, 10, 21))
        assert all(job is queued[0] for job in queued) and other_day is not queued[0]
        gate.set()
        jobs.wait(60)
        assert calls == [date(2024, 10, 20), date(2024, 10, 21)]
        assert first.state == queued[0].state == "completed" and queued[0].flow_run_id
    finally:
        gate.set()
        jobs.shutdown()


def test_every_sign_in_decision_and_flow_started_by_hand_is_in_the_audit_log(portal: Portal) -> None:
    """Who did what, when, from where: a failed and a good sign-in, a return with its comment, an adjusted
    score, a reminder started by hand and a sign-out, shown newest first on the admin's page, and kept
    in the database."""
    page = portal.client.get("/admin/login")
    portal.client.post("/admin/login", data={"csrf": portal.csrf(page.text), "user": "vanphong", "password": "sai"})
    post(portal, portal.path("U1"), good_fields(), "submit")
    portal.login()
    (version,) = versions("U1")
    token = portal.csrf(portal.client.get(f"/admin/assignments/{assignment_id('U1')}").text)
    review_url = f"/admin/submissions/{version.id}/review"
    comment = "Bổ sung số liệu quý IV."
    assert portal.client.post(review_url, data={"csrf": token, "action": "return", "comment": comment}, follow_redirects=False).status_code == 303
    adjust = {"csrf": token, "action": "adjust_score", "score": "80", "comment": "Chưa đạt tiêu chí 2."}
    assert portal.client.post(review_url, data=adjust, follow_redirects=False).status_code == 303
    assert portal.client.post(BOARD + "/remind", data={"csrf": token}, follow_redirects=False).status_code == 303
    portal.jobs.wait(60)

    html = unescape(portal.client.get("/admin/audit").text)
    table = html[html.index('id="audit"') : html.index("</table>", html.index('id="audit"'))]
    acts = re.findall(r'<tr data-action="(\w+)">', table)
    assert acts == ["remind_now", "review", "review", "sign_in", "sign_in_failed"]  # newest first
    assert "Xem xét báo cáo: trả lại" in table and comment in table and "74/KH-SXD · bao_cao_nam · Văn phòng Sở · lần gửi 1" in table
    assert "Xem xét báo cáo: điều chỉnh điểm" in table and "(80 điểm)" in table
    assert "testclient" in table  # the client address (TestClient's)
    only_reviews = unescape(portal.client.get("/admin/audit?action=review").text)
    assert re.findall(r'<tr data-action="(\w+)">', only_reviews) == ["review", "review"]
    assert portal.client.get("/admin/audit?action=nonsense").status_code == 404

    portal.client.post("/admin/logout", data={"csrf": token})
    with session_scope() as session:
        kept = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [(e.actor, str(e.action)) for e in kept][-1] == ("vanphong", "sign_out")
    assert kept[0].actor == "vanphong" and kept[0].action == AuditAction.SIGN_IN_FAILED and kept[0].as_of is None
    assert portal.client.get("/admin/audit", follow_redirects=False).status_code == 303  # signed out: the log is not shown


def test_failed_sign_ins_are_counted_in_the_database_so_a_restart_does_not_forget_them(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three wrong passwords with a block at three: the next try is refused (429), the right password too, and
    also by a new portal process (a restart: nothing kept in memory); once the window has passed, it signs in."""
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_BLOCK", "3")
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_DELAY_SECONDS", "0")
    get_settings.cache_clear()
    token = portal.csrf(portal.client.get("/admin/login").text)
    for _ in range(3):
        assert portal.client.post("/admin/login", data={"csrf": token, "user": "vanphong", "password": "sai"}).status_code == 401
    good = {"csrf": token, "user": "vanphong", "password": PASSWORD}
    assert portal.client.post("/admin/login", data=good, follow_redirects=False).status_code == 429

    restarted = Jobs()
    with TestClient(create_app(lambda: portal.day.value, jobs=restarted), base_url="http://127.0.0.1:8765") as client:
        fresh = portal.csrf(client.get("/admin/login").text)
        assert client.post("/admin/login", data={**good, "csrf": fresh}, follow_redirects=False).status_code == 429
        with session_scope() as session:  # fifteen minutes later
            for event in session.scalars(select(AuditEvent)):
                event.at -= timedelta(minutes=16)
        assert client.post("/admin/login", data={**good, "csrf": fresh}, follow_redirects=False).status_code == 303
    restarted.shutdown()
