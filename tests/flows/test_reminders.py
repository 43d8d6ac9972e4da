from datetime import date
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from cascade.settings import get_settings
from flows.record_submission import submit_report
from flows.send_reminders import send_reminders
from models.db import session_scope
from models.outbox import EmailKind, OutboundEmail
from portal.app import create_app
from tests.flows.helpers import by_subject, submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_nothing_before_the_first_offset(cascaded, smtp_server) -> None:
    queued, _ = send_reminders(date(2024, 10, 22))
    assert queued == 0 and len(smtp_server.messages()) == 4


def test_reminders_are_threaded_to_the_assignment_notice(cascaded, smtp_server) -> None:
    queued, tally = send_reminders(date(2024, 10, 23))
    assert queued == 4 and tally.sent == 4
    messages = smtp_server.messages()
    notices = {m["To"].addresses[0].username: m for m in by_subject(messages, "Giao nhiệm vụ")}
    reminders = by_subject(messages, "Nhắc hạn báo cáo")
    assert len(reminders) == 4
    for reminder in reminders:
        notice = notices[reminder["To"].addresses[0].username]
        assert reminder["In-Reply-To"] == notice["Message-ID"]
        assert notice["Message-ID"] in reminder["References"]
        assert reminder["Message-ID"] != notice["Message-ID"]
        assert "còn 7 ngày, hạn 30/10/2024" in reminder["Subject"]
        assert "ngày 23 tháng 10 năm 2024" in text_part(reminder)
        # The unit's form is not sent again: the reminder links to it on the unit's page, where the
        # portal makes it afresh, the same sheets as the file that came with the notice.
        assert list(reminder.iter_attachments()) == []
        [link] = [line.split(": ", 1)[1] for line in text_part(reminder).splitlines() if line.startswith("Biểu mẫu báo cáo (Excel) của đơn vị tải về tại: ")]
        assert link.startswith(get_settings().portal_base_url) and link.endswith("/bieu-mau.xlsx")
        with TestClient(create_app(lambda: date(2024, 10, 23))) as portal:
            download = portal.get(link.removeprefix(get_settings().portal_base_url))
        assert download.status_code == 200
        [attached] = [part.get_content() for part in notice.iter_attachments() if part.get_filename().endswith(".xlsx")]
        assert _cells(download.content) == _cells(attached)
        assert "gửi kèm lại" not in text_part(reminder)


def _cells(workbook: bytes) -> dict[str, list[tuple[object, ...]]]:
    """Every sheet's values, row by row."""
    book = load_workbook(BytesIO(workbook))
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_only_unsubmitted_units_each_step_once_and_missed_days_caught_up(cascaded, smtp_server) -> None:
    plan = cascaded.plan
    assert send_reminders(date(2024, 10, 23))[0] == 4
    assert send_reminders(date(2024, 10, 23))[0] == 0  # same day again: nothing
    assert send_reminders(date(2024, 10, 24))[0] == 0  # same step next day: nothing

    submit_report(submission(plan, "U1", nha_o_xa_hoi=100), date(2024, 10, 25))
    assert send_reminders(date(2024, 10, 27))[0] == 0  # Sunday: nothing goes out on a day off
    # before-3 is dated Friday 25/10 (27/10 is a Sunday); caught up on Monday, not to U1
    assert send_reminders(date(2024, 10, 28))[0] == 3

    # No runs on 29/10, 31/10 or 06/11: on Monday 11/11 only the latest step, overdue-7, goes (Sunday 10/11: nothing).
    assert send_reminders(date(2024, 11, 10))[0] == 0
    assert send_reminders(date(2024, 11, 11))[0] == 3
    assert send_reminders(date(2024, 11, 12))[0] == 0

    messages = smtp_server.messages()
    overdue = by_subject(messages, "Quá hạn báo cáo")
    assert len(overdue) == 3
    assert all("đã quá hạn 12 ngày" in m["Subject"] for m in overdue)
    second_step = [m for m in by_subject(messages, "Nhắc hạn") if "còn 2 ngày" in m["Subject"]]
    assert len(second_step) == 3
    assert "u1" not in {m["To"].addresses[0].username for m in overdue + second_step}
    with session_scope() as session:
        keys = set(session.scalars(select(OutboundEmail.idempotency_key).where(OutboundEmail.kind.in_([EmailKind.REMINDER, EmailKind.OVERDUE]))))
    assert len(keys) == 4 + 3 + 3
    assert not any(key.endswith(("overdue-1", "before-1")) for key in keys)


def test_reminder_on_the_due_day_says_so(cascaded, smtp_server) -> None:
    send_reminders(date(2024, 10, 30))
    reminders = by_subject(smtp_server.messages(), "Nhắc hạn báo cáo")
    assert len(reminders) == 4
    assert all("hạn cuối hôm nay" in m["Subject"] for m in reminders)
