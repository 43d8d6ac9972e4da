"""The bad-input corpus: files a new user or a careless tool could hand to each entry point (units, plans,
submissions in YAML, JSON, CSV and Excel, the Excel form). Each case asserts the message a person reads and
that the database did not change at all; the cases run against one workspace per entry point and every
failing case is reported together.

A case is (id, file name, content or a change of the example's text, the words expected in the error).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from openpyxl import Workbook
from sqlalchemy import select, text

from cascade import clock
from cascade.errors import InputError
from models.assignment import Assignment
from models.base import Base
from models.db import get_engine, session_scope
from models.plan import Plan, ReportDuty
from models.unit import Unit
from tasks.documents.forms import form_filename, form_spec, write_form
from tasks.intake.form_reader import read_form
from tasks.intake.submission_files import submission_input
from tasks.plans.imports import import_plan, import_units
from tasks.plans.workbook import plan_workbook
from tests.fixtures.builders import Department
from tests.fixtures.forms import Form
from tests.tasks.test_plan_workbook import as_stored

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOWN_UNITS = (EXAMPLES / "town-2024" / "units.yaml").read_text(encoding="utf-8")
TOWN_PLAN = (EXAMPLES / "town-2024" / "plan.yaml").read_text(encoding="utf-8")
UNITS_CSV = (EXAMPLES / "department-2024" / "units.csv").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Case:
    id: str
    name: str  # the file's name (its suffix picks the reader)
    content: str | bytes | Callable[[Path], None]  # the file's text or bytes, or a writer of the file
    expected: str  # words of the error message


def snapshot(tables: tuple[str, ...] | None = None) -> str:
    """Every row of every table (or of `tables`), hashed: equal before and after means nothing was written."""
    digest = hashlib.sha256()
    with get_engine().connect() as connection:
        for table in Base.metadata.sorted_tables:
            if tables is not None and table.name not in tables:
                continue
            for row in sorted(repr(tuple(r)) for r in connection.execute(text(f'SELECT * FROM "{table.name}"'))):
                digest.update(row.encode())
    return digest.hexdigest()


def write(folder: Path, case: Case) -> Path:
    path = folder / case.id / case.name
    path.parent.mkdir(parents=True, exist_ok=True)
    if callable(case.content):
        case.content(path)
    elif isinstance(case.content, bytes):
        path.write_bytes(case.content)
    else:
        path.write_text(case.content, encoding="utf-8")
    return path


def run_corpus(folder: Path, cases: list[Case], read: Callable[[Path], object]) -> None:
    """Each case refused with its words, the database unchanged; every failure listed at once."""
    failures = []
    for case in cases:
        before = snapshot()
        path = write(folder, case)
        try:
            read(path)
        except InputError as exc:
            shown = str(exc) + "\n" + exc.details() if hasattr(exc, "details") else str(exc)
            if case.expected not in shown:
                failures.append(f"{case.id}: expected {case.expected!r} in:\n{shown}")
            elif str(path.name) not in shown:
                failures.append(f"{case.id}: the message does not name the file:\n{shown}")
        except Exception as exc:
            failures.append(f"{case.id}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{case.id}: accepted")
        if snapshot() != before:
            failures.append(f"{case.id}: the database changed")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n\n" + "\n\n".join(failures)


def changed(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def xlsx_rows(rows: list[list[object]]) -> Callable[[Path], None]:
    def save(path: Path) -> None:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        book.save(path)

    return save


ZIP_MACRO = b"PK\x03\x04" + bytes(64)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
CSV_HEAD = UNITS_CSV.splitlines()[0]
CSV_ROOT = UNITS_CSV.splitlines()[1]

UNIT_CASES = [
    Case("empty", "units.yaml", "", "empty"),
    Case("list-at-top", "units.yaml", "- code: a\n", "units"),
    Case("tab-indent", "units.yaml", "units:\n\t- code: a\n", "YAML syntax error"),
    Case(
        "duplicate-key",
        "units.yaml",
        changed(TOWN_UNITS, "    short_name: UBND thị xã Trảng Bàng\n", "    short_name: UBND thị xã Trảng Bàng\n    short_name: x\n"),
        "duplicate key 'short_name'",
    ),
    Case("unknown-field", "units.yaml", changed(TOWN_UNITS, "    place: Trảng Bàng\n", "    place: Trảng Bàng\n    phone: 0276\n"), "phone"),
    Case("no-emails", "units.yaml", "units:\n  - {code: a, name: A, emails: []}\n", "expected at least one email address"),
    Case("bad-email", "units.yaml", "units:\n  - {code: a, name: A, emails: [vanthu.example.vn]}\n", "expected an email address"),
    Case("name-crlf", "units.yaml", 'units:\n  - {code: a, name: "UBND\\r\\nBcc: x@y.vn", emails: [a@example.vn]}\n', "expected text on one line"),
    Case("name-tab", "units.yaml", 'units:\n  - {code: a, name: "UBND\\tA", emails: [a@example.vn]}\n', "without control characters"),
    Case(
        "code-case-twins",
        "units.yaml",
        "units:\n  - {code: VP, name: A, emails: [a@example.vn]}\n  - {code: Vp, name: B, emails: [b@example.vn]}\n",
        "only by case",
    ),
    Case(
        "code-case-twin-of-existing",
        "units.yaml",
        "units:\n  - {code: TB, name: A, emails: [a@example.vn]}\n",
        "differs from the existing unit 'tb' only by case",
    ),
    Case("code-with-space", "units.yaml", "units:\n  - {code: 'a b', name: A, emails: [a@example.vn]}\n", "a unit code of letters"),
    Case("unknown-parent", "units.yaml", "units:\n  - {code: a, name: A, emails: [a@example.vn], parent: khong_co}\n", "unknown parent unit 'khong_co'"),
    Case(
        "parent-cycle",
        "units.yaml",
        "units:\n  - {code: a, name: A, emails: [a@e.vn], parent: b}\n  - {code: b, name: B, emails: [b@e.vn], parent: a}\n",
        "parent cycle",
    ),
    Case("own-parent", "units.yaml", "units:\n  - {code: a, name: A, emails: [a@example.vn], parent: a}\n", "cannot be its own parent"),
    Case(
        "ends-before-start",
        "units.yaml",
        "units:\n  - {code: a, name: A, emails: [a@e.vn], valid_from: 2024-05-01, valid_to: 2024-01-01}\n",
        "is before valid_from",
    ),
    Case("bad-date", "units.yaml", "units:\n  - {code: a, name: A, emails: [a@e.vn], valid_from: 31/02/2024}\n", "expected a real date"),
    Case("unknown-system", "units.yaml", "units:\n  - {code: a, name: A, emails: [a@e.vn], system: church}\n", "system"),
    Case(
        "unknown-successor",
        "units.yaml",
        "units:\n  - {code: a, name: A, emails: [a@e.vn], valid_to: 2024-01-01, successor: zz}\n",
        "unknown successor unit 'zz'",
    ),
    Case("same-email-twice", "units.yaml", "units:\n  - {code: a, name: A, emails: [a@e.vn, a@e.vn]}\n", "duplicate email address"),
    Case(
        "duplicate-code",
        "units.yaml",
        "units:\n  - {code: a, name: A, emails: [a@e.vn]}\n  - {code: a, name: B, emails: [b@e.vn]}\n",
        "duplicate unit code 'a'",
    ),
    Case("utf16", "units.yaml", "units: []\n".encode("utf-16"), "UTF-16"),
    Case(
        "latin1", "units.yaml", "units:\n  - {code: a, name: Sở, emails: [a@e.vn]}\n".encode("cp1258", errors="replace").replace(b"S?", b"S\xf6"), "not UTF-8"
    ),
    Case("xlsm-as-yaml", "units.xlsm", ZIP_MACRO, "a macro-enabled Excel workbook (.xlsm)"),
    Case("xls-as-csv", "units.csv", OLE, "Excel 97-2003"),
    Case("json-syntax", "units.json", '{"units": [{"code": "a"', "syntax error"),
    Case("csv-no-emails-column", "units.csv", "code,name\na,A\n", "emails"),
    Case("csv-unknown-column", "units.csv", CSV_HEAD + ",fax\n" + CSV_ROOT + ",0276\n", "unknown column 'fax'"),
    Case(
        "csv-bad-email",
        "units.csv",
        CSV_HEAD + "\n" + CSV_ROOT.replace("vanthu@sxd.dongnai.example.gov.vn", "vanthu(at)sxd") + "\n",
        "expected an email address",
    ),
    Case("csv-unclosed-quote", "units.csv", CSV_HEAD + '\nsxd,"Sở Xây dựng\n', "expected at least one email address"),
    Case("csv-crlf-in-name", "units.csv", CSV_HEAD + '\nsxd,"Sở\r\nXây dựng",,,,,,a@e.vn,,,,,,,\n', "expected text on one line"),
    Case("xlsx-not-a-zip", "units.xlsx", "code,name,emails\na,A,a@e.vn\n", "not an Excel workbook"),
    Case("xlsx-macro", "units.xlsx", ZIP_MACRO, "not an Excel workbook"),  # a zip with no workbook in it
    Case("xlsx-bad-email", "units.xlsx", xlsx_rows([["code", "name", "emails"], ["a", "A", "a(at)e.vn"]]), "expected an email address"),
    Case("xlsx-unknown-column", "units.xlsx", xlsx_rows([["code", "name", "emails", "fax"], ["a", "A", "a@e.vn", "1"]]), "unknown column 'fax'"),
    Case("xlsx-code-twins", "units.xlsx", xlsx_rows([["code", "name", "emails"], ["x", "A", "a@e.vn"], ["X", "B", "b@e.vn"]]), "only by case"),
]


def test_units_files(workspace: Path, tmp_path: Path) -> None:
    import_units(EXAMPLES / "town-2024" / "units.yaml")
    run_corpus(tmp_path, UNIT_CASES, import_units)
    assert len(UNIT_CASES) >= 35


PLAN_JSON = json.dumps(yaml.safe_load(TOWN_PLAN), ensure_ascii=False, default=str)


def plan_xlsx(change: Callable[[dict], None]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def save(path: Path) -> None:
        document = as_stored(yaml.safe_load(TOWN_PLAN))
        change(document["plan"])
        plan_workbook(document).save(path)

    return save


def _set(path: tuple[object, ...], value: object) -> Callable[[dict], None]:  # type: ignore[type-arg]
    def change(plan: dict) -> None:  # type: ignore[type-arg]
        node = plan
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


PLAN_CASES = [
    Case("unknown-issuer", "plan.yaml", changed(TOWN_PLAN, "issuer: tb\n", "issuer: tb.khong_co\n"), "unknown issuer unit 'tb.khong_co'"),
    Case("bad-symbol", "plan.yaml", changed(TOWN_PLAN, "symbol: KH-UBND", "symbol: kế hoạch"), "symbol"),
    Case("due-before-issue", "plan.yaml", changed(TOWN_PLAN, "due_on: 2024-02-23", "due_on: 2024-01-02"), "before the plan is issued"),
    Case("reminder-400-days", "plan.yaml", changed(TOWN_PLAN, "reminder_days: [5, 2]", "reminder_days: [400, 2]"), "a reminder 400 days before"),
    Case("overdue-400-days", "plan.yaml", changed(TOWN_PLAN, "overdue_days: [1, 5]", "overdue_days: [1, 400]"), "at most 366 days"),
    Case("value-1e27", "plan.yaml", changed(TOWN_PLAN, "value: 90", "value: 1000000000000000000000000000"), "expected a number below"),
    Case("value-text", "plan.yaml", changed(TOWN_PLAN, "value: 90", "value: chín mươi"), "expected a number"),
    Case("bad-comparator", "plan.yaml", changed(TOWN_PLAN, "comparator: ge", "comparator: about"), "comparator"),
    Case("bad-date", "plan.yaml", changed(TOWN_PLAN, "issued_on: 2024-01-30", "issued_on: 30/02/2024"), "expected a real date"),
    Case("year-3000", "plan.yaml", changed(TOWN_PLAN, "year: 2024", "year: 3000"), "year"),
    Case(
        "unknown-indicator",
        "plan.yaml",
        changed(TOWN_PLAN, "indicators: [hoc_tap_quan_triet,", "indicators: [khong_co, hoc_tap_quan_triet,"),
        "unknown indicator 'khong_co'",
    ),
    Case("duplicate-target", "plan.yaml", changed(TOWN_PLAN, "    - code: mo_hinh_dan_van_kheo", "    - code: hoc_tap_quan_triet"), "duplicate target code"),
    Case("unknown-field", "plan.yaml", changed(TOWN_PLAN, "  place: Trảng Bàng\n", "  place: Trảng Bàng\n  budget: 10\n"), "budget"),
    Case("unknown-parent-plan", "plan.yaml", changed(TOWN_PLAN, "  year: 2024\n", "  year: 2024\n  parent_plan: 9/KH-XYZ\n"), "unknown parent plan '9/KH-XYZ'"),
    Case(
        "unknown-assignee",
        "plan.yaml",
        changed(TOWN_PLAN, "      assignees: []\n\n  # How", "      assignees: [tb.khong_co]\n\n  # How"),
        "unknown unit 'tb.khong_co'",
    ),
    Case(
        "figures-shown-twice",
        "plan.yaml",
        changed(
            TOWN_PLAN,
            "          title: Tình hình chung\n",
            "          title: Tình hình chung\n          shows: [figures]\n        - code: bang\n          title: Bảng\n          shows: [figures]\n          asked: false\n",
        ),
        "'figures' is already shown",
    ),
    Case(
        "section-of-nothing",
        "plan.yaml",
        changed(TOWN_PLAN, "          title: Tình hình chung\n", "          title: Tình hình chung\n          asked: false\n"),
        "must show figures or reporting",
    ),
    Case("lead-days-100", "plan.yaml", changed(TOWN_PLAN, "lead_days: 5", "lead_days: 100"), "lead_days"),
    Case(
        "joint-with-itself",
        "plan.yaml",
        changed(TOWN_PLAN, "  issuer: tb\n", "  issuer: tb\n  joint_with: [{unit: tb, signer: {title: CHỦ TỊCH, name: A}}]\n"),
        "already an issuer",
    ),
    Case("already-imported", "plan.yaml", TOWN_PLAN, "already imported; use --replace"),
    Case("json-unclosed", "plan.json", PLAN_JSON[:-2], "syntax error"),
    Case("json-reminder-400", "plan.json", PLAN_JSON.replace('"reminder_days": [5, 2]', '"reminder_days": [400, 2]'), "a reminder 400 days before"),
    Case("xlsx-negative-reminder", "plan.xlsx", plan_xlsx(_set(("duties", 0, "reminder_days"), [-3])), "Báo cáo!"),
    Case("xlsx-value-text", "plan.xlsx", plan_xlsx(_set(("targets", 0, "value"), "nhiều")), "Chỉ tiêu!"),
    Case(
        "xlsx-unknown-flag",
        "plan.xlsx",
        lambda path: _sections_cell(path, "tinh_hinh=Tình hình chung | biểu đồ"),
        "expected one section a line",
    ),
    Case("xlsx-no-plan-sheet", "plan.xlsx", xlsx_rows([["x"]]), "no sheet"),
]


def _sections_cell(path: Path, text: str) -> None:
    """The plan workbook with the annual report's sections cell written as an office might."""
    from openpyxl import load_workbook

    plan_xlsx(lambda plan: None)(path)
    book = load_workbook(path)
    duties = book["Báo cáo"]
    column = next(c.column_letter for c in duties[2] if c.value == "sections")
    row = next(r for r in range(3, duties.max_row + 1) if "tinh_hinh" in str(duties[f"{column}{r}"].value or ""))
    duties[f"{column}{row}"] = text
    book.save(path)


def test_plan_files(workspace: Path, tmp_path: Path) -> None:
    import_units(EXAMPLES / "town-2024" / "units.yaml")
    import_units(Path(__file__).parent / "ended_unit.yaml")
    import_plan(EXAMPLES / "town-2024" / "plan.yaml")  # so that a second import of the same plan is refused
    cases = [Case(c.id, c.name, c.content if c.id == "already-imported" else _renumbered(c.content), c.expected) for c in PLAN_CASES]
    cases.append(
        Case(
            "assignee-ended",
            "plan.yaml",
            _renumbered(changed(TOWN_PLAN, "      assignees: []\n\n  # How", "      assignees: [tb.cu]\n\n  # How")),
            "unit 'tb.cu' ended on 2023-12-31",
        )
    )
    run_corpus(tmp_path, cases, import_plan)


def _renumbered(content: str | bytes | Callable[[Path], None]) -> str | bytes | Callable[[Path], None]:
    """Another number and key than the imported plan's: each case is refused for its own fault only."""
    if isinstance(content, str):
        return content.replace("key: 104-kh-ubnd-2024", "key: 105-kh-ubnd-2024").replace('number: "104"', 'number: "105"').replace(
            '"key": "104-kh-ubnd-2024"', '"key": "105-kh-ubnd-2024"').replace('"number": "104"', '"number": "105"')  # fmt: skip
    if callable(content):

        def save(path: Path) -> None:
            content(path)

        return save
    return content


SUBMISSION = """plan: 74/KH-SXD
duty: bao_cao_nam
unit: U1
values:
  dan_van_kheo: đạt
  nha_o_xa_hoi: 300
  nuoc_sach: {numerator: 900, denominator: 1000}
  hai_long: 97
sections:
  tinh_hinh: Đơn vị đã triển khai.
  ket_qua: Đạt kết quả.
self_assessment: {score: 90}
"""
SUBMISSION_CASES = [
    Case("percent-120", "u1.yaml", changed(SUBMISSION, "hai_long: 97", "hai_long: 120"), "'hai_long' is a percentage: expected 0 to 100; got 120"),
    Case("percent-text-120", "u1.yaml", changed(SUBMISSION, "hai_long: 97", "hai_long: '120%'"), "expected 0 to 100; got 120"),
    Case("negative-count", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: -5"), "expected a figure ≥ 0; got -5"),
    Case("huge-number", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: 1e27"), "expected a number below"),
    Case("huge-int", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: 99999999999999999999999999999"), "expected a number below"),
    Case("huge-text", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: '1.000.000.000.000.000.000'"), "expected a number"),
    Case("nan", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: .nan"), "finite"),
    Case("numerator-over", "u1.yaml", changed(SUBMISSION, "numerator: 900", "numerator: 1900"), "is greater than denominator"),
    Case("zero-denominator", "u1.yaml", changed(SUBMISSION, "denominator: 1000", "denominator: 0"), "expected a number > 0"),
    Case("rate-as-value", "u1.yaml", changed(SUBMISSION, "nuoc_sach: {numerator: 900, denominator: 1000}", "nuoc_sach: 90"), "is a rate"),
    Case("sum-as-rate", "u1.yaml", changed(SUBMISSION, "nha_o_xa_hoi: 300", "nha_o_xa_hoi: {numerator: 1, denominator: 2}"), "added up over units"),
    Case("unknown-indicator", "u1.yaml", changed(SUBMISSION, "  hai_long: 97\n", "  hai_long: 97\n  khong_co: 1\n"), "unknown indicator 'khong_co'"),
    Case("missing-indicator", "u1.yaml", changed(SUBMISSION, "  hai_long: 97\n", ""), "missing value for indicator 'hai_long'"),
    Case("missing-section", "u1.yaml", changed(SUBMISSION, "  ket_qua: Đạt kết quả.\n", ""), "ket_qua"),
    Case(
        "unknown-section", "u1.yaml", changed(SUBMISSION, "  ket_qua: Đạt kết quả.\n", "  ket_qua: Đạt kết quả.\n  phu_luc: x\n"), "unknown section 'phu_luc'"
    ),
    Case("wrong-duty", "u1.yaml", changed(SUBMISSION, "duty: bao_cao_nam", "duty: bao_cao_quy"), "bao_cao_quy"),
    Case("unknown-plan", "u1.yaml", changed(SUBMISSION, "plan: 74/KH-SXD", "plan: 9/KH-XYZ"), "unknown plan '9/KH-XYZ'"),
    Case("unknown-unit", "u1.yaml", changed(SUBMISSION, "unit: U1", "unit: U9"), "U9"),
    Case("not-yes-no", "u1.yaml", changed(SUBMISSION, "dan_van_kheo: đạt", "dan_van_kheo: có lẽ"), "dan_van_kheo"),
    Case("score-150", "u1.yaml", changed(SUBMISSION, "score: 90", "score: 150"), "score"),
    Case("evidence-etc-passwd", "u1.yaml", SUBMISSION + "attachments: [/etc/passwd]\n", "evidence must come from the submission's folder"),
    Case("evidence-dotdot", "u1.yaml", SUBMISSION + "attachments: [../../../../etc/passwd]\n", "evidence must come from the submission's folder"),
    Case("evidence-missing", "u1.yaml", SUBMISSION + "attachments: [khong-co.pdf]\n", "attachment not found"),
    Case(
        "json-percent-120",
        "u1.json",
        json.dumps({**yaml.safe_load(SUBMISSION), "values": {**yaml.safe_load(SUBMISSION)["values"], "hai_long": 120}}, ensure_ascii=False),
        "expected 0 to 100",
    ),
    Case("json-garbage", "u1.json", '{"plan": "74/KH-SXD", "values": [', "syntax error"),
    Case("xlsx-renamed-yaml", "u1.yaml", ZIP_MACRO, "not text"),
]


def test_submission_files(department: Department, tmp_path: Path) -> None:
    assign(department)
    run_corpus(tmp_path, SUBMISSION_CASES, submission_input)


def assign(department: Department) -> list[int]:
    with session_scope() as session:
        duty = session.scalar(select(ReportDuty).join(Plan).where(Plan.key == department.plan))
        units = session.scalars(select(Unit).where(Unit.code.in_(department.units)).order_by(Unit.code)).all()
        rows = [Assignment(duty=duty, unit=u, due_on=duty.due_on, token=secrets.token_urlsafe(24), created_at=clock.moment(date(2024, 4, 5))) for u in units]
        session.add_all(rows)
        session.flush()
        return [a.id for a in rows]


def test_excel_forms(department: Department, tmp_path: Path) -> None:
    assignment_id = assign(department)[0]
    with session_scope() as session:
        spec = form_spec(session, session.get_one(Assignment, assignment_id), as_of=date(2024, 4, 5))
    blank = write_form(spec, tmp_path / form_filename(spec))

    def filled(**cells: object) -> Callable[[Path], None]:
        def save(path: Path) -> None:
            form = Form.open(blank)
            values = {"Đơn vị đạt tiêu chí Dân vận khéo": "Đạt", "Nhà ở xã hội hoàn thành": 300, "Chỉ số hài lòng": 97} | dict(cells)
            for metric, value in values.items():
                form.at(metric, "Giá trị").value = value
            form.at("Dân số đô thị dùng nước sạch", "Tử số").value = 900
            form.at("Dân số đô thị dùng nước sạch", "Mẫu số").value = 1000
            form.section("Tình hình chung").value = "Đã triển khai."
            form.section("Kết quả thực hiện").value = "Đạt."
            form.score().value = 90
            form.wb.save(path)

        return save

    cases = [
        Case("percent-120", "bieu-mau.xlsx", filled(**{"Chỉ số hài lòng": 120}), "lớn hơn 100%"),
        Case("huge-number", "bieu-mau.xlsx", filled(**{"Nhà ở xã hội hoàn thành": 1e27}), "lớn quá mức một số liệu báo cáo"),
        Case("huge-text", "bieu-mau.xlsx", filled(**{"Nhà ở xã hội hoàn thành": "1e27"}), "Nhà ở xã hội hoàn thành"),
        Case("negative", "bieu-mau.xlsx", filled(**{"Nhà ở xã hội hoàn thành": -3}), "Nhà ở xã hội hoàn thành"),
        Case("macro", "bieu-mau.xlsx", lambda path: _with_macro(blank, path), "có macro (VBA)"),
        Case("not-a-workbook", "bieu-mau.xlsx", "Đây không phải bảng tính", "không đọc được như một bảng tính Excel"),
        Case("other-workbook", "bieu-mau.xlsx", xlsx_rows([["Chỉ tiêu", "Giá trị"]]), "không phải biểu mẫu báo cáo do hệ thống gửi"),
    ]
    run_corpus(tmp_path, cases, read_form)


def _with_macro(blank: Path, path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(blank) as source, zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info, source.read(info))
        out.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(256))


def test_the_corpus_has_at_least_eighty_cases() -> None:
    assert len(UNIT_CASES) + len(PLAN_CASES) + 1 + len(SUBMISSION_CASES) + 7 >= 80
