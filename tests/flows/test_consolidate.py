from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from prefect.client.orchestration import get_client
from sqlalchemy import select

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
    late = type(late)(**{**late.__dict__, "sections": {"tinh_hinh": "<script>alert('x')</script> Đơn vị đã triển khai."}})
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
    assert "- **Văn phòng Sở**: Tình hình chung của đơn vị U1." in markdown
    assert "ngày 08 tháng 11 năm 2024" in markdown

    html = Path(outcome.files[1]).read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html  # what units typed is escaped

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
