"""The portal's pure rules: CSRF pairs, session cookies, the throttle, safe file names, the states of
the board, and reading a page's fields (no server, no database)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from models.plan import Aggregation, Comparator
from portal import security
from portal.board import unit_state
from tasks.documents.forms import (
    FormDuty,
    FormIndicator,
    FormPlan,
    FormSection,
    FormSpec,
    FormUnit,
)
from tasks.intake.evidence import EvidenceError, safe_filename
from tasks.intake.submissions import FigureInput
from tasks.intake.web_form import field_names, fields_of_version, read_web_form

KEY = b"k" * 32


def test_a_csrf_field_matches_only_its_own_cookie_and_our_origin() -> None:
    cookie = security.new_csrf_cookie()
    field = security.csrf_token(KEY, cookie)
    own = "http://127.0.0.1:8765"
    assert security.csrf_ok(KEY, cookie, field, None, own)
    assert security.csrf_ok(KEY, cookie, field, own + "/", own)
    assert not security.csrf_ok(KEY, cookie, field, "https://evil.example", own)
    assert security.csrf_ok(KEY, cookie, field, "null", own)  # no origin named: the token decides
    assert not security.csrf_ok(KEY, cookie, "0" * 64, "null", own)
    assert not security.csrf_ok(KEY, security.new_csrf_cookie(), field, None, own)
    assert not security.csrf_ok(KEY, cookie, None, None, own)
    assert not security.csrf_ok(b"x" * 32, cookie, field, None, own)  # another portal's key


def test_the_backoff_is_free_then_doubles_up_to_its_ceiling() -> None:
    delays = [security.backoff(n, free=2, base_delay=0.5, max_delay=1.5) for n in range(1, 7)]
    assert delays == [0.0, 0.0, 0.5, 1.0, 1.5, 1.5]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\vt\\Biên bản họp.pdf", "Biên bản họp.pdf"),
        ("a<b>:c|d?.docx", "a b c d.docx"),
        ("..", "tai-lieu"),
        ("  .pdf", "pdf"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("Bie\u0302n.pdf", "Biên.pdf"),  # decomposed diacritics become one character (NFC)
        ("tab\tnew\nline.pdf", "tab new line.pdf"),
    ],
)
def test_uploaded_names_are_made_safe(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_evidence_of_a_type_not_allowed_is_refused_before_it_is_stored(workspace) -> None:  # type: ignore[no-untyped-def]
    from tasks.intake.evidence import store_evidence

    with pytest.raises(EvidenceError, match="loại tệp không được nhận"):
        store_evidence(io.BytesIO(b"MZ\x90"), "setup.exe")
    with pytest.raises(EvidenceError, match="rỗng"):
        store_evidence(io.BytesIO(b""), "a.pdf")
    stored = store_evidence(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"1" * 100), "../ảnh.png")
    assert (stored.filename, stored.size, stored.content_type) == ("ảnh.png", 108, "image/png")
    again = store_evidence(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"1" * 100), "other.png")
    assert again.sha256 == stored.sha256  # stored once by content


DUE = date(2024, 10, 30)
OPENED = datetime(2024, 10, 1, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "opened", "draft", "submitted", "as_of", "state"),
    [
        ("assigned", None, False, None, date(2024, 10, 20), "not_opened"),
        ("assigned", OPENED, False, None, date(2024, 10, 20), "opened"),
        ("assigned", OPENED, False, None, date(2024, 9, 30), "not_opened"),  # replaying a day before it was opened
        ("assigned", OPENED, True, None, date(2024, 10, 20), "draft"),
        ("assigned", OPENED, True, None, date(2024, 10, 31), "overdue"),
        ("submitted", OPENED, False, date(2024, 10, 29), date(2024, 10, 31), "submitted"),
        ("submitted", OPENED, False, date(2024, 11, 2), date(2024, 11, 3), "late"),
        ("submitted", None, False, date(2024, 11, 2), date(2024, 10, 20), "not_opened"),  # not yet submitted on that day
        ("returned", OPENED, False, date(2024, 10, 29), date(2024, 10, 31), "returned"),
        ("accepted", OPENED, False, date(2024, 10, 29), date(2024, 10, 31), "accepted"),
    ],
)
def test_the_state_of_a_unit_on_a_day(status: str, opened: datetime | None, draft: bool, submitted: date | None, as_of: date, state: str) -> None:
    assert unit_state(status, opened, draft, submitted, DUE, as_of) == state


def spec() -> FormSpec:
    def indicator(code: str, aggregation: Aggregation, unit: str, threshold: Decimal | None = None) -> FormIndicator:
        return FormIndicator(code, code.upper(), unit, aggregation, Comparator.GE, Decimal(10), Comparator.GE if threshold else None, threshold)

    return FormSpec(
        form_id="GV-000001-x", assignment_id=1, reference="GV-000001", due_on=DUE,
        plan=FormPlan("p", "1/KH-X", "T", date(2024, 1, 1), "X", 2024), unit=FormUnit("u", "U"), duty=FormDuty("d", "D", None),
        indicators=(
            indicator("so_luong", Aggregation.SUM, "căn"),
            indicator("ty_le", Aggregation.WEIGHTED_RATE, "%"),
            indicator("dat", Aggregation.SHARE_OF_UNITS, "%", Decimal(1)),
            indicator("hai_long", Aggregation.MEAN, "%"),
        ),
        sections=(FormSection("ket_qua", "Kết quả"),),
    )  # fmt: skip


def test_a_page_is_read_the_vietnamese_way() -> None:
    fields = {"v-so_luong": "1.234", "n-ty_le": "694", "d-ty_le": "788", "v-dat": "Đạt", "v-hai_long": "86,5%",
              "s-ket_qua": "  Tốt.\r\nRất tốt.  ", "score": "92,5", "assessment": ""}  # fmt: skip
    report = read_web_form(spec(), fields)
    assert report.errors == {}
    assert report.values == {
        "so_luong": FigureInput(value=Decimal(1234)),
        "ty_le": FigureInput(numerator=Decimal(694), denominator=Decimal(788)),
        "dat": FigureInput(value=Decimal(1)),
        "hai_long": FigureInput(value=Decimal("86.5")),
    }
    assert report.sections == {"ket_qua": "Tốt.\nRất tốt."} and report.self_score == Decimal("92.5")
    back = fields_of_version(spec(), report.values, report.sections, report.self_score, report.self_assessment)
    assert read_web_form(spec(), back).values == report.values  # a returned report is corrected from what was sent
    assert list(back) == [n for n in field_names(spec()) if n in back]


def test_each_problem_is_keyed_by_its_field() -> None:
    fields = {"v-so_luong": "khoảng 30", "n-ty_le": "900", "d-ty_le": "788", "v-dat": "có lẽ", "v-hai_long": "120", "s-ket_qua": " ", "score": "101"}
    errors = read_web_form(spec(), fields).errors
    assert set(errors) == {"v-so_luong", "n-ty_le", "v-dat", "v-hai_long", "s-ket_qua", "score"}
    assert "“khoảng 30”, không phải là số" in errors["v-so_luong"]
    assert "900 lớn hơn mẫu số 788" in errors["n-ty_le"]
    assert "“Đạt” hoặc “Không đạt”" in errors["v-dat"]
    assert "lớn hơn 100%" in errors["v-hai_long"]
    assert "chưa có nội dung" in errors["s-ket_qua"]
    assert "từ 0 đến 100" in errors["score"]
    missing = read_web_form(spec(), {"n-ty_le": "5"}).errors
    assert "chưa nhập" in missing["v-so_luong"] and "cả tử số và mẫu số" in missing["d-ty_le"] and "n-ty_le" not in missing
    assert "bằng 0" in read_web_form(spec(), {"n-ty_le": "5", "d-ty_le": "0"}).errors["d-ty_le"]
    assert "d-ty_le" not in read_web_form(spec(), {"n-ty_le": "0", "d-ty_le": "0"}).errors  # 0/0: nothing to count
    assert "số âm" in read_web_form(spec(), {"v-so_luong": "-3"}).errors["v-so_luong"]
