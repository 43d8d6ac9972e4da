"""A unit's page over HTTP (the real app, a real SQLite file and the SMTP sink): opening the link from the
email, drafts, validation next to the field, submitting, evidence, the Excel form, and every refusal."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cascade.settings import get_settings
from models.assignment import Assignment, AssignmentStatus
from models.audit import AuditAction, AuditEvent
from models.db import session_scope
from models.submission import Channel, Draft, ReviewAction, Submission
from tasks.intake.access import close_plan, revoke_link
from tasks.intake.review import review_submission
from tests.flows.helpers import by_subject, text_part
from tests.portal.conftest import SUBMIT_KEY, Portal, link_in_notice

pytestmark = pytest.mark.usefixtures("prefect_harness")

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def good_fields(unit: str = "U1") -> dict[str, str]:
    return {
        "v-dan_van_kheo": "Đạt",
        "v-nha_o_xa_hoi": "1.234",
        "n-nuoc_sach": "694",
        "d-nuoc_sach": "788",
        "v-hai_long": "96,5",
        "note-hai_long": "Khảo sát tháng 9",
        "s-tinh_hinh": f"Tình hình chung của {unit}.",
        "s-ket_qua": "Hoàn thành 788 hồ sơ đúng hạn.",
        "score": "92,5",
        "assessment": "Đạt các tiêu chí.",
    }


def post(portal: Portal, path: str, fields: dict[str, str], action: str, files=None, **kwargs):  # type: ignore[no-untyped-def]
    page = portal.client.get(path)
    data = {**fields, "csrf": portal.csrf(page.text), "action": action}
    if (key := SUBMIT_KEY.search(page.text)) is not None:
        data["submit_key"] = key.group(1)
    return portal.client.post(path, data=data, files=files, follow_redirects=False, **kwargs)


def versions(unit: str) -> list[Submission]:
    with session_scope() as session:
        return list(session.scalars(select(Submission).join(Assignment).where(Assignment.unit.has(code=unit)).order_by(Submission.version)))


def test_the_link_in_the_email_opens_the_units_page(portal: Portal, smtp_server) -> None:
    link = link_in_notice(smtp_server.messages(), "u1@sxd.example.gov.vn")
    assert link == portal.link("U1") and link.startswith(get_settings().portal_base_url + "/u/")
    assert len(link.rsplit("/", 1)[1]) >= 32  # 192 random bits, url-safe base64

    page = portal.client.get(link)
    assert page.status_code == 200
    text = unescape(page.text)
    assert "Trang báo cáo của Văn phòng Sở" in text or "Trang báo cáo của" in text
    assert "Báo cáo kết quả công tác dân vận chính quyền năm 2024" in text
    assert "trước ngày 30/10/2024" in text and "(còn 10 ngày)" in text
    assert "Nhà ở xã hội hoàn thành" in text and "ít nhất 715 căn" in text
    # a yes/no figure: its target worded as the letter words the plan's (trên 80%), its unit no '%'
    assert "Đạt (kế hoạch: trên 80% đơn vị đạt)" in text and "Mục tiêu: Đạt (kế hoạch: trên 80% đơn vị đạt)." in text
    assert "Đẩy mạnh cải cách hành chính (chủ trì)" in text
    assert 'name="n-nuoc_sach"' in text and 'name="d-nuoc_sach"' in text and 'name="v-nuoc_sach"' not in text
    with session_scope() as session:
        opened = session.scalar(select(Assignment.opened_at).join(Assignment.unit).where(Assignment.unit.has(code="U1")))
    assert opened is not None


def test_a_draft_is_kept_then_errors_show_next_to_their_fields_then_the_report_goes(portal: Portal, smtp_server) -> None:
    path = portal.path("U1")
    partial = {"v-nha_o_xa_hoi": "12", "s-tinh_hinh": "Đang tổng hợp."}
    assert post(portal, path, partial, "save").status_code == 303
    page = portal.client.get(path + "?ok=saved")
    assert "Đã lưu nháp" in page.text and 'value="12"' in page.text and "Đang tổng hợp." in page.text

    wrong = {**good_fields(), "v-nha_o_xa_hoi": "khoảng 30", "n-nuoc_sach": "900", "s-ket_qua": ""}
    response = post(portal, path, wrong, "submit")
    assert response.status_code == 422
    text = unescape(response.text)
    assert 'id="err-v-nha_o_xa_hoi"' in response.text and "đã nhập “khoảng 30”, không phải là số" in text
    assert 'id="err-n-nuoc_sach"' in response.text and "900 lớn hơn mẫu số 788" in text
    assert 'id="err-s-ket_qua"' in response.text
    assert 'aria-invalid="true" aria-describedby="err-v-nha_o_xa_hoi"' in response.text
    assert versions("U1") == []
    with session_scope() as session:  # what was typed is kept as the draft
        draft = session.scalar(select(Draft))
        assert draft is not None and draft.fields["v-nha_o_xa_hoi"] == "khoảng 30"

    response = post(portal, path, good_fields(), "submit")
    assert response.status_code == 303 and response.headers["location"] == f"{path}?ok=sent-1"
    portal.jobs.wait(60)
    (version,) = versions("U1")
    assert version.channel == Channel.WEB
    with session_scope() as session:
        stored = session.get_one(Submission, version.id)
        figures = {v.indicator_code: (v.value, v.numerator, v.denominator) for v in stored.values}
        assert figures == {
            "dan_van_kheo": (Decimal(1), None, None),
            "nha_o_xa_hoi": (Decimal(1234), None, None),
            "nuoc_sach": (None, Decimal(694), Decimal(788)),
            "hai_long": (Decimal("96.5"), None, None),
        }
        assert stored.self_score == Decimal("92.5") and [s.code for s in stored.sections] == ["tinh_hinh", "ket_qua"]
        assert session.scalar(select(Draft)) is None  # the draft became the version
    receipt = by_subject(smtp_server.messages(), "Đã nhận báo cáo")
    assert len(receipt) == 1 and "Nhà ở xã hội hoàn thành: 1.234 căn" in text_part(receipt[0])
    assert portal.link("U1") in text_part(receipt[0])
    page = portal.client.get(f"{path}?ok=sent-1")
    assert "Đã gửi báo cáo (lần gửi thứ 1)" in page.text and "Lần gửi 1" in page.text


def test_a_double_click_on_submit_is_one_version(portal: Portal) -> None:
    path = portal.path("U2")
    page = portal.client.get(path)
    data = {**good_fields("U2"), "csrf": portal.csrf(page.text), "action": "submit", "submit_key": SUBMIT_KEY.search(page.text).group(1)}  # type: ignore[union-attr]
    first = portal.client.post(path, data=data, follow_redirects=False)
    second = portal.client.post(path, data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert [v.version for v in versions("U2")] == [1]


def test_evidence_is_checked_by_content_named_safely_and_stored_by_sha256(portal: Portal) -> None:
    path = portal.path("U1")
    files = [("evidence", ("../../Biên bản<1>.pdf", PDF, "application/pdf")), ("evidence", ("virus.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))]
    response = post(portal, path, {"s-tinh_hinh": "x"}, "save", files=files)
    assert response.status_code == 422
    assert "virus.pdf" in unescape(response.text) and "nội dung không phải tệp .pdf" in unescape(response.text)
    assert "Biên bản 1.pdf" in unescape(response.text)  # the good one is kept in the draft

    response = post(portal, path, good_fields(), "submit")
    assert response.status_code == 303
    (version,) = versions("U1")
    with session_scope() as session:
        (attachment,) = session.get_one(Submission, version.id).attachments
        assert attachment.filename == "Biên bản 1.pdf" and attachment.content_type == "application/pdf"
        import hashlib

        assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
        stored = get_settings().attachments_dir / attachment.sha256[:2] / attachment.sha256
        assert stored.read_bytes() == PDF
        attachment_id = attachment.id
    download = portal.client.get(f"{path}/files/{attachment_id}")
    assert download.status_code == 200 and download.content == PDF
    assert "filename*=utf-8''Bi%C3%AAn%20b%E1%BA%A3n%201.pdf" in download.headers["content-disposition"]
    # Another unit's link does not reach this file
    assert portal.client.get(f"{portal.path('U2')}/files/{attachment_id}").status_code == 404
    assert not list((get_settings().attachments_dir / "incoming").iterdir())  # no partial file left


def test_the_excel_form_is_downloaded_and_uploaded_instead(portal: Portal, tmp_path: Path) -> None:
    path = portal.path("U3")
    download = portal.client.get(f"{path}/bieu-mau.xlsx")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    form = tmp_path / "form.xlsx"
    form.write_bytes(download.content)

    wb = load_workbook(form)
    table = wb["Chỉ tiêu"]
    header = next(row for row in table.iter_rows() if any(c.value == "Giá trị" for c in row))
    col = {c.value: c.column for c in header if c.value}
    for row in table.iter_rows(min_row=header[0].row + 1):
        metric = row[col["Chỉ tiêu"] - 1].value
        if metric == "Nhà ở xã hội hoàn thành":
            row[col["Giá trị"] - 1].value = "khoảng 30"
    wb.save(form)
    page = portal.client.get(path)
    response = portal.client.post(
        f"{path}/excel", data={"csrf": portal.csrf(page.text)}, files={"form_file": ("form.xlsx", form.read_bytes())}, follow_redirects=False
    )
    assert response.status_code == 422
    assert "Chỉ tiêu!" in response.text and "khoảng 30" in unescape(response.text)
    assert versions("U3") == []


def test_a_forged_revoked_or_expired_link_is_the_plain_404_of_a_missing_page(portal: Portal) -> None:
    missing = portal.client.get("/khong-co-trang-nay")
    assert missing.status_code == 404
    path = portal.path("U1")
    forged = portal.client.get(path[:-4] + ("aaaa" if not path.endswith("aaaa") else "bbbb"))
    assert forged.status_code == 404 and forged.text == missing.text

    with session_scope() as session:
        assignment_id = session.scalar(select(Assignment.id).join(Assignment.unit).where(Assignment.unit.has(code="U1")))
    revoke_link(assignment_id, date(2024, 10, 20), send=False)
    revoked = portal.client.get(path)
    assert revoked.status_code == 404 and revoked.text == missing.text
    assert portal.client.get(portal.path("U1")).status_code == 200  # the new link works

    path2 = portal.path("U2")
    close_plan(portal.plan, date(2024, 11, 15))
    portal.day.value = date(2024, 11, 20)
    closed = portal.client.get(path2)
    assert closed.status_code == 200 and "Kỳ báo cáo của Kế hoạch số 74/KH-SXD đã kết thúc ngày 15/11/2024" in unescape(closed.text)
    assert 'name="action"' not in closed.text
    token = portal.csrf(portal.client.get("/admin/login").text)  # the closed page has no form: any page's token
    refused = portal.client.post(path2, data={"csrf": token, "action": "submit", **good_fields("U2")})
    assert refused.status_code == 409 and "không nhận thêm báo cáo" in unescape(refused.text)
    portal.day.value = date(2024, 12, 16)  # 31 days after closing
    expired = portal.client.get(path2)
    assert expired.status_code == 404 and expired.text == missing.text


def test_a_cross_site_post_is_refused_and_nothing_is_stored(portal: Portal) -> None:
    path = portal.path("U1")
    page = portal.client.get(path)
    token = portal.csrf(page.text)
    no_token = portal.client.post(path, data={**good_fields(), "action": "submit"}, follow_redirects=False)
    foreign = portal.client.post(
        path, data={**good_fields(), "action": "submit", "csrf": token}, headers={"origin": "https://evil.example"}, follow_redirects=False
    )
    portal.client.cookies.clear()  # another browser: the form's token without its cookie
    no_cookie = portal.client.post(path, data={**good_fields(), "action": "submit", "csrf": token}, follow_redirects=False)
    assert (no_token.status_code, foreign.status_code, no_cookie.status_code) == (403, 403, 403)
    assert "Yêu cầu không hợp lệ" in no_token.text
    assert versions("U1") == []
    with session_scope() as session:
        assert session.scalar(select(Draft)) is None


def test_an_oversized_upload_gets_413_before_anything_is_stored(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASCADE_PORTAL_MAX_REQUEST_MB", "1")
    get_settings.cache_clear()
    from fastapi.testclient import TestClient

    from portal.app import create_app

    client = TestClient(create_app(lambda: portal.day.value))
    path = portal.path("U1")
    page = client.get(path)
    big = ("evidence", ("big.pdf", PDF + b"0" * (2 * 1024 * 1024), "application/pdf"))
    response = client.post(path, data={"csrf": portal.csrf(page.text), "action": "save"}, files=[big], follow_redirects=False)
    assert response.status_code == 413 and "quá lớn" in unescape(response.text)

    def chunks():  # no Content-Length: counted as it arrives
        yield b'--x\r\nContent-Disposition: form-data; name="action"\r\n\r\nsave\r\n--x\r\n'
        for _ in range(40):
            yield b"0" * 65536

    chunked = client.post(path, content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert chunked.status_code == 413
    assert not (get_settings().attachments_dir).exists() or not any(p.is_file() for p in get_settings().attachments_dir.rglob("*"))
    with session_scope() as session:
        assert session.scalar(select(Draft)) is None


def test_a_script_in_a_narrative_is_shown_as_text(portal: Portal) -> None:
    path = portal.path("U1")
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    assert post(portal, path, {**good_fields(), "s-ket_qua": script}, "submit").status_code == 303
    page = portal.client.get(path)
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_every_response_carries_the_security_headers(portal: Portal) -> None:
    for response in (portal.client.get("/"), portal.client.get("/khong-co"), portal.client.get(portal.path("U1")), portal.client.get("/admin/login")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"  # the link must not leak to another site
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    cookie = portal.client.get(portal.path("U2")).headers.get("set-cookie", "") or "cascade_csrf; HttpOnly; SameSite=lax"
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_paths_outside_the_portal_are_not_served(portal: Portal) -> None:
    for path in (
        "/static/../../cascade.db",
        "/static/..%2F..%2Fcascade.db",
        "/static/portal.css/../../cascade.db",
        f"{portal.path('U1')}/files/..%2F..%2Fcascade.db",
    ):
        assert portal.client.get(path).status_code == 404, path
    assert portal.client.get("/static/portal.css").status_code == 200


def test_bad_links_slow_that_link_not_the_office_and_a_good_link_always_opens(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offices share one public address: one person's mistyped link is slowed, then refused; colleagues' links
    open, and their own mistakes count on their own; only a sweep of many links refuses the address's unknown
    links. The counts are in the database, shared by every process of the portal and kept over a restart."""
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_FREE", "2")
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_BLOCK", "4")
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_ADDRESS_BLOCK", "6")
    monkeypatch.setenv("CASCADE_PORTAL_THROTTLE_DELAY_SECONDS", "0.01")
    get_settings.cache_clear()
    answers = [portal.client.get("/u/doan-thu-1").status_code for _ in range(5)]
    assert answers == [404, 404, 404, 404, 429]  # the same mistyped link: free, slowed, then refused
    assert portal.client.get(portal.path("U1")).status_code == 200  # a colleague's good link, same address
    assert [portal.client.get(f"/u/{n}x-khac").status_code for n in range(2)] == [404, 404]  # other links: their own count
    assert portal.client.get("/u/zz-lan-cuoi").status_code == 429  # 6 unknown links from the address in all
    assert portal.client.get(portal.path("U1")).status_code == 200  # still: a link that opens a page is never refused
    with session_scope() as session:
        kept = session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.BAD_LINK)).all()
    assert len(kept) == 6 and {e.subject for e in kept} == {"doan-t", "0x-kha", "1x-kha"}  # refused attempts are not logged again


def test_an_accepted_report_takes_no_new_version(portal: Portal) -> None:
    path = portal.path("U1")
    post(portal, path, good_fields(), "submit")
    (version,) = versions("U1")
    review_submission(version.id, ReviewAction.ACCEPT, reviewer="vanphong", as_of=date(2024, 10, 21))
    page = portal.client.get(path)
    assert "đã được chấp nhận" in unescape(page.text) and 'value="submit"' not in page.text
    token = portal.csrf(portal.client.get("/admin/login").text)  # the page has no form any more: any page's token
    refused = portal.client.post(path, data={"csrf": token, "action": "submit", **good_fields()})
    assert refused.status_code == 409
    with session_scope() as session:
        assert session.scalar(select(Assignment.status).where(Assignment.id == version.assignment_id)) == AssignmentStatus.ACCEPTED
    assert len(versions("U1")) == 1


def standing_of(html: str) -> str:
    """The text of the page's status card ('Tình trạng báo cáo'), which must come before the form."""
    text = unescape(html)
    start = text.index("Tình trạng báo cáo")
    assert "Nhập báo cáo" not in text or start < text.index("Nhập báo cáo")
    return re.sub(r"<[^>]+>", "", text[start : text.index("</section>", start)])


def test_where_the_report_stands_is_at_the_top_of_the_page(portal: Portal) -> None:
    """Before anything is sent there is no status; then sent (in time, awaiting review), returned, sent
    again after the deadline, and accepted, each said above the form."""
    path = portal.path("U1")
    assert "Tình trạng báo cáo" not in portal.client.get(path).text
    post(portal, path, good_fields(), "submit")
    assert standing_of(portal.client.get(path).text).split("\n")[1] == (
        "Đơn vị đã gửi báo cáo lần 1 ngày 20/10/2024 qua trang báo cáo trực tuyến, trong hạn; đang chờ Sở Xây dựng tỉnh Đồng Nai xem xét."
    )
    (first,) = versions("U1")
    review_submission(first.id, ReviewAction.RETURN, reviewer="vanphong", as_of=date(2024, 10, 22), comment="Bổ sung số liệu quý III.")
    assert "đã được trả lại ngày 22/10/2024 để bổ sung" in standing_of(portal.client.get(path).text)

    portal.day.value = date(2024, 11, 2)
    post(portal, path, good_fields(), "submit")
    assert "Đơn vị đã gửi báo cáo lần 2 ngày 02/11/2024 qua trang báo cáo trực tuyến, sau hạn 3 ngày; đang chờ" in standing_of(portal.client.get(path).text)
    second = versions("U1")[1]
    review_submission(second.id, ReviewAction.ACCEPT, reviewer="vanphong", as_of=date(2024, 11, 4))
    assert "sau hạn 3 ngày; đã được chấp nhận ngày 04/11/2024." in standing_of(portal.client.get(path).text)


def test_a_unit_with_nothing_to_count_reports_zero_over_zero_on_its_page(portal: Portal, smtp_server) -> None:
    """A centre that received no dossiers types 0 and 0: the report goes, and reads 'không phát sinh'."""
    path = portal.path("U1")
    response = post(portal, path, {**good_fields(), "n-nuoc_sach": "0", "d-nuoc_sach": "0"}, "submit")
    assert response.status_code == 303, unescape(response.text)
    portal.jobs.wait(60)
    (version,) = versions("U1")
    with session_scope() as session:
        stored = {v.indicator_code: (v.value, v.numerator, v.denominator) for v in session.get_one(Submission, version.id).values}
    assert stored["nuoc_sach"] == (None, Decimal(0), Decimal(0))
    assert "0/0 (không phát sinh)" in unescape(portal.client.get(path).text)


def test_plain_counts_show_no_goal_and_a_rate_from_them_is_computed_not_asked(portal: Portal) -> None:
    from tests.fixtures.builders import add_counts_and_rate

    add_counts_and_rate()
    path = portal.path("U1")
    text = unescape(portal.client.get(path).text)
    assert 'name="v-tiep_nhan"' in text and 'name="v-truc_tuyen"' in text and "ty_le_truc_tuyen" not in text
    assert "Số liệu báo cáo, không đặt mục tiêu." in text
    response = post(portal, path, {**good_fields(), "v-tiep_nhan": "788", "v-truc_tuyen": "694"}, "submit")
    assert response.status_code == 303, unescape(response.text)
    portal.jobs.wait(60)
    (version,) = versions("U1")
    with session_scope() as session:
        stored = {v.indicator_code: v.value for v in session.get_one(Submission, version.id).values}
    assert (stored["tiep_nhan"], stored["truc_tuyen"]) == (Decimal(788), Decimal(694)) and "ty_le_truc_tuyen" not in stored
