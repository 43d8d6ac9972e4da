from datetime import date
from io import BytesIO

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from cascade.errors import NotFound
from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from models.assignment import Assignment
from models.db import session_scope
from models.outbox import EmailStatus, OutboundEmail
from tests.flows.helpers import html_part, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")
CASCADE_DAY = date(2024, 4, 5)


def test_cascade_assigns_and_emails_every_subordinate_unit(department, smtp_server) -> None:
    result = cascade_plan(department.plan, CASCADE_DAY)

    assert result.assigned == 4 and result.delivery.sent == 4
    messages = smtp_server.messages()
    assert len(messages) == 4
    first = next(m for m in messages if m["To"].addresses[0].username == "u1")
    assert first["To"].addresses[0].display_name == "Văn phòng Sở"
    # What, which plan, by when and the reference first (an inbox list shows about 80 characters); the title after
    assert first["Subject"] == "Giao nhiệm vụ báo cáo – KH 74/KH-SXD – hạn 30/10/2024 [GV-000001]: Báo cáo kết quả công tác dân vận chính quyền năm 2024"
    assert len(first["Subject"].split("]:")[0]) <= 80
    text = text_part(first)
    assert "Kính gửi: Văn phòng Sở" in text
    assert "Kế hoạch số 74/KH-SXD ngày 02/04/2024 của Sở Xây dựng tỉnh Đồng Nai" in text
    assert "Nhà ở xã hội hoàn thành: mục tiêu ít nhất 715 căn" in text
    assert "Đẩy mạnh cải cách hành chính (chủ trì)" in text
    assert "<" not in text  # a real text part, not the HTML source
    assert "<table" in html_part(first)

    # The letter and the plan in Word, the unit's own form in Excel, openable as they arrived.
    reference = text.split("Mã giao việc: ")[1].split(".")[0]
    files = {part.get_filename(): part.get_content() for part in first.iter_attachments()}
    assert sorted(files) == sorted([f"Công văn giao nhiệm vụ {reference}.docx", "Kế hoạch 74-KH-SXD.docx", f"Biểu mẫu báo cáo {reference}.xlsx"])
    letter = Document(BytesIO(files[f"Công văn giao nhiệm vụ {reference}.docx"]))
    assert "Kính gửi: Văn phòng Sở." in [p.text for p in letter.paragraphs]
    plan_doc = Document(BytesIO(files["Kế hoạch 74-KH-SXD.docx"]))
    assert "KẾ HOẠCH" in [p.text for p in plan_doc.paragraphs]
    form = load_workbook(BytesIO(files[f"Biểu mẫu báo cáo {reference}.xlsx"]))
    assert any("Văn phòng Sở" in str(cell.value) for row in form.worksheets[0].iter_rows() for cell in row if cell.value)

    with session_scope() as session:
        stored = set(session.scalars(select(OutboundEmail.message_id)))
        assert all(row.status == EmailStatus.SENT for row in session.scalars(select(OutboundEmail)))
        due = {a.due_on for a in session.scalars(select(Assignment))}
    received = [m["Message-ID"] for m in messages]
    assert len(set(received)) == 4 and set(received) == stored
    assert due == {date(2024, 10, 30)}


def test_rerun_assigns_and_sends_nothing_new(department, smtp_server) -> None:
    cascade_plan(department.plan, CASCADE_DAY)
    again = cascade_plan(department.plan, date(2024, 4, 6))
    assert again.assigned == 0 and again.delivery.sent == 0
    assert len(smtp_server.messages()) == 4


def test_cascade_to_an_explicit_list_of_units(department, smtp_server) -> None:
    result = cascade_plan(department.plan, CASCADE_DAY, units=["U2", "U3"])
    assert result.assigned == 2
    assert sorted(m["To"].addresses[0].username for m in smtp_server.messages()) == ["u2", "u3"]


def test_unknown_units_are_refused_before_anything_is_written(department, smtp_server) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        cascade_plan(department.plan, CASCADE_DAY, units=["U1", "NOPE"])
    with session_scope() as session:
        assert session.scalars(select(Assignment)).all() == []
    assert smtp_server.messages() == []


def test_plan_can_be_named_by_its_number_and_symbol(department, smtp_server) -> None:
    assert cascade_plan("74/KH-SXD", CASCADE_DAY).plan_key == department.plan
    with pytest.raises(NotFound):
        cascade_plan("75/KH-SXD", CASCADE_DAY)


def test_replies_go_to_a_per_assignment_address(department, smtp_server, monkeypatch) -> None:
    monkeypatch.setenv("CASCADE_MAIL_REPLY_TO", "baocao@sxd.example.gov.vn")
    monkeypatch.setenv("CASCADE_MAIL_FROM_NAME", "Sở Xây dựng tỉnh Đồng Nai")
    get_settings.cache_clear()
    cascade_plan(department.plan, CASCADE_DAY)
    with session_scope() as session:
        tokens = {a.unit.code.lower(): a.token for a in session.scalars(select(Assignment))}
    for message in smtp_server.messages():
        unit = message["To"].addresses[0].username
        assert message["Reply-To"].addresses[0].addr_spec == f"baocao+{tokens[unit]}@sxd.example.gov.vn"
        assert message["From"].addresses[0].display_name == "Sở Xây dựng tỉnh Đồng Nai"
    assert len({len(t) for t in tokens.values()}) == 1 and len(next(iter(tokens.values()))) >= 32  # 192 random bits
