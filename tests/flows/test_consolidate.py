from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from prefect.client.orchestration import get_client
from sqlalchemy import select

from cascade.settings import get_settings
from cascade.workspace_paths import resolved_path
from flows.cascade_plan import cascade_plan
from flows.consolidate import consolidate
from flows.record_submission import submit_report
from models.aggregation import Verdict
from models.db import session_scope
from models.report import Report
from tests.flows.helpers import by_subject, submission, text_part

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture()
def reported(department, smtp_server):
    """U1 and U2 on time, U3 late, U4 never."""
    plan = department.plan
    cascade_plan(plan, date(2024, 4, 5))
    submit_report(submission(plan, "U1", dan_van_kheo=1, nha_o_xa_hoi=300, nuoc_sach=(9000, 10000), hai_long=97), date(2024, 10, 20))
    submit_report(submission(plan, "U2", dan_van_kheo=1, nha_o_xa_hoi=420, nuoc_sach=(800, 1000), hai_long=96), date(2024, 10, 29))
    late = submission(plan, "U3", dan_van_kheo=0, nha_o_xa_hoi=5, hai_long=90)
    late = type(late)(**{**late.__dict__, "sections": {"tinh_hinh": "<script>alert('x')</script> Đơn vị đã triển khai. <img src=x onerror=alert(1)> A & B"}})
    submit_report(late, date(2024, 11, 2))
    return department


def test_consolidation_judges_every_target_and_lists_late_and_missing(reported, smtp_server) -> None:
    outcome = consolidate(reported.plan, "bao_cao_nam", date(2024, 11, 8))
    r = outcome.result
    by_code = {t.rule.code: t for t in r.results}

    # Computed by hand: 2 of 4 units meet Dân vận khéo; 300+420+5 houses; (9000+800)/(10000+1000); mean of 97, 96, 90.
    assert by_code["dan_van_kheo"].figure == Decimal(50) and by_code["dan_van_kheo"].verdict == Verdict.NOT_MET
    assert by_code["nha_o_xa_hoi"].figure == Decimal(725) and by_code["nha_o_xa_hoi"].verdict == Verdict.MET
    assert by_code["nuoc_sach"].figure == Decimal(9800) / Decimal(11000) * 100 and by_code["nuoc_sach"].verdict == Verdict.MET
    assert by_code["hai_long"].figure == Decimal(283) / 3 and by_code["hai_long"].verdict == Verdict.NOT_MET
    assert [u.code for u in r.late] == ["U3"] and [u.code for u in r.missing] == ["U4"]
    assert (r.completeness, r.timeliness) == (Decimal(75), Decimal(50))

    markdown = Path(outcome.files[0]).read_text(encoding="utf-8")
    assert "Số đơn vị phải báo cáo: 4; đã báo cáo: 3 (tỷ lệ 75%); đúng hạn (trước ngày 30/10/2024): 2 (tỷ lệ 50%)" in markdown
    assert "Phòng Quản lý nhà và thị trường bất động sản (ngày 02/11/2024, chậm 3 ngày)" in markdown
    assert "Đơn vị chưa báo cáo: Phòng Quản lý hoạt động xây dựng (quá hạn 9 ngày)" in markdown
    assert "| Nhà ở xã hội hoàn thành | ít nhất 715 căn | 725 căn | 3/4 | Đạt (chưa đủ số liệu) |" in markdown
    assert "| Dân số đô thị dùng nước sạch | ít nhất 89% | 89,1% (9.800/11.000) | 2/4 | Đạt (chưa đủ số liệu) |" in markdown
    assert "- **Văn phòng Sở**\n  - Tình hình chung của đơn vị U1." in markdown  # the unit's name, then its text
    assert "ngày 08 tháng 11 năm 2024" in markdown

    html = Path(outcome.files[1]).read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html  # what units typed is escaped
    # the Markdown too: it is the Prefect artifact, shown as HTML in the UI
    assert "<script>" not in markdown and "<img" not in markdown and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt; A &amp; B" in markdown

    # The Word report and the Excel table go to the department's own office, attached to a summary.
    word, workbook = (Path(f) for f in outcome.files if f.endswith((".docx", ".xlsx")))
    assert "BÁO CÁO" in [p.text for p in Document(str(word)).paragraphs]
    summary = by_subject(smtp_server.messages(), "Báo cáo tổng hợp")
    assert len(summary) == 1 and summary[0]["To"].addresses[0].addr_spec == "vanphong@sxd.example.gov.vn"
    assert sorted(part.get_filename() for part in summary[0].iter_attachments()) == sorted([word.name, workbook.name])
    assert "Đơn vị đã báo cáo: 3/4" in text_part(summary[0]) and "Chưa báo cáo: Phòng Quản lý hoạt động xây dựng." in text_part(summary[0])

    with session_scope() as session:
        report = session.get_one(Report, outcome.report_id)
        sources = {t["code"]: t["sources"] for t in report.summary["targets"]}
        assert {s["unit"] for s in sources["nha_o_xa_hoi"]} == {"U1", "U2", "U3"}
        assert report.completeness == Decimal(75)


def test_the_report_is_published_as_prefect_artifacts(reported) -> None:
    consolidate(reported.plan, "bao_cao_nam", date(2024, 11, 8))
    with get_client(sync_client=True) as client:
        artifacts = {a.key: a for a in client.read_latest_artifacts()}
    summary = artifacts["74-kh-sxd-2024-bao-cao-nam"]
    assert "Tổng hợp kết quả" in summary.data and "Đạt" in summary.data
    assert "74-kh-sxd-2024-bao-cao-nam-targets" in artifacts


def test_a_replayed_day_ignores_later_submissions(reported) -> None:
    r = consolidate(reported.plan, "bao_cao_nam", date(2024, 10, 25)).result
    assert [u.code for u in r.submitted] == ["U1"]
    assert r.late == () and {u.code for u in r.missing} == {"U2", "U3", "U4"}
    with session_scope() as session:
        assert len(session.scalars(select(Report)).all()) == 1


# ---------------------------------------------------------------------------------------------
# Nothing to count (0/0), plain figures, a rate computed from two counts
# ---------------------------------------------------------------------------------------------


def table_rows(path: Path) -> list[list[str]]:
    return [[cell.text.strip() for cell in row.cells] for table in Document(str(path)).tables for row in table.rows]


def test_a_unit_with_nothing_to_count_has_reported_and_plain_figures_get_no_verdict(department, smtp_server) -> None:
    from openpyxl import load_workbook

    from tests.fixtures.builders import add_counts_and_rate

    plan = department.plan
    add_counts_and_rate()
    cascade_plan(plan, date(2024, 4, 5))
    notice = text_part(by_subject(smtp_server.messages(), "Giao nhiệm vụ")[0])
    assert "Hồ sơ tiếp nhận: số liệu báo cáo, không đặt mục tiêu; gửi: số lượng đạt được" in notice
    assert "Tỷ lệ hồ sơ trực tuyến: mục tiêu ít nhất 80%; gửi: không phải nhập, hệ thống tự tính từ “Hồ sơ tiếp nhận trực tuyến” / “Hồ sơ tiếp nhận”" in notice
    letter = next(p for p in (get_settings().documents_dir / plan).rglob("Công văn giao nhiệm vụ *.docx"))
    assert "- Hồ sơ tiếp nhận: báo cáo số liệu, không đặt mục tiêu." in [p.text for p in Document(str(letter)).paragraphs]
    submit_report(
        submission(plan, "U1", dan_van_kheo=1, nha_o_xa_hoi=300, nuoc_sach=(9000, 10000), hai_long=97, tiep_nhan=788, truc_tuyen=694), date(2024, 10, 20)
    )
    # U2, a centre that received no dossiers: 0/0 and zero counts
    submit_report(submission(plan, "U2", dan_van_kheo=1, nha_o_xa_hoi=420, nuoc_sach=(0, 0), hai_long=96, tiep_nhan=0, truc_tuyen=0), date(2024, 10, 21))
    submit_report(submission(plan, "U3", dan_van_kheo=0, nha_o_xa_hoi=5, nuoc_sach=(800, 1000), hai_long=90, tiep_nhan=200, truc_tuyen=100), date(2024, 10, 22))
    receipt = [m for m in by_subject(smtp_server.messages(), "Đã nhận báo cáo") if "Thanh tra Sở" in str(m["Subject"])]
    assert len(receipt) == 1 and "Dân số đô thị dùng nước sạch: 0/0 (không phát sinh)" in text_part(receipt[0])

    outcome = consolidate(plan, "bao_cao_nam", date(2024, 11, 8))
    r = outcome.result
    by_code = {t.rule.code: t for t in r.results}
    water = by_code["nuoc_sach"]
    assert (water.figure, water.reported, water.idle_units, water.verdict) == (Decimal(9800) / Decimal(11000) * 100, 3, ("U2",), Verdict.MET)
    assert [u.code for u in r.submitted] == ["U1", "U2", "U3"] and r.completeness == Decimal(75)
    assert (by_code["tiep_nhan"].figure, by_code["tiep_nhan"].verdict) == (Decimal(988), Verdict.NOT_JUDGED)
    online = by_code["ty_le_truc_tuyen"]  # computed from the two counts: (694 + 0 + 100) / (788 + 0 + 200)
    assert (online.figure, online.numerator, online.denominator, online.reported, online.verdict) == (
        Decimal(794) / Decimal(988) * 100,
        Decimal(794),
        Decimal(988),
        3,
        Verdict.MET,
    )
    assert (r.met, r.judged, len(r.results)) == (3, 5, 7)

    markdown = Path(outcome.files[0]).read_text(encoding="utf-8")
    assert "Đạt 3/5 chỉ tiêu." in markdown
    assert "| Dân số đô thị dùng nước sạch | ít nhất 89% | 89,1% (9.800/11.000; 1 đơn vị không phát sinh) | 3/4 | Đạt (chưa đủ số liệu) |" in markdown
    assert "| Hồ sơ tiếp nhận | — | 988 hồ sơ | 3/4 | — |" in markdown
    assert "| Tỷ lệ hồ sơ trực tuyến | ít nhất 80% | 80,4% (794/988; 1 đơn vị không phát sinh) | 3/4 | Đạt (chưa đủ số liệu) |" in markdown

    word, workbook = (Path(f) for f in outcome.files if f.endswith((".docx", ".xlsx")))
    rows = table_rows(word)
    assert ["6", "Hồ sơ tiếp nhận trực tuyến", "—", "794 hồ sơ", "3/4", "—"] in rows
    assert any("không phát sinh" in cell for row in rows for cell in row if cell.startswith("89,1%"))
    assert any("Kết quả thực hiện các chỉ tiêu: đạt 3/5 chỉ tiêu" in p.text for p in Document(str(word)).paragraphs)
    # the Excel table shows the centre's rate as 'không phát sinh', its 0 and 0 beside it
    sheet = load_workbook(workbook).worksheets[0]
    centre = next(row for row in sheet.iter_rows(values_only=True) if "Thanh tra Sở" in row)
    assert centre.count("không phát sinh") == 2 and centre.count(0) >= 4
    mail = text_part(by_subject(smtp_server.messages(), "Báo cáo tổng hợp")[0])
    assert "Chỉ tiêu đạt: 3/5." in mail and "5. Hồ sơ tiếp nhận: 988 hồ sơ\n" in mail


def test_a_rate_every_unit_gives_as_zero_over_zero_reads_nothing_to_count(department, smtp_server) -> None:
    plan = department.plan
    cascade_plan(plan, date(2024, 4, 5))
    for unit in department.units:
        submit_report(submission(plan, unit, dan_van_kheo=1, nha_o_xa_hoi=200, nuoc_sach=(0, 0), hai_long=97), date(2024, 10, 20))
    outcome = consolidate(plan, "bao_cao_nam", date(2024, 11, 8))
    water = next(t for t in outcome.result.results if t.rule.code == "nuoc_sach")
    assert (water.figure, water.verdict, water.nothing_to_count, water.reported) == (None, Verdict.NOT_JUDGED, True, 4)
    assert (outcome.result.completeness, outcome.result.met, outcome.result.judged) == (Decimal(100), 3, 3)
    markdown = Path(outcome.files[0]).read_text(encoding="utf-8")
    assert "| Dân số đô thị dùng nước sạch | ít nhất 89% | Không phát sinh | 4/4 | — |" in markdown
    assert "Đạt 3/3 chỉ tiêu." in markdown
    word = next(Path(f) for f in outcome.files if f.endswith(".docx"))
    assert ["3", "Dân số đô thị dùng nước sạch", "ít nhất 89%", "Không phát sinh", "4/4", "—"] in table_rows(word)


def test_a_rate_from_two_counts_goes_down_every_level_and_comes_back_computed(workspace, smtp_server) -> None:
    from models.plan import Plan, Target
    from models.submission import Submission, SubmissionValue
    from tests.fixtures.builders import add_counts_and_rate, make_plan, make_unit_tree

    make_unit_tree(depth=3, width=2)
    plan = make_plan()
    add_counts_and_rate()
    with session_scope() as session:
        session.scalars(select(Plan)).one().cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}]}
    cascade_plan(plan, date(2024, 4, 5))
    with session_scope() as session:
        below = session.execute(
            select(Plan.key, Target.numerator_code, Target.denominator_code).join(Target).where(Plan.key != plan, Target.code == "ty_le_truc_tuyen")
        ).all()
    assert sorted(below) == [(f"{plan}--U1", "truc_tuyen", "tiep_nhan"), (f"{plan}--U2", "truc_tuyen", "tiep_nhan")]

    leaves = {"U1.1": (788, 694), "U1.2": (0, 0), "U2.1": (200, 100), "U2.2": (12, 6)}
    for unit, (received, online) in leaves.items():
        submit_report(submission(plan, unit, nuoc_sach=(0, 0), tiep_nhan=received, truc_tuyen=online), date(2024, 10, 16))
    outcome = consolidate(plan, "bao_cao_nam", date(2024, 11, 8))
    by_code = {t.rule.code: t for t in outcome.result.results}
    assert (by_code["tiep_nhan"].figure, by_code["truc_tuyen"].figure) == (Decimal(1000), Decimal(800))
    assert (by_code["ty_le_truc_tuyen"].figure, by_code["ty_le_truc_tuyen"].verdict) == (Decimal(80), Verdict.MET)
    assert (by_code["nuoc_sach"].nothing_to_count, by_code["nuoc_sach"].reported) == (True, 2)  # 0/0 went up as 0/0
    with session_scope() as session:
        upward = session.execute(
            select(SubmissionValue.indicator_code, SubmissionValue.value, SubmissionValue.numerator, SubmissionValue.denominator)
            .join(Submission)
            .where(Submission.report_id.is_not(None))
        ).all()
    codes = {code for code, *_ in upward}
    assert "ty_le_truc_tuyen" not in codes and {"tiep_nhan", "truc_tuyen", "nuoc_sach"} <= codes
    assert ("nuoc_sach", None, Decimal(0), Decimal(0)) in upward


def test_the_pdfs_of_a_level_are_made_by_one_libreoffice_process(workspace, smtp_server, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from models.plan import Plan
    from models.unit import Unit
    from tasks.reporting import consolidation
    from tests.fixtures.builders import make_plan, make_unit_tree

    monkeypatch.setenv("CASCADE_REPORT_PDF", "true")
    get_settings.cache_clear()
    conversions: list[list[Path]] = []

    def counted(documents: list[Path], outdir: Path | None = None) -> list[Path]:  # the real conversion, counted
        conversions.append(list(documents))
        return to_pdf(documents, outdir)

    to_pdf = consolidation.to_pdf
    monkeypatch.setattr(consolidation, "to_pdf", counted)
    make_unit_tree(depth=3, width=2)
    plan = make_plan()
    with session_scope() as session:
        session.scalars(select(Plan)).one().cascade_policy = {"levels": [{"lead_days": 5, "issue": "auto"}]}
    cascade_plan(plan, date(2024, 4, 5))
    for unit in ("U1.1", "U1.2", "U2.1", "U2.2"):
        submit_report(submission(plan, unit, dan_van_kheo=1, nha_o_xa_hoi=100, nuoc_sach=(90, 100), hai_long=95), date(2024, 10, 16))
    consolidate(plan, "bao_cao_nam", date(2024, 11, 8))

    with session_scope() as session:
        reports = session.execute(select(Unit.code, Report.as_of, Report.files).join(Unit, Unit.id == Report.unit_id).order_by(Report.id)).all()
    # U1 and U2 each as of their own day and then as of 08/11, the department once: five reports, and
    # three LibreOffice processes (one per pass over the level below, one for the top), not five
    assert sorted(code for code, *_ in reports) == ["ROOT", "U1", "U1", "U2", "U2"]
    assert [len(batch) for batch in conversions] == [2, 2, 1]
    for code, day, files in reports:
        [pdf] = [resolved_path(path) for path in files if path.endswith(".pdf")]  # recorded relative to the workspace
        [word] = [resolved_path(path) for path in files if path.endswith(".docx")]
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.with_suffix(".docx") == word and pdf.parent.is_relative_to(get_settings().reports_dir)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "BÁO CÁO" in text and f"năm {day.year}" in text, (code, text[:500])


def test_lists_of_ids_go_to_the_database_in_slices_with_the_same_answer(reported, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL refuses a statement with more than 65,535 parameters: a plan tree's status and the returned
    reports' dates ask for their ids in slices (IDS_PER_STATEMENT), here of one id each, and answer as in one."""
    from models.assignment import Assignment
    from models.submission import ReviewAction, Submission
    from tasks.cascading import duty_tree
    from tasks.intake.review import review_submission
    from tasks.reporting import queries

    with session_scope() as session:
        first = session.scalars(select(Submission.id).order_by(Submission.id).limit(1)).one()
    review_submission(first, ReviewAction.RETURN, reviewer="ROOT", as_of=date(2024, 11, 3), comment="Thiếu số liệu.")

    def answers() -> tuple[tuple[str, list[queries.AssignmentRow]], dict[int, object]]:
        with session_scope() as session:
            returned = duty_tree.returned_at(session, list(session.scalars(select(Assignment.id).order_by(Assignment.id))))
        return queries.plan_status(reported.plan, date(2024, 11, 8), all_levels=True), returned

    whole = answers()
    monkeypatch.setattr(queries, "IDS_PER_STATEMENT", 1)
    monkeypatch.setattr(duty_tree, "IDS_PER_STATEMENT", 1)
    sliced = answers()
    assert sliced == whole
    (_code, rows), returned = whole
    assert sum(row.versions for row in rows) == 3 and sum(row.emails_sent for row in rows) >= 4 and len(returned) == 1
