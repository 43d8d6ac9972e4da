"""The bad-input corpus at the portal: what a unit's page is sent by a careless office or a hostile one.
Each case asserts the HTTP status, the words on the page, and that nothing was recorded: the versions, their
figures, texts and evidence, the outbox and the reports are unchanged (hashed row by row). What the page
keeps on purpose, the unit's draft and when it was opened, may change."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

from tests.inputs.test_corpus import snapshot
from tests.portal.conftest import Portal
from tests.portal.test_unit_pages import good_fields, post

BOMB_PART = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + b" " * (60 * 1024 * 1024) + b"</sheetData></worksheet>"
)


def workbook_with(part: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(part, data)
    return out.getvalue()


RECORDED = ("submission", "submission_value", "submission_section", "attachment", "outbound_email", "report", "submission_review")


@dataclass(frozen=True)
class Case:
    id: str
    send: Callable[[Portal], object]
    status: int
    words: str


def page_post(**changes: str) -> Callable[[Portal], object]:
    return lambda portal: post(portal, portal.path("U1"), {**good_fields(), **changes}, "submit")


def excel_upload(name: str, data: bytes) -> Callable[[Portal], object]:
    def send(portal: Portal) -> object:
        path = portal.path("U1")
        page = portal.client.get(path)
        return portal.client.post(f"{path}/excel", data={"csrf": portal.csrf(page.text)}, files={"form_file": (name, data)}, follow_redirects=False)

    return send


def evidence(name: str, data: bytes) -> Callable[[Portal], object]:
    return lambda portal: post(portal, portal.path("U1"), good_fields(), "submit", files={"evidence": (name, data)})


CASES = [
    Case("percent-120", page_post(**{"v-hai_long": "120"}), 422, "lớn hơn 100%"),
    Case("negative-count", page_post(**{"v-nha_o_xa_hoi": "-5"}), 422, "-5"),
    Case("huge-number", page_post(**{"v-nha_o_xa_hoi": "1e27"}), 422, "1e27"),
    Case("words-for-number", page_post(**{"v-nha_o_xa_hoi": "khoảng ba trăm"}), 422, "khoảng ba trăm"),
    Case("numerator-over", page_post(**{"n-nuoc_sach": "900", "d-nuoc_sach": "800"}), 422, "900"),
    Case("not-yes-no", page_post(**{"v-dan_van_kheo": "có lẽ"}), 422, "có lẽ"),
    Case("score-150", page_post(score="150"), 422, "150"),
    Case("empty-section", page_post(**{"s-ket_qua": "  "}), 422, "Kết quả thực hiện"),
    Case("no-csrf", lambda portal: portal.client.post(portal.path("U1"), data={**good_fields(), "action": "submit"}, follow_redirects=False), 403, ""),
    Case("excel-bomb", excel_upload("bieu-mau.xlsx", workbook_with("xl/worksheets/sheet1.xml", BOMB_PART)), 422, "giải nén ra"),
    Case("excel-macro", excel_upload("bieu-mau.xlsx", workbook_with("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(64))), 422, "có macro (VBA)"),
    Case("excel-not-a-workbook", excel_upload("bieu-mau.xlsx", b"Day khong phai bang tinh"), 422, "nội dung không phải tệp .xlsx như tên tệp cho biết"),
    Case("evidence-executable", evidence("minh-chung.exe", b"MZ\x90\x00"), 422, "minh-chung.exe"),
    Case("evidence-pdf-that-is-not", evidence("minh-chung.pdf", b"<html>not a pdf</html>"), 422, "minh-chung.pdf"),
]


def test_the_portal_refuses_each_bad_input_by_name_and_stores_nothing(portal: Portal) -> None:
    failures = []
    for case in CASES:
        before = snapshot(RECORDED)
        response = case.send(portal)
        status, text = getattr(response, "status_code", None), unescape(getattr(response, "text", ""))
        if status != case.status or case.words not in text:
            failures.append(f"{case.id}: {status} (expected {case.status}), {case.words!r} not in: {text[-1500:]}")
        if snapshot(RECORDED) != before:
            failures.append(f"{case.id}: the database changed")
    assert not failures, "\n".join(failures)
