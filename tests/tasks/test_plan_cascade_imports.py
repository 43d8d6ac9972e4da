"""Plan files for the recursive cascade: target allocations, Decree 09 periodic duties, the per-level
cascade policy. Every refusal names file:line: field path: message, and writes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cascade.errors import ImportFileError
from models.calendar import set_override
from models.db import session_scope
from models.plan import DutyKind, Plan, ReportDuty
from tasks.plans.imports import import_plan, import_units
from tests.fixtures.problems import assert_problem, line_of

DEPARTMENT = Path(__file__).resolve().parents[2] / "examples" / "department-2024"

PLAN_2025 = """\
plan:
  number: "15"
  symbol: KH-SXD
  issuer: sxd
  issued_on: 2025-01-10
  place: Biên Hòa
  title: Thực hiện công tác Dân vận chính quyền năm 2025
  signer:
    title: GIÁM ĐỐC
    name: Hồ Văn Hà
  targets:
    - code: dan_van_kheo
      text: Trên 80% các phòng đạt tiêu chí Dân vận khéo
      metric: Phòng đạt tiêu chí Dân vận khéo
      unit_of_measure: "%"
      comparator: gt
      value: 80
      aggregation: share_of_units
      unit_threshold: {comparator: ge, value: 1}
    - code: nha_o_xa_hoi
      text: Hoàn thành nhà ở xã hội đạt 715 căn
      metric: Nhà ở xã hội hoàn thành
      unit_of_measure: căn
      comparator: ge
      value: 715
      aggregation: sum
      reporters: [sxd.qln, sxd.qlhdxd]
      allocations:
        sxd.qln: 400
        sxd.qlhdxd: 315
  duties:
    - code: bao_cao_quy
      kind: quarterly
      title: Báo cáo công tác dân vận
      due_after_cutoff: 5
      reminder_days: [3, 1]
      sections:
        - code: ket_qua
          title: Kết quả thực hiện
    - code: bao_cao_nam
      kind: annual
      title: Báo cáo năm
      cutoff_on: 2025-10-15
      due_on: 2025-10-30
      sections:
        - code: ket_qua
          title: Kết quả thực hiện
"""


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def plan_error(tmp_path: Path, text: str) -> tuple[Path, ImportFileError]:
    path = write(tmp_path, text)
    with pytest.raises(ImportFileError) as caught:
        import_plan(path)
    with session_scope() as session:
        assert session.scalar(select(func.count(Plan.id))) == 0  # a refused file writes nothing
    return path, caught.value


@pytest.fixture()
def units(workspace: Path) -> Path:
    import_units(DEPARTMENT / "units.yaml")
    return workspace


def test_the_base_file_imports(units: Path, tmp_path: Path) -> None:
    assert import_plan(write(tmp_path, PLAN_2025)) == "15-kh-sxd-2025"


# ---------------------------------------------------------------------------------------------
# Allocations
# ---------------------------------------------------------------------------------------------


def test_allocations_that_do_not_add_up(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("sxd.qlhdxd: 315", "sxd.qlhdxd: 300")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "allocations:"), "plan.targets[1].allocations",
        "allocations add up to 700 but the target value is 715",
    )  # fmt: skip
    assert (
        str(error)
        == f"{path}:{line_of(text, 'allocations:')}: plan.targets[1].allocations: allocations add up to 700 but the target value is 715; they must be equal"
    )


def test_allocations_with_decimals_are_compared_exactly(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("value: 715", 'value: "715,5"').replace("sxd.qlhdxd: 315", "sxd.qlhdxd: 315.25")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "allocations:"), "plan.targets[1].allocations", "allocations add up to 715.25 but the target value is 715.5")


def test_allocations_on_a_target_that_is_not_a_sum(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace(
        "      unit_threshold: {comparator: ge, value: 1}\n", "      unit_threshold: {comparator: ge, value: 1}\n      allocations: {sxd.vp: 80}\n"
    )
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "allocations: {sxd.vp: 80}"), "plan.targets[0].allocations", "only allowed with aggregation sum", "share_of_units"
    )


def test_allocation_rule_on_a_target_that_is_not_a_sum(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace(
        "      unit_threshold: {comparator: ge, value: 1}\n", "      unit_threshold: {comparator: ge, value: 1}\n      allocation_rule: equal\n"
    )
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "allocation_rule: equal"), "plan.targets[0].allocation_rule", "only allowed with aggregation sum", "share_of_units"
    )


def test_an_unknown_allocation_rule(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("      reporters: [sxd.qln, sxd.qlhdxd]\n", "      reporters: [sxd.qln, sxd.qlhdxd]\n      allocation_rule: by_population\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "allocation_rule:"), "plan.targets[1].allocation_rule", "expected one of equal; got 'by_population'")


def test_a_negative_share(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("sxd.qln: 400", "sxd.qln: 730").replace("sxd.qlhdxd: 315", "sxd.qlhdxd: -15")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "sxd.qlhdxd: -15"), 'plan.targets[1].allocations["sxd.qlhdxd"]', "expected a share ≥ 0; got -15")


def test_an_allocation_to_a_unit_that_does_not_report_the_target(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("sxd.qln: 400", "sxd.qln: 300\n        sxd.vp: 100")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "sxd.vp: 100"), 'plan.targets[1].allocations["sxd.vp"]', "unit 'sxd.vp' has an allocation but does not report 'nha_o_xa_hoi'"
    )


# ---------------------------------------------------------------------------------------------
# Periodic duties with the cut-offs of Decree 09/2019
# ---------------------------------------------------------------------------------------------


def duties_of(key: str) -> dict[str, ReportDuty]:
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        duties = {d.code: d for d in plan.duties}
        session.expunge_all()
        return duties


def test_a_quarterly_duty_expands_into_four_with_decree_09_periods(units: Path, tmp_path: Path) -> None:
    key = import_plan(write(tmp_path, PLAN_2025))
    duties = duties_of(key)
    assert sorted(duties) == ["bao_cao_nam", "bao_cao_quy.q1", "bao_cao_quy.q2", "bao_cao_quy.q3", "bao_cao_quy.q4"]
    # Due 5 working days after each cut-off, counted by hand on the 2025 calendar:
    # Q1 cut-off Fri 14/03 → Mon 17, Tue 18, Wed 19, Thu 20, Fri 21/03;
    # Q2 cut-off Sat 14/06 → 16, 17, 18, 19, 20/06; Q3 cut-off Sun 14/09 → 15..19/09; Q4 cut-off Sun 14/12 → 15..19/12.
    expected = {
        "q1": (date(2024, 12, 15), date(2025, 3, 14), date(2025, 3, 21), "quý I năm 2025"),
        "q2": (date(2025, 3, 15), date(2025, 6, 14), date(2025, 6, 20), "quý II năm 2025"),
        "q3": (date(2025, 6, 15), date(2025, 9, 14), date(2025, 9, 19), "quý III năm 2025"),
        "q4": (date(2025, 9, 15), date(2025, 12, 14), date(2025, 12, 19), "quý IV năm 2025"),
    }
    for suffix, (start, cutoff, due, label) in expected.items():
        duty = duties[f"bao_cao_quy.{suffix}"]
        assert (duty.kind, duty.period_start, duty.cutoff_on, duty.due_on) == (DutyKind.QUARTERLY, start, cutoff, due)
        assert duty.title == f"Báo cáo công tác dân vận {label}"
        assert (duty.reminder_days, duty.overdue_days) == ([3, 1], [1, 7])
        assert [s["code"] for s in duty.sections] == ["ket_qua"]
    assert duties["bao_cao_nam"].due_on == date(2025, 10, 30)  # a duty with due_on is kept as it is


def test_the_due_date_follows_the_calendar_overrides(units: Path, tmp_path: Path) -> None:
    with session_scope() as session:
        set_override(session, date(2025, 3, 17), working=False, note="Nghỉ lễ địa phương")
    duties = duties_of(import_plan(write(tmp_path, PLAN_2025)))
    # Mon 17/03 off: 18, 19, 20, 21, Mon 24/03.
    assert duties["bao_cao_quy.q1"].due_on == date(2025, 3, 24)
    assert duties["bao_cao_quy.q2"].due_on == date(2025, 6, 20)


def test_a_deadline_after_a_cut_off_before_tet(units: Path, tmp_path: Path) -> None:
    # An annual report of 2024 (cut-off Sat 14/12/2024) due 30 working days later: Mon 16/12/2024 … with
    # 01/01/2025 and Tết Ất Tỵ (27-31/01/2025) off: 16-20, 23-27, 30, 31/12 (12), 02, 03 (14), 06-10 (19),
    # 13-17 (24), 20-24/01 (29), Mon 03/02/2025 (30).
    text = PLAN_2025.replace("issued_on: 2025-01-10", "issued_on: 2024-03-01").replace(
        "    - code: bao_cao_nam\n      kind: annual\n      title: Báo cáo năm\n      cutoff_on: 2025-10-15\n      due_on: 2025-10-30\n",
        "    - code: bao_cao_nam\n      kind: annual\n      title: Báo cáo\n      due_after_cutoff: 30\n",
    )
    duties = duties_of(import_plan(write(tmp_path, text)))
    duty = duties["bao_cao_nam.year"]
    assert (duty.period_start, duty.cutoff_on, duty.due_on, duty.title) == (date(2023, 12, 15), date(2024, 12, 14), date(2025, 2, 3), "Báo cáo năm 2024")
    assert duties["bao_cao_quy.q1"].cutoff_on == date(2024, 3, 14)  # the plan's year decides the periods


def test_a_six_month_duty_is_one_h1_duty(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("kind: quarterly", "kind: six_month").replace("title: Báo cáo công tác dân vận", "title: Báo cáo")
    duties = duties_of(import_plan(write(tmp_path, text)))
    assert sorted(duties) == ["bao_cao_nam", "bao_cao_quy.h1"]
    h1 = duties["bao_cao_quy.h1"]
    assert (h1.kind, h1.period_start, h1.cutoff_on, h1.due_on, h1.title) == (
        DutyKind.SIX_MONTH,
        date(2024, 12, 15),
        date(2025, 6, 14),
        date(2025, 6, 20),
        "Báo cáo 6 tháng đầu năm 2025",
    )


def test_due_after_cutoff_on_an_ad_hoc_duty(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("kind: quarterly", "kind: ad_hoc")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "due_after_cutoff:"), "plan.duties[0].due_after_cutoff",
        "only for periodic duties (quarterly, six_month, nine_month, annual); this duty is ad_hoc",
    )  # fmt: skip


def test_due_after_cutoff_together_with_due_on(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("      due_after_cutoff: 5\n", "      due_after_cutoff: 5\n      due_on: 2025-04-01\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "due_on: 2025-04-01"), "plan.duties[0].due_on", "give either due_on or due_after_cutoff, not both")
    assert len(error.problems) == 1


def test_due_after_cutoff_with_a_cut_off_of_its_own(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("      due_after_cutoff: 5\n", "      due_after_cutoff: 5\n      cutoff_on: 2025-03-31\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "cutoff_on: 2025-03-31"), "plan.duties[0].cutoff_on", "comes from the generated periods")


def test_neither_due_on_nor_due_after_cutoff(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("      due_after_cutoff: 5\n", "")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "- code: bao_cao_quy"), "plan.duties[0].due_on", "missing: give the due date (or due_after_cutoff for a periodic duty)"
    )


def test_a_generated_code_that_clashes_with_another_duty(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025.replace("    - code: bao_cao_nam\n", "    - code: bao_cao_quy.q2\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "- code: bao_cao_quy"), "plan.duties[0].code",
                   "the generated duty code 'bao_cao_quy.q2' cannot be used: duty [1] already has this code")  # fmt: skip


# ---------------------------------------------------------------------------------------------
# cascade: levels
# ---------------------------------------------------------------------------------------------

CASCADE = """\
  cascade:
    levels:
      - lead_days: 5
        issue: wait
      - lead_days: 3
        issue: {issue}
"""


def test_the_cascade_policy_is_stored(units: Path, tmp_path: Path) -> None:
    key = import_plan(write(tmp_path, PLAN_2025 + CASCADE.format(issue="auto")))
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        assert plan.cascade_policy == {"levels": [{"lead_days": 5, "issue": "wait"}, {"lead_days": 3, "issue": "auto"}]}


def test_a_bad_issue_value(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025 + CASCADE.format(issue="later")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "issue: later"), "plan.cascade.levels[1].issue", "expected one of auto, wait; got 'later'")
    assert len(error.problems) == 1


def test_bad_lead_days_and_an_empty_level_list(units: Path, tmp_path: Path) -> None:
    text = PLAN_2025 + CASCADE.format(issue="auto").replace("lead_days: 3", "lead_days: -1")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "lead_days: -1"), "plan.cascade.levels[1].lead_days", "expected a number ≥ 0; got -1")

    text = PLAN_2025 + "  cascade:\n    levels: []\n"
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "levels: []"), "plan.cascade.levels", "expected at least 1 item(s); got 0")
