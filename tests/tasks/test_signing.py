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
