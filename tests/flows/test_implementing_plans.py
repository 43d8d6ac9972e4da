"""Implementing plans: drafted for each unit with subordinates, adjusted, issued by the unit itself,
numbered, recorded as its answer to the parent's implementing_plan duty, and back-scheduled
deadlines counted in working days across Tết.

Most tests run the town example (examples/town-2024): the town's plan 104/KH-UBND of
30/01/2024 goes to four wards, which (`issue: wait`) adjust and issue their own plans, and
these go on to each ward's three units.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from sqlalchemy import select

from cascade.errors import ConflictError, ImportFileError
from cascade.settings import get_settings
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.deliver_outbox import deliver_outbox
from flows.issue_plan import issue_plan
from flows.record_submission import submit_report
from flows.send_reminders import send_reminders
from models.assignment import Assignment, AssignmentStatus
from models.calendar import set_override
from models.db import session_scope
from models.outbox import EmailKind, OutboundEmail
from models.plan import Plan, PlanStatus, PlanTask, ReportDuty, TaskRole, TaskUnit
from models.submission import Channel, ReviewAction, Submission
from models.unit import Unit
from tasks.documents.word import notice_document_path
from tasks.intake.review import review_submission
from tasks.plans.exports import plan_document
from tasks.plans.imports import import_plan, import_units
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.flows.helpers import submission

pytestmark = pytest.mark.usefixtures("prefect_harness")

TOWN = Path(__file__).resolve().parents[2] / "examples" / "town-2024"
PLAN = "104-kh-ubnd-2024"
WARDS = ["tb.antinh", "tb.giabinh", "tb.gialoc", "tb.lochung"]
CASCADED_ON = date(2024, 1, 31)
KE_HOACH_DUE = date(2024, 2, 23)  # the town plan's ke_hoach due date (plan.yaml)
KE_HOACH_TITLE = "Ban hành kế hoạch thực hiện công tác Dân vận chính quyền năm 2024"
BAO_CAO_TITLE = "Báo cáo kết quả thực hiện công tác Dân vận chính quyền năm 2024"


def draft_key(ward: str) -> str:
    return f"{PLAN}--{ward}"


def ward_address(ward: str) -> str:
    return f"vanthu@{ward.split('.')[1]}.trangbang.example.gov.vn"


def recipient(message: EmailMessage) -> str:
    return message["To"].addresses[0].addr_spec


def mail_to(messages: list[EmailMessage], address: str, prefix: str = "") -> list[EmailMessage]:
    return [m for m in messages if recipient(m) == address and str(m["Subject"]).startswith(prefix)]


def assignment_of(plan_key: str, duty_code: str, unit_code: str) -> dict[str, Any] | None:
    """One assignment as plain values, or None."""
    with session_scope() as session:
        row = session.execute(
            select(Assignment)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Plan.key == plan_key, ReportDuty.code == duty_code, Unit.code == unit_code)
        ).scalar_one_or_none()
        if row is None:
            return None
        channels = [s.channel for s in session.scalars(select(Submission).where(Submission.assignment_id == row.id).order_by(Submission.version))]
        return {"status": row.status, "due_on": row.due_on, "submitted_on": row.submitted_on, "channels": channels}


def assignments_of_unit(unit_code: str) -> list[tuple[str, str]]:
    """(plan key, duty code) of every assignment of a unit."""
    with session_scope() as session:
        return sorted(
            session.execute(
                select(Plan.key, ReportDuty.code)
                .join(ReportDuty, ReportDuty.plan_id == Plan.id)
                .join(Assignment, Assignment.duty_id == ReportDuty.id)
                .join(Unit, Unit.id == Assignment.unit_id)
                .where(Unit.code == unit_code)
            ).all()
        )


def plan_row(key: str) -> dict[str, Any]:
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        return {
            "status": plan.status,
            "number": plan.number,
            "symbol": plan.symbol,
            "issued_on": plan.issued_on,
            "basis": list(plan.basis),
            "level": plan.level,
            "duties": {d.code: d.due_on for d in plan.duties},
            "targets": {t.code: (t.comparator, t.value) for t in plan.targets},
        }


def add_issued_plan(issuer: str, number: str, *, year: int = 2024, key: str | None = None) -> str:
    """An earlier plan of `issuer` (its own, not an implementing plan), numbered `number`/KH-UBND."""
    key = key or f"{number}-kh-ubnd-{year}-{issuer}"
    with session_scope() as session:
        unit = session.scalars(select(Unit).where(Unit.code == issuer)).one()
        session.add(
            Plan(
                key=key, number=number, symbol="KH-UBND", issuer_id=unit.id, issued_on=date(year, 1, 10), place=unit.place or "",
                title="Công tác cải cách hành chính", year=year, signer_title="CHỦ TỊCH", signer_name="",
            )
        )  # fmt: skip
    return key


@pytest.fixture()
def town(workspace, smtp_server):  # type: ignore[no-untyped-def]
    """The town example imported and its plan cascaded on 31/01/2024: four ward drafts, eight notices."""
    import_units(TOWN / "units.yaml")
    assert import_plan(TOWN / "plan.yaml") == PLAN
    result = cascade_plan(PLAN, CASCADED_ON)
    assert (result.assigned, result.drafted, result.issued) == (8, 4, 0)
    return smtp_server


# ---------------------------------------------------------------------------------------------
# Drafts
# ---------------------------------------------------------------------------------------------


def test_wait_level_leaves_the_wards_plans_as_drafts_and_the_wards_are_notified(town) -> None:
    for ward in WARDS:
        draft = plan_row(draft_key(ward))
        assert draft["status"] == PlanStatus.DRAFT
        assert draft["number"] is None
        assert draft["symbol"] == "KH-UBND"
        assert draft["level"] == 1
        assert draft["basis"] == [
            "Kế hoạch số 104/KH-UBND ngày 30/01/2024 của Ủy ban nhân dân thị xã Trảng Bàng thực hiện công tác Dân vận chính quyền năm 2024"
        ]
        # bao_cao_nam: 5 working days (lead of level 1) before 30/10/2024 (Wed): 29, 28, 25, 24, 23/10.
        # ke_hoach: the town allowed 13 working days after issuing on 30/01 (31/01, 01, 02, 05, 06, 07, 15, 16,
        # 19, 20, 21, 22, 23/02; Tết Giáp Thìn 08-14/02 excluded); the draft counts them from its own day,
        # 31/01: 01, 02, 05, 06, 07, 15, 16, 19, 20, 21, 22, 23, 26/02 (recounted when the ward issues).
        assert draft["duties"] == {"ke_hoach": date(2024, 2, 26), "bao_cao_nam": date(2024, 10, 23)}
        # The ward's own assignments, and none yet for its units.
        assert assignments_of_unit(ward) == [(PLAN, "bao_cao_nam"), (PLAN, "ke_hoach")]
        for unit in ("ca", "qs", "yt"):
            assert assignments_of_unit(f"{ward}.{unit}") == []

    messages = town.messages()
    assert len(messages) == 8
    for ward in WARDS:
        notices = mail_to(messages, ward_address(ward), "Giao nhiệm vụ")
        subjects = [str(m["Subject"]) for m in notices]
        assert len(subjects) == 2, subjects
        assert any(KE_HOACH_TITLE in s and "hạn 23/02/2024" in s for s in subjects), subjects
        assert any(BAO_CAO_TITLE in s and "hạn 30/10/2024" in s for s in subjects), subjects
    assert not [m for m in messages if ".ca@" in recipient(m) or "congan@" in recipient(m)]

    # A rerun drafts and sends nothing more.
    again = cascade_plan(PLAN, date(2024, 2, 1))
    assert (again.assigned, again.drafted, again.issued, again.delivery.sent) == (0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Issuing: on time, late, reminders
# ---------------------------------------------------------------------------------------------


def test_a_ward_issuing_on_time_is_numbered_cascaded_and_counted_on_time_and_a_late_one_is_late(town) -> None:
    result = issue_plan(draft_key("tb.giabinh"), date(2024, 2, 15))
    assert result.assigned == 6  # three units × (ke_hoach, bao_cao_nam)

    issued = plan_row(draft_key("tb.giabinh"))
    assert (issued["status"], issued["number"], issued["issued_on"]) == (PlanStatus.ISSUED, "1", date(2024, 2, 15))
    # ke_hoach passed down: the 13 working days the town allowed (30/01 → 23/02, Tết excluded) counted from
    # 15/02: 16, 19, 20, 21, 22, 23, 26, 27, 28, 29/02, 01, 04, 05/03.
    assert issued["duties"] == {"ke_hoach": date(2024, 3, 5), "bao_cao_nam": date(2024, 10, 23)}
    for unit in ("tb.giabinh.ca", "tb.giabinh.qs", "tb.giabinh.yt"):
        assert assignments_of_unit(unit) == [(draft_key("tb.giabinh"), "bao_cao_nam"), (draft_key("tb.giabinh"), "ke_hoach")]
        assert assignment_of(draft_key("tb.giabinh"), "bao_cao_nam", unit)["due_on"] == date(2024, 10, 23)  # type: ignore[index]
    assert assignments_of_unit("tb.gialoc.ca") == []

    answered = assignment_of(PLAN, "ke_hoach", "tb.giabinh")
    assert answered == {"status": AssignmentStatus.SUBMITTED, "due_on": KE_HOACH_DUE, "submitted_on": date(2024, 2, 15), "channels": [Channel.PLAN]}
    receipts = mail_to(town.messages(), ward_address("tb.giabinh"), "Đã nhận")
    assert len(receipts) == 1 and KE_HOACH_TITLE in str(receipts[0]["Subject"])
    unit_notices = mail_to(town.messages(), "congan@giabinh.trangbang.example.gov.vn", "Giao nhiệm vụ")
    assert len(unit_notices) == 2

    # Reminders for ke_hoach (reminder_days [5, 2], overdue_days [1, 5], due 23/02/2024).
    send_reminders(date(2024, 2, 16))  # before-5: Sunday 18/02 → Friday 16/02
    send_reminders(date(2024, 2, 21))  # 2 days left
    send_reminders(date(2024, 2, 26))  # overdue-1: Saturday 24/02 → Monday 26/02
    after = town.messages()
    for ward in ("tb.antinh", "tb.gialoc", "tb.lochung"):
        reminders = mail_to(after, ward_address(ward), "Nhắc hạn")
        overdue = mail_to(after, ward_address(ward), "Quá hạn")
        assert len(reminders) == 2 and all(KE_HOACH_TITLE in str(m["Subject"]) for m in reminders)
        assert len(overdue) == 1 and KE_HOACH_TITLE in str(overdue[0]["Subject"]) and "hạn 23/02/2024" in str(overdue[0]["Subject"])
    assert mail_to(after, ward_address("tb.giabinh"), "Nhắc hạn") == []
    assert mail_to(after, ward_address("tb.giabinh"), "Quá hạn") == []
    with session_scope() as session:
        kinds = session.scalars(
            select(OutboundEmail.kind).join(Assignment, Assignment.id == OutboundEmail.assignment_id).join(Unit, Unit.id == Assignment.unit_id)
            .where(Unit.code == "tb.giabinh")
        ).all()  # fmt: skip
    assert sorted(kinds) == sorted([EmailKind.ASSIGNMENT, EmailKind.ASSIGNMENT, EmailKind.RECEIPT])

    # An Tịnh issues five days after its due date.
    issue_plan(draft_key("tb.antinh"), date(2024, 2, 28))
    assert plan_row(draft_key("tb.antinh"))["number"] == "1"  # numbers run per issuer: An Tịnh's first plan of 2024
    late = assignment_of(PLAN, "ke_hoach", "tb.antinh")
    assert late is not None and late["submitted_on"] == date(2024, 2, 28) and late["channels"] == [Channel.PLAN]
    assert len(mail_to(town.messages(), ward_address("tb.antinh"), "Quá hạn")) == 1  # no new notice after issuing
    send_reminders(date(2024, 2, 29))  # overdue-5 for the two wards still without a plan
    assert len(mail_to(town.messages(), ward_address("tb.antinh"), "Quá hạn")) == 1
    assert len(mail_to(town.messages(), ward_address("tb.gialoc"), "Quá hạn")) == 2

    outcome = consolidate(PLAN, "ke_hoach", date(2024, 2, 29), all_levels=False)
    r = outcome.result
    assert [u.code for u in r.on_time] == ["tb.giabinh"]
    assert [u.code for u in r.late] == ["tb.antinh"]
    assert [u.code for u in r.missing] == ["tb.gialoc", "tb.lochung"]
    assert (r.expected, r.completeness, r.timeliness) == (4, Decimal(50), Decimal(25))


def test_the_number_is_the_next_one_of_the_issuer_for_the_year(town) -> None:
    add_issued_plan("tb.gialoc", "7")
    add_issued_plan("tb.gialoc", "12", year=2023)  # another year: does not count
    add_issued_plan("tb.lochung", "30")  # another issuer: does not count
    issue_plan(draft_key("tb.gialoc"), date(2024, 2, 16))
    assert plan_row(draft_key("tb.gialoc"))["number"] == "8"


def test_issuing_twice_or_with_a_number_already_used_is_refused(town) -> None:
    issue_plan(draft_key("tb.giabinh"), date(2024, 2, 15))
    with pytest.raises(ConflictError, match="not a draft"):
        issue_plan(draft_key("tb.giabinh"), date(2024, 2, 16))
    assert plan_row(draft_key("tb.giabinh"))["issued_on"] == date(2024, 2, 15)

    add_issued_plan("tb.gialoc", "5")
    with pytest.raises(ConflictError, match="already used"):
        issue_plan(draft_key("tb.gialoc"), date(2024, 2, 16), number="5")
    still = plan_row(draft_key("tb.gialoc"))
    assert (still["status"], still["number"]) == (PlanStatus.DRAFT, None)
    assert assignment_of(PLAN, "ke_hoach", "tb.gialoc")["submitted_on"] is None  # type: ignore[index]
    assert assignments_of_unit("tb.gialoc.ca") == []

    # The same number of another issuer is free.
    issue_plan(draft_key("tb.gialoc"), date(2024, 2, 16), number="1")
    assert plan_row(draft_key("tb.gialoc"))["number"] == "1"


# ---------------------------------------------------------------------------------------------
# Who speaks: a ward writes to its own units in its own name
# ---------------------------------------------------------------------------------------------

TOWN_NAME = "Ủy ban nhân dân thị xã Trảng Bàng"
GIABINH_NAME = "Ủy ban nhân dân phường Gia Bình"
POLICE = "congan@giabinh.trangbang.example.gov.vn"


def reply_token(plan_key: str, unit_code: str, subject: str) -> str:
    """The token of the unit's assignment (of the plan) whose duty the subject names."""
    with session_scope() as session:
        rows = session.execute(
            select(ReportDuty.title, Assignment.token)
            .join(Assignment, Assignment.duty_id == ReportDuty.id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Plan.key == plan_key, Unit.code == unit_code)
        ).all()
    [token] = [token for title, token in rows if title in subject]
    return token


def speaks_for(message: EmailMessage) -> tuple[str, list[tuple[str, str]]]:
    """The From display name and the Reply-To addresses of a message."""
    return message["From"].addresses[0].display_name, [(a.display_name, a.addr_spec) for a in message["Reply-To"].addresses]


def test_a_ward_writes_to_its_units_in_its_own_name_with_its_office_as_reply_to(workspace, smtp_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CASCADE_MAIL_REPLY_TO", "baocao@trangbang.example.gov.vn")
    get_settings.cache_clear()
    import_units(TOWN / "units.yaml")
    import_plan(TOWN / "plan.yaml")
    cascade_plan(PLAN, CASCADED_ON)
    issue_plan(draft_key("tb.giabinh"), date(2024, 2, 15))  # the ward's notices to its units, the town's receipt to the ward
    ward_plan = draft_key("tb.giabinh")
    recorded = submit_report(submission(ward_plan, "tb.giabinh.ca", key="ca-1"), date(2024, 10, 1))
    review_submission(recorded.submission_id, ReviewAction.RETURN, reviewer="vanthu.giabinh", as_of=date(2024, 10, 2), comment="Bổ sung kết quả.")
    deliver_outbox(date(2024, 10, 2))
    send_reminders(date(2024, 2, 29))  # ke_hoach of the ward's units, due 05/03/2024: 5 days left

    messages = smtp_server.messages()
    # What the town sends the ward: the town's name, the ward's token address then the town's office.
    to_ward = mail_to(messages, ward_address("tb.giabinh"))
    assert {re.split(r" – | \[", str(m["Subject"]))[0] for m in to_ward} == {"Giao nhiệm vụ", "Giao nhiệm vụ báo cáo", "Đã nhận kế hoạch thực hiện"}
    for message in to_ward:
        token = reply_token(PLAN, "tb.giabinh", str(message["Subject"]))
        assert speaks_for(message) == (TOWN_NAME, [("", f"baocao+{token}@trangbang.example.gov.vn"), (TOWN_NAME, "vanthu@trangbang.example.gov.vn")])
    # What the ward sends its police station: notices, the receipt, the return and the reminder, all in the
    # ward's name with the ward's office after the token address; none in the town's or the system's name.
    to_police = mail_to(messages, POLICE)
    kinds = sorted(str(m["Subject"]).split(" ")[0] for m in to_police)
    assert kinds == ["Giao", "Giao", "Nhắc", "Trả", "Đã"], kinds
    for message in to_police:
        token = reply_token(ward_plan, "tb.giabinh.ca", str(message["Subject"]))
        assert speaks_for(message) == (
            GIABINH_NAME,
            [("", f"baocao+{token}@trangbang.example.gov.vn"), (GIABINH_NAME, "vanthu@giabinh.trangbang.example.gov.vn")],
        )
        assert message["From"].addresses[0].addr_spec == get_settings().smtp_user  # the envelope is still our own account


# ---------------------------------------------------------------------------------------------
# Adjusting a draft before issuing it
# ---------------------------------------------------------------------------------------------


def draft_as_yaml(key: str, changes: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The plan file of the draft `key` as `cascade plan export` writes it, with target changes."""
    with session_scope() as session:
        data = plan_document(session, session.scalars(select(Plan).where(Plan.key == key)).one())
    for target in data["plan"]["targets"]:
        target.update((changes or {}).get(target["code"], {}))
    return data


def write_plan(path: Path, data: dict[str, Any]) -> tuple[Path, str]:
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
    path.write_text(text, encoding="utf-8")
    return path, text


def value_line(text: str, code: str) -> int:
    """The line of `value:` of the target `code` in a dumped plan file (1-based)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in (f"- code: {code}", f"code: {code}") and i > lines.index("  targets:"))
    return next(i for i in range(start, len(lines)) if lines[i].strip().startswith("value:")) + 1


def test_a_tightened_draft_replaces_the_draft_which_stays_a_draft_until_issued(town, tmp_path: Path) -> None:
    key = draft_key("tb.gialoc")
    assert plan_row(key)["targets"]["mo_hinh_dan_van_kheo"] == ("ge", Decimal(3))  # the ward's allocation
    data = draft_as_yaml(key, {"mo_hinh_dan_van_kheo": {"value": 4}, "quy_che_dan_chu": {"value": 95}})
    path, _ = write_plan(tmp_path / "ke-hoach-gia-loc.yaml", data)

    assert import_plan(path, replace=True) == key
    adjusted = plan_row(key)
    assert (adjusted["status"], adjusted["number"], adjusted["level"]) == (PlanStatus.DRAFT, None, 1)
    assert adjusted["targets"]["mo_hinh_dan_van_kheo"] == ("ge", Decimal(4))
    assert adjusted["targets"]["quy_che_dan_chu"] == ("gt", Decimal(95))
    assert assignments_of_unit("tb.gialoc.ca") == []
    assert cascade_plan(PLAN, date(2024, 2, 1)).drafted == 0  # the adjusted draft is neither redrafted nor issued

    # Issued, the adjusted plan answers the town's duty and goes down with the tightened targets.
    issue_plan(key, date(2024, 2, 19))
    assert (plan_row(key)["status"], plan_row(key)["number"]) == (PlanStatus.ISSUED, "1")
    assert assignment_of(PLAN, "ke_hoach", "tb.gialoc")["channels"] == [Channel.PLAN]  # type: ignore[index]
    assert [code for _, code in assignments_of_unit("tb.gialoc.yt")] == ["bao_cao_nam", "ke_hoach"]


def test_a_loosened_draft_is_refused_naming_file_line_and_parent(town, tmp_path: Path) -> None:
    key = draft_key("tb.gialoc")
    data = draft_as_yaml(key, {"mo_hinh_dan_van_kheo": {"value": 2}, "quy_che_dan_chu": {"value": 85}})
    path, text = write_plan(tmp_path / "ke-hoach-gia-loc.yaml", data)

    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    error = caught.value
    assert error.source == str(path)
    details = error.details().splitlines()
    order = [t["code"] for t in data["plan"]["targets"]]
    for code, shown in (("mo_hinh_dan_van_kheo", "≥ 2"), ("quy_che_dan_chu", "> 85")):
        prefix = f"{path}:{value_line(text, code)}: plan.targets[{order.index(code)}].value: "
        line = next((d for d in details if d.startswith(prefix)), None)
        assert line is not None, f"no {prefix!r} in:\n{error.details()}"
        assert f"'{code}' asks {shown}, looser than the parent plan 104/KH-UBND" in line
    assert "which asks this unit ≥ 3" in error.details()
    assert "looser than the parent plan" in str(error) and str(error).startswith(f"{path}:")
    # Nothing was written: the draft keeps the ward's allocation.
    assert plan_row(key)["targets"]["mo_hinh_dan_van_kheo"] == ("ge", Decimal(3))
    assert plan_row(key)["status"] == PlanStatus.DRAFT

    # Keeping a > target at the same value but with ≥ is looser too.
    data = draft_as_yaml(key, {"quy_che_dan_chu": {"comparator": "ge"}})
    path, text = write_plan(tmp_path / "ke-hoach-gia-loc-2.yaml", data)
    with pytest.raises(ImportFileError, match="looser than the parent plan"):
        import_plan(path, replace=True)

    # So is counting a unit as meeting the criterion on a lower figure of its own (≥ 0 instead of ≥ 1).
    data = draft_as_yaml(key, {"quy_che_dan_chu": {"unit_threshold": {"comparator": "ge", "value": 0}}})
    path, text = write_plan(tmp_path / "ke-hoach-gia-loc-3.yaml", data)
    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if t.strip() == "unit_threshold:" and i > value_line(text, "quy_che_dan_chu"))
    prefix = f"{path}:{line}: plan.targets[{order.index('quy_che_dan_chu')}].unit_threshold: "
    assert caught.value.details().startswith(prefix), caught.value.details()
    assert "looser than the parent plan 104/KH-UBND, which counts it when ≥ 1" in caught.value.details()
    assert len(caught.value.problems) == 1


def test_a_draft_that_drops_a_target_or_gives_its_units_a_later_deadline_is_refused(town, tmp_path: Path) -> None:
    key = draft_key("tb.antinh")
    data = draft_as_yaml(key)
    data["plan"]["targets"] = [t for t in data["plan"]["targets"] if t["code"] != "hai_long"]
    annual = next(d for d in data["plan"]["duties"] if d["code"] == "bao_cao_nam")
    annual["indicators"].remove("hai_long")
    assert annual["due_on"] == "2024-10-23"  # 5 working days before the ward's own 30/10
    annual["due_on"] = "2024-10-31"
    path, text = write_plan(tmp_path / "ke-hoach-an-tinh.yaml", data)

    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    details = caught.value.details()
    targets_line = text.splitlines().index("  targets:") + 1
    due_line = next(i for i, row in enumerate(text.splitlines(), start=1) if row.strip() == "due_on: '2024-10-31'")
    assert f"{path}:{targets_line}: plan.targets: the parent plan 104/KH-UBND asks this unit to report 'hai_long': keep it" in details
    assert f"{path}:{due_line}: plan.duties[1].due_on: due 31/10/2024, after this unit's own deadline 30/10/2024 for 'bao_cao_nam'" in details
    assert len(caught.value.problems) == 2


def test_an_adjusted_draft_may_carry_a_number_other_issuers_use_but_not_one_of_its_own(town, tmp_path: Path) -> None:
    issue_plan(draft_key("tb.giabinh"), date(2024, 2, 15))  # 1/KH-UBND of Gia Bình
    add_issued_plan("tb.gialoc", "4")  # 4/KH-UBND of Gia Lộc
    key = draft_key("tb.gialoc")

    data = draft_as_yaml(key)
    data["plan"]["number"] = "4"
    path, text = write_plan(tmp_path / "ke-hoach-gia-loc.yaml", data)
    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    number_line = next(i for i, t in enumerate(text.splitlines(), start=1) if t.startswith("  number:"))
    assert caught.value.details() == f"{path}:{number_line}: plan.number: plan 4/KH-UBND of 2024 is already imported under the key '4-kh-ubnd-2024-tb.gialoc'"

    data["plan"]["number"] = "1"
    path, _ = write_plan(tmp_path / "ke-hoach-gia-loc.yaml", data)
    assert import_plan(path, replace=True) == key
    assert (plan_row(key)["status"], plan_row(key)["number"]) == (PlanStatus.DRAFT, "1")
    issue_plan(key, date(2024, 2, 20))
    assert (plan_row(key)["status"], plan_row(key)["number"]) == (PlanStatus.ISSUED, "1")


# ---------------------------------------------------------------------------------------------
# Back-scheduled deadlines across Tết
# ---------------------------------------------------------------------------------------------


def tree_plan(*, issued_on: date, due_on: date, lead_days: int, key: str = "kh-tet") -> str:
    """ROOT → U1, U2 → U1.1, U1.2, U2.1, U2.2 and an annual plan of ROOT due `due_on`, auto issue at every level."""
    make_unit_tree(depth=3, width=2)
    make_plan(key=key, due_on=due_on)
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        plan.issued_on, plan.year = issued_on, issued_on.year
        plan.duties[0].cutoff_on = None
        plan.cascade_policy = {"levels": [{"lead_days": lead_days, "issue": "auto"}]}
        next(t for t in plan.targets if t.code == "nha_o_xa_hoi").allocation_rule = "equal"
    return key


def leaf_due_dates(key: str) -> dict[str, date]:
    with session_scope() as session:
        rows = session.execute(select(Unit.code, Assignment.due_on).join(Assignment, Assignment.unit_id == Unit.id).where(Unit.code.like("U_._"))).all()
    assert {code for code, _ in rows} == {"U1.1", "U1.2", "U2.1", "U2.2"}
    return dict(rows)


def derived_tasks(key: str) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Derived plan key → its tasks' codes → the (unit code, role) pairs each names."""
    with session_scope() as session:
        plans = session.scalars(select(Plan).where(Plan.parent_plan_id.is_not(None), Plan.key.startswith(key))).all()
        return {p.key: {t.code: sorted((tu.unit.code, tu.role) for tu in t.units) for t in p.tasks} for p in plans}


def test_a_derived_plan_inherits_only_the_tasks_that_concern_its_unit(workspace, smtp_server) -> None:
    key = tree_plan(issued_on=date(2025, 1, 6), due_on=date(2025, 2, 5), lead_days=5)
    with session_scope() as session:
        units = {u.code: u for u in session.scalars(select(Unit))}
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        # Task 1 (make_plan): led by U1, supported by U2.
        plan.tasks += [
            PlanTask(code="2", position=2, title="Tổng hợp, báo cáo Ban Dân vận Tỉnh ủy", units=[TaskUnit(unit=units["ROOT"], role=TaskRole.LEAD)]),
            PlanTask(code="3", position=3, title="Thành lập Tổ công tác dân vận của đơn vị"),  # names nobody: everyone's
            PlanTask(
                code="4",
                position=4,
                title="Xây dựng mô hình “Dân vận khéo”",
                units=[
                    TaskUnit(unit=units["U1.1"], role=TaskRole.LEAD),
                    TaskUnit(unit=units["ROOT"], role=TaskRole.SUPPORT),
                ],
            ),
        ]
    cascade_plan(key, date(2025, 1, 8))

    assert derived_tasks(key) == {
        # U1 led task 1: in its plan the task names nobody (all its units'); task 4 keeps U1.1 as lead.
        f"{key}--U1": {"1": [], "3": [], "4": [("U1.1", TaskRole.LEAD)]},
        # U2 supported task 1; task 4 concerns nobody under U2; task 2 (the root's own) stays with the root.
        f"{key}--U2": {"1": [], "3": []},
    }
    with session_scope() as session:
        letter = session.scalars(
            select(Assignment).join(ReportDuty).join(Plan).join(Unit, Unit.id == Assignment.unit_id).where(Plan.key == f"{key}--U1", Unit.code == "U1.1")
        ).one()
        path = notice_document_path(letter)
    lines = [p.text for p in Document(str(path)).paragraphs]
    tasks = lines[lines.index("1. Nhiệm vụ") + 1 : lines.index("2. Chỉ tiêu")]
    unit = "Tổ công tác số 1 - Văn phòng Sở"
    assert tasks == [
        f"- Giao {unit} đẩy mạnh cải cách hành chính.",
        f"- Giao {unit} thành lập Tổ công tác dân vận của đơn vị.",
        f"- Giao {unit} chủ trì xây dựng mô hình “Dân vận khéo”.",
    ]
    assert not any("Gửi thành lập" in line for line in lines)


def test_a_deadline_back_scheduled_across_tet_2025(workspace, smtp_server) -> None:
    key = tree_plan(issued_on=date(2025, 1, 6), due_on=date(2025, 2, 5), lead_days=5)
    result = cascade_plan(key, date(2025, 1, 8))
    assert (result.drafted, result.issued, result.levels) == (2, 2, 2)
    # 5 working days before Wed 05/02/2025: Tue 04/02 (1), Mon 03/02 (2); Sat 25/01 - Sun 02/02 is Tết Ất Tỵ
    # (Mon 27/01 - Sat 01/02 holidays, weekends around it); Fri 24/01 (3), Thu 23/01 (4), Wed 22/01 (5).
    assert set(leaf_due_dates(key).values()) == {date(2025, 1, 22)}
    with session_scope() as session:
        derived = session.scalars(select(Plan).where(Plan.parent_plan_id.is_not(None)).order_by(Plan.key)).all()
        assert [(p.key, p.status, p.number) for p in derived] == [(f"{key}--U1", PlanStatus.ISSUED, "1"), (f"{key}--U2", PlanStatus.ISSUED, "1")]
        # 715 houses shared equally between U1 and U2 (whole shares, the first in code order gets the remainder).
        houses = {p.key[-2:]: next(t.value for t in p.targets if t.code == "nha_o_xa_hoi") for p in derived}
        assert houses == {"U1": Decimal(358), "U2": Decimal(357)}


def test_a_deadline_back_scheduled_across_tet_2026(workspace, smtp_server) -> None:
    key = tree_plan(issued_on=date(2026, 1, 5), due_on=date(2026, 2, 24), lead_days=3)
    cascade_plan(key, date(2026, 1, 7))
    # 3 working days before Tue 24/02/2026: Mon 23/02 (1); Sat 14/02 - Sun 22/02 is Tết Bính Ngọ
    # (Mon 16/02 - Fri 20/02 holidays, two weekends around it); Fri 13/02 (2), Thu 12/02 (3).
    assert set(leaf_due_dates(key).values()) == {date(2026, 2, 12)}


def test_a_local_day_off_inside_the_window_moves_the_deadline_one_working_day_earlier(workspace, smtp_server) -> None:
    key = tree_plan(issued_on=date(2025, 1, 6), due_on=date(2025, 2, 5), lead_days=5)
    with session_scope() as session:
        set_override(session, date(2025, 1, 23), working=False, note="Nghỉ lễ địa phương")
    cascade_plan(key, date(2025, 1, 8))
    # As above, but Thu 23/01 is a day off: 04/02 (1), 03/02 (2), 24/01 (3), 22/01 (4), Tue 21/01 (5).
    assert set(leaf_due_dates(key).values()) == {date(2025, 1, 21)}


def test_a_working_saturday_inside_the_window_moves_the_deadline_one_working_day_later(workspace, smtp_server) -> None:
    key = tree_plan(issued_on=date(2026, 1, 5), due_on=date(2026, 2, 24), lead_days=3)
    with session_scope() as session:
        set_override(session, date(2026, 2, 14), working=True, note="Làm bù")
    cascade_plan(key, date(2026, 1, 7))
    # Sat 14/02/2026 worked: 23/02 (1), 14/02 (2), 13/02 (3).
    assert set(leaf_due_dates(key).values()) == {date(2026, 2, 13)}


def test_a_draft_may_not_turn_a_target_into_a_plain_figure(town, tmp_path: Path) -> None:
    key = draft_key("tb.antinh")
    data = draft_as_yaml(key)
    target = next(t for t in data["plan"]["targets"] if t["code"] == "hai_long")
    del target["comparator"], target["value"]
    path, _ = write_plan(tmp_path / "ke-hoach-an-tinh.yaml", data)
    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    index = [t["code"] for t in data["plan"]["targets"]].index("hai_long")
    assert f"plan.targets[{index}].comparator: 'hai_long' has no target, but the parent plan 104/KH-UBND asks this unit ≥ 90" in caught.value.details()
    assert plan_row(key)["targets"]["hai_long"] == ("ge", Decimal(90))
