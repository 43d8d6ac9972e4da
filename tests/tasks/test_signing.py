"""tasks.documents.signing: the signer's block as Decree 30/2020 writes it."""

from __future__ import annotations

import pytest

from tasks.documents.signing import signature_lines


@pytest.mark.parametrize(
    ("issuer", "title", "lines"),
    [
        ("Ủy ban nhân dân thị xã Trảng Bàng", "CHỦ TỊCH", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
        ("Ủy ban nhân dân phường Gia Bình", "Phó Chủ tịch", ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
        ("Ủy ban nhân dân phường Gia Bình", "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH", ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
        ("Sở Xây dựng tỉnh Đồng Nai", "GIÁM ĐỐC", ["GIÁM ĐỐC"]),
        ("Sở Xây dựng tỉnh Đồng Nai", "PHÓ GIÁM ĐỐC", ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]),
        ("Sở Xây dựng tỉnh Đồng Nai", "TL. GIÁM ĐỐC / CHÁNH VĂN PHÒNG", ["TL. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG"]),
        ("Sở Xây dựng tỉnh Đồng Nai", "Q. GIÁM ĐỐC", ["Q. GIÁM ĐỐC"]),
    ],
)
def test_the_signer_signs_with_the_authority_decree_30_gives(issuer: str, title: str, lines: list[str]) -> None:
    assert signature_lines(issuer, title) == lines


@pytest.mark.parametrize(
    ("issuer", "title", "lines"),
    [
        ("Huyện ủy Vĩnh Cửu", "BÍ THƯ", ["T/M BAN THƯỜNG VỤ", "BÍ THƯ"]),
        ("Huyện ủy Vĩnh Cửu", "PHÓ BÍ THƯ", ["T/M BAN THƯỜNG VỤ", "K/T BÍ THƯ", "PHÓ BÍ THƯ"]),
        ("Đảng ủy xã Thạnh Phú", "Bí thư", ["T/M ĐẢNG ỦY", "BÍ THƯ"]),
        ("Ban Dân vận Huyện ủy Vĩnh Cửu", "PHÓ TRƯỞNG BAN", ["K/T TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"]),
        ("Ban cán sự đảng UBND tỉnh", "BÍ THƯ", ["T/M BAN CÁN SỰ ĐẢNG", "BÍ THƯ"]),  # a collective, as a Party committee
        ("Đảng đoàn Hội Nông dân tỉnh", "PHÓ BÍ THƯ", ["T/M ĐẢNG ĐOÀN", "K/T BÍ THƯ", "PHÓ BÍ THƯ"]),
        ("Huyện ủy Vĩnh Cửu", "T/M BAN THƯỜNG VỤ / PHÓ BÍ THƯ THƯỜNG TRỰC", ["T/M BAN THƯỜNG VỤ", "PHÓ BÍ THƯ THƯỜNG TRỰC"]),
    ],
)
def test_a_party_body_signs_as_hd_36_writes_it(issuer: str, title: str, lines: list[str]) -> None:
    assert signature_lines(issuer, title, party=True) == lines
