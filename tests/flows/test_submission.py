from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from cascade.errors import ConflictError, NotFound
from flows.record_submission import submit_report
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.plan import Plan, PlanStatus
from models.submission import Submission
from tests.flows.helpers import by_subject, submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_submission_is_stored_and_acknowledged_in_the_thread(cascaded, smtp_server) -> None:
    recorded = submit_report(submission(cascaded.plan, "U1", nha_o_xa_hoi=120, nuoc_sach=(890, 1000)), date(2024, 10, 20))
    assert (recorded.version, recorded.is_new, recorded.is_late) == (1, True, False)

    with session_scope() as session:
        stored = session.get_one(Submission, recorded.submission_id)
        assert {v.indicator_code: (v.value, v.numerator, v.denominator) for v in stored.values} == {
            "nha_o_xa_hoi": (Decimal(120), None, None),
            "nuoc_sach": (None, Decimal(890), Decimal(1000)),
        }
        assignment = stored.assignment
        assert assignment.status == AssignmentStatus.SUBMITTED and assignment.submitted_on == date(2024, 10, 20)

    messages = smtp_server.messages()
    notice = by_subject(messages, "Giao nhiệm vụ")
    receipt = by_subject(messages, "Đã nhận báo cáo")
    assert len(receipt) == 1
    assert receipt[0]["Subject"] == "Đã nhận báo cáo – lần 1 [GV-000001]: Báo cáo kết quả công tác dân vận chính quyền năm 2024 – Văn phòng Sở"
    u1_notice = next(m for m in notice if m["To"].addresses[0].username == "u1")
    assert receipt[0]["In-Reply-To"] == u1_notice["Message-ID"]
    text = text_part(receipt[0])
    assert "đúng hạn" in text
    assert "Nhà ở xã hội hoàn thành: 120 căn" in text
    assert "Dân số đô thị dùng nước sạch: 890/1.000 (89%)" in text


def test_the_same_input_twice_is_one_version_and_a_new_one_is_the_next(cascaded, smtp_server) -> None:
    first = submit_report(submission(cascaded.plan, "U2", key="file-a", nha_o_xa_hoi=10), date(2024, 10, 20))
    again = submit_report(submission(cascaded.plan, "U2", key="file-a", nha_o_xa_hoi=10), date(2024, 10, 21))
    second = submit_report(submission(cascaded.plan, "U2", key="file-b", nha_o_xa_hoi=12), date(2024, 11, 2))
    assert (first.version, again.version, again.is_new, second.version) == (1, 1, False, 2)
    assert second.is_late  # this version came after the due date
    with session_scope() as session:
        assignment = session.scalar(select(Assignment).where(Assignment.id == session.get_one(Submission, first.submission_id).assignment_id))
        assert assignment.submitted_on == date(2024, 10, 20)  # lateness is decided by the first version
    receipts = by_subject(smtp_server.messages(), "Đã nhận báo cáo")
    assert sorted(m["Subject"].split(" [", 1)[0][-5:] for m in receipts) == ["lần 1", "lần 2"]
    assert "sau hạn ngày 30/10/2024" in text_part(next(m for m in receipts if "lần 2 [" in m["Subject"]))


def test_late_first_submission_is_late(cascaded) -> None:
    assert submit_report(submission(cascaded.plan, "U3", nha_o_xa_hoi=1), date(2024, 10, 31)).is_late
    assert not submit_report(submission(cascaded.plan, "U4", nha_o_xa_hoi=1), date(2024, 10, 30)).is_late


def test_unassigned_unit_and_closed_plan_are_refused(cascaded) -> None:
    with pytest.raises(NotFound, match="no assignment"):
        submit_report(submission(cascaded.plan, "ROOT", nha_o_xa_hoi=1), date(2024, 10, 20))
    with session_scope() as session:
        session.scalar(select(Plan)).status = PlanStatus.CLOSED
    with pytest.raises(ConflictError, match="closed"):
        submit_report(submission(cascaded.plan, "U1", nha_o_xa_hoi=1), date(2024, 10, 20))
    with session_scope() as session:
        assert session.scalars(select(Submission)).all() == []
