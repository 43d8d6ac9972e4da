"""Units, plan and submission files: the examples import, and every bad input names file, line and field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook
from sqlalchemy import func, select

from cascade.errors import ImportFileError, SubmissionError
from models.assignment import Assignment
from models.db import session_scope
from models.plan import Plan, PlanTask, ReportDuty, Target, TaskRole
from models.specs import json_schema
from models.unit import Unit
from tasks.intake.submission_files import (
    check_submission_against_duty,
    load_submission,
    resolve_submission,
)
from tasks.plans.imports import ImportResult, import_plan, import_plan_file, import_units, load_plan, load_units
from tests.fixtures.database import isolated_database
from tests.fixtures.problems import assert_problem, line_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "department-2024"

BASE_PLAN = """\
plan:
  number: "12"
  symbol: KH-SXD
  issuer: sxd
  issued_on: 2024-04-02
  place: Biên Hòa
  title: Thử nghiệm nhập kế hoạch
  signer:
    title: GIÁM ĐỐC
    name: Hồ Văn Hà
  tasks:
    - code: cchc
      title: Cải cách hành chính
      lead: [sxd.vp]
      support: [sxd.tt]
  targets:
    - code: nha_o_xa_hoi
      text: Hoàn thành nhà ở xã hội đạt 715 căn
      metric: Nhà ở xã hội hoàn thành
      unit_of_measure: căn
      comparator: ge
      value: 715
      aggregation: sum
      reporters: [sxd.qln]
      allocations: {sxd.qln: 715}
    - code: dan_van_kheo
      text: Trên 80% các phòng, Trung tâm đạt tiêu chí Dân vận khéo
      metric: Phòng, Trung tâm đạt tiêu chí Dân vận khéo
      unit_of_measure: "%"
      comparator: gt
      value: 80
      aggregation: share_of_units
      unit_threshold: {comparator: ge, value: 1}
  duties:
    - code: bao_cao_nam
      kind: annual
      title: Báo cáo năm
      cutoff_on: 2024-10-15
      due_on: 2024-10-30
      sections:
        - code: ket_qua
          title: Kết quả triển khai, thực hiện
      indicators: [nha_o_xa_hoi, dan_van_kheo]
"""

BASE_UNITS = """\
units:
  - code: so
    name: Sở Thử nghiệm
    kind: department
    emails: [vanthu@so.example.gov.vn]
  - code: so.vp
    name: Văn phòng
    kind: office
    parent: so
    emails: [vanphong@so.example.gov.vn]
"""


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def unit_rows() -> list[dict[str, object]]:
    with session_scope() as session:
        units = session.scalars(select(Unit).order_by(Unit.code)).all()
        code_of = {u.id: u.code for u in units}
        return [
            {
                "code": u.code, "name": u.name, "short_name": u.short_name, "kind": u.kind, "issuer_symbol": u.issuer_symbol,
                "governing_body": u.governing_body, "parent": code_of.get(u.parent_id), "emails": u.emails,
                "head_title": u.head_title, "head_name": u.head_name, "place": u.place, "valid_from": u.valid_from,
                "valid_to": u.valid_to, "successor": code_of.get(u.successor_id),
            }
            for u in units
        ]  # fmt: skip


def counts() -> dict[str, int]:
    with session_scope() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0 for model in (Unit, Plan, PlanTask, Target, ReportDuty)}


@contextmanager
def other_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Iterator[Path]:
    with isolated_database(tmp_path / name, monkeypatch) as ws:
        yield ws


@pytest.fixture()
def units(workspace: Path) -> Path:
    """The department's units, imported from the example."""
    import_units(EXAMPLE / "units.yaml")
    return workspace


def plan_error(tmp_path: Path, text: str, name: str = "plan.yaml") -> tuple[Path, ImportFileError]:
    path = write(tmp_path, name, text)
    with pytest.raises(ImportFileError) as caught:
        import_plan(path)
    return path, caught.value


def units_error(tmp_path: Path, text: str, name: str = "units.yaml") -> tuple[Path, ImportFileError]:
    path = write(tmp_path, name, text)
    with pytest.raises(ImportFileError) as caught:
        import_units(path)
    return path, caught.value


# ---------------------------------------------------------------------------------------------
# The examples
# ---------------------------------------------------------------------------------------------


def test_example_units_yaml_and_csv_give_identical_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    with other_database(tmp_path, monkeypatch, "from-yaml"):
        assert import_units(EXAMPLE / "units.yaml") == ImportResult(created=8, updated=0, unchanged=0)
        from_yaml = unit_rows()

    with other_database(tmp_path, monkeypatch, "from-csv"):  # and the rest of the test in this one
        assert import_units(EXAMPLE / "units.csv") == ImportResult(created=8, updated=0, unchanged=0)
        from_csv = unit_rows()

        assert from_yaml == from_csv
        assert load_units(EXAMPLE / "units.yaml") == load_units(EXAMPLE / "units.csv")
        root = next(row for row in from_yaml if row["code"] == "sxd")
        assert root["name"] == "Sở Xây dựng tỉnh Đồng Nai"
        assert (root["issuer_symbol"], root["governing_body"], root["place"], root["head_title"]) == ("SXD", "UBND TỈNH ĐỒNG NAI", "Biên Hòa", "GIÁM ĐỐC")
        assert root["parent"] is None
        assert sorted(row["name"] for row in from_yaml if row["parent"] == "sxd") == sorted([
            "Văn phòng", "Thanh tra", "Phòng Quản lý nhà và thị trường bất động sản", "Phòng Quản lý hoạt động xây dựng",
            "Phòng Quy hoạch - Kiến trúc", "Phòng Quản lý chất lượng và Vật liệu xây dựng",
            "Trung tâm Quy hoạch và Kiểm định chất lượng công trình xây dựng",
        ])  # fmt: skip
        assert all(address.endswith("@sxd.dongnai.example.gov.vn") for row in from_yaml for address in row["emails"])  # type: ignore[attr-defined]

        # Importing again changes nothing; changing one field updates one unit.
        assert import_units(EXAMPLE / "units.yaml") == ImportResult(created=0, updated=0, unchanged=8)
        changed = (EXAMPLE / "units.yaml").read_text(encoding="utf-8").replace("head_name: Lê Văn Tuấn", "head_name: Lê Văn Tâm")
        assert import_units(write(tmp_path, "units.yaml", changed)) == ImportResult(created=0, updated=1, unchanged=7)


def test_example_plan_round_trips(units: Path) -> None:
    assert import_plan(EXAMPLE / "plan.yaml") == "74-kh-sxd-2024"
    with session_scope() as session:
        plan = session.scalars(select(Plan)).one()
        assert (plan.code, plan.issued_on, plan.place, plan.year, plan.issuer.code) == ("74/KH-SXD", date(2024, 4, 2), "Biên Hòa", 2024, "sxd")
        assert plan.title == "Thực hiện công tác Dân vận chính quyền năm 2024"
        assert (plan.signer_title, plan.signer_name) == ("GIÁM ĐỐC", "Hồ Văn Hà")
        assert "Lưu: VT, VP Sở" in plan.recipients
        assert plan.purposes.startswith("Tiếp tục nâng cao chất lượng, hiệu quả công tác dân vận")

        assert len(plan.tasks) == 6
        roles = {task.code: {(link.unit.code, link.role) for link in task.units} for task in plan.tasks}
        assert ("sxd.vp", TaskRole.LEAD) in roles["cchc"]
        assert ("sxd.tt", TaskRole.LEAD) in roles["khieu_nai_to_cao"]

        targets = {t.code: t for t in plan.targets}
        assert [t.position for t in plan.targets] == list(range(1, 9))
        assert (targets["cai_cach_hanh_chinh"].comparator, targets["cai_cach_hanh_chinh"].value) == ("gt", Decimal(95))
        assert (targets["dan_van_kheo"].aggregation, targets["dan_van_kheo"].unit_comparator, targets["dan_van_kheo"].unit_threshold) == (
            "share_of_units",
            "ge",
            Decimal(1),
        )
        assert targets["nha_o_xa_hoi"].allocations == {"sxd.qln": "715"}
        assert targets["nha_o_xa_hoi"].reporter_codes == ["sxd.qln"]
        assert (targets["nuoc_may_do_thi"].aggregation, targets["nuoc_may_do_thi"].value) == ("weighted_rate", Decimal("86.5"))
        assert targets["nuoc_sach_do_thi"].unit_threshold is None

        duty = plan.duties[0]
        assert (duty.code, duty.kind, duty.due_on, duty.cutoff_on) == ("bao_cao_nam", "annual", date(2024, 10, 30), date(2024, 10, 15))
        assert (duty.reminder_days, duty.overdue_days, duty.assignee_codes, duty.indicator_codes) == ([7, 3, 1], [1, 7], [], [])
        assert [s["code"] for s in duty.sections] == ["tinh_hinh", "ket_qua", "danh_gia", "nhiem_vu"]


def test_example_submissions_pass_their_duty_and_one_unit_is_missing(units: Path) -> None:
    import_plan(EXAMPLE / "plan.yaml")
    files = sorted((EXAMPLE / "submissions").glob("*.yaml"))
    submitted = set()
    with session_scope() as session:
        for file in files:
            doc = load_submission(file)
            plan, duty, unit = resolve_submission(doc, session=session)
            check_submission_against_duty(doc, duty, plan.targets)
            assert len(doc.spec.sections["ket_qua"]) > 200
            submitted.add(unit.code)
        offices = set(session.scalars(select(Unit.code).where(Unit.parent.has(code="sxd"))))
    assert len(offices - submitted) == 1
    assert submitted < offices


def test_json_schema_documents_every_field() -> None:
    for kind in ("units", "plan", "amendment", "submission"):
        schema = json_schema(kind)
        json.dumps(schema)
        definitions = [schema, *schema.get("$defs", {}).values()]
        for definition in definitions:
            for name, field in definition.get("properties", {}).items():
                assert field.get("description"), f"{kind}: {definition.get('title')}.{name} has no description"
    assert "≥" in json_schema("plan")["$defs"]["TargetSpec"]["properties"]["comparator"]["enum"]
    with pytest.raises(ValueError, match="units, plan, amendment, submission"):
        json_schema("report")


# ---------------------------------------------------------------------------------------------
# One test per kind of mistake
# ---------------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_its_line(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS.replace("    name: Văn phòng\n", "    name: Văn phòng\n   short_name: VP\n")
    path, error = units_error(tmp_path, text)
    assert len(error.problems) == 1
    assert error.problems[0].line == line_of(text, "short_name: VP") == 8
    assert "YAML syntax error" in str(error)
    assert str(error).startswith(f"{path}:{error.problems[0].line}: YAML syntax error")


def test_wrong_type(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("  title: Thử nghiệm nhập kế hoạch\n", "  title: Thử nghiệm nhập kế hoạch\n  year: hai nghìn\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "year:"), "plan.year", "expected a whole number; got 'hai nghìn'")


def test_unknown_field_suggests_the_right_name(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      title: Cải cách hành chính", "      titel: Cải cách hành chính")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "titel:"), "plan.tasks[0].titel", "unknown field 'titel' (did you mean 'title'?)")
    # The missing title is reported too, at the task's first line.
    assert_problem(error, path, line_of(text, "- code: cchc"), "plan.tasks[0].title", "missing required field 'title'")


def test_missing_required_field(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      metric: Nhà ở xã hội hoàn thành\n", "")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "- code: nha_o_xa_hoi"), "plan.targets[0].metric", "missing required field 'metric'")


def test_bad_comparator(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      comparator: gt", "      comparator: about")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "comparator: about"), "plan.targets[1].comparator", "expected one of eq, gt, ge, lt, le (or =, >, ≥, <, ≤); got 'about'"
    )
    assert (
        str(error)
        == f"{path}:{line_of(text, 'comparator: about')}: plan.targets[1].comparator: expected one of eq, gt, ge, lt, le (or =, >, ≥, <, ≤); got 'about'"
    )


def test_comparator_symbols_and_vietnamese_numbers_are_accepted(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      comparator: gt", "      comparator: ≥").replace("      value: 80", '      value: "80,5"')
    plan = load_plan(write(tmp_path, "plan.yaml", text)).spec
    assert (plan.targets[1].comparator, plan.targets[1].value) == ("ge", Decimal("80.5"))
    assert plan.key == "12-kh-sxd-2024"


def test_bad_date(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("due_on: 2024-10-30", "due_on: 2024-02-30")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "due_on:"), "plan.duties[0].due_on", "expected a real date as YYYY-MM-DD or DD/MM/YYYY; got '2024-02-30'")


def test_unknown_unit_code(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("support: [sxd.tt]", "support: [sxd.tt, sxd.khong_co]")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "support:"), "plan.tasks[0].support[1]", "unknown unit 'sxd.khong_co'")


def test_reporter_who_is_not_an_assignee(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace(
        "      indicators: [nha_o_xa_hoi, dan_van_kheo]", "      indicators: [nha_o_xa_hoi, dan_van_kheo]\n      assignees: [sxd.vp, sxd.tt]"
    )
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "reporters: [sxd.qln]"), "plan.targets[0].reporters[0]", "not an assignee of duty 'bao_cao_nam'")


def test_unknown_parent(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS.replace("parent: so", "parent: so_khac")
    path, error = units_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "parent: so_khac"), "units[1].parent", "unknown parent unit 'so_khac'")
    assert counts()["Unit"] == 0


def test_parent_cycle(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS + (
        "  - code: so.a\n    name: Phòng A\n    parent: so.b\n    emails: [a@so.example.gov.vn]\n"
        "  - code: so.b\n    name: Phòng B\n    parent: so.a\n    emails: [b@so.example.gov.vn]\n"
    )
    path, error = units_error(tmp_path, text)
    assert len(error.problems) == 1
    assert_problem(error, path, line_of(text, "parent: so.b"), "units[2].parent", "parent cycle: so.a → so.b → so.a")


def test_parent_cycle_through_the_database(tmp_path: Path, workspace: Path) -> None:
    import_units(write(tmp_path, "first.yaml", BASE_UNITS))
    text = "units:\n  - code: so\n    name: Sở Thử nghiệm\n    parent: so.vp\n    emails: [vanthu@so.example.gov.vn]\n"
    path, error = units_error(tmp_path, text)
    assert_problem(error, path, 4, "units[0].parent", "parent cycle: so → so.vp → so")


def test_parents_may_come_after_their_children(tmp_path: Path, workspace: Path) -> None:
    text = (
        "units:\n"
        "  - {code: so.vp, name: Văn phòng, parent: so, emails: [vanphong@so.example.gov.vn]}\n"
        "  - {code: so, name: Sở Thử nghiệm, emails: [vanthu@so.example.gov.vn]}\n"
    )
    assert import_units(write(tmp_path, "units.yaml", text)).created == 2
    rows = {row["code"]: row for row in unit_rows()}
    assert rows["so.vp"]["parent"] == "so"


def test_duplicate_code(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS + "  - code: so.vp\n    name: Văn phòng 2\n    emails: [vp2@so.example.gov.vn]\n"
    path, error = units_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "- code: so.vp", 2), "units[2].code", "duplicate unit code 'so.vp'")


def test_duplicate_target_code_in_a_plan(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("    - code: dan_van_kheo", "    - code: nha_o_xa_hoi")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "- code: nha_o_xa_hoi", 2), "plan.targets[1].code", "duplicate target code 'nha_o_xa_hoi'")


def test_duplicate_yaml_key(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      value: 80\n", "      value: 80\n      value: 90\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(
        error, path, line_of(text, "value: 90"), "plan.targets[1].value", f"duplicate key 'value' (first given on line {line_of(text, 'value: 80')})"
    )


def test_indicator_referencing_missing_target(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("indicators: [nha_o_xa_hoi, dan_van_kheo]", "indicators: [nha_o_xa_hoi, nuoc_sach]")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "indicators:"), "plan.duties[0].indicators[1]", "unknown indicator 'nuoc_sach'", "nha_o_xa_hoi, dan_van_kheo")


def test_allocations_not_adding_up(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("allocations: {sxd.qln: 715}", "allocations: {sxd.qln: 700}")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "allocations:"), "plan.targets[0].allocations", "allocations add up to 700 but the target value is 715")


def test_share_of_units_without_unit_threshold(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      unit_threshold: {comparator: ge, value: 1}\n", "")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "- code: dan_van_kheo"), "plan.targets[1].unit_threshold", "required for aggregation share_of_units")


def test_unit_threshold_forbidden_for_other_aggregations(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("      allocations: {sxd.qln: 715}\n", "      allocations: {sxd.qln: 715}\n      unit_threshold: {comparator: ge, value: 1}\n")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "unit_threshold:"), "plan.targets[0].unit_threshold", "only allowed with aggregation share_of_units")


def test_cutoff_after_due_date(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("cutoff_on: 2024-10-15", "cutoff_on: 31/10/2024")
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "cutoff_on:"), "plan.duties[0].cutoff_on", "must be on or before due_on (2024-10-30)")


def test_csv_bad_row_names_line_and_column(tmp_path: Path, workspace: Path) -> None:
    text = (
        "code,name,kind,parent,emails,head_title\n"
        "so,Sở Thử nghiệm,department,,vanthu@so.example.gov.vn,GIÁM ĐỐC\n"
        'so.vp,"Văn phòng, bộ phận\nmột cửa",office,so,vanphong@so.example.gov.vn,CHÁNH VĂN PHÒNG\n'
        "so.tt,Thanh tra,office,so,thanhtra@so.example.gov.vn;thanh tra@so,CHÁNH THANH TRA\n"
        "so.kt,Phòng Kỹ thuật,phòng,so,kt@so.example.gov.vn,\n"
    )
    path, error = units_error(tmp_path, text, "units.csv")
    assert_problem(error, path, 5, "emails", "expected an email address", "'thanh tra@so'")
    assert_problem(error, path, 6, "kind", "expected one of province, department, district, office, centre, commune, ward, other; got 'phòng'")
    assert counts()["Unit"] == 0


def test_csv_unknown_column(tmp_path: Path, workspace: Path) -> None:
    path, error = units_error(tmp_path, "code,name,email\nso,Sở,vanthu@so.example.gov.vn\n", "units.csv")
    assert_problem(error, path, 1, "email", "unknown column 'email' (did you mean 'emails'?)")
    assert_problem(error, path, 1, "emails", "missing required column 'emails'")


def test_duplicate_plan_key(tmp_path: Path, units: Path) -> None:
    path = write(tmp_path, "plan.yaml", BASE_PLAN)
    assert import_plan(path) == "12-kh-sxd-2024"
    with pytest.raises(ImportFileError) as caught:
        import_plan(path)
    assert_problem(caught.value, path, 1, "plan.key", "plan '12-kh-sxd-2024' already imported", "--replace")


def test_replace_rewrites_a_plan_until_it_is_cascaded(tmp_path: Path, units: Path) -> None:
    path = write(tmp_path, "plan.yaml", BASE_PLAN)
    import_plan(path)
    with session_scope() as session:
        plan_id = session.scalars(select(Plan.id)).one()

    write(tmp_path, "plan.yaml", BASE_PLAN.replace("title: Thử nghiệm nhập kế hoạch", "title: Bản sửa đổi"))
    assert import_plan(path, replace=True) == "12-kh-sxd-2024"
    with session_scope() as session:
        plan = session.scalars(select(Plan)).one()
        assert (plan.id, plan.title, len(plan.targets), len(plan.duties)) == (plan_id, "Bản sửa đổi", 2, 1)
        unit = session.scalars(select(Unit).where(Unit.code == "sxd.vp")).one()
        session.add(Assignment(duty=plan.duties[0], unit=unit, due_on=date(2024, 10, 25), token="t" * 20, created_at=datetime.now(UTC)))

    with pytest.raises(ImportFileError) as caught:
        import_plan(path, replace=True)
    assert_problem(caught.value, path, 1, "plan.key", "cannot be replaced: it has already been cascaded (1 assignments exist)")


def test_invalid_email(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS.replace("emails: [vanphong@so.example.gov.vn]", "emails: [vanphong@]")
    path, error = units_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "vanphong@]"), "units[1].emails[0]", "expected an email address", "got 'vanphong@'")


def test_unit_without_email(tmp_path: Path, workspace: Path) -> None:
    text = BASE_UNITS.replace("emails: [vanphong@so.example.gov.vn]", "emails: []")
    path, error = units_error(tmp_path, text)
    assert_problem(error, path, line_of(text, "emails: []"), "units[1].emails", "at least one email address")


def test_non_utf8_file(tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "units.yaml"
    path.write_bytes(BASE_UNITS.encode("utf-8").replace("ă".encode(), b"\xe3"))  # 'ă' as in Windows-1258
    with pytest.raises(ImportFileError) as caught:
        import_units(path)
    assert_problem(caught.value, path, line_of(BASE_UNITS, "name: Văn phòng"), None, "not UTF-8", "save")


def test_text_is_normalised_to_nfc(tmp_path: Path, workspace: Path) -> None:
    decomposed = BASE_UNITS.replace("Văn phòng", "Va\u0306n pho\u0300ng")
    import_units(write(tmp_path, "units.yaml", decomposed))
    assert {row["name"] for row in unit_rows()} == {"Sở Thử nghiệm", "Văn phòng"}


def test_json_plan_gets_lines_too(tmp_path: Path, units: Path) -> None:
    data = yaml.safe_load(BASE_PLAN)
    data["plan"]["targets"][1]["comparator"] = "about"
    data["plan"]["issued_on"] = "2024-04-02"
    data["plan"]["duties"][0]["cutoff_on"] = "2024-10-15"
    data["plan"]["duties"][0]["due_on"] = "2024-10-30"
    text = json.dumps(data, ensure_ascii=False, indent="\t")
    path, error = plan_error(tmp_path, text, "plan.json")
    assert_problem(error, path, line_of(text, '"about"'), "plan.targets[1].comparator", "got 'about'")


# ---------------------------------------------------------------------------------------------
# All or nothing
# ---------------------------------------------------------------------------------------------


def _fifty_units(bad: str) -> str:
    lines = ["code,name,kind,parent,emails"]
    lines.append("so,Sở Thử nghiệm,department,,vanthu@so.example.gov.vn")
    lines += [f"so.{i},Phòng số {i},office,so,p{i}@so.example.gov.vn" for i in range(2, 50)]
    lines.append(bad)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("bad_row", "column"),
    [("so.50,Phòng số 50,office,so,not-an-address", "emails"), ("so.50,Phòng số 50,office,so.khong_co,p50@so.example.gov.vn", "parent")],
)
def test_units_file_with_a_bad_50th_row_writes_nothing(tmp_path: Path, units: Path, bad_row: str, column: str) -> None:
    before = unit_rows()
    path, error = units_error(tmp_path, _fifty_units(bad_row), "units.csv")
    assert len(error.problems) == 1
    assert_problem(error, path, 51, column)
    assert unit_rows() == before


def test_failed_plan_import_writes_nothing(tmp_path: Path, units: Path) -> None:
    before = counts()
    text = BASE_PLAN.replace("lead: [sxd.vp]", "lead: [sxd.khong_co]")
    plan_error(tmp_path, text)
    assert counts() == before


def test_failed_replace_keeps_the_old_plan(tmp_path: Path, units: Path) -> None:
    path = write(tmp_path, "plan.yaml", BASE_PLAN)
    import_plan(path)
    before = counts()
    write(tmp_path, "plan.yaml", BASE_PLAN.replace("title: Thử nghiệm nhập kế hoạch", "title: Bản lỗi").replace("support: [sxd.tt]", "support: [sxd.khong_co]"))
    with pytest.raises(ImportFileError):
        import_plan(path, replace=True)
    assert counts() == before
    with session_scope() as session:
        assert session.scalars(select(Plan.title)).one() == "Thử nghiệm nhập kế hoạch"


def test_all_problems_are_reported_together(tmp_path: Path, units: Path) -> None:
    text = (
        BASE_PLAN.replace("      comparator: gt", "      comparator: about")
        .replace("due_on: 2024-10-30", "due_on: hôm nay")
        .replace("lead: [sxd.vp]", "lead: [sxd.khong_co]")
    )
    _, error = plan_error(tmp_path, text)
    assert {p.path for p in error.problems} >= {"plan.targets[1].comparator", "plan.duties[0].due_on"}
    assert [p.line for p in error.problems] == sorted(p.line or 0 for p in error.problems)


# ---------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------

SUBMISSION = """\
plan: 74/KH-SXD
duty: bao_cao_nam
unit: sxd.qlhdxd
values:
  trien_khai_ke_hoach: đạt
  trien_khai_nghi_quyet: "không đạt"
  cai_cach_hanh_chinh: true
  dan_van_kheo: 1
  quy_che_dan_chu: có
  nuoc_sach_do_thi:
    numerator: "1.198.000"
    denominator: 1325000
  nuoc_may_do_thi: {numerator: 1165000, denominator: 1325000, note: Biên Hòa và Long Khánh}
sections:
  tinh_hinh: Tình hình chung của phòng.
  ket_qua: Kết quả triển khai, thực hiện.
  danh_gia: Ưu điểm, hạn chế, nguyên nhân.
  nhiem_vu: Nhiệm vụ thời gian tới.
self_assessment:
  score: "87,5"
"""


@pytest.fixture()
def plan_74(units: Path) -> Path:
    import_plan(EXAMPLE / "plan.yaml")
    return units


def check(path: Path) -> None:
    doc = load_submission(path)
    with session_scope() as session:
        plan, duty, _ = resolve_submission(doc, session=session)
        check_submission_against_duty(doc, duty, plan.targets)


def test_good_submission(tmp_path: Path, plan_74: Path) -> None:
    path = write(tmp_path, "bao-cao.yaml", SUBMISSION)
    doc = load_submission(path)
    values = doc.spec.values
    assert [values[c].value for c in ("trien_khai_ke_hoach", "trien_khai_nghi_quyet", "cai_cach_hanh_chinh", "quy_che_dan_chu")] == [1, 0, 1, 1]
    assert (values["nuoc_sach_do_thi"].numerator, values["nuoc_sach_do_thi"].denominator) == (Decimal(1198000), Decimal(1325000))
    assert values["nuoc_may_do_thi"].note == "Biên Hòa và Long Khánh"
    assert doc.spec.self_assessment is not None and doc.spec.self_assessment.score == Decimal("87.5")
    assert doc.line_of("values", "nuoc_sach_do_thi") == line_of(SUBMISSION, "nuoc_sach_do_thi:")
    check(path)

    example = load_submission(EXAMPLE / "submissions" / "sxd.vp.yaml")
    assert example.attachment_paths and all(p.is_file() for p in example.attachment_paths)


def test_submission_bad_number(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("dan_van_kheo: 1", 'dan_van_kheo: "12,3,4"')
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        load_submission(path)
    assert_problem(caught.value, path, line_of(text, "dan_van_kheo:"), "values.dan_van_kheo", "got '12,3,4'")


def test_submission_rate_without_denominator(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("    denominator: 1325000\n", "")
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        load_submission(path)
    assert_problem(caught.value, path, line_of(text, "nuoc_sach_do_thi:"), "values.nuoc_sach_do_thi.denominator", "a rate needs both numerator and denominator")


def test_submission_numerator_above_denominator(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace('numerator: "1.198.000"', "numerator: 1400000")
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        load_submission(path)
    assert_problem(caught.value, path, line_of(text, "numerator: 1400000"), "values.nuoc_sach_do_thi.numerator", "greater than denominator 1325000")


def test_submission_unknown_indicator_for_the_duty(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("  dan_van_kheo: 1\n", "  dan_van_kheo: 1\n  chi_so_hai_long: 96\n")
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        check(path)
    assert_problem(
        caught.value, path, line_of(text, "chi_so_hai_long:"), "values.chi_so_hai_long", "unknown indicator 'chi_so_hai_long' for duty 'bao_cao_nam'"
    )


def test_submission_rate_given_as_a_single_value_and_missing_section(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("  nuoc_may_do_thi: {numerator: 1165000, denominator: 1325000, note: Biên Hòa và Long Khánh}", '  nuoc_may_do_thi: "87,9%"')
    text = text.replace("  danh_gia: Ưu điểm, hạn chế, nguyên nhân.\n", "")
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        check(path)
    assert_problem(caught.value, path, line_of(text, "nuoc_may_do_thi:"), "values.nuoc_may_do_thi", "is a rate: expected {numerator, denominator}")
    assert_problem(
        caught.value, path, line_of(text, "sections:"), "sections", "section 'danh_gia' (Đánh giá chung (ưu điểm, hạn chế, nguyên nhân)) is required"
    )


def test_submission_indicator_of_another_unit(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("  dan_van_kheo: 1\n", "  dan_van_kheo: 1\n  nha_o_xa_hoi: 700\n")
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        check(path)
    assert_problem(caught.value, path, line_of(text, "nha_o_xa_hoi:"), "values.nha_o_xa_hoi", "does not report 'nha_o_xa_hoi' (reported by: sxd.qln)")


def test_submission_missing_attachment(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION + "attachments:\n  - minh-chung/bang-ke.xlsx\n"
    path = write(tmp_path, "bao-cao.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        load_submission(path)
    assert_problem(caught.value, path, line_of(text, "bang-ke.xlsx"), "attachments[0]", "attachment not found", "bang-ke.xlsx")


def test_submission_unknown_plan_and_duty(tmp_path: Path, plan_74: Path) -> None:
    text = SUBMISSION.replace("duty: bao_cao_nam", "duty: bao_cao_quy")
    path = write(tmp_path, "bao-cao.yaml", text)
    doc = load_submission(path)
    with session_scope() as session, pytest.raises(SubmissionError) as caught:
        resolve_submission(doc, session=session)
    assert_problem(caught.value, path, 2, "duty", "unknown duty 'bao_cao_quy' in plan 74/KH-SXD; expected one of: bao_cao_nam")


# ---------------------------------------------------------------------------------------------
# Plain figures, rates computed from two counts, nothing to count
# ---------------------------------------------------------------------------------------------

FIGURES_TARGETS = """\
    - code: tiep_nhan
      text: Số hồ sơ tiếp nhận
      metric: Hồ sơ tiếp nhận
      unit_of_measure: hồ sơ
      aggregation: sum
    - code: truc_tuyen
      text: Số hồ sơ tiếp nhận trực tuyến
      metric: Hồ sơ tiếp nhận trực tuyến
      unit_of_measure: hồ sơ
      aggregation: sum
    - code: ty_le_truc_tuyen
      text: Tỷ lệ hồ sơ tiếp nhận trực tuyến đạt ít nhất 80%
      metric: Tỷ lệ hồ sơ trực tuyến
      unit_of_measure: "%"
      comparator: ge
      value: 80
      aggregation: weighted_rate
      numerator: truc_tuyen
      denominator: tiep_nhan
  duties:
"""
FIGURES_PLAN = BASE_PLAN.replace("  duties:\n", FIGURES_TARGETS, 1).replace(
    "indicators: [nha_o_xa_hoi, dan_van_kheo]", "indicators: [nha_o_xa_hoi, dan_van_kheo, tiep_nhan, truc_tuyen, ty_le_truc_tuyen]"
)


def test_plain_figures_and_a_rate_from_two_counts_import_and_export(tmp_path: Path, units: Path) -> None:
    from tasks.plans.exports import plan_document, plan_yaml

    key = import_plan(write(tmp_path, "plan.yaml", FIGURES_PLAN))
    with session_scope() as session:
        plan = session.scalars(select(Plan).where(Plan.key == key)).one()
        targets = {t.code: t for t in plan.targets}
        assert (targets["tiep_nhan"].comparator, targets["tiep_nhan"].value, targets["tiep_nhan"].is_plain) == (None, None, True)
        rate = targets["ty_le_truc_tuyen"]
        assert (rate.numerator_code, rate.denominator_code, rate.comparator, rate.value, rate.is_computed) == (
            "truc_tuyen",
            "tiep_nhan",
            "ge",
            Decimal(80),
            True,
        )
        exported = plan_document(session, plan)["plan"]["targets"]
        text = plan_yaml(session, plan)
    by_code = {t["code"]: t for t in exported}
    assert "comparator" not in by_code["tiep_nhan"] and "value" not in by_code["tiep_nhan"]
    assert (by_code["ty_le_truc_tuyen"]["numerator"], by_code["ty_le_truc_tuyen"]["denominator"]) == ("truc_tuyen", "tiep_nhan")

    # The exported file imports again to the same targets
    assert import_plan(write(tmp_path, "exported.yaml", text), replace=True) == key
    with session_scope() as session:
        again = {t.code: (t.comparator, t.value, t.aggregation, t.numerator_code, t.denominator_code) for t in session.scalars(select(Target))}
    assert again["tiep_nhan"] == (None, None, "sum", None, None)
    assert again["ty_le_truc_tuyen"] == ("ge", Decimal(80), "weighted_rate", "truc_tuyen", "tiep_nhan")
    assert json_schema("plan")["$defs"]["TargetSpec"]["properties"]["numerator"]["description"]


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "fragment"),
    [
        ("      comparator: gt\n      value: 80\n", "", "code: dan_van_kheo", "plan.targets[1].comparator", "only a sum or mean may be a plain figure"),
        (
            "      comparator: ge\n      value: 80\n",
            "      comparator: ge\n",
            "code: ty_le_truc_tuyen",
            "plan.targets[4].value",
            "give comparator and value together",
        ),
        ("      numerator: truc_tuyen\n", "      numerator: so_ho_so\n", "numerator: so_ho_so", "plan.targets[4].numerator", "unknown indicator 'so_ho_so'"),
        ("      numerator: truc_tuyen\n", "      numerator: dan_van_kheo\n", "numerator: dan_van_kheo", "plan.targets[4].numerator", "is a share_of_units"),
        ("      denominator: tiep_nhan\n", "", "code: ty_le_truc_tuyen", "plan.targets[4].denominator", "needs both numerator and denominator"),
        (
            "dan_van_kheo, tiep_nhan, truc_tuyen, ty_le",
            "dan_van_kheo, tiep_nhan, ty_le",
            "indicators: [",
            "plan.duties[0].indicators[3]",
            "computed from 'truc_tuyen'",
        ),
    ],
)
def test_plain_figure_and_computed_rate_mistakes(tmp_path: Path, units: Path, old: str, new: str, needle: str, field: str, fragment: str) -> None:
    assert old in FIGURES_PLAN
    text = FIGURES_PLAN.replace(old, new, 1)
    path, error = plan_error(tmp_path, text)
    assert_problem(error, path, line_of(text, needle), field, fragment)


SUBMISSION_FIGURES = """\
plan: 12/KH-SXD
duty: bao_cao_nam
unit: sxd.qln
values:
  nha_o_xa_hoi: 120
  dan_van_kheo: đạt
  tiep_nhan: 0
  truc_tuyen: 0
sections:
  ket_qua: Trung tâm không tiếp nhận hồ sơ nào trong kỳ.
"""


def test_a_submission_of_zero_over_zero_is_taken_and_a_computed_rate_is_not_given(tmp_path: Path, plan_74: Path) -> None:
    # 0/0: a unit with nothing to count; a part over a zero whole is still refused
    text = SUBMISSION.replace('numerator: "1.198.000"', "numerator: 0").replace("denominator: 1325000\n", "denominator: 0\n", 1)
    path = write(tmp_path, "khong-phat-sinh.yaml", text)
    check(path)
    figure = load_submission(path).spec.values["nuoc_sach_do_thi"]
    assert (figure.numerator, figure.denominator, figure.is_rate) == (Decimal(0), Decimal(0), True)
    text = text.replace("numerator: 0", "numerator: 5")
    path = write(tmp_path, "sai.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        load_submission(path)
    assert_problem(caught.value, path, line_of(text, "denominator: 0"), "values.nuoc_sach_do_thi.denominator", "expected a number > 0 for numerator 5")

    import_plan(write(tmp_path, "plan.yaml", FIGURES_PLAN))
    path = write(tmp_path, "dem.yaml", SUBMISSION_FIGURES)
    check(path)
    text = SUBMISSION_FIGURES.replace("  truc_tuyen: 0\n", "  truc_tuyen: 0\n  ty_le_truc_tuyen: {numerator: 0, denominator: 0}\n")
    path = write(tmp_path, "ty-le.yaml", text)
    with pytest.raises(SubmissionError) as caught:
        check(path)
    assert_problem(caught.value, path, line_of(text, "ty_le_truc_tuyen:"), "values.ty_le_truc_tuyen", "computed from 'truc_tuyen' / 'tiep_nhan'")


def xlsx_from_csv(csv_path: Path, xlsx_path: Path) -> Path:
    """The CSV's rows typed into the first sheet of a workbook, as an office keeps its units in Excel."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    with csv_path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    workbook.save(xlsx_path)
    return xlsx_path


def test_an_excel_units_sheet_reads_as_the_csv_does(tmp_path: Path, workspace: Path) -> None:
    workbook = xlsx_from_csv(EXAMPLE / "units.csv", tmp_path / "Danh sách đơn vị.xlsx")
    assert load_units(workbook) == load_units(EXAMPLE / "units.csv")
    assert import_units(workbook) == ImportResult(created=8, updated=0, unchanged=0)


def test_an_excel_bad_row_names_its_row_and_column(tmp_path: Path, workspace: Path) -> None:
    text = "code,name,kind,parent,emails\nso,Sở Thử nghiệm,department,,vanthu@so.example.gov.vn\nso.tt,Thanh tra,office,so,thanh tra@so\n"
    source = write(tmp_path, "units.csv", text)
    workbook = xlsx_from_csv(source, tmp_path / "units.xlsx")
    with pytest.raises(ImportFileError) as caught:
        import_units(workbook)
    assert_problem(caught.value, workbook, 3, "emails", "expected an email address", "'thanh tra@so'")
    assert counts()["Unit"] == 0
    renamed = tmp_path / "not-a-workbook.xlsx"
    renamed.write_text("code,name\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="not an Excel workbook"):
        import_units(renamed)


def test_a_plan_without_a_signer_name_is_imported_with_a_warning_at_its_line(tmp_path: Path, units: Path) -> None:
    text = BASE_PLAN.replace("name: Hồ Văn Hà", 'name: ""')
    path = write(tmp_path, "plan.yaml", text)
    imported = import_plan_file(path)
    assert imported.key == "12-kh-sxd-2024"
    line = line_of(text, 'name: ""')
    assert imported.warnings == (f"{path}:{line}: plan.signer.name: no signer name: the plan prints without one until it is given",)
    assert (
        import_plan_file(write(tmp_path, "signed.yaml", BASE_PLAN.replace("12-kh-sxd-2024", "13-kh-sxd-2024").replace('number: "12"', 'number: "13"'))).warnings
        == ()
    )


def test_a_joint_symbol_names_every_issuer_in_its_systems_form() -> None:
    from models.unit import Unit, UnitSystem
    from tasks.plans.imports import joint_symbol

    party = [Unit(code="a", name="Ban Dân vận Tỉnh ủy", issuer_symbol="BDVTU", system=UnitSystem.PARTY), Unit(code="b", name="x", issuer_symbol="BCS.UBND")]
    state = [Unit(code="s", name="Sở Văn hóa", issuer_symbol="SVHTTDL", system=UnitSystem.STATE), Unit(code="g", name="Sở Giáo dục", issuer_symbol="SGDĐT")]
    assert joint_symbol("KH", party) == "KH/BDVTU-BCS.UBND"  # Hướng dẫn 36
    assert joint_symbol("KH", state) == "KHLT-SVHTTDL-SGDĐT"  # Decree 30: the kind marked liên tịch
    assert joint_symbol("KHLT", state) == "KHLT-SVHTTDL-SGDĐT"
