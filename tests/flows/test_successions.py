"""A merger in the middle of a cycle: two units of a ward cease on 30/06/2025 and a new unit takes over.

The tree (builders.make_unit_tree): ROOT → U1, U2 → U1.1, U1.2, U2.1, U2.2. The root's 2025 plan
(report due Thu 30/10/2025) is cascaded on 07/04/2025; U1 and U2 issue their implementing plans at
once, so that U1.1 and U1.2 report to U1 by Thu 23/10/2025 (5 working days earlier: 29, 28, 27,
24, 23/10). After the cascade, U1.9 is created under U1 (valid from 01/07/2025) and U1.1 and U1.2
cease on 30/06/2025 with U1.9 as their successor.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from cascade.errors import ConflictError, NotFound
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.deliver_outbox import deliver_outbox
from flows.record_submission import submit_report
from flows.send_reminders import send_reminders
from models.assignment import Assignment, AssignmentStatus
from models.db import session_scope
from models.outbox import OutboundEmail
from models.plan import Plan, ReportDuty
from models.submission import Submission
from models.unit import Unit, UnitKind
from tasks.cascading.succession import Successions, apply_successions
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.flows.helpers import submission

pytestmark = pytest.mark.usefixtures("prefect_harness")

KEY = "12-kh-sxd-2025"
WARD_PLAN = f"{KEY}--U1"
CASCADED_ON = date(2025, 4, 7)
LAST_DAY = date(2025, 6, 30)  # A and B's last day
MERGED_ON = date(2025, 7, 1)
LEAF_DUE = date(2025, 10, 23)
A, B, C = "U1.1", "U1.2", "U1.9"


def address(code: str) -> str:
    return f"{code.lower()}@sxd.example.gov.vn"


def recipients_of(messages: list[EmailMessage]) -> list[str]:
    return [m["To"].addresses[0].addr_spec for m in messages]


def snapshot() -> list[tuple[Any, ...]]:
    """Every assignment as (id, duty, unit, status, from, submitted on), and the outbox size."""
    with session_scope() as session:
        rows = [
            (a.id, a.duty_id, a.unit_id, a.status, a.transferred_from_id, a.submitted_on, a.reminder_rank)
            for a in session.scalars(select(Assignment).order_by(Assignment.id))
        ]
        rows.append(("outbox", len(session.scalars(select(OutboundEmail.id)).all())))
        return rows


def leaf_assignments(plan_key: str = WARD_PLAN) -> dict[str, dict[str, Any]]:
    """The assignments of a plan's duty bao_cao_nam, by the code of the unit that holds them."""
    with session_scope() as session:
        rows = session.execute(
            select(Assignment, Unit.code)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Plan.key == plan_key, ReportDuty.code == "bao_cao_nam")
        ).all()
        code_of = dict(session.execute(select(Unit.id, Unit.code)).all())
        return {
            code: {
                "id": a.id,
                "status": a.status,
                "from": code_of.get(a.transferred_from_id),
                "due_on": a.due_on,
                "submitted_on": a.submitted_on,
                "versions": len(session.scalars(select(Submission.id).where(Submission.assignment_id == a.id)).all()),
            }
            for a, code in rows
        }


@pytest.fixture()
def ward(workspace, smtp_server):  # type: ignore[no-untyped-def]
    """The cascaded tree, before the merger is recorded."""
    make_unit_tree(depth=3, width=2)
    make_plan(key=KEY, due_on=date(2025, 10, 30), reminder_days=[120, 7])
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == KEY)).one()
        plan.number, plan.issued_on, plan.year = "12", date(2025, 4, 2), 2025
        plan.duties[0].cutoff_on = date(2025, 10, 15)
        plan.cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}]}
    result = cascade_plan(KEY, CASCADED_ON)
    assert (result.assigned, result.drafted, result.issued) == (2 + 4, 2, 2)
    assert {code: a["due_on"] for code, a in leaf_assignments().items()} == {A: LEAF_DUE, B: LEAF_DUE}
    return smtp_server


def record_merger(successor_from: date = MERGED_ON) -> None:
    """U1.9 created under U1 from 01/07/2025; U1.1 and U1.2 cease on 30/06/2025 and merge into it."""
    with session_scope() as session:
        parent = session.scalars(select(Unit).where(Unit.code == "U1")).one()
        successor = Unit(
            code=C, name="Tổ công tác hợp nhất - Văn phòng Sở", kind=UnitKind.OFFICE, parent=parent, emails=[address(C)],
            head_title="TỔ TRƯỞNG", valid_from=successor_from,
        )  # fmt: skip
        session.add(successor)
        for unit in session.scalars(select(Unit).where(Unit.code.in_([A, B]))):
            unit.valid_to, unit.successor = LAST_DAY, successor


def report(unit: str, day: date, **values: object):  # type: ignore[no-untyped-def]
    figures = values or {"dan_van_kheo": 1, "nha_o_xa_hoi": 100, "nuoc_sach": (900, 1000), "hai_long": 96}
    return submit_report(submission(KEY, unit, key=f"{unit}-{day}", **figures), day)


def test_open_assignments_move_to_the_successor_or_merge(ward) -> None:
    send_reminders(date(2025, 6, 25))  # 120 days before 23/10: the first reminder goes to A and B
    assert sorted(recipients_of([m for m in ward.messages() if str(m["Subject"]).startswith("Nhắc hạn")])) == sorted(
        [address(A), address(B), address("U2.1"), address("U2.2")]
    )
    record_merger()

    # Not yet on their last day.
    assert apply_successions(LAST_DAY) == Successions(moved=0, merged=0)
    assert leaf_assignments()[A]["status"] == AssignmentStatus.ASSIGNED

    before = len(ward.messages())
    cascade_plan(KEY, MERGED_ON)  # applies the successions first, then assigns nothing new
    assignments = leaf_assignments()
    assert set(assignments) == {B, C}
    assert assignments[C]["from"] == A and assignments[C]["status"] == AssignmentStatus.ASSIGNED and assignments[C]["due_on"] == LEAF_DUE
    assert assignments[B]["status"] == AssignmentStatus.MERGED
    with session_scope() as session:
        assert len(session.scalars(select(Assignment).join(Unit, Unit.id == Assignment.unit_id).where(Unit.code == C)).all()) == 1

    notices = ward.messages()[before:]
    assert recipients_of(notices) == [address(C)]
    assert str(notices[0]["Subject"]).startswith("Giao nhiệm vụ báo cáo") and "hạn 23/10/2025" in str(notices[0]["Subject"])

    # Twice changes nothing, on the same day or later, directly or through a flow.
    state = snapshot()
    assert apply_successions(MERGED_ON) == Successions(moved=0, merged=0)
    assert apply_successions(date(2025, 7, 15)) == Successions(moved=0, merged=0)
    assert cascade_plan(KEY, date(2025, 7, 15)).assigned == 0
    assert snapshot() == state
    assert len(ward.messages()) == before + 1

    # Reminders go to C only: 7 days before 23/10.
    before = len(ward.messages())
    send_reminders(date(2025, 10, 16))
    send_reminders(date(2025, 10, 27))  # overdue-1 (Friday 24/10), sent on Monday: nothing goes out on Saturday 25/10
    later = ward.messages()[before:]
    assert address(C) in recipients_of(later)
    assert recipients_of(later).count(address(C)) == 2
    assert not {address(A), address(B)} & set(recipients_of(later))

    # A has nothing left to report on, and B's merged assignment takes no report.
    with pytest.raises(NotFound):
        report(A, date(2025, 10, 26))
    with pytest.raises(ConflictError, match="merged into its successor"):
        report(B, date(2025, 10, 26))


def test_a_unit_keeps_its_work_until_its_last_day_even_when_its_successor_already_exists(ward) -> None:
    record_merger(successor_from=date(2025, 6, 1))
    assert apply_successions(date(2025, 6, 15)) == Successions(moved=0, merged=0)
    assert apply_successions(LAST_DAY) == Successions(moved=0, merged=0)
    assert set(leaf_assignments()) == {A, B}
    assert apply_successions(MERGED_ON) == Successions(moved=1, merged=1)
    assert set(leaf_assignments()) == {B, C}


def test_consolidation_counts_the_successor_once_and_never_exceeds_100_percent(ward) -> None:
    record_merger()
    cascade_plan(KEY, MERGED_ON)
    report(C, date(2025, 10, 20))
    report("U2.1", date(2025, 10, 21))
    report("U2.2", date(2025, 10, 22))

    outcome = consolidate(KEY, "bao_cao_nam", date(2025, 10, 24))
    assert outcome.below == 2  # U1's and U2's plans, consolidated and submitted upward first
    r = outcome.result
    assert [u.code for u in r.submitted] == ["U1", "U2"] and r.late == () and r.missing == ()
    assert (r.completeness, r.timeliness) == (Decimal(100), Decimal(100))
    assert [(lv.level, lv.expected, lv.submitted, lv.on_time) for lv in r.levels] == [(1, 2, 2, 2), (2, 3, 3, 3)]
    for level in r.levels:
        assert level.completeness is not None and level.completeness <= 100
        assert level.timeliness is not None and level.timeliness <= 100
    # U1 stands for one unit at the bottom (C), U2 for two: the houses add up once each.
    houses = next(t for t in r.results if t.rule.code == "nha_o_xa_hoi")
    assert houses.figure == Decimal(300)

    ward_result = consolidate(WARD_PLAN, "bao_cao_nam", date(2025, 10, 24), all_levels=False).result
    assert ward_result.expected == 1 and [u.code for u in ward_result.submitted] == [C]
    assert (ward_result.completeness, ward_result.timeliness) == (Decimal(100), Decimal(100))


def test_a_report_submitted_before_the_merger_stays_with_its_unit_and_is_counted(ward) -> None:
    report(A, date(2025, 6, 20))
    record_merger()
    assert apply_successions(MERGED_ON) == Successions(moved=1, merged=0)
    deliver_outbox(MERGED_ON)
    assignments = leaf_assignments()
    assert set(assignments) == {A, C}
    assert (assignments[A]["status"], assignments[A]["submitted_on"], assignments[A]["versions"]) == (AssignmentStatus.SUBMITTED, date(2025, 6, 20), 1)
    assert assignments[C]["from"] == B and assignments[C]["versions"] == 0
    assert apply_successions(MERGED_ON) == Successions(moved=0, merged=0)

    # No reminder to A (submitted) or B (gone) after the merger; C gets one.
    send_reminders(date(2025, 10, 16))
    reminded = [m for m in ward.messages() if str(m["Subject"]).startswith(("Nhắc hạn", "Quá hạn"))]
    assert recipients_of(reminded).count(address(C)) == 1 and not {address(A), address(B)} & set(recipients_of(reminded))

    # C reports late; A's report still counts, on time.
    report(C, date(2025, 10, 27))
    r = consolidate(WARD_PLAN, "bao_cao_nam", date(2025, 10, 28), all_levels=False).result
    assert r.expected == 2
    assert [u.code for u in r.on_time] == [A] and [u.code for u in r.late] == [C]
    assert (r.completeness, r.timeliness) == (Decimal(100), Decimal(50))
    houses = next(t for t in r.results if t.rule.code == "nha_o_xa_hoi")
    assert houses.figure == Decimal(200)


def test_reminders_right_after_the_merger_go_to_the_successor(ward) -> None:
    record_merger()
    send_reminders(date(2025, 10, 16))  # the first run since the merger: no cascade or consolidation in between
    reminded = recipients_of([m for m in ward.messages() if str(m["Subject"]).startswith("Nhắc hạn")])
    assert not {address(A), address(B)} & set(reminded)
    assert address(C) in reminded
    # The successor's reminder answers the notice it received, not the one its predecessor did.
    notice = next(m for m in ward.messages() if str(m["Subject"]).startswith("Giao nhiệm vụ") and address(C) in str(m["To"]))
    reminder = next(m for m in ward.messages() if str(m["Subject"]).startswith("Nhắc hạn") and address(C) in str(m["To"]))
    assert reminder["In-Reply-To"] == notice["Message-ID"]


def assignments_of(code: str) -> list[tuple[str, str, AssignmentStatus]]:
    """The unit's assignments as (plan key, duty code, status)."""
    with session_scope() as session:
        rows = session.execute(
            select(Plan.key, ReportDuty.code, Assignment.status)
            .join(ReportDuty, ReportDuty.id == Assignment.duty_id)
            .join(Plan, Plan.id == ReportDuty.plan_id)
            .join(Unit, Unit.id == Assignment.unit_id)
            .where(Unit.code == code)
            .order_by(Plan.key, ReportDuty.code)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def dissolve(code: str, into: str) -> None:
    with session_scope() as session:
        successor = session.scalars(select(Unit).where(Unit.code == into)).one()
        unit = session.scalars(select(Unit).where(Unit.code == code)).one()
        unit.valid_to, unit.successor = LAST_DAY, successor


@pytest.mark.parametrize(("ceased", "successor", "own_plan"), [("U1.1", "U2.1", f"{KEY}--U2"), ("U1.1", "U2", KEY), ("U1", "U2", KEY)])
def test_a_successor_already_reporting_for_the_duty_gets_no_second_copy(ward, ceased: str, successor: str, own_plan: str) -> None:
    """A unit merging into one that already reports (under another plan) for the same duty of the
    root: the successor keeps its one assignment and gets no second notice."""
    assert assignments_of(successor) == [(own_plan, "bao_cao_nam", AssignmentStatus.ASSIGNED)]
    dissolve(ceased, successor)
    before = len(ward.messages())
    cascade_plan(KEY, MERGED_ON)
    send_reminders(date(2025, 10, 16))
    assert assignments_of(successor) == [(own_plan, "bao_cao_nam", AssignmentStatus.ASSIGNED)]
    assert [status for *_, status in assignments_of(ceased)] == [AssignmentStatus.MERGED]
    later = ward.messages()[before:]
    assert not [m for m in later if str(m["Subject"]).startswith("Giao nhiệm vụ")]
    assert recipients_of([m for m in later if str(m["Subject"]).startswith("Nhắc hạn")]).count(address(successor)) == 1
