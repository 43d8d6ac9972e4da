"""A plan cascaded down four levels (1 → 5 → 25 → 125 units) and consolidated back up.

One scenario, built once for the module (it cascades to 155 units, sends 155 notices and records
about 120 leaf reports), is read by every test: deadlines, allocations, figures, level rates,
traceability, reruns and the compiled narrative; the last test replays an earlier day. Every
expected figure is computed here from the leaf values the scenario submitted, never by the code
under test, and working days are counted with the `holidays` package, not WorkingCalendar.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import holidays
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cascade.calendar import WorkingCalendar
from cascade.clock import local_date
from flows.cascade_plan import CascadeResult, cascade_plan
from flows.consolidate import ConsolidationResult, consolidate
from flows.deliver_outbox import deliver_outbox
from flows.record_submission import submit_report
from models.assignment import Assignment
from models.db import session_scope
from models.outbox import OutboundEmail
from models.plan import Plan, PlanStatus, ReportDuty, Target
from models.report import Report
from models.submission import Channel, Submission, SubmissionValue
from models.unit import Unit
from tasks.intake.submissions import FigureInput, SubmissionInput, record_submission
from tests.fixtures.builders import make_plan, make_unit_tree
from tests.fixtures.database import isolated_database
from tests.fixtures.smtp import SmtpServer, serving_mailbox

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.database]

ROOT_DUE = date(2024, 10, 30)
CASCADE_DAY = date(2024, 4, 5)
CONSOLIDATION_DAY = date(2024, 11, 8)  # after the root's due date: each intermediate unit is first consolidated on its own day
OWN_DAYS = {1: date(2024, 10, 24), 2: date(2024, 10, 21)}  # the first working day after the deadline of a level's own plan (23/10, 18/10)
DUTY = "bao_cao_nam"
LEAD_DAYS = [5, 3, 2]  # level 1 units keep 5 working days to consolidate, level 2 units 3 (level 3 are leaves)
TOTAL_HOUSES = 715
ALLOCATIONS = {"U1": 200, "U2": 151, "U3": 143, "U4": 122, "U5": 99}  # all but 200 split unevenly in 5 (and 31 in 5 again)
SEED = 20241030


# ---------------------------------------------------------------------------------------------
# An independent working-day count: the `holidays` package and weekends, not WorkingCalendar.

_VN_HOLIDAYS = holidays.country_holidays("VN", years=2024)


def independent_working_days(start: date, end: date) -> int:
    """Working days d with start < d ≤ end: Monday to Friday and not a Vietnamese public holiday."""
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        if day.weekday() < 5 and day not in _VN_HOLIDAYS:
            count += 1
        day += timedelta(days=1)
    return count


def equal_shares(total: int, codes: list[str]) -> dict[str, int]:
    """Whole shares by largest remainder: everyone the floor, the first in code order one more each."""
    ordered = sorted(codes)
    base, rest = divmod(total, len(ordered))
    return {code: base + (1 if i < rest else 0) for i, code in enumerate(ordered)}


def depth_of(code: str) -> int:
    return 0 if code == "ROOT" else code.count(".") + 1


# ---------------------------------------------------------------------------------------------
# The scenario


@dataclass
class Leaf:
    code: str
    fate: str  # on_time | late | never | too_late (after the consolidation day) | corrected (v1 on time, v2 later)
    days: list[date] = field(default_factory=list)  # the day of each version it submits
    houses: int = 0  # in its first version; a correction adds 3
    water: tuple[int, int] = (0, 0)
    skilled: int = 0
    satisfaction: Decimal = Decimal(0)
    ids: list[int] = field(default_factory=list)  # the submission id of each version

    def counts(self, day: date = CONSOLIDATION_DAY) -> bool:
        """Whether the leaf's report is in by the end of `day`."""
        return bool(self.days) and self.days[0] <= day

    def version_on(self, day: date = CONSOLIDATION_DAY) -> int:
        """The leaf's latest version (1, 2) by the end of `day`."""
        return sum(1 for d in self.days if d <= day)

    def houses_on(self, day: date = CONSOLIDATION_DAY) -> int:
        return self.houses + (3 if self.version_on(day) == 2 else 0)

    def submission_on(self, day: date = CONSOLIDATION_DAY) -> int:
        return self.ids[self.version_on(day) - 1]


@dataclass
class Scenario:
    plan: str
    units: list[str]
    smtp: SmtpServer
    cascade: CascadeResult
    rerun: CascadeResult
    rows_after_cascade: dict[str, int]
    rows_after_rerun: dict[str, int]
    notices: list[tuple[str, str]]  # (recipient's mailbox, subject) of every message the cascade sent
    messages_after_rerun: int
    leaves: dict[str, Leaf]
    outcome: ConsolidationResult

    def leaves_reporting(self, day: date = CONSOLIDATION_DAY) -> list[Leaf]:
        return [leaf for leaf in self.leaves.values() if leaf.counts(day)]


def row_counts() -> dict[str, int]:
    with session_scope() as session:
        return {
            "assignments": session.scalar(select(func.count()).select_from(Assignment)) or 0,
            "plans": session.scalar(select(func.count()).select_from(Plan)) or 0,
            "emails": session.scalar(select(func.count()).select_from(OutboundEmail)) or 0,
            "submissions": session.scalar(select(func.count()).select_from(Submission)) or 0,
            "reports": session.scalar(select(func.count()).select_from(Report)) or 0,
        }


def make_multilevel_plan() -> str:
    """The builders' plan 74/KH-SXD with a cascade policy for three levels and its sum target allocated."""
    key = make_plan()
    with session_scope() as session:
        plan = session.scalar(select(Plan).where(Plan.key == key))
        assert plan is not None
        plan.cascade_policy = {"levels": [{"lead_days": n, "issue": "auto"} for n in LEAD_DAYS]}
        houses = next(t for t in plan.targets if t.code == "nha_o_xa_hoi")
        houses.value = Decimal(TOTAL_HOUSES)
        houses.allocations = dict(ALLOCATIONS)
        houses.allocation_rule = "equal"
    return key


def leaf_input(plan: str, leaf: Leaf, *, version: int = 1) -> SubmissionInput:
    n, d = leaf.water
    houses = leaf.houses + (3 if version == 2 else 0)
    return SubmissionInput(
        plan=plan,
        duty=DUTY,
        unit=leaf.code,
        channel=Channel.FILE,
        source_key=f"{leaf.code}-v{version}",
        values={
            "dan_van_kheo": FigureInput(value=Decimal(leaf.skilled)),
            "nha_o_xa_hoi": FigureInput(value=Decimal(houses)),
            "nuoc_sach": FigureInput(numerator=Decimal(n), denominator=Decimal(d)),
            "hai_long": FigureInput(value=leaf.satisfaction),
        },
        sections={"tinh_hinh": f"Tình hình chung của tổ {leaf.code}.", "ket_qua": f"Kết quả của tổ {leaf.code}: {houses} căn."},
    )


def plan_leaves(codes: list[str]) -> dict[str, Leaf]:
    """Every leaf's fate and figures, drawn from a seeded generator.

    The whole group under U5.5 never reports (a consolidated unit with nothing below it);
    one leaf reports only after the consolidation day and one corrects its report later.
    """
    rng = random.Random(SEED)
    leaves: dict[str, Leaf] = {}
    for code in [c for c in codes if depth_of(c) == 3]:
        draw = rng.random()
        if code.startswith("U5.5."):
            fate = "never"
        elif code == "U2.3.4":
            fate = "too_late"
        elif code == "U3.1.2":
            fate = "corrected"
        else:
            fate = "never" if draw < 0.06 else "late" if draw < 0.16 else "on_time"
        den = rng.randint(200, 2000)
        leaf = Leaf(
            code=code,
            fate=fate,
            houses=rng.randint(0, 12),
            water=(rng.randint(den // 2, den), den),
            skilled=1 if rng.random() < 0.8 else 0,
            satisfaction=Decimal(rng.randint(850, 1000)) / 10,
        )
        on_time_day = date(2024, 10, 1) + timedelta(days=rng.randint(0, 17))  # 01/10 … 18/10 (a leaf's due date)
        late_day = date(2024, 10, 19) + timedelta(days=rng.randint(0, 20))  # 19/10 … 08/11
        leaf.days = {
            "on_time": [on_time_day],
            "late": [late_day],
            "never": [],
            "too_late": [date(2024, 11, 12)],
            "corrected": [on_time_day, date(2024, 11, 4)],
        }[fate]
        leaves[code] = leaf
    return leaves


def through_flow(leaf: Leaf) -> bool:
    """Whether a leaf's report goes through the `submit_report` flow.

    Every late, corrected or too-late report, and the first leaf of each level-1 subtree, goes
    through the flow as a unit's file would. A flow run costs most of a second, so the hundred
    or so other on-time reports are recorded by the flow's own task body (`record_submission.fn`:
    the same lookup of the leaf's assignment in the derived plan from the root key, the same new
    version and queued receipt), their receipts delivered once at the end.
    """
    return leaf.fate != "on_time" or leaf.code.endswith(".1.1")


@pytest.fixture(scope="module")
def scenario(prefect_harness, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:  # type: ignore[no-untyped-def]
    """The four-level cascade, the leaves' reports and the bottom-up consolidation, built once."""
    tmp = tmp_path_factory.mktemp("levels")
    with (
        pytest.MonkeyPatch.context() as mp,
        # What the `workspace` and `smtp_server` fixtures do, for the whole module.
        serving_mailbox(tmp / "maildir", mp) as smtp,
        isolated_database(tmp / "workspace", mp),
    ):
        codes = make_unit_tree(depth=4, width=5)
        plan = make_multilevel_plan()

        first = cascade_plan(plan, CASCADE_DAY)
        rows_after_cascade = row_counts()
        notices = [(m["To"].addresses[0].username, str(m["Subject"])) for m in smtp.messages()]

        rerun = cascade_plan(plan, CASCADE_DAY + timedelta(days=3))  # nothing new to do
        rows_after_rerun, messages_after_rerun = row_counts(), len(smtp.messages())

        leaves = plan_leaves(codes)
        visits = sorted((day, leaf.code, version) for leaf in leaves.values() for version, day in enumerate(leaf.days, start=1))
        for day, code, version in visits:
            leaf = leaves[code]
            data = leaf_input(plan, leaf, version=version)
            if through_flow(leaf):
                recorded = submit_report(data, day)
            else:
                recorded = record_submission.fn(data, day)
            assert recorded.is_new and recorded.version == version
            leaf.ids.append(recorded.submission_id)
        deliver_outbox(visits[-1][0])  # receipts still queued by the leaves recorded without the flow

        outcome = consolidate(plan, DUTY, CONSOLIDATION_DAY, all_levels=True)

        yield Scenario(
            plan=plan, units=codes, smtp=smtp, cascade=first, rerun=rerun,
            rows_after_cascade=rows_after_cascade, rows_after_rerun=rows_after_rerun,
            notices=notices, messages_after_rerun=messages_after_rerun,
            leaves=leaves, outcome=outcome,
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Helpers reading the database


def unit_names() -> dict[str, str]:
    with session_scope() as session:
        return {u.code: u.name for u in session.scalars(select(Unit))}


def root_report(scenario: Scenario) -> Report:
    with session_scope() as session:
        return session.get_one(Report, scenario.outcome.report_id)


def parent_code(code: str) -> str:
    return "ROOT" if depth_of(code) == 1 else code.rsplit(".", 1)[0]


# ---------------------------------------------------------------------------------------------
# 1. The cascade: assignments, implementing plans, numbers, deadlines, allocations


def test_the_plan_reaches_every_unit_through_an_issued_plan_at_every_level(scenario: Scenario) -> None:
    assert (scenario.cascade.assigned, scenario.cascade.drafted, scenario.cascade.issued) == (155, 30, 30)
    assert scenario.cascade.levels == 3 and scenario.cascade.delivery.sent == 155
    # One notice per unit below the root, with its own deadline (see the next test).
    due = {1: "30/10/2024", 2: "23/10/2024", 3: "18/10/2024"}
    assert sorted(to for to, _ in scenario.notices) == sorted(c.lower() for c in scenario.units[1:])
    for to, subject in scenario.notices:
        assert subject.startswith("Giao nhiệm vụ báo cáo") and re.search(f"– hạn {due[depth_of(to.upper())]} \\[GV-\\d{{6}}\\]: ", subject), (to, subject)

    with session_scope() as session:
        plans = session.scalars(select(Plan)).all()
        by_id = {p.id: p for p in plans}
        assert len(plans) == 31 and all(p.status == PlanStatus.ISSUED for p in plans)
        issuers = {p.issuer.code: p for p in plans}
        # One plan per unit that has subordinates: the root, the 5 level-1 and the 25 level-2 units.
        assert sorted(p.issuer.code for p in plans) == sorted(c for c in scenario.units if depth_of(c) <= 2)
        assert issuers["ROOT"].number == "74" and issuers["ROOT"].parent_plan_id is None
        numbers: dict[str, list[int]] = {}
        for plan in plans:
            code = plan.issuer.code
            numbers.setdefault(code, []).append(int(plan.number or 0))
            if code == "ROOT":
                continue
            parent = by_id[plan.parent_plan_id]  # type: ignore[index]
            assert parent.issuer.code == parent_code(code)
            assert plan.level == depth_of(code) and plan.key == f"{parent.key}--{code}"
            assert plan.symbol == f"KH-{code.upper()}" and plan.issued_on == CASCADE_DAY
        # Each issuer numbers its own plans from 1 (one implementing plan each here).
        assert all(sorted(n) == list(range(1, len(n) + 1)) for code, n in numbers.items() if code != "ROOT")

        # Every unit below the root is assigned exactly once, on the duty of its parent's plan.
        rows = session.execute(select(Assignment, ReportDuty, Unit).join(ReportDuty).join(Unit, Unit.id == Assignment.unit_id)).all()
        assert len(rows) == 155 and sorted(u.code for _, _, u in rows) == sorted(scenario.units[1:])
        for assignment, duty, unit in rows:
            assert by_id[duty.plan_id].issuer.code == parent_code(unit.code)
            assert assignment.due_on == duty.due_on


def test_each_level_is_due_earlier_by_its_lead_time_in_working_days(scenario: Scenario) -> None:
    with session_scope() as session:
        duties = {d.id: d for d in session.scalars(select(ReportDuty))}
        plans = {p.id: p for p in session.scalars(select(Plan))}
        due_by_level: dict[int, set[date]] = {}
        for duty in duties.values():
            plan = plans[duty.plan_id]
            due_by_level.setdefault(plan.level, set()).add(duty.due_on)
            if plan.level == 0:
                assert duty.source_duty_id is None and duty.due_on == ROOT_DUE
                continue
            source = duties[duty.source_duty_id]  # type: ignore[index]
            assert plans[source.plan_id].id == plan.parent_plan_id and source.code == duty.code
            lead = LEAD_DAYS[plan.level - 1]  # what the plan's issuer (a level-`plan.level` unit) keeps to consolidate
            assert duty.due_on < source.due_on
            assert independent_working_days(duty.due_on, source.due_on) == lead, (plan.key, duty.due_on, source.due_on)
            assert duty.due_on.weekday() < 5 and duty.due_on not in _VN_HOLIDAYS
            assert duty.cutoff_on == min(date(2024, 10, 15), duty.due_on)
        leaves_due = {a.due_on for a, u in session.execute(select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id)) if depth_of(u.code) == 3}
    # By hand: Wed 30/10 − 5 working days = Wed 23/10; − 3 more = Fri 18/10 (no holiday in October).
    assert due_by_level == {0: {ROOT_DUE}, 1: {date(2024, 10, 23)}, 2: {date(2024, 10, 18)}}
    assert leaves_due == {date(2024, 10, 18)}


@pytest.mark.parametrize("due", [date(2024, 9, 5), date(2024, 9, 4), date(2024, 2, 16), date(2024, 2, 19)])
def test_back_scheduling_steps_over_public_holidays(due: date) -> None:
    """The scenario's October deadlines cross no holiday; the same rule across Quốc khánh and Tết."""
    calendar = WorkingCalendar()  # what `cascade_plan` back-schedules with when no day is overridden
    for lead in range(1, 8):
        earlier = calendar.subtract_working_days(due, lead)
        assert independent_working_days(earlier, due) == lead, (due, lead, earlier)
        assert earlier.weekday() < 5 and earlier not in _VN_HOLIDAYS


def test_sum_targets_pass_down_as_allocations_that_add_up_at_every_node(scenario: Scenario) -> None:
    assert sum(ALLOCATIONS.values()) == TOTAL_HOUSES
    with session_scope() as session:
        targets = {(plan.issuer.code, t.code): t.value for plan, t in session.execute(select(Plan, Target).join(Target, Target.plan_id == Plan.id))}
    houses = {unit: value for (unit, code), value in targets.items() if code == "nha_o_xa_hoi"}
    assert houses["ROOT"] == TOTAL_HOUSES
    expected = dict(ALLOCATIONS)
    for l1, allocation in ALLOCATIONS.items():
        expected |= equal_shares(allocation, [f"{l1}.{i}" for i in range(1, 6)])
    assert houses == {"ROOT": TOTAL_HOUSES} | {code: Decimal(v) for code, v in expected.items()}
    # The shares add up exactly to the parent's allocation, and some are uneven (151 = 31 + 4 × 30).
    for parent in ["ROOT", *ALLOCATIONS]:
        children = [code for code in houses if code != "ROOT" and parent_code(code) == parent]
        assert len(children) == 5 and sum(houses[c] for c in children) == houses[parent]
    assert [houses[f"U2.{i}"] for i in range(1, 6)] == [31, 30, 30, 30, 30]
    assert [houses[f"U3.{i}"] for i in range(1, 6)] == [29, 29, 29, 28, 28]
    # The other targets are inherited as they are.
    for (unit, code), value in targets.items():
        if code != "nha_o_xa_hoi":
            assert value == {"dan_van_kheo": 80, "nuoc_sach": 89, "hai_long": 95}[code], (unit, code)


# ---------------------------------------------------------------------------------------------
# 2. Consolidation: the top figures from the leaves, and the reporting at every level


def check_root_figures(scenario: Scenario, outcome: ConsolidationResult, day: date) -> None:
    """The root's figures on `day`, computed here from the leaves' own values as of that day."""
    reporting = scenario.leaves_reporting(day)
    houses = sum(Decimal(leaf.houses_on(day)) for leaf in reporting)
    numerator = sum(Decimal(leaf.water[0]) for leaf in reporting)
    denominator = sum(Decimal(leaf.water[1]) for leaf in reporting)
    passing = sum(leaf.skilled for leaf in reporting)  # leaves that did not report count as failing
    mean = sum(leaf.satisfaction for leaf in reporting) / len(reporting)

    figures = {t.rule.code: t for t in outcome.result.results}
    assert figures["nha_o_xa_hoi"].figure == houses
    assert (figures["nuoc_sach"].numerator, figures["nuoc_sach"].denominator) == (numerator, denominator)
    assert figures["nuoc_sach"].figure == numerator / denominator * 100
    assert (figures["dan_van_kheo"].numerator, figures["dan_van_kheo"].denominator) == (passing, 125)
    assert figures["dan_van_kheo"].figure == Decimal(passing) / 125 * 100
    assert abs(figures["hai_long"].figure - mean) < Decimal("1e-6")  # type: ignore[operator]
    # Every figure stands for the leaves at the bottom: the reporting ones, or all 125 for a share.
    assert {code: t.covers for code, t in figures.items()} == {
        "nha_o_xa_hoi": len(reporting), "nuoc_sach": len(reporting), "hai_long": len(reporting), "dan_van_kheo": 125,
    }  # fmt: skip

    with session_scope() as session:
        stored = {t["code"]: t for t in session.get_one(Report, outcome.report_id).summary["targets"]}
    assert Decimal(stored["nha_o_xa_hoi"]["figure"]) == houses
    assert Decimal(stored["nuoc_sach"]["figure"]) == numerator / denominator * 100
    assert Decimal(stored["dan_van_kheo"]["figure"]) == Decimal(passing) / 125 * 100
    assert abs(Decimal(stored["hai_long"]["figure"]) - mean) < Decimal("1e-6")


def test_the_root_figures_are_the_leaves_figures(scenario: Scenario) -> None:
    all_leaves = list(scenario.leaves.values())
    assert len(all_leaves) == 125 and 100 < len(scenario.leaves_reporting()) < 125
    assert {leaf.fate for leaf in all_leaves} == {"on_time", "late", "never", "too_late", "corrected"}
    check_root_figures(scenario, scenario.outcome, CONSOLIDATION_DAY)


def expected_levels(scenario: Scenario, day: date) -> list[tuple[int, int, int, int]]:
    """(level, expected, submitted, on time) at the root when every level is consolidated on `day`
    (after the first consolidation, on 08/11).

    Each intermediate unit was first consolidated on its own day (21/10 at level 2, 24/10 at
    level 1) and submitted upward then, when anything had come from below by that day; so a
    level-2 unit is on time (due 23/10) when one of its leaves reported by 21/10, and a level-1
    unit (due 30/10) when one of its level-2 units did, or when `day` is no later than 30/10. U5.5,
    whose leaves all stayed silent, has nothing to report and stays due. A leaf counts when its
    first version came by `day`, on time when by its due date 18/10.
    """
    reporting = scenario.leaves_reporting(day)
    on_time = [leaf for leaf in reporting if leaf.days[0] <= date(2024, 10, 18)]
    assert len(on_time) < len(reporting)  # some late leaves count as submitted, not on time

    def reported_by(unit: str, by: date) -> bool:
        return any(leaf.counts(by) for leaf in scenario.leaves.values() if leaf.code.startswith(f"{unit}."))

    level1 = [c for c in scenario.units if depth_of(c) == 1]
    level2 = [c for c in scenario.units if depth_of(c) == 2]
    own = OWN_DAYS[2]
    return [
        (1, 5, sum(reported_by(u, day) for u in level1), sum(reported_by(u, day if day <= ROOT_DUE else own) for u in level1)),
        (2, 25, sum(reported_by(u, day) for u in level2), sum(reported_by(u, own) for u in level2)),
        (3, 125, len(reporting), len(on_time)),
    ]


def test_reporting_is_counted_at_every_level(scenario: Scenario) -> None:
    r = scenario.outcome.result
    # On 08/11 the intermediate units count from their own day, not from the root's: a unit is late
    # only when nothing had come from below by then. The leaf that reported only on 12/11 is not counted.
    levels = expected_levels(scenario, CONSOLIDATION_DAY)
    assert [(lv.level, lv.expected, lv.submitted, lv.on_time) for lv in r.levels] == levels
    on_time = levels[0][3]
    assert levels[1][3] > 0 and on_time > 0  # most leaves reported on time, so most of the levels above did too
    assert (r.expected, len(r.submitted), len(r.on_time), len(r.late)) == (5, 5, on_time, 5 - on_time)
    assert r.completeness == 100 and r.timeliness == Decimal(on_time * 20)
    with session_scope() as session:
        for submission in session.scalars(select(Submission).where(Submission.channel == Channel.CONSOLIDATION, Submission.version == 1)):
            depth = depth_of(submission.assignment.unit.code)
            assert local_date(submission.received_at) in (OWN_DAYS[depth], CONSOLIDATION_DAY), submission.assignment.unit.code
    assert scenario.outcome.below == 30

    with session_scope() as session:
        reports = session.scalars(select(Report)).all()
    assert len(reports) >= 31
    for report in reports:
        assert report.completeness is not None and 0 <= report.completeness <= 100
        assert report.timeliness is not None and 0 <= report.timeliness <= report.completeness
        for lv in report.summary["levels"]:
            assert 0 <= lv["on_time"] <= lv["submitted"] <= lv["expected"]
    for lv in r.levels:
        assert lv.completeness is not None and lv.timeliness is not None
        assert 0 <= lv.timeliness <= lv.completeness <= 100


# ---------------------------------------------------------------------------------------------
# 3. Traceability: from the root report down to the leaves' own submissions


def trace(session: Session, indicator: str, sources: list[tuple[str, int]], seen: list[int], day: date) -> list[SubmissionValue]:
    """The leaves' own values reached from `sources` by following each consolidated value's sources."""
    leaves: list[SubmissionValue] = []
    for unit, submission_id in sources:
        submission = session.get_one(Submission, submission_id)
        assert submission.assignment.unit.code == unit and local_date(submission.received_at) <= day
        seen.append(submission_id)
        value = session.scalar(select(SubmissionValue).where(SubmissionValue.submission_id == submission_id, SubmissionValue.indicator_code == indicator))
        assert value is not None
        if submission.channel == Channel.CONSOLIDATION:
            assert submission.report_id is not None and value.sources
            below = trace(session, indicator, [(code, sid) for code, sid in value.sources], seen, day)
            # A consolidated value stands for the leaves it was made from (a share: all the expected leaves below).
            if indicator != "dan_van_kheo":
                assert value.covers == len(below), (unit, indicator)
            else:
                assert value.covers == value.denominator == 5 ** (3 - depth_of(unit))
            leaves += below
        else:
            assert submission.channel == Channel.FILE and depth_of(unit) == 3 and value.covers is None and not value.sources
            leaves.append(value)
    return leaves


def check_traces(scenario: Scenario, report_id: int, day: date) -> None:
    """Every figure of the root's report traces down to the leaves' versions counted on `day`."""
    reporting = {leaf.submission_on(day): leaf for leaf in scenario.leaves_reporting(day)}
    with session_scope() as session:
        targets = {t["code"]: t for t in session.get_one(Report, report_id).summary["targets"]}
        assert set(targets) == {"dan_van_kheo", "nha_o_xa_hoi", "nuoc_sach", "hai_long"}
        for code, target in targets.items():
            sources = [(s["unit"], s["submission_id"]) for s in target["sources"]]
            assert [unit for unit, _ in sources] == list(ALLOCATIONS)
            seen: list[int] = []
            leaves = trace(session, code, sources, seen, day)
            assert len(seen) == len(set(seen))  # each submission reached once
            assert sorted(v.submission_id for v in leaves) == sorted(reporting), code  # the counted versions, no other
            if code == "nha_o_xa_hoi":
                assert sum(v.value for v in leaves) == Decimal(target["figure"])  # type: ignore[misc]
                assert sorted(v.value for v in leaves) == sorted(Decimal(leaf.houses_on(day)) for leaf in reporting.values())  # type: ignore[type-var]
                assert target["covers"] == len(leaves)


def test_every_top_figure_traces_down_to_the_leaves_submissions(scenario: Scenario) -> None:
    check_traces(scenario, scenario.outcome.report_id, CONSOLIDATION_DAY)
    # The corrected leaf is traced to its second version, the one with 3 more houses.
    corrected = scenario.leaves["U3.1.2"]
    with session_scope() as session:
        assert session.get_one(Submission, corrected.submission_on()).version == 2


# ---------------------------------------------------------------------------------------------
# 4. Reruns


def test_a_second_cascade_creates_and_sends_nothing(scenario: Scenario) -> None:
    rerun = scenario.rerun
    assert (rerun.assigned, rerun.drafted, rerun.issued, rerun.delivery.sent) == (0, 0, 0, 0)
    assert rerun.levels == 3  # it went down every level again, finding everything done
    assert scenario.rows_after_rerun == scenario.rows_after_cascade
    assert scenario.messages_after_rerun == len(scenario.notices) == 155


def test_a_second_consolidation_on_the_same_day_submits_nothing_new(scenario: Scenario) -> None:
    with session_scope() as session:
        before = {(s.assignment_id, s.version, s.source_key) for s in session.scalars(select(Submission))}
    counts = row_counts()
    again = consolidate(scenario.plan, DUTY, CONSOLIDATION_DAY)
    with session_scope() as session:
        after = {(s.assignment_id, s.version, s.source_key) for s in session.scalars(select(Submission))}
        upward = session.scalars(select(Submission).where(Submission.channel == Channel.CONSOLIDATION)).all()
    assert after == before  # the same source keys: no new upward version anywhere
    assert len({s.assignment_id for s in upward}) == 29  # 30 intermediate units but U5.5, with nothing to report
    assert row_counts() == counts | {"reports": counts["reports"] + 31}  # but every level's report is written again
    assert again.report_id != scenario.outcome.report_id and again.below == 30
    with session_scope() as session:
        assert session.get_one(Report, again.report_id).summary == root_report(scenario).summary


# ---------------------------------------------------------------------------------------------
# 5. The narrative, compiled level by level with each unit named


def test_the_leaves_narrative_reaches_the_root_with_every_unit_named(scenario: Scenario) -> None:
    names = unit_names()
    r = scenario.outcome.result
    sections = {code: {s.unit_code: s.text for s in texts} for code, _title, texts in r.sections}
    assert list(sections) == ["tinh_hinh", "ket_qua"]
    assert list(sections["tinh_hinh"]) == list(ALLOCATIONS)  # the level-1 units, in code order

    markdown = Path(scenario.outcome.files[0]).read_text(encoding="utf-8")
    for code in ALLOCATIONS:
        assert f"**{names[code]}**" in markdown

    reporting = {leaf.code for leaf in scenario.leaves_reporting()}
    for leaf in scenario.leaves.values():
        text = f"Tình hình chung của tổ {leaf.code}."
        section = sections["tinh_hinh"][leaf.code.split(".")[0]]
        if leaf.code in reporting:
            assert f"{names[leaf.code]}: {text}" in section  # attributed to the leaf itself …
            assert text in markdown
        else:
            assert text not in section and text not in markdown  # never reported, or only after the day
    # … inside its level-2 unit's compiled text: 'U1.1: U1.1.1: …' for the first leaf of each group.
    for group in [c for c in scenario.units if depth_of(c) == 2]:
        first = next((c for c in sorted(reporting) if parent_code(c) == group), None)
        section = sections["tinh_hinh"][group.split(".")[0]]
        if first is None:
            assert f"{names[group]}:" not in section  # U5.5: nothing to compile
        else:
            assert f"{names[group]}: {names[first]}: Tình hình chung của tổ {first}." in section


# ---------------------------------------------------------------------------------------------
# 6. Replaying an earlier day, then the later one again (runs last: it adds versions upward)

REPLAY_DAY = date(2024, 10, 25)


def test_replaying_an_earlier_day_and_then_the_later_one_gives_each_day_its_figures(scenario: Scenario) -> None:
    # Between 25/10 and 08/11 some late leaves reported and U3.1.2 corrected its figures.
    assert len(scenario.leaves_reporting(REPLAY_DAY)) < len(scenario.leaves_reporting())
    assert scenario.leaves["U3.1.2"].version_on(REPLAY_DAY) == 1

    early = consolidate(scenario.plan, DUTY, REPLAY_DAY)
    assert (early.result.completeness, early.result.timeliness) == (100, 100)  # the level-1 units are due 30/10
    check_root_figures(scenario, early, REPLAY_DAY)
    check_traces(scenario, early.report_id, REPLAY_DAY)
    assert [(lv.level, lv.expected, lv.submitted, lv.on_time) for lv in early.result.levels] == expected_levels(scenario, REPLAY_DAY)

    # 08/11 again: the versions made by the replay (received 25/10) do not hide the later ones,
    # and nothing new is submitted upward (the latest versions as of 08/11 are unchanged).
    with session_scope() as session:
        upward = session.scalar(select(func.count()).select_from(Submission).where(Submission.channel == Channel.CONSOLIDATION))
    later = consolidate(scenario.plan, DUTY, CONSOLIDATION_DAY)
    check_root_figures(scenario, later, CONSOLIDATION_DAY)
    check_traces(scenario, later.report_id, CONSOLIDATION_DAY)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Submission).where(Submission.channel == Channel.CONSOLIDATION)) == upward
        again, first = session.get_one(Report, later.report_id).summary, root_report(scenario).summary
    assert again["targets"] == first["targets"]  # the same figures from the same submissions
    assert again["levels"][2] == first["levels"][2] and [lv["submitted"] for lv in again["levels"]] == [5, 24, first["levels"][2]["submitted"]]
    # Not asserted: the replay's versions, received 25/10, are now the intermediate units' first
    # versions, so the level-1 units (due 30/10) count as on time on 08/11 from now on.
