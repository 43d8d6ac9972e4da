"""Amendments on a three-level cycle: the town's plan 104/KH-UBND (examples/town-2024) goes to four wards; two
of them issue their own plans, which go to their three units each; then the town amends its plan (130/KH-UBND,
19/02/2024): it raises the "Dân vận khéo" models it asks of three wards, adds a six-month report for Gia Bình
alone and moves the implementing-plan deadline from 23/02 to 01/03.

Gia Lộc had tightened its own target above what the town asked (7 for 3) and the amendment now asks 8 of it:
its plan keeps 7 and Gia Lộc is told. An Tịnh's draft had tightened to 5 and is asked 4: it keeps 5. Gia Bình had
kept the town's 3: its plan follows to 6, and its units are asked 2 each instead of 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import select

from cascade.errors import FormError, ImportFileError
from cascade.settings import get_settings
from flows.amend_plan import AmendResult, amend_plan
from flows.cascade_plan import cascade_plan
from flows.issue_plan import issue_plan
from flows.record_submission import submit_report
from models.assignment import Assignment
from models.consolidation import consolidate
from models.db import session_scope
from models.inbound import IntakeOutcome, IntakeReason
from models.milestones import Milestone, MilestoneKind, MilestoneStatus
from models.outbox import EmailKind, OutboundEmail
from models.plan import Plan, PlanAmendment, ReportDuty, Target
from models.unit import Unit
from tasks.documents.forms import form_spec, write_form
from tasks.intake.form_reader import AMENDED, read_form
from tasks.intake.inbox import Fetched
from tasks.intake.replies import decide
from tasks.plans.contexts import reply_address
from tasks.plans.exports import plan_document, version_document
from tasks.plans.imports import import_plan, import_units
from tasks.plans.versions import check_amendment
from tasks.reporting.consolidation import load_consolidation
from tests.fixtures.database import isolated_database
from tests.fixtures.smtp import serving_mailbox
from tests.flows.helpers import submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")

TOWN = Path(__file__).resolve().parents[2] / "examples" / "town-2024"
PLAN = "104-kh-ubnd-2024"
CASCADED_ON = date(2024, 1, 31)
WARDS_ISSUE_ON = date(2024, 2, 15)
REPORTED_ON = date(2024, 2, 16)
AMENDED_ON = date(2024, 2, 19)
UNITS = ("ca", "qs", "yt")


def ward_plan(ward: str) -> str:
    return f"{PLAN}--tb.{ward}"


def figures(mo_hinh: int) -> dict[str, Any]:
    return {"hoc_tap_quan_triet": (20, 20), "quy_che_dan_chu": 1, "mo_hinh_dan_van_kheo": mo_hinh, "hai_long": 92}


@dataclass
class Scenario:
    workspace: Path
    result: AmendResult
    notices: list[EmailMessage]  # the amendment notices, as received
    before_amendment: int  # messages received before it


def _set_target(plan_key: str, code: str, value: int) -> None:
    with session_scope() as session:
        target = session.scalars(select(Target).join(Plan).where(Plan.key == plan_key, Target.code == code)).one()
        target.value = Decimal(value)


def amendment_file(folder: Path) -> Path:
    document = plan_document_of(PLAN)
    plan = document["plan"]
    mo_hinh = next(t for t in plan["targets"] if t["code"] == "mo_hinh_dan_van_kheo")
    mo_hinh["allocations"] = {"tb.giabinh": 6, "tb.gialoc": 8, "tb.antinh": 4, "tb.lochung": 3}
    mo_hinh["value"] = 21
    ke_hoach = next(d for d in plan["duties"] if d["code"] == "ke_hoach")
    ke_hoach["due_on"] = "2024-03-01"
    plan["duties"].append(
        {
            "code": "so_ket", "kind": "six_month", "title": "Báo cáo sơ kết 6 tháng công tác Dân vận chính quyền năm 2024",
            "period_start": "2024-01-01", "cutoff_on": "2024-06-14", "due_on": "2024-06-20", "reminder_days": [3], "overdue_days": [1],
            "sections": [{"code": "ket_qua", "title": "Kết quả thực hiện"}], "indicators": ["mo_hinh_dan_van_kheo"], "assignees": ["tb.giabinh"],
        }
    )  # fmt: skip
    document["amendment"] = {
        "number": "130",
        "issued_on": AMENDED_ON.isoformat(),
        "reason": "Căn cứ Công văn số 45/UBND-NC ngày 16/02/2024 của UBND tỉnh Tây Ninh về tăng cường công tác dân vận chính quyền;",
    }
    path = folder / "sua-doi-130.yaml"
    path.write_text(yaml.safe_dump({"amendment": document.pop("amendment"), **document}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def plan_document_of(key: str) -> dict[str, Any]:
    with session_scope() as session:
        return plan_document(session, session.scalars(select(Plan).where(Plan.key == key)).one())


@pytest.fixture(scope="module")
def scenario(prefect_harness, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("amendments")
    with pytest.MonkeyPatch.context() as mp, serving_mailbox(tmp / "maildir", mp) as smtp, isolated_database(tmp / "workspace", mp) as workspace:
        mp.setenv("CASCADE_MAIL_REPLY_TO", "baocao@trangbang.example.gov.vn")
        get_settings.cache_clear()
        import_units(TOWN / "units.yaml")
        assert import_plan(TOWN / "plan.yaml") == PLAN
        cascade_plan(PLAN, CASCADED_ON)
        _set_target(ward_plan("gialoc"), "mo_hinh_dan_van_kheo", 7)  # Gia Lộc asks more of itself than the town does
        _set_target(ward_plan("antinh"), "mo_hinh_dan_van_kheo", 5)  # so does An Tịnh, still a draft
        for ward in ("giabinh", "gialoc"):
            issue_plan(ward_plan(ward), WARDS_ISSUE_ON)
        assert submit_report(submission(ward_plan("giabinh"), "tb.giabinh.ca", **figures(3)), REPORTED_ON).is_new
        before = len(smtp.messages())
        result = amend_plan(PLAN, str(amendment_file(tmp)), AMENDED_ON)
        notices = [m for m in smtp.messages()[before:] if str(m["Subject"]).startswith("Sửa đổi, bổ sung")]
        yield Scenario(workspace, result, notices, before)


def to(message: EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def test_the_units_concerned_and_only_they_get_one_notice_each(scenario: Scenario) -> None:
    received = Counter(to(m) for m in scenario.notices)
    expected = {
        "vanthu@giabinh.trangbang.example.gov.vn", "vanthu@gialoc.trangbang.example.gov.vn", "vanthu@antinh.trangbang.example.gov.vn",
        "vanthu@lochung.trangbang.example.gov.vn", "congan@giabinh.trangbang.example.gov.vn", "quansu@giabinh.trangbang.example.gov.vn",
    }  # fmt: skip
    with session_scope() as session:
        yt = session.scalars(select(Unit).where(Unit.code == "tb.giabinh.yt")).one()
        expected.add(yt.emails[0])
        gialoc_units = {session.scalars(select(Unit).where(Unit.code == f"tb.gialoc.{u}")).one().emails[0] for u in UNITS}
    assert set(received) == expected
    assert set(received.values()) == {1}
    assert not gialoc_units & set(received)  # Gia Lộc's plan kept its own target: nothing changed for its units
    assert scenario.result.notified == len(expected)
    assert [a.plan_key for a in scenario.result.below] == [ward_plan("giabinh")]


def test_the_notices_say_what_changed_for_each_unit(scenario: Scenario) -> None:
    texts = {to(m): text_part(m) for m in scenario.notices}
    giabinh = texts["vanthu@giabinh.trangbang.example.gov.vn"]
    assert "Kế hoạch số 130/KH-UBND ngày 19/02/2024" in giabinh
    assert "Chỉ tiêu “Mô hình “Dân vận khéo” đăng ký và thực hiện” của đơn vị: từ ít nhất 3 mô hình thành ít nhất 6 mô hình." in giabinh
    assert "Bổ sung yêu cầu: Báo cáo sơ kết 6 tháng công tác Dân vận chính quyền năm 2024, hạn ngày 20/06/2024." in giabinh
    assert "Thời hạn" not in giabinh  # it has issued its plan: the moved implementing-plan deadline is not its concern
    lochung = texts["vanthu@lochung.trangbang.example.gov.vn"]
    assert "Thời hạn “Ban hành kế hoạch thực hiện công tác Dân vận chính quyền năm 2024”: từ ngày 23/02/2024 thành ngày 01/03/2024." in lochung
    assert "Chỉ tiêu" not in lochung
    gialoc = texts["vanthu@gialoc.trangbang.example.gov.vn"]
    assert "từ ít nhất 3 mô hình thành ít nhất 8 mô hình" in gialoc
    assert (
        "Chỉ tiêu “Mô hình “Dân vận khéo” đăng ký và thực hiện” trong Kế hoạch số 01/KH-UBND của đơn vị (ít nhất 7 mô hình) thấp hơn mức kế hoạch sửa đổi giao cho đơn vị (ít nhất 8 mô hình)"
        in gialoc
    )
    police = texts["congan@giabinh.trangbang.example.gov.vn"]
    assert "từ ít nhất 1 mô hình thành ít nhất 2 mô hình" in police
    assert "Báo cáo đơn vị đã gửi trước ngày sửa đổi vẫn có giá trị" in police


def test_the_notice_carries_the_amendment_and_the_new_forms(scenario: Scenario) -> None:
    police = next(m for m in scenario.notices if to(m) == "congan@giabinh.trangbang.example.gov.vn")
    files = {part.get_filename(): part.get_payload(decode=True) for part in police.iter_attachments()}
    assert any(name.startswith("Văn bản sửa đổi, bổ sung") and name.endswith(".docx") for name in files), list(files)
    forms = [data for name, data in files.items() if name.endswith(".xlsx")]
    assert len(forms) == 2  # the annual report's form (new revision) and the added six-month report's
    revisions = sorted(_meta(data)["revision"] for data in forms)
    assert revisions == ["1", "2"]


def _meta(data: bytes) -> dict[str, str]:
    wb = load_workbook(BytesIO(data), read_only=True)
    sheet = next(name for name in wb.sheetnames if name.startswith("_") or "meta" in name.lower())
    return {str(row[0]): str(row[1]) for row in wb[sheet].iter_rows(values_only=True) if row and row[0] and len(row) > 1}


def test_versions_are_kept_and_readable(scenario: Scenario) -> None:
    with session_scope() as session:
        town = session.scalars(select(Plan).where(Plan.key == PLAN)).one()
        assert town.version == 2
        first, now = version_document(session, town, 1), version_document(session, town)
        mo_hinh = {d["code"]: d for d in first["plan"]["targets"]}["mo_hinh_dan_van_kheo"]
        assert (mo_hinh["value"], mo_hinh["allocations"]["tb.giabinh"]) == (12, 3)
        assert {d["code"]: d for d in now["plan"]["targets"]}["mo_hinh_dan_van_kheo"]["value"] == 21
        assert [d["code"] for d in first["plan"]["duties"]] == ["ke_hoach", "bao_cao_nam"]
        amendments = {a.plan.key: a for a in session.scalars(select(PlanAmendment))}
        assert set(amendments) == {PLAN, ward_plan("giabinh")}
        assert amendments[ward_plan("giabinh")].source_id == amendments[PLAN].id
        ward = session.scalars(select(Plan).where(Plan.key == ward_plan("giabinh"))).one()
        assert {t.code: t.value for t in ward.targets}["mo_hinh_dan_van_kheo"] == 6  # it had kept the town's 3: it follows
        gialoc = session.scalars(select(Plan).where(Plan.key == ward_plan("gialoc"))).one()
        assert (gialoc.version, {t.code: t.value for t in gialoc.targets}["mo_hinh_dan_van_kheo"]) == (1, 7)  # kept, and flagged
        antinh = session.scalars(select(Plan).where(Plan.key == ward_plan("antinh"))).one()
        assert {t.code: t.value for t in antinh.targets}["mo_hinh_dan_van_kheo"] == 5  # tighter than the 4 now asked: stays
        assert {d.code: d.due_on for d in antinh.duties}["ke_hoach"] >= date(2024, 2, 26)


def test_open_assignments_take_the_new_deadline_and_the_calendar_follows(scenario: Scenario) -> None:
    with session_scope() as session:
        rows = session.execute(
            select(Unit.code, Assignment.due_on, Assignment.reminder_rank)
            .join(Assignment, Assignment.unit_id == Unit.id)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .where(Plan.key == PLAN, ReportDuty.code == "ke_hoach")
        ).all()
        assert {code: due for code, due, _ in rows} == {f"tb.{w}": date(2024, 3, 1) for w in ("giabinh", "gialoc", "antinh", "lochung")}
        due = session.scalars(
            select(Milestone.day)
            .join(ReportDuty)
            .join(Plan)
            .where(Plan.key == PLAN, ReportDuty.code == "ke_hoach", Milestone.kind == MilestoneKind.DUE, Milestone.status == MilestoneStatus.PENDING)
        ).all()
        assert due == [date(2024, 3, 1)]


def test_an_old_form_is_answered_with_the_new_one(scenario: Scenario, tmp_path: Path) -> None:
    with session_scope() as session:
        assignment = session.scalars(
            select(Assignment).join(ReportDuty).join(Plan).join(Unit, Unit.id == Assignment.unit_id)
            .where(Plan.key == ward_plan("giabinh"), ReportDuty.code == "bao_cao_nam", Unit.code == "tb.giabinh.qs")
        ).one()  # fmt: skip
        spec = form_spec(session, assignment, as_of=WARDS_ISSUE_ON)
        old = write_form(replace(spec, revision=1), tmp_path / "old.xlsx")
        address, token_address, unit_address = assignment.id, reply_address(assignment), assignment.unit.emails[0]
    with pytest.raises(FormError) as refused:
        read_form(old)
    assert [p.code for p in refused.value.problems] == [AMENDED]
    assert "Kế hoạch số 01/KH-UBND được sửa đổi, bổ sung (02/KH-UBND ngày 19/02/2024)" in str(refused.value.problems[0])  # Gia Bình's own

    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = unit_address, token_address, "Re: Giao nhiệm vụ"
    reply["Message-ID"] = "<old-form@example.gov.vn>"
    reply.set_content("Gửi lại biểu mẫu.")
    reply.add_attachment(old.read_bytes(), maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="bieu-mau.xlsx")
    raw = reply.as_bytes()
    decision = decide(Fetched(uid="1", raw=raw, arrived_at=datetime(2024, 2, 20, 2, 0, tzinfo=UTC), size=len(raw)), date(2024, 2, 20))
    assert (decision.outcome, decision.reason) == (IntakeOutcome.REFUSED, IntakeReason.FORM_PROBLEMS)
    with session_scope() as session:
        answer = session.scalars(select(OutboundEmail).where(OutboundEmail.kind == EmailKind.INTAKE, OutboundEmail.assignment_id == address)).one()
        assert len(answer.attachments) == 1
        new_form = scenario.workspace / answer.attachments[0]
    assert _meta(new_form.read_bytes())["revision"] == "2"
    assert "không còn được tiếp nhận" in answer.text


def test_a_report_sent_before_the_amendment_is_consolidated_with_its_mark(scenario: Scenario) -> None:
    header, data = load_consolidation_by_key(ward_plan("giabinh"), date(2024, 10, 24))
    result = consolidate(data)
    assert [u.code for u in result.before_amendment] == ["tb.giabinh.ca"]
    assert result.before_amendment[0].earlier_plan == "02/KH-UBND"  # Gia Bình's own amendment, which followed the town's
    mo_hinh = next(r for r in result.results if r.rule.code == "mo_hinh_dan_van_kheo")
    assert mo_hinh.rule.value == 6
    assert header.plan["version_note"] == ""


def test_replaying_a_day_before_the_amendment_gives_the_old_judgement(scenario: Scenario) -> None:
    header, data = load_consolidation_by_key(ward_plan("giabinh"), date(2024, 2, 18))
    result = consolidate(data)
    mo_hinh = next(r for r in result.results if r.rule.code == "mo_hinh_dan_van_kheo")
    assert mo_hinh.rule.value == 3
    assert str(mo_hinh.verdict) == "met"  # Công an reported 3 models: enough for the 3 asked then
    assert result.before_amendment == ()
    assert "trước khi sửa đổi" in header.plan["version_note"]
    after = consolidate(load_consolidation_by_key(ward_plan("giabinh"), date(2024, 2, 20))[1])
    assert str(next(r for r in after.results if r.rule.code == "mo_hinh_dan_van_kheo").verdict) != "met"


def load_consolidation_by_key(key: str, day: date) -> tuple[Any, Any]:
    with session_scope() as session:
        plan_id = session.scalars(select(Plan.id).where(Plan.key == key)).one()
    return load_consolidation(plan_id, "bao_cao_nam", day)


def test_a_file_with_a_problem_is_refused_whole(scenario: Scenario, tmp_path: Path) -> None:
    document = plan_document_of(PLAN)
    document["plan"]["number"] = "105"
    document["plan"]["duties"][0]["due_on"] = "2024-02-16"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"amendment": {"number": "130", "issued_on": "2024-02-18"}, **document}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ImportFileError) as refused:
        check_amendment(PLAN, str(path))
    text = refused.value.details()
    assert "keeps the plan's number (104)" in text
    assert "before its last amendment (19/02/2024)" in text
    assert "number 130/KH-UBND of 2024 is already used" in text
    assert "due 16/02/2024, before the amendment's day 18/02/2024" in text
